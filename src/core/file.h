/*
 * Whole-file reads of what the configuration names (file.c).
 */
#ifndef FLEXSAML_FILE_H
#define FLEXSAML_FILE_H

#include <apr_pools.h>

/* Reads a whole file (at most max bytes), NUL-terminated; NULL, or a
 * sentence to follow the path ("cannot be read (...)"). */
const char *flexsaml_read_file(apr_pool_t *p, const char *path, apr_size_t max, const char **out,
                               apr_size_t *len);

#endif
