/* Escapes for pages and JSON (escape.c). */
#ifndef FLEXSAML_ESCAPE_H
#define FLEXSAML_ESCAPE_H

#include <apr_pools.h>

/* A JSON string literal, quotes included (never NULL; NULL gives ""). */
const char *flexsaml_json_string(apr_pool_t *p, const char *s);
/* HTML-escapes for a page (never NULL). */
const char *flexsaml_html(apr_pool_t *p, const char *s);

#endif
