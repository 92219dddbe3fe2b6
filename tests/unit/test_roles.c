/* Unit tests for roles.c: parsing, normalization, mapping, set operations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <locale.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml.h"

enum { POL_NONE, POL_DROP, POL_KEEP, POL_DENY };

typedef struct {
    const char *values[5]; /* NULL-terminated */
    int pol;
    const char *set;     /* joined with "," */
    const char *unknown; /* joined with "," */
} role_case;

static const role_case cases[] = {
    /* plain and spacing */
    {{"agent", NULL}, POL_NONE, "agent", ""},
    {{"agent,supervisor", NULL}, POL_NONE, "agent,supervisor", ""},
    {{"supervisor,agent", NULL}, POL_NONE, "agent,supervisor", ""},
    {{" Admin , ,agent ", NULL}, POL_NONE, "admin,agent", ""},
    {{"  agent  ", NULL}, POL_NONE, "agent", ""},
    {{"agent ,admin", NULL}, POL_NONE, "admin,agent", ""},
    {{"", NULL}, POL_NONE, "", ""},
    {{",,,", NULL}, POL_NONE, "", ""},
    {{" , , ", NULL}, POL_NONE, "", ""},
    {{NULL}, POL_NONE, "", ""},
    /* case and duplicates */
    {{"AGENT", NULL}, POL_NONE, "agent", ""},
    {{"Agent,agent,AGENT", NULL}, POL_NONE, "agent", ""},
    {{"SuperVisor", "supervisor", NULL}, POL_NONE, "supervisor", ""},
    {{"admin,admin,admin,agent", NULL}, POL_NONE, "admin,agent", ""},
    /* several values */
    {{"agent", "admin", NULL}, POL_NONE, "admin,agent", ""},
    {{"agent", "admin,supervisor", "agent", NULL}, POL_NONE, "admin,agent,supervisor", ""},
    {{"", "agent", "", NULL}, POL_NONE, "agent", ""},
    /* wfo roles */
    {{"wfo.full_access", NULL}, POL_NONE, "wfo.full_access", ""},
    {{"WFO.Team_Leader", NULL}, POL_NONE, "wfo.team_leader", ""},
    {{"wfo.a.b-c_9", NULL}, POL_NONE, "wfo.a.b-c_9", ""},
    {{"wfo.", NULL}, POL_NONE, "", "wfo."},
    {{"wfo", NULL}, POL_NONE, "", "wfo"},
    {{"wfo.a b", NULL}, POL_NONE, "", "wfo.a b"},
    {{"wfo.x/y", NULL}, POL_DROP, "", "wfo.x/y"},
    {{"wfo.dashboard_viewer,agent", NULL}, POL_NONE, "agent,wfo.dashboard_viewer", ""},
    /* unknown values under each policy */
    {{"agent,guest", NULL}, POL_NONE, "agent", "guest"},
    {{"agent,guest", NULL}, POL_DROP, "agent", "guest"},
    {{"agent,guest", NULL}, POL_KEEP, "agent,guest", "guest"},
    {{"agent,guest", NULL}, POL_DENY, "agent", "guest"},
    {{"Guest,GUEST,guest", NULL}, POL_KEEP, "guest", "guest"},
    {{"zeta,alpha", NULL}, POL_KEEP, "alpha,zeta", "zeta,alpha"},
    {{"agents", NULL}, POL_DROP, "", "agents"},
    {{"ägent", NULL}, POL_KEEP, "ägent", "ägent"},
    /* map aliases */
    {{"Flex-Supervisors", NULL}, POL_DROP, "supervisor", ""},
    {{"flex-supervisors,agent", NULL}, POL_DROP, "agent,supervisor", ""},
    {{" FLEX-ADMINS ", NULL}, POL_DROP, "admin,supervisor", ""},
    {{"flex-admins", "supervisor", NULL}, POL_DROP, "admin,supervisor", ""},
    {{"okta-agents", NULL}, POL_DROP, "agent", ""},
    {{"insights-all", NULL}, POL_DROP, "wfo.analyst,wfo.team_lead", ""},
    {{"Flex-Supervisors", NULL}, POL_NONE, "", "flex-supervisors"},
    /* a map key wins over a known role */
    {{"admin", NULL}, POL_KEEP, "agent", ""},
    /* a map to nothing removes the value without making it unknown */
    {{"ignored-group,agent", NULL}, POL_DENY, "agent", ""},
    /* control characters: unknown, never kept, escaped for the log */
    {{"ag\tent", NULL}, POL_KEEP, "", "ag\\x09ent"},
    {{"agent\r\nadmin", NULL}, POL_KEEP, "", "agent\\x0d\\x0aadmin"},
    {{"agent,\x7f", NULL}, POL_KEEP, "agent", "\\x7f"},
    {{"\tagent", NULL}, POL_DROP, "", "\\x09agent"},
    {{"supervisor,a\x01,a\x01", NULL}, POL_DENY, "supervisor", "a\\x01"},
};

static apr_hash_t *test_map(apr_pool_t *p)
{
    static const char *const map[][3] = {
        {"flex-supervisors", "supervisor", NULL},
        {"flex-admins", "admin", "supervisor"},
        {"okta-agents", "Agent", NULL},
        {"insights-all", "wfo.team_lead", "wfo.analyst"},
        {"admin", "agent", NULL},
        {"ignored-group", NULL, NULL},
    };
    apr_hash_t *h = apr_hash_make(p);

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        apr_array_header_t *t = apr_array_make(p, 2, sizeof(const char *));
        for (int j = 1; j < 3 && map[i][j] != NULL; j++) {
            APR_ARRAY_PUSH(t, const char *) = map[i][j];
        }
        apr_hash_set(h, map[i][0], APR_HASH_KEY_STRING, t);
    }
    return h;
}

static flexsaml_role_policy *policy(apr_pool_t *p, int which)
{
    flexsaml_role_policy *pol;

    if (which == POL_NONE) {
        return NULL;
    }
    pol = apr_pcalloc(p, sizeof(*pol));
    pol->map = test_map(p);
    pol->unknown = which == POL_KEEP   ? FLEXSAML_UNKNOWN_KEEP
                   : which == POL_DENY ? FLEXSAML_UNKNOWN_DENY
                                       : FLEXSAML_UNKNOWN_DROP;
    return pol;
}

static apr_array_header_t *vals(apr_pool_t *p, const char *const *v)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));

    for (; *v != NULL; v++) {
        APR_ARRAY_PUSH(a, const char *) = *v;
    }
    return a;
}

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

static void assert_is_set(const apr_array_header_t *set)
{
    for (int i = 1; i < set->nelts; i++) {
        assert_true(strcmp(APR_ARRAY_IDX(set, i - 1, const char *),
                           APR_ARRAY_IDX(set, i, const char *)) < 0);
    }
}

static void test_table(void **state)
{
    apr_pool_t *p = *state;

    assert_true(sizeof(cases) / sizeof(cases[0]) >= 40);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const role_case *c = &cases[i];
        apr_array_header_t *set = NULL;
        apr_array_header_t *unknown = NULL;
        int n = flexsaml_roles_parse(p, vals(p, c->values), policy(p, c->pol), &set, &unknown);
        const char *got_set = flexsaml_roles_join(p, set, ",");
        const char *got_unknown = flexsaml_roles_join(p, unknown, ",");

        if (strcmp(got_set, c->set) != 0 || strcmp(got_unknown, c->unknown) != 0 ||
            n != unknown->nelts) {
            print_error("case %zu: set \"%s\" (want \"%s\"), unknown \"%s\" (want \"%s\"), n %d\n",
                        i, got_set, c->set, got_unknown, c->unknown, n);
            fail();
        }
        assert_is_set(set);
    }
}

static void test_null_values_and_outputs(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *set = NULL;
    const char *v[] = {"agent", "bogus", NULL};

    assert_int_equal(flexsaml_roles_parse(p, NULL, NULL, &set, NULL), 0);
    assert_non_null(set);
    assert_int_equal(set->nelts, 0);
    /* The count does not depend on whether the caller asked for the list. */
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), NULL, &set, NULL), 1);
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), NULL, NULL, NULL), 1);
    assert_string_equal(flexsaml_roles_join(p, set, ","), "agent");
}

static void test_null_item_in_values(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *a = apr_array_make(p, 3, sizeof(const char *));
    apr_array_header_t *set;

    APR_ARRAY_PUSH(a, const char *) = "agent";
    APR_ARRAY_PUSH(a, const char *) = NULL;
    APR_ARRAY_PUSH(a, const char *) = "admin";
    assert_int_equal(flexsaml_roles_parse(p, a, NULL, &set, NULL), 0);
    assert_string_equal(flexsaml_roles_join(p, set, ","), "admin,agent");
}

static void test_long_item(void **state)
{
    apr_pool_t *p = *state;
    char *big = apr_palloc(p, 301);
    char *exact = apr_palloc(p, 257);
    const char *v[3];
    apr_array_header_t *set;
    apr_array_header_t *unknown;
    const char *u;

    memset(big, 'q', 300);
    big[300] = '\0';
    v[0] = big;
    v[1] = "agent";
    v[2] = NULL;
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), policy(p, POL_KEEP), &set, &unknown), 1);
    assert_string_equal(flexsaml_roles_join(p, set, ","), "agent");
    u = APR_ARRAY_IDX(unknown, 0, const char *);
    assert_true(strlen(u) == 64 + 3);
    assert_string_equal(u + 64, "...");

    /* 256 bytes is still a (kept) value; 257 is not. */
    memcpy(exact, "wfo.", 4);
    memset(exact + 4, 'x', 252);
    exact[256] = '\0';
    v[0] = exact;
    v[1] = NULL;
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), NULL, &set, NULL), 0);
    assert_int_equal(set->nelts, 1);
    assert_int_equal(strlen(APR_ARRAY_IDX(set, 0, const char *)), 256);
    assert_true(flexsaml_role_is_known(exact));
    v[0] = apr_pstrcat(p, exact, "x", NULL);
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), policy(p, POL_KEEP), &set, NULL), 1);
    assert_int_equal(set->nelts, 0);
    assert_false(flexsaml_role_is_known(v[0]));
}

static void test_very_long_input(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t n = 200000;
    char *s = apr_palloc(p, n * 7 + 1);
    char *o = s;
    const char *v[2] = {s, NULL};
    apr_array_header_t *set;

    for (apr_size_t i = 0; i < n; i++) {
        memcpy(o, "Agent ,", 7);
        o += 7;
    }
    *o = '\0';
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), NULL, &set, NULL), 0);
    assert_string_equal(flexsaml_roles_join(p, set, ","), "agent");

    /* Only commas: nothing, quickly. */
    memset(s, ',', n * 7);
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), NULL, &set, NULL), 0);
    assert_int_equal(set->nelts, 0);
}

static void test_item_cap(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *many = apr_array_make(p, 2000, sizeof(const char *));
    apr_array_header_t *set;
    apr_array_header_t *unknown;
    int n;

    for (int i = 0; i < 1500; i++) {
        APR_ARRAY_PUSH(many, const char *) = apr_psprintf(p, "r%04d", i);
    }
    n = flexsaml_roles_parse(p, many, policy(p, POL_KEEP), &set, &unknown);
    assert_int_equal(n, 1024);
    assert_int_equal(set->nelts, 1024);
    assert_int_equal(unknown->nelts, 1024);
    assert_is_set(set);

    /* Items past the cap are ignored, good ones included. */
    APR_ARRAY_PUSH(many, const char *) = "admin";
    n = flexsaml_roles_parse(p, many, NULL, &set, NULL);
    assert_int_equal(set->nelts, 0);
    assert_false(flexsaml_roles_contains(set, "admin"));

    /* The cap counts items, not values. */
    {
        char *s = apr_palloc(p, 1100 * 3 + 16);
        char *o = s;
        const char *v[2] = {s, NULL};
        for (int i = 0; i < 1100; i++) {
            memcpy(o, "zz,", 3);
            o += 3;
        }
        strcpy(o, "agent");
        n = flexsaml_roles_parse(p, vals(p, v), NULL, &set, NULL);
        assert_int_equal(n, 1);
        assert_int_equal(set->nelts, 0);
    }
}

static void test_mapped_targets_normalized(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_role_policy pol = {apr_hash_make(p), FLEXSAML_UNKNOWN_DROP, NULL};
    apr_array_header_t *t = apr_array_make(p, 4, sizeof(const char *));
    const char *v[] = {"grp", NULL};
    apr_array_header_t *set;

    APR_ARRAY_PUSH(t, const char *) = "SUPERVISOR";
    APR_ARRAY_PUSH(t, const char *) = "";
    APR_ARRAY_PUSH(t, const char *) = NULL;
    APR_ARRAY_PUSH(t, const char *) = "bad\nrole";
    APR_ARRAY_PUSH(t, const char *) = "supervisor";
    apr_hash_set(pol.map, "grp", APR_HASH_KEY_STRING, t);
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), &pol, &set, NULL), 0);
    assert_string_equal(flexsaml_roles_join(p, set, ","), "supervisor");
}

static void test_is_known(void **state)
{
    static const char *const yes[] = {"agent", "admin",       "supervisor",  "AGENT", "Admin",
                                      "wfo.x", "WFO.Analyst", "wfo.a-b_c.d", "wfo.0"};
    static const char *const no[] = {"",        "agents",  "agent ",      " agent",  "wfo",
                                     "wfo.",    "wfo.a b", "wfo.a/b",     "wfo.é",   "wfox",
                                     "manager", "adm",     "supervisors", "wfo.a\n", NULL};

    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        assert_true(flexsaml_role_is_known(yes[i]));
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        assert_false(flexsaml_role_is_known(no[i]));
    }
}

/* FlexSAMLRoles: a declared site role is kept when the IdP sends it or a map
 * targets it, and stays out of the Flex roles that FlexSAMLRequireFlexRole
 * asks for. */
static void test_site_roles(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_role_policy pol = {apr_hash_make(p), FLEXSAML_UNKNOWN_DROP, apr_hash_make(p)};
    apr_array_header_t *t = apr_array_make(p, 1, sizeof(const char *));
    const char *v[] = {"agent, TeamLead, manager", NULL};
    const char *m[] = {"Team-Leads", NULL};
    apr_array_header_t *set, *unknown;

    apr_hash_set(pol.site, "teamlead", APR_HASH_KEY_STRING, "");
    APR_ARRAY_PUSH(t, const char *) = "teamlead";
    apr_hash_set(pol.map, "team-leads", APR_HASH_KEY_STRING, t);
    assert_int_equal(flexsaml_roles_parse(p, vals(p, v), &pol, &set, &unknown), 1);
    assert_string_equal(flexsaml_roles_join(p, set, ","), "agent,teamlead");
    assert_string_equal(flexsaml_roles_join(p, unknown, ","), "manager");
    assert_int_equal(flexsaml_roles_parse(p, vals(p, m), &pol, &set, NULL), 0);
    assert_string_equal(flexsaml_roles_join(p, set, ","), "teamlead");
    assert_false(flexsaml_roles_has_flex_role(set));

    assert_true(flexsaml_role_is_declared(&pol, "TEAMLEAD"));
    assert_true(flexsaml_role_is_declared(&pol, "agent"));
    assert_true(flexsaml_role_is_declared(NULL, "wfo.x"));
    assert_false(flexsaml_role_is_declared(&pol, "teamleads"));
    assert_false(flexsaml_role_is_declared(NULL, "teamlead"));
    assert_false(flexsaml_role_is_declared(&pol, NULL));
    pol.site = NULL;
    assert_false(flexsaml_role_is_declared(&pol, "teamlead"));
}

static apr_array_header_t *set_of(apr_pool_t *p, const char *joined)
{
    const char *v[] = {joined, NULL};
    flexsaml_role_policy pol = {NULL, FLEXSAML_UNKNOWN_KEEP, NULL};
    apr_array_header_t *set;

    flexsaml_roles_parse(p, vals(p, v), &pol, &set, NULL);
    return set;
}

static void test_contains(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *set = set_of(p, "m,c,k,a,x,e,g,q,b,z");
    apr_array_header_t *empty = set_of(p, "");
    const char *all = "abcegkmqxz";

    for (const char *c = all; *c; c++) {
        char r[2] = {*c, '\0'};
        assert_true(flexsaml_roles_contains(set, r));
    }
    for (const char *c = "dfhijlnoprstuvwy0"; *c; c++) {
        char r[2] = {*c, '\0'};
        assert_false(flexsaml_roles_contains(set, r));
    }
    assert_false(flexsaml_roles_contains(set, ""));
    assert_false(flexsaml_roles_contains(set, "aa"));
    assert_false(flexsaml_roles_contains(set, "A"));
    assert_false(flexsaml_roles_contains(set, NULL));
    assert_false(flexsaml_roles_contains(NULL, "a"));
    assert_false(flexsaml_roles_contains(empty, "a"));
    assert_true(flexsaml_roles_contains(set_of(p, "agent"), "agent"));
    assert_true(flexsaml_roles_contains(set_of(p, "admin,agent"), "admin"));
    assert_true(flexsaml_roles_contains(set_of(p, "admin,agent"), "agent"));
}

static void test_has_flex_role(void **state)
{
    apr_pool_t *p = *state;

    assert_true(flexsaml_roles_has_flex_role(set_of(p, "agent")));
    assert_true(flexsaml_roles_has_flex_role(set_of(p, "admin")));
    assert_true(flexsaml_roles_has_flex_role(set_of(p, "supervisor")));
    assert_true(flexsaml_roles_has_flex_role(set_of(p, "wfo.x,zzz,supervisor")));
    assert_false(flexsaml_roles_has_flex_role(set_of(p, "wfo.analyst")));
    assert_false(flexsaml_roles_has_flex_role(set_of(p, "guest,agents")));
    assert_false(flexsaml_roles_has_flex_role(set_of(p, "")));
    assert_false(flexsaml_roles_has_flex_role(NULL));
}

static void test_join(void **state)
{
    apr_pool_t *p = *state;
    apr_array_header_t *set = set_of(p, "supervisor,agent,wfo.x");

    assert_string_equal(flexsaml_roles_join(p, set, ","), "agent,supervisor,wfo.x");
    assert_string_equal(flexsaml_roles_join(p, set, "; "), "agent; supervisor; wfo.x");
    assert_string_equal(flexsaml_roles_join(p, set, ""), "agentsupervisorwfo.x");
    assert_string_equal(flexsaml_roles_join(p, set, NULL), "agent,supervisor,wfo.x");
    assert_string_equal(flexsaml_roles_join(p, set_of(p, "admin"), ","), "admin");
    assert_string_equal(flexsaml_roles_join(p, set_of(p, ""), ","), "");
    assert_string_equal(flexsaml_roles_join(p, NULL, ","), "");
}

/* httpd may run with a locale another module set; in Latin-1, tolower()
 * would turn the UTF-8 lead byte 0xC3 into 0xE3. */
static void test_locale_independent(void **state)
{
    static const char *const latin1[] = {"de_DE.ISO-8859-1", "de_DE", "en_US.ISO-8859-1",
                                         "fr_FR.ISO-8859-1", "tr_TR.ISO-8859-9"};
    apr_pool_t *p = *state;
    const char *v[] = {"\xc3\x84GENT,Agent", NULL};
    flexsaml_role_policy pol = {NULL, FLEXSAML_UNKNOWN_KEEP, NULL};
    apr_array_header_t *set;
    const char *set_to = NULL;

    for (size_t i = 0; i < sizeof(latin1) / sizeof(latin1[0]) && set_to == NULL; i++) {
        set_to = setlocale(LC_CTYPE, latin1[i]);
    }
    if (set_to == NULL) {
        skip();
    }
    flexsaml_roles_parse(p, vals(p, v), &pol, &set, NULL);
    setlocale(LC_CTYPE, "C");
    assert_string_equal(flexsaml_roles_join(p, set, ","), "agent,\xc3\x84gent");
    assert_true(flexsaml_role_is_known("AGENT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_values_and_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_item_in_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_very_long_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapped_targets_normalized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_has_flex_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_site_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locale_independent, setup, teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
