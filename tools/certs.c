/*
 * X.509 details for the operator: subject, fingerprints, validity. The core
 * (flexsaml_cert_parse) decides whether a certificate is usable; this file
 * only describes one, the way Okta's admin pages do.
 */
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tool.h"

const char *tool_b64_body(apr_pool_t *p, const char *text)
{
    const char *begin = strstr(text, "-----BEGIN CERTIFICATE-----"), *end;
    char *out, *o;

    if (begin) {
        begin += strlen("-----BEGIN CERTIFICATE-----");
        end = strstr(begin, "-----END CERTIFICATE-----");
        if (!end)
            end = begin + strlen(begin);
    } else {
        begin = text;
        end = text + strlen(text);
    }
    out = o = apr_palloc(p, (apr_size_t)(end - begin) + 1);
    for (; begin < end; begin++)
        if (*begin != ' ' && *begin != '\t' && *begin != '\r' && *begin != '\n')
            *o++ = *begin;
    *o = '\0';
    return out;
}

const char *tool_cert_pem(apr_pool_t *p, const char *b64)
{
    apr_size_t n = strlen(b64), i;
    char *out = apr_palloc(p, n + n / 64 + 64), *o = out;

    o += sprintf(o, "-----BEGIN CERTIFICATE-----\n");
    for (i = 0; i < n; i += 64) {
        apr_size_t k = n - i < 64 ? n - i : 64;
        memcpy(o, b64 + i, k);
        o += k;
        *o++ = '\n';
    }
    sprintf(o, "-----END CERTIFICATE-----\n");
    return out;
}

static const char *name_text(apr_pool_t *p, X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;
    const char *out;

    if (!bio)
        return "";
    /* The order and spacing of `openssl x509 -noout -subject`, UTF-8 kept:
     * what an operator compares the output with. */
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    n = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(p, data, n > 0 ? (apr_size_t)n : 0);
    BIO_free(bio);
    return tool_safe(p, out, 400);
}

static const char *fingerprint(apr_pool_t *p, X509 *x, const EVP_MD *md)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *out, *o;

    if (!X509_digest(x, md, buf, &n))
        return "";
    out = o = apr_palloc(p, n * 3 + 1);
    for (i = 0; i < n; i++)
        o += sprintf(o, i ? ":%02X" : "%02X", buf[i]);
    *o = '\0';
    return out;
}

const char *tool_cert_read(apr_pool_t *p, const char *text, tool_cert *out)
{
    const char *err, *b64;
    const unsigned char *der, *d;
    unsigned char *buf;
    apr_size_t len;
    X509 *x;
    EVP_PKEY *key;

    memset(out, 0, sizeof(*out));
    /* The core says whether the module would accept it, with its words. */
    if ((err = flexsaml_cert_parse(p, text, &b64, NULL, NULL)) != NULL)
        return err;
    out->b64 = tool_b64_body(p, b64);
    len = (apr_size_t)apr_base64_decode_len(out->b64);
    buf = apr_palloc(p, len + 1);
    len = (apr_size_t)apr_base64_decode_binary(buf, out->b64);
    der = d = buf;
    x = d2i_X509(NULL, &d, (long)len);
    if (!x)
        return "is not a valid X.509 certificate";
    (void)der;
    out->subject = name_text(p, X509_get_subject_name(x));
    out->issuer = name_text(p, X509_get_issuer_name(x));
    out->sha256 = fingerprint(p, x, EVP_sha256());
    out->sha1 = fingerprint(p, x, EVP_sha1());
    out->not_before = flexsaml_asn1_time(X509_get0_notBefore(x));
    out->not_after = flexsaml_asn1_time(X509_get0_notAfter(x));
    key = X509_get0_pubkey(x);
    if (key)
        out->key = apr_psprintf(p, "%s %d bits",
                                EVP_PKEY_base_id(key) == EVP_PKEY_RSA  ? "RSA"
                                : EVP_PKEY_base_id(key) == EVP_PKEY_EC ? "EC"
                                                                       : "other",
                                EVP_PKEY_bits(key));
    X509_free(x);
    return NULL;
}

const char *tool_server_idp_certs(apr_pool_t *p, const tool_server *s, apr_array_header_t **certs,
                                  const char **source)
{
    char *data;
    apr_size_t len;
    const char *err;
    flexsaml_idp *idp;
    int i;

    *certs = apr_array_make(p, 2, sizeof(tool_cert));
    if (s->idp_metadata_file) {
        *source = s->idp_metadata_file;
        if ((err = tool_read_file(p, s->idp_metadata_file, TOOL_MAX_INPUT, &data, &len)) ||
            (err = flexsaml_idp_from_metadata(p, data, len, &idp)))
            return apr_psprintf(p, "FlexSAMLIdPMetadataFile %s: %s", s->idp_metadata_file, err);
        for (i = 0; i < idp->certs_b64->nelts; i++) {
            tool_cert *c = apr_array_push(*certs);
            if ((err = tool_cert_read(p, APR_ARRAY_IDX(idp->certs_b64, i, const char *), c)))
                return apr_psprintf(p, "FlexSAMLIdPMetadataFile %s: a certificate %s",
                                    s->idp_metadata_file, err);
        }
        return NULL;
    }
    if (s->idp_cert_file) {
        *source = s->idp_cert_file;
        if ((err = tool_read_file(p, s->idp_cert_file, 64 * 1024, &data, &len)) ||
            (err = tool_cert_read(p, data, apr_array_push(*certs))))
            return apr_psprintf(p, "FlexSAMLIdPCertificateFile %s: %s", s->idp_cert_file, err);
        return NULL;
    }
    *source = NULL;
    return "the configuration names no IdP certificate";
}
