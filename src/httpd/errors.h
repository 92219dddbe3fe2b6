/*
 * Refusals (errors.c): a log line and a person-readable page that share one
 * correlation id; the status, title and hint come from refusal.h.
 */
#ifndef FLEXSAML_ERRORS_H
#define FLEXSAML_ERRORS_H

#include "httpd.h"
#include "refusal.h"

/* Logs "refused reason=<code> id=<id>: <detail>" and answers with the
 * reason's status and page (hint NULL: the table's). Returns the value the
 * hook must return. */
int flexsaml_refuse(request_rec *r, flexsaml_refusal why, const char *detail, const char *hint);
/* The page alone, for refusals whose log line is rate-limited. */
int flexsaml_refuse_page(request_rec *r, flexsaml_refusal why, const char *hint);
/* The 503 page for a session store failure; the log line comes at most
 * once per interval per process, with the number of failures it stands for. */
int flexsaml_store_unavailable(request_rec *r, apr_status_t rv, const char *what);
/* Sets the module's own page for an error status and what the page is
 * (content_type, e.g. "application/json"), unless the site configured an
 * ErrorDocument for that status: then the site's wins. Returns whether the
 * module's page is used. */
int flexsaml_error_page(request_rec *r, int status, const char *page, const char *content_type);
/* What the module's error page of this request is, and whether it was said. */
void flexsaml_error_type(request_rec *r, const char *content_type);
int flexsaml_error_type_set(request_rec *r);
/* The site's ErrorDocument for status, or NULL. */
const char *flexsaml_site_error_document(request_rec *r, int status);
/* insert_error_filter: Apache declares every error page as
 * text/html; charset=iso-8859-1 and a 405 as allowing TRACE; this puts the
 * module's content type and Allow header back (see flexsaml_error_page). */
void flexsaml_error_filters(request_rec *r);
void flexsaml_register_error_filter(void);
/* An id that joins a page to its log line. */
const char *flexsaml_correlation_id(request_rec *r);

#endif
