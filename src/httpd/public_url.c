/*
 * The public URL of this site: what the browser and the IdP see. Behind a
 * load balancer that terminates TLS, the request Apache receives says
 * http://backend:8080, but Okta signs for https://portal.example.com. The
 * X-Forwarded-Proto/-Host/-Port (or Forwarded) headers of
 * FlexSAMLTrustedProxies say what the public URL is, each on its own; from
 * anyone else they are ignored, and a warning says so.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "flexsaml_glue.h"
#include "runtime.h"
#include "web.h"

typedef struct {
    const char *scheme; /* "http" or "https" */
    const char *host;   /* host[:port], port only when not the default */
} public_base;

static int from_trusted_proxy(request_rec *r, const flexsaml_srv_cfg *c)
{
    int i;
    if (!c->trusted_proxies || !r->connection->client_addr)
        return 0;
    for (i = 0; i < c->trusted_proxies->nelts; i++)
        if (apr_ipsubnet_test(APR_ARRAY_IDX(c->trusted_proxies, i, apr_ipsubnet_t *),
                              r->connection->client_addr))
            return 1;
    return 0;
}

/* The last element of a comma-separated header, trimmed: the one the
 * nearest proxy added. A proxy that appends (Apache's mod_proxy, RFC 7239)
 * leaves whatever the client sent in front of it. */
static const char *last_item(apr_pool_t *p, const char *v)
{
    const char *comma, *end;
    if (!v)
        return NULL;
    if ((comma = strrchr(v, ',')) != NULL)
        v = comma + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    end = v + strcspn(v, ", \t");
    return end > v ? apr_pstrmemdup(p, v, (apr_size_t)(end - v)) : NULL;
}

/* A parameter of the last element of an RFC 7239 Forwarded header. */
static const char *forwarded_param(apr_pool_t *p, const char *fwd, const char *name)
{
    apr_size_t n = strlen(name);
    const char *s = strrchr(fwd, ',') ? strrchr(fwd, ',') + 1 : fwd, *end;
    while (s && *s && *s != ',') {
        while (*s == ' ' || *s == ';')
            s++;
        if (!strncasecmp(s, name, n) && s[n] == '=') {
            s += n + 1;
            if (*s == '"') {
                end = strchr(++s, '"');
            } else {
                end = s + strcspn(s, ";, ");
            }
            return end ? apr_pstrmemdup(p, s, (apr_size_t)(end - s)) : NULL;
        }
        s += strcspn(s, ";,");
    }
    return NULL;
}

static int host_ok(const char *h)
{
    const char *c;
    int colon = 0;
    if (!h || !*h || strlen(h) > 255)
        return 0;
    for (c = h; *c; c++) {
        if (*c == ':') {
            if (colon++ || !c[1])
                return 0;
        } else if (!(apr_isalnum(*c) || *c == '-' || *c == '.') || (colon && !apr_isdigit(*c))) {
            return 0;
        }
    }
    return 1;
}

/* A port of 1..65535 in decimal, or 0. */
static unsigned port_of(const char *v)
{
    char *end;
    long n;
    if (!v || !apr_isdigit(*v))
        return 0;
    n = strtol(v, &end, 10);
    return *end || n < 1 || n > 65535 ? 0 : (unsigned)n;
}

static int default_port(const char *scheme, unsigned port)
{
    return (port == 443 && !strcmp(scheme, "https")) || (port == 80 && !strcmp(scheme, "http"));
}

/* Forwarded headers from a client outside FlexSAMLTrustedProxies change
 * nothing, and a login then fails with destination_mismatch: say once per
 * 10 s per process which header was ignored and which directive would
 * trust it. */
static void note_ignored(request_rec *r, const flexsaml_srv_cfg *c, const public_base *b)
{
    const char *fwd = apr_table_get(r->headers_in, "Forwarded");
    const char *proto = fwd ? forwarded_param(r->pool, fwd, "proto") : NULL;
    const char *host = fwd ? forwarded_param(r->pool, fwd, "host") : NULL;
    apr_time_t now, last;

    if (!proto)
        proto = last_item(r->pool, apr_table_get(r->headers_in, "X-Forwarded-Proto"));
    if (!host)
        host = last_item(r->pool, apr_table_get(r->headers_in, "X-Forwarded-Host"));
    if ((!proto || !strcasecmp(proto, b->scheme)) && (!host || !strcasecmp(host, b->host)))
        return;
    apr_table_setn(r->notes, "flexsaml-forwarded-ignored", "1");
    if (!c->rt)
        return;
    now = apr_time_now();
    last = atomic_load(&c->rt->forwarded_noted);
    if (last && now - last < apr_time_from_sec(10))
        return;
    if (!atomic_compare_exchange_strong(&c->rt->forwarded_noted, &last, now))
        return;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "flexsaml: %s%s%s%s arrived from %s and was ignored: that address is not in "
                  "FlexSAMLTrustedProxies, so this server's public URL stays %s://%s. Add the "
                  "proxy's address to FlexSAMLTrustedProxies, or set ServerName %s://%s with "
                  "UseCanonicalName On",
                  proto ? "X-Forwarded-Proto: " : "", proto ? proto : "",
                  host ? (proto ? ", X-Forwarded-Host: " : "X-Forwarded-Host: ") : "",
                  host ? host : "", r->useragent_ip, b->scheme, b->host,
                  proto ? apr_pstrdup(r->pool, proto) : b->scheme, host ? host : b->host);
}

/* The port the browser put in the Host header, or 0. */
static unsigned host_header_port(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "Host");
    const char *colon = h ? strrchr(h, ':') : NULL;
    return colon && !strchr(colon, ']') ? port_of(colon + 1) : 0;
}

/* Every protected request's session key is scoped by this: no formatter on
 * that path (apr_psprintf was a tenth of a microsecond of it). */
static const char *with_port(apr_pool_t *p, const char *host, unsigned port)
{
    return apr_pstrcat(p, host, ":", apr_itoa(p, (int)port), NULL);
}

/* note: whether forwarded headers from an untrusted client are noted (the
 * URLs the browser is sent to); the store scope of every protected request
 * skips it, as it reads three headers for a line only a login can use. */
static public_base base_of(request_rec *r, int note)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    public_base b;
    apr_port_t port;
    int trusted = from_trusted_proxy(r, c);

    /* Each header counts on its own: an ALB sends only X-Forwarded-Proto, an
     * Apache ProxyPass front end only X-Forwarded-Host. */
    if (trusted) {
        /* Only the headers the proxy sets itself (FlexSAMLForwardedHeaders):
         * one it passes through unchanged is the client's to choose. */
        int want = c->forwarded_headers;
        const char *fwd =
            want & FLEXSAML_FWD_FORWARDED ? apr_table_get(r->headers_in, "Forwarded") : NULL;
        const char *proto = fwd ? forwarded_param(r->pool, fwd, "proto") : NULL;
        const char *host = fwd ? forwarded_param(r->pool, fwd, "host") : NULL;
        unsigned fport = 0;

        if (!proto && want & FLEXSAML_FWD_PROTO)
            proto = last_item(r->pool, apr_table_get(r->headers_in, "X-Forwarded-Proto"));
        if (!host && want & FLEXSAML_FWD_HOST)
            host = last_item(r->pool, apr_table_get(r->headers_in, "X-Forwarded-Host"));
        if (want & FLEXSAML_FWD_PORT)
            fport = port_of(last_item(r->pool, apr_table_get(r->headers_in, "X-Forwarded-Port")));
        if (proto && strcasecmp(proto, "http") != 0 && strcasecmp(proto, "https") != 0)
            proto = NULL;
        if (host && !host_ok(host))
            host = NULL;
        if (proto || host || fport) {
            const char *colon;
            b.scheme = proto ? (!strcasecmp(proto, "https") ? "https" : "http") : ap_http_scheme(r);
            b.host = apr_pstrdup(r->pool, host ? host : ap_get_server_name_for_url(r));
            ap_str_tolower((char *)b.host);
            if ((colon = strchr(b.host, ':')) != NULL) {
                if (default_port(b.scheme, port_of(colon + 1)))
                    b.host = apr_pstrmemdup(r->pool, b.host, (apr_size_t)(colon - b.host));
                return b;
            }
            /* The backend's own port means nothing to the browser; only a
             * port the proxy or the browser named does. */
            if (!fport && !host)
                fport = host_header_port(r);
            if (fport && !default_port(b.scheme, fport))
                b.host = with_port(r->pool, b.host, fport);
            return b;
        }
    }
    b.scheme = ap_http_scheme(r);
    port = ap_get_server_port(r);
    b.host = ap_get_server_name_for_url(r);
    if (!ap_is_default_port(port, r))
        b.host = with_port(r->pool, b.host, port);
    if (!trusted && note)
        note_ignored(r, c, &b);
    return b;
}

const char *flexsaml_public_url(request_rec *r, const char *path)
{
    public_base b = base_of(r, 1);
    return apr_pstrcat(r->pool, b.scheme, "://", b.host, path, NULL);
}

const char *flexsaml_endpoint_url(request_rec *r, const char *suffix)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    return flexsaml_public_url(r, apr_pstrcat(r->pool, c->endpoint, suffix, NULL));
}

const char *flexsaml_acs_url(request_rec *r)
{
    return flexsaml_public_url(r, flexsaml_srv(r->server)->acs_path);
}

const char *flexsaml_public_host(request_rec *r)
{
    return base_of(r, 0).host;
}

int flexsaml_public_https(request_rec *r)
{
    return !strcmp(base_of(r, 1).scheme, "https");
}
