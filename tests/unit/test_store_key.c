/* Store keys (store_key.c): shape, scoping, and the spread of the first byte
 * that shmcb's sub-cache choice depends on. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store_key.h"

static EVP_MD *sha256;

static void key_of(flexsaml_key_form form, char kind, const char *scope, const char *id,
                   unsigned char out[FLEXSAML_STORE_KEY_LEN])
{
    assert_int_equal(flexsaml_store_key(sha256, form, kind, scope, id, out), 1);
}

static void test_shape(void **state)
{
    unsigned char k[FLEXSAML_STORE_KEY_LEN];
    int i;
    (void)state;
    key_of(FLEXSAML_KEY_TEXT, 's', "intranet.example.com", "abc", k);
    assert_int_equal(k[1], 's');
    for (i = 2; i < FLEXSAML_STORE_KEY_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", k[i]));
}

/* The same digest under both forms: only the first byte differs. */
static void test_forms_share_the_digest(void **state)
{
    unsigned char t[FLEXSAML_STORE_KEY_LEN], b[FLEXSAML_STORE_KEY_LEN];
    (void)state;
    key_of(FLEXSAML_KEY_TEXT, 'a', NULL, "_assertion-1", t);
    key_of(FLEXSAML_KEY_BINARY, 'a', NULL, "_assertion-1", b);
    assert_memory_equal(t + 1, b + 1, FLEXSAML_STORE_KEY_LEN - 1);
}

/* A key is the SHA-256 of scope "\n" id: the scope separates hosts, and the
 * known digest pins the format (a store shared by several servers of
 * different versions must agree on it). */
static void test_scope_and_digest(void **state)
{
    unsigned char a[FLEXSAML_STORE_KEY_LEN], b[FLEXSAML_STORE_KEY_LEN], c[FLEXSAML_STORE_KEY_LEN];
    (void)state;
    key_of(FLEXSAML_KEY_TEXT, 's', "a.example", "id", a);
    key_of(FLEXSAML_KEY_TEXT, 's', "b.example", "id", b);
    key_of(FLEXSAML_KEY_TEXT, 's', NULL, "a.example\nid", c);
    assert_memory_not_equal(a + 2, b + 2, FLEXSAML_STORE_KEY_LEN - 2);
    assert_memory_equal(a, c, FLEXSAML_STORE_KEY_LEN);
    /* printf 'abc' | sha256sum */
    key_of(FLEXSAML_KEY_TEXT, 'x', NULL, "abc", a);
    assert_memory_equal(a + 2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                        64);
}

/* Text keys (memcache, redis) stay printable and free of spaces. */
/* The low-level SHA-256 of the hot path and EVP (FIPS mode) agree, on known
 * answers and on ids of every length across the 64-byte block edges: a
 * farm whose servers differ in FIPS mode must still find each other's
 * sessions. */
static void test_low_level_and_evp_digests_agree(void **state)
{
    unsigned char a[32], b[32], id[130];
    int n;
    (void)state;
    assert_int_equal(flexsaml_store_digest(sha256, 0, NULL, "abc", a), 1);
    assert_int_equal(flexsaml_store_digest(sha256, 1, NULL, "abc", b), 1);
    assert_memory_equal(a,
                        "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23"
                        "\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10\xff\x61\xf2\x00\x15\xad",
                        32);
    assert_memory_equal(a, b, 32);
    for (n = 0; n < (int)sizeof(id) - 1; n++) {
        memset(id, 'A' + n % 26, (size_t)n);
        id[n] = '\0';
        assert_int_equal(flexsaml_store_digest(sha256, 0, "intranet.example.com", (char *)id, a),
                         1);
        assert_int_equal(flexsaml_store_digest(sha256, 1, "intranet.example.com", (char *)id, b),
                         1);
        assert_memory_equal(a, b, 32);
    }
}

/* A digest of another size is refused before it is written: EVP's Final
 * writes the whole digest, and a 64-byte one once overran the 32-byte
 * buffer (the canary after it). */
static void test_other_digest_sizes_are_refused(void **state)
{
    struct {
        unsigned char md[32];
        unsigned char canary[32];
    } out;
    EVP_MD *sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    (void)state;
    assert_non_null(sha512);
    memset(&out, 0x5a, sizeof(out));
    assert_int_equal(flexsaml_store_digest(sha512, 1, "h", "id", out.md), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(out.canary[i], 0x5a);
    assert_int_equal(flexsaml_store_digest(NULL, 1, "h", "id", out.md), 0);
    EVP_MD_free(sha512);
}

static void test_text_keys_are_printable(void **state)
{
    unsigned char k[FLEXSAML_STORE_KEY_LEN];
    char id[32];
    int i, j;
    (void)state;
    for (i = 0; i < 2000; i++) {
        snprintf(id, sizeof(id), "session-%d", i);
        key_of(FLEXSAML_KEY_TEXT, 's', "h", id, k);
        for (j = 0; j < FLEXSAML_STORE_KEY_LEN; j++)
            assert_true(k[j] > 0x20 && k[j] < 0x7f);
    }
}

/* shmcb picks the sub-cache from the first byte masked to a power of two up
 * to 256: binary keys must reach all 256, evenly enough that no sub-cache
 * fills far ahead of the others. */
static void test_binary_first_byte_reaches_every_subcache(void **state)
{
    unsigned int seen[256] = {0}, text_seen[256] = {0}, used = 0, text_used = 0, max = 0;
    unsigned char k[FLEXSAML_STORE_KEY_LEN];
    char id[32];
    int i;
    (void)state;
    for (i = 0; i < 25600; i++) {
        snprintf(id, sizeof(id), "session-%d", i);
        key_of(FLEXSAML_KEY_BINARY, 's', "h", id, k);
        seen[k[0]]++;
        key_of(FLEXSAML_KEY_TEXT, 's', "h", id, k);
        text_seen[k[0]]++;
    }
    for (i = 0; i < 256; i++) {
        used += seen[i] > 0;
        text_used += text_seen[i] > 0;
        if (seen[i] > max)
            max = seen[i];
    }
    assert_int_equal(used, 256);
    /* 100 per sub-cache on average; a binomial spread stays well under 1.5x. */
    assert_true(max < 150);
    /* What the text form would leave: 94 of 256 sub-caches. */
    assert_int_equal(text_used, 94);
}

/* Each thread reuses its own digest context (store_key.c): threads making
 * keys at once must get exactly the keys one thread makes alone. Threads
 * only record; the checks run here, as cmocka's asserts are not thread-safe. */
#define THREADS 4
#define PER_THREAD 500

typedef struct {
    int n;
    int failed;
    unsigned char keys[PER_THREAD][FLEXSAML_STORE_KEY_LEN];
} thread_job;

static void *make_keys(void *arg)
{
    thread_job *job = arg;
    char id[32];
    int i;
    for (i = 0; i < PER_THREAD; i++) {
        snprintf(id, sizeof(id), "session-%d-%d", job->n, i);
        if (!flexsaml_store_key(sha256, FLEXSAML_KEY_BINARY, 's', "h", id, job->keys[i]))
            job->failed = 1;
    }
    return NULL;
}

static void test_threads_get_the_same_keys(void **state)
{
    static thread_job jobs[THREADS];
    pthread_t t[THREADS];
    unsigned char k[FLEXSAML_STORE_KEY_LEN];
    char id[32];
    int n, i;
    (void)state;
    for (n = 0; n < THREADS; n++) {
        jobs[n].n = n;
        assert_int_equal(pthread_create(&t[n], NULL, make_keys, &jobs[n]), 0);
    }
    for (n = 0; n < THREADS; n++)
        assert_int_equal(pthread_join(t[n], NULL), 0);
    for (n = 0; n < THREADS; n++) {
        assert_false(jobs[n].failed);
        for (i = 0; i < PER_THREAD; i++) {
            snprintf(id, sizeof(id), "session-%d-%d", n, i);
            key_of(FLEXSAML_KEY_BINARY, 's', "h", id, k);
            assert_memory_equal(jobs[n].keys[i], k, FLEXSAML_STORE_KEY_LEN);
        }
    }
}

static void test_ref_round_trip(void **state)
{
    unsigned char k[FLEXSAML_STORE_KEY_LEN], back[FLEXSAML_STORE_KEY_LEN];
    char ref[65];
    int f;
    (void)state;
    for (f = 0; f < 2; f++) {
        flexsaml_key_form form = f ? FLEXSAML_KEY_BINARY : FLEXSAML_KEY_TEXT;
        key_of(form, 's', "sp.example", "0123456789abcdef0123456789abcdef", k);
        flexsaml_store_key_ref(k, ref);
        /* The reference is the digest, never the id. */
        assert_null(strstr(ref, "0123456789abcdef0123456789abcdef"));
        assert_int_equal(flexsaml_store_key_from_ref(form, 's', ref, back), 1);
        assert_memory_equal(k, back, FLEXSAML_STORE_KEY_LEN);
    }
    assert_int_equal(flexsaml_store_key_from_ref(FLEXSAML_KEY_TEXT, 's', "abc", back), 0);
    ref[3] = 'G';
    assert_int_equal(flexsaml_store_key_from_ref(FLEXSAML_KEY_TEXT, 's', ref, back), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_forms_share_the_digest),
        cmocka_unit_test(test_scope_and_digest),
        cmocka_unit_test(test_low_level_and_evp_digests_agree),
        cmocka_unit_test(test_other_digest_sizes_are_refused),
        cmocka_unit_test(test_text_keys_are_printable),
        cmocka_unit_test(test_binary_first_byte_reaches_every_subcache),
        cmocka_unit_test(test_threads_get_the_same_keys),
        cmocka_unit_test(test_ref_round_trip),
    };
    int rc;
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_MD_free(sha256);
    return rc;
}
