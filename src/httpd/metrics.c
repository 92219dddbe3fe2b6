/*
 * Counters shared by every child process: one anonymous shared-memory
 * segment made by the parent, atomic increments. status.c shows them.
 */
#include <stdint.h>
#include <string.h>

#include "http_core.h"
#include "apr_shm.h"
#include "apr_atomic.h"
#include "apr_portable.h"

#include "flexsaml_glue.h"
#include "runtime.h"
#include "metrics.h"

const char *const flexsaml_store_op_names[FLEXSAML_STORE_OPS] = {"get", "put", "remove", "once"};

static apr_status_t shm_gone(void *data)
{
    apr_shm_destroy(data);
    return APR_SUCCESS;
}

/* The stripes want their cache-line alignment, which neither a pool nor
 * apr_shm gives (an anonymous segment's base sits 8 bytes into its mapping,
 * after APR's own size field): room for it is asked for, and the base is
 * rounded up. */
static flexsaml_metrics *aligned(void *raw)
{
    uintptr_t a = _Alignof(flexsaml_metrics), at = (uintptr_t)raw;
    return (flexsaml_metrics *)(void *)((char *)raw + (a - at % a) % a);
}

flexsaml_metrics *flexsaml_metrics_create(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    flexsaml_metrics *m;
    apr_size_t size = sizeof(*m) + _Alignof(flexsaml_metrics);
    apr_status_t rv = apr_shm_create(&shm, size, NULL, pconf);

    if (rv != APR_SUCCESS) {
        /* Counters are informative: without shared memory they stay
         * per process, and the status page says nothing wrong. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "flexsaml: no shared memory for counters; they are per process");
        return aligned(apr_pcalloc(pconf, size));
    }
    m = aligned(apr_shm_baseaddr_get(shm));
    memset(m, 0, sizeof(*m));
    apr_pool_cleanup_register(pconf, shm, shm_gone, apr_pool_cleanup_null);
    return m;
}

static flexsaml_metrics *metrics_of(request_rec *r)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    return c->rt ? c->rt->metrics : NULL;
}

void flexsaml_metric_login(request_rec *r)
{
    flexsaml_metrics *m = metrics_of(r);
    if (m)
        apr_atomic_inc32(&m->logins);
}

void flexsaml_metric_refusal(request_rec *r, flexsaml_refusal why)
{
    flexsaml_metrics *m = metrics_of(r);
    if (m && (int)why > (int)FLEXSAML_R_NONE && (int)why < (int)FLEXSAML_R_COUNT)
        apr_atomic_inc32(&m->refusals[why]);
}

/* This thread's stripe: a multiplicative hash of its id (thread ids are
 * addresses, far apart and aligned, so their low bits say little). */
static unsigned stripe(void)
{
    apr_uint64_t t = (apr_uint64_t)(uintptr_t)apr_os_thread_current();
    return (unsigned)((t * 0x9E3779B97F4A7C15ULL) >> 60) % FLEXSAML_METRIC_STRIPES;
}

apr_uint32_t flexsaml_metric_store_ops(flexsaml_metrics *m, int op)
{
    apr_uint32_t n = 0;
    int i;
    for (i = 0; i < FLEXSAML_METRIC_STRIPES; i++)
        n += apr_atomic_read32(&m->store_ops[i].ops[op]);
    return n;
}

void flexsaml_metric_store(request_rec *r, int op, apr_status_t rv)
{
    flexsaml_metrics *m = metrics_of(r);
    if (!m)
        return;
    apr_atomic_inc32(&m->store_ops[stripe()].ops[op]);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND && rv != APR_EEXIST)
        apr_atomic_inc32(&m->store_errors);
}
