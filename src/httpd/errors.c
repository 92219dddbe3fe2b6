/*
 * Refusals: a reason code, a log line and a short page that share one
 * correlation id; the 503 page of a store failure is one of them. The page
 * says what went wrong in words and never echoes the response, a secret or
 * anything the browser sent without escaping.
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"
#include "apr_strings.h"
#include "apr_escape.h"
#include "apr_base64.h"
#include "apr_general.h"

#include "flexsaml_glue.h"
#include "runtime.h"
#include "errors.h"
#include "escape.h"
#include "metrics.h"
#include "store.h"

const char *flexsaml_correlation_id(request_rec *r)
{
    const char *id = apr_table_get(r->notes, "flexsaml-id");
    unsigned char raw[9];
    char *b64;

    if (id)
        return id;
    id = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    if (!id) {
        if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
            memset(raw, 0, sizeof(raw));
        b64 = apr_palloc(r->pool, apr_base64_encode_len(sizeof(raw)));
        apr_base64_encode(b64, (const char *)raw, sizeof(raw));
        for (char *c = b64; *c; c++)
            if (*c == '+' || *c == '/')
                *c = *c == '+' ? '-' : '_';
        id = b64;
    }
    apr_table_setn(r->notes, "flexsaml-id", id);
    return id;
}

/* A reason outside the table is a bug of the caller: it is answered as
 * "internal", never as a neighbouring row. */
static flexsaml_refusal checked(request_rec *r, flexsaml_refusal why)
{
    if (flexsaml_refusal_info(why))
        return why;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "flexsaml: refusal %d is not in refusal.h",
                  (int)why);
    return FLEXSAML_R_INTERNAL;
}

#define PAGE_TYPE_NOTE "flexsaml-content-type"
#define ALLOW_NOTE "flexsaml-allow"
#define FILTER_NAME "FLEXSAML_ERROR_PAGE"

const char *flexsaml_site_error_document(request_rec *r, int status)
{
    int idx = ap_index_of_response(status);
    /* Read before the module sets its own page: only the site's is there. */
    return idx >= 0 ? ap_response_code_string(r, idx) : NULL;
}

int flexsaml_error_page(request_rec *r, int status, const char *page, const char *content_type)
{
    if (flexsaml_site_error_document(r, status))
        return 0;
    ap_custom_response(r, status, page);
    flexsaml_error_type(r, content_type);
    return 1;
}

void flexsaml_error_type(request_rec *r, const char *content_type)
{
    apr_table_setn(r->notes, PAGE_TYPE_NOTE, content_type);
}

int flexsaml_error_type_set(request_rec *r)
{
    return apr_table_get(r->notes, PAGE_TYPE_NOTE) != NULL;
}

/* Runs after ap_send_error_response set its own content type and Allow
 * header, before the header filter sends them. */
static apr_status_t page_type_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    const char *type = apr_table_get(f->r->notes, PAGE_TYPE_NOTE);
    const char *allow = apr_table_get(f->r->notes, ALLOW_NOTE);

    if (type)
        ap_set_content_type(f->r, type);
    if (allow)
        apr_table_setn(f->r->headers_out, "Allow", allow);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void flexsaml_register_error_filter(void)
{
    ap_register_output_filter(FILTER_NAME, page_type_filter, NULL, AP_FTYPE_CONTENT_SET);
}

void flexsaml_error_filters(request_rec *r)
{
    if (apr_table_get(r->notes, PAGE_TYPE_NOTE) || apr_table_get(r->notes, ALLOW_NOTE))
        ap_add_output_filter(FILTER_NAME, NULL, r, r->connection);
}

int flexsaml_refuse(request_rec *r, flexsaml_refusal why, const char *detail, const char *hint)
{
    const flexsaml_refusal_row *t = flexsaml_refusal_info(why = checked(r, why));
    int level = t->status >= 500 ? APLOG_ERR : APLOG_WARNING;

    ap_log_rerror(APLOG_MARK, level, 0, r, "flexsaml: refused reason=%s id=%s: %s", t->code,
                  flexsaml_correlation_id(r), detail ? detail : t->title);
    return flexsaml_refuse_page(r, why, hint);
}

int flexsaml_refuse_page(request_rec *r, flexsaml_refusal why, const char *hint)
{
    const flexsaml_refusal_row *t = flexsaml_refusal_info(why = checked(r, why));
    const char *code = t->code;
    const char *id = flexsaml_correlation_id(r);
    const char *page;

    flexsaml_metric_refusal(r, why);

    page = apr_pstrcat(
        r->pool, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>",
        flexsaml_html(r->pool, t->title),
        "</title><style>body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d1d1f;"
        "margin:0}main{max-width:34rem;margin:4rem auto;background:#fff;padding:2rem 2.5rem;"
        "border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.4rem}"
        "code{background:#eef;padding:.1rem .3rem;border-radius:3px}small{color:#666}</style>"
        "</head><body><main><h1>",
        flexsaml_html(r->pool, t->title), "</h1><p>", flexsaml_html(r->pool, hint ? hint : t->hint),
        "</p><p><small>Reason: <code>", flexsaml_html(r->pool, code),
        "</code> &middot; Reference: <code>", flexsaml_html(r->pool, id),
        "</code><br>Give the reference to your administrator; it finds the matching line in the "
        "server log.</small></p></main></body></html>\n",
        NULL);
    apr_table_setn(r->notes, "flexsaml-reason", code);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (t->status == HTTP_METHOD_NOT_ALLOWED)
        apr_table_setn(r->notes, ALLOW_NOTE, "POST");
    flexsaml_error_page(r, t->status, page, "text/html; charset=utf-8");
    return t->status;
}

int flexsaml_store_unavailable(request_rec *r, apr_status_t rv, const char *what)
{
    flexsaml_store *st = flexsaml_srv(r->server)->rt->store;
    const char *full = flexsaml_store_full_hint(st, rv, r->pool);
    flexsaml_refusal code = full ? FLEXSAML_R_SESSION_STORE_FULL : FLEXSAML_R_SESSION_STORE;
    apr_uint32_t count;
    char buf[120];

    if (!flexsaml_store_failure_due(st, &count))
        return flexsaml_refuse_page(r, code, NULL);
    if (full)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "flexsaml: refused reason=session_store_full id=%s: cannot %s: session "
                      "store %s; %u failure(s) in this process since the last such line",
                      flexsaml_correlation_id(r), what, full, count);
    else
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "flexsaml: refused reason=session_store id=%s: session store %s failed to "
                      "%s (%s); %u failure(s) in this process since the last such line",
                      flexsaml_correlation_id(r), flexsaml_store_spec(st), what,
                      flexsaml_store_last_error(st) ? flexsaml_store_last_error(st)
                                                    : apr_strerror(rv, buf, sizeof(buf)),
                      count);
    return flexsaml_refuse_page(r, code, NULL);
}
