/*
 * Sealing of stored values with AES-256-GCM. Sessions in a shared store
 * (redis, memcached) carry names, emails and roles; whoever can read the
 * store must learn nothing, and must not be able to move a value from one
 * key to another: the store key is bound as associated data.
 *
 * Layout: 'F' | version 2 | key id (4) | nonce (12) | ciphertext | tag (16).
 * Keys come from passphrases by PBKDF2-HMAC-SHA256 salted with the site (the
 * SP entity ID), so every server of a farm derives the same key from the
 * same passphrase, while a guess at a passphrase made offline from one
 * site's dump (the key id, or a tag, confirms it) serves no other site and
 * cannot be precomputed once for all. The first passphrase seals, every
 * configured one may open (rotation). Version 1 (one salt for every site) is
 * no longer opened: its sessions read as absent, and people sign in again.
 */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "seal.h"

#define KEY_LEN 32
#define ID_LEN 4
#define NONCE_LEN 12
#define TAG_LEN 16
#define HEADER_LEN (2 + ID_LEN + NONCE_LEN)
#define PBKDF2_ITERATIONS 100000
#define SALT "mod_flexsaml/seal/v1" /* of HKDF: its input is already per site */
#define PBKDF2_SALT "mod_flexsaml/seal/v2\n"
#define VERSION 2

typedef struct {
    unsigned char key[KEY_LEN];
    unsigned char id[ID_LEN];
} seal_key;

struct flexsaml_sealer {
    apr_array_header_t *keys; /* seal_key; the first one seals */
};

static apr_status_t wipe(void *data)
{
    flexsaml_sealer *s = data;
    int i;
    for (i = 0; i < s->keys->nelts; i++)
        OPENSSL_cleanse(&APR_ARRAY_IDX(s->keys, i, seal_key), sizeof(seal_key));
    return APR_SUCCESS;
}

static void key_id(seal_key *k)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(k->key, KEY_LEN, md);
    memcpy(k->id, md, ID_LEN);
}

static flexsaml_sealer *sealer_make(apr_pool_t *p, int n)
{
    flexsaml_sealer *s = apr_pcalloc(p, sizeof(*s));
    s->keys = apr_array_make(p, n, sizeof(seal_key));
    apr_pool_cleanup_register(p, s, wipe, apr_pool_cleanup_null);
    return s;
}

static int hkdf(const unsigned char *in, const char *info, unsigned char *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t len = KEY_LEN;
    int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_salt(ctx, (const unsigned char *)SALT, (int)strlen(SALT)) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_key(ctx, in, KEY_LEN) > 0 &&
             EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info, (int)strlen(info)) > 0 &&
             EVP_PKEY_derive(ctx, out, &len) > 0 && len == KEY_LEN;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

const char *flexsaml_sealer_create(apr_pool_t *p, const apr_array_header_t *passphrases,
                                   const char *site, flexsaml_sealer **out)
{
    flexsaml_sealer *s;
    const char *salt;
    int i;

    if (!passphrases || passphrases->nelts == 0)
        return "no passphrase";
    if (!site || !*site)
        return "no site to salt the key with";
    salt = apr_pstrcat(p, PBKDF2_SALT, site, NULL);
    s = sealer_make(p, passphrases->nelts);
    for (i = 0; i < passphrases->nelts; i++) {
        const char *pass = APR_ARRAY_IDX(passphrases, i, const char *);
        seal_key *k = apr_array_push(s->keys);

        if (strlen(pass) < 16)
            return "a passphrase must have at least 16 characters";
        if (!PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), (const unsigned char *)salt,
                               (int)strlen(salt), PBKDF2_ITERATIONS, EVP_sha256(), KEY_LEN, k->key))
            return "key derivation failed";
        key_id(k);
    }
    *out = s;
    return NULL;
}

const char *flexsaml_sealer_derive(apr_pool_t *p, const flexsaml_sealer *parent,
                                   const char *context, flexsaml_sealer **out)
{
    flexsaml_sealer *s = sealer_make(p, parent->keys->nelts);
    int i;

    for (i = 0; i < parent->keys->nelts; i++) {
        seal_key *k = apr_array_push(s->keys);
        if (!hkdf(APR_ARRAY_IDX(parent->keys, i, seal_key).key, context, k->key))
            return "key derivation failed";
        key_id(k);
    }
    *out = s;
    return NULL;
}

const char *flexsaml_sealer_from_key(apr_pool_t *p, const unsigned char *key, flexsaml_sealer **out)
{
    flexsaml_sealer *s = sealer_make(p, 1);
    seal_key *k = apr_array_push(s->keys);

    memcpy(k->key, key, KEY_LEN);
    key_id(k);
    *out = s;
    return NULL;
}

void flexsaml_wipe(void *buf, apr_size_t len)
{
    OPENSSL_cleanse(buf, len);
}

const char *flexsaml_sealer_random(apr_pool_t *p, flexsaml_sealer **out)
{
    flexsaml_sealer *s = sealer_make(p, 1);
    seal_key *k = apr_array_push(s->keys);

    if (RAND_bytes(k->key, KEY_LEN) != 1)
        return "the random generator failed";
    key_id(k);
    *out = s;
    return NULL;
}

static int gcm(int enc, const seal_key *k, const unsigned char *nonce, const unsigned char *aad,
               apr_size_t aad_len, const unsigned char *in, apr_size_t len, unsigned char *out,
               unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) &&
         EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, enc) &&
         EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) &&
         (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len)) &&
         (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag)) &&
         EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n) &&
         (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag));
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

const char *flexsaml_seal(apr_pool_t *p, const flexsaml_sealer *s, const char *aad,
                          apr_size_t aad_len, const char *data, apr_size_t len, apr_size_t *out_len)
{
    const seal_key *k = &APR_ARRAY_IDX(s->keys, 0, seal_key);
    unsigned char *out;

    if (len > 16 * 1024 * 1024)
        return NULL;
    out = apr_palloc(p, HEADER_LEN + len + TAG_LEN);
    out[0] = 'F';
    out[1] = VERSION;
    memcpy(out + 2, k->id, ID_LEN);
    if (RAND_bytes(out + 2 + ID_LEN, NONCE_LEN) != 1)
        return NULL;
    if (!gcm(1, k, out + 2 + ID_LEN, (const unsigned char *)aad, aad_len,
             (const unsigned char *)data, len, out + HEADER_LEN, out + HEADER_LEN + len))
        return NULL;
    *out_len = HEADER_LEN + len + TAG_LEN;
    return (const char *)out;
}

const char *flexsaml_unseal(apr_pool_t *p, const flexsaml_sealer *s, const char *aad,
                            apr_size_t aad_len, const char *data, apr_size_t len,
                            apr_size_t *out_len)
{
    const unsigned char *in = (const unsigned char *)data;
    apr_size_t clen;
    unsigned char *out;
    int i;

    if (len < HEADER_LEN + TAG_LEN || in[0] != 'F' || in[1] != VERSION)
        return NULL;
    clen = len - HEADER_LEN - TAG_LEN;
    for (i = 0; i < s->keys->nelts; i++) {
        const seal_key *k = &APR_ARRAY_IDX(s->keys, i, seal_key);
        unsigned char tag[TAG_LEN];
        if (memcmp(in + 2, k->id, ID_LEN) != 0)
            continue;
        out = apr_palloc(p, clen + 1);
        memcpy(tag, in + HEADER_LEN + clen, TAG_LEN);
        if (!gcm(0, k, in + 2 + ID_LEN, (const unsigned char *)aad, aad_len, in + HEADER_LEN, clen,
                 out, tag))
            return NULL;
        out[clen] = '\0';
        *out_len = clen;
        return (const char *)out;
    }
    return NULL;
}
