/*
 * The TaskRouter sync inside httpd: directives, their validation at startup
 * (`apache2 -t` refuses a wrong Workspace, credentials or URL), the per-child
 * queue started in child_init, and the hand-off from the ACS. The REST work
 * and the merge are in taskrouter.c, the queue and its thread in sync.c.
 */
#include <stdlib.h>
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_shm.h"
#include "apr_file_io.h"
#include "apr_file_info.h"
#include "apr_uri.h"
#include "apr_lib.h"

#include "flexsaml_glue.h"
#include "taskrouter_glue.h"
#include "taskrouter.h"
#include "queue.h"

#define TR_OFF 0
#define TR_ON 1
#define TR_SYNC 2

#define TR_DEFAULT_BASE_URL "https://taskrouter.twilio.com"
#define TR_DEFAULT_TIMEOUT apr_time_from_sec(5)
#define TR_DEFAULT_DEADLINE apr_time_from_sec(120)
#define TR_DEFAULT_SYNC_TIMEOUT apr_time_from_sec(2)
#define TR_DEFAULT_BACKOFF_BASE apr_time_from_sec(1)
#define TR_DEFAULT_BACKOFF_MAX apr_time_from_sec(30)
#define TR_DEFAULT_QUEUE 1000
#define MAX_CRED_FILE 4096

static const char *const default_owned[] = {"full_name", "email", "roles", "image_url"};
/* Flex and the contact center own these; a site must not take them over. */
static const char *const never_owned[] = {"contact_uri", "routing", "team_sid"};
static const char *const sync_key = "flexsaml-taskrouter-sync";
static const char *const curl_key = "flexsaml-curl-init";
static const char *const stats_key = "flexsaml-taskrouter-stats";

struct flexsaml_tr_cfg {
    int mode; /* TR_* or FLEXSAML_UNSET */
    const char *where;
    const char *workspace;
    const char *cred_file;   /* or: */
    const char *cred_env[2]; /* env variable names of the SID and the secret */
    const char *base_url;
    apr_array_header_t *owned; /* NULL: the default */
    const char *worker_claim;
    int create;
    apr_interval_time_t timeout, deadline, sync_timeout, backoff_base, backoff_max;
    int queue_size;

    flexsaml_tr_conf conf;       /* built by flexsaml_tr_check */
    flexsaml_sync_stats *shared; /* the counters all children add to (check) */
    flexsaml_sync *sync;         /* this child's queue, set in child_init */
};

flexsaml_tr_cfg *flexsaml_tr_create(apr_pool_t *p)
{
    flexsaml_tr_cfg *c = apr_pcalloc(p, sizeof(*c));
    c->mode = FLEXSAML_UNSET;
    c->create = FLEXSAML_UNSET;
    c->timeout = c->deadline = c->sync_timeout = FLEXSAML_UNSET;
    c->backoff_base = c->backoff_max = FLEXSAML_UNSET;
    c->queue_size = FLEXSAML_UNSET;
    return c;
}

#define PICK(f) (add->f ? add->f : base->f)
#define PICK_INT(f) (add->f != FLEXSAML_UNSET ? add->f : base->f)

flexsaml_tr_cfg *flexsaml_tr_merge(apr_pool_t *p, const flexsaml_tr_cfg *base,
                                   const flexsaml_tr_cfg *add)
{
    flexsaml_tr_cfg *c = apr_pcalloc(p, sizeof(*c));
    c->mode = PICK_INT(mode);
    c->where = add->mode != FLEXSAML_UNSET ? add->where : base->where;
    c->workspace = PICK(workspace);
    /* The credentials are one unit: a file or a pair of variables. */
    if (add->cred_file || add->cred_env[0]) {
        c->cred_file = add->cred_file;
        c->cred_env[0] = add->cred_env[0];
        c->cred_env[1] = add->cred_env[1];
    } else {
        c->cred_file = base->cred_file;
        c->cred_env[0] = base->cred_env[0];
        c->cred_env[1] = base->cred_env[1];
    }
    c->base_url = PICK(base_url);
    c->owned = PICK(owned);
    c->worker_claim = PICK(worker_claim);
    c->create = PICK_INT(create);
    c->timeout = PICK_INT(timeout);
    c->deadline = PICK_INT(deadline);
    c->sync_timeout = PICK_INT(sync_timeout);
    c->backoff_base = PICK_INT(backoff_base);
    c->backoff_max = PICK_INT(backoff_max);
    c->queue_size = PICK_INT(queue_size);
    return c;
}

/* ---- directives ---- */

static flexsaml_tr_cfg *tr_of(cmd_parms *cmd)
{
    return flexsaml_srv(cmd->server)->tr;
}

/* 500ms, 5, 5s, 2m, 1h. */
static const char *parse_interval(cmd_parms *cmd, const char *arg, apr_interval_time_t *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    apr_int64_t unit;
    if (end == arg || v < 0)
        unit = 0;
    else if (!*end || !strcasecmp(end, "s"))
        unit = APR_USEC_PER_SEC;
    else if (!strcasecmp(end, "ms"))
        unit = 1000;
    else if (!strcasecmp(end, "m"))
        unit = 60 * APR_USEC_PER_SEC;
    else if (!strcasecmp(end, "h"))
        unit = 3600 * APR_USEC_PER_SEC;
    else
        unit = 0;
    if (!unit || v > 86400 * 1000LL)
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a duration (e.g. 500ms, 5s, 2m)",
                            cmd->cmd->name, arg);
    *out = (apr_interval_time_t)(v * unit);
    return NULL;
}

static const char *interval_in(cmd_parms *cmd, const char *arg, apr_interval_time_t lo,
                               apr_interval_time_t hi, apr_interval_time_t *out)
{
    const char *err = parse_interval(cmd, arg, out);
    if (err)
        return err;
    if (*out < lo || *out > hi)
        return apr_psprintf(cmd->pool,
                            "%s %s: must be between %" APR_TIME_T_FMT "ms and %" APR_TIME_T_FMT "s",
                            cmd->cmd->name, arg, lo / 1000, apr_time_sec(hi));
    return NULL;
}

static int is(cmd_parms *cmd, const char *name)
{
    return !strcasecmp(cmd->cmd->name, name);
}

const char *flexsaml_tr_set(cmd_parms *cmd, void *dummy, const char *arg)
{
    flexsaml_tr_cfg *c = tr_of(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)dummy;
    if (err)
        return err;
    if (is(cmd, "FlexSAMLTaskRouter")) {
        if (!strcasecmp(arg, "on"))
            c->mode = TR_ON;
        else if (!strcasecmp(arg, "off"))
            c->mode = TR_OFF;
        else if (!strcasecmp(arg, "sync"))
            c->mode = TR_SYNC;
        else
            return "FlexSAMLTaskRouter must be on, off or sync";
        c->where =
            apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
    } else if (is(cmd, "FlexSAMLTaskRouterWorkspace")) {
        if (!flexsaml_tr_sid_valid(arg, "WS"))
            return apr_psprintf(cmd->pool,
                                "FlexSAMLTaskRouterWorkspace \"%s\" is not a Workspace SID: WS "
                                "followed by 32 hexadecimal digits (Console: TaskRouter > "
                                "Workspaces)",
                                arg);
        c->workspace = arg;
    } else if (is(cmd, "FlexSAMLTaskRouterBaseURL")) {
        c->base_url = arg; /* checked in flexsaml_tr_check, with a warning for http */
    } else if (is(cmd, "FlexSAMLTaskRouterWorkerName")) {
        if (!*arg || strpbrk(arg, " \t\r\n"))
            return "FlexSAMLTaskRouterWorkerName must name one claim, e.g. email";
        c->worker_claim = arg;
    } else if (is(cmd, "FlexSAMLTaskRouterTimeout")) {
        return interval_in(cmd, arg, 100 * 1000, apr_time_from_sec(60), &c->timeout);
    } else if (is(cmd, "FlexSAMLTaskRouterDeadline")) {
        return interval_in(cmd, arg, apr_time_from_sec(1), apr_time_from_sec(86400), &c->deadline);
    } else if (is(cmd, "FlexSAMLTaskRouterSyncTimeout")) {
        return interval_in(cmd, arg, 100 * 1000, apr_time_from_sec(30), &c->sync_timeout);
    } else if (is(cmd, "FlexSAMLTaskRouterQueueSize")) {
        char *end;
        apr_int64_t v = apr_strtoi64(arg, &end, 10);
        if (end == arg || *end || v < 1 || v > 1000000)
            return "FlexSAMLTaskRouterQueueSize must be a number from 1 to 1000000";
        c->queue_size = (int)v;
    }
    return NULL;
}

const char *flexsaml_tr_set_flag(cmd_parms *cmd, void *dummy, int on)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)dummy;
    if (err)
        return err;
    tr_of(cmd)->create = on;
    return NULL;
}

const char *flexsaml_tr_set12(cmd_parms *cmd, void *dummy, const char *a, const char *b)
{
    flexsaml_tr_cfg *c = tr_of(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)dummy;
    if (err)
        return err;
    if (is(cmd, "FlexSAMLTaskRouterBackoff")) {
        if ((err = interval_in(cmd, a, 1000, apr_time_from_sec(3600), &c->backoff_base)))
            return err;
        c->backoff_max =
            c->backoff_base > TR_DEFAULT_BACKOFF_MAX ? c->backoff_base : TR_DEFAULT_BACKOFF_MAX;
        if (b &&
            (err = interval_in(cmd, b, c->backoff_base, apr_time_from_sec(3600), &c->backoff_max)))
            return err;
        return NULL;
    }
    /* FlexSAMLTaskRouterCredentials */
    if (!strncmp(a, "env:", 4) || (b && !strncmp(b, "env:", 4))) {
        if (!b || strncmp(a, "env:", 4) || strncmp(b, "env:", 4) || !a[4] || !b[4])
            return "FlexSAMLTaskRouterCredentials env:SID_VARIABLE env:SECRET_VARIABLE names "
                   "two environment variables, e.g. env:TWILIO_API_KEY env:TWILIO_API_SECRET";
        c->cred_env[0] = a + 4;
        c->cred_env[1] = b + 4;
        c->cred_file = NULL;
        return NULL;
    }
    if (b)
        return "FlexSAMLTaskRouterCredentials takes one file, or env:SID_VARIABLE "
               "env:SECRET_VARIABLE; the secret never goes in the configuration itself";
    c->cred_file = ap_server_root_relative(cmd->pool, a);
    c->cred_env[0] = c->cred_env[1] = NULL;
    return NULL;
}

const char *flexsaml_tr_add_attribute(cmd_parms *cmd, void *dummy, const char *arg)
{
    flexsaml_tr_cfg *c = tr_of(cmd);
    const char *k;
    apr_size_t i;
    (void)dummy;
    for (k = arg; *k; k++)
        if (!(apr_isalnum(*k) || *k == '_' || *k == '.' || *k == '-'))
            break;
    if (*k || !*arg || strlen(arg) > 64)
        return apr_psprintf(cmd->pool,
                            "FlexSAMLTaskRouterAttributes: \"%s\" is not an attribute key "
                            "(letters, digits, _ . -)",
                            arg);
    for (i = 0; i < sizeof(never_owned) / sizeof(*never_owned); i++)
        if (!strcmp(arg, never_owned[i]))
            return apr_psprintf(cmd->pool,
                                "FlexSAMLTaskRouterAttributes: %s belongs to Flex and the "
                                "contact center (routing skills, teams, the client identity); "
                                "it is always kept as it is and cannot be owned by the login",
                                arg);
    if (!c->owned)
        c->owned = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(c->owned, const char *) = arg;
    return NULL;
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
 * the file. The secret is copied to p; the buffer is wiped. Messages never
 * quote the file's content. */
static const char *read_credentials(apr_pool_t *p, const char *path, const char **user,
                                    const char **secret)
{
    apr_pool_t *tmp;
    apr_finfo_t fi;
    apr_file_t *f;
    apr_status_t rv;
    apr_size_t n;
    char *buf, *line, *save, *tok[3] = {NULL, NULL, NULL};
    const char *err = NULL;
    int count = 0;

    rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_SIZE, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    if (fi.filetype != APR_REG)
        return "is not a regular file";
    if (fi.protection & (APR_FPROT_WREAD | APR_FPROT_WWRITE))
        return "is readable or writable by every user: chmod 600 it (or 640 with a group the "
               "server's start-up user is in)";
    if (fi.size > MAX_CRED_FILE)
        return apr_psprintf(p, "is larger than %d bytes", MAX_CRED_FILE);
    apr_pool_create(&tmp, p);
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, tmp);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    }
    buf = apr_pcalloc(tmp, MAX_CRED_FILE + 1);
    n = MAX_CRED_FILE;
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
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
    if (rv != APR_SUCCESS && rv != APR_EOF)
        err = apr_psprintf(p, "cannot be read (%pm)", &rv);
    else if (count != 2)
        err = "must hold two values: the API Key SID (SK...) or Account SID (AC...), then its "
              "secret or auth token, separated by a space, a line break or ':'";
    else if (!cred_sid_ok(tok[0]))
        err = "does not start with an API Key SID (SK + 32 hex digits) or an Account SID "
              "(AC + 32 hex digits)";
    else {
        *user = apr_pstrdup(p, tok[0]);
        *secret = apr_pstrdup(p, tok[1]);
    }
    memset(buf, 0, MAX_CRED_FILE + 1); /* the secret lives on only in *secret */
    apr_pool_destroy(tmp);
    return err;
}

static const char *env_credentials(apr_pool_t *p, const char *const names[2], const char **user,
                                   const char **secret)
{
    const char *u = getenv(names[0]), *sec = getenv(names[1]);
    if (!u || !*u)
        return apr_psprintf(p, "the environment variable %s is not set", names[0]);
    if (!sec || !*sec)
        return apr_psprintf(p, "the environment variable %s is not set", names[1]);
    if (!cred_sid_ok(u))
        return apr_psprintf(p,
                            "%s is not an API Key SID (SK + 32 hex digits) or an Account SID "
                            "(AC + 32 hex digits)",
                            names[0]);
    *user = apr_pstrdup(p, u);
    *secret = apr_pstrdup(p, sec);
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
    return c->mode == TR_ON || c->mode == TR_SYNC;
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

int flexsaml_tr_check(apr_pool_t *pconf, server_rec *s, flexsaml_tr_cfg *c)
{
    flexsaml_tr_conf *k = &c->conf;
    const char *err = NULL, *where = c->where ? c->where : s->defn_name;
    void *done = NULL;
    apr_size_t i;

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
    if (!c->workspace)
        TR_FAIL("%s: FlexSAMLTaskRouter is on but FlexSAMLTaskRouterWorkspace is missing: set it "
                "to the Flex Workspace SID (WS...)",
                where);
    if (c->cred_file)
        err = read_credentials(pconf, c->cred_file, &k->user, &k->secret);
    else if (c->cred_env[0])
        err = env_credentials(pconf, c->cred_env, &k->user, &k->secret);
    else
        TR_FAIL("%s: FlexSAMLTaskRouter is on but FlexSAMLTaskRouterCredentials is missing: "
                "name a file holding an API Key SID and secret (mode 600)",
                where);
    if (err && c->cred_file)
        TR_FAIL("%s: FlexSAMLTaskRouterCredentials %s %s", where, c->cred_file, err);
    if (err)
        TR_FAIL("%s: FlexSAMLTaskRouterCredentials: %s", where, err);
    k->base_url = check_base_url(pconf, s, c->base_url ? c->base_url : TR_DEFAULT_BASE_URL, &err);
    if (!k->base_url)
        TR_FAIL("%s: FlexSAMLTaskRouterBaseURL %s %s", where, c->base_url, err);

    k->workspace = c->workspace;
    k->request_timeout = c->timeout != FLEXSAML_UNSET ? c->timeout : TR_DEFAULT_TIMEOUT;
    k->deadline = c->deadline != FLEXSAML_UNSET ? c->deadline : TR_DEFAULT_DEADLINE;
    k->backoff_base = c->backoff_base != FLEXSAML_UNSET ? c->backoff_base : TR_DEFAULT_BACKOFF_BASE;
    k->backoff_max = c->backoff_max != FLEXSAML_UNSET ? c->backoff_max : TR_DEFAULT_BACKOFF_MAX;
    k->create_workers = c->create == 1;
    k->worker_claim = c->worker_claim ? c->worker_claim : "email";
    k->owned = c->owned;
    if (!k->owned) {
        k->owned = apr_array_make(pconf, 4, sizeof(const char *));
        for (i = 0; i < sizeof(default_owned) / sizeof(*default_owned); i++)
            APR_ARRAY_PUSH(k->owned, const char *) = default_owned[i];
    }
    k->log = tr_log;
    k->log_baton = s;
    c->shared = shared_stats(pconf, s);
    if (c->sync_timeout == FLEXSAML_UNSET)
        c->sync_timeout = TR_DEFAULT_SYNC_TIMEOUT;
    if (c->queue_size == FLEXSAML_UNSET)
        c->queue_size = TR_DEFAULT_QUEUE;
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
            const flexsaml_tr_cfg *o = flexsaml_srv(v)->tr;
            if (o && enabled(o) && o->queue_size > sc.capacity)
                sc.capacity = o->queue_size;
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
    if (c->mode == TR_SYNC)
        flexsaml_sync_run_now(c->sync, r->pool, &job, c->sync_timeout);
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
