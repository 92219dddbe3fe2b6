/* HTTP-Redirect binding signatures (query_sign.c): RSA-SHA256 over the query
 * string, with a key parsed once. */
#ifndef FLEXSAML_QUERY_SIGN_H
#define FLEXSAML_QUERY_SIGN_H

#include <apr_pools.h>
#include <openssl/evp.h>

#define FLEXSAML_SIGALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

/* The key of a PEM, or NULL; freed with the pool. */
EVP_PKEY *flexsaml_query_key(apr_pool_t *p, const char *key_pem);
/* RFC 3986 percent-encoding, upper-case hex. */
const char *flexsaml_query_escape(apr_pool_t *p, const char *s);
/* query + "&SigAlg=...&Signature=..." where the signature covers query and
 * the SigAlg pair, as the binding says; NULL when signing fails. */
const char *flexsaml_query_sign(apr_pool_t *p, const char *query, EVP_PKEY *key);

#endif
