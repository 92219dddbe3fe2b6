/*
 * TaskRouter REST client (see docs/taskrouter.md): find the Worker, fetch
 * it, write back the merge (attrs.c) with If-Match, create it when
 * allowed; classify every answer for the retry policy.
 *
 * jansson and libcurl allocate with malloc; every json_t and curl object is
 * released before the function that made it returns (or, for the easy
 * handle, by a cleanup on the client's pool), so only pool memory outlives a
 * call.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_atomic.h>
#include <apr_date.h>

#include <curl/curl.h>
#include <jansson.h>

#include "taskrouter.h"

#define MAX_BODY (1024 * 1024) /* a Worker or a page of Workers is far smaller */
#define MAX_PAGES 5            /* names are unique, so one page holds the match */
#define MAX_FINDS 3            /* the Worker vanished or was renamed under us */
#define MAX_CONFLICTS 4        /* 412s in one attempt before backing off */
#define MAX_REASON 200
#define MAX_RETRY_AFTER apr_time_from_sec(3600)

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

struct flexsaml_tr_client {
    CURL *curl;
    volatile apr_uint32_t *stop;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
    int overflow;
    const char *etag;
    const char *retry_after;
} reply_acc;

typedef struct {
    long status; /* 0: no HTTP answer */
    const char *body;
    const char *etag;
    apr_interval_time_t retry_after;
    const char *error; /* why there is no answer */
} http_reply;

static apr_status_t client_cleanup(void *data)
{
    flexsaml_tr_client *cl = data;
    curl_easy_cleanup(cl->curl);
    return APR_SUCCESS;
}

const char *flexsaml_tr_global_init(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    /* jansson seeds its hash function on first use; do it here, before any
     * thread, rather than race on it later. */
    json_object_seed(0);
    return rc == CURLE_OK ? NULL : curl_easy_strerror(rc);
}

flexsaml_tr_client *flexsaml_tr_client_create(apr_pool_t *p, volatile apr_uint32_t *stop)
{
    flexsaml_tr_client *cl = apr_pcalloc(p, sizeof(*cl));
    if (!(cl->curl = curl_easy_init()))
        return NULL;
    cl->stop = stop;
    apr_pool_cleanup_register(p, cl, client_cleanup, apr_pool_cleanup_null);
    return cl;
}

static size_t on_body(char *data, size_t size, size_t n, void *v)
{
    reply_acc *a = v;
    apr_size_t add = size * n;
    if (a->len + add > MAX_BODY) {
        a->overflow = 1;
        return 0;
    }
    if (a->len + add + 1 > a->cap) {
        apr_size_t cap = a->cap ? a->cap : 4096;
        char *nb;
        while (cap < a->len + add + 1)
            cap *= 2;
        nb = apr_palloc(a->p, cap);
        if (a->len)
            memcpy(nb, a->buf, a->len);
        a->buf = nb;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, data, add);
    a->len += add;
    a->buf[a->len] = '\0';
    return add;
}

/* The value of header `name` in one header line, trimmed; NULL otherwise. */
static const char *header_value(apr_pool_t *p, const char *line, apr_size_t len, const char *name)
{
    apr_size_t n = strlen(name);
    const char *v, *e;
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return NULL;
    v = line + n + 1;
    e = line + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return apr_pstrmemdup(p, v, (apr_size_t)(e - v));
}

static size_t on_header(char *data, size_t size, size_t n, void *v)
{
    reply_acc *a = v;
    apr_size_t len = size * n;
    const char *h;
    if (len > 5 && !strncmp(data, "HTTP/", 5))
        a->etag = a->retry_after = NULL; /* a new response (after a 100) */
    else if ((h = header_value(a->p, data, len, "ETag")) != NULL)
        a->etag = h;
    else if ((h = header_value(a->p, data, len, "Retry-After")) != NULL)
        a->retry_after = h;
    return len;
}

static int on_progress(void *v, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    flexsaml_tr_client *cl = v;
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    /* Lets the child stop within a second instead of a request timeout. */
    return cl->stop && apr_atomic_read32(cl->stop) ? 1 : 0;
}

/* Retry-After: delay-seconds or an HTTP-date; -1 when absent or unusable. */
static apr_interval_time_t parse_retry_after(const char *v)
{
    if (!v || !*v)
        return -1;
    if (apr_isdigit(*v)) {
        char *end;
        apr_int64_t s = apr_strtoi64(v, &end, 10);
        if (*end || s < 0)
            return -1;
        return s > 3600 ? MAX_RETRY_AFTER : apr_time_from_sec(s);
    } else {
        apr_time_t t = apr_date_parse_http(v), now = apr_time_now();
        if (t == APR_DATE_BAD)
            return -1;
        if (t <= now)
            return 0;
        return t - now > MAX_RETRY_AFTER ? MAX_RETRY_AFTER : t - now;
    }
}

static const char *escape(apr_pool_t *p, CURL *curl, const char *s)
{
    char *e = curl_easy_escape(curl, s, (int)strlen(s));
    const char *r = e ? apr_pstrdup(p, e) : "";
    curl_free(e);
    return r;
}

/* One request. path_query is under the base URL; form, when not NULL, makes
 * it a form-encoded POST. */
static void http(flexsaml_tr_client *cl, apr_pool_t *p, const flexsaml_tr_conf *c,
                 const char *path_query, const char *form, const char *if_match,
                 apr_time_t deadline, http_reply *r, int *requests)
{
    reply_acc acc;
    struct curl_slist *hdrs = NULL;
    apr_interval_time_t left = deadline - apr_time_now(), t;
    CURL *h = cl->curl;
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    r->retry_after = -1;
    if (left <= 0) {
        r->error = "deadline reached";
        return;
    }
    if (cl->stop && apr_atomic_read32(cl->stop)) {
        r->error = "stopping";
        return;
    }
    t = left < c->request_timeout ? left : c->request_timeout;
    memset(&acc, 0, sizeof(acc));
    acc.p = p;
    cl->errbuf[0] = '\0';
    (*requests)++;

    /* Reset keeps the connection and DNS caches but forgets the last
     * request's options, so nothing (If-Match, a body) leaks into the next. */
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, apr_pstrcat(p, c->base_url, path_query, NULL));
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
#endif
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(t / 1000 > 0 ? t / 1000 : 1));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(t / 1000 > 0 ? t / 1000 : 1));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_flexsaml/" FLEXSAML_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cl->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &acc);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &acc);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, cl);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (form) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    if (if_match)
        hdrs = curl_slist_append(hdrs, apr_pstrcat(p, "If-Match: ", if_match, NULL));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        r->error = acc.overflow                      ? "the response is too large"
                   : rc == CURLE_ABORTED_BY_CALLBACK ? "stopping"
                   : rc == CURLE_OPERATION_TIMEDOUT
                       ? apr_psprintf(p, "timeout after %" APR_TIME_T_FMT " ms", t / 1000)
                   : cl->errbuf[0] ? apr_pstrdup(p, cl->errbuf)
                                   : curl_easy_strerror(rc);
        return;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = acc.buf ? acc.buf : "";
    r->etag = acc.etag;
    r->retry_after = parse_retry_after(acc.retry_after);
}

/* " code 20003: Authenticate" from Twilio's error body, cleaned for a log
 * line; "" when the body is not that shape. */
static const char *twilio_error(apr_pool_t *p, const flexsaml_tr_conf *c, const char *body)
{
    json_error_t je;
    json_t *j = json_loads(body ? body : "", 0, &je);
    json_t *code = json_object_get(j, "code");
    const char *msg = json_string_value(json_object_get(j, "message"));
    char *m = NULL, *q;
    const char *r;

    if (msg) {
        m = apr_pstrndup(p, msg, MAX_REASON);
        for (q = m; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                *q = ' ';
        /* Belt and braces: a message must never carry the secret. */
        if (c->secret && *c->secret && strstr(m, c->secret))
            m = "(message withheld)";
    }
    if (json_is_integer(code))
        /* apr's formatter has no %lld: JSON_INTEGER_FORMAT would crash it */
        r = apr_psprintf(p, " code %" APR_INT64_T_FMT "%s%s", (apr_int64_t)json_integer_value(code),
                         m ? ": " : "", m ? m : "");
    else
        r = m ? apr_pstrcat(p, " ", m, NULL) : "";
    json_decref(j);
    return r;
}

static void classify(apr_pool_t *p, const flexsaml_tr_conf *c, const char *what,
                     const http_reply *r, flexsaml_tr_outcome *out)
{
    if (!r->status) {
        out->status = FLEXSAML_TR_RETRY;
        out->reason = apr_psprintf(p, "%s: %s", what, r->error);
        return;
    }
    out->reason = apr_psprintf(p, "%s: HTTP %ld%s", what, r->status, twilio_error(p, c, r->body));
    out->retry_after = r->retry_after;
    /* 429 was never processed and 5xx is Twilio's trouble: both may pass.
     * 400/401/403 and the rest will answer the same way again. */
    out->status = r->status == 429 || r->status >= 500 ? FLEXSAML_TR_RETRY : FLEXSAML_TR_FAILED;
}

/* The Worker named job->name: *sid, or NULL when there is none. 0 when the
 * lookup worked; otherwise out says why. */
static int find(flexsaml_tr_client *cl, apr_pool_t *p, const flexsaml_tr_job *job,
                apr_time_t deadline, const char **sid, flexsaml_tr_outcome *out)
{
    const flexsaml_tr_conf *c = job->conf;
    const char *path =
        apr_pstrcat(p, flexsaml_tr_workers_path(p, c->workspace),
                    "?FriendlyName=", escape(p, cl->curl, job->name), "&PageSize=50", NULL);
    int page;

    for (page = 0; path && page < MAX_PAGES; page++) {
        http_reply r;
        const char *err;
        http(cl, p, c, path, NULL, NULL, deadline, &r, &out->requests);
        if (r.status != 200) {
            classify(p, c, "find", &r, out);
            return -1;
        }
        if ((err = flexsaml_tr_list_pick(p, r.body, c->workspace, job->name, sid, &path))) {
            out->status = FLEXSAML_TR_RETRY;
            out->reason = apr_pstrcat(p, "find: ", err, NULL);
            return -1;
        }
        if (*sid)
            return 0;
    }
    return 0;
}

/* Ends an attempt with a final status. */
#define DONE(st, why)                                                                              \
    do {                                                                                           \
        out->status = (st);                                                                        \
        out->reason = (why);                                                                       \
        return;                                                                                    \
    } while (0)

void flexsaml_tr_run(flexsaml_tr_client *cl, apr_pool_t *p, const flexsaml_tr_job *job,
                     apr_time_t deadline, flexsaml_tr_outcome *out)
{
    const flexsaml_tr_conf *c = job->conf;
    const char *base = flexsaml_tr_workers_path(p, c->workspace);
    const char *sid = flexsaml_tr_sid_valid(job->sid, "WK") ? job->sid : NULL;
    const char *create_refused = NULL;
    int finds = 0, conflicts = 0;

    memset(out, 0, sizeof(*out));
    out->retry_after = -1;
    for (;;) {
        http_reply r;
        json_error_t je;
        json_t *w;
        const char *merged = NULL, *err = NULL, *keys = NULL, *fn, *attrs, *etag;
        int m;

        out->sid = sid;
        if (!sid) {
            if (finds++ == MAX_FINDS)
                DONE(FLEXSAML_TR_RETRY, "the Worker disappeared or was renamed during the sync");
            if (find(cl, p, job, deadline, &sid, out) != 0)
                return;
            if (!sid && !c->create_workers)
                DONE(FLEXSAML_TR_NO_WORKER, "no Worker has this FriendlyName yet and "
                                            "FlexSAMLTaskRouterCreateWorkers is off");
            if (!sid && create_refused)
                DONE(FLEXSAML_TR_FAILED, create_refused);
        }
        if (!sid) {
            /* FriendlyName and the owned keys only: Flex derives contact_uri
             * itself at the person's first Flex login. */
            if (flexsaml_tr_merge_attributes(p, NULL, job->desired, c->owned, &merged, &keys,
                                             &err) < 0)
                DONE(FLEXSAML_TR_FAILED, err);
            http(cl, p, c, base,
                 apr_pstrcat(p, "FriendlyName=", escape(p, cl->curl, job->name),
                             "&Attributes=", escape(p, cl->curl, merged ? merged : "{}"), NULL),
                 NULL, deadline, &r, &out->requests);
            if (r.status == 201 || r.status == 200) {
                w = json_loads(r.body, 0, &je);
                fn = json_string_value(json_object_get(w, "sid"));
                out->sid = flexsaml_tr_sid_valid(fn, "WK") ? apr_pstrdup(p, fn) : NULL;
                json_decref(w);
                out->keys = keys;
                DONE(FLEXSAML_TR_CREATED, "created");
            }
            classify(p, c, "create", &r, out);
            if (out->status == FLEXSAML_TR_FAILED && r.status != 401 && r.status != 403) {
                /* Most likely another login created it meanwhile (names are
                 * unique): look again and update that one instead. */
                create_refused = out->reason;
                continue;
            }
            return;
        }

        out->sid = sid;
        http(cl, p, c, apr_pstrcat(p, base, "/", sid, NULL), NULL, NULL, deadline, &r,
             &out->requests);
        if (r.status == 404) {
            sid = NULL;
            continue;
        }
        if (r.status != 200) {
            classify(p, c, "fetch", &r, out);
            return;
        }
        w = json_loads(r.body, 0, &je);
        fn = json_string_value(json_object_get(w, "friendly_name"));
        if (!fn || !flexsaml_tr_name_equal(fn, job->name)) {
            json_decref(w); /* renamed since we cached its sid */
            sid = NULL;
            continue;
        }
        attrs = apr_pstrdup(p, json_string_value(json_object_get(w, "attributes")));
        json_decref(w);
        etag = r.etag;

        m = flexsaml_tr_merge_attributes(p, attrs, job->desired, c->owned, &merged, &keys, &err);
        if (m < 0)
            DONE(FLEXSAML_TR_FAILED, err);
        if (m == 0)
            DONE(FLEXSAML_TR_UNCHANGED, "unchanged");

        /* Without an ETag the update is unconditional (last writer wins). */
        http(cl, p, c, apr_pstrcat(p, base, "/", sid, NULL),
             apr_pstrcat(p, "Attributes=", escape(p, cl->curl, merged), NULL), etag, deadline, &r,
             &out->requests);
        if (r.status == 200) {
            out->keys = keys;
            DONE(FLEXSAML_TR_UPDATED, "updated");
        }
        if (r.status == 412) {
            /* Someone wrote the Worker between our fetch and update: read
             * their version and merge again rather than clobber it. */
            if (++conflicts > MAX_CONFLICTS)
                DONE(FLEXSAML_TR_RETRY,
                     apr_psprintf(p, "update: HTTP 412 %d times in a row", conflicts));
            continue;
        }
        if (r.status == 404) {
            sid = NULL;
            continue;
        }
        classify(p, c, "update", &r, out);
        return;
    }
}
