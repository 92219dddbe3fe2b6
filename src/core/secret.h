/*
 * One reader for every secret the configuration names (the session
 * passphrase, the TaskRouter credentials), so that each follows the same
 * rules.
 */
#ifndef FLEXSAML_SECRET_H
#define FLEXSAML_SECRET_H

#include <apr_pools.h>

/* A secret from file:/path, env:VAR or a plain path (relative to root). A
 * file must be a regular file that neither its group nor other users can
 * read: the refusal says to chmod 600 it. The value (at most max bytes,
 * trailing line breaks dropped) is copied to p and every other buffer is
 * wiped; the messages never quote it. NULL or a sentence. */
const char *flexsaml_secret_read(apr_pool_t *p, const char *root, const char *src, apr_size_t max,
                                 const char **out);

#endif
