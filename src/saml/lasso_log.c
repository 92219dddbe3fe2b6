/* The module's lasso_log: Lasso's messages cost nothing. */
#include <lasso/lasso.h>

/*
 * Lasso's own definition of this function formats every message and calls
 * localtime() before handing it to g_log, which the module's handler (sp.c) then drops.
 * Debian builds Lasso with its debug messages on: about 125 per login, a
 * quarter of Lasso's time per response (bench/lassobench: 575 -> 420 us).
 * Lasso calls it through the PLT, so the dynamic linker binds those calls to
 * this definition when the module (or the tool) loads Lasso; where another
 * module loaded Lasso first, Lasso keeps its own and only the speed differs.
 * What the module needs from Lasso comes back as return codes, never from
 * its log.
 */
void lasso_log(GLogLevelFlags level, const char *filename, int line, const char *function,
               const char *format, ...)
{
    (void)level;
    (void)filename;
    (void)line;
    (void)function;
    (void)format;
}
