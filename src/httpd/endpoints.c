/*
 * <endpoint>/metadata, /acs, /login and /logout. They run as a quick
 * handler, before access control, because the browser reaches them before
 * it has a session.
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_escape.h"

#include "flexsaml_glue.h"

const char *flexsaml_safe_target(request_rec *r, const char *candidate)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    const char *t = candidate ? flexsaml_redirect_target(r->pool, candidate,
                                                         flexsaml_public_host(r), c->redirect_hosts)
                              : NULL;
    return t;
}

static apr_table_t *parse_form(apr_pool_t *p, const char *body);

/* Decodes one application/x-www-form-urlencoded value in place. */
static char *form_decode(char *v)
{
    char *s;
    for (s = v; *s; s++)
        if (*s == '+')
            *s = ' ';
    return ap_unescape_urlencoded(v) == OK ? v : NULL;
}

/* Values of a query string or urlencoded body; undecodable pairs are dropped. */
const char *flexsaml_form_value(request_rec *r, const char *query, const char *name)
{
    return apr_table_get(parse_form(r->pool, query), name);
}

static apr_table_t *parse_form(apr_pool_t *p, const char *body)
{
    apr_table_t *t = apr_table_make(p, 4);
    char *copy = apr_pstrdup(p, body ? body : ""), *pair, *last = NULL;

    for (pair = apr_strtok(copy, "&", &last); pair; pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '='), *k, *v;
        if (!eq)
            continue;
        *eq = '\0';
        k = form_decode(pair);
        v = form_decode(eq + 1);
        if (k && v && !apr_table_get(t, k))
            apr_table_setn(t, k, v);
    }
    return t;
}

static int read_body(request_rec *r, apr_off_t max, const char **out)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared = 0;
    char *buf, *end;
    apr_size_t used = 0;
    long got;
    int rc;

    if (cl && (apr_strtoff(&declared, cl, &end, 10) != APR_SUCCESS || *end || declared < 0))
        return flexsaml_refuse(r, HTTP_BAD_REQUEST, "bad_response", "bad Content-Length", NULL);
    if (declared > max)
        return flexsaml_refuse(
            r, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
            apr_psprintf(r->pool, "POST body of %" APR_OFF_T_FMT " bytes, limit %" APR_OFF_T_FMT,
                         declared, max),
            NULL);
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc;
    buf = apr_palloc(r->pool, (apr_size_t)max + 1);
    if (ap_should_client_block(r)) {
        while ((got = ap_get_client_block(r, buf + used, (apr_size_t)max + 1 - used)) > 0) {
            used += (apr_size_t)got;
            if (used > (apr_size_t)max) {
                r->connection->keepalive = AP_CONN_CLOSE;
                return flexsaml_refuse(
                    r, HTTP_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                    apr_psprintf(r->pool, "chunked POST body over %" APR_OFF_T_FMT " bytes", max),
                    NULL);
            }
        }
        if (got < 0)
            return flexsaml_refuse(r, HTTP_BAD_REQUEST, "bad_response", "the POST body broke off",
                                   NULL);
    }
    buf[used] = '\0';
    *out = buf;
    return OK;
}

static int metadata(request_rec *r, const flexsaml_srv_cfg *c)
{
    const char *slo = c->sp_key_pem && flexsaml_sp_idp(c->sp)->slo_url
                          ? flexsaml_endpoint_url(r, "/logout")
                          : NULL;
    const char *md = flexsaml_sp_metadata(r->pool, c->sp, flexsaml_acs_url(r), slo);
    ap_set_content_type(r, "application/samlmetadata+xml");
    ap_rputs(md, r);
    return OK;
}

void flexsaml_set_cookie(request_rec *r, const char *name, const char *value, int expire)
{
    int https = flexsaml_public_https(r);
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", name, value,
                               https ? "; Secure" : "",
                               expire ? "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" : ""));
}

int flexsaml_see_other(request_rec *r, const char *target)
{
    apr_table_setn(r->err_headers_out, "Location", target);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_SEE_OTHER;
}

/* Where a successful login lands: the page that started it, or a safe
 * RelayState, or the default URL. */
static const char *landing(request_rec *r, const flexsaml_srv_cfg *c, const char *stored,
                           const char *relay_state)
{
    const char *t = stored ? flexsaml_safe_target(r, stored) : NULL;
    if (!t && relay_state && *relay_state) {
        t = flexsaml_safe_target(r, relay_state);
        if (!t)
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "flexsaml: RelayState is not a local or allowed URL; landing on %s "
                          "id=%s",
                          c->default_url, flexsaml_correlation_id(r));
    }
    return t ? t : c->default_url;
}

static int open_session(request_rec *r, const flexsaml_srv_cfg *c, const flexsaml_sp_result *res,
                        const char *target)
{
    flexsaml_session s;
    const char *id = flexsaml_session_new_id(r->pool), *buf;
    apr_time_t now = apr_time_now();
    apr_size_t len;
    apr_status_t rv;

    if (!id)
        return flexsaml_refuse(r, HTTP_INTERNAL_SERVER_ERROR, "internal",
                               "the system random generator failed", NULL);
    memset(&s, 0, sizeof(s));
    s.sp_entity_id = c->sp_entity_id;
    s.created = now;
    s.expires = now + c->session_lifetime;
    if (res->session_not_after && res->session_not_after < s.expires)
        s.expires = res->session_not_after;
    s.ident = res->ident;
    buf = flexsaml_session_encode(r->pool, &s, &len);
    if (len > c->max_session_bytes)
        return flexsaml_refuse(
            r, HTTP_BAD_REQUEST, "claim_too_large",
            apr_psprintf(r->pool, "the session would take %" APR_SIZE_T_FMT " bytes", len), NULL);
    rv = flexsaml_store_put(c->store, r, FLEXSAML_KEY_SESSION, id, s.expires, buf, len);
    if (rv != APR_SUCCESS)
        return flexsaml_store_unavailable(r, rv, "store the session");
    flexsaml_set_cookie(r, c->cookie_name, id, 0);
    flexsaml_slo_remember(r, c, &s, id);
    flexsaml_metric_login(r);
    flexsaml_tr_login(r, c->tr, &s.ident);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "flexsaml: login name_id=%s roles=%s expires_in=%" APR_TIME_T_FMT "s id=%s",
                  s.ident.name_id, flexsaml_roles_join(r->pool, s.ident.roles, ","),
                  apr_time_sec(s.expires - now), flexsaml_correlation_id(r));
    return flexsaml_see_other(r, target);
}

static int acs(request_rec *r, const flexsaml_srv_cfg *c)
{
    const char *body = NULL, *b64, *stored = NULL, *replay_key;
    apr_table_t *form;
    flexsaml_sp_result res;
    apr_status_t rv;
    int rc;

    if (r->method_number != M_POST)
        return flexsaml_refuse(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                               apr_psprintf(r->pool, "%s to the ACS", r->method), NULL);
    if ((rc = read_body(r, c->max_body, &body)) != OK)
        return rc;
    form = parse_form(r->pool, body);
    b64 = apr_table_get(form, "SAMLResponse");
    if (!b64 || !*b64)
        return flexsaml_refuse(r, HTTP_BAD_REQUEST, "no_response", "no SAMLResponse in the POST",
                               NULL);
    flexsaml_sp_process_response(r->pool, c->sp, b64, strlen(b64), flexsaml_acs_url(r),
                                 apr_time_now(), &res);
    if (res.unknown_roles && res.unknown_roles->nelts)
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "flexsaml: unknown role values (FlexSAMLUnknownRoles %s): %s id=%s",
                      c->roles.unknown == FLEXSAML_UNKNOWN_KEEP   ? "keep"
                      : c->roles.unknown == FLEXSAML_UNKNOWN_DENY ? "deny"
                                                                  : "drop",
                      flexsaml_roles_join(r->pool, res.unknown_roles, ","),
                      flexsaml_correlation_id(r));
    if (res.reason)
        return flexsaml_refuse(r,
                               !strcmp(res.reason, "no_role") ? HTTP_FORBIDDEN : HTTP_BAD_REQUEST,
                               res.reason, res.detail, res.hint);

    replay_key =
        apr_pstrcat(r->pool, flexsaml_sp_idp(c->sp)->entity_id, "|", res.assertion_id, NULL);
    rv =
        flexsaml_store_once(c->store, r, FLEXSAML_KEY_ASSERTION, replay_key, res.assertion_expires);
    if (rv == APR_EEXIST)
        return flexsaml_refuse(
            r, HTTP_BAD_REQUEST, "replayed",
            apr_psprintf(r->pool, "assertion %s was already used", res.assertion_id), NULL);
    if (rv != APR_SUCCESS)
        return flexsaml_store_unavailable(r, rv, "record the assertion id");

    if (res.in_response_to) {
        rv = flexsaml_store_get(c->store, r, FLEXSAML_KEY_REQUEST, res.in_response_to, &stored,
                                NULL);
        if (rv == APR_NOTFOUND)
            return flexsaml_refuse(r, HTTP_BAD_REQUEST, "unknown_request",
                                   apr_psprintf(r->pool,
                                                "InResponseTo %s matches no pending request",
                                                res.in_response_to),
                                   NULL);
        if (rv != APR_SUCCESS)
            return flexsaml_store_unavailable(r, rv, "read the pending request");
        flexsaml_store_remove(c->store, r, FLEXSAML_KEY_REQUEST, res.in_response_to);
    } else if (!c->idp_initiated) {
        return flexsaml_refuse(r, HTTP_BAD_REQUEST, "unsolicited",
                               "unsolicited response and FlexSAMLIdPInitiated is off", NULL);
    }
    return open_session(r, c, &res, landing(r, c, stored, apr_table_get(form, "RelayState")));
}

static int login(request_rec *r, const flexsaml_srv_cfg *c)
{
    apr_table_t *q = parse_form(r->pool, r->args);
    const char *to = flexsaml_safe_target(r, apr_table_get(q, "ReturnTo"));
    return flexsaml_start_login(r, to ? to : c->default_url);
}

int flexsaml_endpoint_handler(request_rec *r, int lookup_uri)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    apr_size_t n;
    const char *sub;

    if (lookup_uri || r->main || !c->sp || !r->uri)
        return DECLINED;
    if (!strcmp(r->uri, c->acs_path))
        return acs(r, c);
    n = strlen(c->endpoint);
    if (strncmp(r->uri, c->endpoint, n) != 0 || r->uri[n] != '/')
        return DECLINED;
    sub = r->uri + n;
    if (!strcmp(sub, "/metadata"))
        return metadata(r, c);
    if (!strcmp(sub, "/login"))
        return login(r, c);
    if (!strcmp(sub, "/logout"))
        return flexsaml_logout_endpoint(r, c);
    return DECLINED;
}
