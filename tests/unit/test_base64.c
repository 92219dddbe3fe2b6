/* Strict base64 (src/core/base64.c), shared by the ACS and the tool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>

#include "base64.h"

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

/* Every byte value, one at a time inside "QU?JD": the decoder's byte table
 * must say what the alphabet says. */
static void test_every_byte(void **state)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    flexsaml_b64_error err;
    char in[6];
    int c;
    (void)state;
    for (c = 1; c < 256; c++) {
        const char *out;
        snprintf(in, sizeof(in), "QU%cJD", c);
        out = decode(in, &err);
        if (strchr(b64, c)) {
            assert_null(out);
            assert_int_equal(err.status, FLEXSAML_B64_LENGTH);
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            assert_string_equal(out, "ABC");
        } else if (c == '=') {
            assert_null(out);
            assert_int_equal(err.status, FLEXSAML_B64_BAD_CHAR);
            assert_true(err.after_pad);
            assert_int_equal(err.offset, 3);
        } else {
            assert_null(out);
            assert_int_equal(err.status, FLEXSAML_B64_BAD_CHAR);
            assert_int_equal(err.offset, 2);
            assert_int_equal((unsigned char)err.bad, c);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_strict_base64_with_whitespace),
        cmocka_unit_test(test_refuses_and_says_why),
        cmocka_unit_test(test_every_byte),
    };
    return cmocka_run_group_tests(tests, apr_group_setup, apr_group_teardown);
}
