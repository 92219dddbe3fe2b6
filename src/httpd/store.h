/*
 * The session store (store.c): an Apache socache behind sessions, pending
 * requests, replay markers and the logout index, with keys hashed by
 * store_key.c and values sealed by seal.c.
 */
#ifndef FLEXSAML_STORE_H
#define FLEXSAML_STORE_H

#include "httpd.h"

typedef struct flexsaml_store flexsaml_store;

/* Key spaces: each kind of entry lives under its own prefix. */
#define FLEXSAML_KEY_SESSION 's'
#define FLEXSAML_KEY_REQUEST 'r'
#define FLEXSAML_KEY_ASSERTION 'a'
#define FLEXSAML_KEY_INDEX 'x' /* NameID + SessionIndex -> session id, for IdP logout */

void flexsaml_store_register_mutex(apr_pool_t *pconf);
const char *flexsaml_store_create(apr_pool_t *p, const char *spec, flexsaml_store **out);
apr_status_t flexsaml_store_init(flexsaml_store *st, server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp);
void flexsaml_store_child_init(flexsaml_store *st, server_rec *s, apr_pool_t *p);
const char *flexsaml_store_spec(const flexsaml_store *st);
/* APR_NOTFOUND when absent or expired. */
apr_status_t flexsaml_store_get(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                const char **val, apr_size_t *len);
apr_status_t flexsaml_store_put(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                apr_time_t expiry, const char *val, apr_size_t len);
apr_status_t flexsaml_store_remove(flexsaml_store *st, request_rec *r, char kind, const char *id);
/* Records id until expiry; APR_EEXIST when it was already recorded. */
apr_status_t flexsaml_store_once(flexsaml_store *st, request_rec *r, char kind, const char *id,
                                 apr_time_t expiry);
/* Counts a failure of this store; 1 when the caller should log it (at most
 * once per interval per process), with *count the failures it stands for. */
int flexsaml_store_failure_due(flexsaml_store *st, apr_uint32_t *count);

#endif
