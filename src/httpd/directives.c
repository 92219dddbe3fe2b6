/*
 * The module's command table and its per-server and per-directory
 * create/merge: all of it expanded from, or handed to, the settings model of
 * the core (settings.h), so that a directive is written in one place.
 * What happens at startup is in hooks.c.
 */
#include "http_core.h"
#include "http_main.h"
#include "apr_strings.h"

#include "flexsaml_glue.h"

void *flexsaml_create_srv_cfg(apr_pool_t *p, server_rec *s)
{
    flexsaml_srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    (void)s;
    flexsaml_settings_init(&c->settings);
    return c;
}

void *flexsaml_merge_srv_cfg(apr_pool_t *p, void *basev, void *addv)
{
    flexsaml_srv_cfg *base = basev, *add = addv;
    flexsaml_srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    flexsaml_settings_merge(p, &c->settings, &base->settings, &add->settings);
    return c;
}

void *flexsaml_create_dir_cfg(apr_pool_t *p, char *dir)
{
    flexsaml_dir_cfg *d = apr_pcalloc(p, sizeof(*d));
    (void)dir;
    flexsaml_dir_settings_init(d);
    return d;
}

void *flexsaml_merge_dir_cfg(apr_pool_t *p, void *basev, void *addv)
{
    flexsaml_dir_cfg *d = apr_pcalloc(p, sizeof(*d));
    flexsaml_dir_settings_merge(d, basev, addv);
    return d;
}

/* ---- one handler per argument shape, each handing over to the core ---- */

static const char *apply(cmd_parms *cmd, void *dv, int argc, const char *const *argv)
{
    const flexsaml_directive *d = cmd->info;
    flexsaml_set_ctx cx;
    const char *err;

    if (d->context == FLEXSAML_IN_SERVER &&
        (err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT)) != NULL)
        return err;
    cx.p = cmd->pool;
    cx.where = cmd->directive ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                             cmd->directive->line_num)
                              : d->name;
    cx.server_root = ap_server_root;
    cx.dir = cmd->path ? dv : NULL;
    return d->set(&cx, &flexsaml_srv(cmd->server)->settings, argc, argv);
}

static const char *take1(cmd_parms *cmd, void *dv, const char *a)
{
    return apply(cmd, dv, 1, &a);
}

static const char *take12(cmd_parms *cmd, void *dv, const char *a, const char *b)
{
    const char *argv[2] = {a, b};
    return apply(cmd, dv, b ? 2 : 1, argv);
}

static const char *take23(cmd_parms *cmd, void *dv, const char *a, const char *b, const char *c)
{
    const char *argv[3] = {a, b, c};
    return apply(cmd, dv, c ? 3 : 2, argv);
}

static const char *flag(cmd_parms *cmd, void *dv, int on)
{
    const char *arg = on ? "on" : "off";
    return apply(cmd, dv, 1, &arg);
}

static const char *take_argv(cmd_parms *cmd, void *dv, int argc, char *const argv[])
{
    return apply(cmd, dv, argc, (const char *const *)argv);
}

#define AP_FLEXSAML_TAKE1(n, i, w, h) AP_INIT_TAKE1(n, take1, i, w, h)
#define AP_FLEXSAML_TAKE12(n, i, w, h) AP_INIT_TAKE12(n, take12, i, w, h)
#define AP_FLEXSAML_TAKE23(n, i, w, h) AP_INIT_TAKE23(n, take23, i, w, h)
#define AP_FLEXSAML_FLAG(n, i, w, h) AP_INIT_FLAG(n, flag, i, w, h)
#define AP_FLEXSAML_ITERATE(n, i, w, h) AP_INIT_ITERATE(n, take1, i, w, h)
#define AP_FLEXSAML_TAKE_ARGV(n, i, w, h) AP_INIT_TAKE_ARGV(n, take_argv, i, w, h)
#define AP_FLEXSAML_IN_SERVER RSRC_CONF
#define AP_FLEXSAML_IN_SERVER_DIR (RSRC_CONF | OR_AUTHCFG)

#define FLEXSAML_COMMAND(id, shape, where, help)                                                   \
    AP_FLEXSAML_##shape("FlexSAML" #id, (void *)&flexsaml_directives[FLEXSAML_D_##id],             \
                        AP_FLEXSAML_IN_##where, help),

const command_rec flexsaml_cmds[] = {FLEXSAML_DIRECTIVES(FLEXSAML_COMMAND){NULL}};

/* A directive added here by hand, past the core's table, would be unknown
 * to the tool and to the drift checks of `make check`. */
_Static_assert(sizeof(flexsaml_cmds) / sizeof(*flexsaml_cmds) == FLEXSAML_D_COUNT + 1,
               "every FlexSAML directive comes from FLEXSAML_DIRECTIVES (settings.h)");
