/*
 * Value parsers shared by every directive: one grammar per kind of value,
 * so that a duration or a size reads the same wherever it is written.
 * Each returns NULL, or a sentence starting with the directive's name.
 */
#ifndef FLEXSAML_PARSE_H
#define FLEXSAML_PARSE_H

#include <apr_pools.h>
#include <apr_time.h>

/* A whole number followed by ms, s, m, h or d (case-insensitive; none means
 * seconds), between lo and hi inclusive. */
const char *flexsaml_parse_duration(apr_pool_t *p, const char *name, const char *arg,
                                    apr_interval_time_t lo, apr_interval_time_t hi,
                                    apr_interval_time_t *out);

/* A whole number between lo and hi inclusive; what says what it counts
 * ("a byte count", "a number"). */
const char *flexsaml_parse_number(apr_pool_t *p, const char *name, const char *arg,
                                  const char *what, apr_int64_t lo, apr_int64_t hi,
                                  apr_int64_t *out);

/* on or off, case-insensitive. */
const char *flexsaml_parse_flag(apr_pool_t *p, const char *name, const char *arg, int *out);

/* One of names (case-insensitive, NULL-terminated); *out is its index. */
const char *flexsaml_parse_enum(apr_pool_t *p, const char *name, const char *arg,
                                const char *const *names, int *out);

/* A URL path such as /flexsaml: leading slash, no trailing slash, no query. */
const char *flexsaml_parse_url_path(apr_pool_t *p, const char *name, const char *arg);

/* path under root unless it is absolute (ap_server_root_relative). */
const char *flexsaml_root_relative(apr_pool_t *p, const char *root, const char *path);

/* A Twilio SID: the two-letter prefix and 32 hexadecimal digits. */
int flexsaml_sid_valid(const char *s, const char *prefix);

#endif
