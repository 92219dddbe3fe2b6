/*
 * <endpoint>/logout: local logout, and Single Logout with the IdP when its
 * metadata names a SingleLogoutService and the SP has a key to sign with.
 *   - no SAML parameter: end the local session; with SLO, send the browser to
 *     the IdP with a signed LogoutRequest, whose answer comes back here;
 *   - SAMLResponse: the IdP's answer to our LogoutRequest;
 *   - SAMLRequest: the IdP ends a session itself (IdP-initiated logout).
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "apr_strings.h"

#include "flexsaml_glue.h"
#include "runtime.h"
#include "authn.h"
#include "errors.h"
#include "slo.h"
#include "store.h"
#include "web.h"
#include "escape.h"
#include "logout.h"

/* The confirmation form's body: a token and a ReturnTo. */
#define MAX_CONFIRM_BODY 4096

/* Sessions one LogoutRequest can name: a person signed in from several
 * browsers has as many; the oldest beyond this are forgotten by the index
 * (they still expire). */
#define MAX_INDEXED 32
/* How long after its IssueInstant the IdP's LogoutRequest is taken. */
#define LOGOUT_MAX_AGE apr_time_from_sec(300)

/* Scoped to this SP and its IdP: hosts of other SPs may share the store,
 * and a LogoutRequest from one IdP must not end another SP's sessions of a
 * person with the same NameID. */
static const char *index_key(request_rec *r, const flexsaml_srv_cfg *c, const char *name_id,
                             const char *session_index)
{
    const flexsaml_idp *idp = flexsaml_sp_idp(flexsaml_request_sp(r, c->rt));
    return apr_pstrcat(r->pool, c->sp_entity_id, "\n", idp->entity_id, "\n", name_id, "\n",
                       session_index ? session_index : "", NULL);
}

/* Adds ref to the space-separated list under key, newest first. Two logins of
 * one person racing can lose one entry: that session then only expires. */
static void index_add(request_rec *r, const flexsaml_srv_cfg *c, const char *key, const char *ref,
                      apr_time_t expires)
{
    const char *old = NULL, *list = ref;
    char *copy, *tok, *last;
    apr_size_t len = 0;
    int n = 1;

    if (flexsaml_store_get(c->rt->store, r, NULL, FLEXSAML_KEY_INDEX, key, &old, &len) ==
        APR_SUCCESS) {
        copy = apr_pstrmemdup(r->pool, old, len);
        for (tok = apr_strtok(copy, " ", &last); tok && n < MAX_INDEXED;
             tok = apr_strtok(NULL, " ", &last))
            if (strcmp(tok, ref) != 0 && strlen(tok) == 64) {
                list = apr_pstrcat(r->pool, list, " ", tok, NULL);
                n++;
            }
    }
    flexsaml_store_put(c->rt->store, r, NULL, FLEXSAML_KEY_INDEX, key, expires, list, strlen(list));
}

void flexsaml_slo_remember(request_rec *r, const flexsaml_srv_cfg *c, const flexsaml_session *s,
                           const char *session_id)
{
    const flexsaml_idp *idp = flexsaml_sp_idp(flexsaml_request_sp(r, c->rt));
    const char *ref;

    /* Only an IdP that can send LogoutRequests needs to find a session
     * from its NameID and SessionIndex. The index keeps a reference to the
     * session's entry, never its id: a dump of the store yields no cookie. */
    if (!idp->slo_url)
        return;
    ref = flexsaml_store_ref(c->rt->store, r->pool, flexsaml_public_host(r), FLEXSAML_KEY_SESSION,
                             session_id);
    if (!ref)
        return;
    if (s->ident.session_index)
        index_add(r, c, index_key(r, c, s->ident.name_id, s->ident.session_index), ref, s->expires);
    index_add(r, c, index_key(r, c, s->ident.name_id, NULL), ref, s->expires);
}

/* Ends every session the index lists under key; the number ended. */
static int end_indexed(request_rec *r, const flexsaml_srv_cfg *c, const char *key)
{
    const char *list = NULL;
    char *copy, *tok, *last;
    apr_size_t len = 0;
    int ended = 0;

    if (flexsaml_store_get(c->rt->store, r, NULL, FLEXSAML_KEY_INDEX, key, &list, &len) !=
        APR_SUCCESS)
        return 0;
    copy = apr_pstrmemdup(r->pool, list, len);
    for (tok = apr_strtok(copy, " ", &last); tok; tok = apr_strtok(NULL, " ", &last))
        if (flexsaml_store_remove_ref(c->rt->store, r, FLEXSAML_KEY_SESSION, tok) == APR_SUCCESS)
            ended++;
    flexsaml_store_remove(c->rt->store, r, NULL, FLEXSAML_KEY_INDEX, key);
    return ended;
}

static int idp_logout_request(request_rec *r, const flexsaml_srv_cfg *c,
                              const flexsaml_logout_msg *m)
{
    const flexsaml_idp *idp = flexsaml_sp_idp(flexsaml_request_sp(r, c->rt));
    const char *url, *err;
    apr_status_t rv;
    int ended;

    if (!m->name_id || !*m->name_id)
        return flexsaml_refuse(r, FLEXSAML_R_BAD_RESPONSE,
                               "the IdP's LogoutRequest names no NameID", NULL);
    /* One signed URL ends sessions once: it sits in browser history. */
    rv = flexsaml_store_once(c->rt->store, r, NULL, FLEXSAML_KEY_ASSERTION,
                             apr_pstrcat(r->pool, "logout|", idp->entity_id, "|", m->id, NULL),
                             m->issued + LOGOUT_MAX_AGE + 2 * apr_time_from_sec(c->clock_skew));
    if (rv == APR_EEXIST)
        return flexsaml_refuse(r, FLEXSAML_R_REPLAYED,
                               apr_psprintf(r->pool, "LogoutRequest %s was already used", m->id),
                               NULL);
    if (rv != APR_SUCCESS)
        return flexsaml_store_unavailable(r, rv, "record the LogoutRequest id");
    /* Without a SessionIndex the IdP means every session of that person. */
    ended = end_indexed(r, c, index_key(r, c, m->name_id, m->session_index));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "flexsaml: IdP-initiated logout of %s (SessionIndex %s): %d session(s) ended "
                  "here",
                  m->name_id, m->session_index ? m->session_index : "none: every session", ended);
    err = flexsaml_logout_response_url(r->pool, idp->slo_url, c->sp_entity_id, m->id, 1,
                                       m->relay_state, c->rt->sp_key_pem, &url);
    if (err)
        return flexsaml_refuse(r, FLEXSAML_R_INTERNAL, err, NULL);
    return flexsaml_see_other(r, url);
}

static int idp_logout_response(request_rec *r, const flexsaml_srv_cfg *c,
                               const flexsaml_logout_msg *m)
{
    const char *to = NULL;

    if (!m->in_response_to || flexsaml_store_get(c->rt->store, r, NULL, FLEXSAML_KEY_REQUEST,
                                                 m->in_response_to, &to, NULL) != APR_SUCCESS)
        return flexsaml_refuse(r, FLEXSAML_R_UNKNOWN_REQUEST,
                               "the LogoutResponse answers no logout of ours", NULL);
    flexsaml_store_remove(c->rt->store, r, NULL, FLEXSAML_KEY_REQUEST, m->in_response_to);
    ap_log_rerror(APLOG_MARK, m->success ? APLOG_INFO : APLOG_WARNING, 0, r,
                  "flexsaml: single logout %s at the IdP (%s)",
                  m->success ? "completed" : "not completed", m->status ? m->status : "no status");
    return flexsaml_see_other(r, flexsaml_safe_target(r, to) ? to : c->default_url);
}

/* Only a page that knows the session cookie can carry this token. */
static const char *confirm_token(request_rec *r, const flexsaml_srv_cfg *c, const char *id)
{
    return flexsaml_store_ref(c->rt->store, r->pool, "logout-confirm", 'L', id);
}

static int confirm_page(request_rec *r, const flexsaml_srv_cfg *c, const char *id, const char *to)
{
    const char *token = confirm_token(r, c, id);

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "flexsaml: logout not from this site's pages (Sec-Fetch-Site %s, Origin %s): "
                  "the session stays until the person confirms",
                  apr_table_get(r->headers_in, "Sec-Fetch-Site")
                      ? apr_table_get(r->headers_in, "Sec-Fetch-Site")
                      : "absent",
                  apr_table_get(r->headers_in, "Origin") ? apr_table_get(r->headers_in, "Origin")
                                                         : "absent");
    if (!token)
        return flexsaml_store_unavailable(r, APR_EINIT, "make a logout token");
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    /* The button must not be clickjacked from another site. */
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                   "frame-ancestors 'none'");
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    ap_rvputs(r,
              "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width\"><title>Sign out?</title>"
              "</head><body><main><h1>Sign out?</h1><p>A link from another page asks to sign you "
              "out of this site.</p><form method=\"post\" action=\"",
              flexsaml_html(r->pool, c->endpoint),
              "/logout\"><input type=\"hidden\" name=\"token\" value=\"", token,
              "\"><input type=\"hidden\" name=\"ReturnTo\" value=\"", flexsaml_html(r->pool, to),
              "\"><button type=\"submit\" id=\"confirm-logout\">Sign out</button></form>"
              "<p><a href=\"",
              flexsaml_html(r->pool, to), "\">Stay signed in</a></p></main></body></html>\n", NULL);
    return OK;
}

int flexsaml_logout_endpoint(request_rec *r, const flexsaml_srv_cfg *c)
{
    const flexsaml_idp *idp = flexsaml_sp_idp(flexsaml_request_sp(r, c->rt));
    const char *args = r->args ? r->args : "";
    const char *to, *id, *err, *url, *req_id, *stored;
    flexsaml_session *s = NULL;
    apr_size_t len;

    if (strstr(args, "SAMLResponse=") || strstr(args, "SAMLRequest=")) {
        flexsaml_logout_msg m;
        if (!idp->slo_url || !c->rt->sp_key_pem)
            return flexsaml_refuse(r, FLEXSAML_R_BAD_RESPONSE,
                                   "a SAML logout message, but single logout is not configured",
                                   NULL);
        if ((err = flexsaml_logout_read(r->pool, args, idp->certs_b64, &m)) != NULL)
            return flexsaml_refuse(r, m.refusal, err, NULL);
        if (!m.issuer || strcmp(m.issuer, idp->entity_id) != 0)
            return flexsaml_refuse(r, FLEXSAML_R_ISSUER_MISMATCH,
                                   "the logout message comes from another issuer", NULL);
        if ((err = flexsaml_logout_check(r->pool, &m, flexsaml_endpoint_url(r, "/logout"),
                                         apr_time_now(), apr_time_from_sec(c->clock_skew),
                                         LOGOUT_MAX_AGE, &m.refusal)) != NULL)
            return flexsaml_refuse(r, m.refusal, err, NULL);
        return m.is_request ? idp_logout_request(r, c, &m) : idp_logout_response(r, c, &m);
    }

    id = flexsaml_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"), c->cookie_name);
    if (id && !flexsaml_session_id_valid(id))
        id = NULL;
    if (r->method_number == M_POST) {
        const char *body, *token;
        int rc;
        if ((rc = flexsaml_read_body(r, MAX_CONFIRM_BODY, &body)) != OK)
            return rc;
        token = flexsaml_form_value(r, body, "token");
        to = flexsaml_safe_target(r, flexsaml_form_value(r, body, "ReturnTo"));
        if (!to)
            to = c->default_url;
        if (id && (!token ||
                   strcmp(token, confirm_token(r, c, id) ? confirm_token(r, c, id) : "") != 0)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "flexsaml: a logout form without this session's token; asking again");
            return confirm_page(r, c, id, to);
        }
    } else if (r->method_number != M_GET) {
        return flexsaml_refuse(r, FLEXSAML_R_METHOD_NOT_ALLOWED, "logout takes GET or POST", NULL);
    } else {
        to = flexsaml_safe_target(r, flexsaml_form_value(r, args, "ReturnTo"));
        if (!to)
            to = c->default_url;
        /* A cross-site page must not end a session (and, with SLO, the
         * Okta session): it gets a form the person confirms. */
        if (id && !flexsaml_same_origin(r))
            return confirm_page(r, c, id, to);
    }
    if (id && flexsaml_store_get(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_SESSION, id,
                                 &stored, &len) == APR_SUCCESS)
        s = flexsaml_session_decode(r->pool, stored, len);
    if (id)
        flexsaml_store_remove(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_SESSION, id);
    flexsaml_set_cookie(r, c->cookie_name, "", 1);
    if (!s || !idp->slo_url || !c->rt->sp_key_pem) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "flexsaml: local logout%s",
                      s ? "" : " (no session)");
        return flexsaml_see_other(r, to);
    }
    err =
        flexsaml_logout_request_url(r->pool, idp->slo_url, c->sp_entity_id, s->ident.name_id,
                                    s->ident.session_index, NULL, c->rt->sp_key_pem, &url, &req_id);
    if (!err && flexsaml_store_put(c->rt->store, r, NULL, FLEXSAML_KEY_REQUEST, req_id,
                                   apr_time_now() + apr_time_from_sec(c->request_ttl), to,
                                   strlen(to)) != APR_SUCCESS)
        err = "the session store cannot keep the logout request";
    if (err) {
        /* The local session is gone either way; say why SLO did not run. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "flexsaml: local logout of %s; single logout not sent: %s", s->ident.name_id,
                      err);
        return flexsaml_see_other(r, to);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "flexsaml: logout of %s, single logout sent to %s",
                  s->ident.name_id, idp->slo_url);
    return flexsaml_see_other(r, url);
}
