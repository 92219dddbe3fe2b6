/* The IdP from its fields, a metadata file, or a metadata URL refreshed in
 * the background (idp_source.c). */
#ifndef FLEXSAML_IDP_SOURCE_H
#define FLEXSAML_IDP_SOURCE_H

#include "httpd.h"
#include "flexsaml_sp.h"

struct flexsaml_srv_cfg;
int flexsaml_idp_load(apr_pool_t *p, server_rec *s, struct flexsaml_srv_cfg *c, flexsaml_idp **idp);
void flexsaml_idp_check_expiry(server_rec *s, const struct flexsaml_srv_cfg *c,
                               const flexsaml_idp *idp);
void flexsaml_idp_refresh_child_init(apr_pool_t *pchild, server_rec *s);

#endif
