/*
 * The public URL of this site: what the browser and the IdP see. Behind a
 * load balancer that terminates TLS, the request Apache receives says
 * http://backend:8080, but Okta signs for https://portal.example.com. The
 * X-Forwarded-Proto/-Host (or Forwarded) headers of FlexSAMLTrustedProxies
 * say what the public URL is; from anyone else they are ignored.
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "flexsaml_glue.h"
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

/* The first element of a comma-separated header, trimmed. */
static const char *first_item(apr_pool_t *p, const char *v)
{
    const char *end;
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    end = v + strcspn(v, ", \t");
    return end > v ? apr_pstrmemdup(p, v, (apr_size_t)(end - v)) : NULL;
}

/* A parameter of the first element of an RFC 7239 Forwarded header. */
static const char *forwarded_param(apr_pool_t *p, const char *fwd, const char *name)
{
    apr_size_t n = strlen(name);
    const char *s = fwd, *end;
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

static public_base base_of(request_rec *r)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    public_base b;
    apr_port_t port;

    if (from_trusted_proxy(r, c)) {
        const char *fwd = apr_table_get(r->headers_in, "Forwarded");
        const char *proto =
            fwd ? forwarded_param(r->pool, fwd, "proto")
                : first_item(r->pool, apr_table_get(r->headers_in, "X-Forwarded-Proto"));
        const char *host =
            fwd ? forwarded_param(r->pool, fwd, "host")
                : first_item(r->pool, apr_table_get(r->headers_in, "X-Forwarded-Host"));
        if (proto && (!strcasecmp(proto, "http") || !strcasecmp(proto, "https")) && host_ok(host)) {
            b.scheme = !strcasecmp(proto, "https") ? "https" : "http";
            b.host = apr_pstrdup(r->pool, host);
            ap_str_tolower((char *)b.host);
            return b;
        }
    }
    b.scheme = ap_http_scheme(r);
    port = ap_get_server_port(r);
    b.host = ap_get_server_name_for_url(r);
    if (!ap_is_default_port(port, r))
        b.host = apr_psprintf(r->pool, "%s:%u", b.host, (unsigned)port);
    return b;
}

const char *flexsaml_public_url(request_rec *r, const char *path)
{
    public_base b = base_of(r);
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
    return base_of(r).host;
}

int flexsaml_public_https(request_rec *r)
{
    return !strcmp(base_of(r).scheme, "https");
}
