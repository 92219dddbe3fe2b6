/*
 * mod_flexsaml glue: the module record's declaration and the per-server and
 * per-directory configuration every file of src/httpd reads. Each unit of
 * src/httpd declares its own functions in its own header.
 */
#ifndef FLEXSAML_GLUE_H
#define FLEXSAML_GLUE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "flexsaml.h"
#include "flexsaml_sp.h"

#ifndef FLEXSAML_MODULE_RECORD /* AP_DECLARE_MODULE declares it there */
APLOG_USE_MODULE(flexsaml);
#endif
extern module AP_MODULE_DECLARE_DATA flexsaml_module;

#define FLEXSAML_AUTH_TYPE "FlexSAML"
#define FLEXSAML_UNSET -1

/* Runtime state built at startup; each type is its unit's (store.h, metrics.h). */
typedef struct flexsaml_store flexsaml_store;
typedef struct flexsaml_metrics flexsaml_metrics;
typedef struct flexsaml_tr_cfg flexsaml_tr_cfg; /* taskrouter_glue.h */
struct flexsaml_runtime;

/* ---- directives.c: the settings of a server (settings.h); hooks.c ---- */
#include "settings.h"

typedef struct flexsaml_srv_cfg {
    /* What the directives say, as the core model has it: c->settings for
     * the core's functions, c->field for everything else. */
    union {
        flexsaml_settings settings;
        struct {
            FLEXSAML_SETTINGS_FIELDS
        };
    };

    /* What startup builds from the settings above (runtime.h); NULL in a
     * server without FlexSAML settings. The settings never change after
     * startup. */
    struct flexsaml_runtime *rt;
} flexsaml_srv_cfg;

typedef flexsaml_dir_settings flexsaml_dir_cfg;

extern const command_rec flexsaml_cmds[];
void *flexsaml_create_srv_cfg(apr_pool_t *p, server_rec *s);
void *flexsaml_merge_srv_cfg(apr_pool_t *p, void *base, void *add);
void *flexsaml_create_dir_cfg(apr_pool_t *p, char *dir);
void *flexsaml_merge_dir_cfg(apr_pool_t *p, void *base, void *add);

/* Logs a startup error naming the directive and fails the configuration. */
#define FLEXSAML_CONFIG_FAIL(s, ...)                                                               \
    do {                                                                                           \
        (void)(s);                                                                                 \
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, "flexsaml: " __VA_ARGS__);  \
        return HTTP_INTERNAL_SERVER_ERROR;                                                         \
    } while (0)

static inline flexsaml_srv_cfg *flexsaml_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &flexsaml_module);
}

#endif
