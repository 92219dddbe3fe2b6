/*
 * Strict base64 for untrusted input: apr_base64_decode skips what is not in
 * the alphabet, so "QU*JD" would decode; the ACS and the tool must refuse
 * it, and the tool must say where.
 */
#include <string.h>

#include <apr_base64.h>

#include "base64.h"

/* What each byte is to the decoder, as one load: the ACS runs a whole
 * SAMLResponse (kilobytes) through this loop per login, and a chain of range
 * tests per byte showed as 3 % of a login's CPU in perf. */
enum { B64_BAD, B64_DATA, B64_SPACE, B64_PAD };
static const unsigned char kind_of[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 3, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

char *flexsaml_b64_decode_strict(apr_pool_t *p, const char *in, apr_size_t len, apr_size_t *out_len,
                                 flexsaml_b64_error *err)
{
    char *clean = apr_palloc(p, len + 1), *out;
    apr_size_t n = 0, i, pad = 0;
    flexsaml_b64_error local;

    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    for (i = 0; i < len; i++) {
        char c = in[i];
        unsigned char k = kind_of[(unsigned char)c];
        if (k == B64_SPACE)
            continue;
        if (k == B64_PAD) {
            pad++;
        } else if (pad || k != B64_DATA) {
            err->status = FLEXSAML_B64_BAD_CHAR;
            err->offset = i;
            err->bad = c;
            err->after_pad = pad > 0;
            return NULL;
        }
        clean[n++] = c;
    }
    clean[n] = '\0';
    err->chars = n;
    if (n == 0) {
        err->status = FLEXSAML_B64_EMPTY;
        return NULL;
    }
    if (n % 4 != 0 || pad > 2) {
        err->status = FLEXSAML_B64_LENGTH;
        return NULL;
    }
    out = apr_palloc(p, (apr_size_t)apr_base64_decode_len(clean) + 1);
    *out_len = (apr_size_t)apr_base64_decode_binary((unsigned char *)out, clean);
    out[*out_len] = '\0';
    return out;
}
