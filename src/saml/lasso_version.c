/*
 * Does the loaded Lasso carry the 2025 security fixes (CVE-2025-46404,
 * CVE-2025-46705, CVE-2025-47151: crashes and a type confusion on crafted
 * XML)? Upstream fixed them in 2.9.0; Debian 12 backported them into
 * 2.8.1-1+deb12u1. Lasso exports only its upstream version, so for older
 * upstream versions the answer comes from the package that owns the loaded
 * library file in the dpkg database.
 *
 * Verdicts: FIXED (upstream >= 2.9.0, or a package version known to carry
 * the patches); VULNERABLE (an upstream version < 2.9.0 that is either a
 * Debian package older than the known fixed one, or a library no package
 * owns on a dpkg system: a source build of an unfixed release); UNKNOWN
 * otherwise (another distribution, or a Debian-family version not in the
 * table: their backports cannot be seen from here).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_file_io.h>

#include "flexsaml_sp.h"

#define DPKG_DIR "/var/lib/dpkg"

/* Upstream version -> first package version with the fixes. */
static const struct {
    const char *upstream;
    const char *fixed;
    const char *where;
} known_fixed[] = {
    {"2.8.1", "2.8.1-1+deb12u1", "the Debian 12 security update"},
    {NULL, NULL, NULL},
};

/* ---- dpkg version comparison (deb-version(7)) ---- */

static int order(int c)
{
    if (isdigit(c))
        return 0;
    if (isalpha(c))
        return c;
    if (c == '~')
        return -1;
    if (c)
        return c + 256;
    return 0;
}

static int verrevcmp(const char *a, const char *b)
{
    while (*a || *b) {
        int first_diff = 0;
        while ((*a && !isdigit((unsigned char)*a)) || (*b && !isdigit((unsigned char)*b))) {
            int ac = order((unsigned char)*a), bc = order((unsigned char)*b);
            if (ac != bc)
                return ac - bc;
            a++;
            b++;
        }
        while (*a == '0')
            a++;
        while (*b == '0')
            b++;
        while (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            if (!first_diff)
                first_diff = *a - *b;
            a++;
            b++;
        }
        if (isdigit((unsigned char)*a))
            return 1;
        if (isdigit((unsigned char)*b))
            return -1;
        if (first_diff)
            return first_diff;
    }
    return 0;
}

/* Splits "[epoch:]upstream[-revision]" in place. */
static void split_version(char *v, long *epoch, char **upstream, char **revision)
{
    char *colon = strchr(v, ':'), *dash;
    *epoch = 0;
    if (colon) {
        *epoch = strtol(v, NULL, 10);
        v = colon + 1;
    }
    dash = strrchr(v, '-');
    *revision = (char *)"";
    if (dash) {
        *dash = '\0';
        *revision = dash + 1;
    }
    *upstream = v;
}

int flexsaml_deb_version_cmp(apr_pool_t *p, const char *a, const char *b)
{
    long ea, eb;
    char *ua, *ub, *ra, *rb;
    int c;

    split_version(apr_pstrdup(p, a), &ea, &ua, &ra);
    split_version(apr_pstrdup(p, b), &eb, &ub, &rb);
    if (ea != eb)
        return ea < eb ? -1 : 1;
    if ((c = verrevcmp(ua, ub)) != 0)
        return c < 0 ? -1 : 1;
    c = verrevcmp(ra, rb);
    return c < 0 ? -1 : c > 0;
}

/* ---- the dpkg database ---- */

static char *slurp(apr_pool_t *p, const char *path, apr_size_t max)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS)
        return NULL;
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS || fi.size < 0 ||
        (apr_size_t)fi.size > max) {
        apr_file_close(f);
        return NULL;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    if (n && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS)
        n = 0;
    buf[n] = '\0';
    apr_file_close(f);
    return buf;
}

static int list_has_line(const char *list, const char *path)
{
    apr_size_t n = strlen(path);
    const char *s = list;
    while ((s = strstr(s, path)) != NULL) {
        if ((s == list || s[-1] == '\n') && (s[n] == '\n' || s[n] == '\0'))
            return 1;
        s += n;
    }
    return 0;
}

/* Does the file list of package name (arch) hold library? */
static int owns(apr_pool_t *p, const char *dpkg_dir, const char *name, const char *arch,
                const char *library)
{
    const char *list = NULL;
    if (arch)
        list =
            slurp(p, apr_psprintf(p, "%s/info/%s:%s.list", dpkg_dir, name, arch), 4 * 1024 * 1024);
    if (!list)
        list = slurp(p, apr_psprintf(p, "%s/info/%s.list", dpkg_dir, name), 4 * 1024 * 1024);
    return list && list_has_line(list, library);
}

/* The installed liblasso package whose file list has library: its name and
 * version. The status file is paragraphs of "Key: value" lines separated by
 * a blank line. */
static int dpkg_owner(apr_pool_t *p, const char *dpkg_dir, const char *library, const char **pkg,
                      const char **version)
{
    char *line =
        library ? slurp(p, apr_pstrcat(p, dpkg_dir, "/status", NULL), 64 * 1024 * 1024) : NULL;
    const char *name = NULL, *arch = NULL, *ver = NULL;
    int installed = 0;

    while (line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(line, "Package: ", 9))
            name = line + 9;
        else if (!strncmp(line, "Architecture: ", 14))
            arch = line + 14;
        else if (!strncmp(line, "Version: ", 9))
            ver = line + 9;
        else if (!strncmp(line, "Status: ", 8))
            installed = strstr(line, " installed") != NULL;
        if (*line == '\0' || !nl) { /* the end of a paragraph */
            if (name && ver && installed && !strncmp(name, "liblasso", 8) &&
                owns(p, dpkg_dir, name, arch, library)) {
                *pkg = name;
                *version = ver;
                return 1;
            }
            name = arch = ver = NULL;
            installed = 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

flexsaml_lasso_verdict flexsaml_lasso_judge(apr_pool_t *p, const int version[3],
                                            const char *library, const char *dpkg_dir,
                                            const char **found)
{
    const char *upstream = apr_psprintf(p, "%d.%d.%d", version[0], version[1], version[2]);
    const char *pkg = NULL, *pkg_version = NULL;
    apr_finfo_t fi;
    int i;

    if (!dpkg_dir)
        dpkg_dir = DPKG_DIR;
    *found = apr_psprintf(p, "Lasso %s (%s)", upstream, library ? library : "library path unknown");
    if (version[0] > 2 || (version[0] == 2 && version[1] >= 9)) {
        *found = apr_pstrcat(p, *found, ", upstream 2.9.0 or later: has the 2025 fixes", NULL);
        return FLEXSAML_LASSO_FIXED;
    }
    if (dpkg_owner(p, dpkg_dir, library, &pkg, &pkg_version)) {
        *found = apr_psprintf(p, "Lasso %s from the package %s %s", upstream, pkg, pkg_version);
        for (i = 0; known_fixed[i].upstream; i++) {
            long epoch;
            char *up, *rev;
            split_version(apr_pstrdup(p, pkg_version), &epoch, &up, &rev);
            if (strcmp(up, known_fixed[i].upstream) != 0)
                continue;
            if (flexsaml_deb_version_cmp(p, pkg_version, known_fixed[i].fixed) >= 0) {
                *found = apr_psprintf(p, "%s: carries the 2025 fixes (%s %s or later)", *found,
                                      known_fixed[i].where, known_fixed[i].fixed);
                return FLEXSAML_LASSO_FIXED;
            }
            *found = apr_psprintf(p,
                                  "%s: lacks the 2025 fixes (CVE-2025-46404, CVE-2025-46705, "
                                  "CVE-2025-47151); install %s or later",
                                  *found, known_fixed[i].fixed);
            return FLEXSAML_LASSO_VULNERABLE;
        }
        *found = apr_pstrcat(
            p, *found, ": whether this package carries the 2025 fixes is not known here", NULL);
        return FLEXSAML_LASSO_UNKNOWN;
    }
    if (library && apr_stat(&fi, apr_pstrcat(p, dpkg_dir, "/status", NULL), APR_FINFO_TYPE, p) ==
                       APR_SUCCESS) {
        *found = apr_pstrcat(p, *found,
                             ", not from a package: a build of an upstream release before 2.9.0 "
                             "lacks the 2025 fixes (CVE-2025-46404, CVE-2025-46705, "
                             "CVE-2025-47151)",
                             NULL);
        return FLEXSAML_LASSO_VULNERABLE;
    }
    *found = apr_pstrcat(p, *found,
                         ": before 2.9.0, and whether the distribution backported the 2025 "
                         "fixes is not known here",
                         NULL);
    return FLEXSAML_LASSO_UNKNOWN;
}

flexsaml_lasso_verdict flexsaml_lasso_check(apr_pool_t *p, const char **found)
{
    int version[3];
    const char *library;

    flexsaml_lasso_runtime(p, version, &library);
    return flexsaml_lasso_judge(p, version, library, NULL, found);
}
