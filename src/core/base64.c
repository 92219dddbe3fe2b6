/*
 * Strict base64 for untrusted input: apr_base64_decode skips what is not in
 * the alphabet, so "QU*JD" would decode; the ACS and the tool must refuse
 * it, and the tool must say where.
 */
#include <string.h>

#include <apr_general.h>

#include "base64.h"

/* What each byte is to the decoder, as one load: its 6-bit value, or one of
 * the classes below. The ACS runs a whole SAMLResponse (kilobytes) through
 * this loop per login: a chain of range tests per byte showed as 3 % of a
 * login's CPU in perf, and a second pass through apr_base64_decode_binary
 * (after a first one that only checked) as 2 %. */
enum { B64_SPACE = 64, B64_PAD = 65, B64_BAD = 255 };
static const unsigned char sextet[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 64,  64,  255, 255, 64,  255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 64,  255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 62,  255, 255, 255, 63,  52,  53,  54,  55,  56,  57,  58,  59,  60,
    61,  255, 255, 255, 65,  255, 255, 255, 0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,
    11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  255, 255, 255, 255,
    255, 255, 26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  41,  42,
    43,  44,  45,  46,  47,  48,  49,  50,  51,  255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255,
};

char *flexsaml_b64_decode_strict(apr_pool_t *p, const char *in, apr_size_t len, apr_size_t *out_len,
                                 flexsaml_b64_error *err)
{
    /* Every 4 characters give at most 3 bytes; room for the NUL. */
    unsigned char *out = apr_palloc(p, len / 4 * 3 + 4);
    apr_size_t data = 0, o = 0, i, pad = 0;
    apr_uint32_t acc = 0;
    flexsaml_b64_error local;

    if (!err)
        err = &local;
    memset(err, 0, sizeof(*err));
    for (i = 0; i < len; i++) {
        unsigned char v = sextet[(unsigned char)in[i]];
        if (v < 64 && !pad) {
            acc = acc << 6 | v;
            if ((++data & 3) == 0) {
                out[o++] = (unsigned char)(acc >> 16);
                out[o++] = (unsigned char)(acc >> 8);
                out[o++] = (unsigned char)acc;
                acc = 0;
            }
        } else if (v == B64_SPACE) {
            continue;
        } else if (v == B64_PAD) {
            pad++;
        } else {
            err->status = FLEXSAML_B64_BAD_CHAR;
            err->offset = i;
            err->bad = in[i];
            err->after_pad = pad > 0;
            return NULL;
        }
    }
    err->chars = data + pad;
    if (err->chars == 0) {
        err->status = FLEXSAML_B64_EMPTY;
        return NULL;
    }
    if (err->chars % 4 != 0 || pad > 2) {
        err->status = FLEXSAML_B64_LENGTH;
        return NULL;
    }
    /* The last group's bits below a whole byte are dropped, as
     * apr_base64_decode does. */
    if (pad == 1) {
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    } else if (pad == 2) {
        out[o++] = (unsigned char)(acc >> 4);
    }
    out[o] = '\0';
    *out_len = o;
    return (char *)out;
}
