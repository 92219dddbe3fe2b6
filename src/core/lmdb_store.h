/*
 * The LMDB backend's storage (lmdb_store.c): entries with an expiry in one
 * LMDB environment, shared by every process of one host. It knows nothing of
 * httpd, so the unit tests run it as it runs in the server.
 */
#ifndef FLEXSAML_LMDB_STORE_H
#define FLEXSAML_LMDB_STORE_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct flexsaml_lmdb flexsaml_lmdb;

#define FLEXSAML_LMDB_DEFAULT_SIZE ((apr_size_t)1 << 30)
/* An entry's header: its expiry, so that get sees an expired entry as absent
 * however late the sweep is. */
#define FLEXSAML_LMDB_HEADER 8

/* Opens (creating data.mdb and lock.mdb if needed) the environment in the
 * existing directory dir; it is closed with p. Never before a fork: LMDB
 * forbids using an environment in a process other than its opener's. */
apr_status_t flexsaml_lmdb_open(apr_pool_t *p, const char *dir, apr_size_t map_size,
                                unsigned int max_readers, flexsaml_lmdb **out);
apr_size_t flexsaml_lmdb_map_size(const flexsaml_lmdb *db);
/* APR_NOTFOUND when absent or expired at now; the value is copied into p. */
apr_status_t flexsaml_lmdb_get(flexsaml_lmdb *db, const void *key, apr_size_t klen, apr_time_t now,
                               apr_pool_t *p, const char **val, apr_size_t *len);
/* APR_ENOSPC when the map is full: nothing is evicted to make room. */
apr_status_t flexsaml_lmdb_put(flexsaml_lmdb *db, const void *key, apr_size_t klen,
                               apr_time_t expiry, const void *val, apr_size_t len);
/* Inserts key unless a live entry holds it (APR_EEXIST): the check and the
 * insert are one write transaction, atomic across every process. */
/* Writes only over a live entry: APR_NOTFOUND otherwise, in one transaction. */
apr_status_t flexsaml_lmdb_replace(flexsaml_lmdb *db, const void *key, apr_size_t klen,
                                   apr_time_t expiry, const void *val, apr_size_t len,
                                   apr_time_t now);
apr_status_t flexsaml_lmdb_once(flexsaml_lmdb *db, const void *key, apr_size_t klen,
                                apr_time_t expiry, apr_time_t now);
/* APR_NOTFOUND when there was nothing to remove. */
apr_status_t flexsaml_lmdb_remove(flexsaml_lmdb *db, const void *key, apr_size_t klen);
/* Removes entries expired at now, looking at no more than batch entries in
 * one write transaction from where the previous call stopped; *done is 1 when
 * this call reached the end of the database. */
apr_status_t flexsaml_lmdb_sweep(flexsaml_lmdb *db, apr_time_t now, unsigned int batch,
                                 unsigned int *removed, int *done);
/* Takes (or renews) the sweeper's lease for owner until now + ttl: 1 when
 * owner holds it, 0 when another live owner does. */
int flexsaml_lmdb_lease(flexsaml_lmdb *db, apr_uint64_t owner, apr_time_t now, apr_time_t ttl);
/* Gives the lease back if owner holds it. */
void flexsaml_lmdb_lease_release(flexsaml_lmdb *db, apr_uint64_t owner);
/* Frees the reader slots of dead processes; returns how many. */
int flexsaml_lmdb_reader_check(flexsaml_lmdb *db);
/* Flushes committed writes to disk (commits do not: see lmdb_store.c). */
apr_status_t flexsaml_lmdb_sync(flexsaml_lmdb *db);

#endif
