/* Unit tests for session.c: ids, the session codec, the Cookie header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "flexsaml.h"

static int setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

static apr_array_header_t *roles(apr_pool_t *p, const char *joined)
{
    apr_array_header_t *v = apr_array_make(p, 1, sizeof(const char *));
    flexsaml_role_policy pol = {NULL, FLEXSAML_UNKNOWN_KEEP, NULL};
    apr_array_header_t *set;

    APR_ARRAY_PUSH(v, const char *) = joined;
    flexsaml_roles_parse(p, v, &pol, &set, NULL);
    return set;
}

static flexsaml_session *sample(apr_pool_t *p)
{
    flexsaml_session *s = apr_pcalloc(p, sizeof(*s));

    s->sp_entity_id = "https://portal.example.com/flexsaml/metadata";
    s->created = APR_INT64_C(1700000000123456);
    s->expires = APR_INT64_C(1700028800123456);
    s->ident.name_id = "jdoe@example.com";
    s->ident.full_name = "Jöhn Dœ 日本";
    s->ident.email = "";
    s->ident.image_url = NULL;
    s->ident.session_index = "_abc123";
    s->ident.roles = roles(p, "agent,wfo.analyst,supervisor");
    s->ident.attributes = apr_table_make(p, 4);
    apr_table_add(s->ident.attributes, "roles", "agent");
    apr_table_add(s->ident.attributes, "roles", "supervisor,wfo.analyst");
    apr_table_add(s->ident.attributes, "full_name", "Jöhn Dœ 日本");
    apr_table_add(s->ident.attributes, "empty", "");
    apr_table_add(s->ident.attributes, "Roles", "third");
    return s;
}

static void assert_str_or_null_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
    } else {
        assert_string_equal(a, b);
    }
}

static void assert_session_equal(const flexsaml_session *a, const flexsaml_session *b)
{
    const apr_array_header_t *ea = apr_table_elts(a->ident.attributes);
    const apr_array_header_t *eb = apr_table_elts(b->ident.attributes);

    assert_str_or_null_equal(a->sp_entity_id, b->sp_entity_id);
    assert_true(a->created == b->created);
    assert_true(a->expires == b->expires);
    assert_str_or_null_equal(a->ident.name_id, b->ident.name_id);
    assert_str_or_null_equal(a->ident.full_name, b->ident.full_name);
    assert_str_or_null_equal(a->ident.email, b->ident.email);
    assert_str_or_null_equal(a->ident.image_url, b->ident.image_url);
    assert_str_or_null_equal(a->ident.session_index, b->ident.session_index);
    assert_int_equal(a->ident.roles->nelts, b->ident.roles->nelts);
    for (int i = 0; i < a->ident.roles->nelts; i++) {
        assert_string_equal(APR_ARRAY_IDX(a->ident.roles, i, const char *),
                            APR_ARRAY_IDX(b->ident.roles, i, const char *));
    }
    assert_int_equal(ea->nelts, eb->nelts);
    for (int i = 0; i < ea->nelts; i++) {
        const apr_table_entry_t *x = &APR_ARRAY_IDX(ea, i, apr_table_entry_t);
        const apr_table_entry_t *y = &APR_ARRAY_IDX(eb, i, apr_table_entry_t);
        assert_string_equal(x->key, y->key);
        assert_string_equal(x->val, y->val);
    }
}

static void test_round_trip(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_session *s = sample(p);
    apr_size_t len = 0;
    const char *buf = flexsaml_session_encode(p, s, &len);
    flexsaml_session *d;

    assert_non_null(buf);
    assert_true(len > 3);
    d = flexsaml_session_decode(p, buf, len);
    assert_non_null(d);
    assert_session_equal(s, d);
    assert_null(d->ident.image_url);
    assert_non_null(d->ident.email);
    assert_string_equal(d->ident.email, "");
    assert_true(flexsaml_roles_contains(d->ident.roles, "supervisor"));
    /* Multi-valued attributes keep every value, in order. */
    assert_string_equal(apr_table_get(d->ident.attributes, "roles"), "agent");
}

static void test_round_trip_all_null_and_empty(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_session *s = apr_pcalloc(p, sizeof(*s));
    flexsaml_session *e = apr_pcalloc(p, sizeof(*e));
    apr_size_t len;
    const char *buf;
    flexsaml_session *d;

    /* NULL everything: roles and attributes come back empty, not NULL. */
    s->created = -1;
    s->expires = APR_INT64_MAX;
    buf = flexsaml_session_encode(p, s, &len);
    assert_non_null(buf);
    d = flexsaml_session_decode(p, buf, len);
    assert_non_null(d);
    assert_null(d->sp_entity_id);
    assert_null(d->ident.name_id);
    assert_null(d->ident.full_name);
    assert_null(d->ident.email);
    assert_null(d->ident.image_url);
    assert_null(d->ident.session_index);
    assert_true(d->created == -1);
    assert_true(d->expires == APR_INT64_MAX);
    assert_int_equal(d->ident.roles->nelts, 0);
    assert_int_equal(apr_table_elts(d->ident.attributes)->nelts, 0);

    /* Empty strings everywhere stay empty strings. */
    e->sp_entity_id = e->ident.name_id = e->ident.full_name = "";
    e->ident.email = e->ident.image_url = e->ident.session_index = "";
    e->ident.roles = apr_array_make(p, 1, sizeof(const char *));
    e->ident.attributes = apr_table_make(p, 1);
    apr_table_add(e->ident.attributes, "", "");
    buf = flexsaml_session_encode(p, e, &len);
    d = flexsaml_session_decode(p, buf, len);
    assert_non_null(d);
    assert_session_equal(e, d);
    assert_non_null(d->ident.session_index);
}

static void test_many_attributes(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_session *s = sample(p);
    apr_size_t len;
    const char *buf;
    flexsaml_session *d;

    s->ident.attributes = apr_table_make(p, 1024);
    for (int i = 0; i < 1024; i++) {
        apr_table_add(s->ident.attributes, apr_psprintf(p, "attr%d", i % 10),
                      apr_psprintf(p, "value %d ✓", i));
    }
    buf = flexsaml_session_encode(p, s, &len);
    assert_non_null(buf);
    d = flexsaml_session_decode(p, buf, len);
    assert_non_null(d);
    assert_session_equal(s, d);

    /* One more than decode accepts: encode refuses rather than store it. */
    apr_table_add(s->ident.attributes, "one", "too many");
    assert_null(flexsaml_session_encode(p, s, &len));
}

static void test_encode_limits(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_session *s = sample(p);
    char *big = apr_palloc(p, 64 * 1024 + 2);
    apr_size_t len;
    const char *buf;

    memset(big, 'v', 64 * 1024 + 1);
    big[64 * 1024] = '\0';
    s->ident.full_name = big;
    buf = flexsaml_session_encode(p, s, &len);
    assert_non_null(buf);
    assert_non_null(flexsaml_session_decode(p, buf, len));
    big[64 * 1024] = 'v';
    big[64 * 1024 + 1] = '\0';
    assert_null(flexsaml_session_encode(p, s, &len));

    /* Under every per-value cap, over the total. */
    s = sample(p);
    big[64 * 1024] = '\0';
    for (int i = 0; i < 17; i++) {
        apr_table_add(s->ident.attributes, "big", big);
    }
    assert_null(flexsaml_session_encode(p, s, &len));

    /* A role array that is not a set would not decode, so is not encoded. */
    s = sample(p);
    s->ident.roles = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(s->ident.roles, const char *) = "supervisor";
    APR_ARRAY_PUSH(s->ident.roles, const char *) = "agent";
    assert_null(flexsaml_session_encode(p, s, &len));
    assert_null(flexsaml_session_encode(p, NULL, &len));
}

static void test_every_truncation_refused(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t len;
    const char *buf = flexsaml_session_encode(p, sample(p), &len);

    for (apr_size_t n = 0; n < len; n++) {
        /* A heap copy of exactly n bytes, so ASan sees any over-read. */
        char *cut = malloc(n > 0 ? n : 1);
        memcpy(cut, buf, n);
        if (flexsaml_session_decode(p, cut, n) != NULL) {
            print_error("truncation to %zu of %zu accepted\n", (size_t)n, (size_t)len);
            free(cut);
            fail();
        }
        free(cut);
    }
    assert_null(flexsaml_session_decode(p, NULL, 0));
    assert_null(flexsaml_session_decode(p, NULL, 100));
}

static void test_trailing_garbage_and_version(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t len;
    const char *buf = flexsaml_session_encode(p, sample(p), &len);
    char *more = apr_palloc(p, len + 1);
    char *copy = apr_pmemdup(p, buf, len);

    memcpy(more, buf, len);
    more[len] = '\0';
    assert_null(flexsaml_session_decode(p, more, len + 1));
    copy[2] = 3;
    assert_null(flexsaml_session_decode(p, copy, len));
    copy[2] = 0;
    assert_null(flexsaml_session_decode(p, copy, len));
    /* Version 2 bytes read as version 1 have 8 bytes too many. */
    copy[2] = 1;
    assert_null(flexsaml_session_decode(p, copy, len));
    copy[2] = 2;
    copy[0] = 'f';
    assert_null(flexsaml_session_decode(p, copy, len));
    copy[0] = 'F';
    assert_non_null(flexsaml_session_decode(p, copy, len));
}

static apr_size_t header_with_null_strings(unsigned char *b);
static apr_size_t put_u32(unsigned char *b, apr_uint32_t v);

/* A session stored before this version (1: no last use, AuthnInstant or
 * AuthnContextClassRef) still opens, as used when it was created; version 2
 * keeps all three. */
static void test_version_1_and_version_2_fields(void **state)
{
    apr_pool_t *p = *state;
    flexsaml_session *s = sample(p), *back;
    unsigned char b[256];
    apr_size_t len, n;
    const char *buf;

    s->last_used = s->created + apr_time_from_sec(90);
    s->ident.authn_instant = s->created - apr_time_from_sec(5);
    s->ident.authn_context = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract";
    buf = flexsaml_session_encode(p, s, &len);
    back = flexsaml_session_decode(p, buf, len);
    assert_non_null(back);
    assert_true(back->last_used == s->last_used);
    assert_true(back->ident.authn_instant == s->ident.authn_instant);
    assert_string_equal(back->ident.authn_context, s->ident.authn_context);

    /* Version 1, the smallest: created 0, six NULL strings, no roles or
     * attributes. */
    n = header_with_null_strings(b);
    n += put_u32(b + n, 0);
    n += put_u32(b + n, 0);
    back = flexsaml_session_decode(p, (char *)b, n);
    assert_non_null(back);
    assert_true(back->last_used == back->created);
    assert_true(back->ident.authn_instant == 0);
    assert_null(back->ident.authn_context);

    /* Never set: kept as 0, which the idle check reads as created. */
    s->last_used = 0;
    buf = flexsaml_session_encode(p, s, &len);
    assert_true(flexsaml_session_decode(p, buf, len)->last_used == 0);
}

static void test_bit_flips(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t len;
    const char *buf = flexsaml_session_encode(p, sample(p), &len);
    char *copy = malloc(len);
    int decoded = 0;

    for (apr_size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            apr_pool_t *sub;
            flexsaml_session *d;

            memcpy(copy, buf, len);
            copy[i] ^= (char)(1 << bit);
            apr_pool_create(&sub, p);
            d = flexsaml_session_decode(sub, copy, len);
            if (d != NULL) {
                /* Whatever decodes is well formed. */
                decoded++;
                assert_non_null(d->ident.roles);
                assert_non_null(d->ident.attributes);
                for (int r = 1; r < d->ident.roles->nelts; r++) {
                    assert_true(strcmp(APR_ARRAY_IDX(d->ident.roles, r - 1, const char *),
                                       APR_ARRAY_IDX(d->ident.roles, r, const char *)) < 0);
                }
            }
            apr_pool_destroy(sub);
        }
    }
    free(copy);
    /* Flips inside string bytes still decode: the codec has no checksum. */
    assert_true(decoded > 0);
}

/* Builds a header with hand-picked counts and lengths. */
static apr_size_t put_u32(unsigned char *b, apr_uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
    return 4;
}

static apr_size_t header_with_null_strings(unsigned char *b)
{
    apr_size_t n = 0;

    b[n++] = 'F';
    b[n++] = 'S';
    b[n++] = 1;
    memset(b + n, 0, 16);
    n += 16;
    for (int i = 0; i < 6; i++) {
        n += put_u32(b + n, 0xffffffffu);
    }
    return n;
}

static void test_oversized_counts(void **state)
{
    apr_pool_t *p = *state;
    unsigned char b[256];
    apr_size_t h = header_with_null_strings(b);
    apr_size_t n;

    /* The smallest valid encoding. */
    n = h + put_u32(b + h, 0);
    n += put_u32(b + n, 0);
    assert_non_null(flexsaml_session_decode(p, (char *)b, n));

    /* Counts over the caps, or past what the buffer can hold. */
    const apr_uint32_t bad_counts[] = {0xffffffffu, 0x80000000u, 1025, 1024, 100, 2};
    for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
        n = h + put_u32(b + h, bad_counts[i]);
        n += put_u32(b + n, 0);
        assert_null(flexsaml_session_decode(p, (char *)b, n));
        n = h + put_u32(b + h, 0);
        n += put_u32(b + n, bad_counts[i]);
        assert_null(flexsaml_session_decode(p, (char *)b, n));
    }

    /* A string length past the end, over the per-value cap, or 0xfffffffe. */
    const apr_uint32_t bad_lens[] = {0xfffffffeu, 0x10001, 5, 0x7fffffff};
    for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
        n = 3 + 16;
        memcpy(b, "FS\x01", 3);
        n += put_u32(b + n, bad_lens[i]);
        memcpy(b + n, "abcd", 4);
        n += 4;
        assert_null(flexsaml_session_decode(p, (char *)b, n));
    }

    /* NULL is not allowed for a role, an attribute name or value. */
    n = h + put_u32(b + h, 1);
    n += put_u32(b + n, 0xffffffffu);
    n += put_u32(b + n, 0);
    assert_null(flexsaml_session_decode(p, (char *)b, n));
    n = h + put_u32(b + h, 0);
    n += put_u32(b + n, 1);
    n += put_u32(b + n, 1);
    b[n++] = 'k';
    n += put_u32(b + n, 0xffffffffu);
    assert_null(flexsaml_session_decode(p, (char *)b, n));

    /* Empty or duplicate roles, and NUL inside a string. */
    n = h + put_u32(b + h, 1);
    n += put_u32(b + n, 0);
    n += put_u32(b + n, 0);
    assert_null(flexsaml_session_decode(p, (char *)b, n));
    n = h + put_u32(b + h, 2);
    n += put_u32(b + n, 1);
    b[n++] = 'a';
    n += put_u32(b + n, 1);
    b[n++] = 'a';
    n += put_u32(b + n, 0);
    assert_null(flexsaml_session_decode(p, (char *)b, n));
    n = h + put_u32(b + h, 1);
    n += put_u32(b + n, 3);
    memcpy(b + n, "a\0b", 3);
    n += 3;
    n += put_u32(b + n, 0);
    assert_null(flexsaml_session_decode(p, (char *)b, n));

    /* Over the total cap, even if well formed otherwise. */
    {
        apr_size_t big = 1024 * 1024 + 1;
        char *huge = apr_pcalloc(p, big);
        memcpy(huge, b, n);
        assert_null(flexsaml_session_decode(p, huge, big));
    }
}

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void test_ids(void **state)
{
    apr_pool_t *p = *state;
    apr_hash_t *seen = apr_hash_make(p);

    for (int i = 0; i < 10000; i++) {
        const char *id = flexsaml_session_new_id(p);
        assert_non_null(id);
        assert_int_equal(strlen(id), FLEXSAML_SESSION_ID_LEN);
        for (const char *c = id; *c; c++) {
            assert_true(b64url_char(*c));
        }
        assert_true(flexsaml_session_id_valid(id));
        assert_null(apr_hash_get(seen, id, APR_HASH_KEY_STRING));
        apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
    }
    assert_int_equal(apr_hash_count(seen), 10000);
}

/* Every byte value in every place of an id: valid exactly when it is in the
 * URL-safe alphabet (and, in the last place, carries no pad bits). */
static void test_id_every_byte(void **state)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char id[44];
    int c, at;
    (void)state;
    for (at = 0; at < 43; at++) {
        for (c = 1; c < 256; c++) {
            const char *in;
            int want;
            memset(id, 'A', 43);
            id[43] = '\0';
            id[at] = (char)c;
            in = strchr(alphabet, c);
            want = in != NULL && (at < 42 || ((in - alphabet) & 3) == 0);
            assert_int_equal(flexsaml_session_id_valid(id), want);
        }
    }
}

static void test_id_valid(void **state)
{
    apr_pool_t *p = *state;
    const char *good = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA0";
    const char *id = flexsaml_session_new_id(p);
    char *x = apr_pstrdup(p, id);

    assert_int_equal(strlen(good), 43);
    assert_true(flexsaml_session_id_valid(good));
    assert_true(flexsaml_session_id_valid("_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-w"));
    assert_false(flexsaml_session_id_valid(NULL));
    assert_false(flexsaml_session_id_valid(""));
    assert_false(flexsaml_session_id_valid(apr_pstrndup(p, id, 42)));
    assert_false(flexsaml_session_id_valid(apr_pstrcat(p, id, "A", NULL)));
    assert_false(flexsaml_session_id_valid(apr_pstrcat(p, id, "=", NULL)));
    /* The last character carries 4 bits; the other 2 must be zero. */
    assert_false(flexsaml_session_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"));
    assert_false(flexsaml_session_id_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_"));
    for (const char *bad = "+/=. \t\n%\x80"; *bad; bad++) {
        x[10] = *bad;
        assert_false(flexsaml_session_id_valid(x));
    }
}

static void test_cookie_get(void **state)
{
    apr_pool_t *p = *state;
    static const struct {
        const char *header;
        const char *name;
        const char *want; /* NULL: absent */
    } cases[] = {
        {"a=b; c=d", "a", "b"},
        {"a=b; c=d", "c", "d"},
        {"a=b; c=d", "b", NULL},
        {"a=b;c=d", "c", "d"},
        {"  a = b  ;   c =  d  ", "c", "d"},
        {"a=b; c=d", "A", NULL},
        {"aa=1; a=2", "a", "2"},
        {"a=1; aa=2", "aa", "2"},
        {"xa=1; a=2", "a", "2"},
        {"a=1; a=2", "a", NULL}, /* tossed cookie: neither is used */
        {"a=1; b=2; a=1", "a", NULL},
        {"a=\"quoted value\"", "a", "quoted value"},
        {"a=\"", "a", "\""},
        {"a=\"\"", "a", ""},
        {"a=\"x", "a", "\"x"},
        {"a=", "a", ""},
        {"a", "a", NULL},
        {"a;b=c", "a", NULL},
        {"a;b=c", "b", "c"},
        {"=x; a=y", "a", "y"},
        {"=x", "", NULL},
        {";;; ;a=1;;", "a", "1"},
        {"", "a", NULL},
        {";", "a", NULL},
        {"a=b=c; d=e", "a", "b=c"},
        {"flexsaml=abc.def_-; other=1", "flexsaml", "abc.def_-"},
        {"\ta=1\t", "a", "1"},
        {"b=1, a=2", "a", NULL},
        {"b=1, a=2", "b", "1, a=2"},
        {"a b=1", "a b", "1"},
        {"a=b; c", "c", NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = flexsaml_cookie_get(p, cases[i].header, cases[i].name);
        if (cases[i].want == NULL ? got != NULL
                                  : (got == NULL || strcmp(got, cases[i].want) != 0)) {
            print_error("case %zu: got %s\n", i, got != NULL ? got : "(null)");
            fail();
        }
    }
    assert_null(flexsaml_cookie_get(p, NULL, "a"));
    assert_null(flexsaml_cookie_get(p, "a=b", NULL));
    assert_null(flexsaml_cookie_get(p, "a=b", ""));
}

static void test_cookie_without(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(flexsaml_cookie_without(p, "a=1; flexsaml_session=abc;b=2",
                                                "flexsaml_session", "flexsaml_login"),
                        "a=1; b=2");
    assert_string_equal(flexsaml_cookie_without(p, " flexsaml_login=x ; flexsaml_sessionX=1",
                                                "flexsaml_session", "flexsaml_login"),
                        "flexsaml_sessionX=1");
    assert_null(flexsaml_cookie_without(p, "flexsaml_session=1; flexsaml_session=2;;",
                                        "flexsaml_session", NULL));
    assert_null(flexsaml_cookie_without(p, NULL, "a", "b"));
    assert_string_equal(flexsaml_cookie_without(p, "theme=dark", "a", NULL), "theme=dark");
}

static void test_cookie_get_long(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t n = 100000;
    char *h = apr_palloc(p, n * 4 + 16);
    char *o = h;

    for (apr_size_t i = 0; i < n; i++) {
        memcpy(o, "x=1;", 4);
        o += 4;
    }
    strcpy(o, " s=val");
    assert_string_equal(flexsaml_cookie_get(p, h, "s"), "val");
    assert_null(flexsaml_cookie_get(p, h, "x")); /* repeated: not used */
    assert_null(flexsaml_cookie_get(p, h, "y"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_1_and_version_2_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_all_null_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_garbage_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bit_flips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
        cmocka_unit_test(test_id_every_byte),
        cmocka_unit_test_setup_teardown(test_id_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_get_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_without, setup, teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
