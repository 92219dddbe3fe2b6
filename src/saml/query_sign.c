/*
 * The HTTP-Redirect binding signs the query string, not the XML. Parsing
 * the PEM key costs several times the RSA signature itself (OpenSSL 3's
 * decoders), and every anonymous request to a protected URL signs an
 * AuthnRequest when the SP has a key: the key is parsed once, at startup,
 * and shared by every thread (a parsed EVP_PKEY is read-only while signing).
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_base64.h>
#include <openssl/pem.h>

#include "query_sign.h"

static apr_status_t free_key(void *key)
{
    EVP_PKEY_free(key);
    return APR_SUCCESS;
}

EVP_PKEY *flexsaml_query_key(apr_pool_t *p, const char *key_pem)
{
    BIO *bio = key_pem ? BIO_new_mem_buf(key_pem, -1) : NULL;
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    BIO_free(bio);
    if (key)
        apr_pool_cleanup_register(p, key, free_key, apr_pool_cleanup_null);
    return key;
}

/* Upper-case hex: the signature covers the encoded bytes, and clients that
 * normalize an URL normalize to upper case. */
const char *flexsaml_query_escape(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *flexsaml_query_sign(apr_pool_t *p, const char *query, EVP_PKEY *key)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t len = sizeof(sig);
    const char *signed_part, *out = NULL;

    signed_part = apr_pstrcat(
        p, query, "&SigAlg=", flexsaml_query_escape(p, FLEXSAML_SIGALG_RSA_SHA256), NULL);
    if (key && ctx && EVP_PKEY_size(key) <= (int)sizeof(sig) &&
        EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, sig, &len, (const unsigned char *)signed_part, strlen(signed_part)) ==
            1) {
        char *b64 = apr_palloc(p, apr_base64_encode_len((int)len));
        apr_base64_encode(b64, (const char *)sig, (int)len);
        out = apr_pstrcat(p, signed_part, "&Signature=", flexsaml_query_escape(p, b64), NULL);
    }
    EVP_MD_CTX_free(ctx);
    return out;
}
