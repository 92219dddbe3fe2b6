/*
 * The TaskRouter sync as the rest of the glue sees it: its runtime state per
 * server, and the moments it acts (check, child start, login). Its directives,
 * defaults and merge are part of the settings model (settings.h);
 * taskrouter_glue.c acts on them on top of src/taskrouter (client.c: the REST
 * client; attrs.c: the owned-attribute merge; queue.c: the per-child queue).
 */
#ifndef FLEXSAML_TASKROUTER_GLUE_H
#define FLEXSAML_TASKROUTER_GLUE_H

#include "httpd.h"
#include "http_config.h"
#include "flexsaml.h"
#include "settings.h"

typedef struct flexsaml_tr_cfg flexsaml_tr_cfg;

/* The sync's runtime state of one server; off until flexsaml_tr_check. */
flexsaml_tr_cfg *flexsaml_tr_create(apr_pool_t *p);
/* check_config: validates the settings (defaults applied) the -t way; OK
 * or HTTP_INTERNAL_SERVER_ERROR after logging the directive and the fix.
 * Reads the credentials (as root) and keeps them in memory only. */
int flexsaml_tr_check(apr_pool_t *pconf, server_rec *s, flexsaml_tr_cfg *cfg,
                      const flexsaml_tr_settings *set);
/* child_init: starts the background sync thread of this child. */
void flexsaml_tr_child_init(apr_pool_t *pchild, server_rec *s, flexsaml_tr_cfg *cfg);
/* After a successful login: enqueue (or, in sync mode, run with a short
 * timeout). Never fails the login. */
void flexsaml_tr_login(request_rec *r, flexsaml_tr_cfg *cfg, const flexsaml_identity *id);
/* The sync's counters, summed over the children, in Prometheus text: for
 * the status page (SetHandler flexsaml-status). Writes nothing when the
 * sync is off. */
void flexsaml_tr_metrics(request_rec *r, const flexsaml_tr_cfg *cfg);

#endif
