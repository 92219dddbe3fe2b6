/*
 * Counters shared by every child process (metrics.c): one anonymous
 * shared-memory segment made by the parent, atomic increments. The refusal
 * counters are indexed by flexsaml_refusal (refusal.h).
 */
#ifndef FLEXSAML_METRICS_H
#define FLEXSAML_METRICS_H

#include "httpd.h"
#include "refusal.h"

enum { FLEXSAML_OP_GET, FLEXSAML_OP_PUT, FLEXSAML_OP_REMOVE, FLEXSAML_OP_ONCE, FLEXSAML_STORE_OPS };

typedef struct flexsaml_metrics {
    volatile apr_uint32_t logins;
    volatile apr_uint32_t refusals[FLEXSAML_R_COUNT];
    volatile apr_uint32_t store_ops[FLEXSAML_STORE_OPS];
    volatile apr_uint32_t store_errors;
    /* The budget of form POSTs kept through a login (preserve_post.c):
     * KiB taken since the second the current window began. */
    volatile apr_uint32_t post_window;
    volatile apr_uint32_t post_kib;
} flexsaml_metrics;

extern const char *const flexsaml_store_op_names[FLEXSAML_STORE_OPS];

flexsaml_metrics *flexsaml_metrics_create(apr_pool_t *pconf, server_rec *s);
void flexsaml_metric_login(request_rec *r);
void flexsaml_metric_refusal(request_rec *r, flexsaml_refusal why);
void flexsaml_metric_store(request_rec *r, int op, apr_status_t rv);

#endif
