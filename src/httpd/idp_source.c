/*
 * Where the IdP description comes from: the three Flex fields, a metadata
 * file, or Okta's metadata URL. A URL is fetched at startup (falling back to
 * the last good copy on disk), and refreshed in the background by one thread
 * per child: a new document is taken only if it parses and names the
 * configured issuer, and the new Lasso server is swapped in while requests
 * in flight finish on the old one, so no login fails across a rotation.
 */
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "http_core.h"
#include "apr_strings.h"
#include "apr_file_io.h"
#include "apr_thread_proc.h"
#include "apr_thread_cond.h"
#include "apr_atomic.h"
#include "apr_uri.h"
#include <curl/curl.h>

#include "flexsaml_glue.h"
#include "file.h"
#include "runtime.h"
#include "idp_source.h"
#include "child_thread.h"
#include "okta.h"

#define MAX_METADATA (4 * 1024 * 1024)
#define FETCH_TIMEOUT 15L

typedef struct {
    char *buf;
    apr_size_t len, cap;
} body_buf;

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    body_buf *b = userdata;
    size_t add = size * n;
    char *nb;

    if (b->len + add > MAX_METADATA)
        return 0;
    if (b->len + add + 1 > b->cap) {
        b->cap = (b->len + add + 1) * 2;
        nb = realloc(b->buf, b->cap);
        if (!nb)
            return 0;
        b->buf = nb;
    }
    memcpy(b->buf + b->len, data, add);
    b->len += add;
    b->buf[b->len] = '\0';
    return add;
}

/* GET url with certificate verification (ca: a CA file, or the system's). */
static const char *fetch(apr_pool_t *p, const char *url, const char *ca, const char **out,
                         apr_size_t *len)
{
    CURL *h = curl_easy_init();
    body_buf b = {NULL, 0, 0};
    char err[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode rc;
    const char *msg = NULL;

    if (!h)
        return "cannot create an HTTP client";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, FETCH_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK)
        msg = apr_psprintf(p, "fetch failed: %s", *err ? err : curl_easy_strerror(rc));
    else if (status != 200)
        msg = apr_psprintf(p, "fetch answered HTTP %ld", status);
    else if (!b.buf)
        msg = "fetch returned an empty document";
    if (!msg) {
        *out = apr_pstrmemdup(p, b.buf, b.len);
        *len = b.len;
    }
    free(b.buf);
    return msg;
}

/* A document is taken only if it parses and names the configured issuer. */
static const char *accept_metadata(apr_pool_t *p, const flexsaml_srv_cfg *c, const char *xml,
                                   apr_size_t len, flexsaml_idp **idp)
{
    const char *err = flexsaml_idp_from_metadata(p, xml, len, idp);
    if (err)
        return err;
    if (strcmp((*idp)->entity_id, c->idp_issuer) != 0)
        return apr_psprintf(p, "the metadata names the issuer %s, not FlexSAMLIdPIssuer %s",
                            (*idp)->entity_id, c->idp_issuer);
    return NULL;
}

/* Whoever can change the cache chooses the IdP's signing key the next time
 * the URL is down, and whoever can write a folder on its path can swap the
 * file or the folder itself (between the check and the read) or point a
 * name elsewhere: the cache is used only when the file and every folder
 * above it belong to the user writing it (or root) and nobody else can write
 * them; a root-owned sticky folder such as /tmp lets nobody rename what is
 * not theirs. NULL when it can be trusted, else why not. */
static const char *cache_untrusted(apr_pool_t *p, const char *path)
{
    char *dir = apr_pstrdup(p, path), *slash = strrchr(dir, '/');
    struct stat st;
    uid_t me = geteuid();
    int first = 1;

    if (!slash || *path != '/')
        return "is not an absolute path";
    for (;;) {
        *(slash == dir ? slash + 1 : slash) = '\0';
        if (stat(dir, &st) != 0)
            return apr_psprintf(p, "is in %s, which does not exist", dir);
        if ((st.st_uid != me && st.st_uid != 0) ||
            ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_uid == 0 && (st.st_mode & S_ISVTX))))
            return apr_psprintf(p,
                                "is in %s, %s others can write (a user that can write there "
                                "could plant its own signing key, or make this server overwrite "
                                "another file): make it root's, mode 755",
                                dir, first ? "which" : "a folder above it that");
        first = 0;
        if (slash == dir)
            break;
        slash = strrchr(dir, '/');
    }
    if (lstat(path, &st) != 0)
        return NULL; /* not written yet */
    if (!S_ISREG(st.st_mode) || (st.st_uid != me && st.st_uid != 0) ||
        (st.st_mode & (S_IWGRP | S_IWOTH)))
        return "is not a regular file that only root can write (left by an older version, "
               "whose children wrote it?): remove it, and root writes it again at the next start";
    return NULL;
}

/* Written by the parent alone, at startup and restarts (the children keep
 * refreshed documents in memory): a fresh temporary name (O_EXCL, so no name
 * planted in advance is followed), then an atomic rename. */
static void write_cache(apr_pool_t *p, server_rec *s, const char *path, const char *xml,
                        apr_size_t len)
{
    char *tmp = apr_pstrcat(p, path, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_status_t rv;

    rv = apr_file_mktemp(&f, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_write_full(f, xml, len, NULL);
        apr_file_close(f);
        if (rv == APR_SUCCESS)
            rv = apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD |
                                             APR_FPROT_WREAD);
        if (rv == APR_SUCCESS || rv == APR_ENOTIMPL)
            rv = apr_file_rename(tmp, path, p);
        if (rv != APR_SUCCESS)
            apr_file_remove(tmp, p);
    }
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "flexsaml: FlexSAMLIdPMetadataCache %s cannot be written", path);
}

static int loopback(const char *host)
{
    return host && (!strcmp(host, "127.0.0.1") || !strcasecmp(host, "localhost") ||
                    !strcmp(host, "::1") || !strcmp(host, "[::1]"));
}

/* Whoever answers the URL chooses the IdP's signing key: https only, but
 * for a test IdP on loopback. */
static const char *check_url(apr_pool_t *p, server_rec *s, const char *url)
{
    apr_uri_t u;

    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme || !u.hostname)
        return "is not a URL; use Okta's https metadata URL";
    if (!strcasecmp(u.scheme, "https"))
        return NULL;
    if (!strcasecmp(u.scheme, "http") && loopback(u.hostname)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                     "flexsaml: FlexSAMLIdPMetadataURL %s is plain http on loopback: for tests "
                     "only, Okta's metadata URL is https",
                     url);
        return NULL;
    }
    return "must be https: whoever answers a plain http URL chooses the IdP's signing key "
           "(plain http is accepted only on 127.0.0.1, for tests)";
}

static int load_from_url(apr_pool_t *p, server_rec *s, flexsaml_srv_cfg *c, flexsaml_idp **idp)
{
    const char *xml = NULL, *err, *cache_err = NULL, *cache = c->idp_metadata_cache;
    apr_size_t len = 0;

    if (!c->idp_issuer)
        FLEXSAML_CONFIG_FAIL(s,
                             "FlexSAMLIdPMetadataURL %s needs FlexSAMLIdPIssuer: a refreshed "
                             "document is accepted only when it names that issuer",
                             c->idp_metadata_url);
    if ((err = check_url(p, s, c->idp_metadata_url)) != NULL)
        FLEXSAML_CONFIG_FAIL(s, "FlexSAMLIdPMetadataURL %s %s", c->idp_metadata_url, err);
    if (cache && (cache_err = cache_untrusted(p, cache)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                     "flexsaml: FlexSAMLIdPMetadataCache %s %s; it is neither written nor "
                     "trusted",
                     cache, cache_err);
        cache = NULL;
    }
    err = fetch(p, c->idp_metadata_url, c->idp_metadata_ca, &xml, &len);
    if (!err && !(err = accept_metadata(p, c, xml, len, idp))) {
        if (cache)
            write_cache(p, s, cache, xml, len);
        return OK;
    }
    /* Without the network, the last good copy keeps the site working. */
    if (cache && !(cache_err = flexsaml_read_file(p, cache, MAX_METADATA, &xml, &len)) &&
        !(cache_err = accept_metadata(p, c, xml, len, idp))) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                     "flexsaml: FlexSAMLIdPMetadataURL %s: %s; using the copy in "
                     "FlexSAMLIdPMetadataCache %s",
                     c->idp_metadata_url, err, c->idp_metadata_cache);
        return OK;
    }
    FLEXSAML_CONFIG_FAIL(s, "FlexSAMLIdPMetadataURL %s: %s%s%s", c->idp_metadata_url, err,
                         cache_err ? "; FlexSAMLIdPMetadataCache: " : "",
                         cache_err ? cache_err : "");
}

/* What a certificate file holds when it is not PEM text, said in words: an
 * empty file, or DER (binary) with the command that converts it. */
static const char *cert_file_shape(apr_pool_t *p, const char *path, const char *data,
                                   apr_size_t len)
{
    apr_size_t i;

    for (i = 0;
         i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'); i++)
        ;
    if (i == len)
        return "is empty: paste the X.509 Certificate of Okta's \"View SAML setup "
               "instructions\" page into it, with its BEGIN and END lines";
    if (len > 1 && (unsigned char)data[0] == 0x30 && (unsigned char)data[1] >= 0x80)
        return apr_psprintf(p,
                            "is a DER (binary) certificate; the module reads PEM: convert it "
                            "with openssl x509 -inform DER -in %s -out %s.pem and point "
                            "FlexSAMLIdPCertificateFile at the .pem",
                            path, path);
    return NULL;
}

int flexsaml_idp_load(apr_pool_t *p, server_rec *s, flexsaml_srv_cfg *c, flexsaml_idp **idp)
{
    const char *err, *data;
    int fields = (c->idp_cert_file != NULL) + (c->idp_sso_url != NULL);
    int sources = (c->idp_metadata_file != NULL) + (c->idp_metadata_url != NULL);
    apr_size_t len;
    const char *where = c->where ? c->where : s->defn_name;

    if (sources > 1 || (sources && fields))
        FLEXSAML_CONFIG_FAIL(s,
                             "%s: the IdP is given twice: use FlexSAMLIdPMetadataFile, "
                             "FlexSAMLIdPMetadataURL (with FlexSAMLIdPIssuer), or the three "
                             "fields FlexSAMLIdPCertificateFile, FlexSAMLIdPSSOURL and "
                             "FlexSAMLIdPIssuer, not both",
                             where);
    if (c->idp_metadata_url)
        return load_from_url(p, s, c, idp);
    if (c->idp_metadata_file) {
        if ((err = flexsaml_read_file(p, c->idp_metadata_file, MAX_METADATA, &data, &len)) ||
            (err = flexsaml_idp_from_metadata(p, data, len, idp)))
            FLEXSAML_CONFIG_FAIL(s, "%s: FlexSAMLIdPMetadataFile %s: %s", where,
                                 c->idp_metadata_file, err);
        return OK;
    }
    fields += c->idp_issuer != NULL;
    if (fields == 0)
        FLEXSAML_CONFIG_FAIL(s,
                             "server %s: no IdP configured: set FlexSAMLIdPMetadataFile, or the "
                             "three Okta fields FlexSAMLIdPCertificateFile, FlexSAMLIdPSSOURL and "
                             "FlexSAMLIdPIssuer",
                             s->server_hostname ? s->server_hostname : "(main)");
    if (fields < 3)
        FLEXSAML_CONFIG_FAIL(s, "%s: %s is missing: the three Okta fields go together", where,
                             !c->idp_cert_file ? "FlexSAMLIdPCertificateFile"
                             : !c->idp_sso_url ? "FlexSAMLIdPSSOURL"
                                               : "FlexSAMLIdPIssuer");
    if ((err = flexsaml_read_file(p, c->idp_cert_file, 64 * 1024, &data, &len)))
        FLEXSAML_CONFIG_FAIL(s, "%s: FlexSAMLIdPCertificateFile %s %s", where, c->idp_cert_file,
                             err);
    if ((err = cert_file_shape(p, c->idp_cert_file, data, len)))
        FLEXSAML_CONFIG_FAIL(s, "%s: FlexSAMLIdPCertificateFile %s %s", where, c->idp_cert_file,
                             err);
    if ((err = flexsaml_idp_from_fields(p, data, c->idp_sso_url, c->idp_issuer, idp)))
        FLEXSAML_CONFIG_FAIL(s,
                             "%s: %s (FlexSAMLIdPCertificateFile %s: paste Okta's X.509 "
                             "Certificate, PEM with its BEGIN/END lines)",
                             where, err, c->idp_cert_file);
    if ((*idp)->certs_b64->nelts > 1)
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                     "flexsaml: %s: FlexSAMLIdPCertificateFile %s holds %d certificates (an Okta "
                     "certificate rotation): responses signed with any of them are trusted; "
                     "remove the old one once Okta signs with the new",
                     where, c->idp_cert_file, (*idp)->certs_b64->nelts);
    if ((err = flexsaml_okta_sso_url_warning(c->idp_sso_url)))
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                     "flexsaml: %s: FlexSAMLIdPSSOURL %s %s", where, c->idp_sso_url, err);
    return OK;
}

void flexsaml_idp_check_expiry(server_rec *s, const flexsaml_srv_cfg *c, const flexsaml_idp *idp)
{
    apr_time_t left = idp->cert_not_after - apr_time_now();

    if (!idp->cert_not_after)
        return;
    if (left <= 0)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "flexsaml: the IdP signing certificate (%s) of %s expired %" APR_TIME_T_FMT
                     " days ago; update it from Okta (SAML Signing Certificates)",
                     idp->cert_subject, idp->entity_id, apr_time_sec(-left) / 86400);
    else if (left < c->cert_expiry_warning)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "flexsaml: the IdP signing certificate (%s) of %s expires in %" APR_TIME_T_FMT
                     " days; rotate it in Okta and update this server before then",
                     idp->cert_subject, idp->entity_id, apr_time_sec(left) / 86400 + 1);
}

/* ---- background refresh, one thread per child ---- */

typedef struct {
    server_rec *s;
    apr_pool_t *pool; /* child lifetime: every Lasso server built lives here */
} refresher;

static void refresh_one(refresher *rf, server_rec *s, flexsaml_srv_cfg *c)
{
    apr_pool_t *tmp, *sp_pool;
    const char *xml, *err;
    apr_size_t len;
    flexsaml_idp *idp;
    flexsaml_sp *sp;

    apr_pool_create(&tmp, rf->pool);
    /* The new SP and its IdP description live in a pool of their own, which
     * the swap destroys once no request holds the SP any more. */
    apr_pool_create(&sp_pool, rf->pool);
    err = fetch(tmp, c->idp_metadata_url, c->idp_metadata_ca, &xml, &len);
    if (!err)
        err = accept_metadata(sp_pool, c, xml, len, &idp);
    if (!err)
        err = flexsaml_sp_create(sp_pool, &c->rt->policy, idp, c->rt->sp_cert_pem,
                                 c->rt->sp_key_pem, &sp);
    if (err) {
        apr_pool_destroy(sp_pool);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "flexsaml: refreshing FlexSAMLIdPMetadataURL %s: %s; keeping the current "
                     "IdP description",
                     c->idp_metadata_url, err);
    } else {
        /* No cache write here: the children run as the Apache user, and a
         * cache that user can write would be trusted at the next start. */
        flexsaml_runtime_swap_sp(c->rt, sp, sp_pool);
        flexsaml_idp_check_expiry(s, c, idp);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "flexsaml: IdP metadata refreshed from %s (%d signing certificate(s))",
                     c->idp_metadata_url, idp->certs_b64->nelts);
    }
    apr_pool_destroy(tmp);
}

static void refresh_all(void *data)
{
    refresher *rf = data;
    server_rec *s;

    for (s = rf->s; s; s = s->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(s);
        if (c->idp_metadata_url && c->rt)
            refresh_one(rf, s, c);
    }
}

void flexsaml_idp_refresh_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_interval_time_t every = 0;
    refresher *rf;
    server_rec *v;
    apr_status_t rv;

    for (v = s; v; v = v->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(v);
        if (c->idp_metadata_url && (!every || c->idp_metadata_refresh < every))
            every = c->idp_metadata_refresh;
    }
    if (!every)
        return;
    rf = apr_pcalloc(pchild, sizeof(*rf));
    rf->s = s;
    rf->pool = pchild;
    if ((rv = flexsaml_child_thread_start(pchild, every, every, refresh_all, rf)) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "flexsaml: cannot start the IdP metadata refresh thread");
}
