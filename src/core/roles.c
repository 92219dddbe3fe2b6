/*
 * Role mapping: turns the IdP's roles attribute values into the normalized
 * role set that authorization and the FLEX_ROLES claim rely on.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "flexsaml.h"

/* Bounds keep a hostile assertion from costing more than a small, fixed
 * amount of work and memory on every request that carries the session. */
#define ROLE_MAX_ITEM 256
#define ROLE_MAX_ITEMS 1024
/* Unknown values end up in log lines; a short, escaped form is enough to
 * diagnose a misconfigured IdP without letting it write to the log freely. */
#define ROLE_LOG_MAX 64

typedef struct {
    apr_pool_t *p;
    const flexsaml_role_policy *pol;
    apr_array_header_t *set;     /* unsorted while parsing */
    apr_array_header_t *unknown; /* order of first appearance */
    apr_hash_t *unknown_seen;
    int items; /* non-empty items looked at, for ROLE_MAX_ITEMS */
} role_parse;

/* ASCII only, whatever the process locale: another module may have called
 * setlocale(), and a Latin-1 tolower() would rewrite UTF-8 bytes. */
static char ascii_lower(unsigned char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_wfo_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Works on a lower-case item of known length, so that it serves both the
 * public, case-insensitive check and the parser without copying. */
static int known_lower(const char *r, apr_size_t n)
{
    if ((n == 5 && memcmp(r, "agent", 5) == 0) || (n == 5 && memcmp(r, "admin", 5) == 0) ||
        (n == 10 && memcmp(r, "supervisor", 10) == 0)) {
        return 1;
    }
    if (n <= 4 || memcmp(r, "wfo.", 4) != 0) {
        return 0;
    }
    for (apr_size_t i = 4; i < n; i++) {
        if (!is_wfo_char((unsigned char)r[i])) {
            return 0;
        }
    }
    return 1;
}

int flexsaml_role_is_known(const char *role)
{
    char buf[ROLE_MAX_ITEM + 1];
    apr_size_t n;

    if (role == NULL) {
        return 0;
    }
    n = strlen(role);
    if (n > ROLE_MAX_ITEM) {
        return 0;
    }
    for (apr_size_t i = 0; i < n; i++) {
        buf[i] = ascii_lower((unsigned char)role[i]);
    }
    buf[n] = '\0';
    return known_lower(buf, n);
}

int flexsaml_role_is_declared(const flexsaml_role_policy *pol, const char *role)
{
    char buf[ROLE_MAX_ITEM + 1];
    apr_size_t n;

    if (flexsaml_role_is_known(role)) {
        return 1;
    }
    if (role == NULL || pol == NULL || pol->site == NULL || (n = strlen(role)) > ROLE_MAX_ITEM) {
        return 0;
    }
    for (apr_size_t i = 0; i < n; i++) {
        buf[i] = ascii_lower((unsigned char)role[i]);
    }
    buf[n] = '\0';
    return apr_hash_get(pol->site, buf, (apr_ssize_t)n) != NULL;
}

static char *escaped_for_log(apr_pool_t *p, const char *s, apr_size_t n)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t shown = n > ROLE_LOG_MAX ? ROLE_LOG_MAX : n;
    char *out = apr_palloc(p, shown * 4 + 4);
    char *o = out;

    for (apr_size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_ctl(c) || c == '\\') {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xf];
        } else {
            *o++ = ascii_lower(c);
        }
    }
    if (shown < n) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

static void add_unknown(role_parse *rp, const char *v, int keep)
{
    if (apr_hash_get(rp->unknown_seen, v, APR_HASH_KEY_STRING) != NULL) {
        return;
    }
    apr_hash_set(rp->unknown_seen, v, APR_HASH_KEY_STRING, v);
    if (rp->unknown != NULL) {
        APR_ARRAY_PUSH(rp->unknown, const char *) = v;
    }
    if (keep) {
        APR_ARRAY_PUSH(rp->set, const char *) = v;
    }
}

static void add_mapped(role_parse *rp, const apr_array_header_t *targets)
{
    for (int i = 0; i < targets->nelts; i++) {
        const char *t = APR_ARRAY_IDX(targets, i, const char *);
        apr_size_t n;
        char *lc;

        if (t == NULL || (n = strlen(t)) == 0 || n > ROLE_MAX_ITEM) {
            continue;
        }
        lc = apr_pstrmemdup(rp->p, t, n);
        for (apr_size_t j = 0; j < n; j++) {
            if (is_ctl((unsigned char)lc[j])) {
                lc = NULL;
                break;
            }
            lc[j] = ascii_lower((unsigned char)lc[j]);
        }
        if (lc != NULL) {
            APR_ARRAY_PUSH(rp->set, const char *) = lc;
        }
    }
}

/* s[0..n) is a trimmed, non-empty item. */
static void add_item(role_parse *rp, const char *s, apr_size_t n)
{
    const apr_array_header_t *targets = NULL;
    char *lc;

    for (apr_size_t i = 0; i < n; i++) {
        if (is_ctl((unsigned char)s[i])) {
            /* Never kept: it could not be a sane role, and it must not reach
             * an env var or header. */
            add_unknown(rp, escaped_for_log(rp->p, s, n), 0);
            return;
        }
    }
    if (n > ROLE_MAX_ITEM) {
        add_unknown(rp, escaped_for_log(rp->p, s, n), 0);
        return;
    }
    lc = apr_pstrmemdup(rp->p, s, n);
    for (apr_size_t i = 0; i < n; i++) {
        lc[i] = ascii_lower((unsigned char)lc[i]);
    }
    if (rp->pol != NULL && rp->pol->map != NULL) {
        targets = apr_hash_get(rp->pol->map, lc, (apr_ssize_t)n);
    }
    if (targets != NULL) {
        add_mapped(rp, targets);
    } else if (known_lower(lc, n) || (rp->pol != NULL && rp->pol->site != NULL &&
                                      apr_hash_get(rp->pol->site, lc, (apr_ssize_t)n) != NULL)) {
        APR_ARRAY_PUSH(rp->set, const char *) = lc;
    } else {
        add_unknown(rp, lc, rp->pol != NULL && rp->pol->unknown == FLEXSAML_UNKNOWN_KEEP);
    }
}

/* Only spaces are trimmed: a tab or newline inside a role value is not
 * formatting we expect from an IdP, so it stays and makes the item unknown. */
static void parse_value(role_parse *rp, const char *v)
{
    const char *s = v;

    while (rp->items < ROLE_MAX_ITEMS) {
        const char *end = strchr(s, ',');
        const char *e = end != NULL ? end : s + strlen(s);
        const char *b = s;

        while (b < e && *b == ' ') {
            b++;
        }
        while (e > b && e[-1] == ' ') {
            e--;
        }
        if (e > b) {
            rp->items++;
            add_item(rp, b, (apr_size_t)(e - b));
        }
        if (end == NULL) {
            break;
        }
        s = end + 1;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sort_unique(apr_array_header_t *set)
{
    const char **e = (const char **)set->elts;
    int out = 0;

    if (set->nelts < 2) {
        return;
    }
    qsort(e, (size_t)set->nelts, sizeof(*e), cmp_str);
    for (int i = 1; i < set->nelts; i++) {
        if (strcmp(e[i], e[out]) != 0) {
            e[++out] = e[i];
        }
    }
    set->nelts = out + 1;
}

int flexsaml_roles_parse(apr_pool_t *p, const apr_array_header_t *values,
                         const flexsaml_role_policy *pol, apr_array_header_t **set,
                         apr_array_header_t **unknown)
{
    role_parse rp;

    rp.p = p;
    rp.pol = pol;
    rp.set = apr_array_make(p, 8, sizeof(const char *));
    rp.unknown = unknown != NULL ? apr_array_make(p, 2, sizeof(const char *)) : NULL;
    rp.unknown_seen = apr_hash_make(p);
    rp.items = 0;

    if (values != NULL) {
        for (int i = 0; i < values->nelts && rp.items < ROLE_MAX_ITEMS; i++) {
            const char *v = APR_ARRAY_IDX(values, i, const char *);
            if (v != NULL) {
                parse_value(&rp, v);
            }
        }
    }
    sort_unique(rp.set);
    if (set != NULL) {
        *set = rp.set;
    }
    if (unknown != NULL) {
        *unknown = rp.unknown;
    }
    return (int)apr_hash_count(rp.unknown_seen);
}

int flexsaml_roles_contains(const apr_array_header_t *set, const char *role)
{
    int lo = 0;
    int hi;

    if (set == NULL || role == NULL) {
        return 0;
    }
    hi = set->nelts - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(APR_ARRAY_IDX(set, mid, const char *), role);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return 0;
}

int flexsaml_roles_has_flex_role(const apr_array_header_t *set)
{
    return flexsaml_roles_contains(set, "agent") || flexsaml_roles_contains(set, "admin") ||
           flexsaml_roles_contains(set, "supervisor");
}

const char *flexsaml_roles_join(apr_pool_t *p, const apr_array_header_t *set, const char *sep)
{
    apr_size_t seplen;
    apr_size_t total = 0;
    char *out;
    char *o;

    if (set == NULL || set->nelts == 0) {
        return "";
    }
    if (sep == NULL) {
        sep = ",";
    }
    seplen = strlen(sep);
    for (int i = 0; i < set->nelts; i++) {
        total += strlen(APR_ARRAY_IDX(set, i, const char *)) + (i > 0 ? seplen : 0);
    }
    out = o = apr_palloc(p, total + 1);
    for (int i = 0; i < set->nelts; i++) {
        const char *r = APR_ARRAY_IDX(set, i, const char *);
        apr_size_t n = strlen(r);
        if (i > 0) {
            memcpy(o, sep, seplen);
            o += seplen;
        }
        memcpy(o, r, n);
        o += n;
    }
    *o = '\0';
    return out;
}
