/*
 * The TaskRouter sync inside httpd: the validation of its settings at startup
 * (`apache2 -t` refuses a wrong Workspace, credentials or URL), the per-child
 * queue started in child_init, and the hand-off from the ACS. The REST work
 * and the merge are in taskrouter.c, the queue and its thread in sync.c.
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_shm.h"
#include "apr_uri.h"
#include "apr_lib.h"

#include "flexsaml_glue.h"
#include "secret.h"
#include "runtime.h"
#include "taskrouter_glue.h"
#include "taskrouter.h"
#include "queue.h"

#define MAX_CRED_FILE 4096

static const char *const sync_key = "flexsaml-taskrouter-sync";
static const char *const curl_key = "flexsaml-curl-init";
static const char *const stats_key = "flexsaml-taskrouter-stats";

struct flexsaml_tr_cfg {
    const flexsaml_tr_settings *set; /* NULL: the sync is off */
    flexsaml_tr_conf conf;           /* built by flexsaml_tr_check */
    flexsaml_sync_stats *shared;     /* the counters all children add to (check) */
    flexsaml_sync *sync;             /* this child's queue, set in child_init */
};

flexsaml_tr_cfg *flexsaml_tr_create(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(flexsaml_tr_cfg));
}

/* ---- validation ---- */

#define TR_FAIL(...)                                                                               \
    do {                                                                                           \
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, "flexsaml: " __VA_ARGS__);  \
        return HTTP_INTERNAL_SERVER_ERROR;                                                         \
    } while (0)

static int cred_sid_ok(const char *s)
{
    return flexsaml_tr_sid_valid(s, "SK") || flexsaml_tr_sid_valid(s, "AC");
}

/* Reads "SID secret" (whitespace, newline or ':' between; # comments) from
 * the file, with the rules of every secret (secret.h). The secret is copied
 * to p; the file's text is wiped. Messages never quote the file's content. */
static const char *read_credentials(apr_pool_t *p, const char *path, const char **user,
                                    const char **secret)
{
    apr_pool_t *tmp;
    const char *text, *err = NULL;
    char *buf, *line, *save, *tok[3] = {NULL, NULL, NULL};
    apr_size_t len;
    int count = 0;

    apr_pool_create(&tmp, p);
    if ((err = flexsaml_secret_read(tmp, NULL, apr_pstrcat(tmp, "file:", path, NULL), MAX_CRED_FILE,
                                    &text)) != NULL) {
        err = apr_pstrdup(p, err);
        apr_pool_destroy(tmp);
        return err;
    }
    buf = (char *)text;
    len = strlen(buf);
    for (line = apr_strtok(buf, "\r\n", &save); line; line = apr_strtok(NULL, "\r\n", &save)) {
        char *s2, *t;
        while (apr_isspace(*line))
            line++;
        if (*line == '#' || !*line)
            continue;
        for (t = apr_strtok(line, " \t:", &s2); t; t = apr_strtok(NULL, " \t:", &s2))
            if (count < 3)
                tok[count++] = t;
    }
    if (count != 2)
        err = "must hold two values: the API Key SID (SK...) or Account SID (AC...), then its "
              "secret or auth token, separated by a space, a line break or ':'";
    else if (!cred_sid_ok(tok[0]))
        err = "does not start with an API Key SID (SK + 32 hex digits) or an Account SID "
              "(AC + 32 hex digits)";
    else {
        *user = apr_pstrdup(p, tok[0]);
        *secret = apr_pstrdup(p, tok[1]);
    }
    memset(buf, 0, len); /* the secret lives on only in *secret */
    apr_pool_destroy(tmp);
    return err;
}

static const char *env_credentials(apr_pool_t *p, const char *const names[2], const char **user,
                                   const char **secret)
{
    const char *err;
    if ((err = flexsaml_secret_read(p, NULL, apr_pstrcat(p, "env:", names[0], NULL), MAX_CRED_FILE,
                                    user)) != NULL ||
        (err = flexsaml_secret_read(p, NULL, apr_pstrcat(p, "env:", names[1], NULL), MAX_CRED_FILE,
                                    secret)) != NULL)
        return err;
    if (!cred_sid_ok(*user))
        return apr_psprintf(p,
                            "%s is not an API Key SID (SK + 32 hex digits) or an Account SID "
                            "(AC + 32 hex digits)",
                            names[0]);
    return NULL;
}

static int loopback(const char *host)
{
    return host && (!strcmp(host, "127.0.0.1") || !strcasecmp(host, "localhost") ||
                    !strcmp(host, "::1") || !strcmp(host, "[::1]"));
}

/* scheme://host[:port] without a trailing slash; NULL and *err otherwise. */
static const char *check_base_url(apr_pool_t *p, server_rec *s, const char *url, const char **err)
{
    apr_uri_t u;
    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme || !u.hostname || u.user ||
        u.password || u.query || u.fragment || (u.path && strcmp(u.path, "/") != 0)) {
        *err = "must be a URL like https://taskrouter.twilio.com (no path, query or user)";
        return NULL;
    }
    if (!strcasecmp(u.scheme, "http") && loopback(u.hostname)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                     "flexsaml: FlexSAMLTaskRouterBaseURL %s is plain http on loopback: for "
                     "tests only, Twilio itself is https",
                     url);
    } else if (strcasecmp(u.scheme, "https") != 0) {
        *err = "must be https (plain http is accepted only on 127.0.0.1, for tests)";
        return NULL;
    }
    u.path = NULL;
    return apr_uri_unparse(p, &u, APR_URI_UNP_OMITPATHINFO | APR_URI_UNP_OMITUSERINFO);
}

static int enabled(const flexsaml_tr_cfg *c)
{
    return c->set && (c->set->mode == FLEXSAML_TR_ON || c->set->mode == FLEXSAML_TR_SYNC);
}

/* One counter segment per server generation, made by the parent so that
 * every child adds to it and the status page shows the whole server. NULL
 * (counters per child) when there is no shared memory. */
static flexsaml_sync_stats *shared_stats(apr_pool_t *pconf, server_rec *s)
{
    flexsaml_sync_stats **slot = NULL;
    apr_shm_t *shm;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&slot, stats_key, pconf);
    if (slot)
        return *slot;
    slot = apr_pcalloc(pconf, sizeof(*slot));
    rv = apr_shm_create(&shm, sizeof(flexsaml_sync_stats), NULL, pconf);
    if (rv == APR_SUCCESS) {
        *slot = apr_shm_baseaddr_get(shm);
        memset(*slot, 0, sizeof(**slot));
    } else {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, rv, s,
                     "flexsaml: no shared memory for the TaskRouter counters; each child "
                     "process counts its own");
    }
    apr_pool_userdata_set(slot, stats_key, apr_pool_cleanup_null, pconf);
    return *slot;
}

static void tr_log(void *baton, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, (server_rec *)baton, "flexsaml: %s", msg);
}

int flexsaml_tr_check(apr_pool_t *pconf, server_rec *s, flexsaml_tr_cfg *c,
                      const flexsaml_tr_settings *t)
{
    flexsaml_tr_conf *k = &c->conf;
    const char *err = NULL, *where = t->where ? t->where : s->defn_name;
    void *done = NULL;

    c->set = t;
    if (!enabled(c))
        return OK;
    apr_pool_userdata_get(&done, curl_key, s->process->pool);
    if (!done) {
        /* Once per process, before any thread: libcurl's init is not
         * thread-safe. */
        if ((err = flexsaml_tr_global_init()) != NULL)
            TR_FAIL("%s: FlexSAMLTaskRouter: libcurl cannot start: %s", where, err);
        apr_pool_userdata_set((void *)1, curl_key, apr_pool_cleanup_null, s->process->pool);
    }
    if (!t->workspace)
        TR_FAIL("%s: FlexSAMLTaskRouter is on but FlexSAMLTaskRouterWorkspace is missing: set it "
                "to the Flex Workspace SID (WS...)",
                where);
    if (t->cred_file)
        err = read_credentials(pconf, t->cred_file, &k->user, &k->secret);
    else if (t->cred_env[0])
        err = env_credentials(pconf, t->cred_env, &k->user, &k->secret);
    else
        TR_FAIL("%s: FlexSAMLTaskRouter is on but FlexSAMLTaskRouterCredentials is missing: "
                "name a file holding an API Key SID and secret (mode 600)",
                where);
    if (err && t->cred_file)
        TR_FAIL("%s: FlexSAMLTaskRouterCredentials %s %s", where, t->cred_file, err);
    if (err)
        TR_FAIL("%s: FlexSAMLTaskRouterCredentials: %s", where, err);
    k->base_url = check_base_url(pconf, s, t->base_url, &err);
    if (!k->base_url)
        TR_FAIL("%s: FlexSAMLTaskRouterBaseURL %s %s", where, t->base_url, err);

    k->workspace = t->workspace;
    k->request_timeout = t->timeout;
    k->deadline = t->deadline;
    k->backoff_base = t->backoff_base;
    k->backoff_max = t->backoff_max;
    k->create_workers = t->create == 1;
    k->worker_claim = t->worker_claim;
    k->owned = t->owned;
    k->log = tr_log;
    k->log_baton = s;
    c->shared = shared_stats(pconf, s);
    if (k->deadline < k->request_timeout)
        TR_FAIL("%s: FlexSAMLTaskRouterDeadline (%" APR_TIME_T_FMT "ms) is shorter than "
                "FlexSAMLTaskRouterTimeout (%" APR_TIME_T_FMT "ms): no request could finish",
                where, k->deadline / 1000, k->request_timeout / 1000);
    return OK;
}

/* ---- child and login ---- */

void flexsaml_tr_child_init(apr_pool_t *pchild, server_rec *s, flexsaml_tr_cfg *c)
{
    flexsaml_sync_conf sc;
    flexsaml_sync *sync = NULL;
    const char *err;
    server_rec *v;

    if (!enabled(c) || !c->conf.user)
        return;
    /* One queue and one thread per child, whatever the number of hosts. */
    apr_pool_userdata_get((void **)&sync, sync_key, pchild);
    if (!sync) {
        memset(&sc, 0, sizeof(sc));
        for (v = s; v; v = v->next) {
            const flexsaml_runtime *ort = flexsaml_srv(v)->rt;
            const flexsaml_tr_cfg *o = ort ? ort->tr : NULL;
            if (o && enabled(o) && o->set->queue_size > sc.capacity)
                sc.capacity = o->set->queue_size;
        }
        sc.log = tr_log;
        sc.log_baton = s;
        sc.shared = c->shared;
        if ((err = flexsaml_sync_start(pchild, &sc, &sync)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "flexsaml: TaskRouter sync disabled in this process: %s", err);
            return;
        }
        apr_pool_userdata_set(sync, sync_key, apr_pool_cleanup_null, pchild);
    }
    c->sync = sync;
}

void flexsaml_tr_login(request_rec *r, flexsaml_tr_cfg *c, const flexsaml_identity *id)
{
    flexsaml_tr_job job;
    const char *err;

    if (!enabled(c))
        return;
    if (!c->sync) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "flexsaml: taskrouter outcome=failed reason=\"the sync is not running in "
                      "this process\"");
        return;
    }
    memset(&job, 0, sizeof(job));
    job.conf = &c->conf;
    if ((err = flexsaml_tr_desired(r->pool, &c->conf, id, &job.name, &job.desired)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "flexsaml: taskrouter name_id=\"%s\" outcome=failed reason=\"%s\"",
                      id->name_id, err);
        return;
    }
    if (c->set->mode == FLEXSAML_TR_SYNC)
        flexsaml_sync_run_now(c->sync, r->pool, &job, c->set->sync_timeout);
    else
        flexsaml_sync_enqueue(c->sync, r->pool, &job);
}

void flexsaml_tr_metrics(request_rec *r, const flexsaml_tr_cfg *c)
{
    static const char *const names[] = {"updated",   "created", "unchanged",
                                        "no_worker", "failed",  "coalesced"};
    flexsaml_sync_stats st;
    apr_uint32_t n[6];
    int i;

    if (!enabled(c) || !c->sync)
        return;
    flexsaml_sync_get_stats(c->sync, &st);
    n[0] = st.sent - st.created;
    n[1] = st.created;
    n[2] = st.unchanged;
    n[3] = st.no_worker;
    n[4] = st.failed;
    n[5] = st.coalesced;
    ap_rprintf(r,
               "# HELP flexsaml_taskrouter_queued_total Logins whose Worker update was queued.\n"
               "# TYPE flexsaml_taskrouter_queued_total counter\n"
               "flexsaml_taskrouter_queued_total %u\n"
               "# HELP flexsaml_taskrouter_jobs_total Worker updates by outcome (coalesced: "
               "replaced by a newer login).\n"
               "# TYPE flexsaml_taskrouter_jobs_total counter\n",
               st.queued);
    for (i = 0; i < 6; i++)
        ap_rprintf(r, "flexsaml_taskrouter_jobs_total{outcome=\"%s\"} %u\n", names[i], n[i]);
    ap_rprintf(r,
               "# HELP flexsaml_taskrouter_retries_total Attempts retried after 429, 5xx or a "
               "network error.\n"
               "# TYPE flexsaml_taskrouter_retries_total counter\n"
               "flexsaml_taskrouter_retries_total %u\n"
               "# HELP flexsaml_taskrouter_requests_total HTTP requests sent to TaskRouter.\n"
               "# TYPE flexsaml_taskrouter_requests_total counter\n"
               "flexsaml_taskrouter_requests_total %u\n"
               "# HELP flexsaml_taskrouter_queue_depth Worker updates waiting now.\n"
               "# TYPE flexsaml_taskrouter_queue_depth gauge\n"
               "flexsaml_taskrouter_queue_depth %u\n",
               st.retried, st.requests, st.depth);
}
