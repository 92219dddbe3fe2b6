/* Sealing of stored values (seal.c): AES-256-GCM, keys from passphrases. */
#ifndef FLEXSAML_SEAL_H
#define FLEXSAML_SEAL_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct flexsaml_sealer flexsaml_sealer;

/* passphrases: const char *, the first seals, all may open. site: what
 * every server sharing the store shares and no other site does (the SP
 * entity ID), the PBKDF2 salt. NULL or an error sentence. */
const char *flexsaml_sealer_create(apr_pool_t *p, const apr_array_header_t *passphrases,
                                   const char *site, flexsaml_sealer **out);
/* A sealer for another purpose, from each key of parent by HKDF-SHA256 with
 * context as info: what it seals, parent's own values cannot open, and a
 * farm sharing the passphrases shares it. NULL or an error sentence. */
const char *flexsaml_sealer_derive(apr_pool_t *p, const flexsaml_sealer *parent,
                                   const char *context, flexsaml_sealer **out);
/* A sealer with one key of 32 random bytes, for values that only this
 * server (its processes, until it stops) must open. */
const char *flexsaml_sealer_random(apr_pool_t *p, flexsaml_sealer **out);
/* A sealer with exactly this 32-byte key, for a value whose key travels
 * elsewhere (a preserved POST body: its key is in the browser's cookie). */
#define FLEXSAML_SEAL_KEY_LEN 32
const char *flexsaml_sealer_from_key(apr_pool_t *p, const unsigned char *key,
                                     flexsaml_sealer **out);
/* Overwrites key material in a way the compiler keeps. */
void flexsaml_wipe(void *buf, apr_size_t len);
/* Each returns NULL on failure. aad is bound to the value: unsealing with
 * another aad fails. */
const char *flexsaml_seal(apr_pool_t *p, const flexsaml_sealer *s, const char *aad,
                          apr_size_t aad_len, const char *data, apr_size_t len,
                          apr_size_t *out_len);
const char *flexsaml_unseal(apr_pool_t *p, const flexsaml_sealer *s, const char *aad,
                            apr_size_t aad_len, const char *data, apr_size_t len,
                            apr_size_t *out_len);

#endif
