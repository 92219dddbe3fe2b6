/* SAML Single Logout on the HTTP-Redirect binding (logout.c). */
#ifndef FLEXSAML_LOGOUT_H
#define FLEXSAML_LOGOUT_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "refusal.h"

typedef struct {
    int is_request; /* a LogoutRequest from the IdP, else a LogoutResponse */
    int success;    /* a LogoutResponse with status Success */
    const char *id, *destination, *in_response_to, *issuer, *status;
    const char *name_id, *session_index; /* of a LogoutRequest */
    const char *relay_state;
    apr_time_t issued, not_on_or_after; /* 0: absent or unreadable */
    flexsaml_refusal refusal;           /* why flexsaml_logout_read refused it */
} flexsaml_logout_msg;

/* Each returns NULL or a sentence; the URL is the destination with the
 * deflated message, RelayState, SigAlg (RSA-SHA256) and Signature. */
const char *flexsaml_logout_request_url(apr_pool_t *p, const char *dest, const char *issuer,
                                        const char *name_id, const char *session_index,
                                        const char *relay_state, const char *key_pem,
                                        const char **url, const char **id);
const char *flexsaml_logout_response_url(apr_pool_t *p, const char *dest, const char *issuer,
                                         const char *in_response_to, int success,
                                         const char *relay_state, const char *key_pem,
                                         const char **url);
/* Verifies the query signature against one of the IdP certificates
 * (base64 DER), inflates (capped) and reads the message. */
const char *flexsaml_logout_read(apr_pool_t *p, const char *query,
                                 const apr_array_header_t *certs_b64, flexsaml_logout_msg *out);

/* What a verified message must also be: addressed to this SP's logout URL
 * (dest), issued within skew of now and no earlier than max_age ago, and not
 * past its NotOnOrAfter. NULL, or a sentence with *why set. */
const char *flexsaml_logout_check(apr_pool_t *p, const flexsaml_logout_msg *m, const char *dest,
                                  apr_time_t now, apr_interval_time_t skew,
                                  apr_interval_time_t max_age, flexsaml_refusal *why);

#endif
