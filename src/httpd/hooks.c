/*
 * The module's lifecycle: check_config builds what each virtual host needs
 * from its settings and makes `apachectl -t` refuse a wrong configuration
 * with the directive named; post_config opens the stores, child_init starts
 * what lives in a child. Everything that can be checked without shared
 * memory is checked in check_config, which `-t` runs.
 */
#include <string.h>

#include "http_core.h"
#include "http_main.h"
#include "util_cfgtree.h"
#include "apr_strings.h"
#include <curl/curl.h>

#include "seal.h"
#include "flexsaml_glue.h"
#include "file.h"
#include "secret.h"
#include "hooks.h"
#include "idp_source.h"
#include "metrics.h"
#include "runtime.h"
#include "store.h"
#include "taskrouter_glue.h"
#include "sp_policy.h"

/* A passphrase is a line; a larger file is not one. */
#define MAX_PASSPHRASE 4096

#define CONFIG_FAIL FLEXSAML_CONFIG_FAIL

/* One Lasso server per virtual host: an SP shared between hosts would need a
 * key of everything that shapes it (the role map and claims included), and
 * a server costs a few milliseconds and kilobytes once, at startup. */
static int build_sp(apr_pool_t *p, server_rec *s, flexsaml_srv_cfg *c)
{
    flexsaml_runtime *rt = c->rt;
    const char *err, *cert = NULL, *pkey = NULL;
    flexsaml_idp *idp = NULL;
    flexsaml_sp *sp;
    int rc;

    flexsaml_sp_policy_from_settings(&rt->policy, &c->settings);
    if ((rc = flexsaml_idp_load(p, s, c, &idp)) != OK)
        return rc;
    if ((c->sp_cert_file == NULL) != (c->sp_key_file == NULL))
        CONFIG_FAIL(s, "FlexSAMLSPCertificateFile and FlexSAMLSPPrivateKeyFile go together");
    if (c->sp_cert_file &&
        (err = flexsaml_read_file(p, c->sp_cert_file, 64 * 1024, &cert, NULL)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSPCertificateFile %s %s", c->sp_cert_file, err);
    if (c->sp_key_file &&
        (err = flexsaml_read_file(p, c->sp_key_file, 64 * 1024, &pkey, NULL)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSPPrivateKeyFile %s %s", c->sp_key_file, err);
    if ((err = flexsaml_sp_create(p, &rt->policy, idp, cert, pkey, &sp)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSPEntityID %s: %s", c->sp_entity_id, err);
    flexsaml_idp_check_expiry(s, c, idp);
    rt->sp_cert_pem = cert;
    rt->sp_key_pem = pkey;
    flexsaml_runtime_set_sp(rt, p, sp);
    return OK;
}

/* The native network stores: what they keep crosses a network and sits in a
 * server other people administer, so it is sealed or not stored at all. */
static int native_network_store(const char *spec)
{
    return !strncmp(spec, "redis://", 8) || !strncmp(spec, "redis-sentinel://", 17);
}

static int build_sealer(apr_pool_t *p, server_rec *s, flexsaml_srv_cfg *c)
{
    apr_array_header_t *secrets;
    const char *err, *v = NULL;
    int i;

    if (!c->passphrases && native_network_store(c->cache_spec))
        CONFIG_FAIL(s,
                    "FlexSAMLSessionCache %s keeps names, emails and roles in a network store: "
                    "set FlexSAMLCryptoPassphrase file:/path (mode 600) or env:VAR, the same on "
                    "every server of the farm, to seal them",
                    c->cache_spec);
    if (!c->passphrases) {
        if (strncmp(c->cache_spec, "shmcb", 5) != 0 && strncmp(c->cache_spec, "dbm", 3) != 0 &&
            strncmp(c->cache_spec, "lmdb", 4) != 0)
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                         "flexsaml: FlexSAMLSessionCache %s keeps names, emails and roles in a "
                         "network store in clear; set FlexSAMLCryptoPassphrase to seal them",
                         c->cache_spec);
        return OK;
    }
    secrets = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; i < c->passphrases->nelts; i++) {
        const char *src = APR_ARRAY_IDX(c->passphrases, i, const char *);
        if ((err = flexsaml_secret_read(p, ap_server_root, src, MAX_PASSPHRASE, &v)) != NULL)
            CONFIG_FAIL(s, "FlexSAMLCryptoPassphrase %s: %s", src, err);
        APR_ARRAY_PUSH(secrets, const char *) = v;
    }
    if ((err = flexsaml_sealer_create(p, secrets, c->sp_entity_id, &c->rt->sealer)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLCryptoPassphrase: %s", err);
    return OK;
}

static const char *init_key = "flexsaml-lasso-init";
static const char *state_key = "flexsaml-login-state-sealer";

/* The login-state cookie: flexsaml_login, keeping a __Host- prefix of the
 * session cookie (it requires Path=/ and no Domain, which the state cookie
 * keeps too), so a site that keeps subdomains out keeps them out of both. */
static const char *state_cookie_name(apr_pool_t *p, const char *session_cookie)
{
    static const char host_prefix[] = "__Host-";
    return apr_pstrcat(
        p, strncmp(session_cookie, host_prefix, sizeof(host_prefix) - 1) ? "" : host_prefix,
        "flexsaml_login", NULL);
}

/* Without a passphrase, one random key per server: made once in the parent,
 * in the process pool, so children inherit it and a graceful restart keeps
 * the logins in flight. With passphrases, a key derived from them, so every
 * server of a farm opens the state another one wrote. */
static int build_state_sealer(apr_pool_t *p, server_rec *s, flexsaml_srv_cfg *c)
{
    flexsaml_sealer *sealer = NULL;
    void *kept = NULL;
    const char *err;

    c->rt->state_cookie = state_cookie_name(p, c->cookie_name);
    if (c->rt->sealer) {
        if ((err = flexsaml_sealer_derive(p, c->rt->sealer, "login-state", &sealer)) != NULL)
            CONFIG_FAIL(s, "FlexSAMLCryptoPassphrase: %s", err);
        c->rt->state_sealer = sealer;
        return OK;
    }
    apr_pool_userdata_get(&kept, state_key, s->process->pool);
    sealer = kept;
    if (!sealer) {
        if ((err = flexsaml_sealer_random(s->process->pool, &sealer)) != NULL)
            CONFIG_FAIL(s, "login state key: %s", err);
        apr_pool_userdata_set(sealer, state_key, apr_pool_cleanup_null, s->process->pool);
    }
    c->rt->state_sealer = sealer;
    return OK;
}

static const char *caveat_key = "flexsaml-store-caveat";

/* httpd reads its configuration twice at startup (and again on each
 * restart): the process pool remembers what was already said. */
static void say_caveat_once(server_rec *s, flexsaml_store *st, apr_pool_t *ptemp)
{
    const char *caveat = flexsaml_store_caveat(st, ptemp);
    const char *key;
    void *said = NULL;

    if (!caveat)
        return;
    key = apr_pstrcat(ptemp, caveat_key, ":", flexsaml_store_spec(st), NULL);
    apr_pool_userdata_get(&said, key, s->process->pool);
    if (said)
        return;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                 "flexsaml: FlexSAMLSessionCache %s: %s", flexsaml_store_spec(st), caveat);
    apr_pool_userdata_set((void *)1, apr_pstrdup(s->process->pool, key), apr_pool_cleanup_null,
                          s->process->pool);
}

static int build_store(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, flexsaml_srv_cfg *c,
                       apr_hash_t *stores)
{
    flexsaml_store_opts opts = {NULL, c->cache_connect_timeout, c->cache_io_timeout,
                                c->cache_local};
    /* Hosts share a store only when everything that makes it is the same. */
    const char *key = apr_psprintf(ptemp, "%s|%s|%" APR_TIME_T_FMT "|%" APR_TIME_T_FMT "|%d",
                                   c->cache_spec, c->cache_password ? c->cache_password : "",
                                   c->cache_connect_timeout, c->cache_io_timeout, c->cache_local);
    const char *err;

    if ((c->rt->store = apr_hash_get(stores, key, APR_HASH_KEY_STRING)) != NULL)
        return OK;
    if (c->cache_password && (err = flexsaml_secret_read(pconf, ap_server_root, c->cache_password,
                                                         MAX_PASSPHRASE, &opts.password)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSessionCachePassword %s: %s", c->cache_password, err);
    if ((err = flexsaml_store_create(pconf, c->cache_spec, &opts, &c->rt->store)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSessionCache %s: %s", c->cache_spec, err);
    apr_hash_set(stores, key, APR_HASH_KEY_STRING, c->rt->store);
    say_caveat_once(s, c->rt->store, ptemp);
    return OK;
}

/* The virtual host a <VirtualHost> section of the configuration built. */
static server_rec *vhost_of(const ap_directive_t *d, server_rec *main_server)
{
    server_rec *v;
    for (v = main_server->next; v; v = v->next)
        if (v->defn_name && d->filename && (int)v->defn_line_number == d->line_num &&
            !strcmp(v->defn_name, d->filename))
            return v;
    return main_server;
}

/* "AuthType FlexSAML" where the host has no FlexSAML settings would answer
 * 500 to every request: refuse it at -t, naming the line. .htaccess files
 * are only read per request and stay a runtime error. */
static int check_auth_types(apr_pool_t *p, const ap_directive_t *d, server_rec *main_server,
                            server_rec *host)
{
    const char *args;
    int rc;
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            if ((rc = check_auth_types(p, d->first_child, main_server, vhost_of(d, main_server))) !=
                OK)
                return rc;
            continue;
        }
        if (d->first_child && (rc = check_auth_types(p, d->first_child, main_server, host)) != OK)
            return rc;
        if (strcasecmp(d->directive, "AuthType") != 0 || !d->args)
            continue;
        args = d->args;
        if (strcasecmp(ap_getword_conf(p, &args), FLEXSAML_AUTH_TYPE) != 0)
            continue;
        if (!flexsaml_settings_configured(&flexsaml_srv(host)->settings))
            CONFIG_FAIL(host,
                        "AuthType FlexSAML on line %d of %s, but %s has no FlexSAML settings: "
                        "give it FlexSAMLSPEntityID and the IdP (FlexSAMLIdPMetadataFile, or "
                        "FlexSAMLIdPCertificateFile, FlexSAMLIdPSSOURL and FlexSAMLIdPIssuer), "
                        "or set them outside the <VirtualHost> for every host",
                        d->line_num, d->filename,
                        host == main_server
                            ? "the main server"
                            : apr_psprintf(p, "the <VirtualHost> of line %d of %s",
                                           host->defn_line_number, host->defn_name));
    }
    return OK;
}

/* ":8443" of ServerName portal.example.com:8443; nothing for a default port. */
static const char *example_port(apr_pool_t *p, const server_rec *s)
{
    if (!s->port || s->port == 443 ||
        (s->port == 80 && s->server_scheme && !strcmp(s->server_scheme, "http")))
        return "";
    return apr_psprintf(p, ":%u", (unsigned)s->port);
}

int flexsaml_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *stores = apr_hash_make(ptemp);
    void *done = NULL;
    const char *err;
    int rc;

    (void)plog;
    apr_pool_userdata_get(&done, init_key, s->process->pool);
    if (!done) {
        const char *found;
        flexsaml_lasso_verdict lv;

        if ((err = flexsaml_sp_global_init()) != NULL)
            CONFIG_FAIL(s, "%s", err);
        /* Lasso before the 2025 fixes crashes on crafted XML: refuse to run
         * on a build known to lack them, and say what was found. */
        lv = flexsaml_lasso_check(ptemp, &found);
        if (lv == FLEXSAML_LASSO_VULNERABLE)
            CONFIG_FAIL(s, "%s; refusing to start (upgrade liblasso3)", found);
        ap_log_error(APLOG_MARK,
                     APLOG_STARTUP | (lv == FLEXSAML_LASSO_FIXED ? APLOG_INFO : APLOG_WARNING), 0,
                     NULL, "flexsaml: %s", found);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        apr_pool_userdata_set((void *)1, init_key, apr_pool_cleanup_null, s->process->pool);
    }
    if ((rc = check_auth_types(ptemp, ap_conftree, s, s)) != OK)
        return rc;
    for (; s; s = s->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(s);
        if (!flexsaml_settings_configured(&c->settings))
            continue;
        flexsaml_settings_apply_defaults(pconf, &c->settings);
        if (!c->sp_entity_id)
            CONFIG_FAIL(s,
                        "%s: FlexSAMLSPEntityID is missing: set it to this SP's entity ID, e.g. "
                        "%s://%s%s%s/metadata (Okta: Audience URI)",
                        c->where ? c->where : s->defn_name,
                        s->server_scheme ? s->server_scheme : "https",
                        s->server_hostname ? s->server_hostname : "portal.example.com",
                        example_port(pconf, s), c->endpoint);
        c->rt = flexsaml_runtime_create(pconf);
        c->rt->tr = flexsaml_tr_create(pconf);
        if ((rc = build_sp(pconf, s, c)) != OK)
            return rc;
        if ((rc = flexsaml_tr_check(pconf, s, c->rt->tr, &c->taskrouter)) != OK)
            return rc;
        if ((rc = build_sealer(pconf, s, c)) != OK)
            return rc;
        if ((rc = build_state_sealer(pconf, s, c)) != OK)
            return rc;
        if ((rc = build_store(pconf, ptemp, s, c, stores)) != OK)
            return rc;
    }
    return OK;
}

int flexsaml_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    flexsaml_store_register_mutex(pconf);
    return OK;
}

int flexsaml_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    flexsaml_metrics *metrics = NULL;
    apr_status_t rv;
    (void)plog;
    for (; s; s = s->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(s);
        if (!c->rt)
            continue;
        if (!metrics)
            metrics = flexsaml_metrics_create(pconf, s);
        c->rt->metrics = metrics;
        rv = flexsaml_store_init(c->rt->store, s, pconf, ptemp);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "flexsaml: FlexSAMLSessionCache %s cannot be initialized",
                         flexsaml_store_spec(c->rt->store));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

void flexsaml_child_init(apr_pool_t *p, server_rec *s)
{
    server_rec *main_s = s;
    for (; s; s = s->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(s);
        if (!c->rt)
            continue;
        flexsaml_store_child_init(c->rt->store, s, p);
        flexsaml_tr_child_init(p, s, c->rt->tr);
    }
    flexsaml_idp_refresh_child_init(p, main_s);
}
