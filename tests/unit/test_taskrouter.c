/* Unit tests for taskrouter.c: the attribute merge, the desired attributes
 * of an identity, FriendlyName matching, reading a page of Workers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "taskrouter.h"

#define WK1 "WK0123456789abcdef0123456789abcdef"
#define WK2 "WKfedcba9876543210fedcba9876543210"
#define WS "WS00000000000000000000000000000001"

static apr_pool_t *pool;

static int setup(void **state)
{
    (void)state;
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    return 0;
}

static apr_array_header_t *keys(const char *list)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    char *l = apr_pstrdup(pool, list), *save, *t;
    for (t = apr_strtok(l, " ", &save); t; t = apr_strtok(NULL, " ", &save))
        APR_ARRAY_PUSH(a, const char *) = t;
    return a;
}

#define OWNED "full_name email roles image_url"

typedef struct {
    const char *what;
    const char *current;
    const char *desired;
    int rc;              /* 1 changed, 0 unchanged, -1 refused */
    const char *out;     /* when changed */
    const char *changed; /* keys that changed */
} merge_case;

static const merge_case merges[] = {
    {"new Worker, nothing yet", NULL,
     "{\"full_name\":\"Sam S\",\"email\":\"sam@example.com\",\"roles\":[\"supervisor\"]}", 1,
     "{\"full_name\":\"Sam S\",\"email\":\"sam@example.com\",\"roles\":[\"supervisor\"]}",
     "full_name,email,roles"},
    {"empty string and null count as {}", "", "{\"email\":\"a@x\"}", 1, "{\"email\":\"a@x\"}",
     "email"},
    {"null", "null", "{\"email\":\"a@x\"}", 1, "{\"email\":\"a@x\"}", "email"},
    {"foreign keys untouched, order kept",
     "{\"contact_uri\":\"client:sam\",\"routing\":{\"skills\":[\"sales\",\"es\"],\"levels\":{"
     "\"sales\":2}},\"full_name\":\"Old\",\"team_sid\":\"TE1\",\"x_custom\":[1,{\"a\":null}],"
     "\"email\":\"sam@example.com\",\"roles\":[\"agent\"]}",
     "{\"full_name\":\"Sam S\",\"email\":\"sam@example.com\",\"roles\":[\"supervisor\"]}", 1,
     "{\"contact_uri\":\"client:sam\",\"routing\":{\"skills\":[\"sales\",\"es\"],\"levels\":{"
     "\"sales\":2}},\"full_name\":\"Sam S\",\"team_sid\":\"TE1\",\"x_custom\":[1,{\"a\":null}],"
     "\"email\":\"sam@example.com\",\"roles\":[\"supervisor\"]}",
     "full_name,roles"},
    {"unchanged writes nothing",
     "{\"routing\":{\"skills\":[\"a\"]},\"email\":\"a@x\",\"roles\":[\"agent\"],\"full_name\":"
     "\"A\"}",
     "{\"full_name\":\"A\",\"email\":\"a@x\",\"roles\":[\"agent\"]}", 0, NULL, ""},
    {"whitespace and key order of the current JSON do not count as a change",
     "{ \"roles\" : [ \"agent\" ] ,\n \"email\":\"a@x\", \"full_name\":\"A\" }",
     "{\"full_name\":\"A\",\"email\":\"a@x\",\"roles\":[\"agent\"]}", 0, NULL, ""},
    {"an owned key the IdP no longer sends is removed",
     "{\"full_name\":\"A\",\"image_url\":\"https://x/a.png\",\"routing\":{\"levels\":{\"x\":1}}}",
     "{\"full_name\":\"A\"}", 1, "{\"full_name\":\"A\",\"routing\":{\"levels\":{\"x\":1}}}",
     "image_url"},
    {"a key that is not owned is never written, even if desired holds it",
     "{\"routing\":{\"skills\":[\"a\"]}}", "{\"routing\":{\"skills\":[]},\"contact_uri\":\"x\"}", 0,
     NULL, ""},
    {"a key nobody has stays absent", "{\"a\":1}", "{}", 0, NULL, ""},
    {"roles in another order are rewritten in the normalized order",
     "{\"roles\":[\"supervisor\",\"admin\"]}", "{\"roles\":[\"admin\",\"supervisor\"]}", 1,
     "{\"roles\":[\"admin\",\"supervisor\"]}", "roles"},
    {"a string role is replaced by the list", "{\"roles\":\"agent\"}", "{\"roles\":[\"agent\"]}", 1,
     "{\"roles\":[\"agent\"]}", "roles"},
    {"unicode names round-trip as UTF-8",
     "{\"full_name\":\"Zoe\",\"routing\":{\"skills\":[\"fran\\u00e7ais\"]}}",
     "{\"full_name\":\"Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m \xe5\xb1\xb1\xe7\x94\xb0\"}", 1,
     "{\"full_name\":\"Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m \xe5\xb1\xb1\xe7\x94\xb0\",\"routing\":{"
     "\"skills\":[\"fran\xc3\xa7"
     "ais\"]}}",
     "full_name"},
    {"unicode unchanged", "{\"full_name\":\"J\\u00fcrgen\"}", "{\"full_name\":\"J\xc3\xbcrgen\"}",
     0, NULL, ""},
    {"not an object: a list", "[1,2]", "{\"email\":\"a@x\"}", -1, NULL, NULL},
    {"not an object: a string", "\"hello\"", "{\"email\":\"a@x\"}", -1, NULL, NULL},
    {"not JSON", "{routing: skills}", "{\"email\":\"a@x\"}", -1, NULL, NULL},
    {"duplicate keys are ambiguous", "{\"email\":\"a\",\"email\":\"b\"}", "{\"email\":\"a\"}", -1,
     NULL, NULL},
};

static void test_merge_table(void **state)
{
    apr_array_header_t *owned = keys(OWNED);
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(merges) / sizeof(*merges); i++) {
        const merge_case *m = &merges[i];
        const char *out = NULL, *changed = NULL, *err = NULL;
        int rc =
            flexsaml_tr_merge_attributes(pool, m->current, m->desired, owned, &out, &changed, &err);
        print_message("merge: %s\n", m->what);
        assert_int_equal(rc, m->rc);
        if (rc == 1)
            assert_string_equal(out, m->out);
        if (rc >= 0)
            assert_string_equal(changed, m->changed);
        else
            assert_non_null(err);
    }
}

static void test_merge_other_owned_keys(void **state)
{
    const char *out = NULL, *err = NULL;
    (void)state;
    /* A site that owns "department" and not image_url leaves image_url be. */
    assert_int_equal(flexsaml_tr_merge_attributes(
                         pool, "{\"image_url\":\"https://x/a.png\",\"department\":\"old\"}",
                         "{\"department\":\"Sales\"}", keys("department"), &out, NULL, &err),
                     1);
    assert_string_equal(out, "{\"image_url\":\"https://x/a.png\",\"department\":\"Sales\"}");
}

static flexsaml_tr_conf *conf_with(const char *owned, const char *claim)
{
    flexsaml_tr_conf *c = apr_pcalloc(pool, sizeof(*c));
    c->owned = keys(owned);
    c->worker_claim = claim;
    return c;
}

static flexsaml_identity *sam(void)
{
    flexsaml_identity *id = apr_pcalloc(pool, sizeof(*id));
    id->name_id = "00u1sam";
    id->full_name = "Sam Supervisor";
    id->email = "sam.supervisor@example.com";
    id->roles = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(id->roles, const char *) = "admin";
    APR_ARRAY_PUSH(id->roles, const char *) = "supervisor";
    id->attributes = apr_table_make(pool, 4);
    apr_table_add(id->attributes, "department", "Sales");
    apr_table_add(id->attributes, "teams", "blue");
    apr_table_add(id->attributes, "teams", "red");
    apr_table_add(id->attributes, "login", "sam");
    return id;
}

static void test_desired(void **state)
{
    const char *name = NULL, *desired = NULL;
    flexsaml_identity *id = sam();
    (void)state;

    assert_null(flexsaml_tr_desired(pool, conf_with(OWNED, "email"), id, &name, &desired));
    assert_string_equal(name, "sam.supervisor@example.com");
    /* image_url absent: not sent, so a stale one is removed by the merge */
    assert_string_equal(desired, "{\"full_name\":\"Sam Supervisor\",\"email\":\"sam.supervisor@"
                                 "example.com\",\"roles\":[\"admin\",\"supervisor\"]}");

    id->image_url = "https://example.com/a.png";
    assert_null(flexsaml_tr_desired(pool, conf_with("image_url department teams missing", "NameID"),
                                    id, &name, &desired));
    assert_string_equal(name, "00u1sam");
    assert_string_equal(desired, "{\"image_url\":\"https://example.com/a.png\",\"department\":"
                                 "\"Sales\",\"teams\":[\"blue\",\"red\"]}");

    assert_null(flexsaml_tr_desired(pool, conf_with("roles", "login"), id, &name, &desired));
    assert_string_equal(name, "sam");

    /* an empty role set is still a list: the IdP did send roles */
    id->roles = apr_array_make(pool, 1, sizeof(const char *));
    assert_null(flexsaml_tr_desired(pool, conf_with("roles", "email"), id, &name, &desired));
    assert_string_equal(desired, "{\"roles\":[]}");
}

static void test_desired_refusals(void **state)
{
    const char *name = NULL, *desired = NULL;
    flexsaml_identity *id = sam();
    (void)state;

    assert_non_null(flexsaml_tr_desired(pool, conf_with(OWNED, "nosuch"), id, &name, &desired));
    id->email = "";
    assert_non_null(flexsaml_tr_desired(pool, conf_with(OWNED, "email"), id, &name, &desired));
    id->email = "a-very-long-address-that-goes-on-and-on-and-on@subdomain.example.com";
    assert_true(strlen(id->email) > FLEXSAML_TR_NAME_MAX);
    assert_non_null(flexsaml_tr_desired(pool, conf_with(OWNED, "email"), id, &name, &desired));
    id->email = "sam@example.com";
    id->full_name = "bad \xff utf-8";
    assert_non_null(flexsaml_tr_desired(pool, conf_with(OWNED, "email"), id, &name, &desired));
}

static void test_name_equal(void **state)
{
    (void)state;
    assert_true(flexsaml_tr_name_equal("Sam@Example.COM", "sam@example.com"));
    assert_true(flexsaml_tr_name_equal("", ""));
    assert_false(flexsaml_tr_name_equal("sam@example.co", "sam@example.com"));
    assert_false(flexsaml_tr_name_equal("sam@example.com", "sam@example.co"));
    assert_false(flexsaml_tr_name_equal("sam", ""));
    /* only ASCII letters fold: UTF-8 bytes must match exactly */
    assert_true(flexsaml_tr_name_equal("J\xc3\xbcrgen", "j\xc3\xbcRGEN"));
    assert_false(flexsaml_tr_name_equal("J\xc3\xbcrgen", "J\xc3\x9crgen"));
    assert_false(flexsaml_tr_name_equal("a[", "A{"));
}

static void test_sid_valid(void **state)
{
    (void)state;
    assert_true(flexsaml_tr_sid_valid(WK1, "WK"));
    assert_true(flexsaml_tr_sid_valid(WS, "WS"));
    assert_false(flexsaml_tr_sid_valid(WK1, "WS"));
    assert_false(flexsaml_tr_sid_valid(WK1 "0", "WK"));
    assert_false(flexsaml_tr_sid_valid("WK0123456789abcdef0123456789abcdeg", "WK"));
    assert_false(flexsaml_tr_sid_valid("WK../../Workspaces", "WK"));
    assert_false(flexsaml_tr_sid_valid(NULL, "WK"));
    assert_false(flexsaml_tr_sid_valid("", "WK"));
}

static void test_list_pick(void **state)
{
    const char *sid, *next;
    (void)state;
    /* case-insensitive, not a prefix or a near miss, attributes null in lists */
    assert_null(flexsaml_tr_list_pick(
        pool,
        "{\"workers\":[{\"sid\":\"" WK2
        "\",\"friendly_name\":\"sam@example.com.au\",\"attributes\":"
        "null},{\"sid\":\"" WK1 "\",\"friendly_name\":\"SAM@Example.com\",\"attributes\":null}],"
        "\"meta\":{\"next_page_url\":null}}",
        WS, "sam@example.com", &sid, &next));
    assert_string_equal(sid, WK1);
    assert_null(next);

    /* not on this page: the next one, as a path on the configured host */
    assert_null(flexsaml_tr_list_pick(
        pool,
        "{\"workers\":[],\"meta\":{\"next_page_url\":\"https://evil.example/v1/Workspaces/" WS
        "/Workers?FriendlyName=sam&PageSize=50&PageToken=PT1\"}}",
        WS, "sam@example.com", &sid, &next));
    assert_null(sid);
    assert_string_equal(next, "/v1/Workspaces/" WS "/Workers?FriendlyName=sam&PageSize=50&"
                              "PageToken=PT1");

    /* a next page elsewhere is not followed */
    assert_null(flexsaml_tr_list_pick(
        pool,
        "{\"workers\":[],\"meta\":{\"next_page_url\":\"https://x/v1/Workspaces/"
        "WS99999999999999999999999999999999/Workers?PageToken=PT1\"}}",
        WS, "sam@example.com", &sid, &next));
    assert_null(next);

    /* a match with a malformed sid is not used */
    assert_null(flexsaml_tr_list_pick(
        pool, "{\"workers\":[{\"sid\":\"WK/../x\",\"friendly_name\":\"sam\"}],\"meta\":{}}", WS,
        "sam", &sid, &next));
    assert_null(sid);

    assert_non_null(flexsaml_tr_list_pick(pool, "{\"code\":20003}", WS, "sam", &sid, &next));
    assert_non_null(flexsaml_tr_list_pick(pool, "<html>", WS, "sam", &sid, &next));
    assert_non_null(flexsaml_tr_list_pick(pool, NULL, WS, "sam", &sid, &next));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_other_owned_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desired_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sid_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pick, setup, teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
