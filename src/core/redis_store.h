/*
 * The Redis backend's client (redis_store.c, on hiredis): one connection per
 * thread per store, reused, reconnected with backoff; found directly
 * (redis://) or through Sentinel (redis-sentinel://). It knows nothing of
 * httpd, so the unit tests run it against a real redis-server.
 */
#ifndef FLEXSAML_REDIS_STORE_H
#define FLEXSAML_REDIS_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef struct {
    const char *host;
    int port;
} flexsaml_redis_addr;

typedef struct {
    apr_array_header_t *addrs; /* flexsaml_redis_addr: the server, or the sentinels */
    const char *master;        /* Sentinel's master name; NULL for redis:// */
    const char *user;          /* ACL user; NULL: AUTH <password> */
    const char *password;      /* NULL: no AUTH */
    int db;
    apr_interval_time_t connect_timeout;
    apr_interval_time_t io_timeout;
    int client_cache; /* FlexSAMLSessionCacheLocal: keep tracked copies of reads */
    char cache_kind;  /* the kind of key copied (store_key.h's second byte); 0: every key */
} flexsaml_redis_conf;

typedef struct flexsaml_redis flexsaml_redis;

/* Parses "redis://[user@]host:port[/db]" or
 * "redis-sentinel://host:port[,host:port...]/<master>[/db]" into c (its
 * timeouts set to their defaults); NULL, or what is wrong and how to write it. */
const char *flexsaml_redis_parse(apr_pool_t *p, const char *spec, flexsaml_redis_conf *c);

/* Makes the handle; nothing is connected until the first operation. */
flexsaml_redis *flexsaml_redis_create(apr_pool_t *p, const flexsaml_redis_conf *c);

/* Connects from the calling thread and checks what startup reports once:
 * NULL when all is well, else one line saying what is wrong (AUTH refused,
 * unreachable, or a maxmemory-policy that evicts these keys) and the fix.
 * *fatal is 1 when requests cannot work (as opposed to a warning). */
const char *flexsaml_redis_probe(flexsaml_redis *rd, apr_pool_t *p, int *fatal);

/* 1 while this process keeps tracked copies of what it reads (on, and
 * granted by Redis). */
int flexsaml_redis_cache_enabled(const flexsaml_redis *rd);

/* Why the calling thread's last operation on rd failed (a static-lifetime
 * copy in thread-local storage), or NULL. */
const char *flexsaml_redis_last_error(const flexsaml_redis *rd);

/* Ops: b is a flexsaml_redis *. Keys get a "flexsaml:" prefix and every entry a TTL. */
#define FLEXSAML_REDIS_PREFIX "flexsaml:"

#endif
