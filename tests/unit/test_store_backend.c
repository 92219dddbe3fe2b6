/* The store's backend interface (src/core/store_backend.h): the same cases
 * against every backend that runs without httpd. That is lmdb only: the
 * socache providers (shmcb, dbm) live in httpd modules that need a running
 * server (server_rec, httpd's own symbols), so their cases run in
 * tests/integration/test_store_lmdb.py and test_store_mutex.py instead. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "lmdb_store.h"
#include "store_backend.h"

#define SEC(n) apr_time_from_sec(n)

typedef struct {
    const flexsaml_store_ops *ops;
    apr_pool_t *pool;
    char dir[64];
    flexsaml_lmdb *db;
} fixture;

static apr_pool_t *root;

static int open_lmdb(void **state, apr_size_t size)
{
    fixture *f = calloc(1, sizeof(*f));
    apr_pool_create(&f->pool, root);
    strcpy(f->dir, "/tmp/flexsaml-test-lmdb-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    if (flexsaml_lmdb_open(f->pool, f->dir, size, 16, &f->db) != APR_SUCCESS)
        return -1;
    f->ops = &flexsaml_lmdb_ops;
    *state = f;
    return 0;
}

static int setup_lmdb(void **state)
{
    return open_lmdb(state, FLEXSAML_LMDB_DEFAULT_SIZE);
}

/* The smallest map LMDB takes that still holds a few entries. */
static int setup_lmdb_tiny(void **state)
{
    return open_lmdb(state, 256 * 1024);
}

static int teardown(void **state)
{
    fixture *f = *state;
    char *cmd;

    apr_pool_destroy(f->pool);
    cmd = apr_psprintf(root, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static apr_status_t put(fixture *f, const char *k, apr_time_t exp, const char *v, apr_size_t n)
{
    return f->ops->put(f->db, k, strlen(k), exp, v, n, f->pool);
}

static apr_status_t get(fixture *f, const char *k, apr_time_t now, const char **v, apr_size_t *n)
{
    return f->ops->get(f->db, k, strlen(k), now, f->pool, v, n);
}

static void test_put_get_remove(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();
    const char *v;
    apr_size_t n;

    assert_int_equal(get(f, "k1", now, &v, &n), APR_NOTFOUND);
    assert_int_equal(put(f, "k1", now + SEC(60), "value one", 9), APR_SUCCESS);
    assert_int_equal(get(f, "k1", now, &v, &n), APR_SUCCESS);
    assert_int_equal(n, 9);
    assert_memory_equal(v, "value one", 9);
    /* put replaces */
    assert_int_equal(put(f, "k1", now + SEC(60), "2", 1), APR_SUCCESS);
    assert_int_equal(get(f, "k1", now, &v, &n), APR_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(f->ops->remove(f->db, "k1", 2, f->pool), APR_SUCCESS);
    assert_int_equal(get(f, "k1", now, &v, &n), APR_NOTFOUND);
    assert_int_equal(f->ops->remove(f->db, "k1", 2, f->pool), APR_NOTFOUND);
}

static void test_expiry(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();
    const char *v;
    apr_size_t n;

    assert_int_equal(put(f, "k", now + SEC(10), "v", 1), APR_SUCCESS);
    assert_int_equal(get(f, "k", now + SEC(9), &v, &n), APR_SUCCESS);
    assert_int_equal(get(f, "k", now + SEC(10), &v, &n), APR_NOTFOUND);
    assert_int_equal(get(f, "k", now + SEC(11), &v, &n), APR_NOTFOUND);
}

static void test_once(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();

    assert_int_equal(f->ops->once(f->db, "a", 1, now + SEC(60), now, f->pool), APR_SUCCESS);
    assert_int_equal(f->ops->once(f->db, "a", 1, now + SEC(60), now, f->pool), APR_EEXIST);
    assert_int_equal(f->ops->once(f->db, "a", 1, now + SEC(60), now + SEC(59), f->pool),
                     APR_EEXIST);
    /* After its expiry the marker no longer holds the key. */
    assert_int_equal(f->ops->once(f->db, "a", 1, now + SEC(200), now + SEC(60), f->pool),
                     APR_SUCCESS);
    assert_int_equal(f->ops->once(f->db, "a", 1, now + SEC(200), now + SEC(61), f->pool),
                     APR_EEXIST);
}

/* replace writes only over a live entry: the use of a session recorded by
 * a request that read it before a logout must not bring it back. */
static void test_replace(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();
    const char *v;
    apr_size_t n;

    assert_int_equal(f->ops->replace(f->db, "r", 1, now + SEC(60), "new", 3, now, f->pool),
                     APR_NOTFOUND);
    assert_int_equal(get(f, "r", now, &v, &n), APR_NOTFOUND);
    assert_int_equal(put(f, "r", now + SEC(60), "old", 3), APR_SUCCESS);
    assert_int_equal(f->ops->replace(f->db, "r", 1, now + SEC(90), "new", 3, now, f->pool),
                     APR_SUCCESS);
    assert_int_equal(get(f, "r", now + SEC(80), &v, &n), APR_SUCCESS);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "new", 3);
    assert_int_equal(f->ops->remove(f->db, "r", 1, f->pool), APR_SUCCESS);
    assert_int_equal(f->ops->replace(f->db, "r", 1, now + SEC(60), "again", 5, now, f->pool),
                     APR_NOTFOUND);
    assert_int_equal(get(f, "r", now, &v, &n), APR_NOTFOUND);
    /* An expired entry is as good as gone. */
    assert_int_equal(put(f, "e", now + SEC(1), "old", 3), APR_SUCCESS);
    assert_int_equal(f->ops->replace(f->db, "e", 1, now + SEC(60), "new", 3, now + SEC(2), f->pool),
                     APR_NOTFOUND);
}

static void test_sweep(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();
    unsigned int removed = 0;
    const char *v;
    apr_size_t n;
    char k[32];
    int i;

    /* More than one batch (1000), half of them expired. */
    for (i = 0; i < 2500; i++) {
        apr_snprintf(k, sizeof(k), "key%05d", i);
        assert_int_equal(put(f, k, now + (i % 2 ? SEC(3600) : SEC(1)), "x", 1), APR_SUCCESS);
    }
    assert_int_equal(f->ops->sweep(f->db, now + SEC(2), &removed), APR_SUCCESS);
    assert_int_equal(removed, 1250);
    for (i = 0; i < 2500; i++) {
        apr_snprintf(k, sizeof(k), "key%05d", i);
        /* Asked at now: the expired half is gone, not only hidden. */
        assert_int_equal(get(f, k, now, &v, &n), i % 2 ? APR_SUCCESS : APR_NOTFOUND);
    }
    assert_int_equal(f->ops->sweep(f->db, now + SEC(2), &removed), APR_SUCCESS);
    assert_int_equal(removed, 0);
}

static void test_big_values(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();
    apr_size_t size = 1024 * 1024, n;
    char *big = malloc(size);
    const char *v;

    for (apr_size_t i = 0; i < size; i++)
        big[i] = (char)(i * 7);
    assert_int_equal(put(f, "big", now + SEC(60), big, size), APR_SUCCESS);
    assert_int_equal(get(f, "big", now, &v, &n), APR_SUCCESS);
    assert_int_equal(n, size);
    assert_memory_equal(v, big, size);
    free(big);
}

static void test_full_evicts_nothing(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();
    char k[32], val[512];
    apr_status_t rv = APR_SUCCESS;
    const char *v;
    apr_size_t n;
    int stored = 0, i;

    memset(val, 'v', sizeof(val));
    for (i = 0; i < 10000 && rv == APR_SUCCESS; i++) {
        apr_snprintf(k, sizeof(k), "session%05d", i);
        if ((rv = put(f, k, now + SEC(3600), val, sizeof(val))) == APR_SUCCESS)
            stored++;
    }
    assert_int_equal(rv, APR_ENOSPC);
    assert_true(stored > 10);
    /* Every entry stored before the store filled up is still there. */
    for (i = 0; i < stored; i++) {
        apr_snprintf(k, sizeof(k), "session%05d", i);
        assert_int_equal(get(f, k, now, &v, &n), APR_SUCCESS);
    }
    /* Markers fill what is left, then one is refused (the caller fails
     * closed) and every earlier one still holds its key. */
    rv = APR_SUCCESS;
    for (i = 0; i < 10000 && rv == APR_SUCCESS; i++) {
        apr_snprintf(k, sizeof(k), "marker%05d", i);
        rv = f->ops->once(f->db, k, strlen(k), now + SEC(60), now, f->pool);
    }
    assert_int_equal(rv, APR_ENOSPC);
    for (int j = 0; j < i - 1; j++) {
        apr_snprintf(k, sizeof(k), "marker%05d", j);
        assert_int_equal(f->ops->once(f->db, k, strlen(k), now + SEC(60), now, f->pool),
                         APR_EEXIST);
    }
    for (i = 0; i < stored; i++) {
        apr_snprintf(k, sizeof(k), "session%05d", i);
        assert_int_equal(get(f, k, now, &v, &n), APR_SUCCESS);
    }
    /* Removing some makes room again (a delete too writes copies of pages,
     * so one freed entry is not enough in a map this small). */
    for (i = 0; i < stored / 2; i++) {
        apr_snprintf(k, sizeof(k), "session%05d", i);
        assert_int_equal(f->ops->remove(f->db, k, strlen(k), f->pool), APR_SUCCESS);
    }
    assert_int_equal(put(f, "again", now + SEC(60), "v", 1), APR_SUCCESS);
}

/* One sweeper at a time: the lease is held until it expires or is given back. */
static void test_sweeper_lease(void **state)
{
    fixture *f = *state;
    apr_time_t now = apr_time_now();

    assert_true(flexsaml_lmdb_lease(f->db, 1, now, SEC(150)));
    assert_false(flexsaml_lmdb_lease(f->db, 2, now + SEC(1), SEC(150)));
    assert_true(flexsaml_lmdb_lease(f->db, 1, now + SEC(60), SEC(150)));
    assert_false(flexsaml_lmdb_lease(f->db, 2, now + SEC(209), SEC(150)));
    assert_true(flexsaml_lmdb_lease(f->db, 2, now + SEC(210), SEC(150)));
    flexsaml_lmdb_lease_release(f->db, 1); /* not its holder: nothing happens */
    assert_false(flexsaml_lmdb_lease(f->db, 1, now + SEC(211), SEC(150)));
    flexsaml_lmdb_lease_release(f->db, 2);
    assert_true(flexsaml_lmdb_lease(f->db, 1, now + SEC(211), SEC(150)));
}

/* once is atomic across processes: children racing for the same keys each
 * win a key exactly once in total. */
static void test_once_across_processes(void **state)
{
    fixture *f = *state;
    enum { CHILDREN = 4, KEYS = 300 };
    int wins = 0, c;

    for (c = 0; c < CHILDREN; c++) {
        int fds[2];
        pid_t pid;
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* Its own environment, opened after the fork, as a child does. */
            apr_pool_t *p;
            flexsaml_lmdb *db;
            int mine = 0;
            apr_pool_create(&p, NULL);
            if (flexsaml_lmdb_open(p, f->dir, FLEXSAML_LMDB_DEFAULT_SIZE, 16, &db) != APR_SUCCESS)
                _exit(2);
            for (int i = 0; i < KEYS; i++) {
                char k[16];
                apr_time_t now = apr_time_now();
                apr_snprintf(k, sizeof(k), "m%d", i);
                if (flexsaml_lmdb_ops.once(db, k, strlen(k), now + SEC(60), now, p) == APR_SUCCESS)
                    mine++;
            }
            if (write(fds[1], &mine, sizeof(mine)) != sizeof(mine))
                _exit(3);
            _exit(0);
        }
        close(fds[1]);
        {
            int mine = 0, status = 0;
            assert_int_equal(read(fds[0], &mine, sizeof(mine)), sizeof(mine));
            waitpid(pid, &status, 0);
            assert_int_equal(WEXITSTATUS(status), 0);
            wins += mine;
        }
        close(fds[0]);
    }
    assert_int_equal(wins, KEYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_remove, setup_lmdb, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup_lmdb, teardown),
        cmocka_unit_test_setup_teardown(test_once, setup_lmdb, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup_lmdb, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup_lmdb, teardown),
        cmocka_unit_test_setup_teardown(test_big_values, setup_lmdb, teardown),
        cmocka_unit_test_setup_teardown(test_full_evicts_nothing, setup_lmdb_tiny, teardown),
        cmocka_unit_test_setup_teardown(test_once_across_processes, setup_lmdb, teardown),
        cmocka_unit_test_setup_teardown(test_sweeper_lease, setup_lmdb, teardown),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&root, NULL);
    rc = cmocka_run_group_tests_name("store backend (lmdb)", tests, NULL, NULL);
    apr_pool_destroy(root);
    apr_terminate();
    return rc;
}
