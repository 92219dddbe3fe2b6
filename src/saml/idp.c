/*
 * The IdP, described either by its metadata or by the three fields Flex asks
 * for (certificate, SSO URL, issuer). Both end as the same normalized
 * metadata document, so Lasso sees one shape whatever the administrator gave.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_encode.h>
#include <apr_escape.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "flexsaml_sp.h"
#include "xml_reader.h"

#define MD_NS "urn:oasis:names:tc:SAML:2.0:metadata"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

static int is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* The base64 body of a PEM certificate, or the input itself when it is bare
 * base64 (as metadata carries it); whitespace removed. */
static const char *cert_body(apr_pool_t *p, const char *pem)
{
    const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
    const char *end;
    char *out, *o;

    if (begin) {
        begin += strlen("-----BEGIN CERTIFICATE-----");
        end = strstr(begin, "-----END CERTIFICATE-----");
        if (!end)
            return NULL;
    } else {
        begin = pem;
        end = pem + strlen(pem);
    }
    out = o = apr_palloc(p, (apr_size_t)(end - begin) + 1);
    for (; begin < end; begin++) {
        if (*begin == ' ' || *begin == '\t' || *begin == '\r' || *begin == '\n')
            continue;
        if (!is_b64_char(*begin))
            return NULL;
        *o++ = *begin;
    }
    *o = '\0';
    return *out ? out : NULL;
}

apr_time_t flexsaml_asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    apr_time_exp_t xt;
    apr_time_t out;

    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    memset(&xt, 0, sizeof(xt));
    xt.tm_year = tm.tm_year;
    xt.tm_mon = tm.tm_mon;
    xt.tm_mday = tm.tm_mday;
    xt.tm_hour = tm.tm_hour;
    xt.tm_min = tm.tm_min;
    xt.tm_sec = tm.tm_sec;
    if (apr_time_exp_gmt_get(&out, &xt) != APR_SUCCESS)
        return 0;
    return out;
}

const char *flexsaml_cert_parse(apr_pool_t *p, const char *pem, const char **b64,
                                apr_time_t *not_after, const char **subject)
{
    const char *body = cert_body(p, pem);
    const char *wrapped;
    BIO *bio;
    X509 *x;
    EVP_PKEY *key;
    char *name;

    if (!body)
        return "is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)";
    /* Re-wrap so OpenSSL reads bare base64 as well as PEM. */
    wrapped = apr_pstrcat(p, "-----BEGIN CERTIFICATE-----\n", body, "\n-----END CERTIFICATE-----\n",
                          NULL);
    bio = BIO_new_mem_buf(wrapped, -1);
    if (!bio)
        return "cannot be read (out of memory)";
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!x)
        return "is not a valid X.509 certificate";
    key = X509_get0_pubkey(x);
    if (!key || (EVP_PKEY_base_id(key) != EVP_PKEY_RSA && EVP_PKEY_base_id(key) != EVP_PKEY_EC)) {
        X509_free(x);
        return "does not hold an RSA or EC public key";
    }
    if (not_after)
        *not_after = flexsaml_asn1_time(X509_get0_notAfter(x));
    if (subject) {
        name = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
        *subject = apr_pstrdup(p, name ? name : "");
        OPENSSL_free(name);
    }
    X509_free(x);
    if (b64)
        *b64 = body;
    return NULL;
}

static const char *xml_escape(apr_pool_t *p, const char *s)
{
    return apr_pescape_entity(p, s, 1);
}

static int is_http_url(const char *u)
{
    return u && (strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0) &&
           !strpbrk(u, " \t\r\n\"<>");
}

static const char *bn_b64(apr_pool_t *p, const BIGNUM *bn)
{
    int len = BN_num_bytes(bn);
    unsigned char *bin;

    if (len <= 0)
        return NULL;
    bin = apr_palloc(p, (apr_size_t)len);
    BN_bn2bin(bn, bin);
    return apr_pencode_base64_binary(p, bin, len, APR_ENCODE_NONE, NULL);
}

/* The KeyInfo Lasso gets for one signing certificate. For an RSA key it is
 * the bare key (ds:KeyValue), not the certificate: xmlsec copies the key
 * data for every signature it checks, and with a certificate that copy means
 * re-decoding the whole X.509 through OpenSSL's decoders, a third of a
 * login's CPU. Nothing is lost: Lasso trusts the metadata's key, never the
 * certificate's chain or dates (the expiry is ours to warn about). EC keys
 * keep the certificate form, which xmlsec reads as is. */
static const char *key_info(apr_pool_t *p, const char *b64)
{
    const char *x509 = apr_pstrcat(p, "<ds:X509Data><ds:X509Certificate>", b64,
                                   "</ds:X509Certificate></ds:X509Data>", NULL);
    apr_size_t der_len;
    const unsigned char *der;
    const char *out = x509;
    BIGNUM *n = NULL, *e = NULL;
    X509 *x;
    EVP_PKEY *key;

    der = (const unsigned char *)apr_pdecode_base64_binary(p, b64, APR_ENCODE_STRING,
                                                           APR_ENCODE_NONE, &der_len);
    if (!der || !(x = d2i_X509(NULL, &der, (long)der_len)))
        return x509;
    key = X509_get0_pubkey(x);
    if (key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) &&
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e)) {
        const char *mod = bn_b64(p, n), *exp = bn_b64(p, e);
        if (mod && exp)
            out = apr_pstrcat(p, "<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>", mod,
                              "</ds:Modulus><ds:Exponent>", exp,
                              "</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>", NULL);
    }
    BN_free(n);
    BN_free(e);
    X509_free(x);
    return out;
}

/* Builds the normalized metadata from the parts every source yields. */
static const char *idp_finish(apr_pool_t *p, flexsaml_idp *idp)
{
    const char *keys = "";
    const char *slo = "";
    int i;

    if (!idp->entity_id || !*idp->entity_id)
        return "names no IdP issuer (entityID)";
    if (strpbrk(idp->entity_id, "\r\n\t"))
        return "has an IdP issuer with control characters";
    if (!is_http_url(idp->sso_url))
        return "has no http(s) single sign-on URL";
    if (idp->certs_b64->nelts == 0)
        return "has no signing certificate";
    for (i = 0; i < idp->certs_b64->nelts; i++) {
        keys = apr_pstrcat(p, keys, "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo>",
                           key_info(p, APR_ARRAY_IDX(idp->certs_b64, i, const char *)),
                           "</ds:KeyInfo></md:KeyDescriptor>", NULL);
    }
    if (idp->slo_url)
        slo = apr_pstrcat(p, "<md:SingleLogoutService Binding=\"" BINDING_REDIRECT "\" Location=\"",
                          xml_escape(p, idp->slo_url), "\"/>", NULL);
    idp->metadata = apr_pstrcat(
        p,
        "<?xml version=\"1.0\"?>\n"
        "<md:EntityDescriptor xmlns:md=\"" MD_NS "\" xmlns:ds=\"" DS_NS "\" entityID=\"",
        xml_escape(p, idp->entity_id),
        "\"><md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" "
        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
        keys, slo,
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>"
        "<md:SingleSignOnService Binding=\"" BINDING_REDIRECT "\" Location=\"",
        xml_escape(p, idp->sso_url), "\"/></md:IDPSSODescriptor></md:EntityDescriptor>\n", NULL);
    return NULL;
}

static const char *idp_add_cert(apr_pool_t *p, flexsaml_idp *idp, const char *pem)
{
    const char *b64, *subject, *err;
    apr_time_t not_after;

    err = flexsaml_cert_parse(p, pem, &b64, &not_after, &subject);
    if (err)
        return err;
    APR_ARRAY_PUSH(idp->certs_b64, const char *) = b64;
    if (!idp->cert_subject)
        idp->cert_subject = subject;
    if (not_after && (!idp->cert_not_after || not_after < idp->cert_not_after))
        idp->cert_not_after = not_after;
    return NULL;
}

static flexsaml_idp *idp_new(apr_pool_t *p)
{
    flexsaml_idp *idp = apr_pcalloc(p, sizeof(*idp));
    idp->certs_b64 = apr_array_make(p, 2, sizeof(const char *));
    return idp;
}

const char *flexsaml_idp_from_fields(apr_pool_t *p, const char *cert_pem, const char *sso_url,
                                     const char *issuer, flexsaml_idp **out)
{
    flexsaml_idp *idp = idp_new(p);
    const char *err;

    const char *begin = strstr(cert_pem, PEM_BEGIN), *end;

    /* A file with two certificates is an Okta rotation: both sign, so both
     * are trusted (Lasso tries each KeyDescriptor). */
    for (; begin; begin = strstr(end, PEM_BEGIN)) {
        if (!(end = strstr(begin, PEM_END)))
            return "the IdP certificate has a -----BEGIN CERTIFICATE----- line but no "
                   "-----END CERTIFICATE----- line after it: the copy was cut short; paste the "
                   "whole certificate from Okta";
        end += strlen(PEM_END);
        if ((err = idp_add_cert(p, idp, apr_pstrmemdup(p, begin, (apr_size_t)(end - begin)))))
            return apr_psprintf(p, "the IdP certificate number %d %s", idp->certs_b64->nelts + 1,
                                err);
    }
    if (idp->certs_b64->nelts == 0 && (err = idp_add_cert(p, idp, cert_pem)) != NULL)
        return apr_pstrcat(p, "the IdP certificate ", err, NULL);
    idp->entity_id = issuer;
    idp->sso_url = sso_url;
    if ((err = idp_finish(p, idp)) != NULL)
        return apr_pstrcat(p, "the IdP settings: ", err, NULL);
    *out = idp;
    return NULL;
}

static int is_md(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && !strcmp((const char *)n->ns->href, MD_NS) &&
           !strcmp((const char *)n->name, name);
}

static const char *prop(apr_pool_t *p, xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    const char *out = v ? apr_pstrdup(p, (const char *)v) : NULL;
    xmlFree(v);
    return out;
}

/* Depth-first search for the first element with the given namespace/name. */
static xmlNode *find_elem(xmlNode *n, const char *ns, const char *name)
{
    xmlNode *hit;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns && !strcmp((const char *)n->ns->href, ns) && !strcmp((const char *)n->name, name))
            return n;
        if ((hit = find_elem(n->children, ns, name)) != NULL)
            return hit;
    }
    return NULL;
}

static const char *idp_from_descriptor(apr_pool_t *p, xmlNode *ed, flexsaml_idp *idp)
{
    xmlNode *sso = NULL, *c, *kd;
    const char *err;

    idp->entity_id = prop(p, ed, "entityID");
    for (c = ed->children; c && !sso; c = c->next)
        if (is_md(c, "IDPSSODescriptor"))
            sso = c;
    if (!sso)
        return "has no IDPSSODescriptor";
    for (c = sso->children; c; c = c->next) {
        const char *binding;
        if (is_md(c, "KeyDescriptor")) {
            const char *use = prop(p, c, "use");
            xmlNode *x509;
            xmlChar *text;
            if (use && strcmp(use, "signing") != 0)
                continue;
            kd = c->children;
            x509 = find_elem(kd, DS_NS, "X509Certificate");
            if (!x509)
                continue;
            text = xmlNodeGetContent(x509);
            err = idp_add_cert(p, idp, text ? (const char *)text : "");
            xmlFree(text);
            if (err)
                return apr_pstrcat(p, "has a signing certificate that ", err, NULL);
        } else if (is_md(c, "SingleSignOnService")) {
            binding = prop(p, c, "Binding");
            if (binding && !strcmp(binding, BINDING_REDIRECT))
                idp->sso_url = prop(p, c, "Location");
            else if (binding && !strcmp(binding, BINDING_POST) && !idp->sso_url)
                idp->sso_url = prop(p, c, "Location");
        } else if (is_md(c, "SingleLogoutService")) {
            binding = prop(p, c, "Binding");
            if (binding && !strcmp(binding, BINDING_REDIRECT))
                idp->slo_url = prop(p, c, "Location");
        }
    }
    return NULL;
}

const char *flexsaml_idp_from_metadata(apr_pool_t *p, const char *xml, apr_size_t len,
                                       flexsaml_idp **out)
{
    flexsaml_idp *idp = idp_new(p);
    xmlDoc *doc;
    xmlNode *root, *ed = NULL, *c;
    const char *err;

    if (len > 4 * 1024 * 1024)
        return "the IdP metadata is larger than 4 MiB";
    if ((err = flexsaml_xml_parse(p, xml, len, &doc)) != NULL)
        return apr_pstrcat(p, "the IdP metadata: ", err, NULL);
    root = xmlDocGetRootElement(doc);
    if (is_md(root, "EntityDescriptor")) {
        ed = root;
    } else if (is_md(root, "EntitiesDescriptor")) {
        for (c = root->children; c && !ed; c = c->next)
            if (is_md(c, "EntityDescriptor"))
                ed = c;
    }
    if (!ed)
        return "the IdP metadata has no md:EntityDescriptor";
    err = idp_from_descriptor(p, ed, idp);
    if (!err)
        err = idp_finish(p, idp);
    if (err)
        return apr_pstrcat(p, "the IdP metadata ", err, NULL);
    *out = idp;
    return NULL;
}
