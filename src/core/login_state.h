/*
 * Login state (login_state.c): the pending SP-initiated logins of one
 * browser, sealed into one cookie value, so that the server keeps nothing
 * for a browser that has not signed in and the ACS can tell whether this
 * browser started the login a response answers.
 */
#ifndef FLEXSAML_LOGIN_STATE_H
#define FLEXSAML_LOGIN_STATE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "seal.h"

/* Logins pending at once in one browser (tabs); the oldest is dropped. */
#define FLEXSAML_LOGIN_STATES_MAX 4
/* Request ids are Lasso's ("_" and 40 hex digits); anything longer is not ours. */
#define FLEXSAML_LOGIN_STATE_MAX_ID 64
/* A longer return URL is not kept: the login lands on FlexSAMLDefaultURL.
 * With the other caps the cookie stays under 2.7 KB of base64. */
#define FLEXSAML_LOGIN_STATE_MAX_URL 400
/* FlexSAMLAuthnContextClassRef of a step-up, comma-joined; the setter
 * keeps a directory's list under it. */
#define FLEXSAML_LOGIN_STATE_MAX_CONTEXTS 256

typedef struct {
    const char *request_id;
    const char *return_to; /* "" when the URL did not fit */
    apr_time_t expires;
    /* A step-up (FlexSAMLMaxAuthAge, FlexSAMLAuthnContextClassRef): the
     * answer's AuthnInstant must not be before authn_after (0: any), and its
     * AuthnContextClassRef must be one of contexts (comma-joined; NULL or
     * "": any). */
    apr_time_t authn_after;
    const char *contexts;
} flexsaml_login_state;

typedef enum {
    FLEXSAML_LS_OK = 0,
    FLEXSAML_LS_ABSENT,  /* no cookie */
    FLEXSAML_LS_INVALID, /* not ours, altered, sealed for another SP, undecodable */
    FLEXSAML_LS_EXPIRED, /* the request id is there, past its expiry */
    FLEXSAML_LS_NO_MATCH /* the cookie holds other requests only */
} flexsaml_ls_outcome;

/* The associated data that binds a state to one SP, host and cookie: a
 * cookie of another virtual host or name does not open. */
const char *flexsaml_login_state_aad(apr_pool_t *p, const char *sp_entity_id, const char *host,
                                     const char *cookie_name);

/* The states of a cookie value (flexsaml_login_state, expired ones
 * included, oldest first) in *states, which is always a usable array. */
flexsaml_ls_outcome flexsaml_login_state_decode(apr_pool_t *p, const flexsaml_sealer *s,
                                                const char *aad, const char *value,
                                                apr_array_header_t **states);

/* Removes the state of request_id from states into *found: OK, EXPIRED
 * (removed too) or NO_MATCH. */
flexsaml_ls_outcome flexsaml_login_state_take(apr_array_header_t *states, const char *request_id,
                                              apr_time_t now, flexsaml_login_state *found);

/* Appends a state, dropping expired ones and the oldest beyond the bound.
 * A return URL over the cap, or with control characters, is kept as "".
 * Returns 0 when the request id cannot be kept (too long, bad bytes). */
int flexsaml_login_state_add(apr_pool_t *p, apr_array_header_t *states,
                             const flexsaml_login_state *st, apr_time_t now);

/* The sealed, base64url cookie value of states (NULL when sealing failed). */
const char *flexsaml_login_state_encode(apr_pool_t *p, const flexsaml_sealer *s, const char *aad,
                                        const apr_array_header_t *states);

#endif
