/*
 * libFuzzer harness for roles.c. The first byte picks the policy; the rest
 * is split on '\n' into attribute values. Beyond "no crash", it checks the
 * promises the rest of the module relies on: the output is a sorted,
 * de-duplicated, lower-case set of sane items that contains() can find.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "flexsaml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    return 0;
}

static apr_hash_t *fuzz_map(apr_pool_t *p)
{
    apr_hash_t *h = apr_hash_make(p);
    apr_array_header_t *two = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));

    APR_ARRAY_PUSH(two, const char *) = "admin";
    APR_ARRAY_PUSH(two, const char *) = "Supervisor";
    APR_ARRAY_PUSH(one, const char *) = "agent";
    apr_hash_set(h, "flex-admins", APR_HASH_KEY_STRING, two);
    apr_hash_set(h, "a", APR_HASH_KEY_STRING, one);
    apr_hash_set(h, "", APR_HASH_KEY_STRING, one);
    return h;
}

static void check_set(apr_pool_t *p, const apr_array_header_t *set, int keep,
                      const flexsaml_role_policy *pol)
{
    for (int i = 0; i < set->nelts; i++) {
        const char *r = APR_ARRAY_IDX(set, i, const char *);
        size_t n = strlen(r);

        if (n == 0 || n > 256) {
            abort();
        }
        for (size_t j = 0; j < n; j++) {
            unsigned char c = (unsigned char)r[j];
            if (c < 0x20 || c == 0x7f || (c >= 'A' && c <= 'Z') || c == ',') {
                abort();
            }
        }
        if (r[0] == ' ' || r[n - 1] == ' ') {
            abort();
        }
        if (i > 0 && strcmp(APR_ARRAY_IDX(set, i - 1, const char *), r) >= 0) {
            abort();
        }
        if (!flexsaml_roles_contains(set, r)) {
            abort();
        }
        if (!keep && !flexsaml_role_is_declared(pol, r)) {
            abort();
        }
    }
    if (set->nelts > 1024) {
        abort();
    }
    (void)flexsaml_roles_join(p, set, ",");
    (void)flexsaml_roles_has_flex_role(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    flexsaml_role_policy pol;
    apr_array_header_t *values;
    apr_array_header_t *set;
    apr_array_header_t *unknown;
    char *buf;
    char *s;
    int n;

    if (size == 0) {
        return 0;
    }
    apr_pool_create(&p, NULL);
    pol.map = (data[0] & 4) ? fuzz_map(p) : NULL;
    pol.unknown = (flexsaml_unknown_policy)(data[0] % 3);
    /* FlexSAMLRoles: declared site roles are kept like the Flex ones. */
    pol.site = NULL;
    if (data[0] & 16) {
        pol.site = apr_hash_make(p);
        apr_hash_set(pol.site, "teamlead", APR_HASH_KEY_STRING, "");
        apr_hash_set(pol.site, "qa", APR_HASH_KEY_STRING, "");
    }
    /* An exact-size heap copy, so that ASan sees reads past the end. */
    buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    values = apr_array_make(p, 4, sizeof(const char *));
    for (s = buf;;) {
        char *nl = strchr(s, '\n');
        APR_ARRAY_PUSH(values, const char *) = s;
        if (nl == NULL) {
            break;
        }
        *nl = '\0';
        s = nl + 1;
    }
    n = flexsaml_roles_parse(p, values, (data[0] & 8) ? NULL : &pol, &set, &unknown);
    if (n != unknown->nelts) {
        abort();
    }
    check_set(p, set, !(data[0] & 8) && pol.unknown == FLEXSAML_UNKNOWN_KEEP,
              (data[0] & 8) ? NULL : &pol);
    (void)flexsaml_role_is_known(buf);
    free(buf);
    apr_pool_destroy(p);
    return 0;
}
