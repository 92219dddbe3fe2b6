/* The sealing of stored values: round trips, tampering, a value moved to
 * another key, rotation between passphrases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>
#include <apr_strings.h>

#include "seal.h"

static flexsaml_sealer *sealer(const char *a, const char *b)
{
    apr_array_header_t *pp = apr_array_make(pool, 2, sizeof(const char *));
    flexsaml_sealer *s = NULL;
    APR_ARRAY_PUSH(pp, const char *) = a;
    if (b)
        APR_ARRAY_PUSH(pp, const char *) = b;
    assert_null(flexsaml_sealer_create(pool, pp, "https://sp.example/md", &s));
    return s;
}

#define OLD "correct horse battery staple"
#define NEW "a much newer passphrase, 2026"

static void test_round_trip(void **state)
{
    flexsaml_sealer *s = sealer(OLD, NULL);
    const char *msg = "email=alice@example.com";
    apr_size_t n, m;
    const char *sealed = flexsaml_seal(pool, s, "skey", 4, msg, strlen(msg), &n);
    const char *opened;
    (void)state;
    assert_non_null(sealed);
    assert_int_equal(n, strlen(msg) + 34);
    assert_null(memmem(sealed, n, "alice", 5));
    opened = flexsaml_unseal(pool, s, "skey", 4, sealed, n, &m);
    assert_non_null(opened);
    assert_int_equal(m, strlen(msg));
    assert_memory_equal(opened, msg, m);
    /* Empty values seal too. */
    sealed = flexsaml_seal(pool, s, "k", 1, "", 0, &n);
    assert_non_null(flexsaml_unseal(pool, s, "k", 1, sealed, n, &m));
    assert_int_equal(m, 0);
}

static void test_fresh_nonce_each_time(void **state)
{
    flexsaml_sealer *s = sealer(OLD, NULL);
    apr_size_t n1, n2;
    const char *a = flexsaml_seal(pool, s, "k", 1, "same", 4, &n1);
    const char *b = flexsaml_seal(pool, s, "k", 1, "same", 4, &n2);
    (void)state;
    assert_int_equal(n1, n2);
    assert_memory_not_equal(a, b, n1);
}

static void test_tampering_and_moves_fail(void **state)
{
    flexsaml_sealer *s = sealer(OLD, NULL);
    apr_size_t n, m, i;
    const char *sealed = flexsaml_seal(pool, s, "s:abc", 5, "roles=admin", 11, &n);
    (void)state;
    /* Another store key: a value cannot be moved. */
    assert_null(flexsaml_unseal(pool, s, "s:abd", 5, sealed, n, &m));
    /* Every single bit flip is detected. */
    for (i = 0; i < n * 8; i++) {
        char *c = apr_pmemdup(pool, sealed, n);
        c[i / 8] ^= (char)(1 << (i % 8));
        assert_null(flexsaml_unseal(pool, s, "s:abc", 5, c, n, &m));
    }
    /* Truncations. */
    for (i = 0; i < n; i++)
        assert_null(flexsaml_unseal(pool, s, "s:abc", 5, sealed, i, &m));
    /* A plain, unsealed value is not accepted. */
    assert_null(flexsaml_unseal(pool, s, "s:abc", 5, "FS\x01plain text value here", 24, &m));
}

static void test_rotation(void **state)
{
    flexsaml_sealer *old = sealer(OLD, NULL);
    flexsaml_sealer *both = sealer(NEW, OLD);
    flexsaml_sealer *only_new = sealer(NEW, NULL);
    apr_size_t n, m;
    const char *by_old = flexsaml_seal(pool, old, "k", 1, "v", 1, &n);
    const char *by_both;
    (void)state;
    assert_non_null(flexsaml_unseal(pool, both, "k", 1, by_old, n, &m));
    assert_null(flexsaml_unseal(pool, only_new, "k", 1, by_old, n, &m));
    by_both = flexsaml_seal(pool, both, "k", 1, "v", 1, &n);
    assert_non_null(flexsaml_unseal(pool, only_new, "k", 1, by_both, n, &m));
    assert_null(flexsaml_unseal(pool, old, "k", 1, by_both, n, &m));
}

/* A preserved POST's key lives in the browser: the same 32 bytes open what
 * they sealed, any other key does not, and wiping clears them. */
static void test_from_key(void **state)
{
    unsigned char key[FLEXSAML_SEAL_KEY_LEN], other[FLEXSAML_SEAL_KEY_LEN];
    flexsaml_sealer *a = NULL, *b = NULL, *c = NULL;
    const char *sealed, *opened;
    apr_size_t n = 0, m = 0;
    (void)state;
    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    assert_null(flexsaml_sealer_from_key(pool, key, &a));
    assert_null(flexsaml_sealer_from_key(pool, key, &b));
    assert_null(flexsaml_sealer_from_key(pool, other, &c));
    sealed = flexsaml_seal(pool, a, "aad", 3, "body", 4, &n);
    assert_non_null(sealed);
    opened = flexsaml_unseal(pool, b, "aad", 3, sealed, n, &m);
    assert_non_null(opened);
    assert_int_equal(m, 4);
    assert_memory_equal(opened, "body", 4);
    assert_null(flexsaml_unseal(pool, c, "aad", 3, sealed, n, &m));
    assert_null(flexsaml_unseal(pool, b, "aae", 3, sealed, n, &m));
    flexsaml_wipe(key, sizeof(key));
    for (size_t i = 0; i < sizeof(key); i++)
        assert_int_equal(key[i], 0);
}

static void test_weak_passphrase_refused(void **state)
{
    apr_array_header_t *pp = apr_array_make(pool, 1, sizeof(const char *));
    flexsaml_sealer *s = NULL;
    (void)state;
    APR_ARRAY_PUSH(pp, const char *) = "short";
    assert_non_null(flexsaml_sealer_create(pool, pp, "https://sp.example/md", &s));
    assert_non_null(flexsaml_sealer_create(pool, apr_array_make(pool, 1, sizeof(char *)),
                                           "https://sp.example/md", &s));
}

/* One passphrase on two sites gives two keys: a guess made offline against
 * one site's dump is no use on another, nor precomputed for all. */
static void test_salt_is_per_site(void **state)
{
    apr_array_header_t *pp = apr_array_make(pool, 1, sizeof(const char *));
    flexsaml_sealer *a = NULL, *b = NULL;
    const char *sealed, *back;
    apr_size_t n, m;
    (void)state;
    APR_ARRAY_PUSH(pp, const char *) = OLD;
    assert_null(flexsaml_sealer_create(pool, pp, "https://a.example/md", &a));
    assert_null(flexsaml_sealer_create(pool, pp, "https://b.example/md", &b));
    sealed = flexsaml_seal(pool, a, "k", 1, "secret", 6, &n);
    assert_non_null(sealed);
    assert_null(flexsaml_unseal(pool, b, "k", 1, sealed, n, &m));
    /* Not even the key id is shared. */
    assert_memory_not_equal(sealed + 2, flexsaml_seal(pool, b, "k", 1, "secret", 6, &m) + 2, 4);
    back = flexsaml_unseal(pool, a, "k", 1, sealed, n, &m);
    assert_non_null(back);
    assert_memory_equal(back, "secret", 6);
    assert_non_null(flexsaml_sealer_create(pool, pp, "", &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_fresh_nonce_each_time),
        cmocka_unit_test(test_tampering_and_moves_fail),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_weak_passphrase_refused),
        cmocka_unit_test(test_salt_is_per_site),
        cmocka_unit_test(test_from_key),
    };
    return cmocka_run_group_tests(tests, apr_group_setup, apr_group_teardown);
}
