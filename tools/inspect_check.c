/*
 * flexsaml inspect, checking: every problem of a response in words, in the
 * order the module meets them (sp.c), and the module's own verdict from the
 * core's pipeline (flexsaml_sp_process_response) whenever a certificate is
 * known. The module stops at its first refusal; this file goes on, so one
 * run lists everything Okta's settings need.
 */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "inspect.h"
#include "okta.h"

#define BASIC "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
#define URI_REF "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
#define NAMEID_UNSPECIFIED "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
#define MAX_ATTRIBUTE_VALUES 512 /* sp.c */
#define ALG_SHA1_SIG "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define ALG_SHA1_DIG "http://www.w3.org/2000/09/xmldsig#sha1"

void inspect_add(inspection *in, inspect_sev sev, const char *reason, const char *fmt, ...)
{
    inspect_finding *f = apr_array_push(in->findings);
    va_list ap;
    va_start(ap, fmt);
    f->text = apr_pvsprintf(in->t->p, fmt, ap);
    va_end(ap);
    f->sev = sev;
    f->reason = reason;
}

static int has_reason(const inspection *in, const char *reason)
{
    int i;
    for (i = 0; i < in->findings->nelts; i++) {
        const inspect_finding *f = &APR_ARRAY_IDX(in->findings, i, inspect_finding);
        if (f->reason && !strcmp(f->reason, reason))
            return 1;
    }
    return 0;
}

const inspect_finding *inspect_verdict(const inspection *in)
{
    int i;
    const char *want =
        in->core_ran && in->core.reason ? flexsaml_refusal_code(in->core.reason) : NULL;

    /* The module's own reason comes first: it is what its log would say. */
    for (i = 0; want && i < in->findings->nelts; i++) {
        const inspect_finding *f = &APR_ARRAY_IDX(in->findings, i, inspect_finding);
        if (f->sev == SEV_REFUSED && f->reason && !strcmp(f->reason, want))
            return f;
    }
    for (i = 0; i < in->findings->nelts; i++) {
        const inspect_finding *f = &APR_ARRAY_IDX(in->findings, i, inspect_finding);
        if (f->sev == SEV_REFUSED)
            return f;
    }
    return NULL;
}

const char *inspect_alg_name(const char *uri)
{
    static const struct {
        const char *suffix, *name;
    } names[] = {
        {"#rsa-sha256", "RSA-SHA256"},
        {"#rsa-sha384", "RSA-SHA384"},
        {"#rsa-sha512", "RSA-SHA512"},
        {"#rsa-sha1", "RSA-SHA1"},
        {"#ecdsa-sha256", "ECDSA-SHA256"},
        {"#hmac-sha256", "HMAC-SHA256"},
        {"#hmac-sha1", "HMAC-SHA1"},
        {"#sha256", "SHA-256"},
        {"#sha384", "SHA-384"},
        {"#sha512", "SHA-512"},
        {"#sha1", "SHA-1"},
    };
    apr_size_t i, n;

    if (!uri)
        return "(none)";
    n = strlen(uri);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        apr_size_t k = strlen(names[i].suffix);
        if (n >= k && !strcmp(uri + n - k, names[i].suffix))
            return names[i].name;
    }
    return NULL;
}

static const char *format_name(const char *f)
{
    if (!f || !*f)
        return "(none)";
    if (!strcmp(f, BASIC))
        return "Basic";
    if (!strcmp(f, URI_REF))
        return "URI Reference";
    if (!strcmp(f, "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"))
        return "Unspecified";
    return NULL;
}

static const char *okta_statement(apr_pool_t *p, const char *attr)
{
    const flexsaml_okta_attr *a = flexsaml_okta_attribute(attr);
    if (a)
        return apr_psprintf(p, "%s (%s) = %s", a->attribute, a->format, a->expression);
    return apr_psprintf(p, "%s (Basic) with the value to use", tool_safe(p, attr, 60));
}

/* ---- the shape, the algorithms and the signatures ---- */

static void check_shape(inspection *in)
{
    apr_pool_t *p = in->t->p;
    flexsaml_refusal why = in->shape.reason;
    const char *reason = flexsaml_refusal_code(why), *detail = tool_safe(p, in->shape.detail, 300);

    if (why == FLEXSAML_R_NONE)
        return;
    if (why == FLEXSAML_R_STATUS_NOT_SUCCESS) {
        const char *codes = "", *sep = "";
        int i;
        for (i = 0; i < in->status_codes->nelts; i++) {
            const char *c = APR_ARRAY_IDX(in->status_codes, i, const char *);
            const char *colon = c ? strrchr(c, ':') : NULL;
            codes = apr_pstrcat(p, codes, sep, tool_safe(p, colon ? colon + 1 : c, 100), NULL);
            sep = " / ";
        }
        inspect_add(in, SEV_REFUSED, reason,
                    "Okta answered with status %s%s%s%s: no one signed in (is the person "
                    "assigned to the app in Okta?).",
                    *codes ? codes : "(none)", in->status_message ? " (\"" : "",
                    in->status_message ? tool_safe(p, in->status_message, 200) : "",
                    in->status_message ? "\")" : "");
    } else if (why == FLEXSAML_R_ENCRYPTED_ASSERTION) {
        inspect_add(in, SEV_REFUSED, reason,
                    "the assertion is encrypted: in Okta set Assertion Encryption to "
                    "Unencrypted (SAML Settings, Show Advanced Settings).");
    } else if (why == FLEXSAML_R_ALGORITHM_REFUSED) {
        if (strstr(detail, "sha1") && !in->pol.allow_sha1)
            inspect_add(in, SEV_REFUSED, reason,
                        "%s: in Okta set Signature Algorithm RSA-SHA256 and Digest Algorithm "
                        "SHA256 (FlexSAMLAllowSHA1 on accepts SHA-1, as an escape hatch only).",
                        detail);
        else
            inspect_add(in, SEV_REFUSED, reason, "%s: only RSA or ECDSA with SHA-2 is accepted.",
                        detail);
    } else {
        inspect_add(in, SEV_REFUSED, reason, "%s.", detail);
    }
}

static int uses_sha1(const inspect_sig *s)
{
    return s->node && ((s->sig_alg && !strcmp(s->sig_alg, ALG_SHA1_SIG)) ||
                       (s->dig_alg && !strcmp(s->dig_alg, ALG_SHA1_DIG)));
}

/* What the shape check lets through with SHA-1, judged by the configuration. */
static void check_sha1(inspection *in)
{
    int r = uses_sha1(&in->rsig), a = uses_sha1(&in->asig);

    if ((!r && !a) || in->pol.allow_sha1 || has_reason(in, "algorithm_refused"))
        return;
    inspect_add(in, SEV_REFUSED, "algorithm_refused",
                "%s signed with SHA-1: in Okta set Signature Algorithm RSA-SHA256 and Digest "
                "Algorithm SHA256 (FlexSAMLAllowSHA1 on accepts SHA-1, as an escape hatch only).",
                r && a ? "the Response and the assertion are"
                : r    ? "the Response is"
                       : "the assertion is");
}

static void check_caps(inspection *in)
{
    apr_size_t total_cap = in->pol.max_total_bytes;
    if (in->shape.attribute_values > MAX_ATTRIBUTE_VALUES ||
        in->shape.largest_value > in->pol.max_attr_bytes || in->shape.value_bytes > total_cap)
        inspect_add(in, SEV_REFUSED, "claim_too_large",
                    "%d attribute values of %" APR_SIZE_T_FMT " bytes, the largest %" APR_SIZE_T_FMT
                    "; the limits are %d values, %" APR_SIZE_T_FMT
                    " bytes each (FlexSAMLMaxAttributeBytes) and %" APR_SIZE_T_FMT
                    " together (half of FlexSAMLMaxSessionBytes).",
                    in->shape.attribute_values, in->shape.value_bytes, in->shape.largest_value,
                    MAX_ATTRIBUTE_VALUES, in->pol.max_attr_bytes, total_cap);
}

static void check_keyinfo(inspection *in, const inspect_sig *s, const char *which)
{
    apr_pool_t *p = in->t->p;
    int i, same = 0;
    tool_cert kc;

    if (!s->node || !s->keyinfo_b64 || !in->certs->nelts || s->verified == 1)
        return;
    for (i = 0; i < in->certs->nelts; i++)
        same |= !strcmp(APR_ARRAY_IDX(in->certs, i, tool_cert).b64, s->keyinfo_b64);
    if (same || tool_cert_read(p, s->keyinfo_b64, &kc) != NULL)
        return;
    inspect_add(in, SEV_NOTE, NULL,
                "the %s signature carries another certificate than %s: %s, SHA-256 %s. If Okta "
                "rotated its signing certificate, run `flexsaml idp-fields` on the app's "
                "current metadata (a certificate inside a message is never trusted).",
                which, tool_safe(p, in->cert_source, 300), kc.subject, kc.sha256);
}

/* An expired IdP certificate: the module still verifies with it (it warns at
 * startup), but it is the likeliest reason Okta now signs with another. */
static void check_cert_dates(inspection *in)
{
    apr_pool_t *p = in->t->p;
    int i;

    for (i = 0; i < in->certs->nelts; i++) {
        const tool_cert *c = &APR_ARRAY_IDX(in->certs, i, tool_cert);
        if (c->not_after && c->not_after <= in->t->now)
            inspect_add(in, SEV_WARNING, NULL,
                        "the IdP certificate of %s (%s) expired %s ago (%s): Okta has most "
                        "likely rotated it; run `flexsaml idp-fields` on the app's current "
                        "metadata and update FlexSAMLIdPCertificateFile.",
                        tool_safe(p, in->cert_source, 300), c->subject,
                        tool_duration(p, in->t->now - c->not_after),
                        tool_iso_time(p, c->not_after));
    }
}

static void check_signatures(inspection *in)
{
    if (!in->assertion || in->encrypted_assertions)
        return;
    if (!in->asig.node) {
        if (in->assertion_only)
            inspect_add(in, SEV_NOTE, NULL,
                        "the assertion is not signed (as in Okta's preview); in a real response "
                        "Okta must sign it (Assertion Signature: Signed).");
        else
            inspect_add(in, SEV_REFUSED, "signature_missing",
                        "the assertion is not signed: in Okta set Assertion Signature to Signed.");
    }
    if (!in->assertion_only && !in->rsig.node) {
        if (in->pol.require_signed_response)
            inspect_add(in, SEV_REFUSED, "signature_missing",
                        "the Response is not signed: in Okta set Response to Signed (or "
                        "FlexSAMLRequireSignedResponse off).");
        else
            inspect_add(in, SEV_NOTE, NULL,
                        "the Response is not signed (accepted: FlexSAMLRequireSignedResponse "
                        "off).");
    }
    check_sha1(in);
    if (in->rsig.verified == 0)
        inspect_add(in, SEV_REFUSED, "signature_invalid", "the Response signature %s.",
                    in->rsig.verify_text);
    if (in->asig.verified == 0)
        inspect_add(in, SEV_REFUSED, "signature_invalid", "the assertion signature %s.",
                    in->asig.verify_text);
    check_keyinfo(in, &in->asig, "assertion");
    if (!in->asig.node || !in->asig.keyinfo_b64 || in->asig.verified == 1)
        check_keyinfo(in, &in->rsig, "Response");
}

/* ---- subject: issuer, destination, recipient, audience ---- */

static void compare(inspection *in, const char *reason, const char *what, const char *got,
                    const char *want, const char *directive, const char *okta_field)
{
    apr_pool_t *p = in->t->p;
    const char *diff;

    if (!got) {
        inspect_add(in, SEV_REFUSED, reason, "the %s is missing%s%s.", what,
                    want ? "; expected " : "", want ? tool_safe(p, want, 300) : "");
        return;
    }
    if (!want || !(diff = tool_url_difference(p, got, want)))
        return;
    inspect_add(in, SEV_REFUSED, reason, "the %s \"%s\" differs from %s \"%s\" by %s%s%s.", what,
                tool_safe(p, got, 300), directive, tool_safe(p, want, 300), diff,
                okta_field ? "; in Okta check " : "", okta_field ? okta_field : "");
}

static void check_subject(inspection *in)
{
    apr_pool_t *p = in->t->p;
    flexsaml_assertion_data *ad = &in->ad;
    int i, j;

    if (in->issuer && ad->issuer && strcmp(in->issuer, ad->issuer) != 0)
        inspect_add(in, SEV_REFUSED, "issuer_mismatch",
                    "the Response issuer \"%s\" and the assertion issuer \"%s\" differ.",
                    tool_safe(p, in->issuer, 200), tool_safe(p, ad->issuer, 200));
    compare(in, "issuer_mismatch", "issuer", ad->issuer, in->idp_issuer,
            in->srv && in->srv->idp_metadata_file ? "the metadata's entityID" : "FlexSAMLIdPIssuer",
            NULL);
    if (!in->assertion_only)
        compare(in, "destination_mismatch", "Destination", in->destination, in->acs_url,
                "this server's ACS URL", "Single sign-on URL");
    if (!ad->bearer)
        inspect_add(in, SEV_REFUSED, "recipient_mismatch",
                    "the assertion has no bearer SubjectConfirmation.");
    else
        compare(in, "recipient_mismatch", "Recipient", ad->recipient,
                in->acs_url          ? in->acs_url
                : in->assertion_only ? NULL
                                     : in->destination,
                in->acs_url ? "this server's ACS URL" : "the Destination",
                "Single sign-on URL (\"Use this for Recipient URL and Destination URL\")");
    if (ad->audience_restrictions->nelts == 0) {
        inspect_add(in, SEV_REFUSED, "audience_mismatch",
                    "the assertion names no Audience: in Okta set Audience URI (SP Entity ID).");
    } else if (in->entity_id) {
        for (i = 0; i < ad->audience_restrictions->nelts; i++) {
            apr_array_header_t *l =
                APR_ARRAY_IDX(ad->audience_restrictions, i, apr_array_header_t *);
            int found = 0;
            for (j = 0; j < l->nelts && !found; j++)
                found = !strcmp(APR_ARRAY_IDX(l, j, const char *), in->entity_id);
            if (!found) {
                compare(in, "audience_mismatch", "audience",
                        l->nelts ? APR_ARRAY_IDX(l, 0, const char *) : NULL, in->entity_id,
                        "FlexSAMLSPEntityID", "Audience URI (SP Entity ID)");
                break;
            }
        }
    }
    if (in->in_response_to && ad->sc_in_response_to &&
        strcmp(in->in_response_to, ad->sc_in_response_to) != 0)
        inspect_add(in, SEV_REFUSED, "unknown_request",
                    "the Response and the assertion answer different requests (InResponseTo).");
}

/* ---- time ---- */

static void check_times(inspection *in)
{
    apr_pool_t *p = in->t->p;
    flexsaml_assertion_data *ad = &in->ad;
    apr_time_t now = in->t->now, skew = apr_time_from_sec(in->pol.clock_skew);
    apr_time_t nb = ad->not_before > ad->sc_not_before ? ad->not_before : ad->sc_not_before;
    apr_time_t na = ad->not_on_or_after;

    if (ad->sc_not_on_or_after && (!na || ad->sc_not_on_or_after < na))
        na = ad->sc_not_on_or_after;
    if (ad->bad_time)
        inspect_add(in, SEV_REFUSED, "bad_response", "the %s timestamp is malformed.",
                    ad->bad_time);
    else if (!na)
        inspect_add(in, SEV_REFUSED, "expired", "the assertion has no NotOnOrAfter.");
    else if (nb && now + skew < nb)
        inspect_add(in, SEV_REFUSED, "not_yet_valid",
                    "not valid yet: it starts in %s, beyond the clock skew of %d s (is this "
                    "server's clock behind? check NTP).",
                    tool_duration(p, nb - now), in->pol.clock_skew);
    else if (now - skew >= na)
        inspect_add(in, SEV_REFUSED, "expired",
                    "expired %s ago (NotOnOrAfter %s, clock skew %d s): responses live about 5 "
                    "minutes; sign in again to get a fresh one, or use --now.",
                    tool_duration(p, now - na), tool_iso_time(p, na), in->pol.clock_skew);
    else if (now >= na)
        inspect_add(in, SEV_WARNING, NULL,
                    "expired %s ago, accepted only within the clock skew of %d s.",
                    tool_duration(p, now - na), in->pol.clock_skew);
    else if (ad->session_not_on_or_after && now - skew >= ad->session_not_on_or_after)
        inspect_add(in, SEV_REFUSED, "expired",
                    "Okta's session ended %s ago (SessionNotOnOrAfter %s, clock skew %d s): a "
                    "session opened now would be dead on arrival.",
                    tool_duration(p, now - ad->session_not_on_or_after),
                    tool_iso_time(p, ad->session_not_on_or_after), in->pol.clock_skew);
}

/* ---- the identity ---- */

struct values {
    apr_array_header_t *v;
    const char *dirty;
};

static int collect(void *data, const char *key, const char *value)
{
    struct values *c = data;
    if (c->v)
        APR_ARRAY_PUSH(c->v, const char *) = value;
    if (!c->dirty && !flexsaml_value_is_clean(value))
        c->dirty = key;
    return 1;
}

static void check_claims(inspection *in)
{
    apr_pool_t *p = in->t->p;
    flexsaml_assertion_data *ad = &in->ad;
    const char *roles_attr = in->pol.roles_attribute ? in->pol.roles_attribute : "roles";
    static const char *const flex[] = {"full_name", "email", NULL};
    const apr_array_header_t *req = in->pol.required_claims;
    struct values c = {NULL, NULL};
    int i, unknown;

    if (ad->largest_value > in->pol.max_attr_bytes || ad->value_bytes > in->pol.max_total_bytes) {
        if (!has_reason(in, "claim_too_large"))
            inspect_add(in, SEV_REFUSED, "claim_too_large",
                        "the attribute values are too large (%" APR_SIZE_T_FMT " bytes).",
                        ad->value_bytes);
    }
    apr_table_do(collect, &c, ad->attributes, NULL);
    if (c.dirty)
        inspect_add(in, SEV_REFUSED, "bad_claim",
                    "the attribute %s holds control characters or invalid UTF-8.",
                    tool_safe(p, c.dirty, 60));
    if (ad->name_id && !flexsaml_value_is_clean(ad->name_id))
        inspect_add(in, SEV_REFUSED, "bad_claim",
                    "the NameID holds control characters or invalid UTF-8.");
    if (!ad->name_id || !*ad->name_id)
        inspect_add(in, SEV_REFUSED, "missing_claim", "the assertion has no NameID.");
    /* FlexSAMLRequireClaims, as the module judges (NULL: the Flex three). */
    for (i = 0; req ? i < req->nelts : flex[i] != NULL; i++) {
        const char *name = req ? APR_ARRAY_IDX(req, i, const char *) : flex[i];
        const char *v = apr_table_get(ad->attributes, name);
        if (v && *v)
            continue;
        if (!strcmp(name, roles_attr))
            continue;
        inspect_add(in, SEV_REFUSED, "missing_claim",
                    "missing %s: in Okta add the attribute statement %s.", tool_safe(p, name, 60),
                    okta_statement(p, name));
    }
    for (i = 0; req && i < req->nelts && strcmp(APR_ARRAY_IDX(req, i, const char *), roles_attr);
         i++)
        ;
    if ((!req || i < req->nelts) &&
        (!apr_table_get(ad->attributes, roles_attr) || !*apr_table_get(ad->attributes, roles_attr)))
        inspect_add(in, SEV_REFUSED, "missing_claim",
                    "missing %s: in Okta add the attribute statement %s, and set each person's "
                    "User type (agent, supervisor, admin).",
                    tool_safe(p, roles_attr, 60), okta_statement(p, roles_attr));
    if (in->pol.user_attribute && strcmp(in->pol.user_attribute, FLEXSAML_CLAIM_NAMEID) != 0) {
        const char *v = apr_table_get(ad->attributes, in->pol.user_attribute);
        if (!v || !*v)
            inspect_add(in, SEV_REFUSED, "missing_claim",
                        "missing %s, which FlexSAMLUser makes REMOTE_USER: in Okta add the "
                        "attribute statement %s.",
                        tool_safe(p, in->pol.user_attribute, 60),
                        okta_statement(p, in->pol.user_attribute));
    }

    /* Roles: what the role mapper of the core makes of them. */
    c.v = apr_array_make(p, 4, sizeof(const char *));
    c.dirty = NULL;
    apr_table_do(collect, &c, ad->attributes, roles_attr, NULL);
    unknown = flexsaml_roles_parse(p, c.v, &in->pol.roles, &in->ident.roles, &in->unknown_roles);
    for (i = 0; i < in->unknown_roles->nelts; i++) {
        const char *u = APR_ARRAY_IDX(in->unknown_roles, i, const char *);
        const char *hint = tool_role_suggestion(u);
        inspect_add(in, in->pol.roles.unknown == FLEXSAML_UNKNOWN_DENY ? SEV_REFUSED : SEV_WARNING,
                    in->pol.roles.unknown == FLEXSAML_UNKNOWN_DENY ? "no_role" : NULL,
                    "unknown role \"%s\"%s%s%s: %s (FlexSAMLUnknownRoles %s).",
                    tool_safe(p, u, 100), hint ? " (did you mean \"" : "", hint ? hint : "",
                    hint ? "\"?)" : "",
                    in->pol.roles.unknown == FLEXSAML_UNKNOWN_DENY   ? "the sign-in is refused"
                    : in->pol.roles.unknown == FLEXSAML_UNKNOWN_KEEP ? "kept as it is"
                                                                     : "dropped",
                    in->pol.roles.unknown == FLEXSAML_UNKNOWN_DENY   ? "deny"
                    : in->pol.roles.unknown == FLEXSAML_UNKNOWN_KEEP ? "keep"
                                                                     : "drop");
    }
    if (c.v->nelts && !(unknown && in->pol.roles.unknown == FLEXSAML_UNKNOWN_DENY) &&
        in->pol.require_flex_role && !flexsaml_roles_has_flex_role(in->ident.roles))
        inspect_add(in, SEV_REFUSED, "no_role",
                    "no Flex role (agent, admin, supervisor) in %s: set the person's User type "
                    "in Okta.",
                    tool_safe(p, roles_attr, 60));
}

static void check_formats(inspection *in)
{
    apr_pool_t *p = in->t->p;
    int i;

    for (i = 0; i < in->attrs->nelts; i++) {
        const inspect_attr *a = &APR_ARRAY_IDX(in->attrs, i, inspect_attr);
        const char *fmt = format_name(a->format);
        const char *want;
        if (!a->name)
            continue;
        if (!strcmp(a->name, "image_url"))
            want = "URI Reference";
        else if (!strcmp(a->name, "full_name") || !strcmp(a->name, "email") ||
                 !strcmp(a->name, "roles"))
            want = "Basic";
        else
            continue;
        if (!a->format || !*a->format)
            inspect_add(in, SEV_WARNING, NULL,
                        "%s is sent without a Name format; Flex's guide says %s (the module "
                        "accepts it, Flex itself may not).",
                        a->name, want);
        else if (!fmt || strcmp(fmt, want) != 0)
            inspect_add(in, SEV_WARNING, NULL,
                        "%s is sent with Name format %s; Flex's guide says %s (the module "
                        "accepts either, Flex itself may not).",
                        a->name, fmt ? fmt : tool_safe(p, a->format, 100), want);
        if (a->values->nelts == 0)
            inspect_add(in, SEV_WARNING, NULL, "%s has no value.", a->name);
        else if (a->values->nelts > 1 && strcmp(a->name, "roles") != 0)
            inspect_add(in, SEV_NOTE, NULL, "%s has %d values: they are joined with \"%s\".",
                        a->name, a->values->nelts,
                        tool_safe(p, in->srv ? in->srv->claims->separator : ",", 20));
    }
    if (in->name_id_format && strcmp(in->name_id_format, NAMEID_UNSPECIFIED) != 0)
        inspect_add(in, SEV_NOTE, NULL,
                    "the NameID format is %s; Flex's guide says Unspecified (accepted either way).",
                    tool_safe(p, in->name_id_format, 120));
}

static void check_flow(inspection *in)
{
    apr_pool_t *p = in->t->p;
    const char *irt = in->in_response_to ? in->in_response_to : in->ad.sc_in_response_to;

    if (in->assertion_only)
        return;
    if (irt)
        inspect_add(in, SEV_NOTE, NULL,
                    "InResponseTo %s: it answers a sign-in started here; the module accepts it "
                    "once, within 10 minutes of that request (not checked here).",
                    tool_safe(p, irt, 100));
    else if (!in->idp_initiated)
        inspect_add(in, SEV_REFUSED, "unsolicited",
                    "no InResponseTo (a sign-in from the Okta tile) and FlexSAMLIdPInitiated is "
                    "off.");
}

/* ---- the module's own pipeline ---- */

static void run_core(inspection *in)
{
    apr_pool_t *p = in->t->p;
    const flexsaml_idp *idp = NULL;
    flexsaml_idp *built;
    flexsaml_sp *sp;
    flexsaml_sp_policy pol = in->pol;
    const char *err = NULL, *acs, *first_aud = NULL;
    char *md;
    apr_size_t len;

    if (in->assertion_only) {
        in->core_skipped = "an assertion alone is not a response the module could receive";
        return;
    }
    if (!in->certs->nelts) {
        in->core_skipped = "no certificate to check the signatures with";
        return;
    }
    if (in->ad.audience_restrictions && in->ad.audience_restrictions->nelts) {
        apr_array_header_t *l =
            APR_ARRAY_IDX(in->ad.audience_restrictions, 0, apr_array_header_t *);
        first_aud = l->nelts ? APR_ARRAY_IDX(l, 0, const char *) : NULL;
    }
    /* What is not configured is taken from the response itself, so the
     * pipeline checks everything else (signatures, time, claims, roles). */
    pol.sp_entity_id = in->entity_id ? in->entity_id
                       : first_aud   ? first_aud
                                     : "urn:flexsaml:inspect";
    acs = in->acs_url        ? in->acs_url
          : in->destination  ? in->destination
          : in->ad.recipient ? in->ad.recipient
                             : "https://flexsaml.invalid/acs";
    if (in->srv && in->srv->idp_metadata_file && !in->cert_source_is_cli) {
        if (!(err = tool_read_file(p, in->srv->idp_metadata_file, TOOL_MAX_INPUT, &md, &len)))
            err = flexsaml_idp_from_metadata(p, md, len, &built);
    } else {
        const char *issuer = in->idp_issuer  ? in->idp_issuer
                             : in->ad.issuer ? in->ad.issuer
                                             : "urn:flexsaml:inspect";
        const char *sso =
            in->srv && in->srv->idp_sso_url ? in->srv->idp_sso_url : "https://idp.invalid/sso";
        err = flexsaml_idp_from_fields(p, APR_ARRAY_IDX(in->certs, 0, tool_cert).b64, sso, issuer,
                                       &built);
    }
    if (err) {
        in->core_skipped = apr_psprintf(p, "the IdP cannot be built: %s", tool_safe(p, err, 300));
        return;
    }
    idp = built;
    if ((err = flexsaml_sp_create(p, &pol, idp, NULL, NULL, &sp)) != NULL) {
        in->core_skipped = apr_psprintf(p, "the SP cannot be built: %s", tool_safe(p, err, 300));
        return;
    }
    flexsaml_sp_process_response(p, sp, in->b64, strlen(in->b64), acs, in->t->now, &in->core);
    in->core_ran = 1;
    if (in->core.reason && !has_reason(in, flexsaml_refusal_code(in->core.reason)))
        inspect_add(in, SEV_REFUSED, flexsaml_refusal_code(in->core.reason),
                    "the module's checks: %s.", tool_safe(p, in->core.detail, 400));
}

void inspect_check(inspection *in)
{
    if (!in->readable)
        return;
    check_shape(in);
    check_caps(in);
    if (!in->assertion)
        return;
    check_cert_dates(in);
    check_signatures(in);
    check_subject(in);
    check_times(in);
    check_claims(in);
    check_formats(in);
    check_flow(in);
    run_core(in);
}
