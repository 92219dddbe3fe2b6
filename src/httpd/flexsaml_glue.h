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

/* ---- config.c ---- */
typedef struct flexsaml_srv_cfg {
    const char *sp_entity_id;
    const char *endpoint; /* "/flexsaml" */
    const char *acs_path; /* default <endpoint>/acs */
    const char *sp_cert_file;
    const char *sp_key_file;
    const char *idp_metadata_file;
    const char *idp_cert_file;
    const char *idp_sso_url;
    const char *idp_issuer;
    const char *idp_metadata_url;
    const char *idp_metadata_ca;    /* CA file for the metadata URL's TLS */
    const char *idp_metadata_cache; /* last good copy */
    apr_interval_time_t idp_metadata_refresh;
    apr_interval_time_t cert_expiry_warning;
    const char *where; /* file:line of the IdP directives, for messages */
    int idp_initiated;
    const char *default_url;
    int require_signed_response;
    int clock_skew;  /* seconds */
    int request_ttl; /* seconds a pending AuthnRequest stays valid */
    const char *cache_spec;
    apr_interval_time_t session_lifetime;
    const char *cookie_name;
    apr_array_header_t *redirect_hosts; /* const char * */
    apr_off_t max_body;
    int allow_sha1;
    flexsaml_role_policy roles;
    int require_flex_role;
    flexsaml_claims_conf *claims;
    apr_size_t max_attr_bytes;
    apr_size_t max_session_bytes;
    const char *user_attribute;          /* FlexSAMLUser; NULL = NameID */
    apr_array_header_t *trusted_proxies; /* apr_ipsubnet_t *, or NULL */
    apr_array_header_t *passphrases;     /* FlexSAMLCryptoPassphrase sources */

    flexsaml_tr_cfg *tr;

    /* What startup builds from the settings above (runtime.h); NULL in a
     * server without FlexSAML settings. The settings never change after
     * startup. */
    struct flexsaml_runtime *rt;
} flexsaml_srv_cfg;

typedef struct {
    int pass_as; /* FLEXSAML_PASS_* or FLEXSAML_UNSET */
} flexsaml_dir_cfg;

extern const command_rec flexsaml_cmds[];
/* Reads a whole file (at most max bytes); NULL or a sentence. */
const char *flexsaml_read_file(apr_pool_t *p, const char *path, apr_size_t max, const char **out,
                               apr_size_t *len);
/* Logs a startup error naming the directive and fails the configuration. */
#define FLEXSAML_CONFIG_FAIL(s, ...)                                                               \
    do {                                                                                           \
        (void)(s);                                                                                 \
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, "flexsaml: " __VA_ARGS__);  \
        return HTTP_INTERNAL_SERVER_ERROR;                                                         \
    } while (0)
void *flexsaml_create_srv_cfg(apr_pool_t *p, server_rec *s);
void *flexsaml_merge_srv_cfg(apr_pool_t *p, void *base, void *add);
void *flexsaml_create_dir_cfg(apr_pool_t *p, char *dir);
void *flexsaml_merge_dir_cfg(apr_pool_t *p, void *base, void *add);
int flexsaml_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int flexsaml_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
int flexsaml_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
void flexsaml_child_init(apr_pool_t *p, server_rec *s);

static inline flexsaml_srv_cfg *flexsaml_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &flexsaml_module);
}

#endif
