/*
 * A child's background thread (child_thread.c): runs a job every interval
 * until the child's pool is cleaned up, and is joined then, before anything
 * the job uses that was registered earlier in that pool goes away.
 */
#ifndef FLEXSAML_CHILD_THREAD_H
#define FLEXSAML_CHILD_THREAD_H

#include "apr_pools.h"
#include "apr_time.h"

typedef void (*flexsaml_child_job)(void *data);

/* Waits first, runs job(data), then again every interval, until pchild is
 * cleaned up. */
apr_status_t flexsaml_child_thread_start(apr_pool_t *pchild, apr_interval_time_t first,
                                         apr_interval_time_t every, flexsaml_child_job job,
                                         void *data);

#endif
