/*
 * The HTTP helpers every handler shares: form values, the session cookie,
 * 303 redirects and the check that a return target is safe. The public URL
 * the browser sees is public_url.c; both are declared in web.h.
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "flexsaml_glue.h"
#include "web.h"
#include "errors.h"

const char *flexsaml_safe_target(request_rec *r, const char *candidate)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    const char *t = candidate ? flexsaml_redirect_target(r->pool, candidate,
                                                         flexsaml_public_host(r), c->redirect_hosts)
                              : NULL;
    return t;
}

/* Decodes one application/x-www-form-urlencoded value in place ('+' is a
 * space: ap_unescape_urlencoded does both). */
static char *form_decode(char *v)
{
    return ap_unescape_urlencoded(v) == OK ? v : NULL;
}

apr_table_t *flexsaml_form_parse(apr_pool_t *p, const char *body)
{
    apr_table_t *t = apr_table_make(p, 4);
    char *pair = apr_pstrdup(p, body ? body : ""), *next;

    /* strchr, not apr_strtok: the ACS body is a SAMLResponse of kilobytes,
     * and apr_strtok looks each of its bytes up in the separator list (1.7 %
     * of a login's CPU in perf). Empty pairs are skipped, as there. */
    for (; pair; pair = next) {
        char *eq, *k, *v;
        if ((next = strchr(pair, '&')) != NULL)
            *next++ = '\0';
        if ((eq = strchr(pair, '=')) == NULL)
            continue;
        *eq = '\0';
        k = form_decode(pair);
        v = form_decode(eq + 1);
        if (k && v && !apr_table_get(t, k))
            apr_table_setn(t, k, v);
    }
    return t;
}

const char *flexsaml_form_value(request_rec *r, const char *query, const char *name)
{
    return apr_table_get(flexsaml_form_parse(r->pool, query), name);
}

void flexsaml_set_cookie(request_rec *r, const char *name, const char *value, int expire)
{
    int https = flexsaml_public_https(r);
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", name, value,
                               https ? "; Secure" : "",
                               expire ? "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" : ""));
}

void flexsaml_set_state_cookie(request_rec *r, const char *name, const char *value, int max_age)
{
    /* The ACS POST comes from the IdP's origin: a SameSite=Lax cookie would
     * not be sent with it, so on https the state cookie is SameSite=None
     * (which browsers accept only with Secure). On plain http a browser
     * refuses SameSite=None without Secure; no attribute means Lax there,
     * which only a same-site IdP (a test IdP on the same host) can pass.
     * Path=/ because a login starts at any protected URL and must read
     * the states of the other tabs to keep them. */
    int https = flexsaml_public_https(r);
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly%s; Max-Age=%d%s", name,
                               value ? value : "", https ? "; Secure; SameSite=None" : "",
                               value ? max_age : 0,
                               value ? "" : "; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
}

int flexsaml_see_other(request_rec *r, const char *target)
{
    apr_table_setn(r->err_headers_out, "Location", target);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_SEE_OTHER;
}

/* The first allocation for a body; it doubles as the body arrives, up to
 * max. An anonymous POST that announces max and sends nothing costs this,
 * not max. */
#define BODY_CHUNK 8192

flexsaml_body flexsaml_body_read(request_rec *r, apr_off_t max, const char **out, apr_size_t *len,
                                 int *rc)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared = 0;
    char *buf, *end;
    apr_size_t used = 0, cap, limit = (apr_size_t)max + 1;
    long got = 0;

    if (cl && (apr_strtoff(&declared, cl, &end, 10) != APR_SUCCESS || *end || declared < 0))
        return FLEXSAML_BODY_BAD_LENGTH;
    *len = (apr_size_t)declared;
    if (declared > max)
        return FLEXSAML_BODY_TOO_LARGE;
    if ((*rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return FLEXSAML_BODY_REFUSED;
    cap = limit < BODY_CHUNK ? limit : BODY_CHUNK;
    buf = apr_palloc(r->pool, cap);
    if (ap_should_client_block(r)) {
        for (;;) {
            if (used == cap && cap < limit) {
                apr_size_t ncap = cap * 2 < limit ? cap * 2 : limit;
                char *nb = apr_palloc(r->pool, ncap);
                memcpy(nb, buf, used);
                buf = nb;
                cap = ncap;
            }
            if (used == cap)
                break;
            if ((got = ap_get_client_block(r, buf + used, cap - used)) <= 0)
                break;
            used += (apr_size_t)got;
            if (used > (apr_size_t)max) {
                /* The rest is never read: this connection cannot carry
                 * another request. */
                r->connection->keepalive = AP_CONN_CLOSE;
                return FLEXSAML_BODY_TOO_LARGE;
            }
        }
        if (got < 0)
            return FLEXSAML_BODY_BROKEN;
    }
    if (used == cap) {
        char *nb = apr_palloc(r->pool, used + 1);
        memcpy(nb, buf, used);
        buf = nb;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return FLEXSAML_BODY_OK;
}

int flexsaml_read_body(request_rec *r, apr_off_t max, const char **out)
{
    apr_size_t len = 0;
    int rc = OK;

    switch (flexsaml_body_read(r, max, out, &len, &rc)) {
    case FLEXSAML_BODY_OK:
        return OK;
    case FLEXSAML_BODY_BAD_LENGTH:
        return flexsaml_refuse(r, FLEXSAML_R_BAD_RESPONSE, "bad Content-Length", NULL);
    case FLEXSAML_BODY_TOO_LARGE:
        return flexsaml_refuse(
            r, FLEXSAML_R_BODY_TOO_LARGE,
            len > (apr_size_t)max
                ? apr_psprintf(r->pool,
                               "POST body of %" APR_SIZE_T_FMT " bytes, limit %" APR_OFF_T_FMT, len,
                               max)
                : apr_psprintf(r->pool, "chunked POST body over %" APR_OFF_T_FMT " bytes", max),
            NULL);
    case FLEXSAML_BODY_BROKEN:
        return flexsaml_refuse(r, FLEXSAML_R_BAD_RESPONSE, "the POST body broke off", NULL);
    case FLEXSAML_BODY_REFUSED:
    default:
        return rc;
    }
}

int flexsaml_same_origin(request_rec *r)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *referer = apr_table_get(r->headers_in, "Referer");
    const char *mine = flexsaml_public_url(r, "");
    apr_size_t n = strlen(mine);

    if (site)
        return !strcmp(site, "same-origin") || !strcmp(site, "none");
    if (origin)
        return !strcmp(origin, mine);
    return referer && !strncmp(referer, mine, n) && (referer[n] == '/' || !referer[n]);
}

int flexsaml_wants_json(request_rec *r)
{
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *accept = apr_table_get(r->headers_in, "Accept");
    return (xrw && !strcasecmp(xrw, "XMLHttpRequest")) ||
           (accept && ap_strcasestr(accept, "application/json") &&
            !ap_strcasestr(accept, "text/html"));
}
