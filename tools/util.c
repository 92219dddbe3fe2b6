/*
 * Small helpers of the flexsaml tool: files, printable text, durations, the
 * words for why two URLs differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_lib.h>

#include "tool.h"

const char *tool_read_file(apr_pool_t *p, const char *path, apr_size_t max, char **out,
                           apr_size_t *len)
{
    apr_file_t *f;
    apr_status_t rv;
    char *buf;
    apr_size_t cap = 64 * 1024, n = 0;

    if (!strcmp(path, "-")) {
        rv = apr_file_open_stdin(&f, p);
    } else {
        struct stat st;
        /* A FIFO or a device would block or never end: only files are read
         * by name (stdin is "-"). */
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return apr_psprintf(p, "%s is not a regular file", path);
        rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    }
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "%s cannot be read (%pm)", path, &rv);
    /* Read in chunks rather than trusting a size: stdin and pipes have
     * none, and a file may grow while it is read. */
    buf = apr_palloc(p, cap + 1);
    for (;;) {
        apr_size_t want = cap - n;
        if (want == 0) {
            char *bigger;
            if (cap > max) {
                apr_file_close(f);
                return apr_psprintf(p, "%s is larger than %" APR_SIZE_T_FMT " bytes", path, max);
            }
            bigger = apr_palloc(p, cap * 2 + 1);
            memcpy(bigger, buf, n);
            buf = bigger;
            cap *= 2;
            want = cap - n;
        }
        rv = apr_file_read(f, buf + n, &want);
        n += want;
        if (rv == APR_EOF)
            break;
        if (rv != APR_SUCCESS) {
            apr_file_close(f);
            return apr_psprintf(p, "%s cannot be read (%pm)", path, &rv);
        }
    }
    apr_file_close(f);
    if (n > max)
        return apr_psprintf(p, "%s is larger than %" APR_SIZE_T_FMT " bytes", path, max);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return NULL;
}

const char *tool_write_file(apr_pool_t *p, const char *path, const char *data, apr_size_t len)
{
    /* O_EXCL: a certificate is never written over a file the operator
     * already has (it may be the one Apache uses now). */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    apr_size_t done = 0;

    if (fd < 0)
        return apr_psprintf(p, "%s cannot be created (%s)", path, strerror(errno));
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return apr_psprintf(p, "%s cannot be written (%s)", path, strerror(e));
        }
        done += (apr_size_t)w;
    }
    if (close(fd) != 0)
        return apr_psprintf(p, "%s cannot be written (%s)", path, strerror(errno));
    return NULL;
}

/* Code points that reorder or hide text on a terminal. */
static int invisible(unsigned int cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

const char *tool_safe(apr_pool_t *p, const char *s, apr_size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t total, i = 0;
    char *out, *o;

    if (!s)
        return "(none)";
    total = strlen(s);
    /* Worst case: every byte becomes \u{NNNN} or \xNN. */
    out = o = apr_palloc(p, (total < max ? total : max) * 9 + 64);
    while (u[i] && i < max) {
        unsigned int cp;
        int n = flexsaml_utf8_seq(u + i, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f) {
            o += sprintf(o, "\\x%02X", u[i]);
            i++;
        } else if (invisible(cp)) {
            o += sprintf(o, "\\u{%04X}", cp);
            i += (apr_size_t)n;
        } else {
            memcpy(o, u + i, (apr_size_t)n);
            o += n;
            i += (apr_size_t)n;
        }
    }
    *o = '\0';
    if (i < total)
        return apr_psprintf(p, "%s... (%" APR_SIZE_T_FMT " bytes in all)", out, total);
    return out;
}

const char *tool_duration(apr_pool_t *p, apr_interval_time_t d)
{
    apr_int64_t s = apr_time_sec(d < 0 ? -d : d);

    if (s < 120)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " s", s);
    if (s < 2 * 3600)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " min", s / 60);
    if (s < 2 * 86400)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " h", s / 3600);
    return apr_psprintf(p, "%" APR_INT64_T_FMT " days", s / 86400);
}

const char *tool_iso_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    if (apr_time_exp_gmt(&x, t) != APR_SUCCESS)
        return "(invalid time)";
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900, x.tm_mon + 1,
                        x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

typedef struct {
    const char *scheme, *host, *port, *path;
} url_parts;

/* Splits scheme://host[:port]/path; 0 when s is not such an URL. */
static int split_url(apr_pool_t *p, const char *s, url_parts *u)
{
    const char *c = strstr(s, "://"), *h, *slash, *colon;
    if (!c || c == s)
        return 0;
    u->scheme = apr_pstrmemdup(p, s, (apr_size_t)(c - s));
    h = c + 3;
    slash = strchr(h, '/');
    if (!slash)
        slash = h + strlen(h);
    colon = memchr(h, ':', (apr_size_t)(slash - h));
    u->host = apr_pstrmemdup(p, h, (apr_size_t)((colon ? colon : slash) - h));
    u->port = colon ? apr_pstrmemdup(p, colon + 1, (apr_size_t)(slash - colon - 1)) : "";
    u->path = *slash ? slash : "/";
    return 1;
}

static const char *default_port(const char *scheme)
{
    return !strcasecmp(scheme, "https") ? "443" : !strcasecmp(scheme, "http") ? "80" : "";
}

const char *tool_url_difference(apr_pool_t *p, const char *got, const char *want)
{
    url_parts g, w;
    apr_size_t gl, wl;
    const char *gport, *wport;

    if (!got || !want)
        return "one is missing";
    if (!strcmp(got, want))
        return NULL;
    gl = strlen(got);
    wl = strlen(want);
    if (gl == wl + 1 && got[gl - 1] == '/' && !strncmp(got, want, wl))
        return "a trailing slash (it has one, the configuration has none)";
    if (wl == gl + 1 && want[wl - 1] == '/' && !strncmp(got, want, gl))
        return "a trailing slash (the configuration has one, it has none)";
    if (!strcasecmp(got, want))
        return "letter case only (the comparison is exact)";
    if (strspn(got, " \t") || (gl && (got[gl - 1] == ' ' || got[gl - 1] == '\t')))
        return "spaces around it";
    if (!split_url(p, got, &g) || !split_url(p, want, &w))
        return "the whole value";
    if (strcasecmp(g.scheme, w.scheme) != 0 && !strcasecmp(g.host, w.host) &&
        !strcmp(g.path, w.path))
        return apr_psprintf(p, "the scheme (%s instead of %s)", tool_safe(p, g.scheme, 16),
                            tool_safe(p, w.scheme, 16));
    if (strcasecmp(g.host, w.host) != 0)
        return apr_psprintf(p, "the host (%s instead of %s)", tool_safe(p, g.host, 100),
                            tool_safe(p, w.host, 100));
    gport = *g.port ? g.port : default_port(g.scheme);
    wport = *w.port ? w.port : default_port(w.scheme);
    if (strcmp(gport, wport) != 0)
        return apr_psprintf(p, "the port (%s instead of %s)", *gport ? gport : "none",
                            *wport ? wport : "none");
    if (strcasecmp(g.scheme, w.scheme) != 0)
        return apr_psprintf(p, "the scheme (%s instead of %s)", tool_safe(p, g.scheme, 16),
                            tool_safe(p, w.scheme, 16));
    if (strcmp(g.path, w.path) != 0)
        return apr_psprintf(p, "the path (%s instead of %s)", tool_safe(p, g.path, 100),
                            tool_safe(p, w.path, 100));
    return "the way the port is written";
}

static int levenshtein(const char *a, const char *b)
{
    int row[32], i, j;
    int la = (int)strlen(a), lb = (int)strlen(b);

    if (la > 30 || lb > 30)
        return 99;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        int prev = row[0], tmp;
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            int cost = apr_tolower(a[i - 1]) != apr_tolower(b[j - 1]);
            int best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            tmp = row[j];
            row[j] = best;
            prev = tmp;
        }
    }
    return row[lb];
}

const char *tool_role_suggestion(const char *v)
{
    static const char *const roles[] = {"agent", "admin", "supervisor", NULL};
    const char *best = NULL;
    int i, best_d = 3;

    for (i = 0; roles[i]; i++) {
        int d = levenshtein(v, roles[i]);
        if (d < best_d) {
            best_d = d;
            best = roles[i];
        }
    }
    return best;
}

int tool_opt(int argc, const char *const *argv, int *i, const char *lng, char shrt,
             const char **val, const char **err)
{
    const char *a = argv[*i];
    apr_size_t n = strlen(lng);

    if (!strncmp(a, "--", 2) && !strncmp(a + 2, lng, n) && a[2 + n] == '=') {
        *val = a + 3 + n;
        return 1;
    }
    if ((!strncmp(a, "--", 2) && !strcmp(a + 2, lng)) ||
        (shrt && a[0] == '-' && a[1] == shrt && !a[2])) {
        if (*i + 1 >= argc) {
            *err = lng;
            return 1;
        }
        *val = argv[++*i];
        return 1;
    }
    return 0;
}

int tool_is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help");
}
