/* SetHandler flexsaml-status | flexsaml-whoami (status.c). */
#ifndef FLEXSAML_STATUS_H
#define FLEXSAML_STATUS_H

#include "httpd.h"

int flexsaml_handler(request_rec *r);

#endif
