/*
 * The Redis backend in httpd: "redis://[user@]host:port[/db]" and
 * "redis-sentinel://host:port[,host:port...]/<master>[/db]", with the
 * password of FlexSAMLSessionCachePassword. Nothing connects before the
 * children (`apachectl -t` stays offline); each child connects once at
 * start to say, once, what would make every request fail.
 */
#include "httpd.h"
#include "http_log.h"
#include "apr_strings.h"

#include "flexsaml_glue.h"
#include "redis_store.h"
#include "store.h"
#include "store_driver.h"

typedef struct {
    const char *spec;
    flexsaml_redis_conf conf;
} redis_cfg;

static const char *redis_create(apr_pool_t *p, const char *name, const char *arg,
                                const flexsaml_store_opts *opts, void **ctx,
                                flexsaml_key_form *form)
{
    redis_cfg *c = apr_pcalloc(p, sizeof(*c));
    const char *err;

    c->spec = apr_pstrcat(p, name, ":", arg ? arg : "", NULL);
    if ((err = flexsaml_redis_parse(p, c->spec, &c->conf)) != NULL)
        return err;
    if (c->conf.user && !opts->password)
        return apr_psprintf(p,
                            "the ACL user %s needs its password: FlexSAMLSessionCachePassword "
                            "file:/path (mode 600) or env:VAR",
                            c->conf.user);
    c->conf.password = opts->password;
    if (opts->connect_timeout)
        c->conf.connect_timeout = opts->connect_timeout;
    if (opts->io_timeout)
        c->conf.io_timeout = opts->io_timeout;
    c->conf.client_cache = opts->local_copy;
    c->conf.cache_kind = FLEXSAML_KEY_SESSION;
    /* Text keys: an ACL can then name the module's keys, ~flexsaml:*. */
    *form = FLEXSAML_KEY_TEXT;
    *ctx = c;
    return NULL;
}

static apr_status_t redis_init(void *ctx, server_rec *s, apr_pool_t *pconf)
{
    (void)ctx;
    (void)s;
    (void)pconf;
    return APR_SUCCESS;
}

static apr_status_t redis_child_init(void *ctx, server_rec *s, apr_pool_t *pchild, void **b)
{
    redis_cfg *c = ctx;
    flexsaml_redis *rd = flexsaml_redis_create(pchild, &c->conf);
    int fatal = 0;
    const char *said = flexsaml_redis_probe(rd, pchild, &fatal);

    if (said && fatal)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "flexsaml: FlexSAMLSessionCache %s: %s; until that is fixed, protected "
                     "pages and logins get the session_store page (503)",
                     c->spec, said);
    else if (said)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "flexsaml: FlexSAMLSessionCache %s: %s",
                     c->spec, said);
    *b = rd;
    return APR_SUCCESS;
}

static const char *redis_last_error(void *b)
{
    return flexsaml_redis_last_error(b);
}

const flexsaml_store_driver flexsaml_redis_driver = {
    &flexsaml_redis_ops, redis_create, redis_init, redis_child_init, NULL, NULL, redis_last_error};
