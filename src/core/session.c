/*
 * Sessions: their ids, their serialized form in the session store, and the
 * cookie that carries the id.
 *
 * Wire format (all integers big-endian):
 *   "FS" version(1)
 *   created(u64) expires(u64) [version 2: last_used(u64) authn_instant(u64)]
 *   6 strings: sp_entity_id name_id full_name email image_url session_index
 *   [version 2: 1 string: authn_context]
 *   nroles(u32)  nroles strings
 *   nattrs(u32)  nattrs (name, value) string pairs, in table order
 * A string is len(u32) then len bytes, no NUL inside; len 0xffffffff is NULL.
 * Decoding is strict (exact length, caps, sorted role set) because a store
 * shared with other processes or hosts is outside input too.
 */
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml.h"

#define SESSION_MAGIC0 'F'
#define SESSION_MAGIC1 'S'
/* Version 1 records (no last_used) still decode, so that sessions stored
 * before an upgrade stay open. */
#define SESSION_VERSION 2
#define STR_NULL 0xffffffffu
#define MAX_VALUE (64 * 1024)
#define MAX_TOTAL (1024 * 1024)
#define MAX_ROLES 1024
#define MAX_ATTRS 1024
#define ID_BYTES 32

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Every protected request checks its cookie's 43 characters: ranges, not a
 * strchr of the alphabet per character (0.16 us of the request in perf). */
static int b64url_index(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

const char *flexsaml_session_new_id(apr_pool_t *p)
{
    unsigned char rnd[ID_BYTES];
    char *out = apr_palloc(p, FLEXSAML_SESSION_ID_LEN + 1);
    char *o = out;
    int i;

    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i + 3 <= ID_BYTES; i += 3) {
        unsigned long v = (unsigned long)rnd[i] << 16 | (unsigned long)rnd[i + 1] << 8 | rnd[i + 2];
        *o++ = b64url[(v >> 18) & 63];
        *o++ = b64url[(v >> 12) & 63];
        *o++ = b64url[(v >> 6) & 63];
        *o++ = b64url[v & 63];
    }
    /* 32 = 30 + 2: the last two bytes give three characters. */
    {
        unsigned long v = (unsigned long)rnd[i] << 16 | (unsigned long)rnd[i + 1] << 8;
        *o++ = b64url[(v >> 18) & 63];
        *o++ = b64url[(v >> 12) & 63];
        *o++ = b64url[(v >> 6) & 63];
    }
    *o = '\0';
    return out;
}

int flexsaml_session_id_valid(const char *id)
{
    int last;

    if (id == NULL || strnlen(id, FLEXSAML_SESSION_ID_LEN + 1) != FLEXSAML_SESSION_ID_LEN) {
        return 0;
    }
    for (int i = 0; i < FLEXSAML_SESSION_ID_LEN - 1; i++) {
        if (b64url_index((unsigned char)id[i]) < 0) {
            return 0;
        }
    }
    /* The last character carries 4 bits; only the canonical encoding (two
     * zero pad bits) is an id we could have made. */
    last = b64url_index((unsigned char)id[FLEXSAML_SESSION_ID_LEN - 1]);
    return last >= 0 && (last & 3) == 0;
}

/* ---- encoding ---- */

typedef struct {
    unsigned char *buf; /* NULL while sizing */
    apr_size_t len;
    int bad; /* over a cap, or not something decode accepts */
} writer;

static void put_bytes(writer *w, const void *b, apr_size_t n)
{
    if (w->buf != NULL) {
        memcpy(w->buf + w->len, b, n);
    }
    w->len += n;
}

static void put_u32(writer *w, apr_uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put_bytes(w, b, 4);
}

static void put_u64(writer *w, apr_uint64_t v)
{
    put_u32(w, (apr_uint32_t)(v >> 32));
    put_u32(w, (apr_uint32_t)v);
}

static void put_str(writer *w, const char *s)
{
    apr_size_t n;

    if (s == NULL) {
        put_u32(w, STR_NULL);
        return;
    }
    n = strlen(s);
    if (n > MAX_VALUE) {
        w->bad = 1;
        return;
    }
    put_u32(w, (apr_uint32_t)n);
    put_bytes(w, s, n);
}

static void put_session(writer *w, const flexsaml_session *s)
{
    const flexsaml_identity *id = &s->ident;
    const apr_array_header_t *attrs =
        id->attributes != NULL ? apr_table_elts(id->attributes) : NULL;
    int nroles = id->roles != NULL ? id->roles->nelts : 0;
    int nattrs = attrs != NULL ? attrs->nelts : 0;
    const unsigned char head[3] = {SESSION_MAGIC0, SESSION_MAGIC1, SESSION_VERSION};

    if (nroles > MAX_ROLES || nattrs > MAX_ATTRS) {
        w->bad = 1;
        return;
    }
    put_bytes(w, head, sizeof(head));
    put_u64(w, (apr_uint64_t)s->created);
    put_u64(w, (apr_uint64_t)s->expires);
    put_u64(w, (apr_uint64_t)s->last_used);
    put_u64(w, (apr_uint64_t)id->authn_instant);
    put_str(w, s->sp_entity_id);
    put_str(w, id->name_id);
    put_str(w, id->full_name);
    put_str(w, id->email);
    put_str(w, id->image_url);
    put_str(w, id->session_index);
    put_str(w, id->authn_context);
    put_u32(w, (apr_uint32_t)nroles);
    for (int i = 0; i < nroles; i++) {
        const char *r = APR_ARRAY_IDX(id->roles, i, const char *);
        if (r == NULL || *r == '\0' ||
            (i > 0 && strcmp(APR_ARRAY_IDX(id->roles, i - 1, const char *), r) >= 0)) {
            w->bad = 1;
            return;
        }
        put_str(w, r);
    }
    put_u32(w, (apr_uint32_t)nattrs);
    for (int i = 0; i < nattrs; i++) {
        const apr_table_entry_t *e = &APR_ARRAY_IDX(attrs, i, apr_table_entry_t);
        put_str(w, e->key != NULL ? e->key : "");
        put_str(w, e->val != NULL ? e->val : "");
    }
}

/* Returns NULL when the session is over the caps decode enforces or its
 * roles are not a role set: storing something that can never be read back
 * would only fail later, worse. */
const char *flexsaml_session_encode(apr_pool_t *p, const flexsaml_session *s, apr_size_t *len)
{
    writer w = {NULL, 0, 0};

    if (s == NULL) {
        return NULL;
    }
    put_session(&w, s);
    if (w.bad || w.len > MAX_TOTAL) {
        return NULL;
    }
    w.buf = apr_palloc(p, w.len + 1);
    w.len = 0;
    put_session(&w, s);
    w.buf[w.len] = '\0';
    if (len != NULL) {
        *len = w.len;
    }
    return (const char *)w.buf;
}

/* ---- decoding ---- */

typedef struct {
    const unsigned char *p;
    apr_size_t left;
    int bad;
} reader;

static apr_uint32_t get_u32(reader *r)
{
    apr_uint32_t v;

    if (r->bad || r->left < 4) {
        r->bad = 1;
        return 0;
    }
    v = (apr_uint32_t)r->p[0] << 24 | (apr_uint32_t)r->p[1] << 16 | (apr_uint32_t)r->p[2] << 8 |
        r->p[3];
    r->p += 4;
    r->left -= 4;
    return v;
}

static apr_uint64_t get_u64(reader *r)
{
    apr_uint64_t hi = get_u32(r);

    return hi << 32 | get_u32(r);
}

static const char *get_str(apr_pool_t *pool, reader *r, int may_be_null)
{
    apr_uint32_t n = get_u32(r);
    const char *s;

    if (r->bad) {
        return NULL;
    }
    if (n == STR_NULL && may_be_null) {
        return NULL;
    }
    if (n > MAX_VALUE || n > r->left || memchr(r->p, '\0', n) != NULL) {
        r->bad = 1;
        return NULL;
    }
    s = apr_pstrmemdup(pool, (const char *)r->p, n);
    r->p += n;
    r->left -= n;
    return s;
}

static apr_array_header_t *get_roles(apr_pool_t *pool, reader *r)
{
    apr_uint32_t n = get_u32(r);
    apr_array_header_t *set;

    /* Each role takes at least its 4-byte length, so a count the rest of
     * the buffer cannot hold is refused before anything is allocated. */
    if (r->bad || n > MAX_ROLES || n > r->left / 4) {
        r->bad = 1;
        return NULL;
    }
    set = apr_array_make(pool, n > 0 ? (int)n : 1, sizeof(const char *));
    for (apr_uint32_t i = 0; i < n && !r->bad; i++) {
        const char *role = get_str(pool, r, 0);
        /* Authorization binary-searches the set, so it must be one. */
        if (role == NULL || *role == '\0' ||
            (i > 0 && strcmp(APR_ARRAY_IDX(set, set->nelts - 1, const char *), role) >= 0)) {
            r->bad = 1;
            return NULL;
        }
        APR_ARRAY_PUSH(set, const char *) = role;
    }
    return set;
}

static apr_table_t *get_attrs(apr_pool_t *pool, reader *r)
{
    apr_uint32_t n = get_u32(r);
    apr_table_t *t;

    if (r->bad || n > MAX_ATTRS || n > r->left / 8) {
        r->bad = 1;
        return NULL;
    }
    t = apr_table_make(pool, n > 0 ? (int)n : 1);
    for (apr_uint32_t i = 0; i < n && !r->bad; i++) {
        const char *k = get_str(pool, r, 0);
        const char *v = get_str(pool, r, 0);
        if (r->bad) {
            return NULL;
        }
        apr_table_addn(t, k, v);
    }
    return t;
}

flexsaml_session *flexsaml_session_decode(apr_pool_t *p, const char *buf, apr_size_t len)
{
    reader r = {(const unsigned char *)buf, len, 0};
    flexsaml_session *s;
    flexsaml_identity *id;

    int version;

    if (buf == NULL || len < 3 || len > MAX_TOTAL || r.p[0] != SESSION_MAGIC0 ||
        r.p[1] != SESSION_MAGIC1 || (r.p[2] != 1 && r.p[2] != SESSION_VERSION)) {
        return NULL;
    }
    version = r.p[2];
    r.p += 3;
    r.left -= 3;
    s = apr_pcalloc(p, sizeof(*s));
    id = &s->ident;
    s->created = (apr_time_t)get_u64(&r);
    s->expires = (apr_time_t)get_u64(&r);
    s->last_used = version >= 2 ? (apr_time_t)get_u64(&r) : s->created;
    id->authn_instant = version >= 2 ? (apr_time_t)get_u64(&r) : 0;
    s->sp_entity_id = get_str(p, &r, 1);
    id->name_id = get_str(p, &r, 1);
    id->full_name = get_str(p, &r, 1);
    id->email = get_str(p, &r, 1);
    id->image_url = get_str(p, &r, 1);
    id->session_index = get_str(p, &r, 1);
    id->authn_context = version >= 2 ? get_str(p, &r, 1) : NULL;
    id->roles = get_roles(p, &r);
    id->attributes = get_attrs(p, &r);
    if (r.bad || r.left != 0) {
        return NULL;
    }
    return s;
}

/* ---- cookie ---- */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 6265 section 5.4 pairs, read leniently: browsers and proxies send odd
 * spacing, empty pairs and name-less values, none of which should hide the
 * cookie we look for or make us return a neighbour's value. */
const char *flexsaml_cookie_get(apr_pool_t *p, const char *cookie_header, const char *name)
{
    apr_size_t nlen;
    const char *s = cookie_header;
    const char *found = NULL;

    if (cookie_header == NULL || name == NULL || (nlen = strlen(name)) == 0) {
        return NULL;
    }
    while (*s != '\0') {
        const char *end = strchr(s, ';');
        const char *e = end != NULL ? end : s + strlen(s);
        const char *eq = memchr(s, '=', (apr_size_t)(e - s));

        if (eq != NULL) {
            const char *nb = s;
            const char *ne = eq;
            const char *vb = eq + 1;
            const char *ve = e;

            while (nb < ne && is_ows(*nb)) {
                nb++;
            }
            while (ne > nb && is_ows(ne[-1])) {
                ne--;
            }
            if ((apr_size_t)(ne - nb) == nlen && memcmp(nb, name, nlen) == 0) {
                while (vb < ve && is_ows(*vb)) {
                    vb++;
                }
                while (ve > vb && is_ows(ve[-1])) {
                    ve--;
                }
                if (ve - vb >= 2 && *vb == '"' && ve[-1] == '"') {
                    vb++;
                    ve--;
                }
                /* Two cookies of one name: one may have been tossed in by
                 * another site of the domain (cookie tossing), and nothing
                 * tells which is ours, so neither is used. */
                if (found != NULL) {
                    return NULL;
                }
                found = apr_pstrmemdup(p, vb, (apr_size_t)(ve - vb));
            }
        }
        if (end == NULL) {
            break;
        }
        s = end + 1;
    }
    return found;
}

static int pair_named(const char *s, const char *e, const char *name)
{
    const char *eq = memchr(s, '=', (apr_size_t)(e - s));
    const char *ne = eq ? eq : e;
    apr_size_t n;

    if (!name)
        return 0;
    while (s < ne && is_ows(*s))
        s++;
    while (ne > s && is_ows(ne[-1]))
        ne--;
    n = strlen(name);
    return (apr_size_t)(ne - s) == n && memcmp(s, name, n) == 0;
}

const char *flexsaml_cookie_without(apr_pool_t *p, const char *cookie_header, const char *a,
                                    const char *b)
{
    const char *s = cookie_header, *out = NULL;

    if (cookie_header == NULL)
        return NULL;
    while (*s != '\0') {
        const char *end = strchr(s, ';');
        const char *e = end != NULL ? end : s + strlen(s);
        const char *nb = s, *ve = e;

        while (nb < ve && is_ows(*nb))
            nb++;
        while (ve > nb && is_ows(ve[-1]))
            ve--;
        if (ve > nb && !pair_named(s, e, a) && !pair_named(s, e, b)) {
            const char *pair = apr_pstrmemdup(p, nb, (apr_size_t)(ve - nb));
            out = out ? apr_pstrcat(p, out, "; ", pair, NULL) : pair;
        }
        if (end == NULL)
            break;
        s = end + 1;
    }
    return out;
}
