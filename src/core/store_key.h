/* Store keys (store_key.c): what an id becomes before it reaches a socache. */
#ifndef FLEXSAML_STORE_KEY_H
#define FLEXSAML_STORE_KEY_H

#include <apr_general.h>
#include <openssl/evp.h>

#define FLEXSAML_STORE_KEY_LEN (2 + 2 * 32)
/* A text key's first byte: one of 94 printable characters from '!'. */
#define FLEXSAML_KEY_SPREAD_FIRST 0x21
#define FLEXSAML_KEY_SPREADS 94

typedef enum {
    FLEXSAML_KEY_TEXT,  /* printable: memcache and redis take keys in a text protocol */
    FLEXSAML_KEY_BINARY /* shmcb, dbm: any byte */
} flexsaml_key_form;

/* <spread byte><kind><hex SHA-256 of scope "\n" id> (scope may be NULL).
 * sha256: a fetched EVP_MD, used when the digest goes through EVP (a
 * process in FIPS mode), so that path does not look it up again.
 * Returns 0, with no key, when OpenSSL fails. */
int flexsaml_store_key(const EVP_MD *sha256, flexsaml_key_form form, char kind, const char *scope,
                       const char *id, unsigned char key[FLEXSAML_STORE_KEY_LEN]);

/* The SHA-256 of scope "\n" id (or of id alone) into md: through EVP with
 * via_evp, else through OpenSSL's low-level SHA-256 where the build has it.
 * flexsaml_store_key takes EVP only in FIPS mode; both give the same
 * digest. Returns 0 when OpenSSL fails. */
int flexsaml_store_digest(const EVP_MD *sha256, int via_evp, const char *scope, const char *id,
                          unsigned char md[32]);

/* A reference to a stored entry that is not its id: the hex digest in its
 * key (65 bytes with the NUL). An index that must find a session keeps this,
 * so a dump of the store yields no cookie. */
void flexsaml_store_key_ref(const unsigned char key[FLEXSAML_STORE_KEY_LEN], char ref[65]);
/* The key of a reference, for kind; 0 when ref is not 64 lower-case hex digits. */
int flexsaml_store_key_from_ref(flexsaml_key_form form, char kind, const char *ref,
                                unsigned char key[FLEXSAML_STORE_KEY_LEN]);

#endif
