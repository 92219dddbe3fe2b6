/*
 * The shape of a SAML response, checked before Lasso parses it. Signature
 * wrapping, XXE, entity expansion and algorithm downgrades all need a
 * document that strays from the one shape Okta sends; refusing every other
 * shape here means Lasso only ever verifies, and the SP only ever reads, the
 * single assertion the IdP signed.
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_escape.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "saml_xml.h"

#define MAX_ELEMENTS 20000
/* Okta's deepest element (ds:Transform/ec:InclusiveNamespaces) is at depth
 * 8; libxml2 alone would allow 256, and Lasso recurses on every level. */
#define MAX_DEPTH 32

#define ALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define ALG_RSA_SHA384 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
#define ALG_RSA_SHA512 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
#define ALG_ECDSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
#define ALG_RSA_SHA1 "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define DIG_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"
#define DIG_SHA384 "http://www.w3.org/2001/04/xmldsig-more#sha384"
#define DIG_SHA512 "http://www.w3.org/2001/04/xmlenc#sha512"
#define DIG_SHA1 "http://www.w3.org/2000/09/xmldsig#sha1"
#define C14N_EXC "http://www.w3.org/2001/10/xml-exc-c14n#"
#define C14N_INC "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define TR_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"

typedef struct {
    apr_pool_t *p;
    apr_hash_t *ids;
    int elements;
    int attribute_values;
    apr_size_t value_bytes;
    apr_size_t largest_value;
    int assertions;
    int encrypted;
    apr_array_header_t *signatures; /* xmlNode * */
    flexsaml_refusal reason;
    const char *detail;
} walk_state;

static void refuse(walk_state *st, flexsaml_refusal reason, const char *detail)
{
    if (!st->reason) {
        st->reason = reason;
        st->detail = detail;
    }
}

static apr_size_t text_length(xmlNode *n)
{
    apr_size_t len = 0;
    for (n = n->children; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
            len += n->content ? strlen((const char *)n->content) : 0;
        else if (n->type == XML_ELEMENT_NODE)
            len += text_length(n);
    }
    return len;
}

static void walk(walk_state *st, xmlNode *n, int depth)
{
    xmlAttr *a;

    if (depth > MAX_DEPTH) {
        refuse(st, FLEXSAML_R_BAD_XML, "the response is nested too deeply");
        return;
    }
    for (; n && !st->reason; n = n->next) {
        switch (n->type) {
        case XML_ELEMENT_NODE:
            break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
        case XML_COMMENT_NODE:
            continue;
        case XML_PI_NODE:
            refuse(st, FLEXSAML_R_BAD_XML, "the response contains a processing instruction");
            return;
        default:
            refuse(st, FLEXSAML_R_BAD_XML, "the response contains DTD or entity nodes");
            return;
        }
        if (++st->elements > MAX_ELEMENTS) {
            refuse(st, FLEXSAML_R_BAD_XML, "the response has too many elements");
            return;
        }
        /* Every SAML, XML-DSig and Okta element has a namespace; Lasso
         * before the 2025 fixes crashed on some elements without one
         * (CVE-2025-46404), so none reaches it. */
        if (!n->ns || !n->ns->href || !*n->ns->href) {
            refuse(st, FLEXSAML_R_BAD_XML,
                   apr_psprintf(st->p, "the element <%s> has no namespace",
                                apr_pescape_entity(st->p, (const char *)n->name, 0)));
            return;
        }
        if (flexsaml_xml_is(n, SAML_NS, "AttributeValue")) {
            apr_size_t len = text_length(n);
            st->attribute_values++;
            st->value_bytes += len;
            if (len > st->largest_value)
                st->largest_value = len;
        }
        if (flexsaml_xml_is(n, SAML_NS, "Assertion"))
            st->assertions++;
        else if (flexsaml_xml_is(n, SAML_NS, "EncryptedAssertion"))
            st->encrypted++;
        else if (flexsaml_xml_is(n, DSIG_NS, "Signature"))
            APR_ARRAY_PUSH(st->signatures, xmlNode *) = n;
        for (a = n->properties; a; a = a->next) {
            xmlChar *v;
            if (strcmp((const char *)a->name, "ID") != 0)
                continue;
            v = xmlNodeGetContent((xmlNode *)a);
            if (v) {
                const char *id = apr_pstrdup(st->p, (const char *)v);
                xmlFree(v);
                if (apr_hash_get(st->ids, id, APR_HASH_KEY_STRING)) {
                    refuse(st, FLEXSAML_R_SIGNATURE_INVALID,
                           apr_psprintf(st->p, "the ID \"%s\" appears twice",
                                        apr_pescape_entity(st->p, id, 0)));
                    return;
                }
                apr_hash_set(st->ids, id, APR_HASH_KEY_STRING, id);
            }
        }
        walk(st, n->children, depth + 1);
    }
}

static int alg_in(const char *alg, const char *const *list)
{
    for (; alg && *list; list++)
        if (!strcmp(alg, *list))
            return 1;
    return 0;
}

/* One signature: allowed algorithms, exactly one reference, to its parent. */
/* NULL when the signature's form is acceptable; otherwise why, with *why set
 * to algorithm_refused or signature_invalid. */
static const char *check_signature(apr_pool_t *p, xmlNode *sig, int allow_sha1,
                                   flexsaml_refusal *why)
{
    static const char *const sig_algs[] = {ALG_RSA_SHA256, ALG_RSA_SHA384, ALG_RSA_SHA512,
                                           ALG_ECDSA_SHA256, NULL};
    static const char *const sig_algs_sha1[] = {ALG_RSA_SHA1, NULL};
    static const char *const dig_algs[] = {DIG_SHA256, DIG_SHA384, DIG_SHA512, NULL};
    static const char *const dig_algs_sha1[] = {DIG_SHA1, NULL};
    static const char *const c14n_algs[] = {C14N_EXC, C14N_INC, NULL};
    static const char *const transforms[] = {TR_ENVELOPED, C14N_EXC, C14N_INC, NULL};
    xmlNode *si = flexsaml_xml_child(sig, DSIG_NS, "SignedInfo");
    xmlNode *c, *ref = NULL, *t;
    const char *alg, *uri, *parent_id;
    int refs = 0;

    *why = FLEXSAML_R_ALGORITHM_REFUSED;

    if (!si) {
        *why = FLEXSAML_R_SIGNATURE_INVALID;
        return "a signature has no SignedInfo";
    }
    alg = flexsaml_xml_attr(p, flexsaml_xml_child(si, DSIG_NS, "CanonicalizationMethod"),
                            "Algorithm");
    if (!alg_in(alg, c14n_algs))
        return apr_psprintf(p, "canonicalization %s is not allowed", alg ? alg : "(none)");
    alg = flexsaml_xml_attr(p, flexsaml_xml_child(si, DSIG_NS, "SignatureMethod"), "Algorithm");
    if (!alg_in(alg, sig_algs) && !(allow_sha1 && alg_in(alg, sig_algs_sha1)))
        return apr_psprintf(p, "signature algorithm %s is not allowed", alg ? alg : "(none)");
    for (c = si->children; c; c = c->next) {
        if (flexsaml_xml_is(c, DSIG_NS, "Reference")) {
            ref = c;
            refs++;
        }
    }
    *why = FLEXSAML_R_SIGNATURE_INVALID;
    if (refs != 1)
        return apr_psprintf(p, "a signature has %d references, 1 is required", refs);
    *why = FLEXSAML_R_ALGORITHM_REFUSED;
    alg = flexsaml_xml_attr(p, flexsaml_xml_child(ref, DSIG_NS, "DigestMethod"), "Algorithm");
    if (!alg_in(alg, dig_algs) && !(allow_sha1 && alg_in(alg, dig_algs_sha1)))
        return apr_psprintf(p, "digest algorithm %s is not allowed", alg ? alg : "(none)");
    t = flexsaml_xml_child(ref, DSIG_NS, "Transforms");
    for (t = t ? t->children : NULL; t; t = t->next) {
        if (t->type != XML_ELEMENT_NODE)
            continue;
        alg = flexsaml_xml_attr(p, t, "Algorithm");
        if (!flexsaml_xml_is(t, DSIG_NS, "Transform") || !alg_in(alg, transforms))
            return apr_psprintf(p, "transform %s is not allowed", alg ? alg : "(none)");
    }
    *why = FLEXSAML_R_SIGNATURE_INVALID;
    uri = flexsaml_xml_attr(p, ref, "URI");
    parent_id = flexsaml_xml_attr(p, sig->parent, "ID");
    if (!uri || !parent_id || uri[0] != '#' || strcmp(uri + 1, parent_id) != 0)
        return "a signature does not reference the element that contains it";
    return NULL;
}

static void check_signatures(apr_pool_t *p, walk_state *st, flexsaml_shape *out, int allow_sha1)
{
    int i;

    for (i = 0; i < st->signatures->nelts && !st->reason; i++) {
        xmlNode *sig = APR_ARRAY_IDX(st->signatures, i, xmlNode *);
        const char *err;
        flexsaml_refusal why;
        int *flag;

        if (sig->parent == out->response)
            flag = &out->response_signed;
        else if (sig->parent == out->assertion)
            flag = &out->assertion_signed;
        else {
            refuse(st, FLEXSAML_R_SIGNATURE_INVALID,
                   "a signature stands outside the Response and Assertion");
            return;
        }
        if (*flag) {
            refuse(st, FLEXSAML_R_SIGNATURE_INVALID, "an element carries two signatures");
            return;
        }
        *flag = 1;
        if ((err = check_signature(p, sig, allow_sha1, &why)) != NULL)
            refuse(st, why, err);
    }
}

/* Elements the schema allows once: a second one would be read by nobody, or
 * by some reader and not by another. */
static const char *const resp_once[] = {SAML_NS,  "Issuer",     SAMLP_NS, "Status",
                                        SAMLP_NS, "Extensions", NULL};
static const char *const assertion_once[] = {SAML_NS,      "Issuer", SAML_NS,  "Subject", SAML_NS,
                                             "Conditions", SAML_NS,  "Advice", NULL};

static const char *repeated_child(apr_pool_t *p, xmlNode *parent, const char *const *names)
{
    for (; *names; names += 2) {
        int n = 0;
        for (xmlNode *c = parent->children; c; c = c->next)
            n += flexsaml_xml_is(c, names[0], names[1]);
        if (n > 1)
            return apr_psprintf(p, "<%s> holds %d <%s> elements, 1 is allowed",
                                (const char *)parent->name, n, names[1]);
    }
    return NULL;
}

void flexsaml_shape_check(apr_pool_t *p, const char *xml, apr_size_t len, int allow_sha1,
                          flexsaml_shape *out)
{
    walk_state st;
    xmlNode *c, *status_code;

    memset(out, 0, sizeof(*out));
    memset(&st, 0, sizeof(st));
    st.p = p;
    st.ids = apr_hash_make(p);
    st.signatures = apr_array_make(p, 2, sizeof(xmlNode *));

    if (len > 0x7fffffff || memchr(xml, '\0', len)) {
        out->reason = FLEXSAML_R_BAD_XML;
        out->detail = "the response contains NUL bytes";
        return;
    }
    /* Without XML_PARSE_NOENT entities stay references (refused below);
     * without XML_PARSE_DTDLOAD and with NONET nothing is fetched; without
     * XML_PARSE_HUGE libxml2 caps nesting depth and text sizes. On top of
     * that the SAX hooks stop the parser at the first DOCTYPE, entity
     * declaration or processing instruction, before libxml2 reads any of it. */
    if ((out->detail = flexsaml_xml_parse(p, xml, len, &out->doc)) != NULL) {
        out->reason = FLEXSAML_R_BAD_XML;
        return;
    }
    if (out->doc->intSubset || out->doc->extSubset) {
        out->reason = FLEXSAML_R_BAD_XML;
        out->detail = "the response has a DOCTYPE";
        return;
    }
    for (c = out->doc->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE && c->type != XML_COMMENT_NODE) {
            out->reason = FLEXSAML_R_BAD_XML;
            out->detail = "the response has a processing instruction or DTD at top level";
            return;
        }
    }
    out->response = xmlDocGetRootElement(out->doc);
    if (!flexsaml_xml_is(out->response, SAMLP_NS, "Response")) {
        out->reason = FLEXSAML_R_BAD_XML;
        out->detail = "the document is not a samlp:Response";
        return;
    }
    walk(&st, out->response, 1);
    out->attribute_values = st.attribute_values;
    out->value_bytes = st.value_bytes;
    out->largest_value = st.largest_value;
    if (st.reason) {
        out->reason = st.reason;
        out->detail = st.detail;
        return;
    }
    out->destination = flexsaml_xml_attr(p, out->response, "Destination");
    out->in_response_to = flexsaml_xml_attr(p, out->response, "InResponseTo");
    out->issuer = flexsaml_xml_text(p, flexsaml_xml_child(out->response, SAML_NS, "Issuer"));
    status_code = flexsaml_xml_child(flexsaml_xml_child(out->response, SAMLP_NS, "Status"),
                                     SAMLP_NS, "StatusCode");
    out->status = flexsaml_xml_attr(p, status_code, "Value");
    if (!out->status || strcmp(out->status, STATUS_SUCCESS) != 0) {
        out->reason = FLEXSAML_R_STATUS_NOT_SUCCESS;
        out->detail = apr_psprintf(p, "the IdP answered with status %s",
                                   out->status ? out->status : "(none)");
        return;
    }
    if (st.encrypted) {
        out->reason = FLEXSAML_R_ENCRYPTED_ASSERTION;
        out->detail = "the response carries an EncryptedAssertion";
        return;
    }
    if (st.assertions != 1) {
        out->reason = st.assertions ? FLEXSAML_R_MULTIPLE_ASSERTIONS : FLEXSAML_R_MISSING_ASSERTION;
        out->detail =
            apr_psprintf(p, "the response holds %d assertions, 1 is required", st.assertions);
        return;
    }
    out->assertion = flexsaml_xml_child(out->response, SAML_NS, "Assertion");
    if (!out->assertion) {
        out->reason = FLEXSAML_R_MISSING_ASSERTION;
        out->detail = "the assertion is not a direct child of the Response";
        return;
    }
    if ((out->detail = repeated_child(p, out->response, resp_once)) != NULL ||
        (out->detail = repeated_child(p, out->assertion, assertion_once)) != NULL) {
        out->reason = FLEXSAML_R_BAD_XML;
        return;
    }
    check_signatures(p, &st, out, allow_sha1);
    if (st.reason) {
        out->reason = st.reason;
        out->detail = st.detail;
    }
}
