/*
 * Whole-file reads of the configuration's certificates and metadata.
 */
#include <apr_strings.h>
#include <apr_file_io.h>

#include "file.h"

const char *flexsaml_read_file(apr_pool_t *p, const char *path, apr_size_t max, const char **out,
                               apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char *buf;
    apr_size_t n;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS || fi.size < 0 || (apr_size_t)fi.size > max) {
        apr_file_close(f);
        return apr_psprintf(p, "is larger than %" APR_SIZE_T_FMT " bytes", max);
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return NULL;
}
