/*
 * mod_flexsaml glue: what the httpd-facing files share. The core (flexsaml.h,
 * flexsaml_sp.h) never includes this file.
 */
#ifndef FLEXSAML_GLUE_H
#define FLEXSAML_GLUE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_socache.h"
#include "apr_global_mutex.h"

#include "flexsaml.h"
#include "flexsaml_sp.h"
#include "taskrouter_glue.h"

#ifndef FLEXSAML_MODULE_RECORD /* AP_DECLARE_MODULE declares it there */
APLOG_USE_MODULE(flexsaml);
#endif
extern module AP_MODULE_DECLARE_DATA flexsaml_module;

#define FLEXSAML_AUTH_TYPE "FlexSAML"
#define FLEXSAML_UNSET -1

/* ---- store.c: the socache behind sessions, pending requests, replay ---- */
typedef struct flexsaml_store flexsaml_store;

/* Key spaces: each kind of entry lives under its own prefix. */
#define FLEXSAML_KEY_SESSION 's'
#define FLEXSAML_KEY_REQUEST 'r'
#define FLEXSAML_KEY_ASSERTION 'a'
#define FLEXSAML_KEY_INDEX 'x' /* NameID + SessionIndex -> session id, for IdP logout */

void flexsaml_store_register_mutex(apr_pool_t *pconf);
const char *flexsaml_store_create(apr_pool_t *p, const char *spec, flexsaml_store **out);
apr_status_t flexsaml_store_init(flexsaml_store *st, server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp);
void flexsaml_store_child_init(flexsaml_store *st, server_rec *s, apr_pool_t *p);
const char *flexsaml_store_spec(const flexsaml_store *st);
/* APR_NOTFOUND when absent or expired. */
apr_status_t flexsaml_store_get(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                const char **val, apr_size_t *len);
apr_status_t flexsaml_store_put(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                apr_time_t expiry, const char *val, apr_size_t len);
apr_status_t flexsaml_store_remove(flexsaml_store *st, request_rec *r, char kind, const char *id);
/* A 503 page for a store failure; the log line comes at most once per
 * interval per process, with the number of failures it stands for. */
int flexsaml_store_unavailable(request_rec *r, apr_status_t rv, const char *what);
/* Records id until expiry; APR_EEXIST when it was already recorded. */
apr_status_t flexsaml_store_once(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                 apr_time_t expiry);

/* ---- metrics.c: counters shared by the children; status and whoami ---- */
#define FLEXSAML_MAX_REASONS 48
enum { FLEXSAML_OP_GET, FLEXSAML_OP_PUT, FLEXSAML_OP_REMOVE, FLEXSAML_OP_ONCE, FLEXSAML_STORE_OPS };
typedef struct flexsaml_metrics flexsaml_metrics;
flexsaml_metrics *flexsaml_metrics_create(apr_pool_t *pconf, server_rec *s);
void flexsaml_metric_login(request_rec *r);
void flexsaml_metric_refusal(request_rec *r, int reason_index);
void flexsaml_metric_store(request_rec *r, int op, apr_status_t rv);
/* SetHandler flexsaml-status | flexsaml-whoami */
int flexsaml_handler(request_rec *r);

/* ---- idp_source.c: fields, metadata file, or metadata URL refreshed ---- */
struct flexsaml_srv_cfg;
int flexsaml_idp_load(apr_pool_t *p, server_rec *s, struct flexsaml_srv_cfg *c, flexsaml_idp **idp);
void flexsaml_idp_check_expiry(server_rec *s, const struct flexsaml_srv_cfg *c,
                               const flexsaml_idp *idp);
void flexsaml_idp_refresh_child_init(apr_pool_t *pchild, server_rec *s);

/* ---- directives.c: the settings of a server (settings.h); hooks.c ---- */
#include "settings.h"
#include "file.h"
#include "secret.h"

typedef struct flexsaml_srv_cfg {
    /* What the directives say, as the core model has it: c->settings for
     * the core's functions, c->field for everything else. */
    union {
        flexsaml_settings settings;
        struct {
            FLEXSAML_SETTINGS_FIELDS
        };
    };

    /* Runtime: built from the settings at startup, read-only afterwards. */
    flexsaml_tr_cfg *tr;
    struct flexsaml_sealer *sealer; /* from FlexSAMLCryptoPassphrase */
    flexsaml_sp *sp;
    flexsaml_store *store;
    flexsaml_sp_policy policy;
    flexsaml_metrics *metrics; /* one segment for the whole server */
    const char *sp_cert_pem;   /* read once at startup, for metadata refreshes */
    const char *sp_key_pem;
    apr_time_t idp_loaded; /* when the current IdP description was taken */
} flexsaml_srv_cfg;

typedef flexsaml_dir_settings flexsaml_dir_cfg;

extern const command_rec flexsaml_cmds[];
void *flexsaml_create_srv_cfg(apr_pool_t *p, server_rec *s);
void *flexsaml_merge_srv_cfg(apr_pool_t *p, void *base, void *add);
void *flexsaml_create_dir_cfg(apr_pool_t *p, char *dir);
void *flexsaml_merge_dir_cfg(apr_pool_t *p, void *base, void *add);

/* ---- hooks.c: startup and child start ---- */
/* Logs a startup error naming the directive and fails the configuration. */
#define FLEXSAML_CONFIG_FAIL(s, ...)                                                               \
    do {                                                                                           \
        (void)(s);                                                                                 \
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, "flexsaml: " __VA_ARGS__);  \
        return HTTP_INTERNAL_SERVER_ERROR;                                                         \
    } while (0)
int flexsaml_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int flexsaml_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
int flexsaml_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void flexsaml_child_init(apr_pool_t *p, server_rec *s);

static inline flexsaml_srv_cfg *flexsaml_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &flexsaml_module);
}

/* ---- errors.c ---- */
/* Logs "refused reason=<code> id=<id>: <detail>" and answers status with a
 * short HTML page (title, hint, id). Returns the value the hook must return. */
int flexsaml_refuse(request_rec *r, int status, const char *code, const char *detail,
                    const char *hint);
/* The page alone, for refusals whose log line is rate-limited. */
int flexsaml_refuse_page(request_rec *r, int status, const char *code, const char *hint);
/* The reason codes in a fixed order, for counters: index -> code (NULL
 * past the end). */
const char *flexsaml_reason_code(int index);
/* An id that joins a page to its log line. */
const char *flexsaml_correlation_id(request_rec *r);
/* A JSON string literal, quotes included (never NULL). */
const char *flexsaml_json_string(apr_pool_t *p, const char *s);
/* HTML-escapes for a page (never NULL). */
const char *flexsaml_html(apr_pool_t *p, const char *s);

/* ---- endpoints.c ---- */
int flexsaml_endpoint_handler(request_rec *r, int lookup_uri);

/* ---- public_url.c: the URL the browser and the IdP see ---- */
const char *flexsaml_public_url(request_rec *r, const char *path);
/* A path under the endpoint ("/login" -> https://host/flexsaml/login). */
const char *flexsaml_endpoint_url(request_rec *r, const char *suffix);
const char *flexsaml_acs_url(request_rec *r);
/* host[:port] of the public URL, and whether it is https. */
const char *flexsaml_public_host(request_rec *r);
int flexsaml_public_https(request_rec *r);
void flexsaml_set_cookie(request_rec *r, const char *name, const char *value, int expire);
int flexsaml_see_other(request_rec *r, const char *target);
/* One decoded value of a query string or urlencoded body. */
const char *flexsaml_form_value(request_rec *r, const char *query, const char *name);

/* ---- slo.c: local and single logout ---- */
int flexsaml_logout_endpoint(request_rec *r, const struct flexsaml_srv_cfg *c);
void flexsaml_slo_remember(request_rec *r, const struct flexsaml_srv_cfg *c,
                           const flexsaml_session *s, const char *session_id);

/* candidate when it is a local path or an allowed URL, else NULL. */
const char *flexsaml_safe_target(request_rec *r, const char *candidate);

/* ---- authz.c ---- */
#include "mod_auth.h"
extern const authz_provider flexsaml_authz_role_provider;
void flexsaml_authz_forbid(request_rec *r);

/* ---- auth.c ---- */
int flexsaml_check_authn(request_rec *r);
/* Drops spoofed identity headers on every request of a FlexSAML host. */
int flexsaml_strip_headers(request_rec *r);
/* Looks up and validates the session of this request; NULL when none. */
flexsaml_session *flexsaml_request_session(request_rec *r);
/* Starts an SP-initiated login: redirect to the IdP, or 401 JSON for scripts. */
int flexsaml_start_login(request_rec *r, const char *return_to);

#endif
