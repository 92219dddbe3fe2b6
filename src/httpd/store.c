/*
 * Sessions, pending AuthnRequests and the assertion replay cache, all in one
 * ap_socache provider (shmcb on one host; redis, memcache or dbm for more).
 * Keys come from store_key.c: no outside value ever becomes a store key.
 */
#include <string.h>

#include "ap_provider.h"
#include "ap_socache.h"
#include "apr_global_mutex.h"
#include "util_cfgtree.h"
#include "util_mutex.h"
#include "apr_strings.h"
#include "apr_atomic.h"
#include <openssl/evp.h>

#include "flexsaml_glue.h"
#include "runtime.h"
#include "metrics.h"
#include "store.h"
#include "web.h"
#include "seal.h"
#include "store_key.h"

#define MUTEX_TYPE "flexsaml-cache"
#define KEY_LEN FLEXSAML_STORE_KEY_LEN
#define MAX_VALUE (64 * 1024)
#define FAILURE_LOG_INTERVAL 10 /* seconds */
/* shmcb is split into up to this many stripes of at least STRIPE_MIN bytes. */
#define MAX_STRIPES 16
#define STRIPE_MIN (2 * 1024 * 1024)

/* One socache instance and the mutex around it. */
typedef struct {
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex; /* around every call, or only the check-and-set */
} stripe;

struct flexsaml_store {
    const char *spec;
    const ap_socache_provider_t *provider;
    /* shmcb looks a key up by scanning one of at most 256 sub-caches, all
     * behind one mutex that every protected request takes. Stripes (each
     * its own shmcb and mutex, picked by a digest byte) divide both the
     * scan and the contention: with 100 000 sessions in one 192 MiB shmcb a
     * lookup scans ~780 entries, in 16 stripes ~200. */
    stripe *stripes;
    int nstripes;
    int mp_safe; /* the provider needs no mutex for single calls */
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

/* "path(size)": the same total size in stripes "path.N(size/stripes)". */
static const char *make_stripes(apr_pool_t *p, flexsaml_store *st, const char *arg)
{
    const char *open = strrchr(arg, '(');
    apr_int64_t size;
    int n = 1, i;
    const char *err;

    if (!open)
        return NULL; /* shmcb's default size: too small to split */
    size = apr_atoi64(open + 1);
    while (n < MAX_STRIPES && size / (n * 2) >= STRIPE_MIN)
        n *= 2;
    if (n == 1)
        return NULL;
    st->stripes = apr_pcalloc(p, sizeof(stripe) * (apr_size_t)n);
    st->nstripes = n;
    for (i = 0; i < n; i++) {
        const char *part =
            apr_psprintf(p, "%.*s.%d(%" APR_INT64_T_FMT ")", (int)(open - arg), arg, i, size / n);
        if ((err = st->provider->create(&st->stripes[i].instance, part, p, p)) != NULL)
            return err;
    }
    return NULL;
}

const char *flexsaml_store_create(apr_pool_t *p, const char *spec, flexsaml_store **out)
{
    flexsaml_store *st = apr_pcalloc(p, sizeof(*st));
    const char *sep = strchr(spec, ':');
    const char *name = sep ? apr_pstrmemdup(p, spec, (apr_size_t)(sep - spec)) : spec;
    const char *arg = sep ? sep + 1 : NULL;
    const char *err;

    st->spec = apr_pstrdup(p, spec);
    st->key_form =
        !strcmp(name, "shmcb") || !strcmp(name, "dbm") ? FLEXSAML_KEY_BINARY : FLEXSAML_KEY_TEXT;
    st->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!st->sha256)
        return "OpenSSL has no SHA-256";
    apr_pool_cleanup_register(p, st->sha256, free_md, apr_pool_cleanup_null);
    st->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (!st->provider) {
        return apr_psprintf(p,
                            "unknown session cache provider \"%s\": load mod_socache_%s (a2enmod "
                            "socache_%s) or use shmcb, redis:host:port, memcache:host:port or dbm",
                            name, name, name);
    }
    /* shmcb with no size keeps only ~500 KB; give sessions room by default. */
    if (!arg && !strcmp(name, "shmcb"))
        arg = "flexsaml_cache(33554432)";
    st->nstripes = 1;
    st->stripes = apr_pcalloc(p, sizeof(stripe));
    /* The administrator's argument as given, so errors are shmcb's own. */
    err = st->provider->create(&st->stripes[0].instance, arg, p, p);
    if (err)
        return apr_psprintf(p, "session cache \"%s\": %s", spec, err);
    if (!strcmp(name, "shmcb") && (err = make_stripes(p, st, arg)) != NULL)
        return apr_psprintf(p, "session cache \"%s\": %s", spec, err);
    *out = st;
    return NULL;
}

/* Whether a Mutex directive names this mutex. This lock is taken on every
 * protected request: a process-shared pthread mutex is a futex, with no
 * system call unless contended, while "Mutex file:... default" (a common
 * line for keeping lock files in one place) would make it an fcntl lock, two
 * system calls per request. httpd lets such a default line override a
 * mutex's registered mechanism, so only a line naming flexsaml-cache does. */
static int mutex_configured(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "Mutex") && d->args && ap_strcasestr(d->args, MUTEX_TYPE))
            return 1;
        if (d->first_child && mutex_configured(d->first_child))
            return 1;
    }
    return 0;
}

apr_status_t flexsaml_store_init(flexsaml_store *st, server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp)
{
    /* shmcb sizes its index from these: a session is ~500 bytes and its
     * replay marker 16, so an average near 384 gives both index slots
     * instead of leaving data space unused behind a full index. */
    struct ap_socache_hints hints = {KEY_LEN, 384, 60};
    apr_status_t rv;
    int configured = mutex_configured(ap_conftree), i;

    (void)ptemp;
    if (st->initialized)
        return APR_SUCCESS;
    /* Even an MP-safe provider needs the mutex for the replay check: its
     * read and its write are two calls. */
    st->mp_safe = !(st->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE);
    for (i = 0; i < st->nstripes; i++) {
        stripe *sp = &st->stripes[i];
        if (configured)
            rv = ap_global_mutex_create(&sp->mutex, NULL, MUTEX_TYPE,
                                        apr_psprintf(pconf, "%pp.%d", (void *)st, i), s, pconf, 0);
        else
            rv = apr_global_mutex_create(&sp->mutex, NULL, APR_LOCK_PROC_PTHREAD, pconf);
        if (rv != APR_SUCCESS)
            return rv;
        rv = st->provider->init(sp->instance, apr_psprintf(pconf, "flexsaml-%d", i), &hints, s,
                                pconf);
        if (rv != APR_SUCCESS)
            return rv;
    }
    st->initialized = 1;
    return APR_SUCCESS;
}

void flexsaml_store_child_init(flexsaml_store *st, server_rec *s, apr_pool_t *p)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < st->nstripes; i++) {
        apr_global_mutex_t **m = &st->stripes[i].mutex;
        if (!*m)
            continue;
        rv = apr_global_mutex_child_init(m, apr_global_mutex_lockfile(*m), p);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "flexsaml: cannot reopen the session cache mutex in a child");
    }
}

/* A session belongs to the public host that made it: a cookie sent to
 * another virtual host (another port of the same name, say) finds nothing
 * there, even with the same SP entity ID and store. */
static apr_status_t make_key(const flexsaml_store *st, request_rec *r, char kind, const char *id,
                             unsigned char key[KEY_LEN])
{
    const char *scope = kind == FLEXSAML_KEY_SESSION ? flexsaml_public_host(r) : NULL;
    return flexsaml_store_key(st->sha256, st->key_form, kind, scope, id, key) ? APR_SUCCESS
                                                                              : APR_EGENERAL;
}

/* The stripe from the high nibble of the second digest byte (key[4], a
 * lower-case hex digit; MAX_STRIPES is 16): the first digest byte picks
 * shmcb's sub-cache inside the stripe, so the two choices are independent. */
static stripe *stripe_of(flexsaml_store *st, const unsigned char *key)
{
    unsigned int nibble = (unsigned int)(key[4] <= '9' ? key[4] - '0' : key[4] - 'a' + 10);
    return &st->stripes[nibble & (unsigned int)(st->nstripes - 1)];
}

static apr_status_t lock(flexsaml_store *st, stripe *sp)
{
    return st->mp_safe ? APR_SUCCESS : apr_global_mutex_lock(sp->mutex);
}

static void unlock(flexsaml_store *st, stripe *sp)
{
    if (!st->mp_safe)
        apr_global_mutex_unlock(sp->mutex);
}

static apr_status_t retrieve(flexsaml_store *st, stripe *sp, request_rec *r,
                             const unsigned char *key, const char **val, apr_size_t *len)
{
    unsigned char buf[MAX_VALUE];
    unsigned int n = sizeof(buf);
    apr_status_t rv;

    rv = st->provider->retrieve(sp->instance, r->server, key, KEY_LEN, buf, &n, r->pool);
    if (rv == APR_SUCCESS && val) {
        *val = apr_pstrmemdup(r->pool, (const char *)buf, n);
        *len = n;
    }
    return rv;
}

static const flexsaml_sealer *sealer_of(request_rec *r, char kind)
{
    /* Replay markers hold no data: only values are sealed. */
    return kind == FLEXSAML_KEY_ASSERTION ? NULL : flexsaml_srv(r->server)->rt->sealer;
}

apr_status_t flexsaml_store_get(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                const char **val, apr_size_t *len)
{
    unsigned char key[KEY_LEN];
    stripe *sp;
    apr_status_t rv;

    const flexsaml_sealer *sealer = sealer_of(r, kind);
    const char *raw;
    apr_size_t n;

    if ((rv = make_key(st, r, kind, id, key)) != APR_SUCCESS)
        return rv;
    sp = stripe_of(st, key);
    if ((rv = lock(st, sp)) != APR_SUCCESS)
        return rv;
    rv = retrieve(st, sp, r, key, &raw, &n);
    unlock(st, sp);
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

apr_status_t flexsaml_store_put(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                apr_time_t expiry, const char *val, apr_size_t len)
{
    unsigned char key[KEY_LEN];
    stripe *sp;
    apr_status_t rv;

    const flexsaml_sealer *sealer = sealer_of(r, kind);

    if ((rv = make_key(st, r, kind, id, key)) != APR_SUCCESS)
        return rv;
    sp = stripe_of(st, key);
    if (sealer &&
        !(val = flexsaml_seal(r->pool, sealer, (const char *)key, KEY_LEN, val, len, &len)))
        return APR_EGENERAL;
    if (len > MAX_VALUE)
        return APR_ENOSPC;
    if ((rv = lock(st, sp)) != APR_SUCCESS)
        return rv;
    rv = st->provider->store(sp->instance, r->server, key, KEY_LEN, expiry, (unsigned char *)val,
                             (unsigned int)len, r->pool);
    unlock(st, sp);
    flexsaml_metric_store(r, FLEXSAML_OP_PUT, rv);
    return rv;
}

apr_status_t flexsaml_store_remove(flexsaml_store *st, request_rec *r, char kind, const char *id)
{
    unsigned char key[KEY_LEN];
    stripe *sp;
    apr_status_t rv;

    if ((rv = make_key(st, r, kind, id, key)) != APR_SUCCESS)
        return rv;
    sp = stripe_of(st, key);
    if ((rv = lock(st, sp)) != APR_SUCCESS)
        return rv;
    rv = st->provider->remove(sp->instance, r->server, key, KEY_LEN, r->pool);
    unlock(st, sp);
    flexsaml_metric_store(r, FLEXSAML_OP_REMOVE, rv);
    return rv;
}

apr_status_t flexsaml_store_once(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                 apr_time_t expiry)
{
    unsigned char key[KEY_LEN];
    stripe *sp;
    char token[17];
    unsigned char raw[8];
    const char *back = NULL;
    apr_size_t n = 0;
    apr_status_t rv;
    int i;

    if ((rv = make_key(st, r, kind, id, key)) != APR_SUCCESS)
        return rv;
    sp = stripe_of(st, key);
    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
        return APR_EGENERAL;
    for (i = 0; i < 8; i++)
        apr_snprintf(token + 2 * i, 3, "%02x", raw[i]);
    /* Under the mutex the check and the insert are one step for every
     * process of this server. */
    if ((rv = apr_global_mutex_lock(sp->mutex)) != APR_SUCCESS)
        return rv;
    rv = retrieve(st, sp, r, key, &back, &n);
    if (rv == APR_SUCCESS) {
        rv = APR_EEXIST;
    } else if (rv == APR_NOTFOUND) {
        rv = st->provider->store(sp->instance, r->server, key, KEY_LEN, expiry,
                                 (unsigned char *)token, 16, r->pool);
        /* A store shared by several servers has no atomic add in the
         * socache API: reading our own token back means no other server
         * wrote in between; if one did, the last writer wins and we refuse.
         * What is left is the window between two writes and two reads. */
        if (rv == APR_SUCCESS && st->mp_safe) {
            rv = retrieve(st, sp, r, key, &back, &n);
            if (rv == APR_SUCCESS && (n != 16 || memcmp(back, token, 16) != 0))
                rv = APR_EEXIST;
        }
    }
    apr_global_mutex_unlock(sp->mutex);
    flexsaml_metric_store(r, FLEXSAML_OP_ONCE, rv);
    return rv;
}

void flexsaml_store_register_mutex(apr_pool_t *pconf)
{
    /* Registered so that "Mutex <mechanism> flexsaml-cache" is accepted. */
    ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_PROC_PTHREAD, 0);
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
