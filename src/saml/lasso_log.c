/* The module's lasso_log: Lasso's messages cost nothing in the module's own
 * calls, and stay as they were for anyone else in the process. */
#include <time.h>

#include <lasso/lasso.h>

#include "lasso_log.h"

#ifndef LASSO_LOG_DOMAIN
#define LASSO_LOG_DOMAIN "Lasso"
#endif

/*
 * How deep this thread is in Lasso calls of the module (FLEXSAML_LASSO).
 * Global mutable state, which the module otherwise keeps in pools, because
 * it must be: lasso_log and a GLib log handler receive no context from the
 * caller, so the calling thread is the only way to tell the module's calls
 * from those of another Lasso user (mod_auth_mellon) in the same process.
 * Thread-local, so the event MPM's threads never see each other's calls and
 * need no lock.
 */
static _Thread_local unsigned quiet_depth;

void flexsaml_lasso_enter(void)
{
    quiet_depth++;
}

void flexsaml_lasso_leave(void)
{
    if (quiet_depth > 0)
        quiet_depth--;
}

int flexsaml_lasso_leave_int(int result)
{
    flexsaml_lasso_leave();
    return result;
}

void *flexsaml_lasso_leave_ptr(void *result)
{
    flexsaml_lasso_leave();
    return result;
}

int flexsaml_lasso_quiet(void)
{
    return quiet_depth > 0;
}

/*
 * Lasso's own definition of this function formats every message and calls
 * localtime() before handing it to g_log. Debian builds Lasso with its debug
 * messages on: about 125 per login, a quarter of Lasso's time per response
 * (bench/lassobench: 575 -> 420 us). Lasso calls it through the PLT, so the
 * dynamic linker binds those calls to this definition when the module (or
 * the tool) loads Lasso first; as it then serves every Lasso user in the
 * process, it drops a message only inside the module's own calls and
 * otherwise does what Lasso's does, so another module's messages read the
 * same (localtime_r: the event MPM's threads log concurrently). Where another
 * module loaded Lasso first, Lasso keeps its own and the handler below drops
 * the module's messages: only the speed differs. What the module needs from
 * Lasso comes back as return codes, never from its log.
 */
/* Lasso declares it in lasso/logging.h, which also defines macros named
 * error() and warning(): declared here instead. */
void lasso_log(GLogLevelFlags level, const char *filename, int line, const char *function,
               const char *format, ...);
void lasso_log(GLogLevelFlags level, const char *filename, int line, const char *function,
               const char *format, ...)
{
    char text[1024], date[20] = "";
    struct tm tm;
    time_t now;
    va_list ap;

    if (quiet_depth > 0)
        return;
    va_start(ap, format);
    g_vsnprintf(text, sizeof(text), format, ap);
    va_end(ap);
    now = time(NULL);
    if (localtime_r(&now, &tm))
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    if (level == G_LOG_LEVEL_DEBUG || level == G_LOG_LEVEL_CRITICAL)
        g_log(LASSO_LOG_DOMAIN, level, "%s (%s/%s:%d) %s", date, filename, function, line, text);
    else
        g_log(LASSO_LOG_DOMAIN, level, "%s\t%s", date, text);
}

/* Lasso's own messages are generic and unformatted; every refusal is logged
 * by the module with a reason code instead. Anyone else's go where GLib
 * sends a domain without a handler, g_log_default_handler, as they would
 * without the module (mod_auth_mellon sets no handler of its own). */
static void lasso_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                              gpointer data)
{
    if (quiet_depth == 0)
        g_log_default_handler(domain, level, msg, data);
}

void flexsaml_lasso_log_init(void)
{
    g_log_set_handler(LASSO_LOG_DOMAIN, G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      lasso_log_handler, NULL);
}
