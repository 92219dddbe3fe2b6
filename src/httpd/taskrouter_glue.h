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

/* Directive handlers; each dispatches on the directive's name. */
const char *flexsaml_tr_set(cmd_parms *cmd, void *dummy, const char *arg);
const char *flexsaml_tr_set_flag(cmd_parms *cmd, void *dummy, int on);
const char *flexsaml_tr_set12(cmd_parms *cmd, void *dummy, const char *a, const char *b);
const char *flexsaml_tr_add_attribute(cmd_parms *cmd, void *dummy, const char *arg);

/* Its directives, as an initializer list spliced into flexsaml_cmds
 * (config.c): AP_INIT_... entries separated by commas, with a trailing comma,
 * or nothing. */
#define FLEXSAML_TASKROUTER_COMMANDS                                                               \
    AP_INIT_TAKE1(                                                                                 \
        "FlexSAMLTaskRouter", flexsaml_tr_set, NULL, RSRC_CONF,                                    \
        "on: update the person's TaskRouter Worker after each login, in the background; "          \
        "sync: before the redirect, within FlexSAMLTaskRouterSyncTimeout; off (default)"),         \
        AP_INIT_TAKE1("FlexSAMLTaskRouterWorkspace", flexsaml_tr_set, NULL, RSRC_CONF,             \
                      "The Flex TaskRouter Workspace SID (WS...)"),                                \
        AP_INIT_TAKE12("FlexSAMLTaskRouterCredentials", flexsaml_tr_set12, NULL, RSRC_CONF,        \
                       "A file holding an API Key SID and secret (or Account SID and auth "        \
                       "token), not readable by others; or env:SID_VARIABLE env:SECRET_VARIABLE"), \
        AP_INIT_TAKE1("FlexSAMLTaskRouterBaseURL", flexsaml_tr_set, NULL, RSRC_CONF,               \
                      "TaskRouter's base URL (default https://taskrouter.twilio.com)"),            \
        AP_INIT_ITERATE("FlexSAMLTaskRouterAttributes", flexsaml_tr_add_attribute, NULL,           \
                        RSRC_CONF,                                                                 \
                        "The Worker attribute keys this module owns (default full_name email "     \
                        "roles image_url); no other key is ever written"),                         \
        AP_INIT_TAKE1("FlexSAMLTaskRouterWorkerName", flexsaml_tr_set, NULL, RSRC_CONF,            \
                      "The claim that is the Worker's FriendlyName (default email)"),              \
        AP_INIT_FLAG("FlexSAMLTaskRouterCreateWorkers", flexsaml_tr_set_flag, NULL, RSRC_CONF,     \
                     "Create a missing Worker (default off: only update existing ones)"),          \
        AP_INIT_TAKE1("FlexSAMLTaskRouterTimeout", flexsaml_tr_set, NULL, RSRC_CONF,               \
                      "Timeout of one request to TaskRouter (default 5s; ms, s, m suffixes)"),     \
        AP_INIT_TAKE1("FlexSAMLTaskRouterDeadline", flexsaml_tr_set, NULL, RSRC_CONF,              \
                      "How long after a login its update may still be retried (default 2m)"),      \
        AP_INIT_TAKE1("FlexSAMLTaskRouterSyncTimeout", flexsaml_tr_set, NULL, RSRC_CONF,           \
                      "In sync mode, how long a login may wait for TaskRouter (default 2s)"),      \
        AP_INIT_TAKE12("FlexSAMLTaskRouterBackoff", flexsaml_tr_set12, NULL, RSRC_CONF,            \
                       "First and longest delay between retries (default 1s 30s)"),                \
        AP_INIT_TAKE1("FlexSAMLTaskRouterQueueSize", flexsaml_tr_set, NULL, RSRC_CONF,             \
                      "Most updates waiting per child process (default 1000)"),

flexsaml_tr_cfg *flexsaml_tr_create(apr_pool_t *p);
flexsaml_tr_cfg *flexsaml_tr_merge(apr_pool_t *p, const flexsaml_tr_cfg *base,
                                   const flexsaml_tr_cfg *add);
/* check_config: validates (the -t path); OK or HTTP_INTERNAL_SERVER_ERROR
 * after logging the directive and the fix. Reads the credentials (as root)
 * and keeps them in memory only. */
int flexsaml_tr_check(apr_pool_t *pconf, server_rec *s, flexsaml_tr_cfg *cfg);
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
