/* Unit tests for sync.c: the backoff schedule, and the queue and its thread
 * driven by a stub runner (coalescing, retries, Retry-After, the deadline,
 * a full queue, stopping with work left, sync mode). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <apr_thread_cond.h>

#include "queue.h"

#define MS(n) ((apr_interval_time_t)(n)*1000)
#define MAX_CALLS 64

/* The stub runner: records each attempt, can hold the first attempts at a
 * gate, and answers from a script (then UPDATED). */
typedef struct {
    apr_thread_mutex_t *m;
    apr_thread_cond_t *c;
    volatile apr_uint32_t *stop;
    int gate_open;
    const char *gate_name; /* NULL: the gate holds every job */
    int waiting_at_gate;
    int calls;
    const char *seen[MAX_CALLS]; /* "name desired" */
    apr_time_t at[MAX_CALLS];
    flexsaml_tr_status script[MAX_CALLS];
    apr_interval_time_t retry_after[MAX_CALLS];
    int scripted;
    int lines;
    const char *log[256];
    apr_pool_t *p;
} stub_t;

static stub_t stub;
static apr_pool_t *pool;
static flexsaml_tr_conf conf;

static void *stub_make(apr_pool_t *p, volatile apr_uint32_t *stop)
{
    (void)p;
    apr_thread_mutex_lock(stub.m);
    stub.stop = stop; /* the queue's flag, the same for every state it makes */
    apr_thread_mutex_unlock(stub.m);
    return &stub;
}

static void stub_run(void *state, apr_pool_t *p, const flexsaml_tr_job *job, apr_time_t deadline,
                     flexsaml_tr_outcome *out)
{
    stub_t *s = state;
    int n;
    (void)p;
    (void)deadline;
    apr_thread_mutex_lock(s->m);
    n = s->calls++;
    if (n < MAX_CALLS) {
        s->seen[n] = apr_pstrcat(s->p, job->name, " ", job->desired, NULL);
        s->at[n] = apr_time_now();
    }
    if (!s->gate_name || !strcmp(s->gate_name, job->name)) {
        s->waiting_at_gate++;
        apr_thread_cond_broadcast(s->c);
        while (!s->gate_open && !apr_atomic_read32(s->stop))
            apr_thread_cond_timedwait(s->c, s->m, MS(10));
        s->waiting_at_gate--;
    }
    out->status = n < s->scripted ? s->script[n] : FLEXSAML_TR_UPDATED;
    out->retry_after = n < s->scripted ? s->retry_after[n] : -1;
    out->reason = out->status == FLEXSAML_TR_RETRY ? "update: HTTP 500" : "ok";
    out->requests = 3;
    out->sid = "WK0123456789abcdef0123456789abcdef";
    apr_thread_mutex_unlock(s->m);
}

static const flexsaml_sync_runner stub_runner = {stub_make, stub_run};

static void stub_log(void *baton, int level, const char *msg)
{
    (void)baton;
    (void)level;
    apr_thread_mutex_lock(stub.m);
    if (stub.lines < 256)
        stub.log[stub.lines++] = apr_pstrdup(stub.p, msg);
    apr_thread_mutex_unlock(stub.m);
}

static int logged(const char *needle);

/* Waits for a line the thread logs after the counters it is about. */
static int wait_logged(const char *needle)
{
    apr_time_t end = apr_time_now() + apr_time_from_sec(2);
    while (!logged(needle) && apr_time_now() < end)
        apr_sleep(MS(5));
    return logged(needle);
}

static int logged(const char *needle)
{
    int i, n = 0;
    apr_thread_mutex_lock(stub.m);
    for (i = 0; i < stub.lines; i++)
        if (strstr(stub.log[i], needle))
            n++;
    apr_thread_mutex_unlock(stub.m);
    return n;
}

static void gate(int open)
{
    apr_thread_mutex_lock(stub.m);
    stub.gate_open = open;
    apr_thread_cond_broadcast(stub.c);
    apr_thread_mutex_unlock(stub.m);
}

/* Waits until the runner is held at the gate by an attempt. */
static void wait_at_gate(void)
{
    apr_time_t end = apr_time_now() + apr_time_from_sec(5);
    int n;
    apr_thread_mutex_lock(stub.m);
    while (!stub.waiting_at_gate && apr_time_now() < end)
        apr_thread_cond_timedwait(stub.c, stub.m, MS(10));
    n = stub.waiting_at_gate;
    apr_thread_mutex_unlock(stub.m);
    assert_true(n > 0);
}

/* Waits until `done` jobs have a final outcome. */
static flexsaml_sync_stats wait_done(flexsaml_sync *s, apr_uint32_t done)
{
    flexsaml_sync_stats st;
    apr_time_t end = apr_time_now() + apr_time_from_sec(5);
    do {
        flexsaml_sync_get_stats(s, &st);
        if (st.sent + st.unchanged + st.no_worker + st.failed >= done) {
            /* The counters are atomics inside libapr; the stub's records
             * are read after taking the mutex they were written under. */
            apr_thread_mutex_lock(stub.m);
            apr_thread_mutex_unlock(stub.m);
            return st;
        }
        apr_sleep(MS(5));
    } while (apr_time_now() < end);
    fail_msg("only %u of %u jobs finished", st.sent + st.unchanged + st.failed, done);
    return st;
}

static int setup(void **state)
{
    (void)state;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return -1;
    memset(&stub, 0, sizeof(stub));
    /* The stub's records get their own pool, used only under stub.m: the
     * test thread allocates from `pool` at the same time. */
    apr_pool_create(&stub.p, NULL);
    apr_thread_mutex_create(&stub.m, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&stub.c, pool);
    stub.gate_open = 1;
    memset(&conf, 0, sizeof(conf));
    conf.deadline = apr_time_from_sec(5);
    conf.backoff_base = MS(20);
    conf.backoff_max = MS(80);
    conf.log = stub_log;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gate(1);
    apr_pool_destroy(pool); /* stops the thread first: a pre-cleanup */
    apr_pool_destroy(stub.p);
    return 0;
}

static flexsaml_sync *start(int capacity)
{
    flexsaml_sync_conf sc = {.capacity = capacity, .runner = &stub_runner, .log = stub_log};
    flexsaml_sync *s = NULL;
    apr_pool_t *child;
    apr_pool_create(&child, pool);
    assert_null(flexsaml_sync_start(child, &sc, &s));
    return s;
}

static int enqueue(flexsaml_sync *s, const char *name, const char *desired)
{
    flexsaml_tr_job j = {&conf, name, desired, NULL};
    return flexsaml_sync_enqueue(s, pool, &j);
}

static void test_backoff_schedule(void **state)
{
    const apr_interval_time_t base = apr_time_from_sec(1), max = apr_time_from_sec(30);
    apr_interval_time_t lo[] = {MS(500),  MS(1000),  MS(2000),  MS(4000),
                                MS(8000), MS(15000), MS(15000), MS(15000)};
    int a;
    (void)state;
    for (a = 1; a <= 8; a++) {
        /* equal jitter: between half and all of the exponential delay */
        assert_int_equal(flexsaml_sync_backoff(a, base, max, -1, 0), lo[a - 1]);
        assert_int_equal(flexsaml_sync_backoff(a, base, max, -1, UINT32_MAX) >= lo[a - 1], 1);
        assert_true(flexsaml_sync_backoff(a, base, max, -1, UINT32_MAX) <= 2 * lo[a - 1]);
        assert_true(flexsaml_sync_backoff(a, base, max, -1, 12345) <= max);
    }
    assert_int_equal(flexsaml_sync_backoff(100000, base, max, -1, 0), MS(15000));
    /* Retry-After wins over the schedule, with at most a quarter second more */
    assert_int_equal(flexsaml_sync_backoff(1, base, max, apr_time_from_sec(7), 0),
                     apr_time_from_sec(7));
    assert_true(flexsaml_sync_backoff(9, base, max, apr_time_from_sec(7), UINT32_MAX) <=
                apr_time_from_sec(7) + MS(250));
    assert_true(flexsaml_sync_backoff(1, base, max, 0, 99) <= MS(250));
    /* a tiny base still moves forward */
    assert_true(flexsaml_sync_backoff(3, 1, 8, -1, 0) >= 2);
}

static void test_coalescing_sends_only_the_newest(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    (void)state;
    gate(0);
    s = start(10);
    assert_int_equal(enqueue(s, "ann@x", "{\"v\":1}"), 1);
    wait_at_gate(); /* ann v1 in flight */
    assert_int_equal(enqueue(s, "ann@x", "{\"v\":2}"), 1);
    assert_int_equal(enqueue(s, "bob@x", "{\"v\":1}"), 1);
    assert_int_equal(enqueue(s, "ANN@X", "{\"v\":3}"), 0); /* same Worker, other case */
    assert_int_equal(enqueue(s, "bob@x", "{\"v\":2}"), 0);
    assert_int_equal(enqueue(s, "ann@x", "{\"v\":4}"), 0);
    flexsaml_sync_get_stats(s, &st);
    assert_int_equal(st.depth, 2);
    gate(1);
    st = wait_done(s, 3);
    assert_int_equal(stub.calls, 3);
    assert_string_equal(stub.seen[0], "ann@x {\"v\":1}");
    /* FIFO by first arrival, each with its newest identity */
    assert_string_equal(stub.seen[1], "ann@x {\"v\":4}");
    assert_string_equal(stub.seen[2], "bob@x {\"v\":2}");
    assert_int_equal(st.queued, 6);
    assert_int_equal(st.coalesced, 3);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.requests, 9);
    assert_int_equal(st.depth, 0);
    assert_int_equal(logged("outcome=updated"), 3);
}

static void test_retry_until_success(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    (void)state;
    stub.scripted = 3;
    stub.script[0] = stub.script[1] = stub.script[2] = FLEXSAML_TR_RETRY;
    stub.retry_after[0] = stub.retry_after[2] = -1;
    stub.retry_after[1] = MS(150); /* honoured even though the backoff is shorter */
    s = start(10);
    enqueue(s, "ann@x", "{}");
    st = wait_done(s, 1);
    assert_int_equal(stub.calls, 4);
    assert_int_equal(st.retried, 3);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.failed, 0);
    assert_true(stub.at[1] - stub.at[0] >= MS(10));  /* half of the 20 ms base at least */
    assert_true(stub.at[2] - stub.at[1] >= MS(150)); /* Retry-After */
    assert_true(stub.at[3] - stub.at[2] >= MS(20));  /* the second backoff step, 40 ms / 2 */
    assert_int_equal(logged("outcome=updated"), 1);
    assert_int_equal(logged("attempts=4"), 1);
}

static void test_retry_after_pauses_the_queue(void **state)
{
    flexsaml_sync *s;
    (void)state;
    stub.scripted = 1;
    stub.script[0] = FLEXSAML_TR_RETRY;
    stub.retry_after[0] = MS(200);
    s = start(10);
    enqueue(s, "ann@x", "{}");
    enqueue(s, "bob@x", "{}");
    wait_done(s, 2);
    /* Twilio throttles the account: bob waits out ann's Retry-After too */
    assert_string_equal(stub.seen[1], "bob@x {}");
    assert_true(stub.at[1] - stub.at[0] >= MS(200));
}

static void test_deadline_gives_up_and_logs(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    int i;
    (void)state;
    stub.scripted = MAX_CALLS;
    for (i = 0; i < MAX_CALLS; i++) {
        stub.script[i] = FLEXSAML_TR_RETRY;
        stub.retry_after[i] = -1;
    }
    conf.deadline = MS(300);
    s = start(10);
    enqueue(s, "ann@x", "{}");
    st = wait_done(s, 1);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.sent, 0);
    /* At least one retry before the deadline; a loaded machine may fit no more. */
    assert_true(stub.calls >= 2 && stub.calls < 20);
    assert_int_equal(st.retried, (apr_uint32_t)stub.calls - 1);
    assert_true(stub.at[stub.calls - 1] - stub.at[0] < MS(300));
    /* One failure line that names the deadline: whether the last retry was
     * attempted or the deadline passed while it waited depends on timing
     * (a sanitizer build is slow). */
    assert_int_equal(logged("worker=\"ann@x\" outcome=failed"), 1);
    assert_int_equal(logged("(FlexSAMLTaskRouterDeadline 300ms)"), 1);
    assert_int_equal(logged("the next login of this person sends the full state again"), 1);
}

static void test_a_job_expires_while_it_waits(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    (void)state;
    gate(0);
    stub.gate_name = "ann@x";
    conf.deadline = MS(100);
    s = start(10);
    enqueue(s, "ann@x", "{}");
    wait_at_gate(); /* TaskRouter is slow for ann */
    enqueue(s, "bob@x", "{}");
    apr_sleep(MS(150));
    gate(1);
    st = wait_done(s, 2);
    assert_int_equal(stub.calls, 1); /* bob is not sent after his deadline */
    assert_int_equal(st.failed, 1);
    assert_int_equal(logged("worker=\"bob@x\" outcome=failed requests=0 attempts=0 reason=\"the "
                            "deadline (FlexSAMLTaskRouterDeadline 100ms) passed while it waited"),
                     1);
}

static void test_children_can_share_the_counters(void **state)
{
    flexsaml_sync_stats shared, st;
    flexsaml_sync_conf sc = {.capacity = 10, .runner = &stub_runner, .log = stub_log};
    flexsaml_sync *a, *b;
    apr_pool_t *pa, *pb;
    (void)state;
    memset(&shared, 0, sizeof(shared));
    sc.shared = &shared; /* as the parent's shared memory is for every child */
    apr_pool_create(&pa, pool);
    apr_pool_create(&pb, pool);
    assert_null(flexsaml_sync_start(pa, &sc, &a));
    assert_null(flexsaml_sync_start(pb, &sc, &b));
    enqueue(a, "ann@x", "{}");
    enqueue(b, "bob@x", "{}");
    enqueue(b, "cid@x", "{}");
    st = wait_done(a, 3);
    assert_int_equal(st.queued, 3);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.requests, 9);
    assert_int_equal(st.depth, 0);
    flexsaml_sync_get_stats(b, &st);
    assert_int_equal(st.sent, 3);
}

static void test_final_outcomes_are_not_retried(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    (void)state;
    stub.scripted = 3;
    stub.script[0] = FLEXSAML_TR_FAILED;
    stub.script[1] = FLEXSAML_TR_NO_WORKER;
    stub.script[2] = FLEXSAML_TR_UNCHANGED;
    s = start(10);
    enqueue(s, "ann@x", "{}");
    enqueue(s, "bob@x", "{}");
    enqueue(s, "cid@x", "{}");
    st = wait_done(s, 3);
    assert_int_equal(stub.calls, 3);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.no_worker, 1);
    assert_int_equal(st.unchanged, 1);
    assert_int_equal(st.retried, 0);
    assert_int_equal(logged("worker=\"bob@x\" outcome=no_worker"), 1);
    assert_int_equal(logged("worker=\"cid@x\" outcome=unchanged"), 1);
    /* the drained queue logs its counters */
    assert_true(wait_logged("taskrouter stats: queued=3 ") >= 1);
}

static void test_queue_full_is_a_logged_failure(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    (void)state;
    gate(0);
    s = start(2);
    enqueue(s, "ann@x", "{}");
    wait_at_gate();
    assert_int_equal(enqueue(s, "bob@x", "{}"), 1);
    assert_int_equal(enqueue(s, "cid@x", "{}"), 1);
    assert_int_equal(enqueue(s, "dan@x", "{}"), -1);
    assert_int_equal(enqueue(s, "bob@x", "{\"v\":2}"), 0); /* coalescing still works when full */
    assert_int_equal(logged("worker=\"dan@x\" outcome=failed reason=\"the queue is full"), 1);
    gate(1);
    st = wait_done(s, 4);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.sent, 3);
}

static void test_stop_logs_what_was_not_sent(void **state)
{
    flexsaml_sync *s;
    apr_pool_t *child;
    flexsaml_sync_conf sc = {.capacity = 10, .runner = &stub_runner, .log = stub_log};
    apr_time_t t0;
    (void)state;
    gate(0);
    apr_pool_create(&child, pool);
    assert_null(flexsaml_sync_start(child, &sc, &s));
    enqueue(s, "ann@x", "{}");
    wait_at_gate();
    enqueue(s, "bob@x", "{}");
    enqueue(s, "cid@x", "{}");
    t0 = apr_time_now();
    apr_pool_destroy(child); /* as at child exit: joins the thread */
    assert_true(apr_time_now() - t0 < apr_time_from_sec(1));
    assert_int_equal(logged("worker=\"bob@x\" outcome=failed reason=\"the server stopped"), 1);
    assert_int_equal(logged("worker=\"cid@x\" outcome=failed reason=\"the server stopped"), 1);
    assert_int_equal(logged("taskrouter stats:"), 1);
}

static void test_sync_mode_runs_in_the_caller(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    flexsaml_tr_job j = {&conf, "ann@x", "{\"v\":1}", NULL};
    (void)state;
    s = start(10);
    flexsaml_sync_run_now(s, pool, &j, MS(500));
    assert_int_equal(stub.calls, 1);
    flexsaml_sync_get_stats(s, &st);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.queued, 1);
    assert_int_equal(logged("worker=\"ann@x\" outcome=updated"), 1);
}

static void test_sync_mode_hands_over_to_the_background(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    flexsaml_tr_job j = {&conf, "ann@x", "{\"v\":1}", NULL};
    apr_time_t t0;
    int i;
    (void)state;
    stub.scripted = 4;
    for (i = 0; i < 4; i++) {
        stub.script[i] = FLEXSAML_TR_RETRY;
        stub.retry_after[i] = -1;
    }
    conf.backoff_base = MS(40);
    s = start(10);
    t0 = apr_time_now();
    flexsaml_sync_run_now(s, pool, &j, MS(100));
    assert_true(apr_time_now() - t0 < MS(150)); /* the login waited at most the budget */
    assert_int_equal(logged("continuing in the background"), 1);
    st = wait_done(s, 1);
    assert_int_equal(st.sent, 1);
    assert_int_equal(stub.calls, 5);
    assert_string_equal(stub.seen[4], "ann@x {\"v\":1}");
}

static void test_sync_mode_replaces_a_waiting_job(void **state)
{
    flexsaml_sync *s;
    flexsaml_sync_stats st;
    flexsaml_tr_job j = {&conf, "bob@x", "{\"v\":2}", NULL};
    (void)state;
    gate(0);
    stub.gate_name = "ann@x";
    s = start(10);
    enqueue(s, "ann@x", "{}");
    wait_at_gate(); /* the thread is busy with ann */
    enqueue(s, "bob@x", "{\"v\":1}");
    flexsaml_sync_run_now(s, pool, &j, MS(500));
    gate(1);
    st = wait_done(s, 2);
    assert_int_equal(st.coalesced, 1);
    assert_int_equal(st.depth, 0);
    assert_int_equal(stub.calls, 2); /* bob v1 never ran */
    assert_string_equal(stub.seen[1], "bob@x {\"v\":2}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backoff_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalescing_sends_only_the_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_until_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_pauses_the_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_gives_up_and_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_job_expires_while_it_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_children_can_share_the_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_final_outcomes_are_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_is_a_logged_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_logs_what_was_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_mode_runs_in_the_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_mode_hands_over_to_the_background, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sync_mode_replaces_a_waiting_job, setup, teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
