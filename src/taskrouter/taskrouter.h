/*
 * The TaskRouter core: what a login wants a Worker to carry, the merge of
 * that into the Worker's attributes, and the REST calls (libcurl + jansson)
 * that read and write the Worker. No httpd header: the glue passes a logging
 * callback, and sync.c decides when an attempt runs and whether to retry.
 */
#ifndef FLEXSAML_TASKROUTER_H
#define FLEXSAML_TASKROUTER_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "flexsaml.h"

/* Log levels, numerically the same as syslog's and APLOG_*. */
#define FLEXSAML_TR_LOG_ERR 3
#define FLEXSAML_TR_LOG_WARNING 4
#define FLEXSAML_TR_LOG_NOTICE 5
#define FLEXSAML_TR_LOG_INFO 6
#define FLEXSAML_TR_LOG_DEBUG 7

/* msg is complete and never holds a secret. */
typedef void (*flexsaml_tr_log_fn)(void *baton, int level, const char *msg);

/* Twilio's limit on a Worker's FriendlyName. */
#define FLEXSAML_TR_NAME_MAX 64

/* One site's TaskRouter settings, read-only once the server runs. */
typedef struct {
    const char *base_url;                /* scheme://host[:port], no trailing slash */
    const char *workspace;               /* WS… */
    const char *user;                    /* SK… (API key) or AC… (account) */
    const char *secret;                  /* never logged, never in a message */
    apr_interval_time_t request_timeout; /* per HTTP request, connect included */
    apr_interval_time_t deadline;        /* from the login to the last retry */
    apr_interval_time_t backoff_base;    /* first retry delay */
    apr_interval_time_t backoff_max;     /* longest retry delay */
    int create_workers;
    const char *worker_claim;  /* the claim that is the FriendlyName */
    apr_array_header_t *owned; /* const char *: the attribute keys this module owns */
    flexsaml_tr_log_fn log;
    void *log_baton;
} flexsaml_tr_conf;

/* What one login wants its Worker to carry. */
typedef struct {
    const flexsaml_tr_conf *conf;
    const char *name;    /* FriendlyName */
    const char *desired; /* compact JSON object: the owned keys the IdP sent */
    const char *sid;     /* the Worker's sid when known from an earlier sync, else NULL */
} flexsaml_tr_job;

typedef enum {
    FLEXSAML_TR_UPDATED = 0,
    FLEXSAML_TR_CREATED,
    FLEXSAML_TR_UNCHANGED,
    FLEXSAML_TR_NO_WORKER, /* missing and FlexSAMLTaskRouterCreateWorkers off */
    FLEXSAML_TR_RETRY,     /* 429, 5xx, network: worth another attempt later */
    FLEXSAML_TR_FAILED     /* retrying the same thing cannot help */
} flexsaml_tr_status;

typedef struct {
    flexsaml_tr_status status;
    const char *reason;              /* for the log line */
    apr_interval_time_t retry_after; /* from a Retry-After header; -1 when absent */
    const char *sid;                 /* the Worker's sid when it is known */
    const char *keys;                /* updated/created: the owned keys written, "a,b" */
    int requests;                    /* HTTP requests this attempt made */
} flexsaml_tr_outcome;

/* Builds the FriendlyName and the desired attributes of an identity: each
 * owned key the IdP sent, roles as a JSON array of the normalized roles.
 * Returns NULL, or why there is nothing to sync (no value for the Worker
 * name claim, a name over FLEXSAML_TR_NAME_MAX characters). */
const char *flexsaml_tr_desired(apr_pool_t *p, const flexsaml_tr_conf *c,
                                const flexsaml_identity *id, const char **name,
                                const char **desired);

/* Merges desired (owned keys present) into current (a Worker's attributes;
 * NULL, "" or "null" count as {}): sets each owned key desired holds,
 * removes each owned key it lacks, keeps every other key as it is.
 * Returns 1 and *out (compact JSON) when something changed, 0 when nothing
 * did, -1 and *err when current is not a JSON object. *keys (may be NULL)
 * lists the owned keys that changed. */
int flexsaml_tr_merge_attributes(apr_pool_t *p, const char *current, const char *desired,
                                 const apr_array_header_t *owned, const char **out,
                                 const char **keys, const char **err);

/* FriendlyName equality: Twilio compares names case-insensitively (ASCII
 * letters); other bytes must match exactly. */
int flexsaml_tr_name_equal(const char *a, const char *b);

/* /v1/Workspaces/<WS>/Workers */
const char *flexsaml_tr_workers_path(apr_pool_t *p, const char *workspace);

/* Reads one page of ListWorker: *sid is the Worker whose friendly_name
 * equals name (NULL when none), *next the path and query of the next page
 * under /v1/Workspaces/<workspace>/Workers (NULL on the last page, or when it
 * points anywhere else). Returns NULL or why the page is unusable. */
const char *flexsaml_tr_list_pick(apr_pool_t *p, const char *body, const char *workspace,
                                  const char *name, const char **sid, const char **next);

/* 1 when s is two letters prefix followed by 32 hex digits. */
int flexsaml_tr_sid_valid(const char *s, const char *prefix);

/* One HTTP client: a libcurl easy handle, used by one thread at a time,
 * cleaned up with p. When stop is not NULL, a request in flight is aborted
 * as soon as *stop becomes non-zero. NULL when libcurl cannot start. */
typedef struct flexsaml_tr_client flexsaml_tr_client;
flexsaml_tr_client *flexsaml_tr_client_create(apr_pool_t *p, volatile apr_uint32_t *stop);

/* One attempt at bringing the job's Worker up to date: find it (unless
 * job->sid), fetch, merge, update with If-Match (again after a 412, a few
 * times), or create it. No request starts after deadline, and none outlives
 * it. Allocates from p. */
void flexsaml_tr_run(flexsaml_tr_client *cl, apr_pool_t *p, const flexsaml_tr_job *job,
                     apr_time_t deadline, flexsaml_tr_outcome *out);

/* Process-wide libcurl and jansson setup: call once, before any thread. */
const char *flexsaml_tr_global_init(void);

#endif
