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
/* Reads a POST body of at most max bytes into *out (NUL-terminated),
 * allocating as it arrives; OK, or the refusal already answered. */
int flexsaml_read_body(request_rec *r, apr_off_t max, const char **out);

#endif
