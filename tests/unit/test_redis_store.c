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

static flexsaml_redis *handle(void)
{
    flexsaml_redis_conf c;
    char spec[64];
    snprintf(spec, sizeof(spec), "redis://127.0.0.1:%d", server_port);
    assert_null(flexsaml_redis_parse(pool, spec, &c));
    return flexsaml_redis_create(pool, &c);
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
        if (!flexsaml_redis_probe(handle(), pool, &fatal))
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
