/*
 * The per-child TaskRouter queue: one background thread that drains a
 * bounded queue of login jobs, coalesces jobs for the same Worker, retries
 * with backoff until each job's deadline, and logs every outcome once.
 * Core: APR threads only, no httpd header.
 */
#ifndef FLEXSAML_SYNC_H
#define FLEXSAML_SYNC_H

#include <apr_pools.h>
#include <apr_time.h>

#include "taskrouter.h"

typedef struct flexsaml_sync flexsaml_sync;

/* Counters since the start (or restart) of the server when shared by the
 * children, else of this child. Each is updated atomically. */
typedef struct {
    apr_uint32_t queued;    /* logins accepted into the queue (coalesced ones too) */
    apr_uint32_t coalesced; /* jobs replaced by a newer login of the same person */
    apr_uint32_t sent;      /* Workers written: updated or created */
    apr_uint32_t created;
    apr_uint32_t unchanged; /* nothing to write */
    apr_uint32_t no_worker; /* missing Worker, creation off */
    apr_uint32_t retried;   /* attempts scheduled again after a 429, 5xx, network error */
    apr_uint32_t failed;    /* given up, refused, queue full, or dropped at exit */
    apr_uint32_t requests;  /* HTTP requests made */
    apr_uint32_t depth;     /* jobs waiting now */
} flexsaml_sync_stats;

/* How a job is carried out: make builds one thread's state (NULL when it
 * cannot), run does one attempt. The default is flexsaml_tr_client_create +
 * flexsaml_tr_run; tests substitute their own. */
typedef struct {
    void *(*make)(apr_pool_t *p, volatile apr_uint32_t *stop);
    void (*run)(void *state, apr_pool_t *p, const flexsaml_tr_job *job, apr_time_t deadline,
                flexsaml_tr_outcome *out);
} flexsaml_sync_runner;

typedef struct {
    int capacity;                       /* most jobs waiting at once */
    const flexsaml_sync_runner *runner; /* NULL: TaskRouter over HTTP */
    flexsaml_tr_log_fn log;             /* for the process-wide lines (stats) */
    void *log_baton;
    flexsaml_sync_stats *shared; /* counters every child shares; NULL: its own */
} flexsaml_sync_conf;

/* Starts the thread. It stops, and the jobs still waiting are logged as
 * failures, before anything else of pchild is destroyed. */
const char *flexsaml_sync_start(apr_pool_t *pchild, const flexsaml_sync_conf *conf,
                                flexsaml_sync **out);

/* Queues a copy of job (its sid is ignored), due by now + its conf's
 * deadline; p is for this call's messages. 1: queued; 0: replaced the waiting job of the same
 * Worker; -1: queue full (logged as a sync failure and counted). */
int flexsaml_sync_enqueue(flexsaml_sync *s, apr_pool_t *p, const flexsaml_tr_job *job);

/* Sync mode: runs the job in the calling thread for at most budget. What is
 * still retryable then goes on in the background. Logs the outcome. */
void flexsaml_sync_run_now(flexsaml_sync *s, apr_pool_t *p, const flexsaml_tr_job *job,
                           apr_interval_time_t budget);

void flexsaml_sync_get_stats(flexsaml_sync *s, flexsaml_sync_stats *st);

/* The delay before retry number attempt (1, 2, ...): exponential from base,
 * capped at max, with half of it random ("equal jitter") so children do not
 * retry in step. A Retry-After (>= 0) wins, plus a little jitter. rnd is any
 * random 32-bit value. */
apr_interval_time_t flexsaml_sync_backoff(int attempt, apr_interval_time_t base,
                                          apr_interval_time_t max, apr_interval_time_t retry_after,
                                          apr_uint32_t rnd);

#endif
