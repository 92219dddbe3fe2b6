/*
 * libFuzzer harness for the ACS: a SAMLResponse through the whole SAML core
 * (base64, the libxml2 shape check, Lasso's signature verification, the
 * module's checks on the verified node, identity extraction), in process,
 * with a fixed test configuration and no httpd.
 *
 * Input: raw XML when the first byte is '<' (the harness base64-encodes it,
 * so the fuzzer mutates XML, not base64), otherwise the form value itself
 * (whitespace, padding and alphabet of the base64 decoder).
 *
 * Oracle beyond "no crash, no leak, no UB": a response is only ever accepted
 * for a person the test IdP really signed for (Alice or Sam in the seeds),
 * with a non-empty Flex role set. Any other accepted identity means a
 * signature or consumed-node bypass, and aborts.
 *
 * Seeds (tests/fuzz/corpus/acs): valid and broken Okta-shaped responses
 * made with tests/idp/saml.py (build_response_tree + sign) at
 * 2026-01-01T00:00:00Z with the key of FUZZ_IDP_CERT below; assertion ID
 * id00000000000000000000000001. To make new ones, create a key with
 * saml.make_keys(dir, cn="flexsaml-fuzz-idp"), replace FUZZ_IDP_CERT, and
 * sign with the same issuer, audience, ACS URL and time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_base64.h>

#include "flexsaml_sp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISSUER "http://www.okta.com/exk1flexsamlfuzz0h7"
#define SSO_URL "https://example.okta.com/app/example/exk1flexsamlfuzz0h7/sso/saml"
#define SP_ENTITY "https://sp.example/flexsaml/metadata"
#define ACS_URL "https://sp.example/flexsaml/acs"
/* 2026-01-01T00:00:10Z: the seeds are valid then. */
#define NOW_SEC 1767225610

static const char FUZZ_IDP_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIID7TCCAtWgAwIBAgIUGUw0+lgwse6Z7rqPZ+OhRXMFLMcwDQYJKoZIhvcNAQEL\n"
    "BQAwgYUxCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApDYWxpZm9ybmlhMRYwFAYDVQQH\n"
    "DA1TYW4gRnJhbmNpc2NvMRcwFQYDVQQKDA5mbGV4c2FtbCB0ZXN0czEUMBIGA1UE\n"
    "CwwLU1NPUHJvdmlkZXIxGjAYBgNVBAMMEWZsZXhzYW1sLWZ1enotaWRwMB4XDTI2\n"
    "MTEyODA3MjcyNloXDTM2MTEyNTA3MjcyNlowgYUxCzAJBgNVBAYTAlVTMRMwEQYD\n"
    "VQQIDApDYWxpZm9ybmlhMRYwFAYDVQQHDA1TYW4gRnJhbmNpc2NvMRcwFQYDVQQK\n"
    "DA5mbGV4c2FtbCB0ZXN0czEUMBIGA1UECwwLU1NPUHJvdmlkZXIxGjAYBgNVBAMM\n"
    "EWZsZXhzYW1sLWZ1enotaWRwMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKC\n"
    "AQEAmUiZKCYv3YBnhrhv5ktRrAzJN3as5lHP5sXeqtigDs/OoClhzRURWT06qi8B\n"
    "X5EwA8A5EDVydX1O7OHHY2mn2lIuT277pDqpwnVZFxFEKDld3GYPoYXsgKL419Oj\n"
    "zEg+QmBAIf+AFEhqEH/OzSZtyhHMgqAOOY2zu9tOTvcXY1AKG22kmG+K5VHQxiUB\n"
    "iVpXlIfR/h9b9NTYfyNlHcIuJt5Cn/pVyfnQ8YcQhz8id9SIwCD7P/eO/ntDVHPm\n"
    "zzGlts+qHPK2XeCB7fjzZgWEA9alVfWFMY7PJJag1UtDvujQuWyMZPUBa2XDQZlk\n"
    "rtY2VhCLWKU5BNTK/Al2M8NDAwIDAQABo1MwUTAdBgNVHQ4EFgQUrjho3HS2eu25\n"
    "Oax1B+siEvl8TUEwHwYDVR0jBBgwFoAUrjho3HS2eu25Oax1B+siEvl8TUEwDwYD\n"
    "VR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAlTquHj7J9zxw1hxLJK6Z\n"
    "6PDjy2lEFn8SAFlv+xHpjY79XWgWPVNmo58G0phCZm9B+6K9KXiaenjgGbgW2KN1\n"
    "Yy7pq04yIp9lbDseipzbFmUVcoqk75WQ41kQx2/L3mat/gB7MCFcUmYOjDoTJfE0\n"
    "rDc5QEosxDMMvyMG/FeJ+hlb40yzs82P7RVNGpQJMCdQxp1bsXWSxlnUyAIF+D79\n"
    "U5nnjCPOUfFaj+ucF/lNqjz0VGVrKd0TCHILUDvpVXTBFlQ1uBpYre8CwcTTEKkC\n"
    "2lDnLwIVpyEbxfHcujD2Zs1ORi+staiWD8OItuVxfV4LBLWLaEps8Q0jInONsXnf\n"
    "nQ==\n"
    "-----END CERTIFICATE-----\n";

static apr_pool_t *root_pool;
static flexsaml_sp *sp;
static int verbose; /* FUZZ_ACS_VERBOSE=1: print each verdict (to check seeds) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    flexsaml_sp_policy pol;
    flexsaml_idp *idp;
    const char *err;

    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_ACS_VERBOSE") != NULL;
    apr_initialize();
    apr_pool_create(&root_pool, NULL);
    if ((err = flexsaml_sp_global_init()) != NULL ||
        (err = flexsaml_idp_from_fields(root_pool, FUZZ_IDP_CERT, SSO_URL, ISSUER, &idp)) != NULL) {
        fprintf(stderr, "fuzz_acs: %s\n", err);
        abort();
    }
    memset(&pol, 0, sizeof(pol));
    pol.sp_entity_id = SP_ENTITY;
    pol.require_signed_response = 0; /* both paths: Response+Assertion, Assertion only */
    pol.allow_sha1 = 0;
    pol.clock_skew = 60;
    pol.require_flex_role = 1;
    pol.roles.map = NULL;
    pol.roles.unknown = FLEXSAML_UNKNOWN_DROP;
    pol.roles_attribute = "roles";
    pol.user_attribute = NULL;
    pol.max_attr_bytes = 16 * 1024;
    pol.max_total_bytes = 24 * 1024;
    if ((err = flexsaml_sp_create(root_pool, &pol, idp, NULL, NULL, &sp)) != NULL) {
        fprintf(stderr, "fuzz_acs: %s\n", err);
        abort();
    }
    return 0;
}

static int one_of(const char *v, const char *a, const char *b)
{
    return v && (!strcmp(v, a) || !strcmp(v, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    flexsaml_sp_result res;
    const char *b64;
    apr_size_t len;

    if (size > 256 * 1024)
        return 0;
    apr_pool_create(&p, root_pool);
    if (size > 0 && data[0] == '<') {
        char *enc = apr_palloc(p, apr_base64_encode_len((int)size));
        len = (apr_size_t)apr_base64_encode(enc, (const char *)data, (int)size);
        while (len > 0 && enc[len - 1] == '\0') /* the length counts the NUL */
            len--;
        b64 = enc;
    } else {
        b64 = apr_pstrmemdup(p, (const char *)data, size);
        len = strlen(b64); /* the ACS gets a C string from the form */
    }
    flexsaml_sp_process_response(p, sp, b64, len, ACS_URL, apr_time_from_sec(NOW_SEC), &res);
    if (verbose)
        fprintf(stderr, "fuzz_acs: %s: %s\n",
                res.reason ? flexsaml_refusal_code(res.reason) : "accepted",
                res.reason ? res.detail : res.ident.name_id);
    if (!res.reason) {
        const flexsaml_identity *id = &res.ident;
        if (!one_of(id->name_id, "alice.agent@example.com", "sam.supervisor@example.com") ||
            !one_of(id->email, "alice.agent@example.com", "sam.supervisor@example.com") ||
            !id->full_name || !id->roles || id->roles->nelts == 0 || !res.assertion_id ||
            strcmp(res.assertion_id, "id00000000000000000000000001") != 0) {
            fprintf(stderr, "fuzz_acs: accepted an identity the IdP never signed: %s\n",
                    id->name_id ? id->name_id : "(null)");
            abort();
        }
    } else if (!res.detail || !flexsaml_refusal_info(res.reason)) {
        abort(); /* every refusal says why */
    }
    apr_pool_destroy(p);
    return 0;
}
