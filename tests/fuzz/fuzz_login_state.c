/*
 * libFuzzer harness for login_state.c. The input is tried twice: as a
 * cookie value (base64url and the seal must refuse it without a crash),
 * and as the plaintext inside a genuine seal, which reaches the state
 * parser; whatever parses must stay within the bounds and survive an
 * encode and decode unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_encode.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "login_state.h"
#include "seal.h"

#define AAD "mod_flexsaml/login-state/v1|https://sp/|sp|flexsaml_login"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *root;
static flexsaml_sealer *sealer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    if (flexsaml_sealer_random(root, &sealer) != NULL)
        abort();
    return 0;
}

static void check(apr_pool_t *p, const apr_array_header_t *states)
{
    apr_array_header_t *again;
    int i;

    if (states->nelts > FLEXSAML_LOGIN_STATES_MAX)
        abort();
    if (flexsaml_login_state_decode(p, sealer, AAD,
                                    flexsaml_login_state_encode(p, sealer, AAD, states),
                                    &again) != FLEXSAML_LS_OK ||
        again->nelts != states->nelts)
        abort();
    for (i = 0; i < states->nelts; i++) {
        const flexsaml_login_state *a = &APR_ARRAY_IDX(states, i, flexsaml_login_state);
        const flexsaml_login_state *b = &APR_ARRAY_IDX(again, i, flexsaml_login_state);
        if (strlen(a->request_id) > FLEXSAML_LOGIN_STATE_MAX_ID ||
            strlen(a->return_to) > FLEXSAML_LOGIN_STATE_MAX_URL ||
            strcmp(a->request_id, b->request_id) || strcmp(a->return_to, b->return_to) ||
            a->expires != b->expires)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *states;
    const char *sealed, *value;
    apr_size_t slen = 0, vlen = 0;

    apr_pool_create(&p, root);
    if (flexsaml_login_state_decode(p, sealer, AAD, apr_pstrmemdup(p, (const char *)data, size),
                                    &states) == FLEXSAML_LS_OK)
        abort(); /* forged without the key */
    sealed = flexsaml_seal(p, sealer, AAD, strlen(AAD), (const char *)data, size, &slen);
    value = sealed ? apr_pencode_base64_binary(p, (const unsigned char *)sealed, (apr_ssize_t)slen,
                                               APR_ENCODE_BASE64URL | APR_ENCODE_NOPADDING, &vlen)
                   : NULL;
    if (value && flexsaml_login_state_decode(p, sealer, AAD, value, &states) == FLEXSAML_LS_OK)
        check(p, states);
    apr_pool_destroy(p);
    return 0;
}
