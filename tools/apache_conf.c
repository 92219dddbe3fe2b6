/*
 * Reads an Apache configuration without httpd, as httpd's own reader does:
 * line continuations, quoting, Define/${VAR}, Include and IncludeOptional
 * (wildcards, directories), <IfDefine>, <IfModule>, <VirtualHost> blocks.
 * FlexSAML directives go to conf_flexsaml.c, which hands them to the core's
 * settings model and merges each virtual host with the main server through
 * it, as the module does, so the tool sees the settings the module would.
 *
 * It is a reader, not a validator: `apachectl -t` remains the judge of a
 * configuration; what this file cannot accept is reported, not fatal.
 */
#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_file_info.h>

#include "apache_conf.h"
#include "parse.h"

#define MAX_INCLUDE_DEPTH 16
#define MAX_FILES 512
/* Debian's compiled-in ServerRoot (apache2 -V: HTTPD_ROOT). */
#define DEFAULT_SERVER_ROOT "/etc/apache2"

void conf_problem(conf_reader *r, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    const char *msg;
    va_start(ap, fmt);
    msg = apr_pvsprintf(r->p, fmt, ap);
    va_end(ap);
    APR_ARRAY_PUSH(r->cur->s.problems, const char *) =
        apr_psprintf(r->p, "%s:%d: %s", tool_safe(r->p, file, 300), line, msg);
}

/* ---- lexing: the rules of ap_cfg_getline and ap_getword_conf ---- */

/* ${NAME} from Define, then from the environment; unknown names stay. */
static const char *expand(conf_reader *r, const char *line)
{
    const char *s = line, *open;
    char *out = "";

    if (!strstr(line, "${"))
        return line;
    while ((open = strstr(s, "${")) != NULL) {
        const char *close = strchr(open + 2, '}');
        const char *name, *val;
        if (!close)
            break;
        name = apr_pstrmemdup(r->p, open + 2, (apr_size_t)(close - open - 2));
        val = apr_hash_get(r->defines, name, APR_HASH_KEY_STRING);
        if (!val)
            val = getenv(name);
        out = apr_pstrcat(r->p, out, apr_pstrmemdup(r->p, s, (apr_size_t)(open - s)),
                          val ? val : apr_pstrmemdup(r->p, open, (apr_size_t)(close - open + 1)),
                          NULL);
        s = close + 1;
    }
    return apr_pstrcat(r->p, out, s, NULL);
}

static apr_array_header_t *words(apr_pool_t *p, const char *line)
{
    apr_array_header_t *w = apr_array_make(p, 4, sizeof(const char *));
    const char *s = line;

    for (;;) {
        char *word, *o;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        word = o = apr_palloc(p, strlen(s) + 1);
        if (*s == '"' || *s == '\'') {
            char q = *s++;
            while (*s && *s != q) {
                if (*s == '\\' && s[1] == q)
                    s++;
                *o++ = *s++;
            }
            if (*s)
                s++;
        } else {
            while (*s && *s != ' ' && *s != '\t')
                *o++ = *s++;
        }
        *o = '\0';
        APR_ARRAY_PUSH(w, const char *) = word;
    }
    return w;
}

#define ARG(i) APR_ARRAY_IDX(args, i, const char *)

const char *conf_root_relative(conf_reader *r, const char *path)
{
    return flexsaml_root_relative(r->p, r->server_root, path);
}

static void read_path(conf_reader *r, const char *file, int line, const char *pattern,
                      int optional);

static int known_define(conf_reader *r, const char *arg)
{
    int neg = arg[0] == '!';
    int def = apr_hash_get(r->defines, arg + neg, APR_HASH_KEY_STRING) != NULL;
    return neg ? !def : def;
}

static void open_section(conf_reader *r, const char *file, int line, const char *tag,
                         apr_array_header_t *args)
{
    section sec;
    char *name = apr_pstrdup(r->p, tag + 1);
    apr_size_t n;

    for (char *c = name; *c; c++)
        *c = (char)apr_tolower(*c);
    if (r->nsec >= MAX_SECTIONS) {
        conf_problem(r, file, line, "sections nested too deeply");
        r->skip++;
        return;
    }
    /* The last argument carries the closing '>'. */
    if (args->nelts) {
        char *last = apr_pstrdup(r->p, ARG(args->nelts - 1));
        n = strlen(last);
        if (n && last[n - 1] == '>')
            last[n - 1] = '\0';
        APR_ARRAY_IDX(args, args->nelts - 1, const char *) = last;
        if (!*last)
            apr_array_pop(args);
    } else if ((n = strlen(name)) && name[n - 1] == '>') {
        name[n - 1] = '\0';
    }
    sec.name = name;
    sec.kind = SEC_OTHER;
    if (r->skip) {
        sec.kind = SEC_SKIP;
    } else if (!strcmp(name, "virtualhost")) {
        raw_server *vh;
        if (r->cur != APR_ARRAY_IDX(r->raws, 0, raw_server *)) {
            conf_problem(r, file, line, "<VirtualHost> inside <VirtualHost>");
            sec.kind = SEC_SKIP;
        } else {
            const char *addr = args->nelts ? ARG(0) : "";
            const char *colon = strrchr(addr, ':');
            vh = conf_raw_new(r);
            vh->s.is_vhost = 1;
            vh->s.section = apr_psprintf(r->p, "%s:%d", file, line);
            vh->s.label = addr;
            if (colon && colon[1] != '*' && colon[1] && !strchr(colon, ']'))
                vh->vhost_port = colon + 1;
            r->cur = vh;
            sec.kind = SEC_VHOST;
        }
    } else if (!strcmp(name, "ifdefine")) {
        if (!args->nelts || !known_define(r, ARG(0)))
            sec.kind = SEC_SKIP;
    } else if (!strcmp(name, "ifmodule") || !strcmp(name, "ifdirective") ||
               !strcmp(name, "ifsection")) {
        /* Which modules httpd loads is not known here: assume the module is
         * there, so a negated test is the one skipped. */
        if (args->nelts && ARG(0)[0] == '!')
            sec.kind = SEC_SKIP;
    } else if (!strcmp(name, "iffile")) {
        struct stat st;
        int neg = args->nelts && ARG(0)[0] == '!';
        int exists = args->nelts && stat(conf_root_relative(r, ARG(0) + neg), &st) == 0;
        if (!args->nelts || exists == neg)
            sec.kind = SEC_SKIP;
    } else if (!strcmp(name, "macro")) {
        /* A macro body is a template: its directives apply where it is
         * Use'd, which this reader does not follow. */
        sec.kind = SEC_SKIP;
    } else if (strcmp(name, "ifversion") != 0) {
        /* <Directory>, <Location>, <Files>, <If>, <Proxy>, <Limit>... */
        sec.kind = SEC_DIR;
    }
    if (sec.kind == SEC_SKIP)
        r->skip++;
    r->stack[r->nsec++] = sec;
}

static void close_section(conf_reader *r, const char *file, int line, const char *tag)
{
    char *name = apr_pstrdup(r->p, tag + 2);
    apr_size_t n = strlen(name);
    section sec;

    if (n && name[n - 1] == '>')
        name[n - 1] = '\0';
    for (char *c = name; *c; c++)
        *c = (char)apr_tolower(*c);
    if (!r->nsec) {
        conf_problem(r, file, line, "</%s> without an opening section", tool_safe(r->p, name, 40));
        return;
    }
    sec = r->stack[--r->nsec];
    if (strcmp(sec.name, name) != 0)
        conf_problem(r, file, line, "</%s> closes <%s>", tool_safe(r->p, name, 40),
                     tool_safe(r->p, sec.name, 40));
    if (sec.kind == SEC_SKIP)
        r->skip--;
    else if (sec.kind == SEC_VHOST)
        r->cur = APR_ARRAY_IDX(r->raws, 0, raw_server *);
}

static void directive(conf_reader *r, const char *file, int line, const char *text)
{
    apr_array_header_t *all = words(r->p, expand(r, text));
    apr_array_header_t *args = apr_array_make(r->p, all->nelts, sizeof(const char *));
    const char *name;
    int i;

    if (!all->nelts)
        return;
    name = APR_ARRAY_IDX(all, 0, const char *);
    for (i = 1; i < all->nelts; i++)
        APR_ARRAY_PUSH(args, const char *) = APR_ARRAY_IDX(all, i, const char *);
    if (name[0] == '<' && name[1] == '/') {
        close_section(r, file, line, name);
        return;
    }
    if (name[0] == '<') {
        open_section(r, file, line, name, args);
        return;
    }
    if (r->skip)
        return;
    if (!strncasecmp(name, "FlexSAML", 8)) {
        conf_flexsaml_directive(r, file, line, name, args);
    } else if (!strcasecmp(name, "ServerRoot") && args->nelts) {
        r->server_root = ARG(0);
    } else if (!strcasecmp(name, "Define") && args->nelts) {
        apr_hash_set(r->defines, ARG(0), APR_HASH_KEY_STRING, args->nelts > 1 ? ARG(1) : "");
    } else if (!strcasecmp(name, "UnDefine") && args->nelts) {
        apr_hash_set(r->defines, ARG(0), APR_HASH_KEY_STRING, NULL);
    } else if ((!strcasecmp(name, "Include") || !strcasecmp(name, "IncludeOptional")) &&
               args->nelts) {
        read_path(r, file, line, ARG(0), !strcasecmp(name, "IncludeOptional"));
    } else if (!strcasecmp(name, "ServerName") && args->nelts) {
        r->cur->s.server_name = ARG(0);
    } else if (!strcasecmp(name, "SSLEngine") && args->nelts) {
        r->cur->ssl = !strcasecmp(ARG(0), "on") || !strcasecmp(ARG(0), "optional");
    }
}

static void read_file(conf_reader *r, const char *path)
{
    char *data, *s;
    const char *err;
    int lineno = 0, start_sec = r->nsec;

    if (++r->files > MAX_FILES) {
        if (r->files == MAX_FILES + 1)
            APR_ARRAY_PUSH(r->problems, const char *) = apr_psprintf(
                r->p, "more than %d configuration files: the rest is not read", MAX_FILES);
        return;
    }
    if ((err = tool_read_file(r->p, path, TOOL_MAX_INPUT, &data, NULL)) != NULL) {
        APR_ARRAY_PUSH(r->problems, const char *) = tool_safe(r->p, err, 400);
        return;
    }
    s = data;
    while (*s) {
        /* A logical line: physical lines joined where one ends in '\'. */
        char *logical = "";
        int first = lineno + 1;
        for (;;) {
            char *nl = strchr(s, '\n');
            char *end = nl ? nl : s + strlen(s);
            char *e = end;
            lineno++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                e--;
            if (e > s && e[-1] == '\\') {
                logical = apr_pstrcat(r->p, logical,
                                      apr_pstrmemdup(r->p, s, (apr_size_t)(e - s - 1)), NULL);
                s = nl ? nl + 1 : end;
                if (*s)
                    continue;
                break;
            }
            logical =
                apr_pstrcat(r->p, logical, apr_pstrmemdup(r->p, s, (apr_size_t)(e - s)), NULL);
            s = nl ? nl + 1 : end;
            break;
        }
        while (*logical == ' ' || *logical == '\t')
            logical++;
        if (*logical && *logical != '#')
            directive(r, path, first, logical);
    }
    if (r->nsec > start_sec) {
        conf_problem(r, path, lineno, "<%s> is not closed in this file",
                     tool_safe(r->p, r->stack[r->nsec - 1].name, 40));
        while (r->nsec > start_sec)
            close_section(r, path, lineno,
                          apr_pstrcat(r->p, "</", r->stack[r->nsec - 1].name, ">", NULL));
    }
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A file, every file under a directory (sorted, recursively), or every match
 * of a wildcard, as Apache's Include does. */
static void read_one(conf_reader *r, const char *path)
{
    struct stat st;
    apr_dir_t *dir;
    apr_finfo_t fi;
    apr_array_header_t *names;
    int i;

    if (stat(path, &st) != 0)
        return;
    if (S_ISREG(st.st_mode)) {
        read_file(r, path);
        return;
    }
    /* As httpd: a directory is read whole; a FIFO or a device is not. */
    if (!S_ISDIR(st.st_mode))
        return;
    if (apr_dir_open(&dir, path, r->p) != APR_SUCCESS)
        return;
    names = apr_array_make(r->p, 8, sizeof(const char *));
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS)
        if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0)
            APR_ARRAY_PUSH(names, const char *) = apr_pstrcat(r->p, path, "/", fi.name, NULL);
    apr_dir_close(dir);
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), compare_names);
    r->include_depth++;
    for (i = 0; i < names->nelts && r->include_depth <= MAX_INCLUDE_DEPTH; i++)
        read_one(r, APR_ARRAY_IDX(names, i, const char *));
    r->include_depth--;
}

static void read_path(conf_reader *r, const char *file, int line, const char *pattern, int optional)
{
    const char *path = conf_root_relative(r, pattern);
    glob_t g;
    size_t i;
    int rc;

    if (r->include_depth >= MAX_INCLUDE_DEPTH) {
        conf_problem(r, file, line, "Include nested more than %d deep (a loop?)",
                     MAX_INCLUDE_DEPTH);
        return;
    }
    memset(&g, 0, sizeof(g));
    rc = glob(path, 0, NULL, &g);
    if (rc != 0 || g.gl_pathc == 0) {
        if (!optional)
            conf_problem(r, file, line, "Include %s matches no file", tool_safe(r->p, path, 300));
        globfree(&g);
        return;
    }
    r->include_depth++;
    for (i = 0; i < g.gl_pathc; i++)
        read_one(r, apr_pstrdup(r->p, g.gl_pathv[i]));
    r->include_depth--;
    globfree(&g);
}

const char *tool_conf_read(apr_pool_t *p, const tool_conf_opts *o, apr_array_header_t **servers)
{
    conf_reader r;
    raw_server *main_raw;
    struct stat st;
    int i;

    memset(&r, 0, sizeof(r));
    r.p = p;
    r.server_root = o->server_root ? o->server_root : DEFAULT_SERVER_ROOT;
    r.defines = apr_hash_make(p);
    r.raws = apr_array_make(p, 4, sizeof(raw_server *));
    r.problems = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; o->defines && i < o->defines->nelts; i++)
        apr_hash_set(r.defines, APR_ARRAY_IDX(o->defines, i, const char *), APR_HASH_KEY_STRING,
                     "");
    main_raw = r.cur = conf_raw_new(&r);
    if (stat(o->file, &st) != 0)
        return apr_psprintf(p, "%s cannot be read", tool_safe(p, o->file, 300));
    if (!S_ISREG(st.st_mode))
        return apr_psprintf(p, "%s is not a regular file", tool_safe(p, o->file, 300));
    read_one(&r, o->file);
    for (i = 0; i < r.problems->nelts; i++)
        APR_ARRAY_PUSH(main_raw->s.problems, const char *) =
            APR_ARRAY_IDX(r.problems, i, const char *);
    *servers = apr_array_make(p, r.raws->nelts, sizeof(tool_server *));
    for (i = 0; i < r.raws->nelts; i++) {
        raw_server *rs = APR_ARRAY_IDX(r.raws, i, raw_server *);
        APR_ARRAY_PUSH(*servers, tool_server *) = conf_merge(p, main_raw, rs, o->file);
    }
    return NULL;
}
