/*
 * Lasso's log, quiet for the module's own Lasso calls only (lasso_log.c).
 *
 * Every Lasso call of the module goes through FLEXSAML_LASSO (a call that
 * returns an int or a pointer) or FLEXSAML_LASSO_DO (a statement): while it
 * runs, Lasso's messages on this thread are dropped; the messages of another
 * Lasso user in the process (mod_auth_mellon) are logged as Lasso logs them.
 */
#ifndef FLEXSAML_LASSO_LOG_H
#define FLEXSAML_LASSO_LOG_H

/* Marks the start and the end of a Lasso call of the module on this thread;
 * they nest. */
void flexsaml_lasso_enter(void);
void flexsaml_lasso_leave(void);
/* flexsaml_lasso_leave, passing a call's result through (for FLEXSAML_LASSO). */
int flexsaml_lasso_leave_int(int result);
void *flexsaml_lasso_leave_ptr(void *result);
/* Nonzero while this thread is inside a Lasso call of the module. */
int flexsaml_lasso_quiet(void);
/* Routes the "Lasso" log domain through the module's handler: dropped inside
 * the module's calls, GLib's default handling otherwise. Call once, after
 * lasso_init. */
void flexsaml_lasso_log_init(void);

/* CALL with Lasso's log quiet, its value kept: the comma operator marks the
 * start before CALL runs, and the leave function's argument is CALL, so the
 * end is marked after it. _Generic picks the leave function by the type of
 * CALL without evaluating it. */
#define FLEXSAML_LASSO(call)                                                                       \
    (flexsaml_lasso_enter(), _Generic((call), int                                                  \
                                      : flexsaml_lasso_leave_int, default                          \
                                      : flexsaml_lasso_leave_ptr)(call))

/* STMT (e.g. a call that returns nothing) with Lasso's log quiet. */
#define FLEXSAML_LASSO_DO(stmt)                                                                    \
    do {                                                                                           \
        flexsaml_lasso_enter();                                                                    \
        stmt;                                                                                      \
        flexsaml_lasso_leave();                                                                    \
    } while (0)

#endif
