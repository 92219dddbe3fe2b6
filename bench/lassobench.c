/*
 * lassobench: the in-process limit of a Lasso-based SP on one core.
 *
 * Builds one LassoServer (the SP description without a key, as mod_flexsaml
 * builds it, plus the IdP metadata), then processes every response of a file
 * with lasso_login_new + lasso_login_process_authn_response_msg, the two
 * calls an SP cannot avoid, with the signature check forced as mod_flexsaml
 * forces it. Every response must verify; the first failure aborts. Nothing
 * else (no HTTP, no session store, no checks of ours) is timed, so the rate
 * is the ceiling for any SP that uses Lasso for the SAML work.
 *
 *   lassobench SP_METADATA IDP_METADATA RESPONSES [WARMUP]
 *
 * RESPONSES: one base64 SAMLResponse per line. Prints one JSON object.
 *
 * Built twice: `lassobench` uses Lasso exactly as Debian ships it;
 * `lassobench-tuned` is also linked with mod_flexsaml's own lasso_log
 * (src/saml/lasso_log.c) and marks its Lasso calls as the module marks its
 * own (FLEXSAML_LASSO), so that with the IdP key given as mod_flexsaml gives
 * it, it measures Lasso as the module runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lasso/lasso.h>

#ifdef LASSOBENCH_TUNED
#include "lasso_log.h"
#else
/* Lasso as shipped: nothing marks the calls. */
#define FLEXSAML_LASSO(call) (call)
#define FLEXSAML_LASSO_DO(stmt) stmt
#endif

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

static char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int process(LassoServer *server, char *b64)
{
    LassoLogin *login = FLEXSAML_LASSO(lasso_login_new(server));
    int rc;

    FLEXSAML_LASSO_DO(lasso_profile_set_signature_verify_hint(
        LASSO_PROFILE(login), LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE));
    rc = FLEXSAML_LASSO(lasso_login_process_authn_response_msg(login, b64));
    FLEXSAML_LASSO_DO(g_object_unref(login));
    return rc;
}

int main(int argc, char **argv)
{
    char *sp_md, *idp_md, *all, *p, **resp;
    long n = 0, cap = 1024, i, warmup = 20, len;
    LassoServer *server;
    double w0, w1, c0, c1;
    int rc;

    if (argc < 4) {
        fprintf(stderr, "usage: lassobench SP_METADATA IDP_METADATA RESPONSES [WARMUP]\n");
        return 2;
    }
    if (argc > 4)
        warmup = atol(argv[4]);
    sp_md = slurp(argv[1], NULL);
    idp_md = slurp(argv[2], NULL);
    all = slurp(argv[3], &len);
    resp = malloc(sizeof(char *) * (size_t)cap);
    for (p = strtok(all, "\r\n"); p; p = strtok(NULL, "\r\n")) {
        if (n == cap)
            resp = realloc(resp, sizeof(char *) * (size_t)(cap *= 2));
        resp[n++] = p;
    }
    if (n == 0) {
        fprintf(stderr, "lassobench: no responses in %s\n", argv[3]);
        return 2;
    }
    if (lasso_init() != 0) {
        fprintf(stderr, "lassobench: lasso_init failed\n");
        return 2;
    }
    g_log_set_handler("Lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, quiet,
                      NULL);

    /* Built once, as a Lasso-based SP should. */
    server = lasso_server_new_from_buffers(sp_md, NULL, NULL, NULL);
    if (!server) {
        fprintf(stderr, "lassobench: Lasso refused the SP metadata\n");
        return 2;
    }
    rc = lasso_server_add_provider_from_buffer(server, LASSO_PROVIDER_ROLE_IDP, idp_md, NULL, NULL);
    if (rc != 0) {
        fprintf(stderr, "lassobench: Lasso refused the IdP metadata: %s\n", lasso_strerror(rc));
        return 2;
    }

    /* Warm-up on copies (Lasso does not keep state between logins; a copy keeps
     * the timed loop on responses it has not seen). */
    for (i = 0; i < warmup && i < n; i++) {
        char *copy = strdup(resp[i]);
        rc = process(server, copy);
        free(copy);
        if (rc != 0) {
            fprintf(stderr, "lassobench: response %ld refused: %s (%d)\n", i, lasso_strerror(rc),
                    rc);
            return 1;
        }
    }
    w0 = clock_s(CLOCK_MONOTONIC);
    c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (i = 0; i < n; i++) {
        rc = process(server, resp[i]);
        if (rc != 0) {
            fprintf(stderr, "lassobench: response %ld refused: %s (%d)\n", i, lasso_strerror(rc),
                    rc);
            return 1;
        }
    }
    w1 = clock_s(CLOCK_MONOTONIC);
    c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    printf("{\"logins\": %ld, \"wall_s\": %.6f, \"cpu_s\": %.6f, \"logins_per_s\": %.2f, "
           "\"logins_per_cpu_s\": %.2f, \"us_per_login\": %.1f}\n",
           n, w1 - w0, c1 - c0, (double)n / (w1 - w0), (double)n / (c1 - c0),
           (w1 - w0) * 1e6 / (double)n);
    g_object_unref(server);
    lasso_shutdown();
    return 0;
}
