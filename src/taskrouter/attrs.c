/*
 * The JSON side of the TaskRouter sync (see docs/taskrouter.md):
 * the attributes a login owns, the merge into a Worker's existing attributes,
 * FriendlyName matching, SID shapes, and picking the Worker out of a list
 * page. A Worker's attributes are one JSON string that an update replaces
 * whole, so the keys this module owns follow the login and every other key
 * (routing, team_sid, contact_uri, custom ones) is carried over untouched.
 * Pure: no I/O; every json_t is released before its function returns.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include <jansson.h>

#include "taskrouter.h"
#include "parse.h"

/* ------------------------------------------------------------------ */
/* Desired attributes and the merge (pure)                             */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *key;
    apr_array_header_t *values;
} collect_ctx;

static int collect(void *v, const char *key, const char *value)
{
    collect_ctx *c = v;
    (void)key;
    APR_ARRAY_PUSH(c->values, const char *) = value;
    return 1;
}

/* The values of one SAML attribute, in document order. */
static apr_array_header_t *attribute_values(apr_pool_t *p, const flexsaml_identity *id,
                                            const char *name)
{
    collect_ctx c = {name, apr_array_make(p, 2, sizeof(const char *))};
    if (id->attributes)
        apr_table_do(collect, &c, id->attributes, name, NULL);
    return c.values;
}

/* The single string a claim names: the identity's own fields first, then the
 * first value of a SAML attribute of that name. */
static const char *claim_string(apr_pool_t *p, const flexsaml_identity *id, const char *claim)
{
    apr_array_header_t *v;
    if (!strcmp(claim, "email"))
        return id->email;
    if (!strcmp(claim, "full_name"))
        return id->full_name;
    if (!strcmp(claim, "image_url"))
        return id->image_url;
    if (!strcasecmp(claim, FLEXSAML_CLAIM_NAMEID) || !strcmp(claim, "name_id"))
        return id->name_id;
    v = attribute_values(p, id, claim);
    return v->nelts ? APR_ARRAY_IDX(v, 0, const char *) : NULL;
}

/* A new reference, NULL when the IdP did not send the key, or (void *)-1
 * when a value is not UTF-8 (jansson refuses it). */
#define BAD_VALUE ((json_t *)-1)
static json_t *owned_value(apr_pool_t *p, const flexsaml_identity *id, const char *key)
{
    apr_array_header_t *v;
    json_t *a;
    int i;

    if (!strcmp(key, "roles")) {
        /* Flex reads roles as a list; the set is already normalized. */
        if (!id->roles)
            return NULL;
        v = id->roles;
    } else if (!strcmp(key, "email") || !strcmp(key, "full_name") || !strcmp(key, "image_url")) {
        const char *s = claim_string(p, id, key);
        json_t *j;
        if (!s)
            return NULL;
        j = json_string(s);
        return j ? j : BAD_VALUE;
    } else {
        v = attribute_values(p, id, key);
        if (!v->nelts)
            return NULL;
        if (v->nelts == 1) {
            json_t *j = json_string(APR_ARRAY_IDX(v, 0, const char *));
            return j ? j : BAD_VALUE;
        }
    }
    a = json_array();
    for (i = 0; i < v->nelts; i++) {
        json_t *s = json_string(APR_ARRAY_IDX(v, i, const char *));
        if (!s) {
            json_decref(a);
            return BAD_VALUE;
        }
        json_array_append_new(a, s);
    }
    return a;
}

/* Compact, in insertion order: Twilio counts whitespace against the size
 * limit, and a stable order keeps diffs of the Worker readable. */
static const char *dump(apr_pool_t *p, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *r;
    if (!s)
        return NULL;
    r = apr_pstrdup(p, s);
    free(s);
    return r;
}

const char *flexsaml_tr_desired(apr_pool_t *p, const flexsaml_tr_conf *c,
                                const flexsaml_identity *id, const char **name,
                                const char **desired)
{
    const char *n = claim_string(p, id, c->worker_claim);
    json_t *obj;
    int i;

    if (!n || !*n)
        return apr_psprintf(p, "the login has no %s, which names the Worker", c->worker_claim);
    if (strlen(n) > FLEXSAML_TR_NAME_MAX)
        return apr_psprintf(p, "the Worker name (%s) is longer than %d characters", c->worker_claim,
                            FLEXSAML_TR_NAME_MAX);
    obj = json_object();
    for (i = 0; i < c->owned->nelts; i++) {
        const char *key = APR_ARRAY_IDX(c->owned, i, const char *);
        json_t *v = owned_value(p, id, key);
        if (v == BAD_VALUE) {
            json_decref(obj);
            return apr_psprintf(p, "the value of %s is not UTF-8", key);
        }
        if (v)
            json_object_set_new(obj, key, v);
    }
    *name = n;
    *desired = dump(p, obj);
    json_decref(obj);
    return *desired ? NULL : "the attributes cannot be serialized";
}

int flexsaml_tr_merge_attributes(apr_pool_t *p, const char *current, const char *desired,
                                 const apr_array_header_t *owned, const char **out,
                                 const char **keys, const char **err)
{
    json_t *cur, *want;
    json_error_t je;
    apr_array_header_t *changed = apr_array_make(p, 4, sizeof(const char *));
    int i;

    if (!current || !*current || !strcmp(current, "null"))
        cur = json_object();
    else if (!(cur = json_loads(current, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(cur)) {
        json_decref(cur);
        *err = "the Worker's attributes are not a JSON object; they are left as they are";
        return -1;
    }
    want = json_loads(desired ? desired : "{}", 0, &je);
    if (!json_is_object(want)) {
        json_decref(cur);
        json_decref(want);
        *err = "the desired attributes are not a JSON object";
        return -1;
    }
    for (i = 0; i < owned->nelts; i++) {
        const char *key = APR_ARRAY_IDX(owned, i, const char *);
        json_t *w = json_object_get(want, key), *h = json_object_get(cur, key);
        if (w && !(h && json_equal(w, h))) {
            json_object_set(cur, key, w);
            APR_ARRAY_PUSH(changed, const char *) = key;
        } else if (!w && h) {
            /* The IdP stopped sending it: a stale avatar or name must go. */
            json_object_del(cur, key);
            APR_ARRAY_PUSH(changed, const char *) = key;
        }
    }
    if (keys)
        *keys = apr_array_pstrcat(p, changed, ',');
    if (changed->nelts)
        *out = dump(p, cur);
    json_decref(cur);
    json_decref(want);
    if (changed->nelts && !*out) {
        *err = "the merged attributes cannot be serialized";
        return -1;
    }
    return changed->nelts ? 1 : 0;
}

int flexsaml_tr_name_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        /* ASCII folding only: tolower() of a locale could map UTF-8 bytes. */
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return *a == *b;
}

int flexsaml_tr_sid_valid(const char *s, const char *prefix)
{
    return flexsaml_sid_valid(s, prefix);
}

const char *flexsaml_tr_workers_path(apr_pool_t *p, const char *workspace)
{
    return apr_pstrcat(p, "/v1/Workspaces/", workspace, "/Workers", NULL);
}

const char *flexsaml_tr_list_pick(apr_pool_t *p, const char *body, const char *workspace,
                                  const char *name, const char **sid, const char **next)
{
    json_error_t je;
    json_t *root = json_loads(body ? body : "", 0, &je), *workers, *w, *meta, *nu;
    const char *prefix = apr_pstrcat(p, flexsaml_tr_workers_path(p, workspace), "?", NULL);
    size_t i;

    *sid = *next = NULL;
    workers = json_object_get(root, "workers");
    if (!json_is_array(workers)) {
        json_decref(root);
        return "the list of Workers has no \"workers\" array";
    }
    json_array_foreach(workers, i, w)
    {
        const char *fn = json_string_value(json_object_get(w, "friendly_name"));
        const char *s = json_string_value(json_object_get(w, "sid"));
        if (fn && flexsaml_tr_name_equal(fn, name) && flexsaml_tr_sid_valid(s, "WK")) {
            *sid = apr_pstrdup(p, s);
            break;
        }
    }
    meta = json_object_get(root, "meta");
    nu = json_object_get(meta, "next_page_url");
    if (!*sid && json_is_string(nu)) {
        /* Only the path is trusted: the next request goes to the configured
         * host with the same credentials, never to a host a body names. */
        const char *at = strstr(json_string_value(nu), "/v1/Workspaces/");
        if (at && !strncmp(at, prefix, strlen(prefix)) && !strpbrk(at, " \r\n#"))
            *next = apr_pstrdup(p, at);
    }
    json_decref(root);
    return NULL;
}
