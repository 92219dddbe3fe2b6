/*
 * Redis client-side caching for the Redis backend (redis_store.c): each
 * child keeps a copy of what it read, and Redis itself says when a copy goes
 * stale. The child's one subscriber connection listens on
 * __redis__:invalidate; every worker connection that reads runs
 * CLIENT TRACKING ON REDIRECT <subscriber>, so any write, delete, expiry or
 * flush of a key this child read, from any server of the farm, sends that
 * key's name to the subscriber.
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

/* A reservation: the slot a miss may fill once its read is answered. */
typedef struct {
    unsigned int slot;
    apr_uint64_t ticket;
    unsigned int gen;
} flexsaml_rcc_ticket;

typedef enum {
    FLEXSAML_RCC_HIT,     /* *val is a copy in p */
    FLEXSAML_RCC_MISS,    /* read from Redis, then flexsaml_rcc_fill() with the ticket */
    FLEXSAML_RCC_OFF,     /* no subscriber now: read from Redis, nothing to fill */
    FLEXSAML_RCC_CONNECT, /* as OFF, and it is time to try flexsaml_rcc_attach() again */
} flexsaml_rcc_result;

/* slots copies of at most max_value bytes each, allocated from p now. */
flexsaml_rcc *flexsaml_rcc_create(apr_pool_t *p, unsigned int slots, apr_size_t max_value);

/* Gives the cache a connection (logged in, on the server the worker
 * connections use, at addr) to subscribe with; it is the cache's from then
 * on, also when this fails. NULL, or why Redis refused (err says the
 * command); *refused is 1 when Redis answered with an error, which no retry
 * will change. */
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

/* What a worker connection must redirect its tracking to for a ticket's
 * generation: 1 and *id when addr (the worker connection's server) is the
 * subscriber's and the generation still current; 0 otherwise (the ticket
 * cannot be filled; a different server drops the subscriber, so the next
 * attach follows the worker connections to the current master). */
int flexsaml_rcc_redirect(flexsaml_rcc *c, const flexsaml_rcc_ticket *t, const char *addr,
                          long long *id);

/* The answer to a MISS, read on the worker connection numbered conn: val
 * NULL (absent) frees the slot; otherwise the copy lives until expiry, until
 * Redis invalidates it, or until that connection closes. */
void flexsaml_rcc_fill(flexsaml_rcc *c, const flexsaml_rcc_ticket *t, const void *val,
                       apr_size_t len, apr_time_t expiry, apr_uint32_t conn);

/* A worker connection closed: Redis no longer reports changes to what it
 * read, so the copies it filled go. */
void flexsaml_rcc_forget_conn(flexsaml_rcc *c, apr_uint32_t conn);

/* This process wrote or removed key: its copy goes now (Redis's own
 * message would come a moment later). */
void flexsaml_rcc_forget(flexsaml_rcc *c, const void *key, apr_size_t klen);

#endif
