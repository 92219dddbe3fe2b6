/*
 * Verifies each signature of a pasted response on its own, with xmlsec and a
 * key taken only from the given certificate, so the operator learns which
 * signature fails (the module's pipeline stops at the first one). The
 * module's verdict itself comes from the core (Lasso), not from here.
 *
 * Only what the shape check allows is verified: one reference, to the ID of
 * the element holding the signature, same-document URIs, the transforms and
 * algorithms Okta uses. A KeyInfo in the message is never trusted.
 */
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/crypto.h>

#include "inspect.h"

static void quiet_xmlsec(const char *file, int line, const char *func, const char *object,
                         const char *subject, int reason, const char *msg)
{
    /* xmlsec reports through stderr by default; a failed verification is
     * said once, in words, by the report. */
    (void)file;
    (void)line;
    (void)func;
    (void)object;
    (void)subject;
    (void)reason;
    (void)msg;
}

static void quiet_xml(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void inspect_verify_init(void)
{
    xmlSecErrorsSetCallback(quiet_xmlsec);
    xmlSetGenericErrorFunc(NULL, quiet_xml);
}

/* Registers every ID attribute, once per document, the way a DTD would have
 * declared them; 0 when an ID is used twice (nothing is then verified: which
 * element a reference means would be ambiguous). */
static int register_ids(xmlDoc *doc, xmlNode *n, int depth)
{
    for (; n; n = n->next) {
        xmlAttr *a;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (depth > 64)
            return 0;
        for (a = n->properties; a; a = a->next) {
            xmlChar *v;
            if (a->ns || strcmp((const char *)a->name, "ID") != 0)
                continue;
            v = xmlNodeGetContent((xmlNode *)a);
            if (!v)
                continue;
            if (xmlGetID(doc, v) == NULL) {
                xmlAddID(NULL, doc, v, a);
            } else if (xmlGetID(doc, v) != a) {
                xmlFree(v);
                return 0;
            }
            xmlFree(v);
        }
        if (!register_ids(doc, n->children, depth + 1))
            return 0;
    }
    return 1;
}

static int enable(xmlSecDSigCtxPtr ctx)
{
    return xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
           xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
           xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
           xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha1Id) < 0 ||
           xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0 ||
           xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id) < 0 ||
           xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id) < 0 ||
           xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
           xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
           xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha1Id) < 0 ||
           xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0 ||
           xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha384Id) < 0 ||
           xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id) < 0 ||
           xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id) < 0;
}

/* 1 verified, 0 not, -1 could not be processed. */
static int verify_with(apr_pool_t *p, xmlNode *sig, const tool_cert *cert)
{
    unsigned char *der;
    int len, rc = -1;
    xmlSecKeyPtr key;
    xmlSecDSigCtxPtr ctx;

    der = apr_palloc(p, (apr_size_t)apr_base64_decode_len(cert->b64));
    len = apr_base64_decode_binary(der, cert->b64);
    key = xmlSecCryptoAppKeyLoadMemory(der, (xmlSecSize)len, xmlSecKeyDataFormatCertDer, NULL, NULL,
                                       NULL);
    if (!key)
        return -1;
    ctx = xmlSecDSigCtxCreate(NULL);
    if (!ctx) {
        xmlSecKeyDestroy(key);
        return -1;
    }
    /* The key is the certificate's, whatever KeyInfo says. */
    ctx->signKey = key;
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    if (enable(ctx) == 0 && xmlSecDSigCtxVerify(ctx, sig) == 0)
        rc = ctx->status == xmlSecDSigStatusSucceeded ? 1 : 0;
    xmlSecDSigCtxDestroy(ctx);
    return rc;
}

/* The algorithms the shape check lets through (SHA-1 under FlexSAMLAllowSHA1);
 * an HMAC "signature" is never verified, whatever key it claims. */
static int allowed_alg(const char *alg)
{
    static const char *const algs[] = {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        NULL,
    };
    int i;
    for (i = 0; alg && algs[i]; i++)
        if (!strcmp(alg, algs[i]))
            return 1;
    return 0;
}

void inspect_verify(apr_pool_t *p, xmlDoc *doc, inspect_sig *sig, const apr_array_header_t *certs,
                    const char *cert_source)
{
    xmlNode *si, *ref = NULL, *c;
    const char *uri, *id;
    int i, any_error = 0;

    sig->verified = -1;
    if (!sig->node)
        return;
    if (!allowed_alg(sig->sig_alg)) {
        const char *name = inspect_alg_name(sig->sig_alg);
        sig->verify_text = apr_psprintf(p, "not verified: %s is never accepted",
                                        name ? name : tool_safe(p, sig->sig_alg, 100));
        return;
    }
    if (!certs || !certs->nelts) {
        sig->verify_text = "not checked (no certificate: give --cert or --sp-config)";
        return;
    }
    si = flexsaml_xml_child(sig->node, DSIG_NS, "SignedInfo");
    for (c = si ? si->children : NULL; c; c = c->next)
        if (flexsaml_xml_is(c, DSIG_NS, "Reference"))
            ref = c;
    uri = flexsaml_xml_attr(p, ref, "URI");
    id = flexsaml_xml_attr(p, sig->node->parent, "ID");
    if (sig->references != 1 || !uri || !id || uri[0] != '#' || strcmp(uri + 1, id) != 0) {
        sig->verified = 0;
        sig->verify_text = "not verified: it must have one reference, to the element it is in";
        return;
    }
    if (!register_ids(doc, xmlDocGetRootElement(doc), 0)) {
        sig->verified = 0;
        sig->verify_text = "not verified: an ID is used twice in the document";
        return;
    }
    for (i = 0; i < certs->nelts; i++) {
        int rc = verify_with(p, sig->node, &APR_ARRAY_IDX(certs, i, tool_cert));
        if (rc == 1) {
            sig->verified = 1;
            sig->verify_text =
                certs->nelts > 1
                    ? apr_psprintf(p, "verifies with certificate %d of %s", i + 1,
                                   tool_safe(p, cert_source, 300))
                    : apr_psprintf(p, "verifies with %s", tool_safe(p, cert_source, 300));
            return;
        }
        any_error |= rc < 0;
    }
    sig->verified = 0;
    sig->verify_text =
        any_error ? apr_psprintf(p,
                                 "DOES NOT VERIFY: it cannot be checked with %s (another key "
                                 "type or an algorithm outside RSA/ECDSA-SHA)",
                                 tool_safe(p, cert_source, 300))
                  : apr_psprintf(p,
                                 "DOES NOT VERIFY with %s (signed by another key, or the "
                                 "content was changed after signing)",
                                 tool_safe(p, cert_source, 300));
}
