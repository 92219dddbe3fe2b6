/*
 * The flexsaml operator tool: what its subcommands share. The tool links the
 * core (libflexsaml_core.a) and never an httpd header; it reads Apache
 * configuration files itself (apache_conf.c).
 */
#ifndef FLEXSAML_TOOL_H
#define FLEXSAML_TOOL_H

#include <stdio.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "flexsaml.h"
#include "flexsaml_sp.h"
#include "settings.h"

/* Exit codes, the same for every subcommand. */
#define TOOL_OK 0
#define TOOL_REFUSED 1   /* inspect: refused; others: the input is unusable */
#define TOOL_USAGE 2     /* bad options, unreadable file */
#define TOOL_UNCHECKED 3 /* inspect: nothing refused, signatures not checked */

/* Largest input file the tool reads: a SAMLResponse the module accepts is
 * at most 192 KiB decoded; configurations and metadata are small. */
#define TOOL_MAX_INPUT (4 * 1024 * 1024)

typedef struct {
    apr_pool_t *p;
    apr_time_t now; /* --now, FLEXSAML_NOW, or the clock */
    const char *prog;
} tool_ctx;

/* ---- subcommands ---- */
int tool_okta_settings(tool_ctx *t, int argc, const char *const *argv);
int tool_idp_fields(tool_ctx *t, int argc, const char *const *argv);
int tool_inspect(tool_ctx *t, int argc, const char *const *argv);

/* ---- util.c ---- */
/* Reads a whole file ("-" is stdin), at most max bytes; NUL-terminated.
 * NULL or a sentence. */
const char *tool_read_file(apr_pool_t *p, const char *path, apr_size_t max, char **out,
                           apr_size_t *len);
/* Writes a file (mode 0644), refusing to replace an existing one. */
const char *tool_write_file(apr_pool_t *p, const char *path, const char *data, apr_size_t len);

/* Untrusted text made printable: control characters, C1 controls, bidi
 * overrides and invalid UTF-8 become \xNN or \u{NNNN}; longer than max
 * bytes is cut with the length said. NULL stays "(none)". */
const char *tool_safe(apr_pool_t *p, const char *s, apr_size_t max);
#define SAFE(t, s) tool_safe((t)->p, (s), 200)

/* "3 min", "45 s", "2 h", "12 days": a rounded-down human duration. */
const char *tool_duration(apr_pool_t *p, apr_interval_time_t d);
/* 2026-01-15T10:00:00Z */
const char *tool_iso_time(apr_pool_t *p, apr_time_t t);

/* Why two URLs (or entity IDs) differ, in words: "a trailing slash",
 * "http instead of https", "the port", "the host", "letter case"...; NULL
 * when they are equal. */
const char *tool_url_difference(apr_pool_t *p, const char *got, const char *want);

/* The Flex role closest to v (Levenshtein distance <= 2), or NULL. */
const char *tool_role_suggestion(const char *v);

/* Option parsing shared by the subcommands: "--name value", "--name=value"
 * and, for single letters, "-n value". Returns 1 and sets *val when argv[*i]
 * is that option (advancing *i past its value), 0 otherwise; *err is set
 * when the value is missing. */
int tool_opt(int argc, const char *const *argv, int *i, const char *lng, char shrt,
             const char **val, const char **err);

/* "-h", "--help" or "help". */
int tool_is_help(const char *a);

/* ---- apache_conf.c: the FlexSAML directives of an Apache configuration ---- */
typedef struct {
    const char *label;       /* "portal.example.com:443", "main server" */
    const char *section;     /* file:line of the <VirtualHost>, or the file */
    const char *server_name; /* ServerName as written, or NULL */
    const char *scheme;      /* "https" when SSLEngine on, port 443 or an https ServerName */
    const char *host;        /* host[:port] for URLs, or NULL */
    int is_vhost;
    int configured; /* FlexSAML applies (any SP or IdP directive) */

    /* The settings as the module has them (settings.h), merged and with
     * the defaults applied; c->settings for the core, c->field here. The
     * tool never opens sp_key_file or reads a passphrase. */
    union {
        flexsaml_settings settings;
        struct {
            FLEXSAML_SETTINGS_FIELDS
        };
    };

    apr_array_header_t *problems; /* const char *: what the reader could not accept */
} tool_server;

typedef struct {
    const char *file;
    const char *server_root;
    apr_array_header_t *defines; /* const char *, -D names */
} tool_conf_opts;

/* Reads the configuration and returns every server (main first, then each
 * <VirtualHost> in order), merged as the module merges them. NULL or a
 * sentence. */
const char *tool_conf_read(apr_pool_t *p, const tool_conf_opts *o, apr_array_header_t **servers);

/* scheme://host of a server, from ServerName, or from its entity ID when it
 * is an URL and ServerName is absent (or the public name comes from a proxy);
 * NULL when none is known. */
const char *tool_server_base(apr_pool_t *p, const tool_server *s);

/* ---- certs.c ---- */
typedef struct {
    const char *b64; /* base64 DER, no whitespace */
    const char *subject;
    const char *issuer;
    const char *sha256; /* AA:BB:... */
    const char *sha1;
    apr_time_t not_before, not_after;
    const char *key; /* "RSA 2048 bits" */
} tool_cert;

/* Reads one certificate, PEM or bare base64. NULL or a sentence. */
const char *tool_cert_read(apr_pool_t *p, const char *pem_or_b64, tool_cert *out);
/* The certificate as PEM, 64 columns. */
const char *tool_cert_pem(apr_pool_t *p, const char *b64);
/* The base64 body of a PEM or bare base64 text, whitespace removed. */
const char *tool_b64_body(apr_pool_t *p, const char *text);
/* Every signing certificate the IdP of s is configured with (tool_cert),
 * and a name for messages; NULL or a sentence. */
const char *tool_server_idp_certs(apr_pool_t *p, const tool_server *s, apr_array_header_t **certs,
                                  const char **source);

#endif
