/*
 * The Lasso Service Provider: the only file that talks to Lasso.
 *
 * Lasso verifies signatures; everything Lasso 2.8 leaves unchecked (time,
 * audience, recipient, destination, a signed Response around an unsigned
 * Assertion, the shape of the document) is checked here or in
 * response_shape.c, and the identity is read from the exact XML node whose
 * signature Lasso verified.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_escape.h>
#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_requested_authn_context.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>

#include "base64.h"
#include "flexsaml_sp.h"
#include "saml_xml.h"
#include "lasso_log.h"
#include "okta.h"
#include "query_sign.h"

#define MD_NS "urn:oasis:names:tc:SAML:2.0:metadata"
#define NAMEID_UNSPECIFIED "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
#define BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
/* A SAMLResponse larger than this after base64 decoding is never Okta's. */
#define MAX_DECODED (192 * 1024)
/* Attribute values in one response, signed or not, before Lasso parses it. */
#define MAX_ATTRIBUTE_VALUES 512

struct flexsaml_sp {
    LassoServer *server;
    flexsaml_sp_policy pol;
    const flexsaml_idp *idp;
    const char *sp_cert_b64; /* NULL without an SP certificate */
    EVP_PKEY *sign_key;      /* signs AuthnRequests; NULL without an SP key */
};

const char *flexsaml_sp_global_init(void)
{
    if (FLEXSAML_LASSO(lasso_init()) != 0)
        return "Lasso failed to initialize (lasso_init)";
    flexsaml_lasso_log_init();
    return NULL;
}

void flexsaml_lasso_runtime(apr_pool_t *p, int version[3], const char **library)
{
    Dl_info info;

    /* Lasso exports no version string; LASSO_CHECK_VERSION_NUMERIC answers
     * "at least this version" without logging, so the exact version of the
     * loaded library is found by raising each part while the answer is yes. */
    int v[3] = {0, 0, 0};
    for (int part = 0; part < 3; part++) {
        while (v[part] < 999) {
            v[part]++;
            if (!lasso_check_version(v[0], v[1], v[2], LASSO_CHECK_VERSION_NUMERIC)) {
                v[part]--;
                break;
            }
        }
    }
    memcpy(version, v, sizeof(v));
    *library = NULL;
    if (dladdr((void *)lasso_check_version, &info) && info.dli_fname) {
        char *real = realpath(info.dli_fname, NULL);
        *library = apr_pstrdup(p, real ? real : info.dli_fname);
        free(real);
    }
}

static apr_status_t sp_cleanup(void *data)
{
    flexsaml_sp *sp = data;
    if (sp->server)
        FLEXSAML_LASSO_DO(g_object_unref(sp->server));
    sp->server = NULL;
    return APR_SUCCESS;
}

const char *flexsaml_sp_metadata(apr_pool_t *p, const flexsaml_sp *sp, const char *acs_url,
                                 const char *slo_url)
{
    const char *key = "";
    const char *slo = "";

    if (sp->sp_cert_b64)
        key = apr_pstrcat(p,
                          "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
                          "<ds:X509Certificate>",
                          sp->sp_cert_b64,
                          "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                          NULL);
    if (slo_url)
        slo = apr_pstrcat(p, "<md:SingleLogoutService Binding=\"" BINDING_REDIRECT "\" Location=\"",
                          apr_pescape_entity(p, slo_url, 1), "\"/>", NULL);
    return apr_pstrcat(
        p,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<md:EntityDescriptor xmlns:md=\"" MD_NS
        "\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"",
        apr_pescape_entity(p, sp->pol.sp_entity_id, 1),
        "\">\n  <md:SPSSODescriptor AuthnRequestsSigned=\"", sp->sp_cert_b64 ? "true" : "false",
        "\" WantAssertionsSigned=\"true\" "
        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n    ",
        key, slo, "\n    <md:NameIDFormat>" NAMEID_UNSPECIFIED "</md:NameIDFormat>\n",
        "    <md:AssertionConsumerService index=\"0\" isDefault=\"true\" Binding=\"" BINDING_POST
        "\" Location=\"",
        apr_pescape_entity(p, acs_url, 1),
        "\"/>\n  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n", NULL);
}

const char *flexsaml_sp_create(apr_pool_t *p, const flexsaml_sp_policy *pol,
                               const flexsaml_idp *idp, const char *sp_cert_pem,
                               const char *sp_key_pem, flexsaml_sp **out)
{
    flexsaml_sp *sp = apr_pcalloc(p, sizeof(*sp));
    const char *md, *err;
    int rc;

    sp->pol = *pol;
    sp->idp = idp;
    if (sp_cert_pem) {
        err = flexsaml_cert_parse(p, sp_cert_pem, &sp->sp_cert_b64, NULL, NULL);
        if (err)
            return apr_pstrcat(p, "the SP certificate ", err, NULL);
    }
    /* The ACS location in this copy is a placeholder: every AuthnRequest
     * names the ACS URL of the request's own host. */
    md = flexsaml_sp_metadata(p, sp, "https://flexsaml.invalid/acs", NULL);
    if (sp_key_pem && !(sp->sign_key = flexsaml_query_key(p, sp_key_pem)))
        return "the SP private key cannot be read (PEM, unencrypted)";
    sp->server = FLEXSAML_LASSO(lasso_server_new_from_buffers(md, sp_key_pem, NULL, sp_cert_pem));
    if (!sp->server)
        return "Lasso refused the SP settings (check the SP entity ID, key and certificate)";
    apr_pool_cleanup_register(p, sp, sp_cleanup, apr_pool_cleanup_null);
    rc = FLEXSAML_LASSO(lasso_server_add_provider_from_buffer(sp->server, LASSO_PROVIDER_ROLE_IDP,
                                                              idp->metadata, NULL, NULL));
    if (rc != 0)
        return apr_psprintf(p, "Lasso refused the IdP description: %s", lasso_strerror(rc));
    *out = sp;
    return NULL;
}

const flexsaml_idp *flexsaml_sp_idp(const flexsaml_sp *sp)
{
    return sp->idp;
}

static void set_string(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

const char *flexsaml_sp_authn_request(apr_pool_t *p, const flexsaml_sp *sp, const char *acs_url,
                                      const char *relay_state, int force_authn,
                                      const apr_array_header_t *contexts, const char **url,
                                      const char **request_id)
{
    LassoLogin *login = FLEXSAML_LASSO(lasso_login_new(sp->server));
    LassoProfile *profile = LASSO_PROFILE(login);
    LassoSamlp2AuthnRequest *req;
    const char *err = NULL;
    int rc;

    if (!login)
        return "Lasso could not create a login";
    /* Lasso never signs (it would parse the PEM key again for each
     * anonymous request); with an SP key the query is signed below, as the
     * metadata announces. */
    FLEXSAML_LASSO_DO(
        lasso_profile_set_signature_hint(profile, LASSO_PROFILE_SIGNATURE_HINT_FORBID));
    rc = FLEXSAML_LASSO(
        lasso_login_init_authn_request(login, sp->idp->entity_id, LASSO_HTTP_METHOD_REDIRECT));
    if (rc != 0) {
        err = apr_psprintf(p, "cannot start an AuthnRequest: %s", lasso_strerror(rc));
        goto done;
    }
    req = LASSO_SAMLP2_AUTHN_REQUEST(profile->request);
    req->ForceAuthn = force_authn ? TRUE : FALSE;
    req->IsPassive = FALSE;
    if (contexts && contexts->nelts > 0) {
        LassoSamlp2RequestedAuthnContext *rac =
            LASSO_SAMLP2_REQUESTED_AUTHN_CONTEXT(lasso_samlp2_requested_authn_context_new());
        int i;
        for (i = 0; i < contexts->nelts; i++)
            rac->AuthnContextClassRef = g_list_append(
                rac->AuthnContextClassRef, g_strdup(APR_ARRAY_IDX(contexts, i, const char *)));
        set_string(&rac->Comparison, "exact");
        if (req->RequestedAuthnContext)
            g_object_unref(req->RequestedAuthnContext);
        req->RequestedAuthnContext = rac;
    }
    set_string(&req->ProtocolBinding, BINDING_POST);
    set_string(&req->AssertionConsumerServiceURL, acs_url);
    if (req->NameIDPolicy) {
        set_string(&req->NameIDPolicy->Format, NAMEID_UNSPECIFIED);
        req->NameIDPolicy->AllowCreate = TRUE;
    }
    if (relay_state)
        set_string(&profile->msg_relayState, relay_state);
    rc = FLEXSAML_LASSO(lasso_login_build_authn_request_msg(login));
    if (rc != 0 || !profile->msg_url) {
        err = apr_psprintf(p, "cannot build the AuthnRequest: %s", lasso_strerror(rc));
        goto done;
    }
    *url = apr_pstrdup(p, profile->msg_url);
    if (sp->sign_key) {
        /* The signature covers SAMLRequest onwards, not the SSO URL's own
         * query, if it has one. */
        const char *q = strstr(*url, "?SAMLRequest="), *signed_query;
        if (!q)
            q = strstr(*url, "&SAMLRequest=");
        if (!q || !(signed_query = flexsaml_query_sign(p, q + 1, sp->sign_key))) {
            err = "cannot sign the AuthnRequest with the SP private key";
            goto done;
        }
        *url =
            apr_pstrcat(p, apr_pstrmemdup(p, *url, (apr_size_t)(q + 1 - *url)), signed_query, NULL);
    }
    *request_id = apr_pstrdup(p, LASSO_SAMLP2_REQUEST_ABSTRACT(req)->ID);
done:
    FLEXSAML_LASSO_DO(g_object_unref(login));
    return err;
}

static void fail(flexsaml_sp_result *res, flexsaml_refusal reason, const char *detail)
{
    if (!res->reason) {
        res->reason = reason;
        res->detail = detail;
    }
}

static flexsaml_refusal lasso_reason(int rc)
{
    switch (rc) {
    case LASSO_DS_ERROR_SIGNATURE_NOT_FOUND:
        return FLEXSAML_R_SIGNATURE_MISSING;
    case LASSO_SERVER_ERROR_PROVIDER_NOT_FOUND:
    case LASSO_PROFILE_ERROR_INVALID_ISSUER:
    case LASSO_PROFILE_ERROR_MISSING_ISSUER:
    case LASSO_PROFILE_ERROR_UNKNOWN_PROVIDER:
        return FLEXSAML_R_ISSUER_MISMATCH;
    case LASSO_LOGIN_ERROR_STATUS_NOT_SUCCESS:
    case LASSO_LOGIN_ERROR_REQUEST_DENIED:
    case LASSO_LOGIN_ERROR_UNKNOWN_PRINCIPAL:
    case LASSO_LOGIN_ERROR_FEDERATION_NOT_FOUND:
    case LASSO_PROFILE_ERROR_STATUS_NOT_SUCCESS:
        return FLEXSAML_R_STATUS_NOT_SUCCESS;
    case LASSO_PROFILE_ERROR_MISSING_ASSERTION:
        return FLEXSAML_R_MISSING_ASSERTION;
    case LASSO_DS_ERROR_INVALID_SIGNATURE:
    case LASSO_DS_ERROR_SIGNATURE_VERIFICATION_FAILED:
    case LASSO_DS_ERROR_INVALID_REFERENCE_FOR_SAML:
    case LASSO_DS_ERROR_TOO_MUCH_REFERENCES:
    case LASSO_PROFILE_ERROR_CANNOT_VERIFY_SIGNATURE:
        return FLEXSAML_R_SIGNATURE_INVALID;
    default:
        return FLEXSAML_R_BAD_RESPONSE;
    }
}

/* Lets Lasso verify every signature the shape check found. */
static void lasso_verify(apr_pool_t *p, const flexsaml_sp *sp, const char *b64,
                         const flexsaml_shape *shape, flexsaml_sp_result *res,
                         flexsaml_assertion_data *ad)
{
    LassoLogin *login = FLEXSAML_LASSO(lasso_login_new(sp->server));
    LassoSamlp2Response *resp;
    xmlNode *node;
    const char *shape_id;
    int rc;

    /* FORCE: the Response signature and every Assertion signature must be
     * present and valid. MAYBE with an unsigned Response: Lasso verifies the
     * assertion signature, whose presence the shape check required. */
    FLEXSAML_LASSO_DO(lasso_profile_set_signature_verify_hint(
        LASSO_PROFILE(login), shape->response_signed ? LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE
                                                     : LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE));
    rc = FLEXSAML_LASSO(lasso_login_process_authn_response_msg(login, (gchar *)b64));
    if (rc != 0 && lasso_reason(rc) == FLEXSAML_R_ISSUER_MISMATCH) {
        /* Lasso's text names neither value; the administrator needs both to
         * see which side holds the typo. */
        const char *got =
            shape->issuer
                ? shape->issuer
                : flexsaml_xml_text(p, flexsaml_xml_child(shape->assertion, SAML_NS, "Issuer"));
        fail(res, FLEXSAML_R_ISSUER_MISMATCH,
             apr_psprintf(p, "issuer \"%s\", expected \"%s\" (FlexSAMLIdPIssuer)",
                          got ? got : "(none)", sp->idp->entity_id));
        goto done;
    }
    if (rc != 0) {
        fail(res, lasso_reason(rc), apr_psprintf(p, "Lasso: %s (%d)", lasso_strerror(rc), rc));
        goto done;
    }
    resp = LASSO_IS_SAMLP2_RESPONSE(LASSO_PROFILE(login)->response)
               ? LASSO_SAMLP2_RESPONSE(LASSO_PROFILE(login)->response)
               : NULL;
    if (!resp || !resp->Assertion || resp->Assertion->next ||
        !LASSO_IS_SAML2_ASSERTION(resp->Assertion->data)) {
        fail(res, FLEXSAML_R_MISSING_ASSERTION, "Lasso found no single assertion");
        goto done;
    }
    node = FLEXSAML_LASSO(lasso_node_get_original_xmlnode(LASSO_NODE(resp->Assertion->data)));
    if (!node) {
        fail(res, FLEXSAML_R_SIGNATURE_INVALID, "the verified assertion node is not available");
        goto done;
    }
    flexsaml_assertion_read(p, node, ad);
    /* The node Lasso verified must be the one the shape check inspected. */
    shape_id = flexsaml_xml_attr(p, shape->assertion, "ID");
    if (!ad->id || !shape_id || strcmp(ad->id, shape_id) != 0)
        fail(res, FLEXSAML_R_SIGNATURE_INVALID,
             "the verified assertion is not the response's assertion");
done:
    FLEXSAML_LASSO_DO(g_object_unref(login));
}

/* An attribute other than Flex's own takes whatever expression the site
 * chose; the hint can only show its shape. */
static const char *okta_expression(apr_pool_t *p, const char *claim)
{
    const flexsaml_okta_attr *a = flexsaml_okta_attribute(claim);
    return a ? a->expression : apr_pstrcat(p, "user.", claim, NULL);
}

static const char *required_claim(apr_pool_t *p, const flexsaml_assertion_data *ad,
                                  const char *name, flexsaml_sp_result *res)
{
    const char *v = apr_table_get(ad->attributes, name);
    /* The page and the log line name the same attribute: the first missing. */
    if (res->reason)
        return v;
    if (!v || !*v) {
        fail(res, FLEXSAML_R_MISSING_CLAIM,
             apr_psprintf(p, "the assertion has no %s attribute", name));
        res->hint = apr_psprintf(p,
                                 "The sign-in response has no \"%s\" attribute. In Okta, add the "
                                 "attribute statement %s = %s to this app (SAML Settings).",
                                 name, name, okta_expression(p, name));
    }
    return v;
}

struct values_ctx {
    apr_array_header_t *values;
    int clean;
};

static int collect(void *data, const char *key, const char *value)
{
    struct values_ctx *ctx = data;
    (void)key;
    APR_ARRAY_PUSH(ctx->values, const char *) = value;
    return 1;
}

static int check_clean(void *data, const char *key, const char *value)
{
    struct values_ctx *ctx = data;
    (void)key;
    if (!flexsaml_value_is_clean(value)) {
        ctx->clean = 0;
        return 0;
    }
    return 1;
}

static int not_empty(void *data, const char *key, const char *value)
{
    (void)key;
    if (*value) {
        *(int *)data = 1;
        return 0;
    }
    return 1;
}

static int non_empty_value(apr_table_t *t, const char *name)
{
    int found = 0;
    apr_table_do(not_empty, &found, t, name, NULL);
    return found;
}

static void check_times(apr_pool_t *p, const flexsaml_sp *sp, const flexsaml_assertion_data *ad,
                        apr_time_t now, flexsaml_sp_result *res)
{
    apr_time_t skew = apr_time_from_sec(sp->pol.clock_skew);
    apr_time_t nb = ad->not_before > ad->sc_not_before ? ad->not_before : ad->sc_not_before;
    apr_time_t na = ad->not_on_or_after;

    if (ad->sc_not_on_or_after && (!na || ad->sc_not_on_or_after < na))
        na = ad->sc_not_on_or_after;
    if (ad->bad_time) {
        fail(res, FLEXSAML_R_BAD_RESPONSE,
             apr_psprintf(p, "the %s timestamp is malformed", ad->bad_time));
    } else if (!na) {
        fail(res, FLEXSAML_R_EXPIRED, "the assertion has no NotOnOrAfter");
    } else if (nb && now + skew < nb) {
        fail(res, FLEXSAML_R_NOT_YET_VALID,
             apr_psprintf(p, "NotBefore is %" APR_TIME_T_FMT " s ahead (skew %d s)",
                          apr_time_sec(nb - now), sp->pol.clock_skew));
    } else if (now - skew >= na) {
        fail(res, FLEXSAML_R_EXPIRED,
             apr_psprintf(p, "NotOnOrAfter passed %" APR_TIME_T_FMT " s ago (skew %d s)",
                          apr_time_sec(now - na), sp->pol.clock_skew));
    } else if (ad->session_not_on_or_after && now - skew >= ad->session_not_on_or_after) {
        /* The IdP session already ended: a session opened now would be dead
         * on arrival (and a replayed old assertion must not revive it). */
        fail(res, FLEXSAML_R_EXPIRED,
             apr_psprintf(p, "SessionNotOnOrAfter passed %" APR_TIME_T_FMT " s ago (skew %d s)",
                          apr_time_sec(now - ad->session_not_on_or_after), sp->pol.clock_skew));
    }
    res->assertion_expires = (na > now ? na : now) + skew;
}

static int audience_ok(const flexsaml_sp *sp, const flexsaml_assertion_data *ad)
{
    int i, j;

    if (ad->audience_restrictions->nelts == 0)
        return 0;
    /* Every AudienceRestriction must name us (SAML core 2.5.1.4). */
    for (i = 0; i < ad->audience_restrictions->nelts; i++) {
        apr_array_header_t *list =
            APR_ARRAY_IDX(ad->audience_restrictions, i, apr_array_header_t *);
        int found = 0;
        for (j = 0; j < list->nelts && !found; j++)
            found = !strcmp(APR_ARRAY_IDX(list, j, const char *), sp->pol.sp_entity_id);
        if (!found)
            return 0;
    }
    return 1;
}

/* Every audience the assertion names, quoted, for the log line. */
static const char *audiences(apr_pool_t *p, const flexsaml_assertion_data *ad)
{
    const char *out = "";
    int i, j;

    for (i = 0; i < ad->audience_restrictions->nelts; i++) {
        apr_array_header_t *list =
            APR_ARRAY_IDX(ad->audience_restrictions, i, apr_array_header_t *);
        for (j = 0; j < list->nelts; j++)
            out = apr_pstrcat(p, out, *out ? ", " : "", "\"", APR_ARRAY_IDX(list, j, const char *),
                              "\"", NULL);
    }
    return *out ? out : "(none)";
}

static void check_subject(apr_pool_t *p, const flexsaml_sp *sp, const flexsaml_shape *shape,
                          const flexsaml_assertion_data *ad, const char *acs_url,
                          flexsaml_sp_result *res)
{
    const char *issuer = sp->idp->entity_id;

    if ((shape->issuer && strcmp(shape->issuer, issuer) != 0) || !ad->issuer ||
        strcmp(ad->issuer, issuer) != 0)
        fail(res, FLEXSAML_R_ISSUER_MISMATCH,
             apr_psprintf(p, "issuer \"%s\", expected \"%s\"", ad->issuer ? ad->issuer : "",
                          issuer));
    res->destination = shape->destination;
    if (!shape->destination || strcmp(shape->destination, acs_url) != 0)
        fail(res, FLEXSAML_R_DESTINATION_MISMATCH,
             apr_psprintf(p, "Destination \"%s\", expected \"%s\"",
                          shape->destination ? shape->destination : "(none)", acs_url));
    if (!ad->bearer || !ad->recipient || strcmp(ad->recipient, acs_url) != 0)
        fail(res, FLEXSAML_R_RECIPIENT_MISMATCH,
             apr_psprintf(p, "Recipient \"%s\", expected \"%s\"",
                          ad->recipient ? ad->recipient : "(none)", acs_url));
    if (!audience_ok(sp, ad))
        fail(res, FLEXSAML_R_AUDIENCE_MISMATCH,
             apr_psprintf(p, "audience %s, expected \"%s\" (FlexSAMLSPEntityID)", audiences(p, ad),
                          sp->pol.sp_entity_id));
    if (shape->in_response_to && ad->sc_in_response_to &&
        strcmp(shape->in_response_to, ad->sc_in_response_to) != 0)
        fail(res, FLEXSAML_R_UNKNOWN_REQUEST,
             "the Response and the Assertion answer different requests");
    res->in_response_to = shape->in_response_to ? shape->in_response_to : ad->sc_in_response_to;
}

static void extract_identity(apr_pool_t *p, const flexsaml_sp *sp,
                             const flexsaml_assertion_data *ad, flexsaml_sp_result *res)
{
    struct values_ctx ctx = {NULL, 1};
    const char *roles_attr = sp->pol.roles_attribute ? sp->pol.roles_attribute : "roles";
    flexsaml_identity *id = &res->ident;
    int unknown, i;

    if (ad->largest_value > sp->pol.max_attr_bytes || ad->value_bytes > sp->pol.max_total_bytes) {
        fail(res, FLEXSAML_R_CLAIM_TOO_LARGE,
             apr_psprintf(p,
                          "attribute values of %" APR_SIZE_T_FMT " bytes (largest %" APR_SIZE_T_FMT
                          ") exceed FlexSAMLMaxAttributeBytes",
                          ad->value_bytes, ad->largest_value));
        return;
    }
    apr_table_do(check_clean, &ctx, ad->attributes, NULL);
    if (!ctx.clean || (ad->name_id && !flexsaml_value_is_clean(ad->name_id))) {
        fail(res, FLEXSAML_R_BAD_CLAIM,
             "an attribute value or the NameID holds control characters");
        return;
    }
    if (!ad->name_id || !*ad->name_id) {
        fail(res, FLEXSAML_R_MISSING_CLAIM, "the assertion has no NameID");
        return;
    }
    id->name_id = ad->name_id;
    id->full_name = apr_table_get(ad->attributes, "full_name");
    id->email = apr_table_get(ad->attributes, "email");
    /* FlexSAMLRequireClaims: the Flex three unless the site says otherwise. */
    for (i = 0; sp->pol.required_claims ? i < sp->pol.required_claims->nelts : i < 3; i++) {
        const char *name = sp->pol.required_claims
                               ? APR_ARRAY_IDX(sp->pol.required_claims, i, const char *)
                           : i == 0 ? "full_name"
                           : i == 1 ? "email"
                                    : roles_attr;
        if (res->reason)
            break;
        /* An Okta user whose User type is empty sends the attribute with an
         * empty value: the fix is on the person, not on the app. */
        if (!strcmp(name, roles_attr) && apr_table_get(ad->attributes, roles_attr) &&
            !non_empty_value(ad->attributes, roles_attr)) {
            fail(res, FLEXSAML_R_MISSING_CLAIM, apr_psprintf(p, "%s is empty", roles_attr));
            res->hint = apr_psprintf(p,
                                     "%s is empty: set this person's User type in Okta (Directory, "
                                     "People, the person, Profile, User type).",
                                     roles_attr);
            break;
        }
        required_claim(p, ad, name, res);
    }
    if (sp->pol.user_attribute && strcmp(sp->pol.user_attribute, FLEXSAML_CLAIM_NAMEID) != 0)
        required_claim(p, ad, sp->pol.user_attribute, res);
    if (res->reason)
        return;
    id->image_url = apr_table_get(ad->attributes, "image_url");
    id->attributes = ad->attributes;
    id->session_index = ad->session_index;
    ctx.values = apr_array_make(p, 4, sizeof(const char *));
    apr_table_do(collect, &ctx, ad->attributes, roles_attr, NULL);
    unknown = flexsaml_roles_parse(p, ctx.values, &sp->pol.roles, &id->roles, &res->unknown_roles);
    if (unknown && sp->pol.roles.unknown == FLEXSAML_UNKNOWN_DENY) {
        fail(res, FLEXSAML_R_NO_ROLE,
             apr_psprintf(p, "unknown role values refused by FlexSAMLUnknownRoles deny: %s",
                          flexsaml_roles_join(p, res->unknown_roles, ",")));
    } else if (sp->pol.require_flex_role && !flexsaml_roles_has_flex_role(id->roles)) {
        fail(res, FLEXSAML_R_NO_ROLE,
             apr_psprintf(p,
                          "no Flex role (agent, admin, supervisor) in roles \"%s\"; Okta sent "
                          "%s \"%s\"",
                          flexsaml_roles_join(p, id->roles, ","), roles_attr,
                          flexsaml_roles_join(p, ctx.values, ",")));
    }
}

void flexsaml_sp_process_response(apr_pool_t *p, const flexsaml_sp *sp, const char *b64,
                                  apr_size_t len, const char *acs_url, apr_time_t now,
                                  flexsaml_sp_result *res)
{
    flexsaml_shape shape;
    flexsaml_assertion_data ad;
    apr_size_t xml_len = 0;
    char *xml;

    memset(res, 0, sizeof(*res));
    xml = flexsaml_b64_decode_strict(p, b64, len, &xml_len, NULL);
    if (!xml) {
        fail(res, FLEXSAML_R_BAD_BASE64, "SAMLResponse is not valid base64");
        return;
    }
    if (xml_len > MAX_DECODED) {
        fail(res, FLEXSAML_R_BODY_TOO_LARGE, "the decoded SAMLResponse is too large");
        return;
    }
    flexsaml_shape_check(p, xml, xml_len, sp->pol.allow_sha1, &shape);
    if (shape.reason) {
        fail(res, shape.reason, shape.detail);
        return;
    }
    /* The attribute caps, before Lasso builds an object for every value. */
    if (shape.attribute_values > MAX_ATTRIBUTE_VALUES ||
        shape.largest_value > sp->pol.max_attr_bytes ||
        shape.value_bytes > sp->pol.max_total_bytes) {
        fail(res, FLEXSAML_R_CLAIM_TOO_LARGE,
             apr_psprintf(p,
                          "%d attribute values of %" APR_SIZE_T_FMT
                          " bytes (largest %" APR_SIZE_T_FMT
                          "); the limits are %d values, FlexSAMLMaxAttributeBytes %" APR_SIZE_T_FMT
                          " each and %" APR_SIZE_T_FMT " together",
                          shape.attribute_values, shape.value_bytes, shape.largest_value,
                          MAX_ATTRIBUTE_VALUES, sp->pol.max_attr_bytes, sp->pol.max_total_bytes));
        return;
    }
    if (!shape.assertion_signed) {
        fail(res, FLEXSAML_R_SIGNATURE_MISSING, "the assertion is not signed");
        return;
    }
    if (!shape.response_signed && sp->pol.require_signed_response) {
        fail(res, FLEXSAML_R_SIGNATURE_MISSING,
             "the Response is not signed and FlexSAMLRequireSignedResponse is on");
        return;
    }
    lasso_verify(p, sp, apr_pstrmemdup(p, b64, len), &shape, res, &ad);
    if (res->reason)
        return;
    res->assertion_id = ad.id;
    res->session_not_after = ad.session_not_on_or_after;
    res->ident.authn_instant = ad.authn_instant;
    res->ident.authn_context = ad.authn_context_class;
    check_subject(p, sp, &shape, &ad, acs_url, res);
    check_times(p, sp, &ad, now, res);
    if (!res->reason)
        extract_identity(p, sp, &ad, res);
    /* Past Lasso, say so: an administrator reading a refusal then knows the
     * IdP certificate and the signatures are right. */
    if (res->reason)
        res->detail = apr_pstrcat(p, "signatures verified; ", res->detail, NULL);
}
