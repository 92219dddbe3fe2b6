/*
 * `Require flex-role <role>...`: a mod_authz_core provider, so it composes
 * with <RequireAll>, <RequireAny>, `Require not` and every other provider,
 * and merges per directory the way Apache's own providers do. The role set
 * was normalized once at login; here it is only searched.
 */
#include <string.h>

#include "http_core.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "apr_strings.h"
#include "apr_escape.h"

#include "flexsaml_glue.h"
#include "authn.h"
#include "authz.h"
#include "errors.h"
#include "escape.h"
#include "web.h"

#define PAGE_HEAD                                                                                  \
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access denied</title>"  \
    "<style>body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}main{max-width:"     \
    "34rem;margin:4rem auto;background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 "   \
    "1px 4px rgba(0,0,0,.12)}code{background:#eef;padding:.1rem .3rem}</style></head><body><main>"
#define PAGE_TAIL "</main></body></html>\n"

/* `Require flex-role wfo.*`: any Flex Insights role. */
#define FLEXSAML_WFO_ANY "wfo.*"

/* FlexSAMLRoles of this server and of the main server: at parse time no
 * virtual host has been merged yet. */
static int role_declared(cmd_parms *cmd, const char *role)
{
    if (flexsaml_role_is_declared(&flexsaml_srv(cmd->server)->settings.roles, role))
        return 1;
    return ap_server_conf && ap_server_conf != cmd->server &&
           flexsaml_role_is_declared(&flexsaml_srv(ap_server_conf)->settings.roles, role);
}

static const char *parse_roles(cmd_parms *cmd, const char *line, const void **parsed)
{
    apr_array_header_t *roles = apr_array_make(cmd->pool, 4, sizeof(const char *));
    const char *w;

    while (*line && (w = ap_getword_white(cmd->pool, &line)) && *w) {
        char *role = apr_pstrdup(cmd->pool, w);
        ap_str_tolower(role);
        if (strchr(role, ',')) {
            char *spaced = apr_pstrdup(cmd->pool, w), *c;
            for (c = spaced; *c; c++)
                if (*c == ',')
                    *c = ' ';
            return apr_psprintf(cmd->pool,
                                "Require flex-role %s: separate roles with spaces, not commas: "
                                "Require flex-role %s",
                                w, spaced);
        }
        if (strcmp(role, FLEXSAML_WFO_ANY) != 0 && !role_declared(cmd, role))
            return apr_psprintf(cmd->pool,
                                "Require flex-role: \"%s\" is not a Flex role (agent, admin, "
                                "supervisor), a Flex Insights role (wfo.<name>, or wfo.* for "
                                "any) or a site role declared earlier with FlexSAMLRoles; check "
                                "the spelling",
                                w);
        APR_ARRAY_PUSH(roles, const char *) = role;
    }
    if (roles->nelts == 0)
        return "Require flex-role needs at least one role, e.g. Require flex-role supervisor admin";
    *parsed = roles;
    return NULL;
}

static const char *json_list(apr_pool_t *p, const apr_array_header_t *a)
{
    const char *out = "[";
    int i;
    for (i = 0; i < a->nelts; i++)
        out = apr_pstrcat(p, out, i ? "," : "",
                          flexsaml_json_string(p, APR_ARRAY_IDX(a, i, const char *)), NULL);
    return apr_pstrcat(p, out, "]", NULL);
}

/* mod_authz_core answers 401 when a known user is denied (unless
 * AuthzSendForbiddenOnFailure is on), inviting a browser to retry Basic
 * credentials. A FlexSAML user has nothing to retry: make it the 403 it is.
 * ap_send_error_response chose the 401 slot before this hook runs but reads
 * its text after, so the page goes into that slot. */
void flexsaml_authz_forbid(request_rec *r)
{
    const char *page;

    if (r->status != HTTP_UNAUTHORIZED || !r->user || !r->ap_auth_type ||
        strcasecmp(r->ap_auth_type, FLEXSAML_AUTH_TYPE) != 0)
        return;
    page = apr_table_get(r->notes, "flexsaml-denied");
    if (!page)
        page = apr_pstrcat(r->pool, PAGE_HEAD, "<h1>Access denied</h1><p>You are signed in as ",
                           flexsaml_html(r->pool, r->user),
                           ", but this page is not open to you.</p>" PAGE_TAIL, NULL);
    r->status = HTTP_FORBIDDEN;
    r->status_line = NULL;
    apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    if (apr_table_get(r->notes, "flexsaml-site-403"))
        return;
    ap_custom_response(r, HTTP_UNAUTHORIZED, page);
    if (!flexsaml_error_type_set(r))
        flexsaml_error_type(r, "text/html; charset=utf-8");
}

/* A site's ErrorDocument 403 that is a local path is served by an internal
 * redirect, which keeps the 401 mod_authz_core answered: no error filter
 * runs for it, so flexsaml_authz_forbid never makes it a 403. The page is
 * the site's; the status, and what the page's scripts see, must be 403. */
int flexsaml_authz_site_page(request_rec *r)
{
    if (r->prev && r->status == HTTP_UNAUTHORIZED &&
        apr_table_get(r->prev->notes, "flexsaml-site-403")) {
        r->status = HTTP_FORBIDDEN;
        apr_table_setn(r->subprocess_env, "REDIRECT_STATUS", "403");
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    }
    return DECLINED;
}

const char *flexsaml_authz_page(request_rec *r, const char *inner)
{
    return apr_pstrcat(r->pool, PAGE_HEAD, inner, PAGE_TAIL, NULL);
}

void flexsaml_authz_set_denial(request_rec *r, const char *body, int json)
{
    const char *site = flexsaml_site_error_document(r, HTTP_FORBIDDEN);

    /* The denial reaches Apache as a 401 (see flexsaml_authz_forbid): the
     * site's ErrorDocument 403 goes into that slot, where ap_die finds it.
     * A script keeps its JSON. */
    if (site && !json) {
        apr_table_setn(r->notes, "flexsaml-site-403", "1");
        ap_custom_response(r, HTTP_UNAUTHORIZED, *site == '"' ? site + 1 : site);
        return;
    }
    apr_table_setn(r->notes, "flexsaml-denied", body);
    flexsaml_error_type(r, json ? "application/json" : "text/html; charset=utf-8");
    ap_custom_response(r, HTTP_FORBIDDEN, body);
}

/* The 403 that follows a denial names what was needed and what the person
 * has, so they know whom to ask. */
static void explain_denial(request_rec *r, const apr_array_header_t *want,
                           const flexsaml_session *s)
{
    const char *need = flexsaml_roles_join(r->pool, want, ", ");
    const char *have = flexsaml_roles_join(r->pool, s->ident.roles, ", ");

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "flexsaml: %s lacks a role for %s: needs one of [%s], has [%s]", r->user, r->uri,
                  need, have);
    if (flexsaml_wants_json(r)) {
        flexsaml_authz_set_denial(
            r,
            apr_pstrcat(r->pool,
                        "{\"error\":\"forbidden\",\"required_roles\":", json_list(r->pool, want),
                        ",\"roles\":", json_list(r->pool, s->ident.roles), "}", NULL),
            1);
        return;
    }
    flexsaml_authz_set_denial(
        r,
        apr_pstrcat(r->pool,
                    PAGE_HEAD "<h1>Access denied</h1><p>This page needs one of the roles <code>",
                    flexsaml_html(r->pool, need), "</code>.</p><p>You are signed in as ",
                    flexsaml_html(r->pool, s->ident.full_name ? s->ident.full_name : r->user),
                    " with the roles <code>", flexsaml_html(r->pool, *have ? have : "(none)"),
                    "</code>.</p><p>Ask your Okta administrator to add the role to your user type "
                    "(Directory &rsaquo; People &rsaquo; your user &rsaquo; Profile &rsaquo; User "
                    "type), then sign in again.</p>" PAGE_TAIL,
                    NULL),
        0);
}

flexsaml_session *flexsaml_authz_session(request_rec *r, authz_status *none)
{
    flexsaml_session *s;

    /* FlexSAMLAuth optional lets a request without a session through with
     * an empty user: it has no roles or claims to show. */
    if (!r->user || !*r->user) {
        *none = AUTHZ_DENIED_NO_USER;
        return NULL;
    }
    if (!(s = flexsaml_request_session(r)))
        *none = AUTHZ_DENIED;
    return s;
}

static authz_status check_roles(request_rec *r, const char *line, const void *parsed)
{
    const apr_array_header_t *want = parsed;
    flexsaml_session *s;
    authz_status none;
    int i;

    (void)line;
    if (!(s = flexsaml_authz_session(r, &none)))
        return none;
    for (i = 0; i < want->nelts; i++) {
        const char *role = APR_ARRAY_IDX(want, i, const char *);
        if (!strcmp(role, FLEXSAML_WFO_ANY)) {
            int j;
            for (j = 0; j < s->ident.roles->nelts; j++)
                if (!strncmp(APR_ARRAY_IDX(s->ident.roles, j, const char *), "wfo.", 4))
                    return AUTHZ_GRANTED;
        } else if (flexsaml_roles_contains(s->ident.roles, role)) {
            return AUTHZ_GRANTED;
        }
    }
    explain_denial(r, want, s);
    return AUTHZ_DENIED;
}

const authz_provider flexsaml_authz_role_provider = {
    &check_roles,
    &parse_roles,
};
