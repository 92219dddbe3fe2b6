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

/* Every protected request counts a store read. One shared counter was one
 * cache line that each increment pulled to its own core (0.13 us of the
 * request in perf); each thread counts in one of these stripes instead,
 * each on a cache line of its own, and the status page adds them up. */
#define FLEXSAML_METRIC_STRIPES 16
typedef struct {
    _Alignas(64) volatile apr_uint32_t ops[FLEXSAML_STORE_OPS];
} flexsaml_op_stripe;

typedef struct flexsaml_metrics {
    flexsaml_op_stripe store_ops[FLEXSAML_METRIC_STRIPES];
    volatile apr_uint32_t logins;
    volatile apr_uint32_t refusals[FLEXSAML_R_COUNT];
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
/* The count of one store operation, over every stripe. */
apr_uint32_t flexsaml_metric_store_ops(flexsaml_metrics *m, int op);

#endif
