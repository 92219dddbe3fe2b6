/* The left-right pointer swap (src/core/swap.c): readers never see a value
 * after the writer got it back from flexsaml_swap_replace, under threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_thread_proc.h>

#include "swap.h"

#define ALIVE 0x600dU
#define DEAD 0xdeadU
#define READERS 4
#define REPLACES 2000

typedef struct {
    volatile unsigned canary;
} object;

typedef struct {
    flexsaml_swap sw;
    atomic_int stop;
    atomic_long reads;
    atomic_long violations;
} shared;

static void *APR_THREAD_FUNC reader(apr_thread_t *t, void *data)
{
    shared *sh = data;
    while (!atomic_load(&sh->stop)) {
        unsigned ticket;
        object *o = flexsaml_swap_enter(&sh->sw, &ticket);
        /* Hold it a while, as a request holds its SP, and let the writer
         * run in between. */
        for (int i = 0; i < 200; i++) {
            if (o->canary != ALIVE)
                atomic_fetch_add(&sh->violations, 1);
            if (i % 50 == 0)
                apr_thread_yield();
        }
        flexsaml_swap_leave(&sh->sw, ticket);
        atomic_fetch_add(&sh->reads, 1);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_replace_waits_for_readers(void **state)
{
    apr_pool_t *p;
    apr_thread_t *threads[READERS];
    apr_status_t rv;
    shared sh;
    object *objs;
    (void)state;

    apr_pool_create(&p, NULL);
    objs = apr_pcalloc(p, sizeof(*objs) * (REPLACES + 1));
    objs[0].canary = ALIVE;
    flexsaml_swap_init(&sh.sw, &objs[0]);
    atomic_init(&sh.stop, 0);
    atomic_init(&sh.reads, 0);
    atomic_init(&sh.violations, 0);
    for (int i = 0; i < READERS; i++)
        assert_int_equal(apr_thread_create(&threads[i], NULL, reader, &sh, p), APR_SUCCESS);
    for (int i = 1; i <= REPLACES; i++) {
        objs[i].canary = ALIVE;
        object *old = flexsaml_swap_replace(&sh.sw, &objs[i]);
        assert_ptr_equal(old, &objs[i - 1]);
        old->canary = DEAD; /* what freeing it would do */
        apr_thread_yield();
    }
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < READERS; i++)
        apr_thread_join(&rv, threads[i]);
    assert_ptr_equal(flexsaml_swap_peek(&sh.sw), &objs[REPLACES]);
    assert_true(atomic_load(&sh.reads) > 0);
    assert_int_equal(atomic_load(&sh.violations), 0);
    assert_int_equal(atomic_load(&sh.sw.readers[0]) + atomic_load(&sh.sw.readers[1]), 0);
    apr_pool_destroy(p);
}

/* A reader that entered before a replace keeps its value; the next one
 * gets the new value; replace returns only after the first one left. */
static void test_held_value_survives(void **state)
{
    int a = 1, b = 2;
    unsigned t1, t2;
    flexsaml_swap sw;
    (void)state;

    flexsaml_swap_init(&sw, &a);
    assert_ptr_equal(flexsaml_swap_enter(&sw, &t1), &a);
    flexsaml_swap_leave(&sw, t1);
    assert_ptr_equal(flexsaml_swap_replace(&sw, &b), &a);
    assert_ptr_equal(flexsaml_swap_enter(&sw, &t2), &b);
    flexsaml_swap_leave(&sw, t2);
    assert_int_equal(atomic_load(&sw.readers[0]) + atomic_load(&sw.readers[1]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_value_survives),
        cmocka_unit_test(test_replace_waits_for_readers),
    };
    apr_initialize();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
