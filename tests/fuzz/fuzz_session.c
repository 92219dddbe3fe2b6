/*
 * libFuzzer harness for session.c: the session decoder (whatever decodes
 * must re-encode to the very same bytes, the format being canonical), the
 * Cookie header parser and the session id check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    return 0;
}

static void fuzz_decode(apr_pool_t *p, const uint8_t *data, size_t size)
{
    flexsaml_session *s = flexsaml_session_decode(p, (const char *)data, size);
    const char *again;
    apr_size_t len = 0;

    if (s == NULL) {
        return;
    }
    again = flexsaml_session_encode(p, s, &len);
    if (size >= 3 && data[2] == 1) {
        /* A version 1 record (before the last use and the AuthnInstant) is
         * written back as the current version, which is stable from then on. */
        flexsaml_session *t = again != NULL ? flexsaml_session_decode(p, again, len) : NULL;
        apr_size_t len2 = 0;
        const char *third = t != NULL ? flexsaml_session_encode(p, t, &len2) : NULL;
        if (third == NULL || len2 != len || memcmp(third, again, len) != 0) {
            abort();
        }
        return;
    }
    if (again == NULL || len != size || memcmp(again, data, size) != 0) {
        abort();
    }
}

/* First byte: length of the cookie name taken from the rest; the remainder
 * is the header. */
static void fuzz_cookie(apr_pool_t *p, const uint8_t *data, size_t size)
{
    size_t nlen;
    char *name;
    char *header;
    const char *v;

    if (size == 0) {
        return;
    }
    nlen = data[0] % 16;
    if (nlen > size - 1) {
        nlen = size - 1;
    }
    name = malloc(nlen + 1);
    memcpy(name, data + 1, nlen);
    name[nlen] = '\0';
    header = malloc(size - 1 - nlen + 1);
    memcpy(header, data + 1 + nlen, size - 1 - nlen);
    header[size - 1 - nlen] = '\0';
    v = flexsaml_cookie_get(p, header, name);
    if (v != NULL && (strlen(v) > strlen(header) || strchr(v, ';') != NULL)) {
        abort();
    }
    (void)flexsaml_session_id_valid(header);
    free(name);
    free(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    fuzz_decode(p, data, size);
    fuzz_cookie(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
