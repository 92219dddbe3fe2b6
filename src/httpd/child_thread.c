/*
 * One background thread per job in a child (the IdP metadata refresh, the
 * lmdb sweeper): a condition variable lets the pool cleanup wake it at once,
 * so a child exits without waiting out an interval.
 */
#include "apr_thread_proc.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"

#include "child_thread.h"

typedef struct {
    flexsaml_child_job job;
    void *data;
    apr_interval_time_t first, every;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    int stopping;
    apr_thread_t *thread;
} child_thread;

static void *APR_THREAD_FUNC loop(apr_thread_t *t, void *data)
{
    child_thread *ct = data;
    apr_interval_time_t wait = ct->first;

    apr_thread_mutex_lock(ct->lock);
    while (!ct->stopping) {
        if (wait > 0)
            apr_thread_cond_timedwait(ct->wake, ct->lock, wait);
        wait = ct->every;
        if (ct->stopping)
            break;
        apr_thread_mutex_unlock(ct->lock);
        ct->job(ct->data);
        apr_thread_mutex_lock(ct->lock);
    }
    apr_thread_mutex_unlock(ct->lock);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static apr_status_t stop(void *data)
{
    child_thread *ct = data;
    apr_status_t ignored;

    apr_thread_mutex_lock(ct->lock);
    ct->stopping = 1;
    apr_thread_cond_signal(ct->wake);
    apr_thread_mutex_unlock(ct->lock);
    apr_thread_join(&ignored, ct->thread);
    return APR_SUCCESS;
}

apr_status_t flexsaml_child_thread_start(apr_pool_t *pchild, apr_interval_time_t first,
                                         apr_interval_time_t every, flexsaml_child_job job,
                                         void *data)
{
    child_thread *ct = apr_pcalloc(pchild, sizeof(*ct));
    apr_status_t rv;

    ct->job = job;
    ct->data = data;
    ct->first = first;
    ct->every = every;
    if ((rv = apr_thread_mutex_create(&ct->lock, APR_THREAD_MUTEX_DEFAULT, pchild)) ||
        (rv = apr_thread_cond_create(&ct->wake, pchild)) ||
        (rv = apr_thread_create(&ct->thread, NULL, loop, ct, pchild)))
        return rv;
    /* Registered after whatever the job uses, so it runs before their
     * cleanups: the thread is gone before they are. */
    apr_pool_cleanup_register(pchild, ct, stop, apr_pool_cleanup_null);
    return APR_SUCCESS;
}
