/* Strict base64 (src/core/base64.c), shared by the ACS and the tool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>
#include <apr_base64.h>
#include <apr_strings.h>

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

/* The one-pass decoder against apr's: random texts over the alphabet, '='
 * and whitespace, of every length up to 64. Whatever strict base64 accepts
 * decodes to exactly what apr_base64_decode_binary makes of it with the
 * whitespace left out (non-canonical last bits included), and every length
 * of valid input is covered. */
static void test_same_bytes_as_apr(void **state)
{
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/====  \n";
    unsigned int seed = 12345, accepted = 0, lengths = 0;
    char in[80], clean[80];
    unsigned char want[80];
    int round, n, k, m;
    (void)state;
    for (round = 0; round < 200000; round++) {
        apr_size_t got_len = 0;
        const char *got;
        flexsaml_b64_error err;
        n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 65;
        for (k = m = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            in[k] = chars[(seed >> 16) % (sizeof(chars) - 1)];
            /* Mostly data, so that valid texts of every length occur. */
            if ((seed >> 8) % 4 != 0)
                in[k] = chars[(seed >> 16) % 64];
            if (in[k] != ' ' && in[k] != '\n')
                clean[m++] = in[k];
        }
        in[n] = clean[m] = '\0';
        got = flexsaml_b64_decode_strict(pool, in, (apr_size_t)n, &got_len, &err);
        if (!got)
            continue;
        accepted++;
        lengths |= 1u << (got_len % 32);
        assert_int_equal(err.status, FLEXSAML_B64_OK);
        assert_int_equal(got_len, apr_base64_decode_binary(want, clean));
        assert_memory_equal(got, want, got_len);
        assert_int_equal(got[got_len], '\0');
    }
    assert_true(accepted > 1000);
    assert_int_equal(lengths & 0x1fffeu, 0x1fffeu); /* every output length 1..16 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_strict_base64_with_whitespace),
        cmocka_unit_test(test_refuses_and_says_why),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_same_bytes_as_apr),
    };
    return cmocka_run_group_tests(tests, apr_group_setup, apr_group_teardown);
}
