/*
 * The setters of the directive table, one per directive, named after it
 * (FlexSAMLClockSkew -> flexsaml_set_ClockSkew): settings.c builds the table
 * from FLEXSAML_DIRECTIVES, so a directive without a setter fails to link.
 */
#ifndef FLEXSAML_SETTINGS_SET_H
#define FLEXSAML_SETTINGS_SET_H

#include "settings.h"

#define FLEXSAML_SETTER_DECL(id, shape, where, help)                                               \
    const char *flexsaml_set_##id(const flexsaml_set_ctx *cx, flexsaml_settings *s, int argc,      \
                                  const char *const *argv);
FLEXSAML_DIRECTIVES(FLEXSAML_SETTER_DECL)
#undef FLEXSAML_SETTER_DECL

#endif
