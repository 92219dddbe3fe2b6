/* AuthType FlexSAML: the per-request session check (authn.c). */
#ifndef FLEXSAML_AUTHN_H
#define FLEXSAML_AUTHN_H

#include "httpd.h"
#include "flexsaml.h"

int flexsaml_check_authn(request_rec *r);
/* Drops spoofed identity headers on every request of a FlexSAML host. */
int flexsaml_strip_headers(request_rec *r);
/* fixups: the module's cookies out of requests to proxies and CGI. */
int flexsaml_strip_cookies(request_rec *r);
/* Looks up and validates the session of this request; NULL when none. */
flexsaml_session *flexsaml_request_session(request_rec *r);
/* Starts an SP-initiated login: redirect to the IdP, or 401 JSON for scripts. */
int flexsaml_start_login(request_rec *r, const char *return_to);
struct flexsaml_srv_cfg;
/* REMOTE_USER of a session: the FlexSAMLUser attribute when set and not
 * empty, else the NameID. */
const char *flexsaml_session_user(const struct flexsaml_srv_cfg *c, const flexsaml_session *s);

#endif
