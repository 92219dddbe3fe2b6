/*
 * A form posted to a protected URL without a session (it ended while the
 * person typed) is kept through the login and replayed to the same URL
 * after it, as mod_auth_openidc's OIDCPreservePost and mod_auth_mellon's
 * POST replay do. The body cannot travel in cookies (a megabyte), so it is
 * sealed under a fresh random key and put in the store; the key and the
 * entry's id go only into an HttpOnly cookie of this browser. The store
 * never holds the body unsealed, and nobody without that cookie can open
 * or trigger the replay. The replay happens on the server: the first
 * request to that URL on a session made after the POST becomes the POST
 * again (method, Content-Type, body), so a multipart file upload reaches
 * the application byte for byte, with no page and no script in between.
 */
#include <string.h>

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "apr_strings.h"
#include "apr_encode.h"
#include "apr_general.h"
#include "apr_atomic.h"

#include "flexsaml_glue.h"
#include "preserve_post.h"
#include "metrics.h"
#include "runtime.h"
#include "seal.h"
#include "store.h"
#include "web.h"

#define POST_COOKIE FLEXSAML_POST_COOKIE
#define REF_BYTES 16
#define FILTER_NAME "FLEXSAML_REPLAY"

static const char *or_absent(const char *v)
{
    return v ? v : "absent";
}

static const char *b64url(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    apr_size_t len;
    return apr_pencode_base64_binary(p, b, (apr_ssize_t)n,
                                     APR_ENCODE_BASE64URL | APR_ENCODE_NOPADDING, &len);
}

static const char *aad_of(request_rec *r, const flexsaml_srv_cfg *c, const char *id)
{
    return apr_pstrcat(r->pool, "mod_flexsaml/post/v1|", c->sp_entity_id, "|",
                       flexsaml_public_host(r), "|", id, NULL);
}

static int form_type(const char *ct)
{
    return ct && (!strncasecmp(ct, "application/x-www-form-urlencoded", 33) ||
                  !strncasecmp(ct, "multipart/form-data", 19));
}

/* Whether len more bytes fit in this virtual host's budget: whoever can
 * reach a protected URL can post to it, so what every child keeps for
 * anonymous clients is bounded, per FlexSAMLRequestLifetime (a kept POST
 * lives that long: at most twice the budget is ever in the store). */
static int budget_take(const flexsaml_srv_cfg *c, apr_size_t len)
{
    flexsaml_metrics *m = c->rt->metrics;
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t start = apr_atomic_read32(&m->post_window);
    apr_uint32_t kib = (apr_uint32_t)(len / 1024 + 1);
    apr_uint32_t budget = (apr_uint32_t)(c->preserve_post_budget / 1024);

    if (now - start >= (apr_uint32_t)c->request_ttl &&
        apr_atomic_cas32(&m->post_window, now, start) == start)
        apr_atomic_set32(&m->post_kib, 0);
    if (apr_atomic_add32(&m->post_kib, kib) + kib > budget) {
        apr_atomic_sub32(&m->post_kib, kib);
        return 0;
    }
    return 1;
}

void flexsaml_post_keep(request_rec *r, const flexsaml_srv_cfg *c)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type"), *body, *plain, *sealed, *id,
               *cookie;
    unsigned char key[FLEXSAML_SEAL_KEY_LEN], ref[REF_BYTES];
    flexsaml_sealer *sealer;
    apr_size_t len = 0, slen = 0;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    int rc = OK;

    if (c->preserve_post <= 0 || r->method_number != M_POST || r->main || !form_type(ct))
        return;
    /* A page of another site could otherwise post a form here for a
     * person with no session, and have it replayed under the session their
     * next (silent, with an Okta session) login makes: the SameSite cookie
     * that stops cross-site forms would be bypassed. */
    if (!flexsaml_same_origin(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: a POST to %s without a session is not kept through the login: "
                      "it does not come from this site's pages (Sec-Fetch-Site %s, Origin %s)",
                      r->uri, or_absent(apr_table_get(r->headers_in, "Sec-Fetch-Site")),
                      or_absent(apr_table_get(r->headers_in, "Origin")));
        return;
    }
    if (flexsaml_body_read(r, c->preserve_post, &body, &len, &rc) != FLEXSAML_BODY_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "flexsaml: a POST to %s without a session is not kept through the login: "
                      "its body is over FlexSAMLPreservePost %" APR_OFF_T_FMT " bytes or broke off",
                      r->uri, c->preserve_post);
        r->connection->keepalive = AP_CONN_CLOSE;
        return;
    }
    if (!budget_take(c, len)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_WARNING, 0, r,
            "flexsaml: a POST of %" APR_SIZE_T_FMT " bytes to %s without a session is "
            "not kept through the login: this host already keeps %" APR_OFF_T_FMT
            " bytes of such POSTs in this FlexSAMLRequestLifetime (FlexSAMLPreservePost's "
            "second value; a flood of anonymous POSTs, or raise it)",
            len, r->uri, c->preserve_post_budget);
        return;
    }
    if (apr_generate_random_bytes(key, sizeof(key)) != APR_SUCCESS ||
        apr_generate_random_bytes(ref, sizeof(ref)) != APR_SUCCESS)
        return;
    id = b64url(r->pool, ref, sizeof(ref));
    cookie = apr_pstrcat(r->pool, id, ".", b64url(r->pool, key, sizeof(key)), NULL);
    /* <time> <url>\n<content-type>\n<body>: the URL and type are ours to
     * check on replay; the body is any bytes. */
    plain = apr_psprintf(r->pool, "%" APR_TIME_T_FMT " %s\n%s\n", now, r->unparsed_uri, ct);
    {
        apr_size_t hlen = strlen(plain);
        char *all = apr_palloc(r->pool, hlen + len);
        memcpy(all, plain, hlen);
        memcpy(all + hlen, body, len);
        flexsaml_sealer_from_key(r->pool, key, &sealer);
        sealed = flexsaml_seal(r->pool, sealer, aad_of(r, c, id), strlen(aad_of(r, c, id)), all,
                               hlen + len, &slen);
    }
    /* From here the key exists only in the cookie: the store cannot open
     * what it holds. */
    flexsaml_wipe(key, sizeof(key));
    if (!sealed)
        return;
    rv = flexsaml_store_put(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_POST, id,
                            now + apr_time_from_sec(c->request_ttl), sealed, slen);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                      "flexsaml: a POST to %s without a session could not be kept (store)", r->uri);
        return;
    }
    flexsaml_set_state_cookie(r, POST_COOKIE, cookie, c->request_ttl);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "flexsaml: a POST of %" APR_SIZE_T_FMT " bytes to %s is kept through the login",
                  len, r->uri);
}

typedef struct {
    const char *body;
    apr_size_t len, off;
} replay_ctx;

/* Hands the kept body to whoever reads the request body; the connection is
 * never read, since the request that carries the replay is a GET. */
static apr_status_t replay_filter(ap_filter_t *f, apr_bucket_brigade *bb, ap_input_mode_t mode,
                                  apr_read_type_e block, apr_off_t readbytes)
{
    replay_ctx *ctx = f->ctx;
    apr_size_t n;

    (void)block;
    if (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE)
        return APR_ENOTIMPL;
    n = ctx->len - ctx->off;
    if (readbytes > 0 && (apr_size_t)readbytes < n)
        n = (apr_size_t)readbytes;
    if (n > 0) {
        APR_BRIGADE_INSERT_TAIL(
            bb, apr_bucket_immortal_create(ctx->body + ctx->off, n, f->c->bucket_alloc));
        if (mode == AP_MODE_READBYTES)
            ctx->off += n;
        return APR_SUCCESS;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    return APR_SUCCESS;
}

void flexsaml_post_register(apr_pool_t *p)
{
    (void)p;
    ap_register_input_filter(FILTER_NAME, replay_filter, NULL, AP_FTYPE_RESOURCE);
}

void flexsaml_post_replay(request_rec *r, const flexsaml_srv_cfg *c, const flexsaml_session *s)
{
    const char *cookie, *dot, *id, *val, *plain, *nl1, *nl2, *sp, *cl;
    apr_size_t klen = 0, vlen = 0, plen = 0;
    const unsigned char *key;
    flexsaml_sealer *sealer;
    apr_time_t kept;
    replay_ctx *ctx;

    if (r->main || r->method_number != M_GET)
        return;
    /* The replay hands the kept body to the handler and never reads the
     * connection: a body sent with this GET would stay there and be read
     * as the next request (request smuggling behind a proxy that reuses
     * connections). Such a GET gets no replay. */
    if (apr_table_get(r->headers_in, "Transfer-Encoding") ||
        ((cl = apr_table_get(r->headers_in, "Content-Length")) != NULL && strcmp(cl, "0") != 0))
        return;
    cookie = flexsaml_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"), POST_COOKIE);
    if (!cookie || !(dot = strchr(cookie, '.')))
        return;
    id = apr_pstrmemdup(r->pool, cookie, (apr_size_t)(dot - cookie));
    key = apr_pdecode_base64_binary(r->pool, dot + 1, APR_ENCODE_STRING,
                                    APR_ENCODE_BASE64URL | APR_ENCODE_NOPADDING, &klen);
    if (!key || klen != FLEXSAML_SEAL_KEY_LEN ||
        flexsaml_store_get(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_POST, id, &val,
                           &vlen) != APR_SUCCESS) {
        flexsaml_set_state_cookie(r, POST_COOKIE, NULL, 0);
        return;
    }
    flexsaml_sealer_from_key(r->pool, key, &sealer);
    plain = flexsaml_unseal(r->pool, sealer, aad_of(r, c, id), strlen(aad_of(r, c, id)), val, vlen,
                            &plen);
    if (!plain || !(nl1 = memchr(plain, '\n', plen)) ||
        !(nl2 = memchr(nl1 + 1, '\n', plen - (apr_size_t)(nl1 + 1 - plain))) ||
        !(sp = memchr(plain, ' ', (apr_size_t)(nl1 - plain)))) {
        flexsaml_set_state_cookie(r, POST_COOKIE, NULL, 0);
        return;
    }
    kept = apr_atoi64(apr_pstrmemdup(r->pool, plain, (apr_size_t)(sp - plain)));
    /* Only the login that the POST started: the same URL, on a session
     * made after it. Any other page leaves it waiting until it expires. */
    if (strncmp(sp + 1, r->unparsed_uri, (apr_size_t)(nl1 - sp - 1)) != 0 ||
        strlen(r->unparsed_uri) != (apr_size_t)(nl1 - sp - 1) || s->created < kept)
        return;
    flexsaml_store_remove(c->rt->store, r, flexsaml_public_host(r), FLEXSAML_KEY_POST, id);
    flexsaml_set_state_cookie(r, POST_COOKIE, NULL, 0);
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->body = nl2 + 1;
    ctx->len = plen - (apr_size_t)(nl2 + 1 - plain);
    r->method = "POST";
    r->method_number = M_POST;
    apr_table_setn(r->headers_in, "Content-Type",
                   apr_pstrmemdup(r->pool, nl1 + 1, (apr_size_t)(nl2 - nl1 - 1)));
    apr_table_setn(r->headers_in, "Content-Length",
                   apr_psprintf(r->pool, "%" APR_SIZE_T_FMT, ctx->len));
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    ap_add_input_filter(FILTER_NAME, ctx, r, r->connection);
    /* Nothing of this request is read from the connection: end it after the
     * answer rather than trust what may follow. */
    r->connection->keepalive = AP_CONN_CLOSE;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "flexsaml: replaying the POST of %" APR_SIZE_T_FMT
                  " bytes to %s kept through the login of %s",
                  ctx->len, r->uri, s->ident.name_id);
}
