/*
 * AuthType FlexSAML: the per-request session check, and the start of an
 * SP-initiated login when there is no session. This is the hot path: one
 * cookie parse, one store read, one decode; no XML and no crypto (a login
 * that starts seals its state into a cookie, and writes nothing here).
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_escape.h"

#include "flexsaml_glue.h"
#include "runtime.h"
#include "authn.h"
#include "errors.h"
#include "escape.h"
#include "pending.h"
#include "store.h"
#include "web.h"

/* SAML bindings cap RelayState at 80 bytes; a longer return URL travels
 * only in the browser's login-state cookie (pending.c). */
#define MAX_RELAY_STATE 80

typedef struct {
    flexsaml_session *session;
    apr_status_t store_status;
    int looked_up;
} request_state;

static request_state *state_of(request_rec *r)
{
    request_state *st = ap_get_module_config(r->request_config, &flexsaml_module);
    if (!st) {
        st = apr_pcalloc(r->pool, sizeof(*st));
        ap_set_module_config(r->request_config, &flexsaml_module, st);
    }
    return st;
}

static flexsaml_session *lookup(request_rec *r, const flexsaml_srv_cfg *c, apr_status_t *status)
{
    const char *id, *val;
    apr_size_t len;
    flexsaml_session *s;

    *status = APR_SUCCESS;
    id = flexsaml_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"), c->cookie_name);
    if (!id || !flexsaml_session_id_valid(id))
        return NULL;
    *status = flexsaml_store_get(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_SESSION, id,
                                 &val, &len);
    if (*status != APR_SUCCESS) {
        if (*status == APR_NOTFOUND)
            *status = APR_SUCCESS;
        return NULL;
    }
    s = flexsaml_session_decode(r->pool, val, len);
    if (!s) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "flexsaml: a stored session does not decode; treating it as absent");
        return NULL;
    }
    /* Bound to the SP that created it: a cookie from another virtual host
     * sharing the store opens nothing here. */
    if (strcmp(s->sp_entity_id, c->sp_entity_id) != 0 || s->expires <= apr_time_now())
        return NULL;
    return s;
}

flexsaml_session *flexsaml_request_session(request_rec *r)
{
    request_state *st;
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);

    /* Subrequests (a directory index, an include) carry the same cookie:
     * the main request's one store read serves them all. */
    while (r->main)
        r = r->main;
    st = state_of(r);

    if (!st->looked_up && c->rt->store) {
        st->session = lookup(r, c, &st->store_status);
        st->looked_up = 1;
    }
    return st->session;
}

static int wants_json(request_rec *r)
{
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *accept = apr_table_get(r->headers_in, "Accept");
    if (xrw && !strcasecmp(xrw, "XMLHttpRequest"))
        return 1;
    return accept && ap_strcasestr(accept, "application/json") &&
           !ap_strcasestr(accept, "text/html");
}

int flexsaml_start_login(request_rec *r, const char *return_to)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    const char *url, *request_id, *err;
    int rc;

    /* What goes out as RelayState and into the pending request is already
     * a safe target (an absolute-form request line could name any host). */
    if (!flexsaml_safe_target(r, return_to))
        return_to = c->default_url;
    if (wants_json(r)) {
        const char *login =
            apr_pstrcat(r->pool, flexsaml_endpoint_url(r, "/login"),
                        "?ReturnTo=", apr_pescape_urlencoded(r->pool, return_to), NULL);
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        /* A script needs the JSON whatever ErrorDocument 401 the site has
         * for people. */
        ap_custom_response(r, HTTP_UNAUTHORIZED,
                           apr_pstrcat(r->pool, "{\"error\":\"login_required\",\"login_url\":",
                                       flexsaml_json_string(r->pool, login), "}", NULL));
        flexsaml_error_type(r, "application/json");
        return HTTP_UNAUTHORIZED;
    }
    err = flexsaml_sp_authn_request(r->pool, flexsaml_request_sp(r, c->rt), flexsaml_acs_url(r),
                                    strlen(return_to) <= MAX_RELAY_STATE ? return_to : NULL, &url,
                                    &request_id);
    if (err)
        return flexsaml_refuse(r, FLEXSAML_R_INTERNAL, err, NULL);
    /* Nothing is written on the server for a browser without a session. */
    if ((rc = flexsaml_pending_remember(r, c, request_id, return_to)) != OK)
        return rc;
    apr_table_setn(r->err_headers_out, "Location", url);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

const char *flexsaml_session_user(const flexsaml_srv_cfg *c, const flexsaml_session *s)
{
    if (c->user_attribute && strcmp(c->user_attribute, FLEXSAML_CLAIM_NAMEID) != 0) {
        const char *u = apr_table_get(s->ident.attributes, c->user_attribute);
        if (u && *u)
            return u;
    }
    return s->ident.name_id;
}

int flexsaml_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    flexsaml_dir_cfg *d = ap_get_module_config(r->per_dir_config, &flexsaml_module);
    flexsaml_session *s;
    request_state *st;
    int pass_as;

    if (!type || strcasecmp(type, FLEXSAML_AUTH_TYPE) != 0)
        return DECLINED;
    if (!c->rt) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "flexsaml: AuthType FlexSAML is used but this virtual host has no "
                      "FlexSAMLSPEntityID and IdP settings");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    s = flexsaml_request_session(r);
    st = state_of(r);
    if (st->store_status != APR_SUCCESS)
        return flexsaml_store_unavailable(r, st->store_status, "read the session");
    if (!s)
        return flexsaml_start_login(r, r->unparsed_uri);
    r->user = (char *)flexsaml_session_user(c, s);
    r->ap_auth_type = (char *)FLEXSAML_AUTH_TYPE;
    pass_as = d->pass_as == FLEXSAML_UNSET ? c->claims->pass_as : d->pass_as;
    flexsaml_claims_export(r->pool, c->claims, &s->ident,
                           (pass_as & FLEXSAML_PASS_ENV) ? r->subprocess_env : NULL,
                           (pass_as & FLEXSAML_PASS_HEADERS) ? r->headers_in : NULL);
    return OK;
}

/* A back end behind mod_proxy, or a CGI script, that logs its requests or
 * is compromised would otherwise hold working sessions. */
static int hands_off(const request_rec *r)
{
    const char *h = r->handler;
    return r->proxyreq != PROXYREQ_NONE ||
           (h && (!strncmp(h, "proxy:", 6) || !strcmp(h, "proxy-server") ||
                  !strcmp(h, "cgi-script") || !strcmp(h, "cgi")));
}

int flexsaml_strip_cookies(request_rec *r)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    const char *cookie = apr_table_get(r->headers_in, "Cookie"), *rest;

    if (!c->rt || !c->strip_cookies || !cookie || !hands_off(r))
        return DECLINED;
    rest = flexsaml_cookie_without(r->pool, cookie, c->cookie_name, c->rt->state_cookie);
    if (rest)
        apr_table_set(r->headers_in, "Cookie", rest);
    else
        apr_table_unset(r->headers_in, "Cookie");
    return DECLINED;
}

int flexsaml_strip_headers(request_rec *r)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    if (c->rt)
        flexsaml_claims_strip(r->pool, c->claims, r->headers_in);
    return DECLINED;
}
