/*
 * libFuzzer harness for the TaskRouter JSON side (taskrouter_attrs.c): a
 * Worker's attributes as TaskRouter (or anyone in between) returns them, and
 * a ListWorker page. Input: "<current attributes>\0<list page>". Beyond "no
 * crash", it checks the merge's promises: every key the module does not own
 * comes out exactly as it went in, the owned keys equal the desired ones,
 * and merging the result again changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>

#include "taskrouter.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const OWNED[] = {"full_name", "email", "roles", "image_url"};
static const char *DESIRED =
    "{\"full_name\":\"Z\\u00f6e Agent\",\"email\":\"zoe@example.com\",\"roles\":[\"agent\"]}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    return 0;
}

static int owned(const char *k)
{
    for (size_t i = 0; i < sizeof(OWNED) / sizeof(OWNED[0]); i++)
        if (!strcmp(k, OWNED[i]))
            return 1;
    return 0;
}

static void check_merge(apr_pool_t *p, const char *current, const apr_array_header_t *own)
{
    const char *out = NULL, *err = NULL, *again = NULL;
    json_t *in, *res, *want, *v;
    const char *k;
    int rc = flexsaml_tr_merge_attributes(p, current, DESIRED, own, &out, NULL, &err);

    if (rc < 0)
        return; /* not a JSON object: refused, nothing written */
    in = json_loads(current, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (rc == 0) {
        json_decref(in);
        return;
    }
    res = json_loads(out, JSON_ALLOW_NUL, NULL);
    want = json_loads(DESIRED, 0, NULL);
    if (!res || !json_is_object(res))
        abort();
    if (json_is_object(in)) {
        json_object_foreach(in, k, v)
        {
            if (!owned(k) && !json_equal(v, json_object_get(res, k)))
                abort(); /* a foreign key was changed */
        }
    }
    json_object_foreach(res, k, v)
    {
        if (owned(k) && !json_equal(v, json_object_get(want, k)))
            abort();
        if (!owned(k) && (!json_is_object(in) || !json_object_get(in, k)))
            abort(); /* a key appeared from nowhere */
    }
    if (flexsaml_tr_merge_attributes(p, out, DESIRED, own, &again, NULL, &err) != 0)
        abort(); /* not idempotent */
    json_decref(in);
    json_decref(res);
    json_decref(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *own;
    const char *current, *page, *sid = NULL, *next = NULL;
    size_t cut;

    apr_pool_create(&p, NULL);
    own = apr_array_make(p, 4, sizeof(const char *));
    for (size_t i = 0; i < sizeof(OWNED) / sizeof(OWNED[0]); i++)
        APR_ARRAY_PUSH(own, const char *) = OWNED[i];
    for (cut = 0; cut < size && data[cut]; cut++)
        ;
    current = apr_pstrmemdup(p, (const char *)data, cut);
    page = cut < size ? apr_pstrmemdup(p, (const char *)data + cut + 1, size - cut - 1) : "";
    check_merge(p, current, own);
    flexsaml_tr_list_pick(p, page, "WS00000000000000000000000000000000", "zoe@example.com", &sid,
                          &next);
    if (sid && !flexsaml_tr_sid_valid(sid, "WK"))
        abort(); /* only a well-formed Worker SID is ever used in a path */
    if (next && strncmp(next, "/v1/Workspaces/WS00000000000000000000000000000000/Workers", 57))
        abort(); /* a next page never leaves this Workspace's Workers */
    apr_pool_destroy(p);
    return 0;
}
