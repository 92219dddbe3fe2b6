/*
 * The Apache configuration reader of the tool, split by job: apache_conf.c
 * reads httpd's syntax (lines, quotes, Define, Include, sections);
 * conf_flexsaml.c hands the FlexSAML directives to the settings model of the
 * core (settings.h) and merges servers with it, as the module does. This header is what they share.
 */
#ifndef FLEXSAML_TOOL_APACHE_CONF_H
#define FLEXSAML_TOOL_APACHE_CONF_H

#include <apr_hash.h>

#include "tool.h"

#define CONF_UNSET -1
#define MAX_SECTIONS 64

typedef enum { SEC_OTHER, SEC_VHOST, SEC_DIR, SEC_SKIP } sec_kind;

typedef struct {
    const char *name; /* lower-case, without '<' */
    sec_kind kind;
} section;

/* One server as written: CONF_UNSET/NULL where it says nothing. */
typedef struct {
    tool_server s;
    const char *vhost_port; /* from <VirtualHost addr:port> */
    int ssl;                /* CONF_UNSET, 0, 1 */
} raw_server;

typedef struct {
    apr_pool_t *p;
    const char *server_root;
    apr_hash_t *defines;      /* name -> value */
    apr_array_header_t *raws; /* raw_server *; [0] is the main server */
    raw_server *cur;
    section stack[MAX_SECTIONS];
    int nsec;
    int skip; /* > 0 while inside a section whose condition is false */
    int include_depth;
    int files;
    apr_array_header_t *problems; /* configuration-wide problems */
} conf_reader;

/* A problem of the configuration, with its file and line. */
void conf_problem(conf_reader *r, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* path, relative to the ServerRoot unless absolute (ap_server_root_relative). */
const char *conf_root_relative(conf_reader *r, const char *path);

/* conf_flexsaml.c */
/* A new server (the main one first, then one per <VirtualHost>), unset. */
raw_server *conf_raw_new(conf_reader *r);
/* One FlexSAML* directive of the current server. */
void conf_flexsaml_directive(conf_reader *r, const char *file, int line, const char *name,
                             apr_array_header_t *args);
/* A virtual host merged with the main server, defaults applied. */
tool_server *conf_merge(apr_pool_t *p, const raw_server *base, const raw_server *add,
                        const char *root_file);

#endif
