/*
 * The store (store.c): one handle per virtual host over a backend (lmdb or a
 * socache provider) for sessions, pending requests, replay markers and the
 * logout index, with keys hashed by store_key.c and values sealed by seal.c.
 * scope: the public host for sessions, NULL for the other kinds.
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
#define FLEXSAML_KEY_POST 'p'  /* a form body kept through a login (preserve_post.c) */

void flexsaml_store_register_mutex(apr_pool_t *pconf);
#include "store_backend.h"

/* opts: FlexSAMLSessionCachePassword (read) and FlexSAMLSessionCacheTimeout. */
const char *flexsaml_store_create(apr_pool_t *p, const char *spec, const flexsaml_store_opts *opts,
                                  flexsaml_store **out);
apr_status_t flexsaml_store_init(flexsaml_store *st, server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp);
void flexsaml_store_child_init(flexsaml_store *st, server_rec *s, apr_pool_t *p);
const char *flexsaml_store_spec(const flexsaml_store *st);
/* What startup says once about this backend (it evicts under load), or NULL. */
const char *flexsaml_store_caveat(flexsaml_store *st, apr_pool_t *p);
/* APR_NOTFOUND when absent or expired. */
apr_status_t flexsaml_store_get(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                const char *id, const char **val, apr_size_t *len);
/* APR_ENOSPC when the store is full: nothing is evicted for it. */
apr_status_t flexsaml_store_put(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                const char *id, apr_time_t expiry, const char *val, apr_size_t len);
/* put, only over a live entry: APR_NOTFOUND when it was removed meanwhile. */
apr_status_t flexsaml_store_replace(flexsaml_store *st, request_rec *r, const char *scope,
                                    char kind, const char *id, apr_time_t expiry, const char *val,
                                    apr_size_t len);
apr_status_t flexsaml_store_remove(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                   const char *id);
/* Records id until expiry; APR_EEXIST when it was already recorded. */
/* The reference of an entry (store_key.h): NULL when the store is not open. */
const char *flexsaml_store_ref(flexsaml_store *st, apr_pool_t *p, const char *scope, char kind,
                               const char *id);
apr_status_t flexsaml_store_remove_ref(flexsaml_store *st, request_rec *r, char kind,
                                       const char *ref);
apr_status_t flexsaml_store_once(flexsaml_store *st, request_rec *r, const char *scope, char kind,
                                 const char *id, apr_time_t expiry);
/* For a failure rv: the line that says which size to raise when the store
 * is full, else NULL. */
const char *flexsaml_store_full_hint(flexsaml_store *st, apr_status_t rv, apr_pool_t *p);
/* What the backend said about the calling thread's last failure (redis's
 * own answer, say), or NULL. */
const char *flexsaml_store_last_error(flexsaml_store *st);
/* Counts a failure of this store; 1 when the caller should log it (at most
 * once per interval per process), with *count the failures it stands for. */
int flexsaml_store_failure_due(flexsaml_store *st, apr_uint32_t *count);

#endif
