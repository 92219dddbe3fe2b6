/*
 * The TaskRouter sync as the rest of the glue sees it: its directives, its
 * per-server settings, and the four moments it acts (merge, check, child
 * start, login). taskrouter_glue.c implements them on top of the core
 * (taskrouter.c: REST client and merge; sync.c: the per-child queue).
 */
#ifndef FLEXSAML_TASKROUTER_GLUE_H
#define FLEXSAML_TASKROUTER_GLUE_H

#include "httpd.h"
#include "http_config.h"
#include "flexsaml.h"

typedef struct flexsaml_tr_cfg flexsaml_tr_cfg;

/* Its directives, as an initializer list spliced into flexsaml_cmds
 * (config.c): AP_INIT_... entries separated by commas, with a trailing comma,
 * or nothing. */
#define FLEXSAML_TASKROUTER_COMMANDS

flexsaml_tr_cfg *flexsaml_tr_create(apr_pool_t *p);
flexsaml_tr_cfg *flexsaml_tr_merge(apr_pool_t *p, const flexsaml_tr_cfg *base,
                                   const flexsaml_tr_cfg *add);
/* check_config: validates (the -t path); OK or HTTP_INTERNAL_SERVER_ERROR
 * after logging the directive and the fix. */
int flexsaml_tr_check(apr_pool_t *pconf, server_rec *s, flexsaml_tr_cfg *cfg);
/* child_init: starts the background sync thread of this child. */
void flexsaml_tr_child_init(apr_pool_t *pchild, server_rec *s, flexsaml_tr_cfg *cfg);
/* After a successful login: enqueue (or, in sync mode, run with a short
 * timeout). Never fails the login. */
void flexsaml_tr_login(request_rec *r, flexsaml_tr_cfg *cfg, const flexsaml_identity *id);

#endif
