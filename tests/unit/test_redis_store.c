/* The Redis client (redis_store.c): the URL grammar, and the data operations
 * against a real redis-server started on a free 127.0.0.1 port (skipped,
 * saying so, when redis-server is not installed). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "apr_fixture.h"
#include "redis_store.h"
#include "store_backend.h"

extern char **environ;

static void test_parse_direct(void **state)
{
    flexsaml_redis_conf c;
    const flexsaml_redis_addr *a;
    (void)state;
    assert_null(flexsaml_redis_parse(pool, "redis://cache.internal:6380/2", &c));
    a = &APR_ARRAY_IDX(c.addrs, 0, flexsaml_redis_addr);
    assert_string_equal(a->host, "cache.internal");
    assert_int_equal(a->port, 6380);
    assert_int_equal(c.db, 2);
    assert_null(c.user);
    assert_null(c.master);
    assert_null(flexsaml_redis_parse(pool, "redis://flexsaml@10.0.0.5:6379", &c));
    assert_string_equal(c.user, "flexsaml");
    assert_int_equal(c.db, 0);
    assert_true(c.connect_timeout > 0 && c.io_timeout > 0);
}

static void test_parse_sentinel(void **state)
{
    flexsaml_redis_conf c;
    (void)state;
    assert_null(
        flexsaml_redis_parse(pool, "redis-sentinel://s1:26379,s2:26379,s3:26380/main/1", &c));
    assert_int_equal(c.addrs->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(c.addrs, 2, flexsaml_redis_addr).host, "s3");
    assert_int_equal(APR_ARRAY_IDX(c.addrs, 2, flexsaml_redis_addr).port, 26380);
    assert_string_equal(c.master, "main");
    assert_int_equal(c.db, 1);
}

static void test_parse_refuses(void **state)
{
    static const char *const bad[] = {
        "redis://host",         "redis://host:0",           "redis://host:70000",
        "redis://host:6379/16", "redis://u:pw@host:6379",   "redis://@host:6379",
        "redis-sentinel://s:1", "redis-sentinel://s:1/",    "redis-sentinel:///m",
        "rediss://host:6379",   "redis-sentinel://s:1/m/x",
    };
    flexsaml_redis_conf c;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = flexsaml_redis_parse(pool, bad[i], &c);
        if (!err)
            fail_msg("accepted %s", bad[i]);
    }
}

/* ---- against a real server ---- */

static pid_t server_pid;
static int server_port;

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* As a child makes it: with the client-side cache (FlexSAMLSessionCacheLocal
 * on, the default), so every data test also runs through it. */
static flexsaml_redis *handle_as(const char *user, const char *password, int cache)
{
    flexsaml_redis_conf c;
    char spec[96];
    snprintf(spec, sizeof(spec), "redis://%s%s127.0.0.1:%d", user ? user : "", user ? "@" : "",
             server_port);
    assert_null(flexsaml_redis_parse(pool, spec, &c));
    c.password = password;
    c.client_cache = cache;
    c.io_timeout = apr_time_from_msec(300);
    return flexsaml_redis_create(pool, &c);
}

static flexsaml_redis *handle(void)
{
    return handle_as(NULL, NULL, 1);
}

static int start_server(void **state)
{
    char port[16];
    char *argv[] = {"redis-server", "--port", port,           "--bind", "127.0.0.1",
                    "--save",       "",       "--appendonly", "no",     NULL};
    int i;

    (void)state;
    server_port = free_port();
    snprintf(port, sizeof(port), "%d", server_port);
    if (posix_spawnp(&server_pid, "redis-server", NULL, NULL, argv, environ) != 0)
        server_pid = 0;
    for (i = 0; server_pid && i < 100; i++) {
        int fatal;
        /* Up as soon as it answers: a warning (a copy refused, say) must
         * fail the tests that need the copy, not skip them all. */
        if (!flexsaml_redis_probe(handle(), pool, &fatal) || !fatal)
            return 0;
        usleep(50000);
    }
    server_pid = 0;
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    if (server_pid) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
    }
    return 0;
}

#define NEED_SERVER()                                                                              \
    do {                                                                                           \
        if (!server_pid)                                                                           \
            skip(); /* redis-server is not installed (scripts/install-deps) */                     \
    } while (0)

static void test_put_get_remove(void **state)
{
    flexsaml_redis *rd;
    const char *v;
    apr_size_t n;
    apr_time_t now = apr_time_now();
    (void)state;
    NEED_SERVER();
    rd = handle();
    assert_int_equal(
        flexsaml_redis_ops.put(rd, "k1", 2, now + apr_time_from_sec(60), "v\0x", 3, pool),
        APR_SUCCESS);
    assert_int_equal(flexsaml_redis_ops.get(rd, "k1", 2, now, pool, &v, &n), APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "v\0x", 3);
    assert_int_equal(flexsaml_redis_ops.remove(rd, "k1", 2, pool), APR_SUCCESS);
    assert_int_equal(flexsaml_redis_ops.get(rd, "k1", 2, now, pool, &v, &n), APR_NOTFOUND);
}

/* SET XX: only over a key that is there. */
static void test_replace_only_over_a_live_entry(void **state)
{
    flexsaml_redis *rd;
    const char *v;
    apr_size_t n;
    apr_time_t now = apr_time_now();
    (void)state;
    NEED_SERVER();
    rd = handle();
    assert_int_equal(
        flexsaml_redis_ops.replace(rd, "rx", 2, now + apr_time_from_sec(60), "n", 1, now, pool),
        APR_NOTFOUND);
    assert_int_equal(flexsaml_redis_ops.get(rd, "rx", 2, now, pool, &v, &n), APR_NOTFOUND);
    assert_int_equal(flexsaml_redis_ops.put(rd, "rx", 2, now + apr_time_from_sec(60), "o", 1, pool),
                     APR_SUCCESS);
    assert_int_equal(
        flexsaml_redis_ops.replace(rd, "rx", 2, now + apr_time_from_sec(60), "n", 1, now, pool),
        APR_SUCCESS);
    assert_int_equal(flexsaml_redis_ops.get(rd, "rx", 2, now, pool, &v, &n), APR_SUCCESS);
    assert_memory_equal(v, "n", 1);
    assert_int_equal(flexsaml_redis_ops.remove(rd, "rx", 2, pool), APR_SUCCESS);
}

static void test_entries_expire(void **state)
{
    flexsaml_redis *rd;
    const char *v;
    apr_size_t n;
    apr_time_t now = apr_time_now();
    (void)state;
    NEED_SERVER();
    rd = handle();
    assert_int_equal(
        flexsaml_redis_ops.put(rd, "k2", 2, now + apr_time_from_msec(50), "v", 1, pool),
        APR_SUCCESS);
    assert_int_equal(flexsaml_redis_ops.once(rd, "k3", 2, now + apr_time_from_msec(50), now, pool),
                     APR_SUCCESS);
    usleep(150000);
    assert_int_equal(flexsaml_redis_ops.get(rd, "k2", 2, now, pool, &v, &n), APR_NOTFOUND);
    assert_int_equal(flexsaml_redis_ops.once(rd, "k3", 2, now + apr_time_from_sec(5), now, pool),
                     APR_SUCCESS);
}

/* Two handles stand for two servers of a farm; threads for their workers. */
static flexsaml_redis *farm[2];
static volatile int wins;
static pthread_mutex_t wins_lock = PTHREAD_MUTEX_INITIALIZER;

static void *race(void *arg)
{
    apr_pool_t *p;
    apr_time_t now = apr_time_now();
    apr_pool_create(&p, NULL);
    if (flexsaml_redis_ops.once(farm[(intptr_t)arg % 2], "race", 4, now + apr_time_from_sec(60),
                                now, p) == APR_SUCCESS) {
        pthread_mutex_lock(&wins_lock);
        wins++;
        pthread_mutex_unlock(&wins_lock);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_once_is_atomic_across_handles_and_threads(void **state)
{
    pthread_t t[32];
    intptr_t i;
    (void)state;
    NEED_SERVER();
    farm[0] = handle();
    farm[1] = handle();
    for (i = 0; i < 32; i++)
        pthread_create(&t[i], NULL, race, (void *)i);
    for (i = 0; i < 32; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(wins, 1);
    assert_int_equal(flexsaml_redis_ops.once(farm[0], "race", 4,
                                             apr_time_now() + apr_time_from_sec(60), apr_time_now(),
                                             pool),
                     APR_EEXIST);
}

/* Nothing listens: the first operation fails with the reason, and the ones
 * right after it fail at once (the backoff) instead of each waiting on a
 * connect. */
static void test_unreachable_fails_fast_with_a_reason(void **state)
{
    flexsaml_redis_conf c;
    flexsaml_redis *rd;
    char spec[64];
    const char *v;
    apr_size_t n;
    apr_time_t t0;
    int i;
    (void)state;
    snprintf(spec, sizeof(spec), "redis://127.0.0.1:%d", free_port());
    assert_null(flexsaml_redis_parse(pool, spec, &c));
    rd = flexsaml_redis_create(pool, &c);
    assert_int_not_equal(flexsaml_redis_ops.get(rd, "k", 1, 0, pool, &v, &n), APR_SUCCESS);
    assert_non_null(strstr(flexsaml_redis_last_error(rd), "cannot be reached"));
    t0 = apr_time_now();
    for (i = 0; i < 100; i++)
        assert_int_not_equal(flexsaml_redis_ops.get(rd, "k", 1, 0, pool, &v, &n), APR_SUCCESS);
    assert_true(apr_time_now() - t0 < apr_time_from_msec(50));
}

/* ---- the client-side cache (redis_client_cache.c) ---- */

/* A plain client, for what another program does to the server. */
static redisContext *admin(void)
{
    redisContext *c = redisConnect("127.0.0.1", server_port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

static long long counter(redisContext *c, const char *name)
{
    redisReply *r = redisCommand(c, "INFO commandstats");
    const char *at;
    char field[64];
    long long n = 0;
    assert_non_null(r);
    snprintf(field, sizeof(field), "cmdstat_%s:calls=", name);
    if ((at = strstr(r->str, field)) != NULL)
        n = atoll(at + strlen(field));
    freeReplyObject(r);
    return n;
}

static void command(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", cmd, r->str);
    freeReplyObject(r);
}

static void expect(flexsaml_redis *rd, const char *key, const char *want)
{
    const char *v;
    apr_size_t n;
    apr_status_t rv = flexsaml_redis_ops.get(rd, key, strlen(key), apr_time_now(), pool, &v, &n);
    if (!want) {
        assert_int_equal(rv, APR_NOTFOUND);
        return;
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
}

static void put(flexsaml_redis *rd, const char *key, const char *val, int ms)
{
    assert_int_equal(flexsaml_redis_ops.put(rd, key, strlen(key),
                                            apr_time_now() + apr_time_from_msec(ms), val,
                                            strlen(val), pool),
                     APR_SUCCESS);
}

/* A handle holding a copy of key: written, then read twice (the first read
 * makes the subscriber, the second fills the copy). */
static flexsaml_redis *copied(const char *key, const char *val)
{
    flexsaml_redis *rd = handle();
    put(rd, key, val, 60000);
    expect(rd, key, val);
    expect(rd, key, val);
    return rd;
}

/* After the first reads, a busy key costs Redis nothing; without the cache
 * every read is a GET. */
static void test_reads_are_served_from_the_copy(void **state)
{
    redisContext *a;
    flexsaml_redis *rd, *plain;
    long long before;
    int i;
    (void)state;
    NEED_SERVER();
    a = admin();
    rd = handle();
    plain = handle_as(NULL, NULL, 0);
    put(rd, "busy", "v1", 60000);
    before = counter(a, "get");
    for (i = 0; i < 100; i++)
        expect(rd, "busy", "v1");
    assert_true(flexsaml_redis_cache_enabled(rd));
    assert_in_range(counter(a, "get") - before, 1, 2); /* the subscriber, then one miss */
    before = counter(a, "get");
    for (i = 0; i < 100; i++)
        expect(plain, "busy", "v1");
    assert_int_equal(counter(a, "get") - before, 100);
    assert_false(flexsaml_redis_cache_enabled(plain));
    redisFree(a);
}

/* Two handles are two servers of a farm: what one writes or removes, and
 * what another program does, the other sees on its next read, with no wait. */
static void test_a_change_anywhere_is_seen_at_once(void **state)
{
    redisContext *a;
    flexsaml_redis *x, *y;
    int i;
    (void)state;
    NEED_SERVER();
    a = admin();
    x = handle();
    y = handle();
    put(x, "shared", "v1", 60000);
    for (i = 0; i < 3; i++) {
        expect(x, "shared", "v1");
        expect(y, "shared", "v1");
    }
    put(y, "shared", "v2", 60000);
    expect(x, "shared", "v2");
    assert_int_equal(flexsaml_redis_ops.remove(y, "shared", 6, pool), APR_SUCCESS);
    expect(x, "shared", NULL); /* a logout on one server ends the session on all */
    put(x, "shared", "v3", 60000);
    expect(x, "shared", "v3");
    expect(x, "shared", "v3");
    command(a, "SET flexsaml:shared v4 PX 60000");
    command(a, "PING"); /* as settle() does */
    expect(x, "shared", "v4");
    expect(x, "shared", "v4");
    command(a, "FLUSHDB");
    command(a, "PING");
    expect(x, "shared", NULL);
    redisFree(a);
}

/* A copy lives no longer than the key's TTL, invalidation or not. */
static void test_a_copy_expires_with_its_key(void **state)
{
    flexsaml_redis *rd;
    (void)state;
    NEED_SERVER();
    rd = handle();
    put(rd, "short", "v", 300);
    expect(rd, "short", "v");
    expect(rd, "short", "v");
    expect(rd, "short", "v");
    usleep(400000);
    expect(rd, "short", NULL);
}

/* The subscriber killed: the copies go with it, the next reads ask Redis,
 * and copies come back once a new subscriber is in place. */
static void test_a_lost_subscriber_empties_the_copy(void **state)
{
    redisContext *a;
    flexsaml_redis *rd;
    long long before;
    int i;
    (void)state;
    NEED_SERVER();
    a = admin();
    rd = copied("lost", "v1");
    command(a, "CLIENT KILL TYPE pubsub");
    command(a, "SET flexsaml:lost v2 PX 60000"); /* nobody hears this invalidation */
    expect(rd, "lost", "v2");
    usleep(150000); /* past the reconnect backoff */
    for (i = 0; i < 5; i++)
        expect(rd, "lost", "v2");
    before = counter(a, "get");
    for (i = 0; i < 50; i++)
        expect(rd, "lost", "v2");
    assert_int_equal(counter(a, "get") - before, 0);
    command(a, "SET flexsaml:lost v3 PX 60000");
    command(a, "PING");
    expect(rd, "lost", "v3");
    redisFree(a);
}

/* A server that stops answering (a partition that keeps the socket open)
 * sends no invalidations: copies are served only while the subscriber's
 * PING is answered, then reads fail as they would without the cache. */
static void test_a_silent_server_stops_the_copies(void **state)
{
    flexsaml_redis *rd;
    const char *v;
    apr_size_t n;
    apr_time_t until;
    apr_status_t rv = APR_SUCCESS;
    (void)state;
    NEED_SERVER();
    rd = copied("silent", "v");
    kill(server_pid, SIGSTOP);
    until = apr_time_now() + apr_time_from_sec(6);
    while (apr_time_now() < until && (rv = flexsaml_redis_ops.get(rd, "silent", 6, apr_time_now(),
                                                                  pool, &v, &n)) == APR_SUCCESS)
        usleep(100000);
    kill(server_pid, SIGCONT);
    assert_int_not_equal(rv, APR_SUCCESS);
    /* No later than the liveness window plus one I/O timeout. */
    assert_true(until - apr_time_now() > apr_time_from_msec(1500));
    usleep(200000);
    expect(rd, "silent", "v");
}

/* A Redis user without the tracking commands: the probe says what to grant,
 * nothing fails, and every read goes to Redis. The README's ACL line grants
 * them. */
static void test_an_acl_without_tracking_turns_the_copy_off(void **state)
{
    redisContext *a;
    flexsaml_redis *rd;
    const char *said;
    int fatal;
    (void)state;
    NEED_SERVER();
    a = admin();
    command(a, "ACL SETUSER narrow on >narrow-pw resetkeys ~flexsaml:* resetchannels -@all +get "
               "+set +del +select");
    command(a, "ACL SETUSER full on >full-pw resetkeys ~flexsaml:* resetchannels -@all +get +set "
               "+del +select +pttl +ping +subscribe +client|id +client|tracking "
               "&__redis__:invalidate");
    rd = handle_as("narrow", "narrow-pw", 1);
    said = flexsaml_redis_probe(rd, pool, &fatal);
    assert_non_null(said);
    assert_int_equal(fatal, 0);
    assert_non_null(strstr(said, "FlexSAMLSessionCacheLocal off"));
    assert_non_null(strstr(said, "+client|tracking"));
    assert_false(flexsaml_redis_cache_enabled(rd));
    put(rd, "narrow", "v", 60000);
    expect(rd, "narrow", "v");
    expect(rd, "narrow", "v");
    rd = handle_as("full", "full-pw", 1);
    assert_null(flexsaml_redis_probe(rd, pool, &fatal));
    assert_true(flexsaml_redis_cache_enabled(rd));
    expect(rd, "narrow", "v");
    expect(rd, "narrow", "v");
    command(a, "ACL DELUSER narrow full");
    redisFree(a);
}

/* A worker connection that closes (here: a thread using more stores than it
 * keeps connections for) changes nothing: the subscriber hears of every
 * change whichever connection read the key. */
static void *evicting_thread(void *arg)
{
    flexsaml_redis *x = handle(), *other[4];
    const char *v;
    apr_size_t n;
    int i;
    (void)arg;
    put(x, "evicted", "v1", 60000);
    expect(x, "evicted", "v1");
    expect(x, "evicted", "v1");
    expect(x, "evicted", "v1"); /* a copy, read on x's connection */
    for (i = 0; i < 4; i++) {
        other[i] = handle();
        expect(other[i], "evicted", "v1"); /* the fourth takes x's connection */
    }
    put(other[3], "evicted", "v2", 60000);
    /* cmocka's assertions belong to the main thread: the verdict goes back. */
    return (void *)(intptr_t)(flexsaml_redis_ops.get(x, "evicted", 7, apr_time_now(), pool, &v,
                                                     &n) == APR_SUCCESS &&
                              n == 2 && !memcmp(v, "v2", 2));
}

static void test_a_closed_worker_connection_changes_nothing(void **state)
{
    pthread_t t;
    void *fresh;
    (void)state;
    NEED_SERVER();
    pthread_create(&t, NULL, evicting_thread, NULL);
    pthread_join(t, &fresh);
    assert_int_equal((intptr_t)fresh, 1);
}

/* Many rounds of: one server writes, the other reads at once; the writer
 * keeps no copies of its own. */
static void test_a_read_right_after_a_write_elsewhere_is_fresh(void **state)
{
    flexsaml_redis *x, *y;
    char val[16];
    const char *v;
    apr_size_t n;
    int i, stale = 0;
    (void)state;
    NEED_SERVER();
    x = handle();
    y = handle_as(NULL, NULL, 0);
    put(y, "round", "start", 60000);
    for (i = 0; i < 3; i++)
        expect(x, "round", "start");
    for (i = 0; i < 3000; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        put(y, "round", val, 60000);
        if (flexsaml_redis_ops.get(x, "round", 5, apr_time_now(), pool, &v, &n) != APR_SUCCESS ||
            n != strlen(val) || memcmp(v, val, n))
            stale++;
        flexsaml_redis_ops.get(x, "round", 5, apr_time_now(), pool, &v, &n); /* a copy again */
    }
    assert_int_equal(stale, 0);
}

/* What an anonymous client controls is the cookie, so the key of a read
 * that finds nothing: such reads must neither evict a copy nor make Redis
 * remember anything (default tracking would keep every key read in its
 * table, which no maxmemory bounds: a flood of made-up cookies would grow
 * it to a million keys). */
static void test_reads_of_absent_keys_cost_nothing_to_keep(void **state)
{
    redisContext *a;
    flexsaml_redis *rd;
    char key[32];
    const char *v;
    apr_size_t n;
    long long before;
    redisReply *r;
    int i;
    (void)state;
    NEED_SERVER();
    a = admin();
    rd = copied("kept", "v");
    for (i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "made-up-%d", i);
        assert_int_equal(flexsaml_redis_ops.get(rd, key, strlen(key), apr_time_now(), pool, &v, &n),
                         APR_NOTFOUND);
    }
    r = redisCommand(a, "INFO stats");
    assert_non_null(r);
    assert_non_null(strstr(r->str, "tracking_total_keys:0\r\n"));
    freeReplyObject(r);
    before = counter(a, "get");
    for (i = 0; i < 20; i++)
        expect(rd, "kept", "v");
    assert_int_equal(counter(a, "get") - before, 0);
    redisFree(a);
}

/* A PING answered long ago vouches for nothing now: after an idle spell the
 * answer waiting in the socket was sent before whatever Redis may have
 * failed to deliver since, so the first read asks Redis again. */
static void test_an_old_ping_answer_is_not_taken_for_a_fresh_one(void **state)
{
    redisContext *a;
    flexsaml_redis *rd;
    long long before;
    (void)state;
    NEED_SERVER();
    a = admin();
    rd = copied("idle", "v");
    usleep(1200000);
    expect(rd, "idle", "v"); /* sends the once-a-second PING; Redis answers at once */
    usleep(3500000);         /* nobody reads the answer for longer than the window */
    before = counter(a, "get");
    expect(rd, "idle", "v");
    assert_true(counter(a, "get") - before >= 1);
    redisFree(a);
}

/* As httpd configures it: only sessions (kind 's', the key's second byte)
 * are copied, and Redis broadcasts the changes of those keys only (one
 * prefix per spread byte). Other kinds are read from Redis each time. */
static void test_only_sessions_are_copied(void **state)
{
    redisContext *a;
    flexsaml_redis_conf c;
    flexsaml_redis *rd, *other;
    char spec[64];
    long long before;
    int i;
    (void)state;
    NEED_SERVER();
    a = admin();
    snprintf(spec, sizeof(spec), "redis://127.0.0.1:%d", server_port);
    assert_null(flexsaml_redis_parse(pool, spec, &c));
    c.client_cache = 1;
    c.cache_kind = 's';
    rd = flexsaml_redis_create(pool, &c);
    other = flexsaml_redis_create(pool, &c);
    put(rd, "~sSESSION", "v1", 60000);
    put(rd, "~xINDEX", "i1", 60000);
    expect(rd, "~sSESSION", "v1");
    expect(rd, "~sSESSION", "v1");
    before = counter(a, "get");
    for (i = 0; i < 10; i++) {
        expect(rd, "~sSESSION", "v1");
        expect(rd, "~xINDEX", "i1");
    }
    assert_int_equal(counter(a, "get") - before, 10); /* the index's reads only */
    put(other, "~sSESSION", "v2", 60000);
    expect(rd, "~sSESSION", "v2");
    assert_int_equal(flexsaml_redis_ops.remove(other, "~sSESSION", 9, pool), APR_SUCCESS);
    expect(rd, "~sSESSION", NULL);
    redisFree(a);
}

/* Readers on many threads while a writer changes the key: once the last
 * write has returned, no reader sees an older value. */
static flexsaml_redis *contended;
static volatile int writer_done;

static void *reader(void *arg)
{
    apr_pool_t *p;
    const char *v;
    apr_size_t n;
    int i, stale = 0;
    (void)arg;
    apr_pool_create(&p, NULL);
    while (!writer_done)
        flexsaml_redis_ops.get(contended, "hot", 3, apr_time_now(), p, &v, &n);
    for (i = 0; i < 200; i++)
        if (flexsaml_redis_ops.get(contended, "hot", 3, apr_time_now(), p, &v, &n) != APR_SUCCESS ||
            n != 4 || memcmp(v, "last", 4))
            stale++;
    apr_pool_destroy(p);
    return (void *)(intptr_t)stale;
}

static void test_no_stale_copy_after_concurrent_writes(void **state)
{
    pthread_t t[8];
    flexsaml_redis *writer;
    char val[16];
    void *stale;
    int i;
    (void)state;
    NEED_SERVER();
    contended = handle();
    writer = handle();
    put(writer, "hot", "v0", 60000);
    for (i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    for (i = 0; i < 300; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        put(i % 2 ? writer : contended, "hot", val, 60000);
    }
    put(writer, "hot", "last", 60000);
    writer_done = 1;
    for (i = 0; i < 8; i++) {
        pthread_join(t[i], &stale);
        assert_int_equal((intptr_t)stale, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_direct),
        cmocka_unit_test(test_parse_sentinel),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_put_get_remove),
        cmocka_unit_test(test_replace_only_over_a_live_entry),
        cmocka_unit_test(test_entries_expire),
        cmocka_unit_test(test_once_is_atomic_across_handles_and_threads),
        cmocka_unit_test(test_unreachable_fails_fast_with_a_reason),
        cmocka_unit_test(test_reads_are_served_from_the_copy),
        cmocka_unit_test(test_a_change_anywhere_is_seen_at_once),
        cmocka_unit_test(test_a_copy_expires_with_its_key),
        cmocka_unit_test(test_a_lost_subscriber_empties_the_copy),
        cmocka_unit_test(test_a_silent_server_stops_the_copies),
        cmocka_unit_test(test_an_acl_without_tracking_turns_the_copy_off),
        cmocka_unit_test(test_no_stale_copy_after_concurrent_writes),
        cmocka_unit_test(test_a_closed_worker_connection_changes_nothing),
        cmocka_unit_test(test_a_read_right_after_a_write_elsewhere_is_fresh),
        cmocka_unit_test(test_reads_of_absent_keys_cost_nothing_to_keep),
        cmocka_unit_test(test_an_old_ping_answer_is_not_taken_for_a_fresh_one),
        cmocka_unit_test(test_only_sessions_are_copied),
    };
    int rc;
    if (apr_group_setup(NULL) != 0)
        return 1;
    start_server(NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    stop_server(NULL);
    apr_group_teardown(NULL);
    return rc;
}
