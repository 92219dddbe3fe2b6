/* Strict base64 (base64.c): the SAMLResponse of the ACS and `flexsaml inspect`. */
#ifndef FLEXSAML_BASE64_H
#define FLEXSAML_BASE64_H

#include <apr_pools.h>

typedef enum {
    FLEXSAML_B64_OK = 0,
    FLEXSAML_B64_BAD_CHAR, /* a character outside the alphabet, or after the padding */
    FLEXSAML_B64_EMPTY,    /* nothing but whitespace */
    FLEXSAML_B64_LENGTH    /* not a multiple of 4, or more than two '=' */
} flexsaml_b64_status;

typedef struct {
    flexsaml_b64_status status;
    apr_size_t offset; /* of the bad character in the input */
    char bad;          /* that character */
    int after_pad;     /* it came after the '=' padding */
    apr_size_t chars;  /* base64 characters read, whitespace left out */
} flexsaml_b64_error;

/* Decodes in[0..len): the alphabet, padding only at the end, whitespace
 * ignored. The result is NUL-terminated; NULL with *err filled when the
 * text is not strict base64 (err may be NULL). */
char *flexsaml_b64_decode_strict(apr_pool_t *p, const char *in, apr_size_t len, apr_size_t *out_len,
                                 flexsaml_b64_error *err);

#endif
