/* Unit tests of the SAML core parts that need no IdP: timestamps, the IdP
 * description from the three Flex fields, and the response shape checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml_sp.h"
#include "saml_xml.h"

static void test_datetime(void **state)
{
    (void)state;
    assert_int_equal(flexsaml_parse_datetime("1970-01-01T00:00:01Z"), apr_time_from_sec(1));
    assert_int_equal(flexsaml_parse_datetime("2016-07-25T23:20:14.859Z"),
                     apr_time_from_sec(1469488814) + 859000);
    assert_int_equal(flexsaml_parse_datetime("2016-07-25T23:20:14+01:00"),
                     apr_time_from_sec(1469488814 - 3600));
    assert_int_equal(flexsaml_parse_datetime("2016-07-25 23:20:14Z"), 0);
    assert_int_equal(flexsaml_parse_datetime("2016-13-25T23:20:14Z"), 0);
    assert_int_equal(flexsaml_parse_datetime("2016-07-25T23:20:14Zjunk"), 0);
    assert_int_equal(flexsaml_parse_datetime("2016-07-25T23:20:14."), 0);
    assert_int_equal(flexsaml_parse_datetime(""), 0);
    assert_int_equal(flexsaml_parse_datetime(NULL), 0);
}

static const char *shape_reason(const char *xml)
{
    flexsaml_shape s;
    flexsaml_shape_check(pool, xml, strlen(xml), 0, &s);
    return s.reason ? flexsaml_refusal_code(s.reason) : "ok";
}

#define RESP_OPEN                                                                                  \
    "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "                        \
    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"r1\">"                              \
    "<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/>"       \
    "</samlp:Status>"

static void test_shape(void **state)
{
    (void)state;
    assert_string_equal(shape_reason("not xml"), "bad_xml");
    assert_string_equal(
        shape_reason("<!DOCTYPE x [<!ENTITY a \"b\">]>" RESP_OPEN "</samlp:Response>"), "bad_xml");
    assert_string_equal(shape_reason("<?pi x?>" RESP_OPEN "</samlp:Response>"), "bad_xml");
    assert_string_equal(shape_reason("<a/>"), "bad_xml");
    assert_string_equal(shape_reason(RESP_OPEN "</samlp:Response>"), "missing_assertion");
    assert_string_equal(shape_reason(RESP_OPEN "<saml:Assertion ID=\"a\"/><saml:Assertion "
                                               "ID=\"b\"/></samlp:Response>"),
                        "multiple_assertions");
    assert_string_equal(shape_reason(RESP_OPEN "<saml:EncryptedAssertion/></samlp:Response>"),
                        "encrypted_assertion");
    assert_string_equal(shape_reason(RESP_OPEN "<saml:Assertion ID=\"r1\"/></samlp:Response>"),
                        "signature_invalid");
    assert_string_equal(
        shape_reason(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"r\">"
            "<samlp:Status><samlp:StatusCode "
            "Value=\"urn:oasis:names:tc:SAML:2.0:status:Requester\"/></samlp:Status>"
            "</samlp:Response>"),
        "status_not_success");
    /* An unsigned single assertion has an acceptable shape; sp.c refuses it
     * for the missing signature. */
    assert_string_equal(shape_reason(RESP_OPEN "<saml:Assertion ID=\"a\"/></samlp:Response>"),
                        "ok");
    /* A signature outside the Response and Assertion (XSW in Extensions). */
    assert_string_equal(
        shape_reason(RESP_OPEN "<samlp:Extensions><ds:Signature "
                               "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>"
                               "</samlp:Extensions><saml:Assertion ID=\"a\"/></samlp:Response>"),
        "signature_invalid");
}

static const char *read_cert(const char *name)
{
    FILE *f = fopen(apr_pstrcat(pool, FLEXSAML_SRCDIR "/tests/unit/data/", name, NULL), "r");
    char *buf = apr_palloc(pool, 8192);
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, 8191, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static const char *cert_pem(void)
{
    return read_cert("idp-cert.pem");
}

static void test_idp_fields(void **state)
{
    flexsaml_idp *idp = NULL;
    (void)state;
    assert_null(flexsaml_idp_from_fields(pool, cert_pem(),
                                         "https://example.okta.com/app/x/sso/saml",
                                         "http://www.okta.com/exk123", &idp));
    assert_non_null(idp);
    assert_string_equal(idp->entity_id, "http://www.okta.com/exk123");
    assert_int_equal(idp->certs_b64->nelts, 1);
    assert_non_null(strstr(idp->metadata, "entityID=\"http://www.okta.com/exk123\""));
    assert_true(idp->cert_not_after > apr_time_from_sec(1600000000));
    assert_non_null(flexsaml_idp_from_fields(pool, "garbage", "https://x/sso", "i", &idp));
    assert_non_null(flexsaml_idp_from_fields(pool, cert_pem(), "ftp://x/sso", "i", &idp));
    assert_non_null(flexsaml_idp_from_fields(pool, cert_pem(), "https://x/sso", "", &idp));
}

/* Lasso gets an RSA signing key as a bare ds:KeyValue (xmlsec then copies a
 * key, not a certificate, on every check); an EC key keeps its certificate. */
static void test_idp_key_forms(void **state)
{
    flexsaml_idp *idp = NULL;
    (void)state;
    assert_null(flexsaml_idp_from_fields(pool, cert_pem(), "https://x/sso", "i", &idp));
    /* openssl x509 -noout -modulus, as base64 */
    assert_non_null(strstr(idp->metadata,
                           "<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>"
                           "r/2yyftPAoYJh3aP531qWQBV3Tda712KKckaentdsNxd1moHPExV9L7HPdaubmAvwZ8"));
    assert_non_null(strstr(idp->metadata, "H5hXw==</ds:Modulus><ds:Exponent>AQAB</ds:Exponent>"));
    assert_null(strstr(idp->metadata, "X509Certificate"));
    /* the certificate itself is still kept, for expiry and logout checks */
    assert_int_equal(idp->certs_b64->nelts, 1);

    assert_null(
        flexsaml_idp_from_fields(pool, read_cert("idp-ec-cert.pem"), "https://x/sso", "i", &idp));
    assert_non_null(strstr(idp->metadata, "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>MIIB"));
    assert_null(strstr(idp->metadata, "RSAKeyValue"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_idp_fields),
        cmocka_unit_test(test_idp_key_forms),
    };
    return cmocka_run_group_tests(tests, apr_group_setup, apr_group_teardown);
}
