/* Lasso's log, quiet in the module's own calls only (lasso_log.c): the
 * thread-local mark, the module's lasso_log and its "Lasso" log handler. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_thread_proc.h>
#include <glib.h>

#include "lasso_log.h"

/* Lasso declares it in a header that also defines error() and friends. */
void lasso_log(GLogLevelFlags level, const char *filename, int line, const char *function,
               const char *format, ...);

/* What reached GLib's writer: where a message ends up once every handler let
 * it through (the test process has no other writer). */
static struct {
    int count;
    char domain[64];
    char message[1200];
} seen;

static GLogWriterOutput record(GLogLevelFlags level, const GLogField *fields, gsize n,
                               gpointer data)
{
    (void)level;
    (void)data;
    seen.count++;
    seen.domain[0] = seen.message[0] = '\0';
    for (gsize i = 0; i < n; i++) {
        const char *v = fields[i].value;
        if (!strcmp(fields[i].key, "GLIB_DOMAIN") && v)
            snprintf(seen.domain, sizeof(seen.domain), "%s", v);
        else if (!strcmp(fields[i].key, "MESSAGE") && v)
            snprintf(seen.message, sizeof(seen.message), "%s", v);
    }
    return G_LOG_WRITER_HANDLED;
}

static int probe_int(void)
{
    return flexsaml_lasso_quiet() ? 7 : -1;
}

static void *probe_ptr(void)
{
    return flexsaml_lasso_quiet() ? (void *)&seen : NULL;
}

static void test_macros_mark_the_call_only(void **state)
{
    (void)state;
    assert_false(flexsaml_lasso_quiet());
    assert_int_equal(FLEXSAML_LASSO(probe_int()), 7);
    assert_false(flexsaml_lasso_quiet());
    assert_ptr_equal(FLEXSAML_LASSO(probe_ptr()), &seen);
    assert_false(flexsaml_lasso_quiet());
    /* Nested: the inner call's end leaves the outer one marked. */
    FLEXSAML_LASSO_DO({
        assert_int_equal(FLEXSAML_LASSO(probe_int()), 7);
        assert_true(flexsaml_lasso_quiet());
    });
    assert_false(flexsaml_lasso_quiet());
    /* An unmatched end does not wrap around into "quiet". */
    flexsaml_lasso_leave();
    assert_false(flexsaml_lasso_quiet());
}

static void test_lasso_log_outside_reads_as_lasso_writes_it(void **state)
{
    const char *tab;
    (void)state;
    seen.count = 0;
    lasso_log(G_LOG_LEVEL_WARNING, "login.c", 12, "f", "Could not decrypt: %d", 5);
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.domain, "Lasso");
    /* "YYYY-MM-DD HH:MM:SS<TAB>text" */
    tab = strchr(seen.message, '\t');
    assert_non_null(tab);
    assert_int_equal(tab - seen.message, 19);
    assert_string_equal(tab + 1, "Could not decrypt: 5");
    lasso_log(G_LOG_LEVEL_CRITICAL, "xml.c", 34, "g", "%s", "boom");
    assert_int_equal(seen.count, 2);
    assert_string_equal(seen.message + 19, " (xml.c/g:34) boom");
}

static void test_lasso_log_inside_drops(void **state)
{
    (void)state;
    seen.count = 0;
    flexsaml_lasso_enter();
    lasso_log(G_LOG_LEVEL_WARNING, "login.c", 12, "f", "dropped %s", "here");
    lasso_log(G_LOG_LEVEL_CRITICAL, "login.c", 12, "f", "dropped");
    flexsaml_lasso_leave();
    assert_int_equal(seen.count, 0);
}

/* Lasso's own lasso_log (another module loaded Lasso first) ends in
 * g_log("Lasso", ...): the handler drops it inside the module's calls only,
 * and leaves other domains alone. */
static void test_handler_drops_inside_only(void **state)
{
    (void)state;
    seen.count = 0;
    g_log("Lasso", G_LOG_LEVEL_WARNING, "outside");
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.message, "outside");
    flexsaml_lasso_enter();
    g_log("Lasso", G_LOG_LEVEL_WARNING, "inside");
    assert_int_equal(seen.count, 1);
    g_log("Other", G_LOG_LEVEL_WARNING, "another domain");
    assert_int_equal(seen.count, 2);
    assert_string_equal(seen.domain, "Other");
    flexsaml_lasso_leave();
}

static void *APR_THREAD_FUNC other_module(apr_thread_t *t, void *data)
{
    int *quiet = data;
    *quiet = flexsaml_lasso_quiet();
    lasso_log(G_LOG_LEVEL_WARNING, "login.c", 1, "f", "%s", "mellon's");
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* One event MPM thread inside a module call does not quiet another thread. */
static void test_other_threads_keep_their_messages(void **state)
{
    apr_thread_t *t;
    apr_status_t rv;
    int quiet = -1;
    (void)state;
    seen.count = 0;
    flexsaml_lasso_enter();
    assert_int_equal(apr_thread_create(&t, NULL, other_module, &quiet, pool), APR_SUCCESS);
    assert_int_equal(apr_thread_join(&rv, t), APR_SUCCESS);
    assert_true(flexsaml_lasso_quiet());
    flexsaml_lasso_leave();
    assert_int_equal(quiet, 0);
    assert_int_equal(seen.count, 1);
    assert_string_equal(strchr(seen.message, '\t') + 1, "mellon's");
}

/* The writer first: GLib takes one only before anything was logged. */
static int group_setup(void **state)
{
    (void)state;
    g_log_set_writer_func(record, NULL, NULL);
    flexsaml_lasso_log_init();
    return apr_group_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_macros_mark_the_call_only),
        cmocka_unit_test(test_lasso_log_outside_reads_as_lasso_writes_it),
        cmocka_unit_test(test_lasso_log_inside_drops),
        cmocka_unit_test(test_handler_drops_inside_only),
        cmocka_unit_test(test_other_threads_keep_their_messages),
    };
    return cmocka_run_group_tests(tests, group_setup, apr_group_teardown);
}
