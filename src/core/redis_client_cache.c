/*
 * The child's copy of Redis reads (redis_client_cache.h says when it is
 * served). One mutex guards it: the subscriber socket is read under it, so a
 * lookup never answers before the invalidations that reached this host.
 *
 * A slot is direct-mapped by the key's hash; a collision simply replaces the
 * older copy. Each slot counts what touched it (an invalidation or a local
 * write of any key that maps to it); a miss notes the count before its read
 * goes out, and the answer fills the slot only if the count, and the
 * cache's generation (a lost subscriber, a flush), are still the same: a
 * value Redis changed while the read was in flight is never kept. A miss
 * changes nothing in the slot, so reads of keys that do not exist (an
 * anonymous client's made-up cookies) evict no copy.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "redis_client_cache.h"

#define KEY_MAX 96
#define BACKOFF_FIRST apr_time_from_msec(100)
#define BACKOFF_MAX apr_time_from_sec(1)
#define CHANNEL "__redis__:invalidate"

typedef struct {
    int full;
    apr_size_t klen;
    unsigned char key[KEY_MAX];
    apr_uint64_t seq; /* invalidations and local writes that reached this slot */
    apr_time_t expiry;
    apr_size_t len;
    char *val;
} slot;

struct flexsaml_rcc {
    apr_thread_mutex_t *lock;
    slot *slots;
    unsigned int nslots;
    apr_size_t max_value;
    const char *const *prefixes;
    int nprefixes;
    int disabled;
    /* The subscriber: while sub is NULL nothing is served. gen changes each
     * time one is lost or Redis flushes, so misses in flight from before
     * are recognized as such. */
    redisContext *sub;
    char addr[160];
    unsigned int gen;
    /* fresh: when the last PING Redis answered was sent. Redis answers in
     * order on one connection, so every invalidation it sent before that
     * moment has been read: the copies are true as of fresh (not as of when
     * the answer was read, which may be much later after an idle spell). */
    apr_time_t fresh, ping_sent;
    int ping_out;
    apr_time_t retry_at;
    apr_interval_time_t backoff;
};

static apr_status_t close_sub(void *data)
{
    flexsaml_rcc *c = data;
    if (c->sub)
        redisFree(c->sub);
    c->sub = NULL;
    return APR_SUCCESS;
}

flexsaml_rcc *flexsaml_rcc_create(apr_pool_t *p, unsigned int slots, apr_size_t max_value,
                                  const char *const *prefixes, int nprefixes)
{
    flexsaml_rcc *c = apr_pcalloc(p, sizeof(*c));
    unsigned int i;

    if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    c->nslots = slots;
    c->max_value = max_value;
    c->prefixes = prefixes;
    c->nprefixes = nprefixes;
    c->slots = apr_pcalloc(p, sizeof(slot) * slots);
    for (i = 0; i < slots; i++)
        c->slots[i].val = apr_palloc(p, max_value);
    c->gen = 1;
    apr_pool_cleanup_register(p, c, close_sub, apr_pool_cleanup_null);
    return c;
}

static unsigned int slot_of(const flexsaml_rcc *c, const void *key, apr_size_t klen)
{
    const unsigned char *k = key;
    apr_uint32_t h = 2166136261u;
    apr_size_t i;
    for (i = 0; i < klen; i++)
        h = (h ^ k[i]) * 16777619u;
    return h % c->nslots;
}

static int holds(const slot *s, const void *key, apr_size_t klen)
{
    return s->full && s->klen == klen && !memcmp(s->key, key, klen);
}

/* Everything goes; the new generation voids every miss in flight. */
static void empty_all(flexsaml_rcc *c)
{
    unsigned int i;
    for (i = 0; i < c->nslots; i++)
        c->slots[i].full = 0;
    c->gen++;
}

/* The subscriber is gone (or no longer trusted): nothing it vouched for is. */
static void lose(flexsaml_rcc *c, apr_time_t now)
{
    if (c->sub)
        redisFree(c->sub);
    c->sub = NULL;
    c->ping_out = 0;
    empty_all(c);
    c->retry_at = now; /* a new one may be made at once; failures back off */
}

static void forget_locked(flexsaml_rcc *c, const void *key, apr_size_t klen)
{
    slot *s = &c->slots[slot_of(c, key, klen)];
    s->seq++;
    if (holds(s, key, klen))
        s->full = 0;
}

/* One message of the subscriber: an invalidation (keys, or nil for a
 * flush), a PING's answer, or the subscription's confirmation. */
static void apply(flexsaml_rcc *c, const redisReply *r)
{
    const redisReply *kind, *payload;
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    kind = r->element[0];
    if (!strcasecmp(kind->str, "pong")) {
        if (c->ping_out)
            c->fresh = c->ping_sent;
        c->ping_out = 0;
        return;
    }
    if (strcmp(kind->str, "message") || r->elements != 3)
        return;
    payload = r->element[2];
    if (payload->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < payload->elements; i++)
            if (payload->element[i]->type == REDIS_REPLY_STRING)
                forget_locked(c, payload->element[i]->str, payload->element[i]->len);
    } else if (payload->type == REDIS_REPLY_STRING) {
        forget_locked(c, payload->str, payload->len);
    } else {
        empty_all(c); /* nil: FLUSHDB or FLUSHALL */
    }
}

/* Reads what the subscriber has received, without waiting, and keeps it
 * alive with a PING a second. */
static void drain(flexsaml_rcc *c, apr_time_t now)
{
    char buf[8192];
    void *reply;

    if (!c->sub)
        return;
    for (;;) {
        ssize_t n = recv(c->sub->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            if (redisReaderFeed(c->sub->reader, buf, (size_t)n) != REDIS_OK) {
                lose(c, now);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        lose(c, now); /* closed, or failed */
        return;
    }
    for (;;) {
        reply = NULL;
        if (redisReaderGetReply(c->sub->reader, &reply) != REDIS_OK) {
            lose(c, now);
            return;
        }
        if (!reply)
            break;
        apply(c, reply);
        freeReplyObject(reply);
    }
    if (c->ping_out && now - c->ping_sent > FLEXSAML_RCC_LIVE) {
        lose(c, now);
        return;
    }
    if (!c->ping_out && now - c->fresh >= FLEXSAML_RCC_PING_EVERY) {
        static const char ping[] = "*1\r\n$4\r\nPING\r\n";
        if (send(c->sub->fd, ping, sizeof(ping) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) !=
            (ssize_t)(sizeof(ping) - 1)) {
            lose(c, now);
            return;
        }
        c->ping_out = 1;
        c->ping_sent = now;
    }
}

static int live(const flexsaml_rcc *c, apr_time_t now)
{
    return c->sub && now - c->fresh < FLEXSAML_RCC_LIVE;
}

/* CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX <p1> PREFIX <p2> ... */
static redisReply *track(const flexsaml_rcc *c, redisContext *ctx, long long id, apr_pool_t *p)
{
    int argc = 0, i;
    const char **argv = apr_palloc(p, sizeof(char *) * (size_t)(6 + 2 * c->nprefixes));
    size_t *lens = apr_palloc(p, sizeof(size_t) * (size_t)(6 + 2 * c->nprefixes));

    argv[argc++] = "CLIENT";
    argv[argc++] = "TRACKING";
    argv[argc++] = "ON";
    argv[argc++] = "REDIRECT";
    argv[argc++] = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)id);
    argv[argc++] = "BCAST";
    for (i = 0; i < c->nprefixes; i++) {
        argv[argc++] = "PREFIX";
        argv[argc++] = c->prefixes[i];
    }
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return redisCommandArgv(ctx, argc, argv, lens);
}

/* Under the lock: the next attach waits a little longer. */
static void back_off(flexsaml_rcc *c)
{
    c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_FIRST;
    if (c->backoff > BACKOFF_MAX)
        c->backoff = BACKOFF_MAX;
    c->retry_at = apr_time_now() + c->backoff;
}

const char *flexsaml_rcc_attach(flexsaml_rcc *c, redisContext *ctx, const char *addr, apr_pool_t *p,
                                int *refused)
{
    redisReply *r;
    long long id = 0;
    const char *err = NULL;
    apr_time_t now = apr_time_now();

    *refused = 0;
    r = redisCommand(ctx, "CLIENT ID");
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        *refused = r && r->type == REDIS_REPLY_ERROR;
        err = apr_psprintf(p, "CLIENT ID: %s", r ? (r->str ? r->str : "?") : ctx->errstr);
        goto out;
    }
    id = r->integer;
    freeReplyObject(r);
    r = track(c, ctx, id, p);
    if (!r || r->type != REDIS_REPLY_STATUS) {
        *refused = r && r->type == REDIS_REPLY_ERROR;
        err = apr_psprintf(p, "CLIENT TRACKING: %s", r ? (r->str ? r->str : "?") : ctx->errstr);
        goto out;
    }
    freeReplyObject(r);
    r = redisCommand(ctx, "SUBSCRIBE " CHANNEL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        *refused = r && r->type == REDIS_REPLY_ERROR;
        err =
            apr_psprintf(p, "SUBSCRIBE " CHANNEL ": %s", r ? (r->str ? r->str : "?") : ctx->errstr);
        goto out;
    }
out:
    if (r)
        freeReplyObject(r);
    apr_thread_mutex_lock(c->lock);
    if (err || c->sub || c->disabled) {
        /* Failed, or another thread attached one first. */
        redisFree(ctx);
        if (err)
            back_off(c);
    } else {
        c->sub = ctx;
        apr_cpystrn(c->addr, addr, sizeof(c->addr));
        c->fresh = now; /* SUBSCRIBE was answered just now */
        c->ping_out = 0;
        c->backoff = 0;
    }
    apr_thread_mutex_unlock(c->lock);
    return err;
}

void flexsaml_rcc_attach_failed(flexsaml_rcc *c)
{
    apr_thread_mutex_lock(c->lock);
    back_off(c);
    apr_thread_mutex_unlock(c->lock);
}

int flexsaml_rcc_enabled(flexsaml_rcc *c)
{
    int on;
    apr_thread_mutex_lock(c->lock);
    on = !c->disabled;
    apr_thread_mutex_unlock(c->lock);
    return on;
}

void flexsaml_rcc_disable(flexsaml_rcc *c)
{
    apr_thread_mutex_lock(c->lock);
    c->disabled = 1;
    if (c->sub)
        lose(c, apr_time_now());
    apr_thread_mutex_unlock(c->lock);
}

flexsaml_rcc_result flexsaml_rcc_lookup(flexsaml_rcc *c, const void *key, apr_size_t klen,
                                        apr_time_t now, apr_pool_t *p, const char **val,
                                        apr_size_t *len, flexsaml_rcc_ticket *t)
{
    flexsaml_rcc_result res;
    slot *s;

    if (klen > KEY_MAX)
        return FLEXSAML_RCC_OFF;
    apr_thread_mutex_lock(c->lock);
    drain(c, now);
    if (c->disabled) {
        res = FLEXSAML_RCC_OFF;
    } else if (!c->sub) {
        res = now >= c->retry_at ? FLEXSAML_RCC_CONNECT : FLEXSAML_RCC_OFF;
        /* One thread connects; the others go on to Redis meanwhile. */
        if (res == FLEXSAML_RCC_CONNECT)
            c->retry_at = now + BACKOFF_MAX;
    } else if (!live(c, now)) {
        res = FLEXSAML_RCC_OFF; /* until the PING is answered */
    } else {
        s = &c->slots[slot_of(c, key, klen)];
        if (holds(s, key, klen) && s->expiry > now) {
            *val = apr_pmemdup(p, s->val, s->len);
            *len = s->len;
            res = FLEXSAML_RCC_HIT;
        } else {
            t->key = key;
            t->klen = klen;
            t->slot = (unsigned int)(s - c->slots);
            t->seq = s->seq;
            t->gen = c->gen;
            res = FLEXSAML_RCC_MISS;
        }
    }
    apr_thread_mutex_unlock(c->lock);
    return res;
}

void flexsaml_rcc_fill(flexsaml_rcc *c, const flexsaml_rcc_ticket *t, const void *val,
                       apr_size_t len, apr_time_t expiry, const char *addr)
{
    apr_time_t now = apr_time_now();
    slot *s;

    if (!val || len > c->max_value || expiry <= now)
        return;
    apr_thread_mutex_lock(c->lock);
    drain(c, now);
    s = &c->slots[t->slot];
    if (c->sub && strcmp(c->addr, addr) != 0) {
        lose(c, now); /* the workers moved to another master */
    } else if (c->sub && c->gen == t->gen && s->seq == t->seq) {
        memcpy(s->key, t->key, t->klen);
        s->klen = t->klen;
        memcpy(s->val, val, len);
        s->len = len;
        s->expiry = expiry;
        s->full = 1;
    }
    apr_thread_mutex_unlock(c->lock);
}

void flexsaml_rcc_forget(flexsaml_rcc *c, const void *key, apr_size_t klen)
{
    if (klen > KEY_MAX)
        return;
    apr_thread_mutex_lock(c->lock);
    forget_locked(c, key, klen);
    apr_thread_mutex_unlock(c->lock);
}
