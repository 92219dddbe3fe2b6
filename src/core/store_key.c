/*
 * Store keys: a spread byte, the kind letter and the SHA-256 of the id in
 * hex. No outside value ever becomes a key as is, and a dump of the store
 * yields no usable cookie.
 *
 * The first byte matters to shmcb: it picks the sub-cache from that byte
 * masked to its sub-cache count, a power of two up to 256, and every
 * sub-cache owns a fixed share of the memory. A printable byte takes only 94
 * values, so a store of 48 MiB or more (256 sub-caches) would fill 94 of
 * them and leave 63 % of its memory unused. Binary stores therefore get a
 * raw digest byte; text protocols (memcache, redis) keep a printable one.
 */
/* SHA256_Init and friends: see flexsaml_store_digest below. Before any
 * OpenSSL header. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "store_key.h"

/* Where keys go through EVP (below), a fresh EVP_MD_CTX per key would be
 * an allocation and a free on every protected request; each thread keeps
 * one instead, freed when the thread ends. A context is never shared:
 * EVP_MD_CTX is not thread-safe. In httpd only children make keys, and a
 * child does not unload the module while its threads run, so the
 * destructor is still there when they end. */
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static int ctx_key_ok;

static void free_ctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void make_ctx_key(void)
{
    ctx_key_ok = pthread_key_create(&ctx_key, free_ctx) == 0;
}

/* This thread's context, or NULL; *own is 1 when the caller frees it (no
 * thread key: a context per call, as before). */
static EVP_MD_CTX *thread_ctx(int *own)
{
    EVP_MD_CTX *ctx;

    *own = 0;
    pthread_once(&ctx_once, make_ctx_key);
    if (ctx_key_ok && (ctx = pthread_getspecific(ctx_key)) != NULL)
        return ctx;
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return NULL;
    if (!ctx_key_ok || pthread_setspecific(ctx_key, ctx) != 0)
        *own = 1;
    return ctx;
}

/* Whether this process asks OpenSSL for FIPS: then every digest goes through
 * EVP and the FIPS provider. Decided at the first key a process makes; in
 * httpd that is in a child, after every module's configuration (mod_ssl's
 * SSLFIPS included). */
static pthread_once_t fips_once = PTHREAD_ONCE_INIT;
static int fips_wanted;

static void check_fips(void)
{
    fips_wanted = EVP_default_properties_is_fips_enabled(NULL);
}

static int evp_digest(const EVP_MD *sha256, const char *scope, const char *id, unsigned char md[32])
{
    /* Final writes the digest's whole size: a buffer for any, then 32 bytes
     * out, and only from a 32-byte digest. */
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int own, ok;
    EVP_MD_CTX *ctx;

    if (!sha256 || EVP_MD_get_size(sha256) != 32)
        return 0;
    ctx = thread_ctx(&own);
    ok = ctx && EVP_DigestInit_ex(ctx, sha256, NULL) &&
         (!scope ||
          (EVP_DigestUpdate(ctx, scope, strlen(scope)) && EVP_DigestUpdate(ctx, "\n", 1))) &&
         EVP_DigestUpdate(ctx, id, strlen(id)) && EVP_DigestFinal_ex(ctx, out, &md_len) &&
         md_len == 32;
    if (own)
        EVP_MD_CTX_free(ctx);
    if (ok)
        memcpy(md, out, 32);
    OPENSSL_cleanse(out, sizeof(out));
    return ok;
}

/* Every protected request makes a key. Through EVP that cost 1.4 us of CPU
 * per request in httpd (perf, 50 threads), for a hash of 80 bytes that
 * takes 0.08 us: OpenSSL 3.0 frees and remakes the provider's context,
 * asks the ENGINE table and checks its init state on every
 * EVP_DigestInit_ex, and in a busy server all of that is cold in the cache.
 * The low-level calls are the same SHA-256 code without any of it. They
 * are deprecated, not removed, in OpenSSL 3; a build without them, or a
 * process in FIPS mode, uses EVP. */
int flexsaml_store_digest(const EVP_MD *sha256, int via_evp, const char *scope, const char *id,
                          unsigned char md[32])
{
#ifndef OPENSSL_NO_DEPRECATED_3_0
    if (!via_evp) {
        SHA256_CTX c;
        int ok =
            SHA256_Init(&c) &&
            (!scope || (SHA256_Update(&c, scope, strlen(scope)) && SHA256_Update(&c, "\n", 1))) &&
            SHA256_Update(&c, id, strlen(id)) && SHA256_Final(md, &c);
        /* The id is a bearer token: none of it stays on the stack. */
        OPENSSL_cleanse(&c, sizeof(c));
        return ok;
    }
#endif
    return evp_digest(sha256, scope, id, md);
}

int flexsaml_store_key(const EVP_MD *sha256, flexsaml_key_form form, char kind, const char *scope,
                       const char *id, unsigned char key[FLEXSAML_STORE_KEY_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    int i;

    /* A failed digest must not become a key every id shares. */
    pthread_once(&fips_once, check_fips);
    if (!flexsaml_store_digest(sha256, fips_wanted, scope, id, md))
        return 0;
    key[0] = form == FLEXSAML_KEY_BINARY
                 ? md[0]
                 : (unsigned char)(FLEXSAML_KEY_SPREAD_FIRST + md[0] % FLEXSAML_KEY_SPREADS);
    key[1] = (unsigned char)kind;
    for (i = 0; i < 32; i++) {
        key[2 + 2 * i] = (unsigned char)hex[md[i] >> 4];
        key[3 + 2 * i] = (unsigned char)hex[md[i] & 15];
    }
    return 1;
}

void flexsaml_store_key_ref(const unsigned char key[FLEXSAML_STORE_KEY_LEN], char ref[65])
{
    memcpy(ref, key + 2, 64);
    ref[64] = '\0';
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int flexsaml_store_key_from_ref(flexsaml_key_form form, char kind, const char *ref,
                                unsigned char key[FLEXSAML_STORE_KEY_LEN])
{
    int i, hi, lo;
    unsigned char first;

    if (!ref || strlen(ref) != 64)
        return 0;
    for (i = 0; i < 64; i++)
        if (hexval(ref[i]) < 0)
            return 0;
    hi = hexval(ref[0]);
    lo = hexval(ref[1]);
    first = (unsigned char)(hi * 16 + lo);
    key[0] = form == FLEXSAML_KEY_BINARY ? first : (unsigned char)(0x21 + first % 94);
    key[1] = (unsigned char)kind;
    memcpy(key + 2, ref, 64);
    return 1;
}
