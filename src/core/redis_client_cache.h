/*
 * Redis client-side caching for the Redis backend (redis_store.c): each
 * child keeps a copy of what it read, and Redis itself says when a copy goes
 * stale. The child's one subscriber connection runs CLIENT TRACKING ON
 * REDIRECT <itself> BCAST PREFIX <each prefix of the cached keys> and
 * listens on __redis__:invalidate, so every write, delete, expiry or flush
 * of a cached kind of key, from any server of the farm, sends that key's
 * name to every child. Broadcast mode keeps no state in Redis per key read: reads of
 * keys that do not exist (an anonymous client's made-up cookies) cost Redis
 * nothing to remember, where default tracking would grow its table with
 * each one.
 *
 * A copy is served only when the invalidations are known to arrive: every
 * lookup first reads whatever the subscriber received (one non-blocking
 * recv), and copies are trusted only while Redis has answered the
 * subscriber's PING within FLEXSAML_RCC_LIVE. A lost subscriber empties the
 * cache. Under a partition that keeps the socket open but silent, a copy is
 * served for at most that long.
 */
#ifndef FLEXSAML_REDIS_CLIENT_CACHE_H
#define FLEXSAML_REDIS_CLIENT_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>
#include <hiredis/hiredis.h>

#define FLEXSAML_RCC_PING_EVERY apr_time_from_sec(1)
#define FLEXSAML_RCC_LIVE apr_time_from_sec(3)

typedef struct flexsaml_rcc flexsaml_rcc;

/* What a miss saw of its slot: the answer is kept only if nothing touched
 * the slot (or the whole cache) before it came. */
typedef struct {
    const void *key; /* the lookup's own key, which must outlive the fill */
    apr_size_t klen;
    unsigned int slot;
    apr_uint64_t seq;
    unsigned int gen;
} flexsaml_rcc_ticket;

typedef enum {
    FLEXSAML_RCC_HIT,     /* *val is a copy in p */
    FLEXSAML_RCC_MISS,    /* read from Redis, then flexsaml_rcc_fill() with the ticket */
    FLEXSAML_RCC_OFF,     /* no subscriber now: read from Redis, nothing to fill */
    FLEXSAML_RCC_CONNECT, /* as OFF, and it is time to try flexsaml_rcc_attach() again */
} flexsaml_rcc_result;

/* slots copies of at most max_value bytes each, allocated from p now, of
 * keys that begin with one of the nprefixes prefixes (Redis broadcasts the
 * changes of those keys only). */
flexsaml_rcc *flexsaml_rcc_create(apr_pool_t *p, unsigned int slots, apr_size_t max_value,
                                  const char *const *prefixes, int nprefixes);

/* Gives the cache a connection (logged in, on the server the worker
 * connections use, at addr) to track and subscribe with; it is the cache's
 * from then on, also when this fails. NULL, or why Redis refused (naming
 * the command); *refused is 1 when Redis answered with an error, which no
 * retry will change. */
const char *flexsaml_rcc_attach(flexsaml_rcc *c, redisContext *ctx, const char *addr, apr_pool_t *p,
                                int *refused);

/* The attach failed to connect: try again after a growing backoff. */
void flexsaml_rcc_attach_failed(flexsaml_rcc *c);

/* Never use the cache again in this process (Redis refuses tracking). */
void flexsaml_rcc_disable(flexsaml_rcc *c);
int flexsaml_rcc_enabled(flexsaml_rcc *c);

flexsaml_rcc_result flexsaml_rcc_lookup(flexsaml_rcc *c, const void *key, apr_size_t klen,
                                        apr_time_t now, apr_pool_t *p, const char **val,
                                        apr_size_t *len, flexsaml_rcc_ticket *t);

/* The answer to a MISS, read from the server at addr: kept until expiry or
 * until Redis invalidates it. A server other than the subscriber's (the
 * worker connections followed a Sentinel failover) drops the subscriber, so
 * the next attach follows them. */
void flexsaml_rcc_fill(flexsaml_rcc *c, const flexsaml_rcc_ticket *t, const void *val,
                       apr_size_t len, apr_time_t expiry, const char *addr);

/* This process wrote or removed key: its copy goes now (Redis's own
 * message would come a moment later). */
void flexsaml_rcc_forget(flexsaml_rcc *c, const void *key, apr_size_t klen);

#endif
