/* <endpoint>/metadata, /acs, /login and /logout, as a quick handler (endpoints.c). */
#ifndef FLEXSAML_ENDPOINTS_H
#define FLEXSAML_ENDPOINTS_H

#include "httpd.h"

int flexsaml_endpoint_handler(request_rec *r, int lookup_uri);

#endif
