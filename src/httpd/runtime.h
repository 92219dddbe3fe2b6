/*
 * The runtime of one virtual host (runtime.c): what startup builds from the
 * settings (the Lasso SP, the store, the sealer, the policy, the counters).
 * The settings (flexsaml_srv_cfg) never change after startup; of the
 * runtime only the SP does, when the metadata refresh swaps it in.
 */
#ifndef FLEXSAML_RUNTIME_H
#define FLEXSAML_RUNTIME_H

#include <stdatomic.h>

#include "httpd.h"
#include "flexsaml_sp.h"
#include "swap.h"

struct flexsaml_store;
struct flexsaml_metrics;
struct flexsaml_sealer;

typedef struct flexsaml_runtime {
    flexsaml_swap sp;               /* a flexsaml_sp_slot *: read with flexsaml_request_sp */
    _Atomic(apr_time_t) idp_loaded; /* when the current IdP description was taken */
    /* When this process last logged forwarded headers from an untrusted
     * client (public_url.c), to log it once per 10 s. */
    _Atomic(apr_time_t) forwarded_noted;
    struct flexsaml_store *store;
    struct flexsaml_sealer *sealer; /* NULL without FlexSAMLCryptoPassphrase */
    /* Seals the login-state cookie: derived from the passphrases when set
     * (a farm shares it), else a random key of the server's process. */
    struct flexsaml_sealer *state_sealer;
    const char *state_cookie; /* the login-state cookie's name */
    struct flexsaml_metrics *metrics;
    struct flexsaml_tr_cfg *tr; /* the TaskRouter sync: its checked settings and queue */
    flexsaml_sp_policy policy;
    const char *sp_cert_pem; /* read once at startup, for metadata refreshes */
    const char *sp_key_pem;
} flexsaml_runtime;

flexsaml_runtime *flexsaml_runtime_create(apr_pool_t *p);
/* Installs the SP built at startup (it lives as long as pconf). */
void flexsaml_runtime_set_sp(flexsaml_runtime *rt, apr_pool_t *p, flexsaml_sp *sp);
/* The SP this request uses: one atomic load on first use, then the same SP
 * for the rest of the request, however often it is asked for. */
const flexsaml_sp *flexsaml_request_sp(request_rec *r, flexsaml_runtime *rt);
/* Swaps in an SP built in its own pool, then waits until no request holds
 * the one it replaces and destroys that one's pool (its Lasso server with
 * it). Called by one thread at a time (the child's refresh thread). */
void flexsaml_runtime_swap_sp(flexsaml_runtime *rt, flexsaml_sp *sp, apr_pool_t *sp_pool);

#endif
