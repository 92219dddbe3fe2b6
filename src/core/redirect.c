/*
 * Redirect target validation: RelayState and return URLs come from the
 * client, and an open redirect after a successful login is a phishing tool.
 *
 * The approach is an allow-list of shapes, not a deny-list of tricks: a
 * candidate is accepted only when every byte is one we understand, and when
 * browsers, proxies and the application would all agree on where it points.
 */
#include <string.h>

#include <apr_strings.h>

#include "flexsaml.h"

#define REDIRECT_MAX 2048
#define HOST_MAX 253
#define LABEL_MAX 63

/* ASCII only, whatever the process locale: another module may have called
 * setlocale(), and in some locales 'I' and 'i' are not each other's case. */
static unsigned char ascii_lower(unsigned char c)
{
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

static int ascii_casecmpn(const char *a, const char *b, apr_size_t n)
{
    for (apr_size_t i = 0; i < n; i++) {
        unsigned char x = ascii_lower((unsigned char)a[i]);
        unsigned char y = ascii_lower((unsigned char)b[i]);
        if (x != y || x == '\0') {
            return x - y;
        }
    }
    return 0;
}

static int hexval(unsigned char c)
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

/* Printable ASCII only. Non-ASCII is refused because browsers normalize
 * look-alikes (fullwidth solidus, IDN) in ways we cannot predict; space,
 * tab, CR and LF because browsers strip or split on them; backslash because
 * browsers read it as '/'. Quotes and angle brackets because the target may
 * end up in an HTML attribute of an error or "continue" page. */
static int byte_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '<' && c != '>' && c != '`';
}

/* What a decoded byte may be: a single decode by a proxy or the application
 * must not turn a harmless target into a dangerous one. Spaces and quotes
 * are fine once decoded; controls, backslash and non-ASCII are not. */
static int decoded_ok(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\';
}

/* Checks s[0..n) (path, query and fragment of a target). With `path`, s is
 * an absolute path whose decoded form must not start with "//" either:
 * "/%2f%2fevil" is one decode away from a protocol-relative URL. */
static int tail_ok(const char *s, apr_size_t n, int path)
{
    apr_size_t di = 0; /* index in the decoded form */

    if (path && (n == 0 || s[0] != '/')) {
        return 0;
    }
    for (apr_size_t i = 0; i < n; i++, di++) {
        unsigned char c = (unsigned char)s[i];

        if (!byte_ok(c)) {
            return 0;
        }
        if (c == '%') {
            int hi;
            int lo;

            if (i + 2 >= n) {
                return 0;
            }
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                return 0;
            }
            c = (unsigned char)(hi << 4 | lo);
            /* "%25" would let an application that decodes twice see
             * another URL than the one checked here ("/%252f%252fhost"). */
            if (!decoded_ok(c) || c == '%') {
                return 0;
            }
            i += 2;
        }
        if (path && di == 1 && (c == '/' || c == '\\')) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    const char *host; /* not NUL-terminated */
    apr_size_t len;
    int port; /* 0 when absent */
} hostport;

/* A plain DNS name or IPv4 literal, nothing a resolver or browser could
 * read differently: no percent-encoding, no IDN, no empty label. */
static int host_ok(const char *h, apr_size_t n)
{
    apr_size_t label = 0;

    if (n == 0 || n > HOST_MAX) {
        return 0;
    }
    for (apr_size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0) {
                return 0;
            }
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-')) {
            return 0;
        }
        if (++label > LABEL_MAX) {
            return 0;
        }
    }
    return label > 0;
}

static int port_parse(const char *s, apr_size_t n, int *port)
{
    int v = 0;

    /* Canonical decimal only: "08443" is 8443 to a browser but not to a
     * string comparison, and nobody needs to write it that way. */
    if (n == 0 || n > 5 || s[0] == '0') {
        return 0;
    }
    for (apr_size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return 0;
    }
    *port = v;
    return 1;
}

/* Splits "host[:port]" of a URL authority; refuses anything else. */
static int authority_parse(const char *a, apr_size_t n, hostport *hp)
{
    const char *colon = memchr(a, ':', n);

    hp->host = a;
    hp->len = colon != NULL ? (apr_size_t)(colon - a) : n;
    hp->port = 0;
    if (!host_ok(a, hp->len)) {
        return 0;
    }
    return colon == NULL || port_parse(colon + 1, n - hp->len - 1, &hp->port);
}

/* Splits a configured "host[:port]" or ".domain[:port]" entry. The entry
 * comes from the configuration, so only the port is parsed strictly. */
static void entry_parse(const char *e, hostport *hp)
{
    const char *colon = strrchr(e, ':');
    int port = 0;

    hp->host = e;
    hp->len = strlen(e);
    hp->port = 0;
    if (colon != NULL && strchr(colon, ']') == NULL &&
        port_parse(colon + 1, strlen(colon + 1), &port)) {
        hp->len = (apr_size_t)(colon - e);
        hp->port = port;
    }
}

static int host_matches(const hostport *url, int default_port, const char *entry)
{
    hostport e;
    int url_port = url->port ? url->port : default_port;

    if (entry == NULL || *entry == '\0') {
        return 0;
    }
    entry_parse(entry, &e);
    if ((e.port ? e.port : default_port) != url_port) {
        return 0;
    }
    if (e.host[0] == '.') {
        /* ".example.com": a subdomain, never example.com itself. */
        return e.len > 1 && url->len > e.len &&
               ascii_casecmpn(url->host + url->len - e.len, e.host, e.len) == 0;
    }
    return e.len == url->len && ascii_casecmpn(url->host, e.host, e.len) == 0;
}

static int absolute_ok(const char *c, apr_size_t n, const char *this_host,
                       const apr_array_header_t *allowed)
{
    apr_size_t skip;
    int default_port;
    const char *a;
    apr_size_t alen = 0;
    hostport hp;
    int matched;

    if (n >= 7 && ascii_casecmpn(c, "http://", 7) == 0) {
        skip = 7;
        default_port = 80;
    } else if (n >= 8 && ascii_casecmpn(c, "https://", 8) == 0) {
        skip = 8;
        default_port = 443;
    } else {
        return 0;
    }
    a = c + skip;
    n -= skip;
    while (alen < n && a[alen] != '/' && a[alen] != '?' && a[alen] != '#') {
        alen++;
    }
    if (!tail_ok(a, n, 0) || !authority_parse(a, alen, &hp)) {
        return 0;
    }
    matched = this_host != NULL && host_matches(&hp, default_port, this_host);
    for (int i = 0; !matched && allowed != NULL && i < allowed->nelts; i++) {
        matched = host_matches(&hp, default_port, APR_ARRAY_IDX(allowed, i, const char *));
    }
    if (!matched) {
        return 0;
    }
    return alen == n || a[alen] != '/' || tail_ok(a + alen, n - alen, 1);
}

const char *flexsaml_redirect_target(apr_pool_t *p, const char *candidate, const char *this_host,
                                     const apr_array_header_t *allowed_hosts)
{
    apr_size_t n;
    int ok;

    if (candidate == NULL) {
        return NULL;
    }
    n = strnlen(candidate, REDIRECT_MAX + 1);
    if (n == 0 || n > REDIRECT_MAX) {
        return NULL;
    }
    if (candidate[0] == '/') {
        ok = tail_ok(candidate, n, 1);
    } else {
        ok = absolute_ok(candidate, n, this_host, allowed_hosts);
    }
    return ok ? apr_pstrmemdup(p, candidate, n) : NULL;
}
