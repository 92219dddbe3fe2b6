/* <endpoint>/metadata, /acs, /login and /logout, as a quick handler (endpoints.c). */
#ifndef FLEXSAML_ENDPOINTS_H
#define FLEXSAML_ENDPOINTS_H

#include "httpd.h"

int flexsaml_endpoint_handler(request_rec *r, int lookup_uri);
/* Reads a POST body of at most max bytes into *out (NUL-terminated),
 * allocating as it arrives; OK, or the refusal already answered. */
int flexsaml_read_body(request_rec *r, apr_off_t max, const char **out);

#endif
