/*
 * libFuzzer harness for redirect.c. Besides crashes, it re-checks every
 * accepted target with a deliberately simple, independent oracle: a bug
 * in the validator's logic then shows up as an abort, not only a bug in
 * its memory handling.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes once; aborts on anything a safe target cannot contain. */
static void check_tail(const char *s, int path)
{
    char *d = malloc(strlen(s) + 1);
    size_t n = 0;

    for (const char *c = s; *c; c++) {
        unsigned char b = (unsigned char)*c;
        if (b <= 0x20 || b >= 0x7f || b == '\\') {
            abort();
        }
        if (b == '%') {
            if (hexval(c[1]) < 0 || hexval(c[2]) < 0) {
                abort();
            }
            b = (unsigned char)(hexval(c[1]) << 4 | hexval(c[2]));
            c += 2;
        }
        if (b < 0x20 || b >= 0x7f || b == '\\') {
            abort();
        }
        d[n++] = (char)b;
    }
    d[n] = '\0';
    if (path && (d[0] != '/' || d[1] == '/' || d[1] == '\\')) {
        abort();
    }
    free(d);
}

/* Authority a[0..n): the configured host or a subdomain of the allowed
 * domain, on the scheme's default port. */
static void check_authority(const char *a, size_t n, const char *default_port)
{
    static const char suffix[] = ".trusted.example";
    size_t sl = sizeof(suffix) - 1;
    const char *colon = memchr(a, ':', n);
    size_t hl = colon != NULL ? (size_t)(colon - a) : n;

    if (memchr(a, '@', n) != NULL) {
        abort();
    }
    if (colon != NULL &&
        (n - hl - 1 != strlen(default_port) || memcmp(colon + 1, default_port, n - hl - 1) != 0)) {
        abort();
    }
    if (hl == 18 && strncasecmp(a, "portal.example.com", 18) == 0) {
        return;
    }
    if (hl > sl && strncasecmp(a + hl - sl, suffix, sl) == 0 && a[hl - sl - 1] != '.') {
        return;
    }
    abort();
}

static void check_accepted(const char *in, const char *out)
{
    size_t n = strlen(out);
    const char *a;
    size_t alen;

    if (strcmp(in, out) != 0 || n == 0 || n > 2048) {
        abort();
    }
    if (out[0] == '/') {
        check_tail(out, 1);
        return;
    }
    if (strncasecmp(out, "https://", 8) == 0) {
        a = out + 8;
        alen = strcspn(a, "/?#");
        check_authority(a, alen, "443");
    } else if (strncasecmp(out, "http://", 7) == 0) {
        a = out + 7;
        alen = strcspn(a, "/?#");
        check_authority(a, alen, "80");
    } else {
        abort();
    }
    check_tail(a, 0);
    if (a[alen] == '/') {
        check_tail(a + alen, 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *allowed;
    char *in = malloc(size + 1);
    const char *out;

    memcpy(in, data, size);
    in[size] = '\0';
    apr_pool_create(&p, NULL);
    allowed = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(allowed, const char *) = ".trusted.example";
    out = flexsaml_redirect_target(p, in, "portal.example.com", allowed);
    if (out != NULL) {
        check_accepted(in, out);
    }
    apr_pool_destroy(p);
    free(in);
    return 0;
}
