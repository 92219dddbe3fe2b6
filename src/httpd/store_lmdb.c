/*
 * The lmdb backend in httpd: "lmdb[:<directory>[(<size>)]]". The directory
 * is made at startup by root and given to the User of the children; each
 * child opens the environment after the fork (LMDB forbids carrying one
 * across it) and runs a sweeper thread that, while it holds the lease kept in
 * the database, removes expired entries in small batches and flushes commits
 * to disk. Virtual hosts naming the same directory share one environment per
 * child.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "unixd.h"
#include "apr_strings.h"
#include "apr_file_io.h"

#include "child_thread.h"
#include "flexsaml_glue.h"
#include "lmdb_store.h"
#include "store_driver.h"

#define DEFAULT_DIR "flexsaml-lmdb"
#define MIN_SIZE ((apr_int64_t)64 * 1024)
#define SWEEP_INTERVAL apr_time_from_sec(60)
#define LEASE_TTL apr_time_from_sec(150) /* outlives a pass and a sleep */

typedef struct {
    const char *dir;
    apr_size_t size;
    unsigned int max_readers;
} lmdb_cfg;

/* One per directory per child, in the child pool's userdata. */
typedef struct {
    flexsaml_lmdb *db;
    server_rec *s;
} lmdb_child;

/* "512M", "2G", "1073741824": bytes, or -1. */
static apr_int64_t parse_size(const char *v)
{
    char *end;
    apr_int64_t n;

    errno = 0;
    n = apr_strtoi64(v, &end, 10);
    if (errno != 0 || end == v)
        return -1;
    switch (*end) {
    case 'k':
    case 'K':
        n *= 1024;
        end++;
        break;
    case 'm':
    case 'M':
        n *= 1024 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        n *= (apr_int64_t)1024 * 1024 * 1024;
        end++;
        break;
    default:
        break;
    }
    return *end || n < MIN_SIZE ? -1 : n;
}

static const char *lmdb_create(apr_pool_t *p, const char *name, const char *arg,
                               const flexsaml_store_opts *opts, void **ctx, flexsaml_key_form *form)
{
    lmdb_cfg *c = apr_pcalloc(p, sizeof(*c));
    const char *open = arg ? strchr(arg, '(') : NULL;

    (void)name;
    (void)opts; /* store.c refuses one for any backend but redis */
    *form = FLEXSAML_KEY_BINARY;
    c->size = FLEXSAML_LMDB_DEFAULT_SIZE;
    if (open) {
        apr_int64_t n;
        const char *close = strchr(open, ')');
        if (!close || close[1])
            return "expected lmdb:<directory>(<size>), e.g. lmdb:/var/cache/apache2/"
                   "mod_flexsaml(1G)";
        n = parse_size(apr_pstrmemdup(p, open + 1, (apr_size_t)(close - open - 1)));
        if (n < 0 || (apr_uint64_t)n > APR_SIZE_MAX)
            return "the size is a number of bytes (at least 65536), with K, M or G after it";
        c->size = (apr_size_t)n;
        arg = apr_pstrmemdup(p, arg, (apr_size_t)(open - arg));
    }
    if (arg && !*arg)
        arg = NULL;
    if (arg && arg[0] != '/')
        return "the lmdb directory must be an absolute path";
    c->dir = arg ? apr_pstrdup(p, arg) : ap_runtime_dir_relative(p, DEFAULT_DIR);
    if (!c->dir)
        return "DefaultRuntimeDir gives no directory for lmdb";
    *ctx = c;
    return NULL;
}

/* Every thread of every process may hold a reader slot: a child's workers,
 * its sweeper and a few others, for as many children as the MPM can run at
 * once (ServerLimit, old children finishing a graceful restart included). */
static unsigned int reader_slots(void)
{
    int threads = 1, daemons = 1;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons) != APR_SUCCESS || daemons < 1)
        daemons = 16;
    return (unsigned int)((threads + 4) * daemons + 126);
}

/* Root makes the directory and hands it (and any files a root-run tool left
 * in it) to the User the children run as, who create and write the files. */
static apr_status_t lmdb_init(void *ctx, server_rec *s, apr_pool_t *pconf)
{
    lmdb_cfg *c = ctx;
    static const char *const files[] = {"", "/data.mdb", "/lock.mdb"};
    apr_status_t rv;
    unsigned int i;

    c->max_readers = reader_slots();
    rv = apr_dir_make_recursive(c->dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE,
                                pconf);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "flexsaml: FlexSAMLSessionCache lmdb: cannot create the directory %s", c->dir);
        return rv;
    }
    if (geteuid() != 0)
        return APR_SUCCESS;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *f = apr_pstrcat(pconf, c->dir, files[i], NULL);
        if (chown(f, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0 && errno != ENOENT) {
            rv = APR_FROM_OS_ERROR(errno);
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "flexsaml: FlexSAMLSessionCache lmdb: cannot give %s to the User of "
                         "the children",
                         f);
            return rv;
        }
    }
    return APR_SUCCESS;
}

static void sweep_once(void *data)
{
    lmdb_child *lc = data;
    apr_time_t now = apr_time_now();
    unsigned int removed = 0;
    int dead = flexsaml_lmdb_reader_check(lc->db);
    apr_status_t rv;

    if (dead)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, lc->s,
                     "flexsaml: lmdb: freed %d reader slot(s) of processes that died", dead);
    if (!flexsaml_lmdb_lease(lc->db, (apr_uint64_t)getpid(), now, LEASE_TTL))
        return; /* another child sweeps */
    rv = flexsaml_lmdb_ops.sweep(lc->db, now, &removed);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, lc->s,
                     "flexsaml: lmdb: the sweep of expired entries stopped");
    else if (removed)
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, lc->s, "flexsaml: lmdb: swept %u expired entries",
                     removed);
    flexsaml_lmdb_sync(lc->db);
}

/* A child that ends gives the lease back, so that the next child (after a
 * restart, say) sweeps at once instead of waiting out the lease. */
static apr_status_t release_lease(void *data)
{
    lmdb_child *lc = data;
    flexsaml_lmdb_lease_release(lc->db, (apr_uint64_t)getpid());
    return APR_SUCCESS;
}

static apr_status_t lmdb_child_init(void *ctx, server_rec *s, apr_pool_t *pchild, void **b)
{
    lmdb_cfg *c = ctx;
    const char *key = apr_pstrcat(pchild, "flexsaml-lmdb:", c->dir, NULL);
    lmdb_child *lc = NULL;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&lc, key, pchild);
    if (lc) {
        *b = lc->db;
        return APR_SUCCESS;
    }
    lc = apr_pcalloc(pchild, sizeof(*lc));
    lc->s = s;
    rv = flexsaml_lmdb_open(pchild, c->dir, c->size, c->max_readers, &lc->db);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "flexsaml: FlexSAMLSessionCache lmdb:%s cannot be opened (the directory "
                     "must be writable by the User of the children)",
                     c->dir);
        return rv;
    }
    /* A child killed while reading left its slot taken. */
    flexsaml_lmdb_reader_check(lc->db);
    apr_pool_cleanup_register(pchild, lc, release_lease, apr_pool_cleanup_null);
    /* Started after the environment was opened in the same pool, so it is
     * joined before the environment closes. The first sweep runs at once:
     * a restart is when the most entries have expired unseen. */
    if ((rv = flexsaml_child_thread_start(pchild, 0, SWEEP_INTERVAL, sweep_once, lc)) !=
        APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "flexsaml: lmdb: no sweeper thread in this child; expired entries stay "
                     "until another child sweeps");
    apr_pool_userdata_set(lc, key, apr_pool_cleanup_null, pchild);
    *b = lc->db;
    return APR_SUCCESS;
}

static const char *lmdb_full_hint(void *ctx, apr_pool_t *p)
{
    lmdb_cfg *c = ctx;
    apr_size_t want = c->size * 2;
    const char *unit = "M";
    apr_size_t shown = want >> 20;

    if (want >= ((apr_size_t)1 << 30) && want % ((apr_size_t)1 << 30) == 0) {
        unit = "G";
        shown = want >> 30;
    } else if (shown == 0) {
        unit = "K";
        shown = want >> 10;
    }
    return apr_psprintf(p,
                        "lmdb:%s(%" APR_SIZE_T_FMT ") is full at %" APR_SIZE_T_FMT
                        " bytes; raise the size in FlexSAMLSessionCache lmdb:%s(%" APR_SIZE_T_FMT
                        "%s)",
                        c->dir, c->size, c->size, c->dir, shown, unit);
}

const flexsaml_store_driver flexsaml_lmdb_driver = {
    &flexsaml_lmdb_ops, lmdb_create, lmdb_init, lmdb_child_init, lmdb_full_hint, NULL, NULL};
