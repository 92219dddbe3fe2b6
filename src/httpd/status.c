/*
 * `SetHandler flexsaml-status` (the counters, in Prometheus text) and
 * `SetHandler flexsaml-whoami` (the session's identity). Both are handlers
 * rather than endpoints so that ordinary Require rules protect them.
 */
#include <string.h>

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "apr_atomic.h"
#include "apr_escape.h"

#include "flexsaml_glue.h"
#include "runtime.h"
#include "taskrouter_glue.h"
#include "authn.h"
#include "escape.h"
#include "metrics.h"
#include "status.h"

static int status_handler(request_rec *r, const flexsaml_srv_cfg *c)
{
    flexsaml_metrics *m = c->rt->metrics;
    const flexsaml_idp *idp = flexsaml_sp_idp(flexsaml_request_sp(r, c->rt));
    apr_time_t now = apr_time_now();
    int i;

    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only)
        return OK;
    ap_rputs("# HELP flexsaml_logins_total Logins that opened a session.\n"
             "# TYPE flexsaml_logins_total counter\n",
             r);
    ap_rprintf(r, "flexsaml_logins_total %u\n", apr_atomic_read32(&m->logins));
    ap_rputs("# HELP flexsaml_refusals_total Refusals by reason code.\n"
             "# TYPE flexsaml_refusals_total counter\n",
             r);
    for (i = FLEXSAML_R_NONE + 1; i < FLEXSAML_R_COUNT; i++)
        ap_rprintf(r, "flexsaml_refusals_total{reason=\"%s\"} %u\n",
                   flexsaml_refusal_code((flexsaml_refusal)i), apr_atomic_read32(&m->refusals[i]));
    ap_rputs("# HELP flexsaml_store_operations_total Session store operations.\n"
             "# TYPE flexsaml_store_operations_total counter\n",
             r);
    for (i = 0; i < FLEXSAML_STORE_OPS; i++)
        ap_rprintf(r, "flexsaml_store_operations_total{op=\"%s\"} %u\n", flexsaml_store_op_names[i],
                   flexsaml_metric_store_ops(m, i));
    ap_rputs("# HELP flexsaml_store_errors_total Session store operations that failed.\n"
             "# TYPE flexsaml_store_errors_total counter\n",
             r);
    ap_rprintf(r, "flexsaml_store_errors_total %u\n", apr_atomic_read32(&m->store_errors));
    if (idp->cert_not_after) {
        ap_rputs("# HELP flexsaml_idp_certificate_expiry_seconds Seconds until the IdP signing "
                 "certificate expires (negative: expired).\n"
                 "# TYPE flexsaml_idp_certificate_expiry_seconds gauge\n",
                 r);
        ap_rprintf(
            r, "flexsaml_idp_certificate_expiry_seconds{issuer=\"%s\"} %" APR_TIME_T_FMT "\n",
            apr_pescape_echo(r->pool, idp->entity_id, 1), apr_time_sec(idp->cert_not_after - now));
    }
    ap_rputs("# HELP flexsaml_metadata_age_seconds Seconds since the IdP description was loaded.\n"
             "# TYPE flexsaml_metadata_age_seconds gauge\n",
             r);
    ap_rprintf(r, "flexsaml_metadata_age_seconds %" APR_TIME_T_FMT "\n",
               apr_time_sec(now - atomic_load(&c->rt->idp_loaded)));
    flexsaml_tr_metrics(r, c->rt->tr);
    ap_rputs("# HELP flexsaml_info Module and Lasso versions.\n# TYPE flexsaml_info gauge\n", r);
    ap_rprintf(r, "flexsaml_info{version=\"%s\",lasso=\"%s\"} 1\n", FLEXSAML_VERSION,
               LASSO_BUILD_VERSION);
    return OK;
}

static void json_pair(request_rec *r, const char *k, const char *v, int first)
{
    ap_rprintf(r, "%s%s:%s", first ? "" : ",", flexsaml_json_string(r->pool, k),
               flexsaml_json_string(r->pool, v));
}

static int whoami_handler(request_rec *r, const flexsaml_srv_cfg *c)
{
    flexsaml_session *s = flexsaml_request_session(r);
    apr_table_t *env = apr_table_make(r->pool, 8);
    const apr_array_header_t *e;
    const char *accept = apr_table_get(r->headers_in, "Accept");
    int json = (r->args && strstr(r->args, "format=json")) ||
               (accept && ap_strcasestr(accept, "application/json"));
    int i;

    if (!s)
        return flexsaml_start_login(r, r->unparsed_uri);
    /* What the application sees first: REMOTE_USER (FlexSAMLUser), then FLEX_*. */
    apr_table_setn(env, "REMOTE_USER", flexsaml_session_user(c, s));
    flexsaml_claims_export(r->pool, c->claims, &s->ident, env, NULL);
    e = apr_table_elts(env);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (json) {
        ap_set_content_type(r, "application/json");
        ap_rputs("{", r);
        json_pair(r, "name_id", s->ident.name_id, 1);
        json_pair(r, "full_name", s->ident.full_name, 0);
        json_pair(r, "email", s->ident.email, 0);
        json_pair(r, "image_url", s->ident.image_url, 0);
        ap_rputs(",\"roles\":[", r);
        for (i = 0; i < s->ident.roles->nelts; i++)
            ap_rprintf(r, "%s%s", i ? "," : "",
                       flexsaml_json_string(r->pool, APR_ARRAY_IDX(s->ident.roles, i, char *)));
        ap_rprintf(r, "],\"expires_in\":%" APR_TIME_T_FMT ",\"env\":{",
                   apr_time_sec(s->expires - apr_time_now()));
        for (i = 0; i < e->nelts; i++)
            json_pair(r, APR_ARRAY_IDX(e, i, apr_table_entry_t).key,
                      APR_ARRAY_IDX(e, i, apr_table_entry_t).val, i == 0);
        ap_rputs("}}\n", r);
        return OK;
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r,
               "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Who am I"
               "</title><style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:"
               ".2rem .8rem;text-align:left;border-bottom:1px solid #ddd}</style></head><body>"
               "<h1>%s</h1><p>%s &middot; roles <code>%s</code></p><table><tr><th>Variable</th>"
               "<th>Value</th></tr>",
               flexsaml_html(r->pool, s->ident.full_name), flexsaml_html(r->pool, s->ident.email),
               flexsaml_html(r->pool, flexsaml_roles_join(r->pool, s->ident.roles, ",")));
    for (i = 0; i < e->nelts; i++)
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td></tr>",
                   flexsaml_html(r->pool, APR_ARRAY_IDX(e, i, apr_table_entry_t).key),
                   flexsaml_html(r->pool, APR_ARRAY_IDX(e, i, apr_table_entry_t).val));
    ap_rputs("</table></body></html>\n", r);
    return OK;
}

int flexsaml_handler(request_rec *r)
{
    const flexsaml_srv_cfg *c = flexsaml_srv(r->server);
    int status;

    if (!r->handler || strncmp(r->handler, "flexsaml-", 9) != 0)
        return DECLINED;
    status = !strcmp(r->handler, "flexsaml-status")   ? 1
             : !strcmp(r->handler, "flexsaml-whoami") ? 2
                                                      : 0;
    if (!status)
        return DECLINED;
    if (!c->rt) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "flexsaml: SetHandler %s in a server without FlexSAML settings", r->handler);
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    return status == 1 ? status_handler(r, c) : whoami_handler(r, c);
}
