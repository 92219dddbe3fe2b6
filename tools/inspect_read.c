/*
 * flexsaml inspect, reading: from whatever was pasted (base64 as the browser's
 * developer tools show it, the URL-encoded form body, the XML itself, or an
 * assertion alone as Okta's preview shows it) to the parsed document.
 *
 * Parsing is the core's (flexsaml_shape_check): no DTD, no entity, no
 * network, bounded depth; the tool never parses a pasted byte any other way.
 */
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "base64.h"
#include "inspect.h"

/* As sp.c: larger than this decoded is refused before anything is parsed. */
#define MAX_DECODED (192 * 1024)

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The form body ("SAMLResponse=...&RelayState=...") or its value alone,
 * URL-encoded or not, to the base64 text the module would receive. */
static char *form_value(apr_pool_t *p, const char *s, apr_size_t len)
{
    const char *end = s + len;
    const char *amp;
    char *out, *o;
    int urlencoded;

    if (len > 13 && !strncmp(s, "SAMLResponse=", 13))
        s += 13;
    amp = memchr(s, '&', (apr_size_t)(end - s));
    if (amp)
        end = amp;
    /* Base64 has '+', '/' and '=' but never '%': a '%2B', '%2F' or '%3D'
     * says the text is still URL-encoded, where '+' means a space. */
    urlencoded = 0;
    for (const char *c = s; c + 2 < end; c++)
        if (c[0] == '%' && c[1] == '2' && (apr_toupper(c[2]) == 'B' || apr_toupper(c[2]) == 'F'))
            urlencoded = 1;
        else if (c[0] == '%' && c[1] == '3' && apr_toupper(c[2]) == 'D')
            urlencoded = 1;
    out = o = apr_palloc(p, (apr_size_t)(end - s) + 1);
    for (; s < end; s++) {
        if (*s == '%' && end - s >= 3 && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else if (*s == '+' && urlencoded) {
            *o++ = ' ';
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* Strict base64 as the ACS decodes it (base64.c), with a reason a person
 * can act on. */
static char *decode_b64(apr_pool_t *p, const char *in, apr_size_t *out_len, const char **why)
{
    flexsaml_b64_error err;
    char *out = flexsaml_b64_decode_strict(p, in, strlen(in), out_len, &err);

    switch (err.status) {
    case FLEXSAML_B64_OK:
        break;
    case FLEXSAML_B64_BAD_CHAR:
        *why = apr_psprintf(
            p, "the character %s at offset %" APR_SIZE_T_FMT " is not base64 (nor is the text XML)",
            err.after_pad ? "after the '=' padding"
                          : tool_safe(p, apr_psprintf(p, "'%c'", err.bad), 20),
            err.offset);
        break;
    case FLEXSAML_B64_EMPTY:
        *why = "the input is empty";
        break;
    case FLEXSAML_B64_LENGTH:
        *why = apr_psprintf(p,
                            "the base64 text has %" APR_SIZE_T_FMT
                            " characters, not a multiple of 4 (was it cut short when copied?)",
                            err.chars);
        break;
    }
    return out;
}

static const char *skip_space(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    return s;
}

/* The local name of the document element, found lexically (through the XML
 * declaration and comments), or NULL; also where the document proper
 * starts (after the XML declaration). */
static const char *root_local_name(apr_pool_t *p, const char *s, apr_size_t len, apr_size_t *body)
{
    const char *end = s + len, *c = s, *name, *e, *colon;

    *body = 0;
    if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        c += 3;
    c = skip_space(c, end);
    if (end - c > 5 && !memcmp(c, "<?xml", 5)) {
        const char *q = c;
        while (q + 1 < end && !(q[0] == '?' && q[1] == '>'))
            q++;
        if (q + 1 >= end)
            return NULL;
        c = q + 2;
        *body = (apr_size_t)(c - s);
    }
    for (;;) {
        c = skip_space(c, end);
        if (end - c > 4 && !memcmp(c, "<!--", 4)) {
            const char *q = c + 4;
            while (q + 2 < end && memcmp(q, "-->", 3) != 0)
                q++;
            if (q + 2 >= end)
                return NULL;
            c = q + 3;
            continue;
        }
        break;
    }
    if (c >= end || *c != '<')
        return NULL;
    name = c + 1;
    for (e = name; e < end && (apr_isalnum(*e) || *e == ':' || *e == '_' || *e == '-' || *e == '.');
         e++)
        ;
    colon = memchr(name, ':', (apr_size_t)(e - name));
    if (colon)
        name = colon + 1;
    return apr_pstrmemdup(p, name, (apr_size_t)(e - name));
}

static void read_sig(inspection *in, xmlNode *parent, inspect_sig *sig)
{
    apr_pool_t *p = in->t->p;
    xmlNode *si, *c, *ref = NULL, *ki;

    memset(sig, 0, sizeof(*sig));
    sig->verified = -1;
    sig->node = flexsaml_xml_child(parent, DSIG_NS, "Signature");
    if (!sig->node)
        return;
    si = flexsaml_xml_child(sig->node, DSIG_NS, "SignedInfo");
    sig->sig_alg =
        flexsaml_xml_attr(p, flexsaml_xml_child(si, DSIG_NS, "SignatureMethod"), "Algorithm");
    for (c = si ? si->children : NULL; c; c = c->next)
        if (flexsaml_xml_is(c, DSIG_NS, "Reference")) {
            sig->references++;
            if (!ref)
                ref = c;
        }
    sig->dig_alg =
        flexsaml_xml_attr(p, flexsaml_xml_child(ref, DSIG_NS, "DigestMethod"), "Algorithm");
    ki = flexsaml_xml_child(sig->node, DSIG_NS, "KeyInfo");
    ki =
        flexsaml_xml_child(flexsaml_xml_child(ki, DSIG_NS, "X509Data"), DSIG_NS, "X509Certificate");
    if (ki)
        sig->keyinfo_b64 = tool_b64_body(p, flexsaml_xml_text(p, ki));
}

static int count_sigs(xmlNode *n, int depth)
{
    int count = 0;
    /* The shape check bounds the depth of what it accepts; this walk may
     * see a deeper document it refused, so it stops on its own. */
    if (depth > 64)
        return 0;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (flexsaml_xml_is(n, DSIG_NS, "Signature"))
            count++;
        count += count_sigs(n->children, depth + 1);
    }
    return count;
}

static void read_attributes(inspection *in)
{
    apr_pool_t *p = in->t->p;
    xmlNode *st, *a, *v;

    in->attrs = apr_array_make(p, 6, sizeof(inspect_attr));
    for (st = in->assertion->children; st; st = st->next) {
        if (!flexsaml_xml_is(st, SAML_NS, "AttributeStatement"))
            continue;
        for (a = st->children; a; a = a->next) {
            inspect_attr *at;
            if (!flexsaml_xml_is(a, SAML_NS, "Attribute"))
                continue;
            at = apr_array_push(in->attrs);
            at->name = flexsaml_xml_attr(p, a, "Name");
            at->format = flexsaml_xml_attr(p, a, "NameFormat");
            at->values = apr_array_make(p, 2, sizeof(const char *));
            for (v = a->children; v; v = v->next)
                if (flexsaml_xml_is(v, SAML_NS, "AttributeValue"))
                    APR_ARRAY_PUSH(at->values, const char *) = flexsaml_xml_text(p, v);
        }
    }
}

static void read_document(inspection *in)
{
    apr_pool_t *p = in->t->p;
    xmlNode *c, *code, *status, *subject, *sc;

    in->response = in->shape.response;
    in->response_id = flexsaml_xml_attr(p, in->response, "ID");
    in->issue_instant = flexsaml_xml_attr(p, in->response, "IssueInstant");
    in->destination = flexsaml_xml_attr(p, in->response, "Destination");
    in->in_response_to = flexsaml_xml_attr(p, in->response, "InResponseTo");
    in->issuer = flexsaml_xml_text(p, flexsaml_xml_child(in->response, SAML_NS, "Issuer"));
    in->status_codes = apr_array_make(p, 2, sizeof(const char *));
    status = flexsaml_xml_child(in->response, SAMLP_NS, "Status");
    for (code = flexsaml_xml_child(status, SAMLP_NS, "StatusCode");
         code && in->status_codes->nelts < 4;
         code = flexsaml_xml_child(code, SAMLP_NS, "StatusCode"))
        APR_ARRAY_PUSH(in->status_codes, const char *) = flexsaml_xml_attr(p, code, "Value");
    in->status_message =
        flexsaml_xml_text(p, flexsaml_xml_child(status, SAMLP_NS, "StatusMessage"));
    for (c = in->response->children; c; c = c->next) {
        if (flexsaml_xml_is(c, SAML_NS, "Assertion")) {
            in->assertions++;
            if (!in->assertion)
                in->assertion = c;
        } else if (flexsaml_xml_is(c, SAML_NS, "EncryptedAssertion")) {
            in->encrypted_assertions++;
        }
    }
    read_sig(in, in->response, &in->rsig);
    in->other_sigs = count_sigs(in->response, 0) - (in->rsig.node != NULL);
    if (!in->assertion) {
        memset(&in->asig, 0, sizeof(in->asig));
        in->asig.verified = -1;
        return;
    }
    read_sig(in, in->assertion, &in->asig);
    in->other_sigs -= in->asig.node != NULL;
    flexsaml_assertion_read(p, in->assertion, &in->ad);
    subject = flexsaml_xml_child(in->assertion, SAML_NS, "Subject");
    in->name_id_format =
        flexsaml_xml_attr(p, flexsaml_xml_child(subject, SAML_NS, "NameID"), "Format");
    c = flexsaml_xml_child(in->assertion, SAML_NS, "Conditions");
    in->cond_not_before = flexsaml_xml_attr(p, c, "NotBefore");
    in->cond_not_on_or_after = flexsaml_xml_attr(p, c, "NotOnOrAfter");
    for (sc = subject ? subject->children : NULL; sc; sc = sc->next)
        if (flexsaml_xml_is(sc, SAML_NS, "SubjectConfirmation")) {
            in->sc_not_on_or_after = flexsaml_xml_attr(
                p, flexsaml_xml_child(sc, SAML_NS, "SubjectConfirmationData"), "NotOnOrAfter");
            break;
        }
    read_attributes(in);
}

const char *inspect_read(inspection *in, const char *raw, apr_size_t len)
{
    apr_pool_t *p = in->t->p;
    const char *s = raw, *end = raw + len, *why = NULL, *root;
    apr_size_t body;

    if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        s += 3;
    s = skip_space(s, end);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (s < end && *s == '<') {
        in->kind = "XML";
        in->xml = apr_pstrmemdup(p, s, (apr_size_t)(end - s));
        in->xml_len = (apr_size_t)(end - s);
    } else {
        char *b64 = form_value(p, s, (apr_size_t)(end - s));
        apr_size_t n = 0;
        char *xml = decode_b64(p, b64, &n, &why);
        in->kind = "base64";
        if (!xml) {
            in->kind = "text that is neither XML nor base64";
            inspect_add(in, SEV_REFUSED, "bad_base64", "%s.", why);
            return why;
        }
        in->b64 = b64;
        in->xml = xml;
        in->xml_len = n;
        s = skip_space(xml, xml + n);
        if (n >= 3 && !memcmp(xml, "\xEF\xBB\xBF", 3))
            s = skip_space(xml + 3, xml + n);
        if (s == xml + n || *s != '<') {
            inspect_add(in, SEV_REFUSED, "bad_xml",
                        "the base64 text decodes to %" APR_SIZE_T_FMT
                        " bytes that are not XML (a SAMLResponse of the HTTP-POST binding is "
                        "the plain base64 of the XML).",
                        n);
            return "not XML";
        }
    }
    if (in->xml_len > MAX_DECODED) {
        inspect_add(in, SEV_REFUSED, "body_too_large",
                    "the response is %" APR_SIZE_T_FMT " bytes of XML; the module refuses more "
                    "than %d before parsing it.",
                    in->xml_len, MAX_DECODED);
        return "too large";
    }
    /* An assertion alone (Okta's "Preview the SAML Assertion") is read
     * inside a minimal Response so that the core's shape check, the one
     * parser the tool uses, applies to it unchanged. */
    root = root_local_name(p, in->xml, in->xml_len, &body);
    if (root && !strcmp(root, "Assertion")) {
        in->assertion_only = 1;
        in->xml = apr_pstrcat(
            p,
            "<samlp:Response xmlns:samlp=\"" SAMLP_NS "\" ID=\"_flexsaml_inspect\" "
            "Version=\"2.0\"><samlp:Status><samlp:StatusCode "
            "Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>",
            apr_pstrmemdup(p, in->xml + body, in->xml_len - body), "</samlp:Response>", NULL);
        in->xml_len = strlen(in->xml);
    }
    if (!in->b64) {
        apr_size_t n = (apr_size_t)apr_base64_encode_len((int)in->xml_len);
        char *b = apr_palloc(p, n);
        apr_base64_encode(b, in->xml, (int)in->xml_len);
        in->b64 = b;
    }
    in->kind = apr_pstrcat(p, in->kind, in->assertion_only ? " assertion" : " SAMLResponse", NULL);
    flexsaml_shape_check(p, in->xml, in->xml_len, 1, &in->shape);
    if (!in->shape.response) {
        inspect_add(
            in, SEV_REFUSED, in->shape.reason ? flexsaml_refusal_code(in->shape.reason) : "bad_xml",
            "%s.",
            tool_safe(p, in->shape.detail ? in->shape.detail : "the XML cannot be read", 300));
        return "unreadable";
    }
    in->readable = 1;
    read_document(in);
    return NULL;
}
