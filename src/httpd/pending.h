/*
 * Pending SP-initiated logins (pending.c), kept in the browser's
 * login-state cookie (src/core/login_state.c) rather than on the server.
 */
#ifndef FLEXSAML_PENDING_H
#define FLEXSAML_PENDING_H

#include "httpd.h"

#include "flexsaml_glue.h"

/* Adds request_id and its return target to this browser's state cookie;
 * a step-up also what its answer must show (login_state.h): an AuthnInstant
 * not before authn_after (0: any), a class among contexts (comma-joined;
 * NULL: any). */
int flexsaml_pending_remember(request_rec *r, const flexsaml_srv_cfg *c, const char *request_id,
                              const char *return_to, apr_time_t authn_after, const char *contexts);
/* OK when this browser's state holds request_id, unexpired and not used
 * before: *return_to is its target (NULL when it did not fit), the step-up
 * demands are in *authn_after and *contexts, and the state leaves the
 * cookie. Otherwise a refusal page's status. */
int flexsaml_pending_take(request_rec *r, const flexsaml_srv_cfg *c, const char *request_id,
                          const char **return_to, apr_time_t *authn_after, const char **contexts);

#endif
