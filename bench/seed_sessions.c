/*
 * seed_sessions: writes N signed-in sessions straight into an lmdb store
 * directory, as the module's ACS would (issue #14 targets: a million sessions
 * cannot go through the ACS in the time of a benchmark). Run it while no
 * Apache has the directory open.
 *
 *   seed_sessions DIR MAP_BYTES SCOPE SP_ENTITY_ID N IDS_OUT KEEP
 *
 * SCOPE is what the module scopes session keys with, the public host
 * ("127.0.0.1:PORT"); SP_ENTITY_ID the site's FlexSAMLSPEntityID. The first
 * KEEP ids go to IDS_OUT, one a line, for the client's cookies. Keys come
 * from store_key.c and values from session_encode, behind the lmdb value
 * header, so a GET with one of the ids finds its session. Unsealed: the
 * benchmark's servers set no FlexSAMLCryptoPassphrase, as lmdb's default.
 * Prints one JSON object: sessions, value bytes, B-tree pages, the last page
 * number (the file's high-water mark) and the page size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "flexsaml.h"
#include "lmdb_store.h"
#include "store_key.h"

#define KIND_SESSION 's' /* FLEXSAML_KEY_SESSION in src/httpd/store.h */
#define BATCH 20000      /* entries per write transaction */
#define LIFETIME apr_time_from_sec(8 * 3600)

static int fail(const char *what, int rc)
{
    fprintf(stderr, "seed_sessions: %s: %s\n", what, mdb_strerror(rc));
    return 1;
}

/* Shaped like a login of the test IdP's users: NameID, the three Okta
 * attributes, a role set and a session index. */
static void fill(apr_pool_t *p, flexsaml_session *s, const char *sp, apr_time_t now, long i)
{
    const char *login = apr_psprintf(p, "user%07ld.agent@example.com", i);
    const char *name = apr_psprintf(p, "User%07ld Agent", i);

    memset(s, 0, sizeof(*s));
    s->sp_entity_id = sp;
    s->created = now;
    s->expires = now + LIFETIME;
    s->ident.name_id = login;
    s->ident.full_name = name;
    s->ident.email = login;
    s->ident.session_index = apr_psprintf(p, "_%032lx", (unsigned long)i * 2654435761u);
    s->ident.roles = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(s->ident.roles, const char *) = "agent";
    s->ident.attributes = apr_table_make(p, 3);
    apr_table_add(s->ident.attributes, "full_name", name);
    apr_table_add(s->ident.attributes, "roles", "agent");
    apr_table_add(s->ident.attributes, "email", login);
}

int main(int argc, char **argv)
{
    apr_pool_t *pool, *p;
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_stat st;
    MDB_envinfo info;
    EVP_MD *sha256;
    FILE *ids;
    apr_time_t now;
    unsigned long long value_bytes = 0;
    long n, keep, i;
    int rc;

    if (argc != 8) {
        fprintf(stderr, "usage: seed_sessions DIR MAP_BYTES SCOPE SP_ENTITY_ID N IDS_OUT KEEP\n");
        return 2;
    }
    n = atol(argv[5]);
    keep = atol(argv[7]);
    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_pool_create(&p, pool);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256 || !(ids = fopen(argv[6], "w"))) {
        fprintf(stderr, "seed_sessions: no SHA-256, or cannot write %s\n", argv[6]);
        return 1;
    }
    if ((rc = mdb_env_create(&env)) ||
        (rc = mdb_env_set_mapsize(env, strtoull(argv[2], NULL, 10))) ||
        (rc = mdb_env_open(env, argv[1], MDB_NOSYNC, 0600)))
        return fail("open", rc);
    now = apr_time_now();
    for (i = 0; i < n; i++) {
        flexsaml_session s;
        unsigned char key[FLEXSAML_STORE_KEY_LEN];
        const char *id = flexsaml_session_new_id(p), *buf;
        apr_size_t len;
        MDB_val k = {sizeof(key), key}, v;

        if (!txn &&
            ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &dbi))))
            return fail("begin", rc);
        fill(p, &s, argv[4], now, i);
        buf = flexsaml_session_encode(p, &s, &len);
        if (!id || !buf ||
            !flexsaml_store_key(sha256, FLEXSAML_KEY_BINARY, KIND_SESSION, argv[3], id, key))
            return fail("encode", 0);
        /* The lmdb value header: the expiry, then the value (lmdb_store.c). */
        v.mv_size = FLEXSAML_LMDB_HEADER + len;
        if ((rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE)))
            return fail("put", rc);
        memcpy(v.mv_data, &s.expires, sizeof(s.expires));
        memcpy((char *)v.mv_data + FLEXSAML_LMDB_HEADER, buf, len);
        value_bytes += len;
        if (i < keep)
            fprintf(ids, "%s\n", id);
        if ((i + 1) % BATCH == 0 || i + 1 == n) {
            if ((rc = mdb_txn_commit(txn)))
                return fail("commit", rc);
            txn = NULL;
            apr_pool_clear(p);
        }
    }
    fclose(ids);
    if ((rc = mdb_env_sync(env, 1)))
        return fail("sync", rc);
    mdb_env_stat(env, &st);
    mdb_env_info(env, &info);
    printf("{\"sessions\": %ld, \"value_bytes\": %llu, \"tree_pages\": %llu, \"last_pgno\": %llu, "
           "\"page_size\": %u}\n",
           n, value_bytes,
           (unsigned long long)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages),
           (unsigned long long)info.me_last_pgno, st.ms_psize);
    mdb_env_close(env);
    EVP_MD_free(sha256);
    apr_terminate();
    return 0;
}
