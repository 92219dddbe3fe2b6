/* The login-state cookie: round trips, the bound on pending logins, every
 * altered byte, another key or associated data, expiry and the size cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_encode.h>

#include "login_state.h"
#include "seal.h"

#define PASS "correct horse battery staple"
#define NOW apr_time_from_sec(1800000000)
#define AAD "mod_flexsaml/login-state/v1|https://sp/|sp:443|flexsaml_login"

static flexsaml_sealer *random_sealer(void)
{
    flexsaml_sealer *s = NULL;
    assert_null(flexsaml_sealer_random(pool, &s));
    return s;
}

static flexsaml_sealer *passphrase_sealer(const char *pass)
{
    apr_array_header_t *pp = apr_array_make(pool, 1, sizeof(const char *));
    flexsaml_sealer *s = NULL, *d = NULL;
    APR_ARRAY_PUSH(pp, const char *) = pass;
    assert_null(flexsaml_sealer_create(pool, pp, "https://sp.example/md", &s));
    assert_null(flexsaml_sealer_derive(pool, s, "login-state", &d));
    return d;
}

static apr_array_header_t *empty(void)
{
    return apr_array_make(pool, 4, sizeof(flexsaml_login_state));
}

static void add(apr_array_header_t *a, const char *id, const char *url, apr_time_t expires)
{
    flexsaml_login_state st = {id, url, expires, 0, NULL};
    assert_true(flexsaml_login_state_add(pool, a, &st, NOW));
}

static const char *one(const flexsaml_sealer *s, const char *id, const char *url)
{
    apr_array_header_t *a = empty();
    const char *v;
    add(a, id, url, NOW + apr_time_from_sec(600));
    v = flexsaml_login_state_encode(pool, s, AAD, a);
    assert_non_null(v);
    return v;
}

static void test_round_trip(void **state)
{
    flexsaml_sealer *s = random_sealer();
    apr_array_header_t *a = empty(), *b;
    flexsaml_login_state got;
    const char *v;
    (void)state;
    add(a, "_abc", "/protected/env.cgi?a=1 b", NOW + apr_time_from_sec(600));
    add(a, "_def", "", NOW + apr_time_from_sec(300));
    v = flexsaml_login_state_encode(pool, s, AAD, a);
    assert_non_null(v);
    assert_null(strpbrk(v, "+/=;, "));
    assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, v, &b), FLEXSAML_LS_OK);
    assert_int_equal(b->nelts, 2);
    assert_int_equal(flexsaml_login_state_take(b, "_def", NOW, &got), FLEXSAML_LS_OK);
    assert_string_equal(got.return_to, "");
    assert_int_equal(flexsaml_login_state_take(b, "_abc", NOW, &got), FLEXSAML_LS_OK);
    assert_string_equal(got.return_to, "/protected/env.cgi?a=1 b");
    assert_true(got.expires == NOW + apr_time_from_sec(600));
    assert_int_equal(b->nelts, 0);
    assert_int_equal(flexsaml_login_state_take(b, "_abc", NOW, &got), FLEXSAML_LS_NO_MATCH);
}

static void test_absent(void **state)
{
    apr_array_header_t *b;
    (void)state;
    assert_int_equal(flexsaml_login_state_decode(pool, random_sealer(), AAD, NULL, &b),
                     FLEXSAML_LS_ABSENT);
    assert_int_equal(flexsaml_login_state_decode(pool, random_sealer(), AAD, "", &b),
                     FLEXSAML_LS_ABSENT);
    assert_non_null(b);
    assert_int_equal(b->nelts, 0);
}

static void test_bound_drops_the_oldest(void **state)
{
    flexsaml_sealer *s = random_sealer();
    apr_array_header_t *a = empty(), *b;
    flexsaml_login_state got;
    int i;
    (void)state;
    for (i = 0; i < FLEXSAML_LOGIN_STATES_MAX + 2; i++)
        add(a, apr_psprintf(pool, "_id%d", i), "/", NOW + apr_time_from_sec(600 + i));
    assert_int_equal(a->nelts, FLEXSAML_LOGIN_STATES_MAX);
    assert_int_equal(
        flexsaml_login_state_decode(pool, s, AAD, flexsaml_login_state_encode(pool, s, AAD, a), &b),
        FLEXSAML_LS_OK);
    assert_int_equal(flexsaml_login_state_take(b, "_id0", NOW, &got), FLEXSAML_LS_NO_MATCH);
    assert_int_equal(flexsaml_login_state_take(b, "_id1", NOW, &got), FLEXSAML_LS_NO_MATCH);
    for (i = 2; i < FLEXSAML_LOGIN_STATES_MAX + 2; i++)
        assert_int_equal(flexsaml_login_state_take(b, apr_psprintf(pool, "_id%d", i), NOW, &got),
                         FLEXSAML_LS_OK);
}

static void test_expired_states(void **state)
{
    apr_array_header_t *a = empty();
    flexsaml_login_state got, late = {"_late", "/", NOW + apr_time_from_sec(10), 0, NULL};
    (void)state;
    add(a, "_old", "/", NOW + apr_time_from_sec(1));
    assert_int_equal(flexsaml_login_state_take(a, "_old", NOW + apr_time_from_sec(1), &got),
                     FLEXSAML_LS_EXPIRED);
    /* Adding drops the states that expired. */
    add(a, "_gone", "/", NOW + apr_time_from_sec(1));
    assert_true(flexsaml_login_state_add(pool, a, &late, NOW + apr_time_from_sec(5)));
    assert_int_equal(a->nelts, 1);
    assert_int_equal(flexsaml_login_state_take(a, "_late", NOW + apr_time_from_sec(9), &got),
                     FLEXSAML_LS_OK);
}

static void test_every_altered_byte_is_refused(void **state)
{
    flexsaml_sealer *s = random_sealer();
    const char *v = one(s, "_abc", "/x");
    apr_size_t i, n = strlen(v);
    apr_array_header_t *b;
    (void)state;
    for (i = 0; i < n; i++) {
        char *bad = apr_pstrdup(pool, v);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        /* The last character may carry unused bits: when they alone change,
         * the decoded bytes are the same. */
        if (i == n - 1)
            continue;
        assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, bad, &b), FLEXSAML_LS_INVALID);
        assert_int_equal(b->nelts, 0);
    }
    assert_int_equal(
        flexsaml_login_state_decode(pool, s, AAD, apr_pstrcat(pool, v, "AA", NULL), &b),
        FLEXSAML_LS_INVALID);
    assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, apr_pstrndup(pool, v, n - 2), &b),
                     FLEXSAML_LS_INVALID);
    assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, "not base64!", &b),
                     FLEXSAML_LS_INVALID);
}

static void test_another_key_or_aad_is_refused(void **state)
{
    flexsaml_sealer *s = random_sealer();
    const char *v = one(s, "_abc", "/x");
    apr_array_header_t *b;
    (void)state;
    assert_int_equal(flexsaml_login_state_decode(pool, random_sealer(), AAD, v, &b),
                     FLEXSAML_LS_INVALID);
    assert_int_equal(
        flexsaml_login_state_decode(
            pool, s, flexsaml_login_state_aad(pool, "https://sp/", "other:443", "flexsaml_login"),
            v, &b),
        FLEXSAML_LS_INVALID);
    assert_string_equal(flexsaml_login_state_aad(pool, "https://sp/", "sp:443", "flexsaml_login"),
                        AAD);
}

static void test_passphrase_key_is_shared_and_separate(void **state)
{
    flexsaml_sealer *a = passphrase_sealer(PASS), *b = passphrase_sealer(PASS);
    apr_array_header_t *pp = apr_array_make(pool, 1, sizeof(const char *)), *out;
    flexsaml_sealer *sessions = NULL;
    const char *v = one(a, "_abc", "/x");
    apr_size_t n;
    (void)state;
    /* Two servers with one passphrase open each other's state... */
    assert_int_equal(flexsaml_login_state_decode(pool, b, AAD, v, &out), FLEXSAML_LS_OK);
    assert_int_equal(flexsaml_login_state_decode(pool, passphrase_sealer("another passphrase 123"),
                                                 AAD, v, &out),
                     FLEXSAML_LS_INVALID);
    /* ...and the session key is another key. */
    APR_ARRAY_PUSH(pp, const char *) = PASS;
    assert_null(flexsaml_sealer_create(pool, pp, "https://sp.example/md", &sessions));
    assert_int_equal(flexsaml_login_state_decode(pool, sessions, AAD, v, &out),
                     FLEXSAML_LS_INVALID);
    assert_null(
        flexsaml_unseal(pool, sessions, "k", 1, flexsaml_seal(pool, a, "k", 1, "x", 1, &n), n, &n));
}

/* The cookie value of one plaintext, sealed as the module seals. */
static const char *sealed(const flexsaml_sealer *s, const char *plain)
{
    apr_size_t n = 0, olen = 0;
    const char *bin = flexsaml_seal(pool, s, AAD, strlen(AAD), plain, strlen(plain), &n);
    assert_non_null(bin);
    return apr_pencode_base64_binary(pool, (const unsigned char *)bin, (apr_ssize_t)n,
                                     APR_ENCODE_BASE64URL | APR_ENCODE_NOPADDING, &olen);
}

/* A step-up's demands travel with its state; a plain state (and a cookie
 * written before step-ups existed) reads as demanding nothing. */
static void test_step_up_round_trip(void **state)
{
    flexsaml_sealer *s = random_sealer();
    apr_array_header_t *a = empty(), *b;
    flexsaml_login_state st = {"_up", "/admin/", NOW + apr_time_from_sec(600), NOW,
                               "urn:a:mfa,urn:b:hw"},
                         got;
    const char *v;
    (void)state;
    assert_true(flexsaml_login_state_add(pool, a, &st, NOW));
    st.request_id = "_ctx";
    st.authn_after = 0;
    st.contexts = "urn:a:mfa";
    assert_true(flexsaml_login_state_add(pool, a, &st, NOW));
    add(a, "_plain", "/", NOW + apr_time_from_sec(600));
    v = flexsaml_login_state_encode(pool, s, AAD, a);
    assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, v, &b), FLEXSAML_LS_OK);
    assert_int_equal(flexsaml_login_state_take(b, "_up", NOW, &got), FLEXSAML_LS_OK);
    assert_true(got.authn_after == NOW);
    assert_string_equal(got.contexts, "urn:a:mfa,urn:b:hw");
    assert_string_equal(got.return_to, "/admin/");
    assert_int_equal(flexsaml_login_state_take(b, "_ctx", NOW, &got), FLEXSAML_LS_OK);
    assert_true(got.authn_after == 0);
    assert_string_equal(got.contexts, "urn:a:mfa");
    assert_int_equal(flexsaml_login_state_take(b, "_plain", NOW, &got), FLEXSAML_LS_OK);
    assert_true(got.authn_after == 0);
    assert_null(got.contexts);

    /* As written before step-ups: one plain line. */
    v = sealed(s, "L1\n1800000600 _old /x\n");
    assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, v, &b), FLEXSAML_LS_OK);
    assert_int_equal(flexsaml_login_state_take(b, "_old", NOW, &got), FLEXSAML_LS_OK);
    assert_true(got.authn_after == 0);
    assert_null(got.contexts);
    /* Malformed step-up fields refuse the whole cookie. */
    assert_int_equal(
        flexsaml_login_state_decode(pool, s, AAD, sealed(s, "L1\n1800000600, _x /\n"), &b),
        FLEXSAML_LS_INVALID);
    assert_int_equal(
        flexsaml_login_state_decode(pool, s, AAD, sealed(s, "L1\n1800000600,-1, _x /\n"), &b),
        FLEXSAML_LS_INVALID);
    assert_int_equal(
        flexsaml_login_state_decode(pool, s, AAD, sealed(s, "L1\n1800000600,07,u _x /\n"), &b),
        FLEXSAML_LS_INVALID);
    assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, sealed(s, "L1\n,5,u _x /\n"), &b),
                     FLEXSAML_LS_INVALID);
    /* Contexts with a control character or over the cap are not kept. */
    st.contexts = "urn:a\x01";
    assert_false(flexsaml_login_state_add(pool, a, &st, NOW));
    {
        char big[FLEXSAML_LOGIN_STATE_MAX_CONTEXTS + 2];
        memset(big, 'c', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        st.contexts = big;
        assert_false(flexsaml_login_state_add(pool, a, &st, NOW));
    }
}

static void test_size_cap(void **state)
{
    flexsaml_sealer *s = random_sealer();
    apr_array_header_t *a = empty(), *b;
    char url[FLEXSAML_LOGIN_STATE_MAX_URL + 2], id[FLEXSAML_LOGIN_STATE_MAX_ID + 2];
    flexsaml_login_state got, long_id;
    const char *v;
    int i;
    (void)state;
    memset(url, 'u', sizeof(url) - 1);
    url[0] = '/';
    url[sizeof(url) - 1] = '\0';
    memset(id, 'i', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    long_id = (flexsaml_login_state){id, "/", NOW + apr_time_from_sec(600), 0, NULL};
    assert_false(flexsaml_login_state_add(pool, a, &long_id, NOW));
    id[FLEXSAML_LOGIN_STATE_MAX_ID] = '\0';
    /* A URL over the cap is kept as "" (the login lands on the default). */
    url[FLEXSAML_LOGIN_STATE_MAX_URL + 1] = '\0';
    for (i = 0; i < FLEXSAML_LOGIN_STATES_MAX; i++) {
        id[0] = (char)('a' + i);
        add(a, id, url, NOW + apr_time_from_sec(600));
    }
    assert_string_equal(APR_ARRAY_IDX(a, 0, flexsaml_login_state).return_to, "");
    url[FLEXSAML_LOGIN_STATE_MAX_URL] = '\0';
    a = empty();
    for (i = 0; i < FLEXSAML_LOGIN_STATES_MAX; i++) {
        id[0] = (char)('a' + i);
        add(a, id, url, NOW + apr_time_from_sec(600));
    }
    v = flexsaml_login_state_encode(pool, s, AAD, a);
    /* The largest state list stays well under a browser's 4096 bytes. */
    assert_true(strlen(v) < 3000);
    assert_int_equal(flexsaml_login_state_decode(pool, s, AAD, v, &b), FLEXSAML_LS_OK);
    assert_int_equal(flexsaml_login_state_take(b, id, NOW, &got), FLEXSAML_LS_OK);
    assert_string_equal(got.return_to, url);
    /* Control characters never enter the state. */
    {
        flexsaml_login_state nl = {"_x\n", "/", NOW + 1, 0, NULL};
        assert_false(flexsaml_login_state_add(pool, a, &nl, NOW));
        add(a, "_y", "/a\nb", NOW + apr_time_from_sec(600));
        assert_string_equal(APR_ARRAY_IDX(a, a->nelts - 1, flexsaml_login_state).return_to, "");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_step_up_round_trip),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_bound_drops_the_oldest),
        cmocka_unit_test(test_expired_states),
        cmocka_unit_test(test_every_altered_byte_is_refused),
        cmocka_unit_test(test_another_key_or_aad_is_refused),
        cmocka_unit_test(test_passphrase_key_is_shared_and_separate),
        cmocka_unit_test(test_size_cap),
    };
    return cmocka_run_group_tests(tests, apr_group_setup, apr_group_teardown);
}
