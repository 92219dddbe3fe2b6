/*
 * The FlexSAML directives of a configuration, handed to the settings model
 * of the core (settings.h) exactly as the module hands them, and the merge
 * of a virtual host with the main server, for the tool's Apache
 * configuration reader.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "apache_conf.h"

raw_server *conf_raw_new(conf_reader *r)
{
    raw_server *rs = apr_pcalloc(r->p, sizeof(*rs));
    flexsaml_settings_init(&rs->s.settings);
    rs->s.problems = apr_array_make(r->p, 2, sizeof(const char *));
    rs->ssl = CONF_UNSET;
    APR_ARRAY_PUSH(r->raws, raw_server *) = rs;
    return rs;
}

void conf_flexsaml_directive(conf_reader *r, const char *file, int line, const char *name,
                             apr_array_header_t *args)
{
    const flexsaml_directive *d = flexsaml_directive_find(name);
    const char *const *argv = (const char *const *)args->elts;
    flexsaml_dir_settings dir;
    flexsaml_set_ctx cx;
    const char *err = NULL;
    int i, in_dir = 0;

    if (!d) {
        /* httpd's words, so that a misspelling reads the same in both. */
        conf_problem(r, file, line,
                     "Invalid command '%s', perhaps misspelled or defined by a module not "
                     "included in the server configuration",
                     tool_safe(r->p, name, 60));
        return;
    }
    for (i = r->nsec - 1; i >= 0 && !in_dir; i--) {
        if (r->stack[i].kind != SEC_DIR)
            continue;
        if (d->context != FLEXSAML_IN_SERVER_DIR) {
            conf_problem(r, file, line, "%s is not allowed inside <%s>", tool_safe(r->p, name, 60),
                         tool_safe(r->p, r->stack[i].name, 40));
            return;
        }
        in_dir = 1;
    }
    if ((err = flexsaml_directive_check_args(r->p, d, args->nelts)) != NULL) {
        conf_problem(r, file, line, "%s", err);
        return;
    }
    flexsaml_dir_settings_init(&dir);
    cx.p = r->p;
    cx.where = apr_psprintf(r->p, "%s:%d", file, line);
    cx.server_root = r->server_root;
    cx.dir = in_dir ? &dir : NULL; /* the tool reads no per-directory setting */
    if (d->args == FLEXSAML_ARGS_ITERATE)
        for (i = 0; i < args->nelts && !err; i++)
            err = d->set(&cx, &r->cur->s.settings, 1, argv + i);
    else
        err = d->set(&cx, &r->cur->s.settings, args->nelts, argv);
    if (err)
        conf_problem(r, file, line, "%s", tool_safe(r->p, err, 400));
}

/* ---- merge: the module's, then what only the tool needs ---- */

#define PICK(f) (add->s.f ? add->s.f : base->s.f)

tool_server *conf_merge(apr_pool_t *p, const raw_server *base, const raw_server *add,
                        const char *root_file)
{
    tool_server *s = apr_pcalloc(p, sizeof(*s));
    const char *port;

    s->is_vhost = add->s.is_vhost;
    s->section = add->s.section ? add->s.section : root_file;
    s->problems = add->s.problems;
    s->server_name = PICK(server_name);
    flexsaml_settings_merge(p, &s->settings, &base->s.settings, &add->s.settings);
    s->configured = flexsaml_settings_configured(&s->settings);
    flexsaml_settings_apply_defaults(p, &s->settings);

    /* The public name: ServerName [scheme://]host[:port]; a virtual host
     * without one inherits the main server's, as in httpd. */
    {
        const char *sn = s->server_name, *h, *c;
        const char *scheme = NULL, *host = NULL;
        int ssl = add->ssl != CONF_UNSET ? add->ssl : base->ssl;

        port = add->vhost_port;
        if (sn) {
            h = strstr(sn, "://");
            if (h) {
                scheme = apr_pstrmemdup(p, sn, (apr_size_t)(h - sn));
                h += 3;
            } else {
                h = sn;
            }
            c = strrchr(h, ':');
            if (c && !strchr(c, ']')) {
                host = apr_pstrmemdup(p, h, (apr_size_t)(c - h));
                port = c + 1;
            } else {
                host = h;
            }
        }
        if (!scheme)
            scheme = ssl == 1 || (port && !strcmp(port, "443")) ? "https" : "http";
        s->scheme = scheme;
        if (host) {
            int dflt = !port || (!strcasecmp(scheme, "https") && !strcmp(port, "443")) ||
                       (!strcasecmp(scheme, "http") && !strcmp(port, "80"));
            s->host = dflt ? host : apr_pstrcat(p, host, ":", port, NULL);
        }
        if (s->is_vhost && host)
            s->label = apr_pstrcat(p, host, port ? ":" : "", port ? port : "", NULL);
        else if (s->is_vhost)
            s->label = apr_pstrcat(p, "<VirtualHost ", add->s.label, ">", NULL);
        else
            s->label = "main server";
    }
    return s;
}

const char *tool_server_base(apr_pool_t *p, const tool_server *s)
{
    const char *e = s->sp_entity_id;
    int entity_url = e && (!strncasecmp(e, "https://", 8) || !strncasecmp(e, "http://", 7));

    /* Behind FlexSAMLTrustedProxies the public name comes from the proxy,
     * and the entity ID (the metadata URL people publish) is the best
     * witness of it; so it is when httpd has no ServerName. */
    if (entity_url && (s->trusted_proxies || !s->host)) {
        const char *h = strstr(e, "://") + 3;
        apr_size_t n = strcspn(h, "/?#");
        return apr_pstrmemdup(p, e, (apr_size_t)(h - e) + n);
    }
    if (!s->host)
        return NULL;
    return apr_pstrcat(p, s->scheme, "://", s->host, NULL);
}
