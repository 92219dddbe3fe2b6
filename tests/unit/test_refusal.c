/* The refusal table: every row complete, codes unique, statuses fixed by
 * row, out-of-range values answered as no row, and every code documented. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "refusal.h"

static void test_rows_complete_and_unique(void **state)
{
    (void)state;
    for (int i = FLEXSAML_R_NONE + 1; i < FLEXSAML_R_COUNT; i++) {
        const flexsaml_refusal_row *a = flexsaml_refusal_info((flexsaml_refusal)i);
        assert_non_null(a);
        assert_true(strlen(a->code) > 2);
        assert_true(strlen(a->title) > 2);
        assert_true(strlen(a->hint) > 10);
        assert_true(a->status >= 400 && a->status < 600);
        for (int j = i + 1; j < FLEXSAML_R_COUNT; j++)
            assert_string_not_equal(a->code, flexsaml_refusal_code((flexsaml_refusal)j));
    }
}

static void test_statuses(void **state)
{
    (void)state;
    assert_int_equal(flexsaml_refusal_info(FLEXSAML_R_NO_ROLE)->status, 403);
    assert_int_equal(flexsaml_refusal_info(FLEXSAML_R_BODY_TOO_LARGE)->status, 413);
    assert_int_equal(flexsaml_refusal_info(FLEXSAML_R_METHOD_NOT_ALLOWED)->status, 405);
    assert_int_equal(flexsaml_refusal_info(FLEXSAML_R_SESSION_STORE)->status, 503);
    assert_int_equal(flexsaml_refusal_info(FLEXSAML_R_INTERNAL)->status, 500);
    assert_int_equal(flexsaml_refusal_info(FLEXSAML_R_REPLAYED)->status, 400);
    assert_string_equal(flexsaml_refusal_code(FLEXSAML_R_SIGNATURE_INVALID), "signature_invalid");
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_null(flexsaml_refusal_info(FLEXSAML_R_NONE));
    assert_null(flexsaml_refusal_info(FLEXSAML_R_COUNT));
    assert_null(flexsaml_refusal_info((flexsaml_refusal)-1));
    assert_string_equal(flexsaml_refusal_code(FLEXSAML_R_COUNT), "");
}

/* Drift check: the README's Refusals table names every code. */
static void test_documented(void **state)
{
    char path[4096], *text;
    FILE *f;
    long n;
    (void)state;
    snprintf(path, sizeof(path), "%s/README.md", FLEXSAML_SRCDIR);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    const char *section = strstr(text, "\n## Refusals");
    assert_non_null(section);
    const char *end = strstr(section + 1, "\n## ");
    for (int i = FLEXSAML_R_NONE + 1; i < FLEXSAML_R_COUNT; i++) {
        char want[80];
        const char *hit;
        snprintf(want, sizeof(want), "`%s`", flexsaml_refusal_code((flexsaml_refusal)i));
        hit = strstr(section, want);
        if (!hit || (end && hit > end))
            fail_msg("README.md's Refusals table does not name %s", want);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_complete_and_unique),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
