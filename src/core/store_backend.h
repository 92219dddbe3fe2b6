/*
 * The store's backend interface: what every backend (lmdb in lmdb_store.c,
 * the socache providers in src/httpd/store_socache.c) offers the common
 * layer above it (src/httpd/store.c), which hashes keys and seals values.
 * Keys reach a backend hashed; values carry no expiry of their own, the
 * backend keeps it next to them.
 */
#ifndef FLEXSAML_STORE_BACKEND_H
#define FLEXSAML_STORE_BACKEND_H

#include <apr_pools.h>
#include <apr_time.h>

/* What a network backend needs besides its FlexSAMLSessionCache argument:
 * FlexSAMLSessionCachePassword's secret (already read),
 * FlexSAMLSessionCacheTimeout's (0: the backend's default) and
 * FlexSAMLSessionCacheLocal. */
typedef struct {
    const char *password;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t io_timeout;
    int local_copy; /* FlexSAMLSessionCacheLocal (redis:// and redis-sentinel://) */
} flexsaml_store_opts;

typedef struct flexsaml_store_ops {
    const char *name;
    /* APR_NOTFOUND when absent or expired at now; the value is copied into p. */
    apr_status_t (*get)(void *b, const void *key, apr_size_t klen, apr_time_t now, apr_pool_t *p,
                        const char **val, apr_size_t *len);
    /* APR_ENOSPC when there is no room (lmdb: the map is full). */
    apr_status_t (*put)(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                        const void *val, apr_size_t len, apr_pool_t *p);
    /* Insert-if-absent: APR_EEXIST when a live entry holds key. */
    apr_status_t (*once)(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                         apr_time_t now, apr_pool_t *p);
    apr_status_t (*remove)(void *b, const void *key, apr_size_t klen, apr_pool_t *p);
    /* Removes what expired before now, a bounded batch at a time, until
     * done; NULL when the backend expires entries itself. */
    apr_status_t (*sweep)(void *b, apr_time_t now, unsigned int *removed);
    /* Update-if-present: APR_NOTFOUND, and nothing written, when no live
     * entry holds key (removed in between: a logout must stay one). NULL:
     * the common layer reads, then writes. */
    apr_status_t (*replace)(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                            const void *val, apr_size_t len, apr_time_t now, apr_pool_t *p);
} flexsaml_store_ops;

/* lmdb: b is a flexsaml_lmdb * (lmdb_store.h). */
extern const flexsaml_store_ops flexsaml_lmdb_ops;
/* redis:// and redis-sentinel://: b is a flexsaml_redis * (redis_store.h). */
extern const flexsaml_store_ops flexsaml_redis_ops;

#endif
