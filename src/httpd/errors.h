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
/* An id that joins a page to its log line. */
const char *flexsaml_correlation_id(request_rec *r);

#endif
