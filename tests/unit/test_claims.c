/* Unit tests for claims.c: defaults, export to env and headers, cleanliness. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml.h"

static int setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

static apr_array_header_t *role_set(apr_pool_t *p, const char *raw)
{
    apr_array_header_t *v = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *set;

    APR_ARRAY_PUSH(v, const char *) = raw;
    flexsaml_roles_parse(p, v, NULL, &set, NULL);
    return set;
}

static flexsaml_identity *identity(apr_pool_t *p)
{
    flexsaml_identity *id = apr_pcalloc(p, sizeof(*id));

    id->name_id = "jdoe@example.com";
    id->full_name = "Jane Doe";
    id->email = "jane@example.com";
    id->attributes = apr_table_make(p, 8);
    apr_table_add(id->attributes, "full_name", "Jane Doe");
    apr_table_add(id->attributes, "email", "jane@example.com");
    /* Raw, unnormalized: the export must not use these. */
    apr_table_add(id->attributes, "roles", "Supervisor, AGENT");
    apr_table_add(id->attributes, "roles", "agent,guest");
    apr_table_add(id->attributes, "department", "Support");
    apr_table_add(id->attributes, "groups", "g1");
    apr_table_add(id->attributes, "groups", "g2");
    apr_table_add(id->attributes, "groups", "g3");
    id->roles = role_set(p, "Supervisor, AGENT,agent,guest");
    return id;
}

static void add_claim(apr_pool_t *p, flexsaml_claims_conf *c, const char *attr, const char *name,
                      int indexed)
{
    flexsaml_claim *cl = apr_array_push(c->claims);

    (void)p;
    cl->attribute = attr;
    cl->name = name;
    cl->indexed = indexed;
}

static void test_defaults(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    static const char *const want[][2] = {
        {"NameID", "FLEX_NAME_ID"}, {"full_name", "FLEX_FULL_NAME"}, {"email", "FLEX_EMAIL"},
        {"roles", "FLEX_ROLES"},    {"image_url", "FLEX_IMAGE_URL"},
    };

    assert_int_equal(c->claims->nelts, 5);
    for (int i = 0; i < 5; i++) {
        const flexsaml_claim *cl = &APR_ARRAY_IDX(c->claims, i, flexsaml_claim);
        assert_string_equal(cl->attribute, want[i][0]);
        assert_string_equal(cl->name, want[i][1]);
        assert_false(cl->indexed);
    }
    assert_string_equal(c->roles_attribute, "roles");
    assert_string_equal(c->separator, ",");
    assert_int_equal(c->pass_as, FLEXSAML_PASS_ENV);
    assert_string_equal(c->header_prefix, "X-Flex-");
}

static void test_default_export(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    apr_table_t *env = apr_table_make(p, 8);
    apr_table_t *headers = apr_table_make(p, 8);

    apr_table_set(headers, "Host", "portal.example.com");
    /* The caller passes NULL headers when pass_as does not ask for them. */
    flexsaml_claims_export(p, c, identity(p), env, NULL);
    assert_string_equal(apr_table_get(env, "FLEX_NAME_ID"), "jdoe@example.com");
    assert_string_equal(apr_table_get(env, "FLEX_FULL_NAME"), "Jane Doe");
    assert_string_equal(apr_table_get(env, "FLEX_EMAIL"), "jane@example.com");
    /* The normalized set, not the raw attribute values. */
    assert_string_equal(apr_table_get(env, "FLEX_ROLES"), "agent,supervisor");
    /* No image_url attribute: not exported at all. */
    assert_null(apr_table_get(env, "FLEX_IMAGE_URL"));
    assert_int_equal(apr_table_elts(env)->nelts, 4);
    /* Headers were not asked for. */
    assert_int_equal(apr_table_elts(headers)->nelts, 1);
}

static void test_roles_claim_uses_set(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    flexsaml_identity *id = identity(p);
    apr_table_t *env = apr_table_make(p, 8);

    /* Another attribute as the roles attribute: the set still wins. */
    c->roles_attribute = "groups";
    add_claim(p, c, "groups", "FLEX_GROUPS", 1);
    flexsaml_claims_export(p, c, id, env, NULL);
    assert_string_equal(apr_table_get(env, "FLEX_GROUPS"), "agent,supervisor");
    assert_string_equal(apr_table_get(env, "FLEX_GROUPS_0"), "agent");
    assert_string_equal(apr_table_get(env, "FLEX_GROUPS_1"), "supervisor");
    assert_string_equal(apr_table_get(env, "FLEX_GROUPS_N"), "2");
    /* And "roles" is now an ordinary attribute, joined as sent. */
    assert_string_equal(apr_table_get(env, "FLEX_ROLES"), "Supervisor, AGENT,agent,guest");

    /* An empty set exports nothing. */
    c = flexsaml_claims_default(p);
    id->roles = role_set(p, "nonsense");
    env = apr_table_make(p, 8);
    flexsaml_claims_export(p, c, id, env, NULL);
    assert_null(apr_table_get(env, "FLEX_ROLES"));
    id->roles = NULL;
    flexsaml_claims_export(p, c, id, env, NULL);
    assert_null(apr_table_get(env, "FLEX_ROLES"));
}

static void test_multi_valued_and_indexed(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    apr_table_t *env = apr_table_make(p, 8);

    add_claim(p, c, "groups", "FLEX_GROUPS", 0);
    add_claim(p, c, "groups", "FLEX_G", 1);
    add_claim(p, c, "department", "FLEX_DEPT", 1);
    add_claim(p, c, "missing", "FLEX_MISSING", 1);
    add_claim(p, c, "NameID", "FLEX_USER", 1);
    c->separator = ";";
    flexsaml_claims_export(p, c, identity(p), env, NULL);
    assert_string_equal(apr_table_get(env, "FLEX_GROUPS"), "g1;g2;g3");
    assert_null(apr_table_get(env, "FLEX_GROUPS_0"));
    assert_string_equal(apr_table_get(env, "FLEX_G"), "g1;g2;g3");
    assert_string_equal(apr_table_get(env, "FLEX_G_0"), "g1");
    assert_string_equal(apr_table_get(env, "FLEX_G_1"), "g2");
    assert_string_equal(apr_table_get(env, "FLEX_G_2"), "g3");
    assert_null(apr_table_get(env, "FLEX_G_3"));
    assert_string_equal(apr_table_get(env, "FLEX_G_N"), "3");
    assert_string_equal(apr_table_get(env, "FLEX_DEPT"), "Support");
    assert_string_equal(apr_table_get(env, "FLEX_DEPT_0"), "Support");
    assert_string_equal(apr_table_get(env, "FLEX_DEPT_N"), "1");
    assert_null(apr_table_get(env, "FLEX_MISSING"));
    assert_null(apr_table_get(env, "FLEX_MISSING_N"));
    assert_string_equal(apr_table_get(env, "FLEX_USER_0"), "jdoe@example.com");
    assert_string_equal(apr_table_get(env, "FLEX_ROLES"), "agent;supervisor");
}

static void test_unclean_values_skipped(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    flexsaml_identity *id = identity(p);
    apr_table_t *env = apr_table_make(p, 8);

    id->name_id = "jdoe\r\nX-Evil: 1";
    id->attributes = apr_table_make(p, 8);
    apr_table_add(id->attributes, "full_name", "Jane\nDoe");
    apr_table_add(id->attributes, "email", "bad\xff@example.com");
    apr_table_add(id->attributes, "email", "jane@example.com");
    apr_table_add(id->attributes, "image_url", "https://img.example/\x7f");
    add_claim(p, c, "email", "FLEX_MAILS", 1);
    flexsaml_claims_export(p, c, id, env, NULL);
    assert_null(apr_table_get(env, "FLEX_NAME_ID"));
    assert_null(apr_table_get(env, "FLEX_FULL_NAME"));
    assert_null(apr_table_get(env, "FLEX_IMAGE_URL"));
    assert_string_equal(apr_table_get(env, "FLEX_EMAIL"), "jane@example.com");
    /* Indexes count exported values only, with no gaps. */
    assert_string_equal(apr_table_get(env, "FLEX_MAILS_0"), "jane@example.com");
    assert_string_equal(apr_table_get(env, "FLEX_MAILS_N"), "1");

    /* A kept unknown role with a bad byte never reaches FLEX_ROLES. */
    id->roles = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(id->roles, const char *) = "agent";
    APR_ARRAY_PUSH(id->roles, const char *) = "b\xc0\xaf"
                                              "d";
    flexsaml_claims_export(p, c, id, env, NULL);
    assert_string_equal(apr_table_get(env, "FLEX_ROLES"), "agent");
}

static void test_headers(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    apr_table_t *env = apr_table_make(p, 8);
    apr_table_t *headers = apr_table_make(p, 8);

    c->pass_as = FLEXSAML_PASS_ENV | FLEXSAML_PASS_HEADERS;
    add_claim(p, c, "groups", "FLEX_GROUPS", 1);
    /* What a client might send to impersonate someone. */
    apr_table_add(headers, "Host", "portal.example.com");
    apr_table_add(headers, "X-Flex-Roles", "admin");
    apr_table_add(headers, "x-flex-image-url", "https://evil.example/");
    apr_table_add(headers, "X-Flex-Groups-7", "admins");
    apr_table_add(headers, "X_Flex_Email", "boss@example.com");
    apr_table_add(headers, "X-Flexible", "unrelated but under the prefix? no");
    apr_table_add(headers, "X-Fle", "short");
    flexsaml_claims_strip(p, c, headers);
    flexsaml_claims_export(p, c, identity(p), env, headers);

    assert_string_equal(apr_table_get(headers, "X-Flex-Name-Id"), "jdoe@example.com");
    assert_string_equal(apr_table_get(headers, "X-Flex-Full-Name"), "Jane Doe");
    assert_string_equal(apr_table_get(headers, "X-Flex-Email"), "jane@example.com");
    assert_string_equal(apr_table_get(headers, "X-Flex-Roles"), "agent,supervisor");
    assert_string_equal(apr_table_get(headers, "X-Flex-Groups"), "g1,g2,g3");
    assert_string_equal(apr_table_get(headers, "X-Flex-Groups-2"), "g3");
    assert_string_equal(apr_table_get(headers, "X-Flex-Groups-N"), "3");
    assert_null(apr_table_get(headers, "X-Flex-Image-Url"));
    assert_null(apr_table_get(headers, "X-Flex-Groups-7"));
    assert_null(apr_table_get(headers, "X_Flex_Email"));
    assert_string_equal(apr_table_get(headers, "Host"), "portal.example.com");
    assert_string_equal(apr_table_get(headers, "X-Flexible"), "unrelated but under the prefix? no");
    assert_string_equal(apr_table_get(headers, "X-Fle"), "short");
    /* One value per header, never an appended duplicate. */
    {
        int n = 0;
        const apr_array_header_t *e = apr_table_elts(headers);
        for (int i = 0; i < e->nelts; i++) {
            if (strcasecmp(APR_ARRAY_IDX(e, i, apr_table_entry_t).key, "X-Flex-Roles") == 0) {
                n++;
            }
        }
        assert_int_equal(n, 1);
    }
    assert_string_equal(apr_table_get(env, "FLEX_ROLES"), "agent,supervisor");

    /* NULL headers with PASS_HEADERS: env only, no crash. */
    env = apr_table_make(p, 8);
    flexsaml_claims_export(p, c, identity(p), env, NULL);
    assert_string_equal(apr_table_get(env, "FLEX_EMAIL"), "jane@example.com");
}

static void test_strip_without_header_export(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    apr_table_t *headers = apr_table_make(p, 8);

    add_claim(p, c, "department", "DEPT", 0);
    apr_table_add(headers, "Host", "portal.example.com");
    apr_table_add(headers, "FLEX_ROLES", "admin");
    apr_table_add(headers, "flex-roles", "admin");
    apr_table_add(headers, "Flex-Anything", "x");
    apr_table_add(headers, "X-FLEX-ROLES", "admin");
    apr_table_add(headers, "Remote-User", "boss");
    apr_table_add(headers, "REMOTE_USER", "boss");
    apr_table_add(headers, "Auth_Type", "FlexSAML");
    apr_table_add(headers, "Dept", "finance");
    apr_table_add(headers, "DEPT_0", "finance");
    apr_table_add(headers, "Department", "kept: not an exported name");
    apr_table_add(headers, "Remote-Users", "kept: another name");
    apr_table_add(headers, "Accept", "text/html");
    /* Identity headers back ends commonly trust, and one named by
     * FlexSAMLStripHeaders. */
    apr_table_add(headers, "X-Remote-User", "admin");
    apr_table_add(headers, "x-forwarded-user", "admin");
    apr_table_add(headers, "X-Auth-Request-User", "admin");
    apr_table_add(headers, "X-Auth-Request-Email", "admin@example.com");
    apr_table_add(headers, "X-Custom-Identity", "admin");
    c->strip = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(c->strip, const char *) = "X-Custom-Identity";
    flexsaml_claims_strip(p, c, headers);
    assert_int_equal(apr_table_elts(headers)->nelts, 4);
    assert_non_null(apr_table_get(headers, "Host"));
    assert_non_null(apr_table_get(headers, "Department"));
    assert_non_null(apr_table_get(headers, "Remote-Users"));
    assert_non_null(apr_table_get(headers, "Accept"));
}

static void test_header_name(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "FLEX_FULL_NAME"),
                        "X-Flex-Full-Name");
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "FLEX_IMAGE_URL"),
                        "X-Flex-Image-Url");
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "FLEX_NAME_ID"),
                        "X-Flex-Name-Id");
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "FLEX_ROLES"), "X-Flex-Roles");
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "FLEX_ROLES_0"),
                        "X-Flex-Roles-0");
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "flex_team"), "X-Flex-Team");
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "DEPARTMENT"),
                        "X-Flex-Department");
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "MY_FLEX_X"), "X-Flex-My-Flex-X");
    assert_string_equal(flexsaml_claims_header_name(p, "Remote-", "FLEX_EMAIL"), "Remote-Email");
    assert_string_equal(flexsaml_claims_header_name(p, NULL, "FLEX_EMAIL"), "X-Flex-Email");
    assert_string_equal(flexsaml_claims_header_name(p, "", "FLEX_A_B"), "A-B");
    /* Nothing that could break the header line survives. */
    assert_string_equal(flexsaml_claims_header_name(p, "X-Flex-", "FLEX_A:B\r\nC D"),
                        "X-Flex-A-B--C-D");
}

static void test_value_is_clean(void **state)
{
    static const char *const clean[] = {
        "",
        "plain ascii with spaces and ~!@#$%^&*()",
        "Jöhn Dœ",
        "日本語",
        "\xf0\x9f\x98\x80", /* U+1F600 */
        "\xef\xbf\xbd",     /* U+FFFD */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
        "\xc2\x80",         /* U+0080 */
        "\xed\x9f\xbf",     /* U+D7FF */
    };
    static const char *const dirty[] = {
        "a\tb",
        "a\nb",
        "a\rb",
        "\x01",
        "\x1f",
        "\x7f",
        "\x80",
        "\xc0\xaf", /* overlong '/' */
        "\xc1\xbf",
        "\xe0\x80\xaf",     /* overlong */
        "\xf0\x80\x80\xaf", /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xed\xbf\xbf",     /* surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80",
        "\xff",
        "\xfe",
        "\xc3",         /* truncated */
        "\xe6\x97",     /* truncated */
        "\xf0\x9f\x98", /* truncated */
        "\xc3\x28",
        "ok\xe2\x82",
        NULL,
    };

    (void)state;
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        assert_true(flexsaml_value_is_clean(clean[i]));
    }
    for (size_t i = 0; i < sizeof(dirty) / sizeof(dirty[0]); i++) {
        if (flexsaml_value_is_clean(dirty[i])) {
            print_error("dirty[%zu] accepted\n", i);
            fail();
        }
    }
}

static void test_defensive_inputs(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_claims_conf *c = flexsaml_claims_default(p);
    flexsaml_identity *id = apr_pcalloc(p, sizeof(*id));
    apr_table_t *env = apr_table_make(p, 4);

    /* An identity with nothing in it exports nothing. */
    flexsaml_claims_export(p, c, id, env, NULL);
    assert_int_equal(apr_table_elts(env)->nelts, 0);
    flexsaml_claims_export(p, NULL, id, env, NULL);
    flexsaml_claims_export(p, c, NULL, env, NULL);
    flexsaml_claims_export(p, c, id, NULL, NULL);
    assert_int_equal(apr_table_elts(env)->nelts, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles_claim_uses_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_valued_and_indexed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unclean_values_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strip_without_header_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_is_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defensive_inputs, setup, teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
