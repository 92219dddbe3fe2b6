/*
 * The one secret reader (secret.h).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>

#include "parse.h"
#include "secret.h"

/* The value is copied out of a scratch pool whose buffer is wiped before
 * the pool goes, so that only the copy the caller keeps holds the secret. */
static const char *read_secret_file(apr_pool_t *p, const char *path, apr_size_t max,
                                    const char **out)
{
    apr_pool_t *tmp;
    apr_finfo_t fi;
    apr_file_t *f;
    apr_status_t rv;
    apr_size_t n;
    char *buf;
    const char *err = NULL;

    rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_SIZE, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    if (fi.filetype != APR_REG)
        return "is not a regular file";
    if (fi.protection & (APR_FPROT_WREAD | APR_FPROT_WWRITE | APR_FPROT_GREAD | APR_FPROT_GWRITE))
        return "is readable or writable by every user or by its group: chmod 600 it, so that only "
               "its owner (the user httpd starts as) reads it";
    if (fi.size < 0 || (apr_size_t)fi.size > max)
        return apr_psprintf(p, "is larger than %" APR_SIZE_T_FMT " bytes", max);
    apr_pool_create(&tmp, p);
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, tmp);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    }
    buf = apr_pcalloc(tmp, max + 1);
    rv = apr_file_read_full(f, buf, max, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        err = apr_psprintf(p, "cannot be read (%pm)", &rv);
    else
        *out = apr_pstrmemdup(p, buf, n);
    memset(buf, 0, max + 1);
    apr_pool_destroy(tmp);
    return err;
}

const char *flexsaml_secret_read(apr_pool_t *p, const char *root, const char *src, apr_size_t max,
                                 const char **out)
{
    const char *v = NULL, *err;
    apr_size_t n;

    if (!strncmp(src, "env:", 4)) {
        v = getenv(src + 4);
        if (!v || !*v)
            return apr_psprintf(p, "the environment variable %s is not set", src + 4);
        if (strlen(v) > max)
            return apr_psprintf(
                p, "the environment variable %s is longer than %" APR_SIZE_T_FMT " bytes", src + 4,
                max);
        v = apr_pstrdup(p, v);
    } else {
        src = flexsaml_root_relative(p, root, !strncmp(src, "file:", 5) ? src + 5 : src);
        if ((err = read_secret_file(p, src, max, &v)) != NULL)
            return err;
    }
    /* A trailing line break is how editors end a file, not part of it. */
    n = strlen(v);
    while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
        ((char *)v)[--n] = '\0';
    *out = v;
    return NULL;
}
