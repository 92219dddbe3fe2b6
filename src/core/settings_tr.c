/*
 * The TaskRouter directives: setters, merge and defaults of the
 * flexsaml_tr_settings part of the model. src/httpd/taskrouter_glue.c reads
 * the result; only it and src/taskrouter know what the values do.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "settings_set.h"

#define DEFAULT_BASE_URL "https://taskrouter.twilio.com"
#define DEFAULT_TIMEOUT apr_time_from_sec(5)
#define DEFAULT_DEADLINE apr_time_from_sec(120)
#define DEFAULT_SYNC_TIMEOUT apr_time_from_sec(2)
#define DEFAULT_BACKOFF_BASE apr_time_from_sec(1)
#define DEFAULT_BACKOFF_MAX apr_time_from_sec(30)
#define DEFAULT_QUEUE 1000
#define MS(n) ((apr_interval_time_t)(n)*1000)

static const char *const default_owned[] = {"full_name", "email", "roles", "image_url"};
/* Flex and the contact center own these; a site must not take them over. */
static const char *const never_owned[] = {"contact_uri", "routing", "team_sid"};

SETTER(TaskRouter)
{
    static const char *const names[] = {"on", "off", "sync", NULL};
    static const int modes[] = {FLEXSAML_TR_ON, FLEXSAML_TR_OFF, FLEXSAML_TR_SYNC};
    int i;
    const char *err = flexsaml_parse_enum(cx->p, NAME(TaskRouter), argv[0], names, &i);
    (void)argc;
    if (err)
        return err;
    s->taskrouter.mode = modes[i];
    s->taskrouter.where = cx->where;
    return NULL;
}

SETTER(TaskRouterWorkspace)
{
    (void)argc;
    if (!flexsaml_sid_valid(argv[0], "WS"))
        return apr_psprintf(cx->p,
                            "FlexSAMLTaskRouterWorkspace \"%s\" is not a Workspace SID: WS "
                            "followed by 32 hexadecimal digits (Console: TaskRouter > "
                            "Workspaces)",
                            argv[0]);
    s->taskrouter.workspace = argv[0];
    return NULL;
}

SETTER(TaskRouterCredentials)
{
    const char *a = argv[0], *b = argc > 1 ? argv[1] : NULL;
    flexsaml_tr_settings *t = &s->taskrouter;
    if (!strncmp(a, "env:", 4) || (b && !strncmp(b, "env:", 4))) {
        if (!b || strncmp(a, "env:", 4) || strncmp(b, "env:", 4) || !a[4] || !b[4])
            return "FlexSAMLTaskRouterCredentials env:SID_VARIABLE env:SECRET_VARIABLE names "
                   "two environment variables, e.g. env:TWILIO_API_KEY env:TWILIO_API_SECRET";
        t->cred_env[0] = a + 4;
        t->cred_env[1] = b + 4;
        t->cred_file = NULL;
        return NULL;
    }
    if (b)
        return "FlexSAMLTaskRouterCredentials takes one file, or env:SID_VARIABLE "
               "env:SECRET_VARIABLE; the secret never goes in the configuration itself";
    t->cred_file = flexsaml_root_relative(cx->p, cx->server_root, a);
    t->cred_env[0] = t->cred_env[1] = NULL;
    return NULL;
}

/* Checked at startup, where a plain http URL gets its warning. */
SET_STRING(TaskRouterBaseURL, taskrouter.base_url)
SET_FLAG(TaskRouterCreateWorkers, taskrouter.create)

SETTER(TaskRouterAttributes)
{
    const char *k, *arg = argv[0];
    apr_size_t i;
    (void)argc;
    for (k = arg; *k; k++)
        if (!(apr_isalnum(*k) || *k == '_' || *k == '.' || *k == '-'))
            break;
    if (*k || !*arg || strlen(arg) > 64)
        return apr_psprintf(cx->p,
                            "FlexSAMLTaskRouterAttributes: \"%s\" is not an attribute key "
                            "(letters, digits, _ . -)",
                            arg);
    for (i = 0; i < sizeof(never_owned) / sizeof(*never_owned); i++)
        if (!strcmp(arg, never_owned[i]))
            return apr_psprintf(cx->p,
                                "FlexSAMLTaskRouterAttributes: %s belongs to Flex and the "
                                "contact center (routing skills, teams, the client identity); "
                                "it is always kept as it is and cannot be owned by the login",
                                arg);
    if (!s->taskrouter.owned)
        s->taskrouter.owned = apr_array_make(cx->p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(s->taskrouter.owned, const char *) = arg;
    return NULL;
}

SETTER(TaskRouterWorkerName)
{
    (void)cx;
    (void)argc;
    if (!*argv[0] || strpbrk(argv[0], " \t\r\n"))
        return "FlexSAMLTaskRouterWorkerName must name one claim, e.g. email";
    s->taskrouter.worker_claim = argv[0];
    return NULL;
}

SETTER(TaskRouterTimeout)
{
    (void)argc;
    return flexsaml_parse_duration(cx->p, NAME(TaskRouterTimeout), argv[0], MS(100),
                                   apr_time_from_sec(60), &s->taskrouter.timeout);
}

SETTER(TaskRouterDeadline)
{
    (void)argc;
    return flexsaml_parse_duration(cx->p, NAME(TaskRouterDeadline), argv[0], apr_time_from_sec(1),
                                   apr_time_from_sec(86400), &s->taskrouter.deadline);
}

SETTER(TaskRouterSyncTimeout)
{
    (void)argc;
    return flexsaml_parse_duration(cx->p, NAME(TaskRouterSyncTimeout), argv[0], MS(100),
                                   apr_time_from_sec(30), &s->taskrouter.sync_timeout);
}

SETTER(TaskRouterBackoff)
{
    flexsaml_tr_settings *t = &s->taskrouter;
    apr_interval_time_t base, max;
    const char *err = flexsaml_parse_duration(cx->p, NAME(TaskRouterBackoff), argv[0], MS(1),
                                              apr_time_from_sec(3600), &base);
    if (err)
        return err;
    max = base > DEFAULT_BACKOFF_MAX ? base : DEFAULT_BACKOFF_MAX;
    if (argc > 1 && (err = flexsaml_parse_duration(cx->p, NAME(TaskRouterBackoff), argv[1], base,
                                                   apr_time_from_sec(3600), &max)))
        return err;
    t->backoff_base = base;
    t->backoff_max = max;
    return NULL;
}

SETTER(TaskRouterQueueSize)
{
    apr_int64_t v;
    const char *err = flexsaml_parse_number(cx->p, NAME(TaskRouterQueueSize), argv[0], "a number",
                                            1, 1000000, &v);
    (void)argc;
    if (!err)
        s->taskrouter.queue_size = (int)v;
    return err;
}

void flexsaml_tr_settings_init(flexsaml_tr_settings *t)
{
    memset(t, 0, sizeof(*t));
    t->mode = FLEXSAML_UNSET;
    t->create = FLEXSAML_UNSET;
    t->timeout = t->deadline = t->sync_timeout = FLEXSAML_UNSET;
    t->backoff_base = t->backoff_max = FLEXSAML_UNSET;
    t->queue_size = FLEXSAML_UNSET;
}

#define PICK(f) (add->f ? add->f : base->f)
#define PICK_INT(f) (add->f != FLEXSAML_UNSET ? add->f : base->f)

void flexsaml_tr_settings_merge(flexsaml_tr_settings *out, const flexsaml_tr_settings *base,
                                const flexsaml_tr_settings *add)
{
    out->mode = PICK_INT(mode);
    out->where = add->mode != FLEXSAML_UNSET ? add->where : base->where;
    out->workspace = PICK(workspace);
    /* The credentials are one unit: a file or a pair of variables. */
    if (add->cred_file || add->cred_env[0]) {
        out->cred_file = add->cred_file;
        out->cred_env[0] = add->cred_env[0];
        out->cred_env[1] = add->cred_env[1];
    } else {
        out->cred_file = base->cred_file;
        out->cred_env[0] = base->cred_env[0];
        out->cred_env[1] = base->cred_env[1];
    }
    out->base_url = PICK(base_url);
    out->owned = PICK(owned);
    out->worker_claim = PICK(worker_claim);
    out->create = PICK_INT(create);
    out->timeout = PICK_INT(timeout);
    out->deadline = PICK_INT(deadline);
    out->sync_timeout = PICK_INT(sync_timeout);
    /* The two delays of FlexSAMLTaskRouterBackoff come together. */
    out->backoff_base = PICK_INT(backoff_base);
    out->backoff_max = add->backoff_base != FLEXSAML_UNSET ? add->backoff_max : base->backoff_max;
    out->queue_size = PICK_INT(queue_size);
}

void flexsaml_tr_settings_apply_defaults(apr_pool_t *p, flexsaml_tr_settings *t)
{
    apr_size_t i;
    if (t->mode == FLEXSAML_UNSET)
        t->mode = FLEXSAML_TR_OFF;
    if (!t->base_url)
        t->base_url = DEFAULT_BASE_URL;
    if (!t->owned) {
        t->owned = apr_array_make(p, 4, sizeof(const char *));
        for (i = 0; i < sizeof(default_owned) / sizeof(*default_owned); i++)
            APR_ARRAY_PUSH(t->owned, const char *) = default_owned[i];
    }
    if (!t->worker_claim)
        t->worker_claim = "email";
    if (t->create == FLEXSAML_UNSET)
        t->create = 0;
    if (t->timeout == FLEXSAML_UNSET)
        t->timeout = DEFAULT_TIMEOUT;
    if (t->deadline == FLEXSAML_UNSET)
        t->deadline = DEFAULT_DEADLINE;
    if (t->sync_timeout == FLEXSAML_UNSET)
        t->sync_timeout = DEFAULT_SYNC_TIMEOUT;
    if (t->backoff_base == FLEXSAML_UNSET)
        t->backoff_base = DEFAULT_BACKOFF_BASE;
    if (t->backoff_max == FLEXSAML_UNSET)
        t->backoff_max = DEFAULT_BACKOFF_MAX;
    if (t->queue_size == FLEXSAML_UNSET)
        t->queue_size = DEFAULT_QUEUE;
}
