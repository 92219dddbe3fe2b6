/*
 * Unit tests for redirect.c. The hostile list lives in redirect_payloads.txt
 * (shared with the integration tests); its path is argv[1], or
 * FLEXSAML_PAYLOADS at compile time, or tests/unit/redirect_payloads.txt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml.h"

#ifndef FLEXSAML_PAYLOADS
#define FLEXSAML_PAYLOADS "tests/unit/redirect_payloads.txt"
#endif

#define THIS_HOST "portal.example.com"

static const char *payloads_path = FLEXSAML_PAYLOADS;

static apr_array_header_t *allowed(apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));

    APR_ARRAY_PUSH(a, const char *) = ".trusted.example";
    APR_ARRAY_PUSH(a, const char *) = "partner.example.org:8443";
    APR_ARRAY_PUSH(a, const char *) = "Other.Example.NET";
    APR_ARRAY_PUSH(a, const char *) = "10.0.0.7";
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

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The escapes documented at the top of redirect_payloads.txt. Returns NULL
 * on a malformed line, so that a broken file fails loudly. */
static char *unescape(apr_pool_t *p, const char *line)
{
    char *out = apr_palloc(p, strlen(line) + 1);
    char *o = out;

    if (strcmp(line, "<empty>") == 0) {
        return apr_pstrdup(p, "");
    }
    for (const char *s = line; *s; s++) {
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        switch (*++s) {
        case 't':
            *o++ = '\t';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case 'x': {
            int hi = hexval(s[1]);
            int lo = hi >= 0 ? hexval(s[2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            s += 2;
            break;
        }
        default:
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

static void test_payload_file(void **state)
{
    apr_pool_t *p = *state;
    FILE *f = fopen(payloads_path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    int count = 0;
    int failures = 0;

    if (f == NULL) {
        print_error("cannot open %s\n", payloads_path);
        fail();
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        char *c;
        const char *got;

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (n == 0 || line[0] == '#') {
            continue;
        }
        c = unescape(p, line);
        if (c == NULL) {
            print_error("%s:%d: malformed line\n", payloads_path, lineno);
            failures++;
            continue;
        }
        count++;
        got = flexsaml_redirect_target(p, c, THIS_HOST, allowed(p));
        if (got != NULL) {
            print_error("%s:%d: accepted: %s\n", payloads_path, lineno, line);
            failures++;
        }
        /* Without any allowed host, it must be refused all the more. */
        if (flexsaml_redirect_target(p, c, THIS_HOST, NULL) != NULL ||
            flexsaml_redirect_target(p, c, NULL, NULL) != NULL) {
            print_error("%s:%d: accepted without allowed hosts: %s\n", payloads_path, lineno, line);
            failures++;
        }
    }
    free(line);
    fclose(f);
    print_message("%d payloads from %s\n", count, payloads_path);
    assert_true(count >= 300);
    assert_int_equal(failures, 0);
}

/* The brief's own list, kept here too so that it holds even if the data
 * file is regenerated wrongly. */
static const char *const hostile[] = {
    "//evil.example",
    "/\\evil",
    "\\/evil",
    "///evil",
    "http:evil",
    "https:\\\\evil",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/%2f%2fevil",
    "/%5cevil",
    "/\t/evil",
    "/foo\r\nLocation: x",
    "/%0d%0aLocation:%20x",
    "https://portal.example.com@evil.example",
    "https://evil.example#@portal.example.com",
    "https://portal.example.com.evil.example",
    "https://evil.example\\@portal.example.com",
    "https://\xef\xbd\x85vil.example",
    "https://portal.ex\xd0\xb0mple.com",
    "",
    " /x",
    "https://trusted.example/",
    "https://portal.example.com:8443/",
    "https://partner.example.org/",
    "https://partner.example.org:9443/",
    "http://partner.example.org/",
    "https://10.0.0.7.evil.example/",
    "https://x.other.example.net/",
    "/%2F",
    "/%",
    "/a%2",
    "/%0",
};

static void test_hostile_inline(void **state)
{
    apr_pool_t *p = *state;

    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        if (flexsaml_redirect_target(p, hostile[i], THIS_HOST, allowed(p)) != NULL) {
            print_error("accepted: hostile[%zu]\n", i);
            fail();
        }
    }
    assert_null(flexsaml_redirect_target(p, NULL, THIS_HOST, allowed(p)));
}

static const char *const safe[] = {
    "/",
    "/portal",
    "/portal/",
    "/portal/x?a=b&c=%20d#frag",
    "/a/b/c/d.html",
    "/x?next=//evil.example",
    "/x#//evil.example",
    "/x?a=%22&b=%3C",
    "/a%2Fb",
    "/~user/index.html",
    "/x:y@z",
    "/?",
    "/#",
    "/a;b=c,d!$'()*+",
    "https://portal.example.com",
    "https://portal.example.com/",
    "https://portal.example.com/x?y=1#z",
    "https://portal.example.com?x=1",
    "https://portal.example.com#frag",
    "HTTPS://PORTAL.EXAMPLE.COM/x",
    "http://portal.example.com/",
    "https://portal.example.com:443/",
    "http://portal.example.com:80/x",
    "https://a.trusted.example/",
    "https://a.b.trusted.example/x",
    /* Found by fuzz_redirect (a bug in its oracle, but a good case). */
    "https://a.trusted.example/y?z#w",
    "https://A.Trusted.Example/",
    "https://partner.example.org:8443/cb",
    "https://other.example.net/",
    "https://OTHER.example.net:443/",
    "https://10.0.0.7/",
};

static void test_safe(void **state)
{
    apr_pool_t *p = *state;

    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
        const char *got = flexsaml_redirect_target(p, safe[i], THIS_HOST, allowed(p));
        if (got == NULL || strcmp(got, safe[i]) != 0) {
            print_error("refused: %s\n", safe[i]);
            fail();
        }
        /* A copy, not the caller's buffer. */
        assert_ptr_not_equal(got, safe[i]);
    }
}

static void test_local_paths_need_no_host(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(flexsaml_redirect_target(p, "/x", NULL, NULL), "/x");
    assert_null(flexsaml_redirect_target(p, "https://portal.example.com/", NULL, NULL));
    assert_null(flexsaml_redirect_target(p, "https://portal.example.com/", "", NULL));
}

static void test_this_host_with_port(void **state)
{
    apr_pool_t *p = *state;
    const char *h = "portal.example.com:8443";

    assert_non_null(flexsaml_redirect_target(p, "https://portal.example.com:8443/", h, NULL));
    assert_non_null(flexsaml_redirect_target(p, "http://portal.example.com:8443/x", h, NULL));
    assert_null(flexsaml_redirect_target(p, "https://portal.example.com/", h, NULL));
    assert_null(flexsaml_redirect_target(p, "https://portal.example.com:443/", h, NULL));
    assert_null(flexsaml_redirect_target(p, "https://portal.example.com:8444/", h, NULL));
    assert_null(flexsaml_redirect_target(p, "https://portal.example.com:08443/", h, NULL));

    /* Default ports count as the same origin. */
    h = "portal.example.com:443";
    assert_non_null(flexsaml_redirect_target(p, "https://portal.example.com/", h, NULL));
    assert_null(flexsaml_redirect_target(p, "http://portal.example.com/", h, NULL));

    /* An IPv6 this_host never matches: we accept no bracketed hosts. */
    assert_null(flexsaml_redirect_target(p, "https://[::1]:8443/", "[::1]:8443", NULL));
    assert_non_null(flexsaml_redirect_target(p, "http://127.0.0.1:8080/", "127.0.0.1:8080", NULL));
}

static void test_length_limit(void **state)
{
    apr_pool_t *p = *state;
    char *s = apr_palloc(p, 2050);

    s[0] = '/';
    memset(s + 1, 'a', 2047);
    s[2048] = '\0';
    assert_non_null(flexsaml_redirect_target(p, s, THIS_HOST, NULL));
    s[2048] = 'a';
    s[2049] = '\0';
    assert_null(flexsaml_redirect_target(p, s, THIS_HOST, NULL));
}

static void test_every_byte_after_slash(void **state)
{
    apr_pool_t *p = *state;

    /* Exhaustive over one raw byte and one escaped byte at both places that
     * matter: right after the leading slash, and further along. */
    for (int b = 1; b < 256; b++) {
        char raw2[3] = {'/', (char)b, '\0'};
        char raw3[4] = {'/', 'a', (char)b, '\0'};
        char *enc2 = apr_psprintf(p, "/%%%02x", b);
        char *enc3 = apr_psprintf(p, "/a%%%02X", b);
        int printable = b > 0x20 && b < 0x7f;
        int html = b == '"' || b == '<' || b == '>' || b == '`';
        int raw_ok = printable && b != '\\' && !html;
        /* %25 is refused too: decoded twice it could become another URL. */
        int dec_ok = b >= 0x20 && b < 0x7f && b != '\\' && b != '%';

        assert_int_equal(flexsaml_redirect_target(p, raw2, THIS_HOST, NULL) != NULL,
                         raw_ok && b != '/' && b != '%');
        assert_int_equal(flexsaml_redirect_target(p, raw3, THIS_HOST, NULL) != NULL,
                         raw_ok && b != '%');
        assert_int_equal(flexsaml_redirect_target(p, enc2, THIS_HOST, NULL) != NULL,
                         dec_ok && b != '/');
        assert_int_equal(flexsaml_redirect_target(p, enc3, THIS_HOST, NULL) != NULL, dec_ok);
    }
}

static void test_host_labels(void **state)
{
    apr_pool_t *p = *state;
    char *label63 = apr_palloc(p, 64);
    char *label64 = apr_palloc(p, 65);

    memset(label63, 'a', 63);
    label63[63] = '\0';
    memset(label64, 'a', 64);
    label64[64] = '\0';
    assert_non_null(flexsaml_redirect_target(
        p, apr_pstrcat(p, "https://", label63, ".trusted.example/", NULL), THIS_HOST, allowed(p)));
    assert_null(flexsaml_redirect_target(
        p, apr_pstrcat(p, "https://", label64, ".trusted.example/", NULL), THIS_HOST, allowed(p)));
    assert_null(flexsaml_redirect_target(p, "https://-.trusted.example./", THIS_HOST, allowed(p)));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_payload_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_paths_need_no_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_this_host_with_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_byte_after_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_labels, setup, teardown),
    };
    int rc;

    if (argc > 1) {
        payloads_path = argv[1];
    }
    apr_initialize();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
