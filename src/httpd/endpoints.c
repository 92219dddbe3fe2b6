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
#include "runtime.h"
#include "taskrouter_glue.h"
#include "authn.h"
#include "endpoints.h"
#include "errors.h"
#include "metrics.h"
#include "pending.h"
#include "slo.h"
#include "store.h"
#include "web.h"

static int metadata(request_rec *r, const flexsaml_srv_cfg *c)
{
    const char *slo = c->rt->sp_key_pem && flexsaml_sp_idp(flexsaml_request_sp(r, c->rt))->slo_url
                          ? flexsaml_endpoint_url(r, "/logout")
                          : NULL;
    const char *md =
        flexsaml_sp_metadata(r->pool, flexsaml_request_sp(r, c->rt), flexsaml_acs_url(r), slo);
    ap_set_content_type(r, "application/samlmetadata+xml");
    ap_rputs(md, r);
    return OK;
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

/* The answer to a step-up must be the new sign-in it asked for: a fresh
 * AuthnInstant (an IdP that ignored ForceAuthn would otherwise send the
 * browser round again and again) and one of the classes requested. */
static int check_step_up(request_rec *r, const flexsaml_srv_cfg *c, const flexsaml_sp_result *res,
                         apr_time_t authn_after, const char *contexts)
{
    const char *got = res->ident.authn_context;

    if (authn_after > 0 &&
        (!res->ident.authn_instant ||
         res->ident.authn_instant < authn_after - apr_time_from_sec(c->clock_skew)))
        return flexsaml_refuse(
            r, FLEXSAML_R_AUTHN_NOT_FRESH,
            apr_psprintf(r->pool,
                         "the step-up asked for a new sign-in (ForceAuthn) at %" APR_TIME_T_FMT
                         ", the AuthnInstant is %" APR_TIME_T_FMT " (skew %d s)",
                         apr_time_sec(authn_after), apr_time_sec(res->ident.authn_instant),
                         c->clock_skew),
            NULL);
    if (contexts) {
        char *list = apr_pstrdup(r->pool, contexts), *last, *one;
        for (one = apr_strtok(list, ",", &last); one; one = apr_strtok(NULL, ",", &last))
            if (got && !strcmp(one, got))
                return OK;
        return flexsaml_refuse(r, FLEXSAML_R_AUTHN_CONTEXT,
                               apr_psprintf(r->pool,
                                            "AuthnContextClassRef %s is none of those requested "
                                            "(FlexSAMLAuthnContextClassRef %s)",
                                            got ? got : "(absent)", contexts),
                               NULL);
    }
    return OK;
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
        return flexsaml_refuse(r, FLEXSAML_R_INTERNAL, "the system random generator failed", NULL);
    memset(&s, 0, sizeof(s));
    s.sp_entity_id = c->sp_entity_id;
    s.created = now;
    s.last_used = now;
    s.expires = now + c->session_lifetime;
    if (res->session_not_after && res->session_not_after < s.expires)
        s.expires = res->session_not_after;
    s.ident = res->ident;
    buf = flexsaml_session_encode(r->pool, &s, &len);
    if (len > c->max_session_bytes)
        return flexsaml_refuse(
            r, FLEXSAML_R_CLAIM_TOO_LARGE,
            apr_psprintf(r->pool, "the session would take %" APR_SIZE_T_FMT " bytes", len), NULL);
    rv = flexsaml_store_put(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_SESSION, id,
                            s.expires, buf, len);
    if (rv != APR_SUCCESS)
        return flexsaml_store_unavailable(r, rv, "store the session");
    flexsaml_set_cookie(r, c->cookie_name, id, 0);
    flexsaml_slo_remember(r, c, &s, id);
    flexsaml_metric_login(r);
    flexsaml_tr_login(r, c->rt->tr, &s.ident);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "flexsaml: login name_id=%s roles=%s expires_in=%" APR_TIME_T_FMT "s id=%s",
                  s.ident.name_id, flexsaml_roles_join(r->pool, s.ident.roles, ","),
                  apr_time_sec(s.expires - now), flexsaml_correlation_id(r));
    return flexsaml_see_other(r, target);
}

/* A Destination that differs from the ACS URL only in scheme or host, when
 * forwarded headers were ignored or the path is ours, is Apache's view of
 * its own URL being wrong, not Okta's setting. */
static int own_url_wrong(request_rec *r, const flexsaml_srv_cfg *c, const char *destination)
{
    apr_uri_t u;

    if (apr_table_get(r->notes, "flexsaml-forwarded-ignored"))
        return 1;
    if (!destination || apr_uri_parse(r->pool, destination, &u) != APR_SUCCESS || !u.path)
        return 0;
    return !strcmp(u.path, c->acs_path) && u.scheme && !strcasecmp(u.scheme, "https") &&
           !flexsaml_public_https(r);
}

static int acs(request_rec *r, const flexsaml_srv_cfg *c)
{
    const char *body = NULL, *b64, *stored = NULL, *replay_key, *contexts = NULL;
    apr_time_t authn_after = 0;
    apr_table_t *form;
    flexsaml_sp_result res;
    apr_status_t rv;
    int rc;

    if (r->method_number != M_POST)
        return flexsaml_refuse(r, FLEXSAML_R_METHOD_NOT_ALLOWED,
                               apr_psprintf(r->pool, "%s to the ACS", r->method), NULL);
    if ((rc = flexsaml_read_body(r, c->max_body, &body)) != OK)
        return rc;
    form = flexsaml_form_parse(r->pool, body);
    b64 = apr_table_get(form, "SAMLResponse");
    if (!b64 || !*b64)
        return flexsaml_refuse(r, FLEXSAML_R_NO_RESPONSE, "no SAMLResponse in the POST", NULL);
    flexsaml_sp_process_response(r->pool, flexsaml_request_sp(r, c->rt), b64, strlen(b64),
                                 flexsaml_acs_url(r), apr_time_now(), &res);
    if (res.unknown_roles && res.unknown_roles->nelts)
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "flexsaml: unknown role values (FlexSAMLUnknownRoles %s): %s id=%s",
                      c->roles.unknown == FLEXSAML_UNKNOWN_KEEP   ? "keep"
                      : c->roles.unknown == FLEXSAML_UNKNOWN_DENY ? "deny"
                                                                  : "drop",
                      flexsaml_roles_join(r->pool, res.unknown_roles, ","),
                      flexsaml_correlation_id(r));
    if (res.reason == FLEXSAML_R_DESTINATION_MISMATCH && own_url_wrong(r, c, res.destination))
        res.hint = "The sign-in response was sent to this site's public address, but the web "
                   "server sees itself under another one, usually because a proxy in front of it "
                   "ends HTTPS. Nothing needs to change in Okta: the Apache administrator must set "
                   "FlexSAMLTrustedProxies (or ServerName with the public https address).";
    if (res.reason)
        return flexsaml_refuse(r, res.reason, res.detail, res.hint);

    replay_key = apr_pstrcat(r->pool, flexsaml_sp_idp(flexsaml_request_sp(r, c->rt))->entity_id,
                             "|", res.assertion_id, NULL);
    rv = flexsaml_store_once(c->rt->store, r, NULL, FLEXSAML_KEY_ASSERTION, replay_key,
                             res.assertion_expires);
    if (rv == APR_EEXIST)
        return flexsaml_refuse(
            r, FLEXSAML_R_REPLAYED,
            apr_psprintf(r->pool, "assertion %s was already used", res.assertion_id), NULL);
    if (rv != APR_SUCCESS)
        return flexsaml_store_unavailable(r, rv, "record the assertion id");

    if (res.in_response_to) {
        /* Only the browser that started this login may finish it. */
        if ((rc = flexsaml_pending_take(r, c, res.in_response_to, &stored, &authn_after,
                                        &contexts)) != OK)
            return rc;
        if ((rc = check_step_up(r, c, &res, authn_after, contexts)) != OK)
            return rc;
    } else if (!c->idp_initiated) {
        return flexsaml_refuse(r, FLEXSAML_R_UNSOLICITED,
                               "unsolicited response and FlexSAMLIdPInitiated is off", NULL);
    }
    return open_session(r, c, &res, landing(r, c, stored, apr_table_get(form, "RelayState")));
}

static int login(request_rec *r, const flexsaml_srv_cfg *c)
{
    apr_table_t *q = flexsaml_form_parse(r->pool, r->args);
    const char *to = flexsaml_safe_target(r, apr_table_get(q, "ReturnTo"));
    return flexsaml_start_login(r, to ? to : c->default_url);
}

int flexsaml_endpoint_handler(request_rec *r, int lookup_uri)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    apr_size_t n;
    const char *sub;

    if (lookup_uri || r->main || !c->rt || !r->uri)
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
