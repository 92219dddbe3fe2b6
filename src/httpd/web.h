/*
 * The web unit: the URL the browser and the IdP see (public_url.c), and the
 * HTTP helpers every handler shares (web.c).
 */
#ifndef FLEXSAML_WEB_H
#define FLEXSAML_WEB_H

#include "httpd.h"

/* ---- public_url.c ---- */
const char *flexsaml_public_url(request_rec *r, const char *path);
/* A path under the endpoint ("/login" -> https://host/flexsaml/login). */
const char *flexsaml_endpoint_url(request_rec *r, const char *suffix);
const char *flexsaml_acs_url(request_rec *r);
/* host[:port] of the public URL, and whether it is https. */
const char *flexsaml_public_host(request_rec *r);
int flexsaml_public_https(request_rec *r);

/* ---- web.c ---- */
/* candidate when it is a local path or an allowed URL, else NULL. */
const char *flexsaml_safe_target(request_rec *r, const char *candidate);
/* The pairs of a query string or urlencoded body; undecodable pairs are
 * dropped, and the first of a repeated name wins. */
apr_table_t *flexsaml_form_parse(apr_pool_t *p, const char *body);
/* One decoded value of a query string or urlencoded body. */
const char *flexsaml_form_value(request_rec *r, const char *query, const char *name);
void flexsaml_set_cookie(request_rec *r, const char *name, const char *value, int expire);
/* The login-state cookie (pending.c): value for max_age seconds, or
 * deleted when value is NULL. */
void flexsaml_set_state_cookie(request_rec *r, const char *name, const char *value, int max_age);
int flexsaml_see_other(request_rec *r, const char *target);
typedef enum {
    FLEXSAML_BODY_OK,
    FLEXSAML_BODY_BAD_LENGTH, /* a Content-Length that is not a number */
    FLEXSAML_BODY_TOO_LARGE,  /* declared or sent over max */
    FLEXSAML_BODY_BROKEN,     /* the client stopped sending */
    FLEXSAML_BODY_REFUSED     /* httpd refused the framing: *rc is its status */
} flexsaml_body;
/* Reads a POST body of at most max bytes into *out (NUL-terminated) and
 * *len, allocating as it arrives, so a body announced and never sent costs
 * a few KiB, not max. Answers nothing: the caller decides. */
flexsaml_body flexsaml_body_read(request_rec *r, apr_off_t max, const char **out, apr_size_t *len,
                                 int *rc);
/* The same for the module's own endpoints: OK, or the refusal already
 * answered. */
int flexsaml_read_body(request_rec *r, apr_off_t max, const char **out);

/* Whether the request comes from this site's own pages (Sec-Fetch-Site; or
 * without it Origin; or Referer) or a person typed it. A request that says
 * none of this (a plain http site, where browsers send no Sec-Fetch-*; a
 * page with Referrer-Policy no-referrer) is not. What a cross-site page may
 * not do: end a session (slo.c), have a form kept through a login
 * (preserve_post.c). */
int flexsaml_same_origin(request_rec *r);

/* Whether a script, not a person, asked (XHR, or Accept: application/json
 * without text/html): it gets JSON answers instead of pages and redirects. */
int flexsaml_wants_json(request_rec *r);

#endif
