/*
 * The per-child TaskRouter queue. A login only copies its job into the queue
 * and signals; one thread per child does the HTTP, so Twilio's speed or
 * health never shows in a login's latency.
 *
 * Jobs wait in FIFO order; a hash finds the waiting job of a Worker so a
 * newer login replaces it (only the newest identity is sent). A job that must
 * be retried goes back into the queue with a not-before time, so one Worker's
 * backoff does not hold up the others, while a Retry-After pauses the whole
 * queue (Twilio throttles per account, not per Worker).
 *
 * Memory: the queue has its own pool on an allocator with a mutex, because
 * job pools (its sub-pools) are created in request threads and destroyed in
 * the sync thread. The lists, the hash and the sid cache are touched only
 * under s->lock.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <apr_thread_mutex.h>
#include <apr_thread_cond.h>
#include <apr_allocator.h>

#include "queue.h"

#define SID_CACHE_MAX 10000

typedef struct sync_job sync_job;
struct sync_job {
    apr_pool_t *pool;
    sync_job *prev, *next;
    const char *key; /* conf + lower-cased name: one Worker of one site */
    flexsaml_tr_job tj;
    apr_time_t deadline;
    apr_time_t not_before;
    int attempts;
    int requests;     /* over all attempts */
    const char *last; /* why the last attempt must be retried */
};

struct flexsaml_sync {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cond;
    apr_thread_t *thread;
    volatile apr_uint32_t stop;
    sync_job *head, *tail;
    apr_hash_t *waiting;        /* key -> sync_job in the list */
    apr_time_t throttled_until; /* from a Retry-After */
    apr_pool_t *cache_pool;     /* the sid cache, cleared when it is full */
    apr_hash_t *sids;           /* key -> Worker sid */
    apr_array_header_t *idle;   /* runner states for sync-mode logins */
    int capacity;
    int busy; /* jobs done since the last stats line */
    int busy_ever;
    apr_uint64_t rng;
    int waiting_count;         /* this child's waiting jobs, against capacity */
    flexsaml_sync_stats local; /* the counters, unless conf->shared names others */
    flexsaml_sync_stats *st;   /* updated atomically: it may be shared by children */
    const flexsaml_sync_runner *runner;
    flexsaml_tr_log_fn log;
    void *log_baton;
};

/* ---- the default runner: TaskRouter over HTTP ---- */

static void *http_make(apr_pool_t *p, volatile apr_uint32_t *stop)
{
    return flexsaml_tr_client_create(p, stop);
}

static void http_run(void *state, apr_pool_t *p, const flexsaml_tr_job *job, apr_time_t deadline,
                     flexsaml_tr_outcome *out)
{
    flexsaml_tr_run(state, p, job, deadline, out);
}

static const flexsaml_sync_runner http_runner = {http_make, http_run};

/* ---- small pure parts ---- */

apr_interval_time_t flexsaml_sync_backoff(int attempt, apr_interval_time_t base,
                                          apr_interval_time_t max, apr_interval_time_t retry_after,
                                          apr_uint32_t rnd)
{
    apr_interval_time_t d = base > 0 ? base : 1;
    int i;
    if (retry_after >= 0) {
        apr_interval_time_t j = (base < apr_time_from_sec(1) ? base : apr_time_from_sec(1)) / 4;
        return retry_after + (j > 0 ? (apr_interval_time_t)(rnd % (apr_uint32_t)(j + 1)) : 0);
    }
    for (i = 1; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    return d / 2 + (apr_interval_time_t)(rnd % (apr_uint32_t)(d / 2 + 1));
}

static apr_uint32_t next_rand(apr_uint64_t *x)
{
    /* xorshift64*: jitter only, nothing secret depends on it. */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return (apr_uint32_t)((*x * 0x2545F4914F6CDD1DULL) >> 32);
}

static const char *job_key(apr_pool_t *p, const flexsaml_tr_job *job)
{
    char *k = apr_psprintf(p, "%pp|%s", (const void *)job->conf, job->name), *c;
    for (c = k; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a'); /* FriendlyNames match case-insensitively */
    return k;
}

static const char *ms(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_TIME_T_FMT "ms", t / 1000);
}

/* ---- the queue (all under s->lock) ---- */

static void unlink_job(flexsaml_sync *s, sync_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        s->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        s->tail = j->prev;
    j->prev = j->next = NULL;
    apr_hash_set(s->waiting, j->key, APR_HASH_KEY_STRING, NULL);
    s->waiting_count--;
    apr_atomic_dec32(&s->st->depth);
}

static void append_job(flexsaml_sync *s, sync_job *j)
{
    j->prev = s->tail;
    j->next = NULL;
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    apr_hash_set(s->waiting, j->key, APR_HASH_KEY_STRING, j);
    s->waiting_count++;
    apr_atomic_inc32(&s->st->depth);
}

/* Puts j where old waits, old's backoff included, and frees old. */
static void replace_job(flexsaml_sync *s, sync_job *old, sync_job *j)
{
    j->prev = old->prev;
    j->next = old->next;
    if (j->prev)
        j->prev->next = j;
    else
        s->head = j;
    if (j->next)
        j->next->prev = j;
    else
        s->tail = j;
    j->attempts = old->attempts;
    j->not_before = old->not_before;
    j->last = old->last ? apr_pstrdup(j->pool, old->last) : NULL;
    /* Remove first: setting an existing entry keeps its key pointer, which
     * lives in old's pool. */
    apr_hash_set(s->waiting, old->key, APR_HASH_KEY_STRING, NULL);
    apr_hash_set(s->waiting, j->key, APR_HASH_KEY_STRING, j);
    apr_pool_destroy(old->pool);
    apr_atomic_inc32(&s->st->coalesced);
}

static sync_job *copy_job(flexsaml_sync *s, const flexsaml_tr_job *tj, apr_time_t now)
{
    apr_pool_t *p;
    sync_job *j;
    apr_pool_create(&p, s->pool);
    j = apr_pcalloc(p, sizeof(*j));
    j->pool = p;
    j->tj.conf = tj->conf;
    j->tj.name = apr_pstrdup(p, tj->name);
    j->tj.desired = apr_pstrdup(p, tj->desired);
    j->key = job_key(p, tj);
    j->deadline = now + tj->conf->deadline;
    return j;
}

static const char *cached_sid(flexsaml_sync *s, const char *key)
{
    return apr_hash_get(s->sids, key, APR_HASH_KEY_STRING);
}

static void cache_sid(flexsaml_sync *s, const char *key, const char *sid)
{
    const char *have = apr_hash_get(s->sids, key, APR_HASH_KEY_STRING);
    if (sid && have && !strcmp(have, sid))
        return;
    if (!sid) {
        apr_hash_set(s->sids, key, APR_HASH_KEY_STRING, NULL);
        return;
    }
    if (apr_hash_count(s->sids) >= SID_CACHE_MAX) {
        /* Bounded: forgetting costs one lookup per person, nothing more. */
        apr_pool_clear(s->cache_pool);
        s->sids = apr_hash_make(s->cache_pool);
    }
    apr_hash_set(s->sids, apr_pstrdup(s->cache_pool, key), APR_HASH_KEY_STRING,
                 apr_pstrdup(s->cache_pool, sid));
}

/* ---- outcomes ---- */

static void log_to(const flexsaml_tr_conf *c, int level, const char *msg)
{
    if (c->log)
        c->log(c->log_baton, level, msg);
}

/* The line of a job that ends without its update: it is not silently lost.
 * counts is "" or " requests=N attempts=M". */
static const char *failure(apr_pool_t *p, const char *name, const char *counts, const char *reason)
{
    return apr_psprintf(p,
                        "taskrouter worker=\"%s\" outcome=failed%s reason=\"%s\": a sync "
                        "failure, the next login of this person sends the full state again",
                        name, counts, reason);
}

/* Counts a final outcome and returns its log line and level. Under lock. */
static const char *conclude(flexsaml_sync *s, apr_pool_t *p, const sync_job *j,
                            const flexsaml_tr_outcome *o, int *level)
{
    const char *n = j->tj.name, *sid = o->sid ? o->sid : "?";
    const char *counts = apr_psprintf(p, " requests=%d attempts=%d", j->requests, j->attempts);
    *level = FLEXSAML_TR_LOG_INFO;
    switch (o->status) {
    case FLEXSAML_TR_UPDATED:
    case FLEXSAML_TR_CREATED:
        apr_atomic_inc32(&s->st->sent);
        if (o->status == FLEXSAML_TR_CREATED)
            apr_atomic_inc32(&s->st->created);
        cache_sid(s, j->key, o->sid);
        return apr_psprintf(p, "taskrouter worker=\"%s\" outcome=%s sid=%s keys=%s%s", n,
                            o->status == FLEXSAML_TR_CREATED ? "created" : "updated", sid,
                            o->keys ? o->keys : "", counts);
    case FLEXSAML_TR_UNCHANGED:
        apr_atomic_inc32(&s->st->unchanged);
        cache_sid(s, j->key, o->sid);
        return apr_psprintf(p, "taskrouter worker=\"%s\" outcome=unchanged sid=%s%s", n, sid,
                            counts);
    case FLEXSAML_TR_NO_WORKER:
        apr_atomic_inc32(&s->st->no_worker);
        cache_sid(s, j->key, NULL);
        *level = FLEXSAML_TR_LOG_NOTICE;
        return apr_psprintf(p, "taskrouter worker=\"%s\" outcome=no_worker%s reason=\"%s\"", n,
                            counts, o->reason);
    default:
        apr_atomic_inc32(&s->st->failed);
        cache_sid(s, j->key, NULL);
        *level = FLEXSAML_TR_LOG_WARNING;
        return failure(p, n, counts, o->reason);
    }
}

/* Why a job ends at its deadline; last is the last attempt's trouble. */
static const char *gave_up(apr_pool_t *p, const sync_job *j, const char *last)
{
    const char *d = ms(p, j->tj.conf->deadline);
    if (!last)
        return apr_psprintf(p,
                            "the deadline (FlexSAMLTaskRouterDeadline %s) passed while it "
                            "waited in the queue",
                            d);
    return apr_psprintf(p,
                        "gave up at the deadline (FlexSAMLTaskRouterDeadline %s) after %d "
                        "attempts; last: %s",
                        d, j->attempts, last);
}

/* What to do with an attempt's outcome. Under lock. Returns the line to
 * log (NULL: nothing), and whether j was kept (requeued). */
static const char *settle(flexsaml_sync *s, apr_pool_t *p, sync_job *j, flexsaml_tr_outcome *o,
                          int *level, int *kept)
{
    apr_time_t now = apr_time_now();
    apr_interval_time_t delay;
    sync_job *newer;

    *kept = 0;
    apr_atomic_add32(&s->st->requests, (apr_uint32_t)o->requests);
    j->requests += o->requests;
    j->attempts++;
    if (o->status != FLEXSAML_TR_RETRY)
        return conclude(s, p, j, o, level);
    if (o->sid)
        cache_sid(s, j->key, o->sid);
    if (apr_atomic_read32(&s->stop)) {
        o->status = FLEXSAML_TR_FAILED;
        o->reason = apr_pstrcat(p, o->reason, " (the server is stopping)", NULL);
        return conclude(s, p, j, o, level);
    }
    delay = flexsaml_sync_backoff(j->attempts, j->tj.conf->backoff_base, j->tj.conf->backoff_max,
                                  o->retry_after, next_rand(&s->rng));
    if (o->retry_after >= 0 && now + delay > s->throttled_until)
        s->throttled_until = now + delay;
    newer = apr_hash_get(s->waiting, j->key, APR_HASH_KEY_STRING);
    if (newer) {
        /* A newer login of this person is waiting: it carries the newest
         * identity, so it inherits this backoff and this job ends here. */
        newer->attempts = j->attempts;
        newer->not_before = now + delay;
        newer->last = apr_pstrdup(newer->pool, o->reason);
        apr_atomic_inc32(&s->st->retried);
        apr_atomic_inc32(&s->st->coalesced);
        *level = FLEXSAML_TR_LOG_DEBUG;
        return apr_psprintf(p, "taskrouter worker=\"%s\" superseded by a newer login after: %s",
                            j->tj.name, o->reason);
    }
    if (now + delay >= j->deadline) {
        o->status = FLEXSAML_TR_FAILED;
        o->reason = gave_up(p, j, o->reason);
        return conclude(s, p, j, o, level);
    }
    j->not_before = now + delay;
    j->last = apr_pstrdup(j->pool, o->reason);
    append_job(s, j);
    *kept = 1;
    apr_atomic_inc32(&s->st->retried);
    *level = FLEXSAML_TR_LOG_DEBUG;
    return apr_psprintf(p, "taskrouter worker=\"%s\" retry %d in %s: %s", j->tj.name, j->attempts,
                        ms(p, delay), o->reason);
}

static const char *stats_line(apr_pool_t *p, const flexsaml_sync_stats *st)
{
    return apr_psprintf(p,
                        "taskrouter stats: queued=%u coalesced=%u sent=%u created=%u "
                        "unchanged=%u no_worker=%u retried=%u failed=%u requests=%u depth=%u",
                        st->queued, st->coalesced, st->sent, st->created, st->unchanged,
                        st->no_worker, st->retried, st->failed, st->requests, st->depth);
}

/* ---- the thread ---- */

/* The first job that may run now; else *wake is when one may (0: none). */
static sync_job *next_ready(flexsaml_sync *s, apr_time_t now, apr_time_t *wake)
{
    sync_job *j;
    *wake = 0;
    for (j = s->head; j; j = j->next) {
        apr_time_t at = j->not_before > s->throttled_until ? j->not_before : s->throttled_until;
        if (at <= now || j->deadline <= now)
            return j; /* an expired job is settled at once, throttle or not */
        if (!*wake || at < *wake)
            *wake = at;
    }
    return NULL;
}

static void *APR_THREAD_FUNC sync_main(apr_thread_t *t, void *v)
{
    flexsaml_sync *s = v;
    apr_pool_t *tp, *ap;
    void *state;
    sync_job *j;

    apr_pool_create(&tp, s->pool);
    apr_pool_create(&ap, tp);
    state = s->runner->make(tp, &s->stop);
    apr_thread_mutex_lock(s->lock);
    while (!apr_atomic_read32(&s->stop)) {
        flexsaml_tr_outcome o;
        apr_time_t now = apr_time_now(), wake;
        const char *line;
        int level, kept;

        if (!(j = next_ready(s, now, &wake))) {
            if (s->busy && !s->head) {
                /* Drained: the counters, once per burst of work. */
                flexsaml_sync_stats st;
                flexsaml_sync_get_stats(s, &st);
                s->busy = 0;
                apr_thread_mutex_unlock(s->lock);
                if (s->log)
                    s->log(s->log_baton, FLEXSAML_TR_LOG_INFO, stats_line(ap, &st));
                apr_pool_clear(ap);
                apr_thread_mutex_lock(s->lock);
                continue;
            }
            if (wake)
                apr_thread_cond_timedwait(s->cond, s->lock, wake - now);
            else
                apr_thread_cond_wait(s->cond, s->lock);
            continue;
        }
        unlink_job(s, j);
        j->tj.sid = cached_sid(s, j->key);
        if (j->tj.sid)
            j->tj.sid = apr_pstrdup(j->pool, j->tj.sid);
        s->busy = s->busy_ever = 1;
        apr_thread_mutex_unlock(s->lock);

        memset(&o, 0, sizeof(o));
        o.retry_after = -1;
        o.status = FLEXSAML_TR_FAILED;
        if (now >= j->deadline)
            o.reason = gave_up(ap, j, j->last); /* no attempt now: nothing is sent */
        else if (!state)
            o.reason = "the HTTP client (libcurl) could not start";
        else
            s->runner->run(state, ap, &j->tj, j->deadline, &o);

        apr_thread_mutex_lock(s->lock);
        kept = 0;
        line = now >= j->deadline ? conclude(s, ap, j, &o, &level)
                                  : settle(s, ap, j, &o, &level, &kept);
        if (!kept)
            apr_pool_destroy(j->pool);
        apr_thread_mutex_unlock(s->lock);
        if (line)
            log_to(j->tj.conf, level, line);
        apr_pool_clear(ap);
        apr_thread_mutex_lock(s->lock);
    }
    /* Stopping: what waits is not sent, but it is not silent either. */
    while ((j = s->head) != NULL) {
        unlink_job(s, j);
        apr_atomic_inc32(&s->st->failed);
        log_to(j->tj.conf, FLEXSAML_TR_LOG_WARNING,
               failure(ap, j->tj.name, "", "the server stopped before it could be sent"));
        apr_pool_destroy(j->pool);
    }
    if (s->log && s->busy_ever) {
        flexsaml_sync_stats st;
        flexsaml_sync_get_stats(s, &st);
        s->log(s->log_baton, FLEXSAML_TR_LOG_INFO, stats_line(ap, &st));
    }
    apr_thread_mutex_unlock(s->lock);
    apr_pool_destroy(tp);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static apr_status_t sync_stop(void *v)
{
    flexsaml_sync *s = v;
    apr_status_t rv;
    apr_atomic_set32(&s->stop, 1);
    apr_thread_mutex_lock(s->lock);
    apr_thread_cond_broadcast(s->cond);
    apr_thread_mutex_unlock(s->lock);
    apr_thread_join(&rv, s->thread);
    return APR_SUCCESS;
}

const char *flexsaml_sync_start(apr_pool_t *pchild, const flexsaml_sync_conf *conf,
                                flexsaml_sync **out)
{
    apr_allocator_t *alloc;
    apr_thread_mutex_t *amutex;
    apr_pool_t *p;
    flexsaml_sync *s;
    apr_status_t rv;

    if ((rv = apr_allocator_create(&alloc)) != APR_SUCCESS)
        return "cannot create an allocator";
    if ((rv = apr_pool_create_ex(&p, pchild, NULL, alloc)) != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return "cannot create a pool";
    }
    apr_allocator_owner_set(alloc, p);
    /* Job pools come and go; give memory back beyond what a burst needs. */
    apr_allocator_max_free_set(alloc, 1024 * 1024);
    if (apr_thread_mutex_create(&amutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return "cannot create a mutex";
    apr_allocator_mutex_set(alloc, amutex);

    s = apr_pcalloc(p, sizeof(*s));
    s->pool = p;
    s->capacity = conf->capacity > 0 ? conf->capacity : 1;
    s->runner = conf->runner ? conf->runner : &http_runner;
    s->st = conf->shared ? conf->shared : &s->local;
    s->log = conf->log;
    s->log_baton = conf->log_baton;
    s->waiting = apr_hash_make(p);
    s->idle = apr_array_make(p, 4, sizeof(void *));
    apr_pool_create(&s->cache_pool, p);
    s->sids = apr_hash_make(s->cache_pool);
    s->rng = (apr_uint64_t)apr_time_now() ^ ((apr_uint64_t)(apr_uintptr_t)s << 16) ^ 1;
    if (apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS ||
        apr_thread_cond_create(&s->cond, p) != APR_SUCCESS)
        return "cannot create the queue lock";
    if ((rv = apr_thread_create(&s->thread, NULL, sync_main, s, p)) != APR_SUCCESS)
        return "cannot start the sync thread";
    /* A pre-cleanup: plain cleanups run after sub-pools are gone, and the
     * thread still uses s->pool until it is joined. */
    apr_pool_pre_cleanup_register(pchild, s, sync_stop);
    *out = s;
    return NULL;
}

int flexsaml_sync_enqueue(flexsaml_sync *s, apr_pool_t *p, const flexsaml_tr_job *job)
{
    apr_time_t now = apr_time_now();
    sync_job *j, *old;
    int rc = 1;

    apr_thread_mutex_lock(s->lock);
    j = copy_job(s, job, now);
    if ((old = apr_hash_get(s->waiting, j->key, APR_HASH_KEY_STRING)) != NULL) {
        replace_job(s, old, j);
        rc = 0;
    } else if (s->waiting_count >= s->capacity) {
        apr_atomic_inc32(&s->st->failed);
        apr_pool_destroy(j->pool);
        apr_thread_mutex_unlock(s->lock);
        log_to(job->conf, FLEXSAML_TR_LOG_WARNING,
               failure(p, job->name, "",
                       apr_psprintf(p, "the queue is full (%d jobs waiting)", s->capacity)));
        return -1;
    } else {
        append_job(s, j);
    }
    apr_atomic_inc32(&s->st->queued);
    apr_thread_cond_signal(s->cond);
    apr_thread_mutex_unlock(s->lock);
    return rc;
}

void flexsaml_sync_run_now(flexsaml_sync *s, apr_pool_t *p, const flexsaml_tr_job *job,
                           apr_interval_time_t budget)
{
    apr_time_t start = apr_time_now(), end = start + budget;
    apr_uint64_t rng = (apr_uint64_t)start | 1;
    apr_uint32_t earlier_requests = 0;
    flexsaml_tr_job tj = *job;
    flexsaml_tr_outcome o;
    sync_job *old, *j;
    const char *key = job_key(p, job), *line;
    void *state;
    int attempts = 0, level, kept;

    if (end > start + job->conf->deadline)
        end = start + job->conf->deadline;
    apr_thread_mutex_lock(s->lock);
    if ((old = apr_hash_get(s->waiting, key, APR_HASH_KEY_STRING)) != NULL) {
        /* This login is newer than the one waiting: that one need not run. */
        unlink_job(s, old);
        apr_pool_destroy(old->pool);
        apr_atomic_inc32(&s->st->coalesced);
    }
    apr_atomic_inc32(&s->st->queued);
    tj.sid = cached_sid(s, key);
    if (tj.sid)
        tj.sid = apr_pstrdup(p, tj.sid);
    if (s->idle->nelts)
        state = *(void **)apr_array_pop(s->idle);
    else
        state = s->runner->make(s->pool, &s->stop);
    apr_thread_mutex_unlock(s->lock);

    for (;;) {
        apr_interval_time_t delay;
        memset(&o, 0, sizeof(o));
        o.retry_after = -1;
        if (!state) {
            o.status = FLEXSAML_TR_FAILED;
            o.reason = "the HTTP client (libcurl) could not start";
            break;
        }
        s->runner->run(state, p, &tj, end, &o);
        if (o.status != FLEXSAML_TR_RETRY)
            break;
        delay = flexsaml_sync_backoff(attempts + 1, job->conf->backoff_base, job->conf->backoff_max,
                                      o.retry_after, next_rand(&rng));
        if (apr_time_now() + delay >= end)
            break;
        attempts++;
        earlier_requests += (apr_uint32_t)o.requests;
        apr_sleep(delay);
    }

    apr_thread_mutex_lock(s->lock);
    if (state)
        APR_ARRAY_PUSH(s->idle, void *) = state;
    apr_atomic_add32(&s->st->retried, (apr_uint32_t)attempts);
    apr_atomic_add32(&s->st->requests, earlier_requests);
    /* The job as the background would hold it: a retryable outcome goes on
     * there until the deadline (or hands its backoff to a newer login). */
    j = copy_job(s, &tj, start);
    j->attempts = attempts;
    j->requests = (int)earlier_requests;
    line = settle(s, p, j, &o, &level, &kept);
    if (kept) {
        apr_thread_cond_signal(s->cond);
        line = apr_psprintf(p,
                            "taskrouter worker=\"%s\" not done within "
                            "FlexSAMLTaskRouterSyncTimeout (%s), continuing in the background: %s",
                            job->name, ms(p, budget), o.reason);
        level = FLEXSAML_TR_LOG_NOTICE;
    } else {
        apr_pool_destroy(j->pool);
    }
    apr_thread_mutex_unlock(s->lock);
    if (line)
        log_to(job->conf, level, line);
}

void flexsaml_sync_get_stats(flexsaml_sync *s, flexsaml_sync_stats *st)
{
    /* No lock: each counter is atomic (and may be shared by other children),
     * and the thread reads them while it holds s->lock. */
    st->queued = apr_atomic_read32(&s->st->queued);
    st->coalesced = apr_atomic_read32(&s->st->coalesced);
    st->sent = apr_atomic_read32(&s->st->sent);
    st->created = apr_atomic_read32(&s->st->created);
    st->unchanged = apr_atomic_read32(&s->st->unchanged);
    st->no_worker = apr_atomic_read32(&s->st->no_worker);
    st->retried = apr_atomic_read32(&s->st->retried);
    st->failed = apr_atomic_read32(&s->st->failed);
    st->requests = apr_atomic_read32(&s->st->requests);
    st->depth = apr_atomic_read32(&s->st->depth);
}
