/*
 * Entries with an expiry in one LMDB environment. Readers take no lock: each
 * thread keeps one read transaction per environment, reset after use and
 * renewed before the next, so the per-request session read costs no reader
 * slot search and no allocation but the copy of the value. Writers are
 * serialized by LMDB's own (robust) mutex, across every process.
 */
#include <string.h>

#include <apr_strings.h>
#include <lmdb.h>

#include "lmdb_store.h"
#include "store_backend.h"

/* How many environments a thread keeps a read transaction for; a process
 * opens one per directory, so more is rare and only costs a transaction
 * begun and aborted per read. */
#define TLS_SLOTS 4
#define LEASE_KEY "!sweeper-lease" /* never a store key: those start with a spread byte */

struct flexsaml_lmdb {
    MDB_env *env;
    MDB_dbi dbi;
    apr_size_t map_size;
    apr_size_t page_size;
    /* Where the sweep stopped (0 bytes: at the start); only the sweeping
     * thread touches it. 511 bytes is LMDB's default largest key. */
    char sweep_from[511];
    apr_size_t sweep_from_len;
};

/* Thread-local because a read transaction belongs to one thread at a time,
 * and a per-thread one needs no lock to hand out. Keyed by environment; an
 * environment is closed only when its process is done with it, and closing
 * aborts the closing thread's transaction. */
typedef struct {
    MDB_env *env;
    MDB_txn *txn;
} read_slot;
static _Thread_local read_slot tls_reads[TLS_SLOTS];

static apr_status_t status_of(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return APR_SUCCESS;
    case MDB_NOTFOUND:
        return APR_NOTFOUND;
    case MDB_KEYEXIST:
        return APR_EEXIST;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return APR_ENOSPC;
    case MDB_READERS_FULL: /* not "full" to the administrator: more threads than slots */
        return APR_EBUSY;
    default:
        return rc > 0 ? APR_FROM_OS_ERROR(rc) : APR_EGENERAL;
    }
}

static apr_status_t close_env(void *data)
{
    flexsaml_lmdb *db = data;
    int i;

    for (i = 0; i < TLS_SLOTS; i++)
        if (tls_reads[i].env == db->env) {
            mdb_txn_abort(tls_reads[i].txn);
            tls_reads[i].env = NULL;
            tls_reads[i].txn = NULL;
        }
    mdb_env_close(db->env);
    return APR_SUCCESS;
}

apr_status_t flexsaml_lmdb_open(apr_pool_t *p, const char *dir, apr_size_t map_size,
                                unsigned int max_readers, flexsaml_lmdb **out)
{
    flexsaml_lmdb *db = apr_pcalloc(p, sizeof(*db));
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_env_create(&db->env)) != MDB_SUCCESS)
        return status_of(rc);
    /* NOSYNC: a commit is in the page cache, safe from any process crash
     * (kill -9 included); the sweeper flushes it to disk every minute. An
     * fsync per login and per pending request would cap logins at the
     * disk's flush rate. NOTLS: reader slots follow our transactions, not
     * LMDB's own thread keys. */
    if ((rc = mdb_env_set_mapsize(db->env, map_size)) != MDB_SUCCESS ||
        (rc = mdb_env_set_maxreaders(db->env, max_readers)) != MDB_SUCCESS ||
        (rc = mdb_env_open(db->env, dir, MDB_NOTLS | MDB_NOSYNC, 0600)) != MDB_SUCCESS) {
        mdb_env_close(db->env);
        return status_of(rc);
    }
    if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != MDB_SUCCESS ||
        (rc = mdb_dbi_open(txn, NULL, 0, &db->dbi)) != MDB_SUCCESS ||
        (rc = mdb_txn_commit(txn)) != MDB_SUCCESS) {
        mdb_env_close(db->env);
        return status_of(rc);
    }
    {
        MDB_envinfo info;
        MDB_stat st;
        mdb_env_info(db->env, &info);
        mdb_env_stat(db->env, &st);
        /* An existing larger map wins over the configured size. */
        db->map_size = info.me_mapsize;
        db->page_size = st.ms_psize;
    }
    apr_pool_cleanup_register(p, db, close_env, apr_pool_cleanup_null);
    *out = db;
    return APR_SUCCESS;
}

apr_size_t flexsaml_lmdb_map_size(const flexsaml_lmdb *db)
{
    return db->map_size;
}

/* This thread's read transaction on db, renewed; *own is 1 when it is a
 * one-off the caller aborts instead of resetting. */
static int read_begin(flexsaml_lmdb *db, MDB_txn **txn, read_slot **slot)
{
    read_slot *free_slot = NULL;
    int i, rc;

    *slot = NULL;
    for (i = 0; i < TLS_SLOTS; i++) {
        if (tls_reads[i].env == db->env) {
            if ((rc = mdb_txn_renew(tls_reads[i].txn)) != MDB_SUCCESS)
                return rc;
            *txn = tls_reads[i].txn;
            *slot = &tls_reads[i];
            return MDB_SUCCESS;
        }
        if (!tls_reads[i].env && !free_slot)
            free_slot = &tls_reads[i];
    }
    if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn)) != MDB_SUCCESS)
        return rc;
    if (free_slot) {
        free_slot->env = db->env;
        free_slot->txn = *txn;
        *slot = free_slot;
    }
    return MDB_SUCCESS;
}

static void read_end(MDB_txn *txn, read_slot *slot)
{
    if (slot)
        mdb_txn_reset(txn); /* keeps the handle and the reader slot */
    else
        mdb_txn_abort(txn);
}

static apr_time_t expiry_of(const MDB_val *v)
{
    apr_time_t t;
    memcpy(&t, v->mv_data, sizeof(t));
    return t;
}

static int live(const MDB_val *v, apr_time_t now)
{
    return v->mv_size >= FLEXSAML_LMDB_HEADER && expiry_of(v) > now;
}

apr_status_t flexsaml_lmdb_get(flexsaml_lmdb *db, const void *key, apr_size_t klen, apr_time_t now,
                               apr_pool_t *p, const char **val, apr_size_t *len)
{
    MDB_val k = {klen, (void *)key}, v;
    MDB_txn *txn;
    read_slot *slot;
    int rc;

    if ((rc = read_begin(db, &txn, &slot)) != MDB_SUCCESS)
        return status_of(rc);
    rc = mdb_get(txn, db->dbi, &k, &v);
    if (rc == MDB_SUCCESS && !live(&v, now))
        rc = MDB_NOTFOUND;
    if (rc == MDB_SUCCESS && val) {
        /* Copied before the reset: the map page may be reused after it. */
        *len = v.mv_size - FLEXSAML_LMDB_HEADER;
        *val = apr_pstrmemdup(p, (const char *)v.mv_data + FLEXSAML_LMDB_HEADER, *len);
    }
    read_end(txn, slot);
    return status_of(rc);
}

/* Writes header + value straight into the map (MDB_RESERVE: no staging copy). */
static int write_entry(flexsaml_lmdb *db, MDB_txn *txn, MDB_val *k, apr_time_t expiry,
                       const void *val, apr_size_t len)
{
    MDB_val v = {FLEXSAML_LMDB_HEADER + len, NULL};
    int rc = mdb_put(txn, db->dbi, k, &v, MDB_RESERVE);
    if (rc == MDB_SUCCESS) {
        memcpy(v.mv_data, &expiry, sizeof(expiry));
        if (len)
            memcpy((char *)v.mv_data + FLEXSAML_LMDB_HEADER, val, len);
    }
    return rc;
}

static apr_status_t finish(MDB_txn *txn, int rc)
{
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return status_of(rc);
    }
    return status_of(mdb_txn_commit(txn));
}

/* Whether txn may add len bytes and still leave RESERVE of the map free.
 * LMDB copies every page it changes, a delete included: in a map filled to
 * the last page neither the sweep nor a logout could remove anything, so
 * inserts stop short of it. Used pages are the high-water mark less the free
 * list, which is a few records (one per recent transaction that freed
 * pages); past FREE_SCAN records there is room enough. */
#define RESERVE_MIN 16
#define FREE_SCAN 256
static int room_for(flexsaml_lmdb *db, apr_size_t len)
{
    MDB_envinfo info;
    MDB_cursor *cur;
    MDB_txn *txn;
    read_slot *slot;
    MDB_val k, v;
    apr_size_t pages = db->map_size / db->page_size, free_pages = 0, reserve, used;
    int n = 0, rc;

    reserve = pages / 32 > RESERVE_MIN ? pages / 32 : RESERVE_MIN;
    mdb_env_info(db->env, &info);
    used = info.me_last_pgno + 1;
    if (used + len / db->page_size + 4 + reserve <= pages)
        return 1;
    /* A write transaction may not read the free list: a read transaction
     * begun while the caller holds the write lock sees the same state. */
    if (read_begin(db, &txn, &slot) != MDB_SUCCESS)
        return 0;
    if (mdb_cursor_open(txn, 0 /* LMDB's free list */, &cur) != MDB_SUCCESS) {
        read_end(txn, slot);
        return 0;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && n < FREE_SCAN;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
        size_t count;
        if (v.mv_size < sizeof(count))
            continue;
        memcpy(&count, v.mv_data, sizeof(count)); /* an IDL: its length first */
        free_pages += count;
    }
    mdb_cursor_close(cur);
    read_end(txn, slot);
    if (n >= FREE_SCAN)
        return 1;
    used = used > free_pages ? used - free_pages : 0;
    return used + len / db->page_size + 4 + reserve <= pages;
}

apr_status_t flexsaml_lmdb_put(flexsaml_lmdb *db, const void *key, apr_size_t klen,
                               apr_time_t expiry, const void *val, apr_size_t len)
{
    MDB_val k = {klen, (void *)key};
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != MDB_SUCCESS)
        return status_of(rc);
    if (!room_for(db, klen + len))
        return finish(txn, MDB_MAP_FULL);
    return finish(txn, write_entry(db, txn, &k, expiry, val, len));
}

apr_status_t flexsaml_lmdb_once(flexsaml_lmdb *db, const void *key, apr_size_t klen,
                                apr_time_t expiry, apr_time_t now)
{
    MDB_val k = {klen, (void *)key}, v;
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != MDB_SUCCESS)
        return status_of(rc);
    rc = mdb_get(txn, db->dbi, &k, &v);
    if (rc == MDB_SUCCESS && live(&v, now))
        rc = MDB_KEYEXIST;
    else if ((rc == MDB_SUCCESS || rc == MDB_NOTFOUND) && !room_for(db, klen))
        rc = MDB_MAP_FULL;
    else if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND)
        rc = write_entry(db, txn, &k, expiry, NULL, 0); /* an expired marker is replaced */
    return finish(txn, rc);
}

apr_status_t flexsaml_lmdb_replace(flexsaml_lmdb *db, const void *key, apr_size_t klen,
                                   apr_time_t expiry, const void *val, apr_size_t len,
                                   apr_time_t now)
{
    MDB_val k = {klen, (void *)key}, v;
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != MDB_SUCCESS)
        return status_of(rc);
    rc = mdb_get(txn, db->dbi, &k, &v);
    if (rc == MDB_SUCCESS && !live(&v, now))
        rc = MDB_NOTFOUND;
    else if (rc == MDB_SUCCESS && !room_for(db, klen + len))
        rc = MDB_MAP_FULL;
    else if (rc == MDB_SUCCESS)
        rc = write_entry(db, txn, &k, expiry, val, len);
    return finish(txn, rc);
}

apr_status_t flexsaml_lmdb_remove(flexsaml_lmdb *db, const void *key, apr_size_t klen)
{
    MDB_val k = {klen, (void *)key};
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != MDB_SUCCESS)
        return status_of(rc);
    return finish(txn, mdb_del(txn, db->dbi, &k, NULL));
}

apr_status_t flexsaml_lmdb_sweep(flexsaml_lmdb *db, apr_time_t now, unsigned int batch,
                                 unsigned int *removed, int *done)
{
    MDB_val k = {db->sweep_from_len, db->sweep_from}, v;
    MDB_cursor *cur;
    MDB_txn *txn;
    unsigned int seen = 0;
    int rc;

    *removed = 0;
    *done = 0;
    if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != MDB_SUCCESS)
        return status_of(rc);
    if ((rc = mdb_cursor_open(txn, db->dbi, &cur)) != MDB_SUCCESS)
        return finish(txn, rc);
    rc = db->sweep_from_len ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                            : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == MDB_SUCCESS && seen++ < batch) {
        if (!live(&v, now) &&
            (k.mv_size != sizeof(LEASE_KEY) - 1 || memcmp(k.mv_data, LEASE_KEY, k.mv_size) != 0)) {
            if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
                break;
            (*removed)++;
        }
        /* After a delete MDB_NEXT yields the entry that took its place. */
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_SUCCESS && k.mv_size <= sizeof(db->sweep_from)) {
        /* Resume at this key next time: it was not looked at yet. */
        memcpy(db->sweep_from, k.mv_data, k.mv_size);
        db->sweep_from_len = k.mv_size;
    } else if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) {
        db->sweep_from_len = 0;
        *done = 1;
        rc = MDB_SUCCESS;
    }
    mdb_cursor_close(cur);
    return finish(txn, rc);
}

/* The lease's holder, or 0 when it is absent or expired at now. */
static apr_uint64_t lease_holder(flexsaml_lmdb *db, MDB_txn *txn, apr_time_t now)
{
    MDB_val k = {sizeof(LEASE_KEY) - 1, LEASE_KEY}, v;
    apr_uint64_t holder = 0;

    if (mdb_get(txn, db->dbi, &k, &v) == MDB_SUCCESS && live(&v, now) &&
        v.mv_size == FLEXSAML_LMDB_HEADER + sizeof(holder))
        memcpy(&holder, (const char *)v.mv_data + FLEXSAML_LMDB_HEADER, sizeof(holder));
    return holder;
}

int flexsaml_lmdb_lease(flexsaml_lmdb *db, apr_uint64_t owner, apr_time_t now, apr_time_t ttl)
{
    MDB_val k = {sizeof(LEASE_KEY) - 1, LEASE_KEY};
    MDB_txn *txn;
    apr_uint64_t holder;

    if (mdb_txn_begin(db->env, NULL, 0, &txn) != MDB_SUCCESS)
        return 0;
    holder = lease_holder(db, txn, now);
    if (holder && holder != owner) {
        mdb_txn_abort(txn);
        return 0;
    }
    return finish(txn, write_entry(db, txn, &k, now + ttl, &owner, sizeof(owner))) == APR_SUCCESS;
}

void flexsaml_lmdb_lease_release(flexsaml_lmdb *db, apr_uint64_t owner)
{
    MDB_val k = {sizeof(LEASE_KEY) - 1, LEASE_KEY};
    MDB_txn *txn;

    if (mdb_txn_begin(db->env, NULL, 0, &txn) != MDB_SUCCESS)
        return;
    if (lease_holder(db, txn, apr_time_now()) == owner)
        finish(txn, mdb_del(txn, db->dbi, &k, NULL));
    else
        mdb_txn_abort(txn);
}

int flexsaml_lmdb_reader_check(flexsaml_lmdb *db)
{
    int dead = 0;
    mdb_reader_check(db->env, &dead);
    return dead;
}

apr_status_t flexsaml_lmdb_sync(flexsaml_lmdb *db)
{
    return status_of(mdb_env_sync(db->env, 1));
}

/* The backend interface (store_backend.h) over the functions above. */
static apr_status_t ops_get(void *b, const void *key, apr_size_t klen, apr_time_t now,
                            apr_pool_t *p, const char **val, apr_size_t *len)
{
    return flexsaml_lmdb_get(b, key, klen, now, p, val, len);
}

static apr_status_t ops_put(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                            const void *val, apr_size_t len, apr_pool_t *p)
{
    (void)p;
    return flexsaml_lmdb_put(b, key, klen, expiry, val, len);
}

static apr_status_t ops_once(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                             apr_time_t now, apr_pool_t *p)
{
    (void)p;
    return flexsaml_lmdb_once(b, key, klen, expiry, now);
}

static apr_status_t ops_replace(void *b, const void *key, apr_size_t klen, apr_time_t expiry,
                                const void *val, apr_size_t len, apr_time_t now, apr_pool_t *p)
{
    (void)p;
    return flexsaml_lmdb_replace(b, key, klen, expiry, val, len, now);
}

static apr_status_t ops_remove(void *b, const void *key, apr_size_t klen, apr_pool_t *p)
{
    (void)p;
    return flexsaml_lmdb_remove(b, key, klen);
}

/* A whole pass, in batches of 1000 entries: each batch its own write
 * transaction, so a login waits for one batch at most. */
static apr_status_t ops_sweep(void *b, apr_time_t now, unsigned int *removed)
{
    unsigned int n;
    int done = 0;
    apr_status_t rv = APR_SUCCESS;

    *removed = 0;
    while (!done && (rv = flexsaml_lmdb_sweep(b, now, 1000, &n, &done)) == APR_SUCCESS)
        *removed += n;
    return rv;
}

const flexsaml_store_ops flexsaml_lmdb_ops = {"lmdb",     ops_get,   ops_put,    ops_once,
                                              ops_remove, ops_sweep, ops_replace};
