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
#include "preserve_post.h"
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

/* FlexSAMLSessionIdleTimeout: a desk left signed in ends its session. Use
 * is written back at most once per tenth of the timeout, so a session
 * costs a store write every few minutes, not on every request; the idle
 * end is therefore exact to that tenth. Returns 0 when the session ended. */
static int still_in_use(request_rec *r, const flexsaml_srv_cfg *c, const char *id,
                        flexsaml_session *s)
{
    apr_time_t now = apr_time_now(), idle = now - (s->last_used ? s->last_used : s->created);
    const char *buf;
    apr_size_t len;
    apr_status_t rv;

    if (idle >= c->session_idle_timeout) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: the session of %s ended: unused for %" APR_TIME_T_FMT
                      "s, past FlexSAMLSessionIdleTimeout %" APR_TIME_T_FMT "s",
                      s->ident.name_id, apr_time_sec(idle), apr_time_sec(c->session_idle_timeout));
        flexsaml_store_remove(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_SESSION, id);
        return 0;
    }
    if (idle < c->session_idle_timeout / 10)
        return 1;
    s->last_used = now;
    buf = flexsaml_session_encode(r->pool, s, &len);
    /* Only over the entry still there: a logout (or an IdP's, or another
     * request's idle end) while this request ran must not be undone. */
    rv = buf ? flexsaml_store_replace(c->rt->store, r, flexsaml_public_host(r),
                                      FLEXSAML_KEY_SESSION, id, s->expires, buf, len)
             : APR_EGENERAL;
    if (rv == APR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: the session of %s ended while this request ran", s->ident.name_id);
        return 0;
    }
    /* The request itself is fine: at worst the session ends a tenth early. */
    if (rv != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                      "flexsaml: could not record the use of a session for "
                      "FlexSAMLSessionIdleTimeout");
    return 1;
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
    if (c->session_idle_timeout > 0 && !still_in_use(r, c, id, s))
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

/* authn_after > 0 makes it a step-up: ForceAuthn, and the answer must be a
 * sign-in from then on (checked at the ACS, pending.c carries it). */
static int start_login(request_rec *r, const char *return_to, apr_time_t authn_after,
                       const apr_array_header_t *contexts)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    const char *url, *request_id, *err;
    int rc;

    /* What goes out as RelayState and into the pending request is already
     * a safe target (an absolute-form request line could name any host). */
    if (!flexsaml_safe_target(r, return_to))
        return_to = c->default_url;
    if (flexsaml_wants_json(r)) {
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
                                    strlen(return_to) <= MAX_RELAY_STATE ? return_to : NULL,
                                    authn_after > 0, contexts, &url, &request_id);
    if (err)
        return flexsaml_refuse(r, FLEXSAML_R_INTERNAL, err, NULL);
    /* Nothing is written on the server for a browser without a session. */
    if ((rc = flexsaml_pending_remember(
             r, c, request_id, return_to, authn_after,
             contexts && contexts->nelts ? apr_array_pstrcat(r->pool, contexts, ',') : NULL)) != OK)
        return rc;
    apr_table_setn(r->err_headers_out, "Location", url);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_MOVED_TEMPORARILY;
}

int flexsaml_start_login(request_rec *r, const char *return_to)
{
    return start_login(r, return_to, 0, NULL);
}

static int context_listed(const apr_array_header_t *list, const char *ctx)
{
    int i;
    for (i = 0; ctx && i < list->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(list, i, const char *), ctx))
            return 1;
    return 0;
}

/* FlexSAMLMaxAuthAge, FlexSAMLAuthnContextClassRef: a session whose sign-in
 * is too old, or of another class, signs in again before this directory
 * opens. The clock skew is allowed for, or an IdP clock a little behind
 * would send the person round in a loop. */
static int step_up(request_rec *r, const flexsaml_srv_cfg *c, const flexsaml_dir_cfg *d,
                   const flexsaml_session *s)
{
    apr_time_t now = apr_time_now(), at = s->ident.authn_instant;

    if (d->max_auth_age > 0 &&
        (!at || now - at > d->max_auth_age + apr_time_from_sec(c->clock_skew))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: %s signed in %" APR_TIME_T_FMT
                      " s ago, FlexSAMLMaxAuthAge for %s is %" APR_TIME_T_FMT
                      " s: signing in again (ForceAuthn)",
                      s->ident.name_id, at ? apr_time_sec(now - at) : -1, r->uri,
                      apr_time_sec(d->max_auth_age));
        return start_login(r, r->unparsed_uri, now, d->authn_contexts);
    }
    if (d->authn_contexts && !context_listed(d->authn_contexts, s->ident.authn_context)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: %s signed in with %s, %s needs FlexSAMLAuthnContextClassRef %s: "
                      "signing in again",
                      s->ident.name_id,
                      s->ident.authn_context ? s->ident.authn_context : "no AuthnContextClassRef",
                      r->uri, apr_array_pstrcat(r->pool, d->authn_contexts, ' '));
        return start_login(r, r->unparsed_uri, now, d->authn_contexts);
    }
    return OK;
}

/* FlexSAMLAuth optional: the request goes on with an empty user, so `Require valid-user` passes and
 * the page greets only those signed in. FlexSAMLUnauthenticated: an API path answers a bare status
 * instead of a redirect to Okta it could not follow; XHR keeps its JSON 401 whatever the directory
 * says, since scripts read its login_url. */
static int no_session(request_rec *r, const flexsaml_dir_cfg *d)
{
    if (d->auth_optional == 1) {
        r->user = (char *)""; /* httpd answers 500 to an OK without a user */
        return OK;
    }
    if (d->unauth == FLEXSAML_UNAUTH_401 && !flexsaml_wants_json(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: no session for %s; FlexSAMLUnauthenticated 401", r->uri);
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_UNAUTHORIZED;
    }
    if (d->unauth == FLEXSAML_UNAUTH_403 && !flexsaml_wants_json(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: no session for %s; FlexSAMLUnauthenticated 403", r->uri);
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_FORBIDDEN;
    }
    if (!flexsaml_wants_json(r))
        flexsaml_post_keep(r, flexsaml_srv(r->server));
    return start_login(r, r->unparsed_uri, 0, d->authn_contexts);
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
    int pass_as, rc;

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
        return no_session(r, d);
    if ((d->max_auth_age > 0 || d->authn_contexts) && (rc = step_up(r, c, d, s)) != OK)
        return rc;
    r->user = (char *)flexsaml_session_user(c, s);
    r->ap_auth_type = (char *)FLEXSAML_AUTH_TYPE;
    if (c->preserve_post > 0)
        flexsaml_post_replay(r, c, s);
    pass_as = d->pass_as == FLEXSAML_UNSET ? c->claims->pass_as : d->pass_as;
    flexsaml_claims_export(r->pool, c->claims, &s->ident,
                           (pass_as & FLEXSAML_PASS_ENV) ? r->subprocess_env : NULL,
                           (pass_as & FLEXSAML_PASS_HEADERS) ? r->headers_in : NULL);
    return OK;
}

/* A back end behind mod_proxy, a CGI script, or any other handler that runs
 * an application (PHP, WSGI, Lua, SSI...) and logs its requests or is
 * compromised would otherwise hold working sessions. A static file (no
 * handler: the hot path) and the module's own pages need no rewrite. */
static int hands_off(const request_rec *r)
{
    const char *h = r->handler;
    return r->proxyreq != PROXYREQ_NONE ||
           (h && strcmp(h, "default-handler") != 0 && strncmp(h, "flexsaml-", 9) != 0);
}

int flexsaml_strip_cookies(request_rec *r)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    const char *cookie = apr_table_get(r->headers_in, "Cookie"), *rest;

    if (!c->rt || !c->strip_cookies || !cookie || !hands_off(r))
        return DECLINED;
    rest = flexsaml_cookie_without(r->pool, cookie, c->cookie_name, c->rt->state_cookie);
    if (rest)
        rest = flexsaml_cookie_without(r->pool, rest, FLEXSAML_POST_COOKIE, FLEXSAML_POST_COOKIE);
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
