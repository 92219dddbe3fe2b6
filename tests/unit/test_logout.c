/* Single Logout messages on the Redirect binding: what the SP sends verifies
 * with its certificate, and what it reads must be signed by the IdP. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_escape.h>
#include <apr_base64.h>

#include <openssl/pem.h>

#include "flexsaml_sp.h"
#include "logout.h"
#include "query_sign.h"

static const char *slurp(const char *name)
{
    char path[512], buf[8192];
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "%s/tests/unit/data/%s", FLEXSAML_SRCDIR, name);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    return apr_pstrmemdup(pool, buf, n);
}

static apr_array_header_t *certs(const char *name)
{
    apr_array_header_t *a = apr_array_make(pool, 1, sizeof(const char *));
    const char *b64;
    assert_null(flexsaml_cert_parse(pool, slurp(name), &b64, NULL, NULL));
    APR_ARRAY_PUSH(a, const char *) = b64;
    return a;
}

static void test_request_round_trip(void **state)
{
    const char *url, *id, *err;
    flexsaml_logout_msg m;
    (void)state;
    err = flexsaml_logout_request_url(pool, "https://idp.example/slo?x=1", "https://sp.example/md",
                                      "ada@example.com", "sess-1", "/back", slurp("sp-key.pem"),
                                      &url, &id);
    assert_null(err);
    assert_non_null(strstr(url, "https://idp.example/slo?x=1&SAMLRequest="));
    assert_non_null(
        strstr(url, "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"));
    /* Read back as the IdP would, with the SP certificate. */
    assert_null(flexsaml_logout_read(pool, strchr(url, '?') + 5, certs("sp-cert.pem"), &m));
    assert_true(m.is_request);
    assert_string_equal(m.id, id);
    assert_string_equal(m.name_id, "ada@example.com");
    assert_string_equal(m.session_index, "sess-1");
    assert_string_equal(m.issuer, "https://sp.example/md");
    assert_string_equal(m.relay_state, "/back");
    /* Another certificate does not verify it. */
    assert_non_null(flexsaml_logout_read(pool, strchr(url, '?') + 5, certs("idp-cert.pem"), &m));
}

static void test_response_and_tampering(void **state)
{
    const char *url, *q;
    char *bad;
    flexsaml_logout_msg m;
    (void)state;
    assert_null(flexsaml_logout_response_url(pool, "https://sp.example/logout", "issuer", "_req1",
                                             1, NULL, slurp("sp-key.pem"), &url));
    q = strchr(url, '?') + 1;
    assert_null(flexsaml_logout_read(pool, q, certs("sp-cert.pem"), &m));
    assert_false(m.is_request);
    assert_true(m.success);
    assert_string_equal(m.in_response_to, "_req1");
    /* One changed character of the message breaks the signature. */
    bad = apr_pstrdup(pool, q);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    assert_non_null(flexsaml_logout_read(pool, bad, certs("sp-cert.pem"), &m));
    /* No signature at all. */
    bad = apr_pstrdup(pool, q);
    *strstr(bad, "&SigAlg=") = '\0';
    assert_non_null(flexsaml_logout_read(pool, bad, certs("sp-cert.pem"), &m));
    assert_non_null(flexsaml_logout_read(pool, "", certs("sp-cert.pem"), &m));
    assert_non_null(flexsaml_logout_read(pool, "SAMLResponse=%%%&SigAlg=x&Signature=y",
                                         certs("sp-cert.pem"), &m));
}

static void test_check_destination_times_and_id(void **state)
{
    const char *dest = "https://sp.example/flexsaml/logout";
    apr_time_t now = apr_time_from_sec(1800000000);
    apr_interval_time_t skew = apr_time_from_sec(60), age = apr_time_from_sec(300);
    flexsaml_logout_msg m;
    flexsaml_refusal why;
    (void)state;
    memset(&m, 0, sizeof(m));
    m.id = "_1";
    m.destination = dest;
    m.issued = now - apr_time_from_sec(10);
    assert_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    assert_int_equal(why, FLEXSAML_R_NONE);
    m.destination = "https://other.example/flexsaml/logout";
    assert_non_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    assert_int_equal(why, FLEXSAML_R_DESTINATION_MISMATCH);
    m.destination = NULL;
    assert_non_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    assert_int_equal(why, FLEXSAML_R_DESTINATION_MISMATCH);
    m.destination = dest;
    m.issued = now - skew - age - 1;
    assert_non_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    assert_int_equal(why, FLEXSAML_R_EXPIRED);
    m.issued = now + skew + 1;
    assert_non_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    assert_int_equal(why, FLEXSAML_R_NOT_YET_VALID);
    m.issued = 0;
    assert_non_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    m.issued = now;
    m.not_on_or_after = now - skew;
    assert_non_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    assert_int_equal(why, FLEXSAML_R_EXPIRED);
    m.not_on_or_after = now + 1;
    assert_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
    m.id = NULL;
    assert_non_null(flexsaml_logout_check(pool, &m, dest, now, skew, age, &why));
}

/* The key parsed once signs the query and SigAlg; the SP certificate
 * verifies it. */
static void test_query_sign(void **state)
{
    EVP_PKEY *key = flexsaml_query_key(pool, slurp("sp-key.pem"));
    const char *out, *sig_b64, *signed_part;
    char *sig_raw;
    unsigned char sig[1024];
    int n;
    BIO *bio;
    X509 *x;
    EVP_MD_CTX *ctx;
    (void)state;
    assert_non_null(key);
    assert_null(flexsaml_query_key(pool, "not a key"));
    assert_string_equal(flexsaml_query_escape(pool, "a b/~"), "a%20b%2F~");
    out = flexsaml_query_sign(pool, "SAMLRequest=abc&RelayState=%2F", key);
    assert_non_null(out);
    sig_b64 = strstr(out, "&Signature=");
    assert_non_null(sig_b64);
    signed_part = apr_pstrmemdup(pool, out, (apr_size_t)(sig_b64 - out));
    assert_string_equal(signed_part, "SAMLRequest=abc&RelayState=%2F&SigAlg=http%3A%2F%2Fwww.w3.org"
                                     "%2F2001%2F04%2Fxmldsig-more%23rsa-sha256");
    sig_raw = apr_pstrdup(pool, sig_b64 + strlen("&Signature="));
    assert_int_equal(apr_unescape_url(sig_raw, sig_raw, strlen(sig_raw) + 1, NULL, NULL, 0, NULL),
                     APR_SUCCESS);
    n = apr_base64_decode_binary(sig, sig_raw);
    bio = BIO_new_mem_buf(slurp("sp-cert.pem"), -1);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, X509_get0_pubkey(x)), 1);
    assert_int_equal(EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)signed_part,
                                      strlen(signed_part)),
                     1);
    EVP_MD_CTX_free(ctx);
    X509_free(x);
    BIO_free(bio);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_response_and_tampering),
        cmocka_unit_test(test_check_destination_times_and_id),
        cmocka_unit_test(test_query_sign),
    };
    return cmocka_run_group_tests(tests, apr_group_setup, apr_group_teardown);
}
