/* Require flex-role (authz.c). */
#ifndef FLEXSAML_AUTHZ_H
#define FLEXSAML_AUTHZ_H

#include "httpd.h"
#include "mod_auth.h"

extern const authz_provider flexsaml_authz_role_provider;
/* Answers a denial with a page (or JSON) that names the roles wanted. */
void flexsaml_authz_forbid(request_rec *r);

#endif
