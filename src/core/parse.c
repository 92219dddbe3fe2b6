/*
 * Value parsers of the settings model (parse.h).
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_info.h>

#include "parse.h"

/* A bound as people write it: 500ms, 60s, 2 minutes... whole units only. */
static const char *human(apr_pool_t *p, apr_interval_time_t t)
{
    static const struct {
        apr_int64_t usec;
        const char *one, *many;
    } units[] = {
        {86400 * APR_USEC_PER_SEC, "1 day", "days"},
        {3600 * APR_USEC_PER_SEC, "1 hour", "hours"},
        {60 * APR_USEC_PER_SEC, "1 minute", "minutes"},
        {APR_USEC_PER_SEC, "1 second", "seconds"},
    };
    size_t i;
    for (i = 0; t > 0 && i < sizeof(units) / sizeof(*units); i++) {
        if (t % units[i].usec)
            continue;
        if (t == units[i].usec)
            return units[i].one;
        return apr_psprintf(p, "%" APR_INT64_T_FMT " %s", t / units[i].usec, units[i].many);
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT "ms", t / 1000);
}

const char *flexsaml_parse_duration(apr_pool_t *p, const char *name, const char *arg,
                                    apr_interval_time_t lo, apr_interval_time_t hi,
                                    apr_interval_time_t *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10), unit = 0;

    if (end != arg && v >= 0 && apr_isdigit(*arg)) {
        if (!*end || !strcasecmp(end, "s"))
            unit = APR_USEC_PER_SEC;
        else if (!strcasecmp(end, "ms"))
            unit = 1000;
        else if (!strcasecmp(end, "m"))
            unit = 60 * APR_USEC_PER_SEC;
        else if (!strcasecmp(end, "h"))
            unit = 3600 * APR_USEC_PER_SEC;
        else if (!strcasecmp(end, "d"))
            unit = 86400 * APR_USEC_PER_SEC;
    }
    if (!unit)
        return apr_psprintf(p, "%s: \"%s\" is not a duration (e.g. 300, 500ms, 90m, 8h, 30d)", name,
                            arg);
    if (v > APR_INT64_MAX / unit || v * unit < lo || v * unit > hi)
        return apr_psprintf(p, "%s %s: must be between %s and %s", name, arg, human(p, lo),
                            human(p, hi));
    *out = (apr_interval_time_t)(v * unit);
    return NULL;
}

const char *flexsaml_parse_number(apr_pool_t *p, const char *name, const char *arg,
                                  const char *what, apr_int64_t lo, apr_int64_t hi,
                                  apr_int64_t *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    if (end == arg || *end || v < lo || v > hi)
        return apr_psprintf(p,
                            "%s: \"%s\" must be %s from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            name, arg, what, lo, hi);
    *out = v;
    return NULL;
}

const char *flexsaml_parse_flag(apr_pool_t *p, const char *name, const char *arg, int *out)
{
    /* httpd's own words for an AP_INIT_FLAG directive. */
    if (!strcasecmp(arg, "on"))
        *out = 1;
    else if (!strcasecmp(arg, "off"))
        *out = 0;
    else
        return apr_pstrcat(p, name, " must be On or Off", NULL);
    return NULL;
}

const char *flexsaml_parse_enum(apr_pool_t *p, const char *name, const char *arg,
                                const char *const *names, int *out)
{
    const char *list = "";
    int i;
    for (i = 0; names[i]; i++)
        if (!strcasecmp(arg, names[i])) {
            *out = i;
            return NULL;
        }
    for (i = 0; names[i]; i++)
        list = apr_pstrcat(p, list, i == 0 ? "" : names[i + 1] ? ", " : " or ", names[i], NULL);
    return apr_psprintf(p, "%s must be %s", name, list);
}

const char *flexsaml_parse_url_path(apr_pool_t *p, const char *name, const char *arg)
{
    apr_size_t n = strlen(arg);
    if (arg[0] != '/' || n < 2 || arg[n - 1] == '/' || strpbrk(arg, " ?#%\\"))
        return apr_psprintf(p,
                            "%s must be a path like /flexsaml (leading slash, no trailing slash, "
                            "no query)",
                            name);
    return NULL;
}

const char *flexsaml_root_relative(apr_pool_t *p, const char *root, const char *path)
{
    char *out;
    if (path[0] == '/' || !root)
        return path;
    if (apr_filepath_merge(&out, root, path, APR_FILEPATH_TRUENAME, p) != APR_SUCCESS)
        return apr_pstrcat(p, root, "/", path, NULL);
    return out;
}

int flexsaml_sid_valid(const char *s, const char *prefix)
{
    int i;
    if (!s || strncmp(s, prefix, 2) != 0)
        return 0;
    for (i = 2; i < 34; i++)
        if (!apr_isxdigit(s[i]))
            return 0;
    return s[34] == '\0';
}
