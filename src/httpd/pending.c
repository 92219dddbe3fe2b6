/*
 * Pending SP-initiated logins, kept by the browser that started them. An
 * anonymous request writes nothing on the server (a flood of them used to
 * fill the store and evict sessions), and the ACS takes a solicited
 * response only from the browser holding the state of the request it
 * answers: a response an attacker obtained for their own account, posted
 * from another site, does not sign the victim in (login CSRF).
 */
#include "apr_strings.h"

#include "flexsaml_glue.h"
#include "runtime.h"
#include "errors.h"
#include "login_state.h"
#include "pending.h"
#include "store.h"
#include "web.h"

/* The states of this browser's cookie; *outcome says whether it opened. */
static apr_array_header_t *states_of(request_rec *r, const flexsaml_srv_cfg *c, const char **aad,
                                     flexsaml_ls_outcome *outcome)
{
    apr_array_header_t *states;
    const char *value =
        flexsaml_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"), c->rt->state_cookie);
    *aad = flexsaml_login_state_aad(r->pool, c->sp_entity_id, flexsaml_public_host(r),
                                    c->rt->state_cookie);
    *outcome = flexsaml_login_state_decode(r->pool, c->rt->state_sealer, *aad, value, &states);
    return states;
}

/* Writes states back, with the life of the longest-lived one left. */
static int store_states(request_rec *r, const flexsaml_srv_cfg *c, const char *aad,
                        const apr_array_header_t *states)
{
    apr_time_t last = 0, now = apr_time_now();
    const char *value;
    int i;

    for (i = 0; i < states->nelts; i++)
        if (APR_ARRAY_IDX(states, i, flexsaml_login_state).expires > last)
            last = APR_ARRAY_IDX(states, i, flexsaml_login_state).expires;
    if (last <= now) {
        flexsaml_set_state_cookie(r, c->rt->state_cookie, NULL, 0);
        return OK;
    }
    value = flexsaml_login_state_encode(r->pool, c->rt->state_sealer, aad, states);
    if (!value)
        return flexsaml_refuse(r, FLEXSAML_R_INTERNAL, "the login state could not be sealed", NULL);
    flexsaml_set_state_cookie(r, c->rt->state_cookie, value,
                              (int)apr_time_sec(last - now + APR_USEC_PER_SEC - 1));
    return OK;
}

int flexsaml_pending_remember(request_rec *r, const flexsaml_srv_cfg *c, const char *request_id,
                              const char *return_to, apr_time_t authn_after, const char *contexts)
{
    flexsaml_login_state st;
    flexsaml_ls_outcome outcome;
    const char *aad;
    apr_time_t now = apr_time_now();
    /* An unreadable cookie (a key from before a restart) is replaced. */
    apr_array_header_t *states = states_of(r, c, &aad, &outcome);

    st.request_id = request_id;
    st.return_to = return_to;
    st.expires = now + apr_time_from_sec(c->request_ttl);
    st.authn_after = authn_after;
    st.contexts = contexts;
    if (!flexsaml_login_state_add(r->pool, states, &st, now))
        return flexsaml_refuse(r, FLEXSAML_R_INTERNAL,
                               "the AuthnRequest id does not fit in the login state", NULL);
    return store_states(r, c, aad, states);
}

int flexsaml_pending_take(request_rec *r, const flexsaml_srv_cfg *c, const char *request_id,
                          const char **return_to, apr_time_t *authn_after, const char **contexts)
{
    flexsaml_login_state found;
    flexsaml_ls_outcome outcome;
    const char *aad;
    apr_array_header_t *states = states_of(r, c, &aad, &outcome);
    apr_status_t rv;
    int n = states->nelts;

    if (outcome == FLEXSAML_LS_ABSENT)
        return flexsaml_refuse(r, FLEXSAML_R_LOGIN_STATE_MISSING,
                               apr_psprintf(r->pool,
                                            "InResponseTo %s, and no %s cookie came with the "
                                            "response",
                                            request_id, c->rt->state_cookie),
                               NULL);
    if (outcome != FLEXSAML_LS_OK)
        return flexsaml_refuse(
            r, FLEXSAML_R_LOGIN_STATE_INVALID,
            apr_psprintf(r->pool,
                         "InResponseTo %s; the %s cookie does not open (altered, or sealed by "
                         "another server or SP)",
                         request_id, c->rt->state_cookie),
            NULL);
    outcome = flexsaml_login_state_take(states, request_id, apr_time_now(), &found);
    if (outcome == FLEXSAML_LS_NO_MATCH)
        return flexsaml_refuse(r, FLEXSAML_R_UNKNOWN_REQUEST,
                               apr_psprintf(r->pool,
                                            "InResponseTo %s is none of the %d logins this "
                                            "browser started",
                                            request_id, n),
                               NULL);
    if (outcome == FLEXSAML_LS_EXPIRED)
        return flexsaml_refuse(
            r, FLEXSAML_R_LOGIN_STATE_EXPIRED,
            apr_psprintf(r->pool,
                         "InResponseTo %s expired %" APR_TIME_T_FMT
                         " s ago (FlexSAMLRequestLifetime %d s)",
                         request_id, apr_time_sec(apr_time_now() - found.expires), c->request_ttl),
            NULL);
    /* The cookie loses the state below, but a browser may send a copy kept
     * from before: the used id is recorded until the state would expire.
     * This write follows a verified response only. */
    rv =
        flexsaml_store_once(c->rt->store, r, NULL, FLEXSAML_KEY_REQUEST, request_id, found.expires);
    if (rv == APR_EEXIST)
        return flexsaml_refuse(
            r, FLEXSAML_R_LOGIN_STATE_REUSED,
            apr_psprintf(r->pool, "the login %s was already completed", request_id), NULL);
    if (rv != APR_SUCCESS)
        return flexsaml_store_unavailable(r, rv, "record the used request id");
    *return_to = *found.return_to ? found.return_to : NULL;
    *authn_after = found.authn_after;
    *contexts = found.contexts;
    return store_states(r, c, aad, states);
}
