/*
 * The store (one handle per virtual host): sessions, pending AuthnRequests,
 * replay markers and the logout index in one backend (store_driver.h: lmdb
 * or a socache provider). This layer is the same for every backend: keys
 * come from store_key.c (no outside value ever becomes a store key), values
 * are sealed by seal.c, every operation is counted in the metrics.
 */
#include <string.h>

#include "apr_strings.h"
#include "apr_atomic.h"
#include <openssl/evp.h>

#include "flexsaml_glue.h"
#include "runtime.h"
#include "metrics.h"
#include "store.h"
#include "store_driver.h"
#include "seal.h"
#include "store_key.h"

#define KEY_LEN FLEXSAML_STORE_KEY_LEN
#define FAILURE_LOG_INTERVAL 10 /* seconds */

struct flexsaml_store {
    const char *spec;
    const flexsaml_store_driver *driver;
    void *ctx; /* the driver's, from create */
    void *b;   /* the data operations', from child_init: NULL before */
    flexsaml_key_form key_form;
    int initialized;
    /* Per-process failure accounting, so an outage logs a line per interval
     * instead of one per request. */
    volatile apr_uint32_t last_failure_log;
    volatile apr_uint32_t failures;
    /* Fetched once: OpenSSL 3 looks SHA256() up again on every call. */
    EVP_MD *sha256;
};

const char *flexsaml_store_spec(const flexsaml_store *st)
{
    return st->spec;
}

static apr_status_t free_md(void *md)
{
    EVP_MD_free(md);
    return APR_SUCCESS;
}

/* redis:// and redis-sentinel:// are the native client; "redis:host:port"
 * (no slashes) stays apr-util's socache provider. */
static const flexsaml_store_driver *driver_of(const char *name, const char *arg)
{
    if (!strcmp(name, "lmdb"))
        return &flexsaml_lmdb_driver;
    if (!strcmp(name, "redis-sentinel") || (!strcmp(name, "redis") && arg && arg[0] == '/'))
        return &flexsaml_redis_driver;
    return &flexsaml_socache_driver;
}

const char *flexsaml_store_create(apr_pool_t *p, const char *spec, const flexsaml_store_opts *opts,
                                  flexsaml_store **out)
{
    flexsaml_store *st = apr_pcalloc(p, sizeof(*st));
    const char *sep = strchr(spec, ':');
    const char *name = sep ? apr_pstrmemdup(p, spec, (apr_size_t)(sep - spec)) : spec;
    const char *arg = sep ? sep + 1 : NULL;
    const char *err;

    st->spec = apr_pstrdup(p, spec);
    st->driver = driver_of(name, arg);
    if (opts->password && st->driver != &flexsaml_redis_driver)
        return apr_psprintf(p,
                            "FlexSAMLSessionCachePassword is for redis:// and redis-sentinel:// "
                            "only; \"%s\" takes no password (remove the directive, or use "
                            "redis://host:port)",
                            spec);
    st->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!st->sha256)
        return "OpenSSL has no SHA-256";
    apr_pool_cleanup_register(p, st->sha256, free_md, apr_pool_cleanup_null);
    if ((err = st->driver->create(p, name, arg, opts, &st->ctx, &st->key_form)) != NULL)
        return apr_psprintf(p, "session cache \"%s\": %s", spec, err);
    *out = st;
    return NULL;
}

const char *flexsaml_store_caveat(flexsaml_store *st, apr_pool_t *p)
{
    return st->driver->caveat ? st->driver->caveat(st->ctx, p) : NULL;
}

apr_status_t flexsaml_store_init(flexsaml_store *st, server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp)
{
    apr_status_t rv;

    (void)ptemp;
    if (st->initialized)
        return APR_SUCCESS;
    if ((rv = st->driver->init(st->ctx, s, pconf)) == APR_SUCCESS)
        st->initialized = 1;
    return rv;
}

void flexsaml_store_child_init(flexsaml_store *st, server_rec *s, apr_pool_t *p)
{
    apr_status_t rv;

    EVP_MD *md;

    if (st->b)
        return; /* shared with a virtual host already done */
    /* Fetched again in the child: mod_ssl's SSLFIPS turns FIPS mode on after
     * this store was configured, and in FIPS mode the keys' digest must come
     * from the provider the child's default properties name. */
    if ((md = EVP_MD_fetch(NULL, "SHA256", NULL)) != NULL) {
        st->sha256 = md;
        apr_pool_cleanup_register(p, md, free_md, apr_pool_cleanup_null);
    }
    if ((rv = st->driver->child_init(st->ctx, s, p, &st->b)) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "flexsaml: FlexSAMLSessionCache %s cannot be opened in this child; logins "
                     "get the session_store page",
                     st->spec);
}

/* scope: the public host, for sessions (a session belongs to the host that
 * made it: a cookie sent to another virtual host, another port of the same
 * name say, finds nothing there, even with the same SP entity ID and store);
 * NULL for everything else. */
static apr_status_t make_key(const flexsaml_store *st, const char *scope, char kind, const char *id,
                             unsigned char key[KEY_LEN])
{
    if (!st->b)
        return APR_EINIT;
    return flexsaml_store_key(st->sha256, st->key_form, kind, scope, id, key) ? APR_SUCCESS
                                                                              : APR_EGENERAL;
}

static const flexsaml_sealer *sealer_of(request_rec *r, char kind)
{
    /* Replay markers hold no data: only values are sealed. */
    return kind == FLEXSAML_KEY_ASSERTION ? NULL : flexsaml_srv(r->server)->rt->sealer;
}

apr_status_t flexsaml_store_get(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                const char *id, const char **val, apr_size_t *len)
{
    unsigned char key[KEY_LEN];
    apr_status_t rv;
    const flexsaml_sealer *sealer = sealer_of(r, kind);
    const char *raw;
    apr_size_t n;

    if ((rv = make_key(st, scope, kind, id, key)) != APR_SUCCESS)
        return rv;
    rv = st->driver->ops->get(st->b, key, KEY_LEN, apr_time_now(), r->pool, &raw, &n);
    flexsaml_metric_store(r, FLEXSAML_OP_GET, rv);
    if (rv != APR_SUCCESS)
        return rv;
    if (sealer) {
        raw = flexsaml_unseal(r->pool, sealer, (const char *)key, KEY_LEN, raw, n, &n);
        if (!raw) {
            /* Sealed with a retired passphrase, or tampered with: absent. */
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "flexsaml: a stored value does not unseal with the configured "
                          "FlexSAMLCryptoPassphrase; treating it as absent");
            return APR_NOTFOUND;
        }
    }
    *val = raw;
    if (len)
        *len = n;
    return APR_SUCCESS;
}

apr_status_t flexsaml_store_put(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                const char *id, apr_time_t expiry, const char *val, apr_size_t len)
{
    unsigned char key[KEY_LEN];
    apr_status_t rv;
    const flexsaml_sealer *sealer = sealer_of(r, kind);

    if ((rv = make_key(st, scope, kind, id, key)) != APR_SUCCESS)
        return rv;
    if (sealer &&
        !(val = flexsaml_seal(r->pool, sealer, (const char *)key, KEY_LEN, val, len, &len)))
        return APR_EGENERAL;
    rv = st->driver->ops->put(st->b, key, KEY_LEN, expiry, val, len, r->pool);
    flexsaml_metric_store(r, FLEXSAML_OP_PUT, rv);
    return rv;
}

apr_status_t flexsaml_store_replace(flexsaml_store *st, request_rec *r, const char *scope,
                                    char kind, const char *id, apr_time_t expiry, const char *val,
                                    apr_size_t len)
{
    unsigned char key[KEY_LEN];
    apr_status_t rv;
    const flexsaml_sealer *sealer = sealer_of(r, kind);
    const char *old;

    if (!st->driver->ops->replace) {
        /* A backend without it: read, then write (a small window). */
        if ((rv = flexsaml_store_get(st, r, scope, kind, id, &old, NULL)) != APR_SUCCESS)
            return rv;
        return flexsaml_store_put(st, r, scope, kind, id, expiry, val, len);
    }
    if ((rv = make_key(st, scope, kind, id, key)) != APR_SUCCESS)
        return rv;
    if (sealer &&
        !(val = flexsaml_seal(r->pool, sealer, (const char *)key, KEY_LEN, val, len, &len)))
        return APR_EGENERAL;
    rv = st->driver->ops->replace(st->b, key, KEY_LEN, expiry, val, len, apr_time_now(), r->pool);
    flexsaml_metric_store(r, FLEXSAML_OP_PUT, rv == APR_NOTFOUND ? APR_SUCCESS : rv);
    return rv;
}

apr_status_t flexsaml_store_remove(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                   const char *id)
{
    unsigned char key[KEY_LEN];
    apr_status_t rv;

    if ((rv = make_key(st, scope, kind, id, key)) != APR_SUCCESS)
        return rv;
    rv = st->driver->ops->remove(st->b, key, KEY_LEN, r->pool);
    flexsaml_metric_store(r, FLEXSAML_OP_REMOVE, rv);
    return rv;
}

const char *flexsaml_store_ref(flexsaml_store *st, apr_pool_t *p, const char *scope, char kind,
                               const char *id)
{
    unsigned char key[KEY_LEN];
    char *ref = apr_palloc(p, 65);

    if (make_key(st, scope, kind, id, key) != APR_SUCCESS)
        return NULL;
    flexsaml_store_key_ref(key, ref);
    return ref;
}

apr_status_t flexsaml_store_remove_ref(flexsaml_store *st, request_rec *r, char kind,
                                       const char *ref)
{
    unsigned char key[KEY_LEN];
    apr_status_t rv;

    if (!st->b)
        return APR_EINIT;
    if (!flexsaml_store_key_from_ref(st->key_form, kind, ref, key))
        return APR_EINVAL;
    rv = st->driver->ops->remove(st->b, key, KEY_LEN, r->pool);
    flexsaml_metric_store(r, FLEXSAML_OP_REMOVE, rv);
    return rv;
}

apr_status_t flexsaml_store_once(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                 const char *id, apr_time_t expiry)
{
    unsigned char key[KEY_LEN];
    apr_status_t rv;

    if ((rv = make_key(st, scope, kind, id, key)) != APR_SUCCESS)
        return rv;
    rv = st->driver->ops->once(st->b, key, KEY_LEN, expiry, apr_time_now(), r->pool);
    flexsaml_metric_store(r, FLEXSAML_OP_ONCE, rv);
    return rv;
}

void flexsaml_store_register_mutex(apr_pool_t *pconf)
{
    flexsaml_socache_register_mutex(pconf);
}

const char *flexsaml_store_last_error(flexsaml_store *st)
{
    return st->b && st->driver->last_error ? st->driver->last_error(st->b) : NULL;
}

const char *flexsaml_store_full_hint(flexsaml_store *st, apr_status_t rv, apr_pool_t *p)
{
    if (rv != APR_ENOSPC || !st->driver->full_hint)
        return NULL;
    return st->driver->full_hint(st->ctx, p);
}

int flexsaml_store_failure_due(flexsaml_store *st, apr_uint32_t *count)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&st->last_failure_log);

    *count = apr_atomic_inc32(&st->failures) + 1;
    if (now - last < FAILURE_LOG_INTERVAL ||
        apr_atomic_cas32(&st->last_failure_log, now, last) != last)
        return 0;
    apr_atomic_set32(&st->failures, 0);
    return 1;
}
