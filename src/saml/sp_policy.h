/*
 * The policy the SP judges a response with, as a server's settings give it:
 * for the module at startup and for `flexsaml inspect`, which must judge
 * the same way.
 */
#ifndef FLEXSAML_SP_POLICY_H
#define FLEXSAML_SP_POLICY_H

#include "flexsaml_sp.h"
#include "settings.h"

/* c must have its defaults applied. */
void flexsaml_sp_policy_from_settings(flexsaml_sp_policy *pol, const flexsaml_settings *c);

#endif
