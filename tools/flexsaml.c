/*
 * flexsaml: the operator's command-line tool of mod_flexsaml. It links the
 * module's core (not httpd) so that what it says about a configuration, an
 * IdP or a response is what the module would decide.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "tool.h"

static const char usage[] =
    "Usage: flexsaml <command> [options]\n"
    "\n"
    "Commands:\n"
    "  okta-settings -f <apache config>   what to enter in Okta's \"Create SAML Integration\"\n"
    "  idp-fields <okta metadata>         the three IdP directives, and the certificate\n"
    "  inspect [--cert idp.pem] [--sp-config conf] <file or ->\n"
    "                                     explain a SAMLResponse and every problem in it\n"
    "\n"
    "  flexsaml <command> --help          the options of a command\n"
    "  --now <xsd:dateTime>               judge times at this instant (also FLEXSAML_NOW)\n"
    "  --version                          the version\n"
    "\n"
    "See flexsaml(1).\n";

/* --now anywhere on the line (or FLEXSAML_NOW) fixes the clock, so that a
 * report about validity is reproducible; it is removed from argv. */
static const char *take_now(tool_ctx *t, int *argc, const char **argv)
{
    const char *v = getenv("FLEXSAML_NOW");
    int i, j;

    for (i = 1; i < *argc; i++) {
        int consumed = 0;
        if (!strcmp(argv[i], "--now")) {
            if (i + 1 >= *argc)
                return "--now needs an xsd:dateTime, e.g. 2026-01-15T10:00:00Z";
            v = argv[i + 1];
            consumed = 2;
        } else if (!strncmp(argv[i], "--now=", 6)) {
            v = argv[i] + 6;
            consumed = 1;
        }
        if (consumed) {
            for (j = i; j + consumed < *argc; j++)
                argv[j] = argv[j + consumed];
            *argc -= consumed;
            i--;
        }
    }
    t->now = apr_time_now();
    if (v && *v) {
        t->now = flexsaml_parse_datetime(v);
        if (!t->now)
            return apr_psprintf(t->p, "\"%s\" is not an xsd:dateTime (e.g. 2026-01-15T10:00:00Z)",
                                tool_safe(t->p, v, 60));
    }
    return NULL;
}

int main(int argc, const char *const *argv_in)
{
    tool_ctx t;
    const char **argv;
    const char *err, *cmd;
    int rc, i;

    if (apr_app_initialize(&argc, &argv_in, NULL) != APR_SUCCESS) {
        fprintf(stderr, "flexsaml: APR failed to initialize\n");
        return TOOL_USAGE;
    }
    atexit(apr_terminate);
    memset(&t, 0, sizeof(t));
    apr_pool_create(&t.p, NULL);
    t.prog = "flexsaml";
    argv = apr_palloc(t.p, sizeof(char *) * ((apr_size_t)argc + 1));
    for (i = 0; i < argc; i++)
        argv[i] = argv_in[i];
    argv[argc] = NULL;
    if ((err = take_now(&t, &argc, argv)) != NULL) {
        fprintf(stderr, "flexsaml: %s\n", err);
        return TOOL_USAGE;
    }
    if (argc < 2 || tool_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TOOL_USAGE : TOOL_OK;
    }
    cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("flexsaml %s\n", FLEXSAML_VERSION);
        return TOOL_OK;
    }
    if (!strcmp(cmd, "okta-settings"))
        rc = tool_okta_settings(&t, argc - 2, argv + 2);
    else if (!strcmp(cmd, "idp-fields"))
        rc = tool_idp_fields(&t, argc - 2, argv + 2);
    else if (!strcmp(cmd, "inspect"))
        rc = tool_inspect(&t, argc - 2, argv + 2);
    else {
        fprintf(stderr, "flexsaml: unknown command \"%s\"\n\n%s", tool_safe(t.p, cmd, 60), usage);
        rc = TOOL_USAGE;
    }
    fflush(stdout);
    /* The pool goes with the process; Lasso's objects are freed by their
     * pool cleanups before apr_terminate. */
    apr_pool_destroy(t.p);
    return rc;
}
