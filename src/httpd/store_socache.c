/*
 * The socache backend: any ap_socache provider (shmcb, dbm, redis,
 * memcache) behind the store's backend interface, shmcb in stripes. These
 * providers evict under load or expire on their own; lmdb does neither.
 * For memcache, the replay check is memcached's own atomic "add" (through
 * apr_memcache), which every server of a farm sees.
 */
#include <string.h>

#include "httpd.h"
#include "http_log.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "ap_mpm.h"
#include "apr_global_mutex.h"
#include "util_cfgtree.h"
#include "util_mutex.h"
#include "apr_strings.h"
#include "apr_memcache.h"

#include "flexsaml_glue.h"
#include "store_driver.h"

#define MUTEX_TYPE "flexsaml-cache"
#define KEY_LEN FLEXSAML_STORE_KEY_LEN
#define MAX_VALUE (64 * 1024)
/* shmcb is split into up to this many stripes of at least STRIPE_MIN bytes. */
#define MAX_STRIPES 16
#define STRIPE_MIN (2 * 1024 * 1024)

/* One socache instance and the mutex around it. */
typedef struct {
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex; /* around every call, or only the check-and-set */
} stripe;

typedef struct {
    const char *name;
    const ap_socache_provider_t *provider;
    /* shmcb looks a key up by scanning one of at most 256 sub-caches, all
     * behind one mutex that every protected request takes. Stripes (each
     * its own shmcb and mutex, picked by a digest byte) divide both the
     * scan and the contention: with 100 000 sessions in one 192 MiB shmcb a
     * lookup scans ~780 entries, in 16 stripes ~200. */
    stripe *stripes;
    int nstripes;
    int mp_safe; /* the provider needs no mutex for single calls */
    int initialized;
    server_rec *s;         /* the socache calls want one; only for their logging */
    const char *servers;   /* memcache: its "host:port,..." */
    apr_memcache_t *adder; /* memcache: the replay check's client, per child */
} socache;

#define MEMCACHE_ONCE_PREFIX "flexsaml-once:"

/* "path(size)": the same total size in stripes "path.N(size/stripes)". */
static const char *make_stripes(apr_pool_t *p, socache *sc, const char *arg)
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
    sc->stripes = apr_pcalloc(p, sizeof(stripe) * (apr_size_t)n);
    sc->nstripes = n;
    for (i = 0; i < n; i++) {
        const char *part =
            apr_psprintf(p, "%.*s.%d(%" APR_INT64_T_FMT ")", (int)(open - arg), arg, i, size / n);
        if ((err = sc->provider->create(&sc->stripes[i].instance, part, p, p)) != NULL)
            return err;
    }
    return NULL;
}

static const char *socache_create(apr_pool_t *p, const char *name, const char *arg,
                                  const flexsaml_store_opts *opts, void **ctx,
                                  flexsaml_key_form *form)
{
    socache *sc = apr_pcalloc(p, sizeof(*sc));
    const char *err;

    (void)opts; /* store.c refuses one for these providers */
    sc->name = name;
    if (!strcmp(name, "memcache"))
        sc->servers = arg;
    *form =
        !strcmp(name, "shmcb") || !strcmp(name, "dbm") ? FLEXSAML_KEY_BINARY : FLEXSAML_KEY_TEXT;
    sc->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (!sc->provider) {
        static const char *const stores[] = {"shmcb", "redis:host:port", "memcache:host:port",
                                             "dbm"};
        const char *others = "lmdb";
        apr_size_t i;
        /* The alternatives are the other stores, never the one that is missing. */
        for (i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
            if (strncmp(stores[i], name, strlen(name)) != 0 ||
                (stores[i][strlen(name)] && stores[i][strlen(name)] != ':'))
                others = apr_pstrcat(p, others, ", ", stores[i], NULL);
        return apr_psprintf(p,
                            "session cache provider \"%s\" is not loaded: load mod_socache_%s "
                            "(a2enmod socache_%s), or use another store: %s",
                            name, name, name, others);
    }
    /* shmcb with no size keeps only ~500 KB; give sessions room by default. */
    if (!arg && !strcmp(name, "shmcb"))
        arg = "flexsaml_cache(33554432)";
    sc->nstripes = 1;
    sc->stripes = apr_pcalloc(p, sizeof(stripe));
    /* The administrator's argument as given, so errors are shmcb's own. */
    if ((err = sc->provider->create(&sc->stripes[0].instance, arg, p, p)) != NULL)
        return err;
    if (!strcmp(name, "shmcb") && (err = make_stripes(p, sc, arg)) != NULL)
        return err;
    *ctx = sc;
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

static apr_status_t socache_init(void *ctx, server_rec *s, apr_pool_t *pconf)
{
    /* shmcb sizes its index from these: a session is ~500 bytes and its
     * replay marker 16, so an average near 384 gives both index slots
     * instead of leaving data space unused behind a full index. */
    struct ap_socache_hints hints = {KEY_LEN, 384, 60};
    socache *sc = ctx;
    apr_status_t rv;
    int configured = mutex_configured(ap_conftree), i;

    if (sc->initialized)
        return APR_SUCCESS;
    sc->s = s;
    /* Even an MP-safe provider needs the mutex for the replay check: its
     * read and its write are two calls. */
    sc->mp_safe = !(sc->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE);
    for (i = 0; i < sc->nstripes; i++) {
        stripe *sp = &sc->stripes[i];
        if (configured)
            rv = ap_global_mutex_create(&sp->mutex, NULL, MUTEX_TYPE,
                                        apr_psprintf(pconf, "%pp.%d", (void *)sc, i), s, pconf, 0);
        else
            rv = apr_global_mutex_create(&sp->mutex, NULL, APR_LOCK_PROC_PTHREAD, pconf);
        if (rv != APR_SUCCESS)
            return rv;
        rv = sc->provider->init(sp->instance, apr_psprintf(pconf, "flexsaml-%d", i), &hints, s,
                                pconf);
        if (rv != APR_SUCCESS)
            return rv;
    }
    sc->initialized = 1;
    return APR_SUCCESS;
}

/* The same server list, in the same order, as mod_socache_memcache: every
 * Apache of the farm then hashes a key to the same memcached. */
static apr_status_t make_adder(socache *sc, server_rec *s, apr_pool_t *p)
{
    char *list = apr_pstrdup(p, sc->servers), *tok, *state;
    int threads = 1;
    apr_status_t rv;

    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1)
        threads = 1;
    if ((rv = apr_memcache_create(p, 8, 0, &sc->adder)) != APR_SUCCESS)
        return rv;
    for (tok = apr_strtok(list, ",", &state); tok; tok = apr_strtok(NULL, ",", &state)) {
        char *host = NULL, *scope = NULL;
        apr_port_t port = 0;
        apr_memcache_server_t *ms;
        rv = apr_parse_addr_port(&host, &scope, &port, tok, p);
        if (rv == APR_SUCCESS && !host)
            rv = APR_EINVAL;
        if (rv == APR_SUCCESS)
            rv = apr_memcache_server_create(p, host, port ? port : 11211, 0, 1,
                                            (apr_uint32_t)threads, apr_time_from_sec(60), &ms);
        if (rv == APR_SUCCESS)
            rv = apr_memcache_add_server(sc->adder, ms);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "flexsaml: FlexSAMLSessionCache memcache:%s: cannot use the server %s "
                         "for the replay check",
                         sc->servers, tok);
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* memcached's "add" stores only when the key is absent, in one step on the
 * one server the key hashes to: exact across every Apache of a farm. */
static apr_status_t memcache_once(socache *sc, const void *key, apr_size_t klen, apr_time_t expiry,
                                  apr_time_t now, apr_pool_t *p)
{
    char *k = apr_pstrcat(p, MEMCACHE_ONCE_PREFIX, apr_pstrmemdup(p, key, klen), NULL);
    apr_int64_t secs = apr_time_sec(expiry - now) + 1;
    apr_status_t rv;

    /* memcached reads more than 30 days as a date, and 0 as "never": an
     * expiry already past (a negative count would wrap to a date in 2106)
     * keeps the marker one second. Markers live minutes. */
    if (secs > 30 * 24 * 3600)
        secs = 30 * 24 * 3600;
    if (secs < 1)
        secs = 1;
    rv = apr_memcache_add(sc->adder, k, (char *)"1", 1, (apr_uint32_t)secs, 0);
    return rv;
}

static apr_status_t socache_child_init(void *ctx, server_rec *s, apr_pool_t *p, void **b)
{
    socache *sc = ctx;
    apr_status_t rv;
    int i;

    for (i = 0; i < sc->nstripes; i++) {
        apr_global_mutex_t **m = &sc->stripes[i].mutex;
        if (!*m)
            continue;
        rv = apr_global_mutex_child_init(m, apr_global_mutex_lockfile(*m), p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "flexsaml: cannot reopen the session cache mutex in a child");
            return rv;
        }
    }
    if (sc->servers && (rv = make_adder(sc, s, p)) != APR_SUCCESS)
        return rv;
    *b = sc;
    return APR_SUCCESS;
}

/* The stripe from the high nibble of the second digest byte (key[4], a
 * lower-case hex digit; MAX_STRIPES is 16): the first digest byte picks
 * shmcb's sub-cache inside the stripe, so the two choices are independent. */
static stripe *stripe_of(socache *sc, const unsigned char *key)
{
    unsigned int nibble = (unsigned int)(key[4] <= '9' ? key[4] - '0' : key[4] - 'a' + 10);
    return &sc->stripes[nibble & (unsigned int)(sc->nstripes - 1)];
}

static apr_status_t lock(socache *sc, stripe *sp)
{
    return sc->mp_safe ? APR_SUCCESS : apr_global_mutex_lock(sp->mutex);
}

static void unlock(socache *sc, stripe *sp)
{
    if (!sc->mp_safe)
        apr_global_mutex_unlock(sp->mutex);
}

static apr_status_t retrieve(socache *sc, stripe *sp, const unsigned char *key, apr_pool_t *p,
                             const char **val, apr_size_t *len)
{
    unsigned char buf[MAX_VALUE];
    unsigned int n = sizeof(buf);
    apr_status_t rv;

    rv = sc->provider->retrieve(sp->instance, sc->s, key, KEY_LEN, buf, &n, p);
    if (rv == APR_SUCCESS && val) {
        *val = apr_pstrmemdup(p, (const char *)buf, n);
        *len = n;
    }
    return rv;
}

/* The providers expire entries themselves: now is theirs to read. */
static apr_status_t socache_get(void *b, const void *key, apr_size_t klen, apr_time_t now,
                                apr_pool_t *p, const char **val, apr_size_t *len)
{
    socache *sc = b;
    stripe *sp = stripe_of(sc, key);
    apr_status_t rv;

    (void)klen;
    (void)now;
    if ((rv = lock(sc, sp)) != APR_SUCCESS)
        return rv;
    rv = retrieve(sc, sp, key, p, val, len);
    unlock(sc, sp);
    return rv;
}

static apr_status_t socache_put(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                                const void *val, apr_size_t len, apr_pool_t *p)
{
    socache *sc = b;
    stripe *sp = stripe_of(sc, key);
    apr_status_t rv;

    if (len > MAX_VALUE)
        return APR_ENOSPC;
    if ((rv = lock(sc, sp)) != APR_SUCCESS)
        return rv;
    rv = sc->provider->store(sp->instance, sc->s, key, (unsigned int)klen, expiry,
                             (unsigned char *)val, (unsigned int)len, p);
    unlock(sc, sp);
    return rv;
}

static apr_status_t socache_remove(void *b, const void *key, apr_size_t klen, apr_pool_t *p)
{
    socache *sc = b;
    stripe *sp = stripe_of(sc, key);
    apr_status_t rv;

    if ((rv = lock(sc, sp)) != APR_SUCCESS)
        return rv;
    rv = sc->provider->remove(sp->instance, sc->s, key, (unsigned int)klen, p);
    unlock(sc, sp);
    return rv;
}

static apr_status_t socache_once(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                                 apr_time_t now, apr_pool_t *p)
{
    socache *sc = b;
    stripe *sp = stripe_of(sc, key);
    char token[17];
    unsigned char raw[8];
    const char *back = NULL;
    apr_size_t n = 0;
    apr_status_t rv;
    int i;

    if (sc->adder)
        return memcache_once(sc, key, klen, expiry, now, p);
    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
        return APR_EGENERAL;
    for (i = 0; i < 8; i++)
        apr_snprintf(token + 2 * i, 3, "%02x", raw[i]);
    /* Under the mutex the check and the insert are one step for every
     * process of this server. */
    if ((rv = apr_global_mutex_lock(sp->mutex)) != APR_SUCCESS)
        return rv;
    rv = retrieve(sc, sp, key, p, &back, &n);
    if (rv == APR_SUCCESS) {
        rv = APR_EEXIST;
    } else if (rv == APR_NOTFOUND) {
        rv = sc->provider->store(sp->instance, sc->s, key, (unsigned int)klen, expiry,
                                 (unsigned char *)token, 16, p);
        /* A store shared by several servers has no atomic add in the
         * socache API: reading our own token back means no other server
         * wrote in between; if one did, the last writer wins and we refuse.
         * What is left is the window between two writes and two reads. */
        if (rv == APR_SUCCESS && sc->mp_safe) {
            rv = retrieve(sc, sp, key, p, &back, &n);
            if (rv == APR_SUCCESS && (n != 16 || memcmp(back, token, 16) != 0))
                rv = APR_EEXIST;
        }
    }
    apr_global_mutex_unlock(sp->mutex);
    return rv;
}

/* What an administrator of one host should know, said once at startup:
 * redis and memcache are sized and run by their own administrators. */
static const char *socache_caveat(void *ctx, apr_pool_t *p)
{
    socache *sc = ctx;
    (void)p;
    if (!strcmp(sc->name, "shmcb"))
        return "shmcb evicts sessions and replay markers when it fills up under load (a flood "
               "of anonymous requests can sign users out and let a captured response be "
               "replayed); use lmdb on one host";
    if (!strcmp(sc->name, "dbm"))
        return "dbm takes one lock for every request and every process; use lmdb on one host";
    if (!strcmp(sc->name, "redis"))
        return "apr-util's redis provider cannot authenticate (no AUTH) and its replay check is "
               "not atomic across servers (two Apaches can both accept one response); use "
               "redis://host:port (with FlexSAMLSessionCachePassword) instead";
    return NULL;
}

/* Under the mutex the check and the write are one step for every process
 * of this server (across a farm on memcache or apr-util's redis they are
 * not: those keep a small window). */
static apr_status_t socache_replace(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                                    const void *val, apr_size_t len, apr_time_t now, apr_pool_t *p)
{
    socache *sc = b;
    stripe *sp = stripe_of(sc, key);
    const char *old = NULL;
    apr_size_t n = 0;
    apr_status_t rv;

    (void)now;
    if (len > MAX_VALUE)
        return APR_ENOSPC;
    if ((rv = apr_global_mutex_lock(sp->mutex)) != APR_SUCCESS)
        return rv;
    rv = retrieve(sc, sp, key, p, &old, &n);
    if (rv == APR_SUCCESS)
        rv = sc->provider->store(sp->instance, sc->s, key, (unsigned int)klen, expiry,
                                 (unsigned char *)val, (unsigned int)len, p);
    apr_global_mutex_unlock(sp->mutex);
    return rv;
}

static const flexsaml_store_ops socache_ops = {
    "socache", socache_get, socache_put, socache_once, socache_remove, NULL, socache_replace};

const flexsaml_store_driver flexsaml_socache_driver = {
    &socache_ops, socache_create, socache_init, socache_child_init, NULL, socache_caveat, NULL};

void flexsaml_socache_register_mutex(apr_pool_t *pconf)
{
    /* Registered so that "Mutex <mechanism> flexsaml-cache" is accepted. */
    ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_PROC_PTHREAD, 0);
}
