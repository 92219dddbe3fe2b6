/* Require flex-role (authz.c) and Require flex-claim (authz_claim.c). */
#ifndef FLEXSAML_AUTHZ_H
#define FLEXSAML_AUTHZ_H

#include "httpd.h"
#include "mod_auth.h"
#include "flexsaml.h"

extern const authz_provider flexsaml_authz_role_provider;
/* Require flex-claim (authz_claim.c). */
extern const authz_provider flexsaml_authz_claim_provider;

/* A denial's 403 page around inner HTML, and the body that the 403 (or the
 * 401 made a 403) will carry. */
const char *flexsaml_authz_page(request_rec *r, const char *inner);
void flexsaml_authz_set_denial(request_rec *r, const char *body, int json);
/* Answers a denial with a page (or JSON) that names the roles wanted. */
void flexsaml_authz_forbid(request_rec *r);
/* fixups: the same for a site's ErrorDocument 403 that is a local page. */
int flexsaml_authz_site_page(request_rec *r);
/* The session a Require rule judges, or NULL with what to answer in *none
 * (no user: mod_authz_core then asks for authentication). */
flexsaml_session *flexsaml_authz_session(request_rec *r, authz_status *none);

#endif
