/*
 * `Require flex-claim <attribute> <value>...` and
 * `Require flex-claim <attribute> ~ <regex>`: a mod_authz_core provider on
 * any attribute of the session's assertion, so that a site can gate a page
 * on a department or a group as mod_auth_openidc's `Require claim` does.
 * Values match exactly (SAML attribute values are case-sensitive); the
 * regex is compiled once, when the configuration is read.
 */
#include <string.h>

#include "http_core.h"
#include "http_log.h"
#include "ap_regex.h"
#include "apr_strings.h"

#include "flexsaml_glue.h"
#include "authn.h"
#include "authz.h"
#include "escape.h"
#include "web.h"

typedef struct {
    const char *line; /* as written, for the log and the 403 page */
    const char *attribute;
    apr_array_header_t *values; /* const char *, or NULL with re */
    ap_regex_t *re;
} claim_rule;

static const char *parse_claim(cmd_parms *cmd, const char *line, const void **parsed)
{
    claim_rule *rule = apr_pcalloc(cmd->pool, sizeof(*rule));
    const char *w;

    rule->line = apr_pstrdup(cmd->pool, line);
    rule->attribute = ap_getword_conf(cmd->pool, &line);
    if (!*rule->attribute)
        return "Require flex-claim needs an attribute and a value, e.g. "
               "Require flex-claim department sales, or Require flex-claim department ~ ^sales";
    w = ap_getword_conf(cmd->pool, &line);
    if (!strcmp(w, "~")) {
        const char *pattern = ap_getword_conf(cmd->pool, &line);
        if (!*pattern || *line)
            return apr_psprintf(cmd->pool,
                                "Require flex-claim %s ~: give exactly one regular expression "
                                "after ~ (quote it when it has spaces)",
                                rule->attribute);
        rule->re = ap_pregcomp(cmd->pool, pattern, AP_REG_EXTENDED | AP_REG_NOSUB);
        if (!rule->re)
            return apr_psprintf(cmd->pool,
                                "Require flex-claim %s ~ %s: not a valid regular expression",
                                rule->attribute, pattern);
        *parsed = rule;
        return NULL;
    }
    rule->values = apr_array_make(cmd->pool, 2, sizeof(const char *));
    while (*w) {
        APR_ARRAY_PUSH(rule->values, const char *) = w;
        w = ap_getword_conf(cmd->pool, &line);
    }
    if (rule->values->nelts == 0)
        return apr_psprintf(cmd->pool,
                            "Require flex-claim %s needs at least one value, e.g. "
                            "Require flex-claim %s sales, or a regex after ~",
                            rule->attribute, rule->attribute);
    *parsed = rule;
    return NULL;
}

typedef struct {
    const claim_rule *rule;
    const char *held; /* the values seen, for the 403 page */
    apr_pool_t *p;
    int matched;
} match_ctx;

static int value_matches(const claim_rule *rule, const char *v)
{
    int i;
    if (rule->re)
        return ap_regexec(rule->re, v, 0, NULL, 0) == 0;
    for (i = 0; i < rule->values->nelts; i++)
        if (!strcmp(v, APR_ARRAY_IDX(rule->values, i, const char *)))
            return 1;
    return 0;
}

static int match_one(void *data, const char *key, const char *value)
{
    match_ctx *m = data;
    /* apr_table_do filters keys case-insensitively; SAML names are not. */
    if (strcmp(key, m->rule->attribute) != 0)
        return 1;
    m->held = m->held ? apr_pstrcat(m->p, m->held, ", ", value, NULL) : value;
    if (value_matches(m->rule, value))
        m->matched = 1;
    return !m->matched;
}

static void explain(request_rec *r, const claim_rule *rule, const flexsaml_session *s,
                    const char *held)
{
    const char *rule_text = apr_pstrcat(r->pool, "Require flex-claim ", rule->line, NULL);

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "flexsaml: %s fails \"%s\" for %s: has %s", r->user,
                  rule_text, r->uri, held ? held : "no such attribute");
    if (flexsaml_wants_json(r)) {
        flexsaml_authz_set_denial(r,
                                  apr_pstrcat(r->pool,
                                              "{\"error\":\"forbidden\",\"required_claim\":",
                                              flexsaml_json_string(r->pool, rule_text), "}", NULL),
                                  1);
        return;
    }
    flexsaml_authz_set_denial(
        r,
        flexsaml_authz_page(
            r,
            apr_pstrcat(r->pool, "<h1>Access denied</h1><p>This page needs <code>",
                        flexsaml_html(r->pool, rule_text), "</code>.</p><p>You are signed in as ",
                        flexsaml_html(r->pool, s->ident.full_name ? s->ident.full_name : r->user),
                        held ? ", whose <code>" : ", whose sign-in carries no <code>",
                        flexsaml_html(r->pool, rule->attribute),
                        held ? "</code> is <code>" : "</code> attribute",
                        held ? flexsaml_html(r->pool, held) : "", held ? "</code>" : "",
                        ".</p><p>Ask your Okta administrator to change that attribute of your "
                        "profile (or the app's attribute statements), then sign in again.</p>",
                        NULL)),
        0);
}

static authz_status check_claim(request_rec *r, const char *line, const void *parsed)
{
    const claim_rule *rule = parsed;
    flexsaml_session *s;
    authz_status none;
    match_ctx m;

    (void)line;
    if (!(s = flexsaml_authz_session(r, &none)))
        return none;
    memset(&m, 0, sizeof(m));
    m.rule = rule;
    m.p = r->pool;
    if (!strcmp(rule->attribute, FLEXSAML_CLAIM_NAMEID)) {
        m.held = s->ident.name_id;
        m.matched = s->ident.name_id && value_matches(rule, s->ident.name_id);
    } else if (s->ident.attributes) {
        apr_table_do(match_one, &m, s->ident.attributes, rule->attribute, NULL);
    }
    if (m.matched)
        return AUTHZ_GRANTED;
    explain(r, rule, s, m.held);
    return AUTHZ_DENIED;
}

const authz_provider flexsaml_authz_claim_provider = {
    &check_claim,
    &parse_claim,
};
