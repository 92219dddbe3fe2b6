/* The settings model (settings.c, settings_set.c, settings_tr.c, parse.c,
 * secret.c): every directive has a case here, is documented in README.md,
 * and survives create/merge; the value parsers; the secret reader. A
 * directive or a field added without the rest fails here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "apr_fixture.h"

#include <apr_general.h>
#include <apr_strings.h>

#include "settings.h"
#include "parse.h"
#include "secret.h"
#include "file.h"
#include "okta.h"

/* Which merge rules a case checks: a field set only in the main server is
 * inherited, set only in the virtual host wins, set in both the virtual
 * host's wins. Role maps add up, and the IdP parts go as one unit, so they
 * skip a rule. */
#define INHERIT 1
#define OVERRIDE 2
#define REPLACE 4
#define ALL (INHERIT | OVERRIDE | REPLACE)
/* Only in a directory section: checked by its own test, not by the server
 * merge rules. */
#define DIR_ONLY 8

typedef struct {
    const char *name;
    const char *a; /* arguments, space-separated */
    const char *b; /* other arguments */
    int rules;
    const char *with; /* a directive set everywhere first, or NULL */
} sample;

#define MD_URL "FlexSAMLIdPMetadataURL https://idp.example.com/md"
static const sample samples[] = {
    {"FlexSAMLSPEntityID", "https://a.example.com/", "https://b.example.com/", ALL, NULL},
    {"FlexSAMLEndpointPath", "/a", "/b", ALL, NULL},
    {"FlexSAMLACSPath", "/a/acs", "/b/acs", ALL, NULL},
    {"FlexSAMLSPCertificateFile", "/a.pem", "/b.pem", ALL, NULL},
    {"FlexSAMLSPPrivateKeyFile", "/a.key", "/b.key", ALL, NULL},
    {"FlexSAMLIdPMetadataFile", "/a.xml", "/b.xml", ALL, NULL},
    {"FlexSAMLIdPCertificateFile", "/a.pem", "/b.pem", ALL, NULL},
    {"FlexSAMLIdPSSOURL", "https://a/sso", "https://b/sso", ALL, NULL},
    {"FlexSAMLIdPIssuer", "http://a/", "http://b/", ALL, NULL},
    {"FlexSAMLIdPInitiated", "off", "on", ALL, NULL},
    {"FlexSAMLDefaultURL", "/a", "/b", ALL, NULL},
    {"FlexSAMLRequireSignedResponse", "off", "on", ALL, NULL},
    {"FlexSAMLClockSkew", "10", "2m", ALL, NULL},
    {"FlexSAMLSessionCache", "redis:a:6379", "dbm:/b", ALL, NULL},
    {"FlexSAMLSessionCachePassword", "env:A", "file:/b", ALL, NULL},
    {"FlexSAMLSessionCacheTimeout", "1s 3s", "500ms 2s", ALL, NULL},
    {"FlexSAMLSessionCacheLocal", "off", "on", ALL, NULL},
    {"FlexSAMLSessionLifetime", "1h", "2d", ALL, NULL},
    {"FlexSAMLSessionIdleTimeout", "15m", "off", ALL, NULL},
    {"FlexSAMLPreservePost", "off", "65536 1048576", ALL, NULL},
    {"FlexSAMLCookieName", "a", "b", ALL, NULL},
    {"FlexSAMLRequestLifetime", "1m", "5m", ALL, NULL},
    {"FlexSAMLRedirectDomains", "a.example.com", ".b.example.com", ALL, NULL},
    {"FlexSAMLMaxBodySize", "2048", "4096", ALL, NULL},
    {"FlexSAMLMaxAttributeBytes", "2048", "4096", ALL, NULL},
    {"FlexSAMLAllowSHA1", "on", "off", ALL, NULL},
    {"FlexSAMLRoleMap", "Flex-A agent", "Flex-B admin", INHERIT | OVERRIDE, NULL},
    {"FlexSAMLUnknownRoles", "keep", "deny", ALL, NULL},
    {"FlexSAMLRequireFlexRole", "off", "on", ALL, NULL},
    {"FlexSAMLRoles", "teamlead", "qa coach", INHERIT | OVERRIDE, NULL},
    {"FlexSAMLRequireClaims", "none", "email department", ALL, NULL},
    {"FlexSAMLAuth", "optional", "required", DIR_ONLY, NULL},
    {"FlexSAMLUnauthenticated", "401", "403", DIR_ONLY, NULL},
    {"FlexSAMLMaxAuthAge", "15m", "1h", DIR_ONLY, NULL},
    {"FlexSAMLAuthnContextClassRef", "urn:a:b", "urn:c:d", DIR_ONLY, NULL},
    {"FlexSAMLClaim", "dept DEPT", "cost COST indexed", ALL, NULL},
    {"FlexSAMLClaimSeparator", ";", "|", ALL, NULL},
    {"FlexSAMLUser", "email", "login", ALL, NULL},
    {"FlexSAMLPassClaimsAs", "headers", "both", ALL, NULL},
    {"FlexSAMLHeaderPrefix", "X-A-", "X-B-", ALL, NULL},
    {"FlexSAMLStripHeaders", "X-A", "X-B", ALL, NULL},
    {"FlexSAMLStripCookies", "off", "on", ALL, NULL},
    {"FlexSAMLMaxSessionBytes", "2048", "4096", ALL, NULL},
    {"FlexSAMLTrustedProxies", "10.0.0.0/8", "192.168.0.1", ALL, NULL},
    {"FlexSAMLForwardedHeaders", "X-Forwarded-Proto", "Forwarded X-Forwarded-Host", ALL, NULL},
    {"FlexSAMLCryptoPassphrase", "env:A", "file:/b env:OLD", ALL, NULL},
    {"FlexSAMLIdPMetadataURL", "https://a/md", "https://b/md", ALL, NULL},
    {"FlexSAMLIdPMetadataCA", "/a-ca.pem", "/b-ca.pem", OVERRIDE | REPLACE, MD_URL},
    {"FlexSAMLIdPMetadataCache", "/a.cache", "/b.cache", OVERRIDE | REPLACE, MD_URL},
    {"FlexSAMLIdPMetadataRefresh", "1h", "2h", ALL, NULL},
    {"FlexSAMLCertExpiryWarning", "7d", "14d", ALL, NULL},
    {"FlexSAMLTaskRouter", "on", "sync", ALL, NULL},
    {"FlexSAMLTaskRouterWorkspace", "WS00000000000000000000000000000000",
     "WS11111111111111111111111111111111", ALL, NULL},
    {"FlexSAMLTaskRouterCredentials", "/a.cred", "env:SID env:SECRET", ALL, NULL},
    {"FlexSAMLTaskRouterBaseURL", "https://a", "https://b", ALL, NULL},
    {"FlexSAMLTaskRouterAttributes", "full_name", "email dept", ALL, NULL},
    {"FlexSAMLTaskRouterWorkerName", "email", "full_name", ALL, NULL},
    {"FlexSAMLTaskRouterCreateWorkers", "on", "off", ALL, NULL},
    {"FlexSAMLTaskRouterTimeout", "1s", "500ms", ALL, NULL},
    {"FlexSAMLTaskRouterDeadline", "1m", "1h", ALL, NULL},
    {"FlexSAMLTaskRouterSyncTimeout", "1s", "3s", ALL, NULL},
    {"FlexSAMLTaskRouterBackoff", "2s", "1s 10s", ALL, NULL},
    {"FlexSAMLTaskRouterQueueSize", "10", "20", ALL, NULL},
};

static const sample *sample_of(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof(samples) / sizeof(*samples); i++)
        if (!strcmp(samples[i].name, name))
            return &samples[i];
    return NULL;
}

static const char *set(flexsaml_settings *s, flexsaml_dir_settings *dir, const char *name,
                       const char *args)
{
    const flexsaml_directive *d = flexsaml_directive_find(name);
    apr_array_header_t *argv = apr_array_make(pool, 4, sizeof(const char *));
    flexsaml_set_ctx cx = {pool, "test.conf:1", "/srv", dir};
    char *last, *t;
    const char *err = NULL;
    int i;

    assert_non_null(d);
    for (t = apr_strtok(apr_pstrdup(pool, args), " ", &last); t; t = apr_strtok(NULL, " ", &last))
        APR_ARRAY_PUSH(argv, const char *) = t;
    if ((err = flexsaml_directive_check_args(pool, d, argv->nelts)) != NULL)
        return err;
    if (d->args == FLEXSAML_ARGS_ITERATE) {
        for (i = 0; i < argv->nelts && !err; i++)
            err = d->set(&cx, s, 1, (const char *const *)argv->elts + i);
        return err;
    }
    return d->set(&cx, s, argv->nelts, (const char *const *)argv->elts);
}

static void make(flexsaml_settings *s, const sample *c, const char *args)
{
    flexsaml_settings_init(s);
    if (c->with) {
        const char *sp = strchr(c->with, ' ');
        assert_null(
            set(s, NULL, apr_pstrmemdup(pool, c->with, (apr_size_t)(sp - c->with)), sp + 1));
    }
    if (args) {
        const char *err = set(s, NULL, c->name, args);
        if (err)
            fail_msg("%s %s: %s", c->name, args, err);
    }
}

static void merge_is(const sample *c, const char *rule, const flexsaml_settings *base,
                     const flexsaml_settings *add, const flexsaml_settings *want)
{
    flexsaml_settings m;
    memset(&m, 0, sizeof(m));
    flexsaml_settings_merge(pool, &m, base, add);
    if (memcmp(&m, want, sizeof(m)) != 0)
        fail_msg("%s: merge does not keep what it sets (%s)", c->name, rule);
}

static void test_every_directive_has_a_case(void **state)
{
    const flexsaml_directive *d;
    int n = 0;
    (void)state;
    for (d = flexsaml_directives; d->name; d++, n++)
        if (!sample_of(d->name))
            fail_msg("%s has no case in test_settings.c: add one, and its merge rule", d->name);
    assert_int_equal(n, FLEXSAML_D_COUNT);
}

static void test_merge_keeps_every_field(void **state)
{
    const flexsaml_directive *d;
    (void)state;
    for (d = flexsaml_directives; d->name; d++) {
        const sample *c = sample_of(d->name);
        flexsaml_settings fresh, a, b;
        if (c->rules & DIR_ONLY)
            continue;
        make(&fresh, c, NULL);
        make(&a, c, c->a);
        make(&b, c, c->b);
        if (!memcmp(&fresh, &a, sizeof(a)))
            fail_msg("%s %s changes nothing", c->name, c->a);
        if (!memcmp(&a, &b, sizeof(a)))
            fail_msg("%s: the two cases set the same value", c->name);
        if (c->rules & INHERIT)
            merge_is(c, "set in the main server only", &a, &fresh, &a);
        if (c->rules & OVERRIDE)
            merge_is(c, "set in the virtual host only", &fresh, &a, &a);
        if (c->rules & REPLACE)
            merge_is(c, "set in both", &b, &a, &a);
    }
}

static void test_role_maps_add_up(void **state)
{
    flexsaml_settings a, b, m;
    (void)state;
    flexsaml_settings_init(&a);
    flexsaml_settings_init(&b);
    assert_null(set(&a, NULL, "FlexSAMLRoleMap", "Flex-A agent"));
    assert_null(set(&b, NULL, "FlexSAMLRoleMap", "Flex-B admin"));
    flexsaml_settings_merge(pool, &m, &a, &b);
    assert_non_null(apr_hash_get(m.roles.map, "flex-a", APR_HASH_KEY_STRING));
    assert_non_null(apr_hash_get(m.roles.map, "flex-b", APR_HASH_KEY_STRING));
}

static void has(const char *got, const char *words);

static void test_site_roles_add_up_and_feed_the_map(void **state)
{
    flexsaml_settings a, b, m;
    (void)state;
    flexsaml_settings_init(&a);
    flexsaml_settings_init(&b);
    has(set(&a, NULL, "FlexSAMLRoleMap", "Leads teamlead"), "FlexSAMLRoles teamlead");
    assert_null(set(&a, NULL, "FlexSAMLRoles", "TeamLead"));
    assert_null(set(&a, NULL, "FlexSAMLRoleMap", "Leads teamlead"));
    assert_null(set(&b, NULL, "FlexSAMLRoles", "qa"));
    flexsaml_settings_merge(pool, &m, &a, &b);
    assert_true(flexsaml_role_is_declared(&m.roles, "teamlead"));
    assert_true(flexsaml_role_is_declared(&m.roles, "QA"));
    has(set(&a, NULL, "FlexSAMLRoles", "lead,qa"), "separate roles with spaces");
    has(set(&a, NULL, "FlexSAMLRoles", "wfo.x"), "Flex Insights role, known already");
}

static void test_require_claims(void **state)
{
    flexsaml_settings s;
    (void)state;
    flexsaml_settings_init(&s);
    flexsaml_settings_apply_defaults(pool, &s);
    assert_int_equal(s.required_claims->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(s.required_claims, 2, const char *), "roles");
    flexsaml_settings_init(&s);
    assert_null(set(&s, NULL, "FlexSAMLRequireClaims", "None"));
    flexsaml_settings_apply_defaults(pool, &s);
    assert_int_equal(s.required_claims->nelts, 0);
    has(set(&s, NULL, "FlexSAMLRequireClaims", "email none"), "\"none\" stands alone");
    has(set(&s, NULL, "FlexSAMLRequireClaims", "email,roles"), "separate names with spaces");
}

static void test_auth_and_unauthenticated_per_directory(void **state)
{
    flexsaml_settings s;
    flexsaml_dir_settings base, add, m;
    (void)state;
    flexsaml_settings_init(&s);
    flexsaml_dir_settings_init(&base);
    flexsaml_dir_settings_init(&add);
    has(set(&s, NULL, "FlexSAMLAuth", "optional"), "belongs in a <Location>");
    has(set(&s, NULL, "FlexSAMLUnauthenticated", "401"), "belongs in a <Location>");
    has(set(&s, &add, "FlexSAMLAuth", "maybe"), "FlexSAMLAuth must be required or optional");
    has(set(&s, &add, "FlexSAMLUnauthenticated", "404"), "must be login, 401 or 403");
    assert_null(set(&s, &add, "FlexSAMLAuth", "optional"));
    assert_null(set(&s, &base, "FlexSAMLUnauthenticated", "403"));
    flexsaml_dir_settings_merge(&m, &base, &add);
    assert_int_equal(m.auth_optional, 1);
    assert_int_equal(m.unauth, FLEXSAML_UNAUTH_403);
    assert_null(set(&s, &add, "FlexSAMLUnauthenticated", "login"));
    flexsaml_dir_settings_merge(&m, &base, &add);
    assert_int_equal(m.unauth, FLEXSAML_UNAUTH_LOGIN);
}

static void test_step_up_per_directory(void **state)
{
    flexsaml_settings s;
    flexsaml_dir_settings base, add, m;
    (void)state;
    flexsaml_settings_init(&s);
    flexsaml_dir_settings_init(&base);
    flexsaml_dir_settings_init(&add);
    has(set(&s, NULL, "FlexSAMLMaxAuthAge", "15m"), "belongs in a <Location>");
    has(set(&s, &add, "FlexSAMLMaxAuthAge", "30s"), "must be between 1 minute");
    has(set(&s, NULL, "FlexSAMLAuthnContextClassRef", "urn:a:b"), "belongs in a <Location>");
    has(set(&s, &add, "FlexSAMLAuthnContextClassRef", "MFA"), "is not a URI");
    assert_null(set(&s, &base, "FlexSAMLAuthnContextClassRef", "urn:a:b urn:c:d"));
    assert_null(set(&s, &add, "FlexSAMLMaxAuthAge", "15m"));
    flexsaml_dir_settings_merge(&m, &base, &add);
    assert_true(m.max_auth_age == apr_time_from_sec(900));
    assert_int_equal(m.authn_contexts->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(m.authn_contexts, 1, const char *), "urn:c:d");
    flexsaml_dir_settings_merge(&m, &add, &base);
    assert_true(m.max_auth_age == apr_time_from_sec(900));
}

static void test_idp_is_one_unit(void **state)
{
    flexsaml_settings main_s, vhost, m;
    (void)state;
    flexsaml_settings_init(&main_s);
    flexsaml_settings_init(&vhost);
    assert_null(set(&main_s, NULL, "FlexSAMLIdPMetadataFile", "/main.xml"));
    assert_null(set(&vhost, NULL, "FlexSAMLIdPMetadataURL", "https://idp/md"));
    flexsaml_settings_merge(pool, &m, &main_s, &vhost);
    assert_null(m.idp_metadata_file);
    assert_string_equal(m.idp_metadata_url, "https://idp/md");
    assert_true(flexsaml_settings_configured(&m));
}

static void test_defaults(void **state)
{
    flexsaml_settings s;
    (void)state;
    flexsaml_settings_init(&s);
    assert_false(flexsaml_settings_configured(&s));
    flexsaml_settings_apply_defaults(pool, &s);
    assert_string_equal(s.endpoint, "/flexsaml");
    assert_string_equal(s.acs_path, "/flexsaml/acs");
    assert_int_equal(s.clock_skew, 60);
    assert_int_equal(s.idp_initiated, 1);
    assert_int_equal(s.require_signed_response, 1);
    assert_int_equal(s.require_flex_role, 1);
    assert_int_equal(s.allow_sha1, 0);
    assert_int_equal(s.roles.unknown, FLEXSAML_UNKNOWN_DROP);
    assert_true(s.session_lifetime == apr_time_from_sec(8 * 3600));
    assert_true(s.max_body == 256 * 1024);
    assert_true(s.max_attr_bytes == 16 * 1024);
    assert_true(s.max_session_bytes == 48 * 1024);
    assert_string_equal(s.cookie_name, "flexsaml_session");
    assert_string_equal(s.cache_spec, "lmdb");
    assert_int_equal(s.taskrouter.mode, FLEXSAML_TR_OFF);
    assert_true(s.taskrouter.timeout == apr_time_from_sec(5));
    assert_int_equal(s.taskrouter.owned->nelts, 4);
    assert_int_equal(s.taskrouter.queue_size, 1000);
    /* Nothing is left unset. */
    assert_int_not_equal(s.request_ttl, FLEXSAML_UNSET);
    assert_true(s.idp_metadata_refresh != FLEXSAML_UNSET);
    assert_true(s.cert_expiry_warning != FLEXSAML_UNSET);
    assert_true(s.taskrouter.backoff_max != FLEXSAML_UNSET);
}

static void test_pass_claims_as_per_directory(void **state)
{
    flexsaml_settings s;
    flexsaml_dir_settings base, add, m;
    (void)state;
    flexsaml_settings_init(&s);
    flexsaml_dir_settings_init(&base);
    flexsaml_dir_settings_init(&add);
    assert_null(set(&s, &add, "FlexSAMLPassClaimsAs", "headers"));
    assert_null(s.claims);
    flexsaml_dir_settings_merge(&m, &base, &add);
    assert_int_equal(m.pass_as, FLEXSAML_PASS_HEADERS);
    flexsaml_dir_settings_merge(&m, &add, &base);
    assert_int_equal(m.pass_as, FLEXSAML_PASS_HEADERS);
}

static void has(const char *got, const char *words)
{
    if (!got || !strstr(got, words))
        fail_msg("\"%s\" does not say \"%s\"", got ? got : "(no error)", words);
}

static void test_directive_messages(void **state)
{
    flexsaml_settings s;
    (void)state;
    flexsaml_settings_init(&s);
    has(set(&s, NULL, "FlexSAMLClockSkew", "400"), "FlexSAMLClockSkew 400: at most 300 seconds");
    has(set(&s, NULL, "FlexSAMLClockSkew", "abc"), "FlexSAMLClockSkew: \"abc\" is not a duration");
    has(set(&s, NULL, "FlexSAMLClockSkew", "5 6"), "FlexSAMLClockSkew takes one argument");
    has(set(&s, NULL, "FlexSAMLAllowSHA1", "yes"), "FlexSAMLAllowSHA1 must be On or Off");
    has(set(&s, NULL, "FlexSAMLUnknownRoles", "maybe"), "must be keep, drop or deny");
    has(set(&s, NULL, "FlexSAMLTaskRouter", "maybe"), "FlexSAMLTaskRouter must be on, off or sync");
    has(set(&s, NULL, "FlexSAMLMaxBodySize", "1k"), "must be a byte count from 1024 to 67108864");
    has(set(&s, NULL, "FlexSAMLTaskRouterTimeout", "2m"), "must be between 100ms and 1 minute");
    has(set(&s, NULL, "FlexSAMLSessionLifetime", "0"), "must be between 1 second and 30 days");
    has(set(&s, NULL, "FlexSAMLSessionLifetime", "31d"), "must be between 1 second and 30 days");
    assert_null(set(&s, NULL, "FlexSAMLSessionLifetime", "30d"));
    has(set(&s, NULL, "FlexSAMLPreservePost", "1048576 65536"), "must be at least the first");
    has(set(&s, NULL, "FlexSAMLForwardedHeaders", "X-Real-IP"), "is not one of Forwarded");
    assert_null(set(&s, NULL, "FlexSAMLForwardedHeaders", "x-forwarded-proto X-Forwarded-Port"));
    assert_int_equal(s.forwarded_headers, FLEXSAML_FWD_PROTO | FLEXSAML_FWD_PORT);
    has(set(&s, NULL, "FlexSAMLPreservePost", "off 1048576"), "off takes nothing after it");
    assert_null(set(&s, NULL, "FlexSAMLPreservePost", "65536 1048576"));
    assert_int_equal(s.preserve_post, 65536);
    assert_int_equal(s.preserve_post_budget, 1048576);
    has(set(&s, NULL, "FlexSAMLIdPMetadataRefresh", "367d"), "366 days");
    has(set(&s, NULL, "FlexSAMLEndpointPath", "/x/"), "must be a path like /flexsaml");
    has(set(&s, NULL, "FlexSAMLRoleMap", "x"), "needs an IdP value and at least one role");
    has(set(&s, NULL, "FlexSAMLClaim", "a"), "FlexSAMLClaim takes two or three arguments");
    has(set(&s, NULL, "FlexSAMLIdPSSOURL", "example.okta.com/app/x/exk1/sso/saml"),
        "does not start with https://");
    assert_null(set(&s, NULL, "FlexSAMLIdPSSOURL", "http://127.0.0.1:8080/sso"));
    assert_null(flexsaml_directive_find("FlexSAMLClockSkw"));
    assert_non_null(flexsaml_directive_find("flexsamlclockskew"));
}

/* ---- README.md: the directive reference lists exactly the directives ---- */

static char *readme(void)
{
    const char *text;
    assert_null(flexsaml_read_file(pool, FLEXSAML_SRCDIR "/README.md", 1 << 22, &text, NULL));
    return (char *)text;
}

/* The README's "## Directive reference" section, up to the next "## " heading. */
static const char *reference_section(void)
{
    static const char *text;
    const char *start, *end;
    assert_null(flexsaml_read_file(pool, FLEXSAML_SRCDIR "/README.md", 1 << 22, &text, NULL));
    start = strstr(text, "\n## Directive reference\n");
    if (!start)
        fail_msg("README.md has no \"## Directive reference\" section");
    end = strstr(start + 1, "\n## ");
    return end ? apr_pstrmemdup(pool, start, (apr_size_t)(end - start)) : start;
}

static void test_every_directive_is_in_the_readme(void **state)
{
    const char *text = reference_section();
    const flexsaml_directive *d;
    (void)state;
    for (d = flexsaml_directives; d->name; d++) {
        /* A row of the reference table: "| `FlexSAMLName" then a space or a backquote. */
        const char *q = apr_pstrcat(pool, "\n| `", d->name, NULL), *at = text;
        int found = 0;
        while (!found && (at = strstr(at, q)) != NULL) {
            at += strlen(q);
            found = *at == ' ' || *at == '`';
        }
        if (!found)
            fail_msg("%s has no row in README.md's directive reference", d->name);
    }
}

static void test_the_readme_lists_no_other_directive(void **state)
{
    char *text = readme(), *line, *last;
    (void)state;
    for (line = apr_strtok(text, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
        const char *at = line;
        if (strncmp(line, "| `FlexSAML", 11) != 0)
            continue;
        /* The first cell names one directive or several. */
        while ((at = strstr(at, "`FlexSAML")) != NULL && at < line + strcspn(line + 1, "|") + 1) {
            apr_size_t n = strcspn(at + 1, " `");
            const char *name = apr_pstrmemdup(pool, at + 1, n);
            if (!flexsaml_directive_find(name))
                fail_msg("README.md documents %s, which no module has", name);
            at += n + 1;
        }
    }
}

/* ---- parsers ---- */

static void test_durations(void **state)
{
    static const struct {
        const char *in;
        apr_interval_time_t want;
    } ok[] = {
        {"300", 300 * APR_USEC_PER_SEC},  {"5s", 5 * APR_USEC_PER_SEC},
        {"5S", 5 * APR_USEC_PER_SEC},     {"500ms", 500 * 1000},
        {"90m", 5400 * APR_USEC_PER_SEC}, {"8h", 8 * 3600 * APR_USEC_PER_SEC},
        {"1d", 86400 * APR_USEC_PER_SEC}, {"0", 0},
    };
    static const char *const bad[] = {"", "abc", "-5", "5x", "5 s", "ms", "1.5h", "+5", " 5"};
    apr_interval_time_t v;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        assert_null(flexsaml_parse_duration(pool, "D", ok[i].in, 0, APR_INT64_MAX, &v));
        assert_true(v == ok[i].want);
    }
    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        has(flexsaml_parse_duration(pool, "D", bad[i], 0, APR_INT64_MAX, &v), "is not a duration");
    has(flexsaml_parse_duration(pool, "D", "99999999999999999d", 0, APR_INT64_MAX, &v),
        "must be between");
    has(flexsaml_parse_duration(pool, "D", "50ms", 100 * 1000, APR_USEC_PER_SEC, &v),
        "D 50ms: must be between 100ms and 1 second");
}

static void test_numbers_flags_enums_paths(void **state)
{
    static const char *const names[] = {"a", "b", "c", NULL};
    apr_int64_t v;
    int f;
    (void)state;
    assert_null(flexsaml_parse_number(pool, "N", "1024", "a byte count", 1024, 2048, &v));
    assert_true(v == 1024);
    has(flexsaml_parse_number(pool, "N", "1023", "a byte count", 1024, 2048, &v), "from 1024");
    has(flexsaml_parse_number(pool, "N", "1k", "a byte count", 1024, 2048, &v), "N: \"1k\"");
    has(flexsaml_parse_number(pool, "N", "", "a number", 1, 2, &v), "must be a number");
    assert_null(flexsaml_parse_flag(pool, "F", "On", &f));
    assert_int_equal(f, 1);
    assert_null(flexsaml_parse_flag(pool, "F", "OFF", &f));
    assert_int_equal(f, 0);
    has(flexsaml_parse_flag(pool, "F", "1", &f), "F must be On or Off");
    assert_null(flexsaml_parse_enum(pool, "E", "B", names, &f));
    assert_int_equal(f, 1);
    has(flexsaml_parse_enum(pool, "E", "d", names, &f), "E must be a, b or c");
    assert_null(flexsaml_parse_url_path(pool, "P", "/flexsaml"));
    has(flexsaml_parse_url_path(pool, "P", "flexsaml"), "P must be a path");
    has(flexsaml_parse_url_path(pool, "P", "/a?b"), "P must be a path");
    assert_string_equal(flexsaml_root_relative(pool, "/srv", "/abs"), "/abs");
    assert_string_equal(flexsaml_root_relative(pool, "/srv", "rel/x"), "/srv/rel/x");
    assert_true(flexsaml_sid_valid("WS0123456789abcdef0123456789ABCDEF", "WS"));
    assert_false(flexsaml_sid_valid("WS0123456789abcdef0123456789ABCDE", "WS"));
}

/* ---- secrets ---- */

static const char *secret_file(const char *text, mode_t mode)
{
    char *path = apr_psprintf(pool, "/tmp/flexsaml-test-secret-%d", (int)getpid());
    FILE *f;
    unlink(path);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_secrets(void **state)
{
    const char *v, *path;
    (void)state;
    path = secret_file("s3cret\n", 0600);
    assert_null(flexsaml_secret_read(pool, NULL, path, 4096, &v));
    assert_string_equal(v, "s3cret");
    assert_null(flexsaml_secret_read(pool, NULL, apr_pstrcat(pool, "file:", path, NULL), 4096, &v));
    assert_string_equal(v, "s3cret");
    assert_null(flexsaml_secret_read(pool, "/tmp", strrchr(path, '/') + 1, 4096, &v));
    assert_string_equal(v, "s3cret");
    has(flexsaml_secret_read(pool, NULL, path, 3, &v), "is larger than 3 bytes");

    /* Group- or world-readable: refused, with the fix; never quoted. */
    path = secret_file("s3cret\n", 0640);
    has(flexsaml_secret_read(pool, NULL, path, 4096, &v), "chmod 600");
    path = secret_file("s3cret\n", 0604);
    has(flexsaml_secret_read(pool, NULL, path, 4096, &v), "by every user");
    assert_null(strstr(flexsaml_secret_read(pool, NULL, path, 4096, &v), "s3cret"));
    unlink(path);
    has(flexsaml_secret_read(pool, NULL, path, 4096, &v), "cannot be read");
    has(flexsaml_secret_read(pool, NULL, "/tmp", 4096, &v), "is not a regular file");

    setenv("FLEXSAML_TEST_SECRET", "from-env\r\n", 1);
    assert_null(flexsaml_secret_read(pool, NULL, "env:FLEXSAML_TEST_SECRET", 4096, &v));
    assert_string_equal(v, "from-env");
    unsetenv("FLEXSAML_TEST_SECRET");
    has(flexsaml_secret_read(pool, NULL, "env:FLEXSAML_TEST_SECRET", 4096, &v),
        "the environment variable FLEXSAML_TEST_SECRET is not set");
}

static void test_okta_table(void **state)
{
    (void)state;
    assert_string_equal(flexsaml_okta_attribute("email")->expression, "user.email");
    assert_string_equal(flexsaml_okta_attribute("image_url")->format, "URI Reference");
    assert_null(flexsaml_okta_attribute("dept"));
    assert_string_equal(flexsaml_okta_attributes[0].attribute, "full_name");
}

static void test_okta_sso_url_warnings(void **state)
{
    (void)state;
    assert_null(flexsaml_okta_sso_url_warning("https://x.okta.com/app/flex/exk1a2/sso/saml"));
    assert_non_null(
        strstr(flexsaml_okta_sso_url_warning("https://x.okta.com/app/exk1a2/sso/saml/metadata"),
               "ends in /metadata"));
    assert_non_null(
        strstr(flexsaml_okta_sso_url_warning("https://x.okta.com/home/flex/0oa1/aln1"), "/home/"));
    assert_non_null(strstr(flexsaml_okta_sso_url_warning("http://www.okta.com/exk1a2b3"),
                           "Identity Provider Issuer"));
    assert_null(flexsaml_okta_sso_url_warning(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_directive_has_a_case),
        cmocka_unit_test(test_merge_keeps_every_field),
        cmocka_unit_test(test_role_maps_add_up),
        cmocka_unit_test(test_site_roles_add_up_and_feed_the_map),
        cmocka_unit_test(test_require_claims),
        cmocka_unit_test(test_auth_and_unauthenticated_per_directory),
        cmocka_unit_test(test_step_up_per_directory),
        cmocka_unit_test(test_idp_is_one_unit),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_pass_claims_as_per_directory),
        cmocka_unit_test(test_directive_messages),
        cmocka_unit_test(test_every_directive_is_in_the_readme),
        cmocka_unit_test(test_the_readme_lists_no_other_directive),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_numbers_flags_enums_paths),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_okta_table),
        cmocka_unit_test(test_okta_sso_url_warnings),
    };
    return cmocka_run_group_tests(tests, apr_group_setup, apr_group_teardown);
}
