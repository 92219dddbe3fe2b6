/* The module's lifecycle hooks (hooks.c). */
#ifndef FLEXSAML_HOOKS_H
#define FLEXSAML_HOOKS_H

#include "httpd.h"

int flexsaml_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int flexsaml_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
int flexsaml_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void flexsaml_child_init(apr_pool_t *p, server_rec *s);

#endif
