/*
 * Refusals: a reason code, a log line and a short page that share one
 * correlation id. The page says what went wrong in words and never echoes
 * the response, a secret or anything the browser sent without escaping.
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_escape.h"
#include "apr_base64.h"
#include "apr_general.h"

#include "flexsaml_glue.h"

typedef struct {
    const char *code;
    const char *title;
    const char *hint;
} reason_text;

static const reason_text reasons[] = {
    {"no_response", "No sign-in response",
     "The sign-in page received no SAMLResponse. Start again from the page you wanted to open."},
    {"bad_base64", "Unreadable sign-in response",
     "The sign-in response was damaged on the way. Start again from the page you wanted to open."},
    {"bad_xml", "Unreadable sign-in response",
     "The sign-in response is not a well-formed SAML document."},
    {"bad_response", "Unreadable sign-in response", "The sign-in response could not be processed."},
    {"body_too_large", "Sign-in response too large",
     "The sign-in response is larger than this server accepts."},
    {"encrypted_assertion", "Encrypted assertion not supported",
     "The identity provider encrypted the assertion. In Okta, open this app's SAML Settings and "
     "set Assertion Encryption to Unencrypted."},
    {"missing_assertion", "No assertion", "The sign-in response carries no assertion."},
    {"multiple_assertions", "Several assertions",
     "The sign-in response carries more than one assertion, which is refused."},
    {"signature_missing", "Unsigned sign-in response",
     "The sign-in response is not signed as required. In Okta, set both Response and Assertion "
     "Signature to Signed."},
    {"signature_invalid", "Invalid signature",
     "The signature of the sign-in response does not verify with the configured IdP certificate. "
     "If Okta rotated its certificate, update FlexSAMLIdPCertificateFile."},
    {"algorithm_refused", "Weak signature algorithm",
     "The sign-in response is signed with an algorithm this server refuses. In Okta, choose "
     "RSA-SHA256."},
    {"issuer_mismatch", "Unknown identity provider",
     "The sign-in response comes from an issuer other than the configured FlexSAMLIdPIssuer."},
    {"audience_mismatch", "Response meant for another application",
     "The sign-in response is addressed to another application. In Okta, the Audience URI must "
     "equal FlexSAMLSPEntityID."},
    {"recipient_mismatch", "Response meant for another address",
     "The sign-in response names another Recipient. In Okta, the Single sign-on URL must be this "
     "server's ACS URL."},
    {"destination_mismatch", "Response meant for another address",
     "The sign-in response names another Destination. In Okta, the Single sign-on URL must be this "
     "server's ACS URL."},
    {"expired", "Sign-in response expired",
     "The sign-in response is too old. Start again; if it keeps happening, check this server's "
     "clock."},
    {"not_yet_valid", "Sign-in response not yet valid",
     "The sign-in response is dated in the future. Check this server's clock."},
    {"replayed", "Sign-in response already used",
     "This sign-in response was already used once. Start again from the page you wanted to open."},
    {"unknown_request", "Unknown sign-in request",
     "The sign-in response answers a request this server did not make, or one that expired. Start "
     "again from the page you wanted to open."},
    {"unsolicited", "Unsolicited sign-in refused",
     "This server accepts only sign-ins that it started (FlexSAMLIdPInitiated off). Start from the "
     "page you wanted to open."},
    {"status_not_success", "Sign-in refused by the identity provider",
     "The identity provider did not sign you in."},
    {"missing_claim", "Missing attribute",
     "The sign-in response lacks an attribute this server needs."},
    {"bad_claim", "Invalid attribute",
     "An attribute of the sign-in response holds control characters, which are refused."},
    {"claim_too_large", "Attribute too large",
     "The attributes of the sign-in response exceed FlexSAMLMaxAttributeBytes."},
    {"no_role", "No Flex role",
     "Your account has no Flex role (agent, supervisor or admin). In Okta: Directory, People, your "
     "user, Profile, User type; list several roles separated by commas."},
    {"session_store", "Session store unavailable",
     "The session store cannot be reached. Try again in a moment."},
    {"method_not_allowed", "Method not allowed",
     "This address accepts only the sign-in response, sent with POST."},
    {"internal", "Sign-in unavailable",
     "The sign-in could not be completed because of a server error."},
    {NULL, NULL, NULL}};

static const reason_text *find_reason(const char *code)
{
    const reason_text *t;
    for (t = reasons; t->code; t++)
        if (!strcmp(t->code, code))
            return t;
    return &reasons[sizeof(reasons) / sizeof(reasons[0]) - 2];
}

const char *flexsaml_reason_code(int index)
{
    if (index < 0 || index >= (int)(sizeof(reasons) / sizeof(reasons[0])))
        return NULL;
    return reasons[index].code;
}

const char *flexsaml_json_string(apr_pool_t *p, const char *s)
{
    /* UTF-8 passes through as is (valid JSON); quotes, backslashes and
     * control characters are escaped. */
    char *out, *o;
    if (!s)
        s = "";
    out = o = apr_palloc(p, strlen(s) * 6 + 3);
    *o++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += apr_snprintf(o, 7, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *flexsaml_html(apr_pool_t *p, const char *s)
{
    return s ? apr_pescape_entity(p, s, 0) : "";
}

const char *flexsaml_correlation_id(request_rec *r)
{
    const char *id = apr_table_get(r->notes, "flexsaml-id");
    unsigned char raw[9];
    char *b64;

    if (id)
        return id;
    id = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    if (!id) {
        if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
            memset(raw, 0, sizeof(raw));
        b64 = apr_palloc(r->pool, apr_base64_encode_len(sizeof(raw)));
        apr_base64_encode(b64, (const char *)raw, sizeof(raw));
        for (char *c = b64; *c; c++)
            if (*c == '+' || *c == '/')
                *c = *c == '+' ? '-' : '_';
        id = b64;
    }
    apr_table_setn(r->notes, "flexsaml-id", id);
    return id;
}

int flexsaml_refuse(request_rec *r, int status, const char *code, const char *detail,
                    const char *hint)
{
    const reason_text *t = find_reason(code);
    int level = status >= 500 ? APLOG_ERR : APLOG_WARNING;

    ap_log_rerror(APLOG_MARK, level, 0, r, "flexsaml: refused reason=%s id=%s: %s", code,
                  flexsaml_correlation_id(r), detail ? detail : t->title);
    return flexsaml_refuse_page(r, status, code, hint);
}

int flexsaml_refuse_page(request_rec *r, int status, const char *code, const char *hint)
{
    const reason_text *t = find_reason(code);

    flexsaml_metric_refusal(r, (int)(t - reasons));
    const char *id = flexsaml_correlation_id(r);
    const char *page;

    page = apr_pstrcat(
        r->pool, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>",
        flexsaml_html(r->pool, t->title),
        "</title><style>body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d1d1f;"
        "margin:0}main{max-width:34rem;margin:4rem auto;background:#fff;padding:2rem 2.5rem;"
        "border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.4rem}"
        "code{background:#eef;padding:.1rem .3rem;border-radius:3px}small{color:#666}</style>"
        "</head><body><main><h1>",
        flexsaml_html(r->pool, t->title), "</h1><p>", flexsaml_html(r->pool, hint ? hint : t->hint),
        "</p><p><small>Reason: <code>", flexsaml_html(r->pool, code),
        "</code> &middot; Reference: <code>", flexsaml_html(r->pool, id),
        "</code><br>Give the reference to your administrator; it finds the matching line in the "
        "server log.</small></p></main></body></html>\n",
        NULL);
    apr_table_setn(r->notes, "flexsaml-reason", code);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_custom_response(r, status, page);
    return status;
}
