/*
 * Claims: what the application behind httpd learns about the user, as
 * environment variables and, when asked, request headers.
 */
#include <string.h>

#include <apr_strings.h>

#include "flexsaml.h"

#define DEFAULT_HEADER_PREFIX "X-Flex-"

flexsaml_claims_conf *flexsaml_claims_default(apr_pool_t *p)
{
    static const struct {
        const char *attribute;
        const char *name;
    } defaults[] = {
        {FLEXSAML_CLAIM_NAMEID, "FLEX_NAME_ID"},
        {"full_name", "FLEX_FULL_NAME"},
        {"email", "FLEX_EMAIL"},
        {"roles", "FLEX_ROLES"},
        {"image_url", "FLEX_IMAGE_URL"},
    };
    flexsaml_claims_conf *c = apr_pcalloc(p, sizeof(*c));

    c->claims = apr_array_make(p, 8, sizeof(flexsaml_claim));
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        flexsaml_claim *cl = apr_array_push(c->claims);
        cl->attribute = defaults[i].attribute;
        cl->name = defaults[i].name;
        cl->indexed = 0;
    }
    c->roles_attribute = "roles";
    c->separator = ",";
    c->pass_as = FLEXSAML_PASS_ENV;
    c->header_prefix = DEFAULT_HEADER_PREFIX;
    return c;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF):
 * the application and the browser may disagree on what a lax sequence
 * means, and that disagreement is where header and log tricks live. */
int flexsaml_utf8_seq(const unsigned char *s, unsigned int *cp)
{
    unsigned char c = s[0];
    unsigned int v, min;
    int more, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        more = 1;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        more = 2;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        more = 3;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    for (i = 1; i <= more; i++) {
        /* A NUL fails here too, so nothing is read past the end. */
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return more + 1;
}

int flexsaml_value_is_clean(const char *v)
{
    const unsigned char *s = (const unsigned char *)v;

    if (v == NULL) {
        return 0;
    }
    while (*s) {
        unsigned int cp;
        int n = flexsaml_utf8_seq(s, &cp);

        if (n == 0 || cp < 0x20 || cp == 0x7f) {
            return 0;
        }
        s += n;
    }
    return 1;
}

/* ASCII only, whatever the process locale (another module may have called
 * setlocale()): header names are ASCII tokens. */
static int ascii_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static unsigned char ascii_lower(unsigned char c)
{
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

static unsigned char ascii_upper(unsigned char c)
{
    return (unsigned char)(c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c);
}

const char *flexsaml_claims_header_name(apr_pool_t *p, const char *prefix, const char *env_name)
{
    apr_size_t plen;
    apr_size_t n;
    char *out;
    char *o;
    int word_start = 1;

    if (prefix == NULL) {
        prefix = DEFAULT_HEADER_PREFIX;
    }
    if (env_name == NULL) {
        env_name = "";
    }
    if (ascii_upper((unsigned char)env_name[0]) == 'F' &&
        ascii_upper((unsigned char)env_name[1]) == 'L' &&
        ascii_upper((unsigned char)env_name[2]) == 'E' &&
        ascii_upper((unsigned char)env_name[3]) == 'X' && env_name[4] == '_') {
        env_name += 5;
    }
    plen = strlen(prefix);
    n = strlen(env_name);
    out = apr_palloc(p, plen + n + 1);
    memcpy(out, prefix, plen);
    o = out + plen;
    for (apr_size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)env_name[i];
        if (!ascii_alnum(c)) {
            /* Anything but a letter or digit would make an invalid or
             * ambiguous header name; '-' is what '_' means here. */
            *o++ = '-';
            word_start = 1;
            continue;
        }
        *o++ = (char)(word_start ? ascii_upper(c) : ascii_lower(c));
        word_start = 0;
    }
    *o = '\0';
    return out;
}

typedef struct {
    apr_array_header_t *vals;
} collect_ctx;

static int collect_clean(void *rec, const char *key, const char *value)
{
    collect_ctx *cc = rec;

    (void)key;
    if (flexsaml_value_is_clean(value)) {
        APR_ARRAY_PUSH(cc->vals, const char *) = value;
    }
    return 1;
}

/* The values live as long as the request, as the export does: a single one
 * goes out as it is, without a copy (every protected request exports). */
static const char *join(apr_pool_t *p, const apr_array_header_t *vals, const char *sep)
{
    if (vals->nelts == 1) {
        return APR_ARRAY_IDX(vals, 0, const char *);
    }
    /* The role set joiner works for any array of strings. */
    return flexsaml_roles_join(p, vals, sep);
}

/* Values a claim exports, already filtered for cleanliness, into vals
 * (emptied first: one array serves every claim of a request). */
static void claim_values(apr_array_header_t *vals, const flexsaml_claims_conf *c,
                         const flexsaml_claim *cl, const flexsaml_identity *id)
{
    apr_array_clear(vals);
    if (strcmp(cl->attribute, FLEXSAML_CLAIM_NAMEID) == 0) {
        if (flexsaml_value_is_clean(id->name_id)) {
            APR_ARRAY_PUSH(vals, const char *) = id->name_id;
        }
    } else if (c->roles_attribute != NULL && strcmp(cl->attribute, c->roles_attribute) == 0) {
        /* The normalized set, never the raw attribute: the application must
         * see exactly the roles authorization decided on. */
        for (int i = 0; id->roles != NULL && i < id->roles->nelts; i++) {
            const char *r = APR_ARRAY_IDX(id->roles, i, const char *);
            if (flexsaml_value_is_clean(r) && *r != '\0') {
                APR_ARRAY_PUSH(vals, const char *) = r;
            }
        }
    } else if (id->attributes != NULL) {
        collect_ctx cc = {vals};
        apr_table_do(collect_clean, &cc, id->attributes, cl->attribute, NULL);
    }
}

static void put(apr_pool_t *p, const flexsaml_claims_conf *c, apr_table_t *env,
                apr_table_t *headers, const char *name, const char *value)
{
    /* name and value live in p or longer (the configuration), and both
     * tables belong to the request: no copies on the hot path. */
    if (env != NULL) {
        apr_table_setn(env, name, value);
    }
    if (headers != NULL) {
        apr_table_setn(headers, flexsaml_claims_header_name(p, c->header_prefix, name), value);
    }
}

/* Header names compare case-insensitively with '-' and '_' alike: some
 * back ends read X_Flex_Roles as X-Flex-Roles, and CGI turns both into
 * HTTP_X_FLEX_ROLES. */
static int name_char_eq(char a, char b)
{
    if (a == '_')
        a = '-';
    if (b == '_')
        b = '-';
    return ascii_lower((unsigned char)a) == ascii_lower((unsigned char)b);
}

static int name_has_prefix(const char *key, const char *prefix)
{
    for (; *prefix; key++, prefix++)
        if (!*key || !name_char_eq(*key, *prefix))
            return 0;
    return 1;
}

static int name_equals(const char *key, const char *name)
{
    return name_has_prefix(key, name) && key[strlen(name)] == '\0';
}

/* NAME itself or one of its indexed forms NAME_0 .. NAME_N. */
static int name_or_indexed(const char *key, const char *name)
{
    apr_size_t n = strlen(name);
    return name_has_prefix(key, name) && (key[n] == '\0' || key[n] == '_' || key[n] == '-');
}

typedef struct {
    const flexsaml_claims_conf *c;
    apr_array_header_t *doomed;
} spoof_ctx;

/* Identity headers that back ends behind a proxy commonly trust (oauth2-proxy,
 * Apache and nginx auth front ends): a client must never supply them. The
 * README lists them; FlexSAMLStripHeaders adds more. */
const char *const flexsaml_identity_headers[] = {"X-Remote-User",
                                                 "X-Remote-Email",
                                                 "X-Forwarded-User",
                                                 "X-Forwarded-Email",
                                                 "X-Forwarded-Preferred-Username",
                                                 "X-Forwarded-Groups",
                                                 "X-Auth-Request-User",
                                                 "X-Auth-Request-Email",
                                                 "X-Auth-Request-Preferred-Username",
                                                 "X-Auth-Request-Groups",
                                                 NULL};

static int find_spoofed(void *rec, const char *key, const char *value)
{
    static const char *const always[] = {"Remote-User", "Auth-Type", "Flex-", NULL};
    spoof_ctx *sc = rec;
    const char *prefix = sc->c->header_prefix ? sc->c->header_prefix : DEFAULT_HEADER_PREFIX;
    int doomed = *prefix && name_has_prefix(key, prefix);

    (void)value;
    for (int i = 0; !doomed && always[i]; i++)
        doomed = i < 2 ? name_equals(key, always[i]) : name_has_prefix(key, always[i]);
    for (int i = 0; !doomed && flexsaml_identity_headers[i]; i++)
        doomed = name_equals(key, flexsaml_identity_headers[i]);
    for (int i = 0; !doomed && sc->c->strip && i < sc->c->strip->nelts; i++)
        doomed = name_equals(key, APR_ARRAY_IDX(sc->c->strip, i, const char *));
    for (int i = 0; !doomed && sc->c->claims && i < sc->c->claims->nelts; i++)
        doomed = name_or_indexed(key, APR_ARRAY_IDX(sc->c->claims, i, flexsaml_claim).name);
    if (doomed)
        APR_ARRAY_PUSH(sc->doomed, const char *) = key;
    return 1;
}

/* The application trusts every header under the prefix and every name the
 * module exports, so none may come from the client, authenticated or not:
 * one we do not set this time (an absent claim, an index past the real
 * count) would otherwise pass through as if we had. */
void flexsaml_claims_strip(apr_pool_t *p, const flexsaml_claims_conf *c, apr_table_t *headers)
{
    spoof_ctx sc;

    if (c == NULL || headers == NULL)
        return;
    sc.c = c;
    sc.doomed = apr_array_make(p, 2, sizeof(const char *));
    apr_table_do(find_spoofed, &sc, headers, NULL);
    for (int i = 0; i < sc.doomed->nelts; i++)
        apr_table_unset(headers, APR_ARRAY_IDX(sc.doomed, i, const char *));
}

void flexsaml_claims_export(apr_pool_t *p, const flexsaml_claims_conf *c,
                            const flexsaml_identity *id, apr_table_t *env, apr_table_t *headers)
{
    const char *sep;
    apr_array_header_t *vals;

    if (c == NULL || id == NULL || c->claims == NULL) {
        return;
    }
    sep = c->separator != NULL ? c->separator : ",";
    /* Every protected request exports: one array serves all claims. */
    vals = apr_array_make(p, 4, sizeof(const char *));
    for (int i = 0; i < c->claims->nelts; i++) {
        const flexsaml_claim *cl = &APR_ARRAY_IDX(c->claims, i, flexsaml_claim);

        if (cl->attribute == NULL || cl->name == NULL) {
            continue;
        }
        claim_values(vals, c, cl, id);
        if (vals->nelts == 0) {
            continue;
        }
        put(p, c, env, headers, cl->name, join(p, vals, sep));
        if (cl->indexed) {
            for (int j = 0; j < vals->nelts; j++) {
                put(p, c, env, headers, apr_psprintf(p, "%s_%d", cl->name, j),
                    APR_ARRAY_IDX(vals, j, const char *));
            }
            put(p, c, env, headers, apr_pstrcat(p, cl->name, "_N", NULL), apr_itoa(p, vals->nelts));
        }
    }
}
