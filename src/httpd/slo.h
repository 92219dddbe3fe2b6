/* Local and single logout (slo.c). */
#ifndef FLEXSAML_SLO_H
#define FLEXSAML_SLO_H

#include "httpd.h"
#include "flexsaml.h"

struct flexsaml_srv_cfg;
int flexsaml_logout_endpoint(request_rec *r, const struct flexsaml_srv_cfg *c);
/* Indexes a new session by NameID and SessionIndex, for IdP-initiated logout. */
void flexsaml_slo_remember(request_rec *r, const struct flexsaml_srv_cfg *c,
                           const flexsaml_session *s, const char *session_id);

#endif
