/* Strict base64 (src/core/base64.c), shared by the ACS and the tool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>

#include "base64.h"

static apr_pool_t *pool;

static const char *decode(const char *in, flexsaml_b64_error *err)
{
    apr_size_t n = 0;
    return flexsaml_b64_decode_strict(pool, in, strlen(in), &n, err);
}

static void test_accepts_strict_base64_with_whitespace(void **state)
{
    flexsaml_b64_error err;
    (void)state;
    assert_string_equal(decode("QUJD", &err), "ABC");
    assert_int_equal(err.status, FLEXSAML_B64_OK);
    assert_string_equal(decode(" QU\r\nJD\tRA==\n", &err), "ABCD");
    assert_string_equal(decode("QUI=", NULL), "AB");
}

static void test_refuses_and_says_why(void **state)
{
    flexsaml_b64_error err;
    (void)state;
    assert_null(decode("QU*JD", &err));
    assert_int_equal(err.status, FLEXSAML_B64_BAD_CHAR);
    assert_int_equal(err.offset, 2);
    assert_int_equal(err.bad, '*');
    assert_null(decode("QUJD=RA==", &err)); /* data after the padding */
    assert_int_equal(err.status, FLEXSAML_B64_BAD_CHAR);
    assert_true(err.after_pad);
    assert_null(decode("QUJD-_8=", &err)); /* the URL alphabet is not this one */
    assert_int_equal(err.status, FLEXSAML_B64_BAD_CHAR);
    assert_null(decode(" \n", &err));
    assert_int_equal(err.status, FLEXSAML_B64_EMPTY);
    assert_null(decode("QUJDR", &err));
    assert_int_equal(err.status, FLEXSAML_B64_LENGTH);
    assert_int_equal(err.chars, 5);
    assert_null(decode("Q===", &err));
    assert_int_equal(err.status, FLEXSAML_B64_LENGTH);
}

static int setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&pool, NULL);
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_strict_base64_with_whitespace),
        cmocka_unit_test(test_refuses_and_says_why),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
