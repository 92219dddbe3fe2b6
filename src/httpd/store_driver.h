/*
 * How each backend is set up in httpd (store_socache.c, store_lmdb.c): its
 * lifecycle around the data operations of store_backend.h. store.c picks the
 * driver from FlexSAMLSessionCache and calls nothing else of a backend.
 */
#ifndef FLEXSAML_STORE_DRIVER_H
#define FLEXSAML_STORE_DRIVER_H

#include "httpd.h"
#include "store_backend.h"
#include "store_key.h"

typedef struct flexsaml_store_driver {
    const flexsaml_store_ops *ops;
    /* check_config (also under -t): parse arg (NULL: the default); name is
     * the provider ("lmdb", "shmcb", "redis", ...); opts what the other
     * FlexSAMLSessionCache* directives say. No file is touched
     * and no server is contacted yet. */
    const char *(*create)(apr_pool_t *p, const char *name, const char *arg,
                          const flexsaml_store_opts *opts, void **ctx, flexsaml_key_form *form);
    /* post_config, in the parent (as root): shared memory, directories. */
    apr_status_t (*init)(void *ctx, server_rec *s, apr_pool_t *pconf);
    /* child_init: what the data operations take as b. */
    apr_status_t (*child_init)(void *ctx, server_rec *s, apr_pool_t *pchild, void **b);
    /* Why a put failed with APR_ENOSPC, naming what to raise; NULL if not known. */
    const char *(*full_hint)(void *ctx, apr_pool_t *p);
    /* Said once at startup; NULL when the backend never evicts. */
    const char *(*caveat)(void *ctx, apr_pool_t *p);
    /* Why the calling thread's last data operation on b failed, for the
     * log line; NULL when the status code says it all. */
    const char *(*last_error)(void *b);
} flexsaml_store_driver;

extern const flexsaml_store_driver flexsaml_socache_driver;
extern const flexsaml_store_driver flexsaml_lmdb_driver;
extern const flexsaml_store_driver flexsaml_redis_driver;
void flexsaml_socache_register_mutex(apr_pool_t *pconf);

#endif
