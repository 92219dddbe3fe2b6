/*
 * Entries with a TTL in Redis, through hiredis. Each thread keeps its own
 * connection per store (a hiredis context is not thread-safe, and a private
 * one needs no lock to hand out); a connection that fails is dropped and made
 * again on the next operation, after a backoff that grows while the server
 * stays away, so an outage costs a request no connect timeout after the
 * first. With Sentinel, every new connection asks the sentinels for the
 * master, and a READONLY answer (a demoted master) drops the connection.
 *
 * Reads go through the child's client-side cache (redis_client_cache.c)
 * when FlexSAMLSessionCacheLocal allows it and Redis grants tracking.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <apr_strings.h>
#include <hiredis/hiredis.h>

#include "redis_client_cache.h"
#include "redis_store.h"
#include "store_backend.h"
#include "store_key.h"

#define TLS_SLOTS 4
#define DEFAULT_CONNECT_TIMEOUT apr_time_from_msec(500)
#define DEFAULT_IO_TIMEOUT apr_time_from_sec(2)
#define BACKOFF_FIRST apr_time_from_msec(100)
#define BACKOFF_MAX apr_time_from_sec(1) /* recovery within a second of the server's return */
#define PREFIX_LEN (sizeof(FLEXSAML_REDIS_PREFIX) - 1)
/* The client-side cache: at most CACHE_SLOTS copies of at most CACHE_VALUE
 * bytes each (a session is well under), so at most 1 MiB per child. */
#define CACHE_SLOTS 512
#define CACHE_VALUE 2048

struct flexsaml_redis {
    flexsaml_redis_conf c;
    flexsaml_rcc *rcc; /* NULL: FlexSAMLSessionCacheLocal off */
};

/* Thread-local: see the file comment. A slot of a store whose pool is gone
 * is freed by that pool's cleanup in the thread running it; other threads'
 * connections end with their process. */
typedef struct {
    const flexsaml_redis *rd;
    redisContext *ctx;
    apr_time_t retry_at;
    apr_interval_time_t backoff;
    apr_status_t down_rv; /* what a request gets until retry_at */
    char addr[160];       /* host:port of the connected server */
    char err[512];
} conn_slot;
static _Thread_local conn_slot tls_conns[TLS_SLOTS];

/* A thread that ends (a test's, or one an MPM retires) closes its
 * connections: the key's destructor gets the thread's own slots. The key is
 * made once per process and never changes after. */
static pthread_key_t conns_key;
static pthread_once_t conns_once = PTHREAD_ONCE_INIT;

static void close_conn(conn_slot *s)
{
    if (s->ctx)
        redisFree(s->ctx);
    s->ctx = NULL;
}

static void close_thread_conns(void *data)
{
    conn_slot *slots = data;
    int i;
    for (i = 0; i < TLS_SLOTS; i++)
        close_conn(&slots[i]);
}

static void make_conns_key(void)
{
    pthread_key_create(&conns_key, close_thread_conns);
}

static const char *parse_addr(apr_pool_t *p, const char *v, flexsaml_redis_addr *a)
{
    const char *colon = strrchr(v, ':');
    char *end;
    long port;

    if (!colon || colon == v)
        return "expected host:port";
    port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 1 || port > 65535)
        return "the port is a number from 1 to 65535";
    a->host = apr_pstrmemdup(p, v, (apr_size_t)(colon - v));
    a->port = (int)port;
    return NULL;
}

static const char *parse_db(const char *v, int *db)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (*end || end == v || n < 0 || n > 15)
        return "the database is a number from 0 to 15";
    *db = (int)n;
    return NULL;
}

const char *flexsaml_redis_parse(apr_pool_t *p, const char *spec, flexsaml_redis_conf *c)
{
    static const char direct[] = "redis://", sentinel[] = "redis-sentinel://";
    char *rest, *path, *tok, *state;
    const char *err;

    memset(c, 0, sizeof(*c));
    c->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    c->io_timeout = DEFAULT_IO_TIMEOUT;
    c->addrs = apr_array_make(p, 3, sizeof(flexsaml_redis_addr));
    if (!strncmp(spec, direct, sizeof(direct) - 1)) {
        char *at;
        rest = apr_pstrdup(p, spec + sizeof(direct) - 1);
        if ((path = strchr(rest, '/')) != NULL) {
            *path++ = '\0';
            if ((err = parse_db(path, &c->db)) != NULL)
                return apr_pstrcat(p, err, ": redis://[user@]host:port[/db]", NULL);
        }
        if ((at = strchr(rest, '@')) != NULL) {
            *at = '\0';
            if (!*rest || strchr(rest, ':'))
                return "the user goes before @ and its password in FlexSAMLSessionCachePassword, "
                       "never in the URL: redis://user@host:port";
            c->user = rest;
            rest = at + 1;
        }
        if ((err = parse_addr(p, rest, apr_array_push(c->addrs))) != NULL)
            return apr_pstrcat(p, err, ": redis://[user@]host:port[/db]", NULL);
        return NULL;
    }
    if (strncmp(spec, sentinel, sizeof(sentinel) - 1) != 0)
        return "expected redis://[user@]host:port[/db] or "
               "redis-sentinel://host:port[,host:port...]/<master>[/db]";
    rest = apr_pstrdup(p, spec + sizeof(sentinel) - 1);
    if (!(path = strchr(rest, '/')) || !path[1] || path[1] == '/')
        return "name the master after the sentinels: "
               "redis-sentinel://host:port[,host:port...]/<master>[/db]";
    *path++ = '\0';
    for (tok = apr_strtok(rest, ",", &state); tok; tok = apr_strtok(NULL, ",", &state))
        if ((err = parse_addr(p, tok, apr_array_push(c->addrs))) != NULL)
            return apr_pstrcat(p, err, ": redis-sentinel://host:port[,host:port...]/<master>[/db]",
                               NULL);
    if (!c->addrs->nelts)
        return "name at least one sentinel: redis-sentinel://host:port/<master>";
    c->master = path;
    if ((path = strchr(path, '/')) != NULL) {
        *path++ = '\0';
        if ((err = parse_db(path, &c->db)) != NULL)
            return apr_pstrcat(p, err, ": redis-sentinel://host:port/<master>[/db]", NULL);
    }
    return NULL;
}

static apr_status_t cleanup_conn(void *data)
{
    int i;
    for (i = 0; i < TLS_SLOTS; i++)
        if (tls_conns[i].rd == data) {
            if (tls_conns[i].ctx)
                redisFree(tls_conns[i].ctx);
            memset(&tls_conns[i], 0, sizeof(tls_conns[i]));
        }
    return APR_SUCCESS;
}

/* Only one kind of key is copied (sessions, read on every request); Redis
 * broadcasts changes of that kind only: its key begins with any of the 94
 * spread bytes, then the kind. */
static flexsaml_rcc *make_cache(apr_pool_t *p, char kind)
{
    static const char *const every[] = {FLEXSAML_REDIS_PREFIX};
    const char **prefixes;
    int i;

    if (!kind)
        return flexsaml_rcc_create(p, CACHE_SLOTS, CACHE_VALUE, every, 1);
    prefixes = apr_palloc(p, sizeof(char *) * FLEXSAML_KEY_SPREADS);
    for (i = 0; i < FLEXSAML_KEY_SPREADS; i++)
        prefixes[i] =
            apr_psprintf(p, "%s%c%c", FLEXSAML_REDIS_PREFIX, FLEXSAML_KEY_SPREAD_FIRST + i, kind);
    return flexsaml_rcc_create(p, CACHE_SLOTS, CACHE_VALUE, prefixes, FLEXSAML_KEY_SPREADS);
}

flexsaml_redis *flexsaml_redis_create(apr_pool_t *p, const flexsaml_redis_conf *c)
{
    flexsaml_redis *rd = apr_pcalloc(p, sizeof(*rd));
    rd->c = *c;
    if (c->client_cache)
        rd->rcc = make_cache(p, c->cache_kind);
    apr_pool_cleanup_register(p, rd, cleanup_conn, apr_pool_cleanup_null);
    return rd;
}

static conn_slot *slot_of(const flexsaml_redis *rd)
{
    int i, free_slot = -1;

    for (i = 0; i < TLS_SLOTS; i++) {
        if (tls_conns[i].rd == rd)
            return &tls_conns[i];
        if (!tls_conns[i].rd && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) { /* more stores than slots: the first one gives way */
        free_slot = 0;
        close_conn(&tls_conns[0]);
    }
    memset(&tls_conns[free_slot], 0, sizeof(conn_slot));
    tls_conns[free_slot].rd = rd;
    pthread_once(&conns_once, make_conns_key);
    pthread_setspecific(conns_key, tls_conns);
    return &tls_conns[free_slot];
}

const char *flexsaml_redis_last_error(const flexsaml_redis *rd)
{
    int i;
    for (i = 0; i < TLS_SLOTS; i++)
        if (tls_conns[i].rd == rd && tls_conns[i].err[0])
            return tls_conns[i].err;
    return NULL;
}

static struct timeval tv_of(apr_interval_time_t t)
{
    struct timeval tv;
    tv.tv_sec = (time_t)apr_time_sec(t);
    tv.tv_usec = (suseconds_t)apr_time_usec(t);
    return tv;
}

static redisContext *dial(const flexsaml_redis *rd, const char *host, int port, conn_slot *s)
{
    redisContext *ctx = redisConnectWithTimeout(host, port, tv_of(rd->c.connect_timeout));

    if (!ctx || ctx->err) {
        snprintf(s->err, sizeof(s->err), "%.120s:%d cannot be reached: %.120s", host, port,
                 ctx ? ctx->errstr : "out of memory");
        if (ctx)
            redisFree(ctx);
        return NULL;
    }
    redisSetTimeout(ctx, tv_of(rd->c.io_timeout));
    return ctx;
}

static redisReply *command(redisContext *ctx, int argc, const char **argv, const size_t *lens)
{
    return redisCommandArgv(ctx, argc, argv, lens);
}

/* Asks each sentinel in turn for the master's address. */
static apr_status_t find_master(const flexsaml_redis *rd, conn_slot *s, char *host, size_t hlen,
                                int *port)
{
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name", rd->c.master};
    size_t lens[] = {8, 23, strlen(rd->c.master)};
    int i;

    for (i = 0; i < rd->c.addrs->nelts; i++) {
        const flexsaml_redis_addr *a = &APR_ARRAY_IDX(rd->c.addrs, i, flexsaml_redis_addr);
        redisContext *ctx = dial(rd, a->host, a->port, s);
        redisReply *r;
        if (!ctx)
            continue;
        r = command(ctx, 3, argv, lens);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            snprintf(host, hlen, "%.127s", r->element[0]->str);
            *port = atoi(r->element[1]->str);
            freeReplyObject(r);
            redisFree(ctx);
            return APR_SUCCESS;
        }
        snprintf(s->err, sizeof(s->err), "sentinel %.120s:%d does not know the master \"%s\"%s%s",
                 a->host, a->port, rd->c.master, r && r->type == REDIS_REPLY_ERROR ? ": " : "",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : "");
        if (r)
            freeReplyObject(r);
        redisFree(ctx);
    }
    return APR_ECONNREFUSED;
}

/* AUTH and SELECT on a new connection. The password never reaches a message. */
static apr_status_t login(const flexsaml_redis *rd, redisContext *ctx, conn_slot *s,
                          const char *where)
{
    redisReply *r;
    char db[8];

    if (rd->c.password) {
        const char *argv[] = {"AUTH", rd->c.user, rd->c.password};
        size_t lens[] = {4, rd->c.user ? strlen(rd->c.user) : 0, strlen(rd->c.password)};
        if (!rd->c.user) {
            argv[1] = rd->c.password;
            lens[1] = lens[2];
        }
        r = command(ctx, rd->c.user ? 3 : 2, argv, lens);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(s->err, sizeof(s->err), "%.120s refuses AUTH%.120s%.120s: %.120s", where,
                     rd->c.user ? " as " : "", rd->c.user ? rd->c.user : "",
                     r ? r->str : ctx->errstr);
            if (r)
                freeReplyObject(r);
            return r ? APR_EACCES : APR_ECONNRESET;
        }
        freeReplyObject(r);
    }
    if (rd->c.db) {
        const char *argv[] = {"SELECT", db};
        size_t lens[2] = {6, 0};
        lens[1] = (size_t)snprintf(db, sizeof(db), "%d", rd->c.db);
        r = command(ctx, 2, argv, lens);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(s->err, sizeof(s->err), "%.120s refuses SELECT %d: %.120s", where, rd->c.db,
                     r ? r->str : ctx->errstr);
            if (r)
                freeReplyObject(r);
            return APR_EGENERAL;
        }
        freeReplyObject(r);
    }
    return APR_SUCCESS;
}

static void drop(conn_slot *s)
{
    close_conn(s);
}

static apr_status_t connect_slot(const flexsaml_redis *rd, conn_slot *s)
{
    char host[128], where[160];
    int port;
    apr_status_t rv;
    apr_time_t now = apr_time_now();

    if (now < s->retry_at)
        return s->down_rv;
    if (rd->c.master) {
        rv = find_master(rd, s, host, sizeof(host), &port);
    } else {
        const flexsaml_redis_addr *a = &APR_ARRAY_IDX(rd->c.addrs, 0, flexsaml_redis_addr);
        snprintf(host, sizeof(host), "%.127s", a->host);
        port = a->port;
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        snprintf(where, sizeof(where), "redis %.127s:%d", host, port);
        snprintf(s->addr, sizeof(s->addr), "%.127s:%d", host, port);
        if (!(s->ctx = dial(rd, host, port, s)))
            rv = APR_ECONNREFUSED;
        else if ((rv = login(rd, s->ctx, s, where)) != APR_SUCCESS)
            drop(s);
    }
    if (rv != APR_SUCCESS) {
        s->backoff = s->backoff ? s->backoff * 2 : BACKOFF_FIRST;
        if (s->backoff > BACKOFF_MAX)
            s->backoff = BACKOFF_MAX;
        s->retry_at = now + s->backoff;
        s->down_rv = rv;
        return rv;
    }
    s->backoff = 0;
    s->retry_at = 0;
    return APR_SUCCESS;
}

typedef struct {
    int argc;
    const char **argv;
    const size_t *lens;
} redis_cmd;

static void free_replies(redisReply **r, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (r[i])
            freeReplyObject(r[i]);
}

/* n commands in one round trip on the calling thread's connection; out gets
 * n replies. A reused connection that fails (the server restarted, a
 * demoted master) is made again and the commands sent once more: for SET NX
 * that can turn an applied write whose answer was lost into "already
 * there", a refusal, never a second login. */
static apr_status_t run_n(flexsaml_redis *rd, int n, const redis_cmd *cmds, redisReply **out)
{
    conn_slot *s = slot_of(rd);
    apr_status_t rv = APR_EGENERAL;
    int attempt, i;

    for (attempt = 0; attempt < 2; attempt++) {
        int fresh = !s->ctx, got = 0, bad = -1;
        if (fresh && (rv = connect_slot(rd, s)) != APR_SUCCESS)
            return rv;
        for (i = 0; i < n; i++)
            redisAppendCommandArgv(s->ctx, cmds[i].argc, cmds[i].argv, cmds[i].lens);
        for (got = 0; got < n; got++) {
            out[got] = NULL;
            if (redisGetReply(s->ctx, (void **)&out[got]) != REDIS_OK || !out[got])
                break;
        }
        if (got < n) {
            free_replies(out, got);
            snprintf(s->err, sizeof(s->err), "the connection to redis failed: %.120s",
                     s->ctx->errstr);
            drop(s);
            rv = APR_ECONNRESET;
            if (fresh)
                return rv;
            continue;
        }
        for (i = 0; i < n && bad < 0; i++)
            if (out[i]->type == REDIS_REPLY_ERROR)
                bad = i;
        if (bad >= 0) {
            const char *e = out[bad]->str;
            int readonly = !strncmp(e, "READONLY", 8);
            rv = !strncmp(e, "NOPERM", 6) || !strncmp(e, "NOAUTH", 6) ? APR_EACCES : APR_EGENERAL;
            snprintf(s->err, sizeof(s->err), "redis answers %.120s to %.120s", e,
                     cmds[bad].argv[0]);
            free_replies(out, n);
            /* NOAUTH, NOPERM, READONLY, LOADING: a new connection (a new
             * AUTH, the current master) is what can change the answer. */
            drop(s);
            if (readonly && !fresh)
                continue;
            return rv;
        }
        s->err[0] = '\0';
        return APR_SUCCESS;
    }
    return rv;
}

static apr_status_t run(flexsaml_redis *rd, int argc, const char **argv, const size_t *lens,
                        redisReply **out)
{
    redis_cmd cmd = {argc, argv, lens};
    return run_n(rd, 1, &cmd, out);
}

static char *prefixed(apr_pool_t *p, const void *key, apr_size_t klen)
{
    char *k = apr_palloc(p, PREFIX_LEN + klen);
    memcpy(k, FLEXSAML_REDIS_PREFIX, PREFIX_LEN);
    memcpy(k + PREFIX_LEN, key, klen);
    return k;
}

/* Milliseconds left until expiry, at least 1: every key has a TTL. */
static int ttl_ms(apr_time_t expiry, apr_time_t now, char *buf, size_t n)
{
    apr_int64_t ms = apr_time_as_msec(expiry - now);
    return snprintf(buf, n, "%" APR_INT64_T_FMT, ms < 1 ? (apr_int64_t)1 : ms);
}

/* Makes the child's subscriber (on the server a worker connection would
 * use now). Returns why Redis refused, NULL when all is well or the server
 * is away (tried again after a backoff). */
static const char *attach_subscriber(flexsaml_redis *rd, apr_pool_t *p)
{
    conn_slot tmp;
    int refused = 0;
    const char *why;

    memset(&tmp, 0, sizeof(tmp));
    tmp.rd = rd;
    if (connect_slot(rd, &tmp) != APR_SUCCESS) {
        flexsaml_rcc_attach_failed(rd->rcc);
        return NULL;
    }
    why = flexsaml_rcc_attach(rd->rcc, tmp.ctx, tmp.addr, p, &refused);
    return refused ? why : NULL;
}

/* A miss of the cache: GET and PTTL in one round trip; the answer becomes
 * the copy unless something changed the key meanwhile. */
static apr_status_t get_and_fill(flexsaml_redis *rd, const char *k, size_t klen,
                                 const flexsaml_rcc_ticket *t, apr_pool_t *p, const char **val,
                                 apr_size_t *len)
{
    const char *g[] = {"GET", k}, *ttl[] = {"PTTL", k};
    size_t lens[] = {3, klen}, tlens[] = {4, klen};
    redis_cmd cmds[] = {{2, g, lens}, {2, ttl, tlens}};
    redisReply *r[2];
    int n = 2;
    apr_status_t rv;

    if ((rv = run_n(rd, 2, cmds, r)) == APR_EACCES) {
        /* An ACL without PTTL: no copies, but the read must work. */
        flexsaml_rcc_disable(rd->rcc);
        n = 1;
        rv = run_n(rd, 1, cmds, r);
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (r[0]->type == REDIS_REPLY_STRING) {
        *val = apr_pstrmemdup(p, r[0]->str, r[0]->len);
        *len = r[0]->len;
        if (n == 2 && r[1]->type == REDIS_REPLY_INTEGER && r[1]->integer > 0)
            flexsaml_rcc_fill(rd->rcc, t, *val, *len,
                              apr_time_now() + apr_time_from_msec(r[1]->integer),
                              slot_of(rd)->addr);
    } else {
        rv = r[0]->type == REDIS_REPLY_NIL ? APR_NOTFOUND : APR_EGENERAL;
    }
    free_replies(r, n);
    return rv;
}

static apr_status_t redis_get(void *b, const void *key, apr_size_t klen, apr_time_t now,
                              apr_pool_t *p, const char **val, apr_size_t *len)
{
    flexsaml_redis *rd = b;
    const char *k = prefixed(p, key, klen);
    const char *argv[] = {"GET", k};
    size_t lens[] = {3, PREFIX_LEN + klen};
    redisReply *r = NULL;
    flexsaml_rcc_ticket t;
    apr_status_t rv;

    if (rd->rcc &&
        (!rd->c.cache_kind || (klen > 1 && ((const char *)key)[1] == rd->c.cache_kind))) {
        switch (flexsaml_rcc_lookup(rd->rcc, k, PREFIX_LEN + klen, now, p, val, len, &t)) {
        case FLEXSAML_RCC_HIT:
            return APR_SUCCESS;
        case FLEXSAML_RCC_MISS:
            return get_and_fill(rd, k, PREFIX_LEN + klen, &t, p, val, len);
        case FLEXSAML_RCC_CONNECT: {
            const char *why = attach_subscriber(rd, p);
            if (why) {
                flexsaml_rcc_disable(rd->rcc);
                snprintf(slot_of(rd)->err, sizeof(slot_of(rd)->err), "%.200s", why);
            }
            break;
        }
        case FLEXSAML_RCC_OFF:
            break;
        }
    }
    if ((rv = run(rd, 2, argv, lens, &r)) != APR_SUCCESS)
        return rv;
    if (r->type == REDIS_REPLY_STRING) {
        *val = apr_pstrmemdup(p, r->str, r->len);
        *len = r->len;
    } else {
        rv = r->type == REDIS_REPLY_NIL ? APR_NOTFOUND : APR_EGENERAL;
    }
    freeReplyObject(r);
    return rv;
}

/* After a write that can make another child's copy wrong: one more round
 * trip on the same connection, so the invalidation is out before the
 * write's answer is acted on. Redis writes a pass's broadcast invalidations
 * before its replies (measured: 0 of 3 000 reads right after a write found
 * none yet), but with io-threads a pass's writes run in parallel; a reply
 * to a later command comes after the whole pass, so once this answers,
 * every subscriber on this host has the message in its socket, and a lookup
 * there (which reads the socket first) cannot serve the old value. Done
 * whether or not this server keeps copies: the others of the farm may. */
static void settle(flexsaml_redis *rd)
{
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *r = NULL;

    if (run(rd, 1, argv, lens, &r) == APR_SUCCESS)
        freeReplyObject(r);
}

/* cond: NULL, "NX" (only if absent) or "XX" (only if present). */
static apr_status_t set(flexsaml_redis *rd, const void *key, apr_size_t klen, apr_time_t expiry,
                        apr_time_t now, const void *val, apr_size_t len, const char *cond,
                        apr_pool_t *p)
{
    char ms[24];
    const char *argv[] = {"SET", prefixed(p, key, klen), val, "PX", ms, cond};
    size_t lens[] = {3, PREFIX_LEN + klen, len, 2, 0, 2};
    redisReply *r = NULL;
    apr_status_t rv;

    lens[4] = (size_t)ttl_ms(expiry, now, ms, sizeof(ms));
    rv = run(rd, cond ? 6 : 5, argv, lens, &r);
    if (rd->rcc)
        flexsaml_rcc_forget(rd->rcc, argv[1], lens[1]);
    if (rv != APR_SUCCESS)
        return rv;
    if (!(cond && cond[0] == 'N')) /* a new key (SET NX) is in nobody's copy */
        settle(rd);
    /* A condition not met answers nil: for NX that is the replay, for XX an
     * entry removed in between. */
    rv = r->type == REDIS_REPLY_STATUS ? APR_SUCCESS
         : r->type == REDIS_REPLY_NIL  ? (cond && cond[0] == 'N' ? APR_EEXIST : APR_NOTFOUND)
                                       : APR_EGENERAL;
    freeReplyObject(r);
    return rv;
}

static apr_status_t redis_put(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                              const void *val, apr_size_t len, apr_pool_t *p)
{
    return set(b, key, klen, expiry, apr_time_now(), val, len, NULL, p);
}

static apr_status_t redis_once(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                               apr_time_t now, apr_pool_t *p)
{
    return set(b, key, klen, expiry, now, "1", 1, "NX", p);
}

static apr_status_t redis_replace(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                                  const void *val, apr_size_t len, apr_time_t now, apr_pool_t *p)
{
    return set(b, key, klen, expiry, now, val, len, "XX", p);
}

static apr_status_t redis_remove(void *b, const void *key, apr_size_t klen, apr_pool_t *p)
{
    const char *argv[] = {"DEL", prefixed(p, key, klen)};
    size_t lens[] = {3, PREFIX_LEN + klen};
    redisReply *r = NULL;
    apr_status_t rv;

    rv = run(b, 2, argv, lens, &r);
    if (((flexsaml_redis *)b)->rcc)
        flexsaml_rcc_forget(((flexsaml_redis *)b)->rcc, argv[1], lens[1]);
    if (rv != APR_SUCCESS)
        return rv;
    freeReplyObject(r);
    settle(b);
    return APR_SUCCESS;
}

const flexsaml_store_ops flexsaml_redis_ops = {"redis",      redis_get, redis_put,    redis_once,
                                               redis_remove, NULL,      redis_replace};

/* Whether this child can keep copies: subscribes now, and reads a key the
 * way a miss does. NULL, or why not (and the cache is then off). */
static const char *probe_cache(flexsaml_redis *rd, apr_pool_t *p)
{
    /* Shaped as a session key ('!' spread, kind 's'), under a broadcast prefix. */
    static const char probe_key[] = FLEXSAML_REDIS_PREFIX "!sprobe";
    const char *why, *val;
    apr_size_t len;
    flexsaml_rcc_ticket t;
    conn_slot *s = slot_of(rd);

    if (!rd->rcc)
        return NULL;
    if ((why = attach_subscriber(rd, p)) == NULL &&
        flexsaml_rcc_lookup(rd->rcc, probe_key, sizeof(probe_key) - 1, apr_time_now(), p, &val,
                            &len, &t) == FLEXSAML_RCC_MISS) {
        s->err[0] = '\0';
        get_and_fill(rd, probe_key, sizeof(probe_key) - 1, &t, p, &val, &len);
        if (flexsaml_redis_cache_enabled(rd))
            return NULL;
        why = apr_pstrdup(p, s->err);
        s->err[0] = '\0';
    }
    if (!why)
        return NULL; /* the server is away: the first requests will try again */
    flexsaml_rcc_disable(rd->rcc);
    return apr_psprintf(p,
                        "redis refuses %s, so this child keeps no copy of sessions and every "
                        "protected request asks redis; allow the module's user +client|id "
                        "+client|tracking +subscribe +ping +pttl and &__redis__:invalidate "
                        "(README), or set FlexSAMLSessionCacheLocal off",
                        why);
}

int flexsaml_redis_cache_enabled(const flexsaml_redis *rd)
{
    return rd->rcc && flexsaml_rcc_enabled(rd->rcc);
}

const char *flexsaml_redis_probe(flexsaml_redis *rd, apr_pool_t *p, int *fatal)
{
    const char *argv[] = {"CONFIG", "GET", "maxmemory-policy"};
    size_t lens[] = {6, 3, 16};
    conn_slot *s = slot_of(rd);
    redisReply *r = NULL;
    const char *said = NULL, *cache;

    *fatal = 1;
    if (run(rd, 3, argv, lens, &r) != APR_SUCCESS) {
        /* An ACL without CONFIG is fine: the policy is then the
         * administrator's to check (README). */
        if (strstr(s->err, "NOPERM") && s->ctx == NULL && connect_slot(rd, s) == APR_SUCCESS) {
            s->err[0] = '\0';
            *fatal = 0;
            return probe_cache(rd, p);
        }
        return apr_pstrdup(p, s->err[0] ? s->err : "redis cannot be reached");
    }
    *fatal = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING && strcmp(r->element[1]->str, "noeviction"))
        said = apr_psprintf(p,
                            "redis has maxmemory-policy %s: when it fills up it evicts sessions "
                            "and replay markers (signing people out, and letting a captured "
                            "response be replayed); set maxmemory-policy noeviction",
                            r->element[1]->str);
    freeReplyObject(r);
    cache = probe_cache(rd, p);
    return said && cache ? apr_pstrcat(p, said, "; and ", cache, NULL) : said ? said : cache;
}
