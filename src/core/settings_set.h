/*
 * The setters of the directive table, one per directive, named after it
 * (FlexSAMLClockSkew -> flexsaml_set_ClockSkew): settings.c builds the table
 * from FLEXSAML_DIRECTIVES, so a directive without a setter fails to link.
 */
#ifndef FLEXSAML_SETTINGS_SET_H
#define FLEXSAML_SETTINGS_SET_H

#include "settings.h"
#include "parse.h"

#define FLEXSAML_SETTER_DECL(id, shape, where, help)                                               \
    const char *flexsaml_set_##id(const flexsaml_set_ctx *cx, flexsaml_settings *s, int argc,      \
                                  const char *const *argv);
FLEXSAML_DIRECTIVES(FLEXSAML_SETTER_DECL)
#undef FLEXSAML_SETTER_DECL

#define NAME(id) "FlexSAML" #id
#define SETTER(id)                                                                                 \
    const char *flexsaml_set_##id(const flexsaml_set_ctx *cx, flexsaml_settings *s, int argc,      \
                                  const char *const *argv)
#define UNUSED_ARGS                                                                                \
    do {                                                                                           \
        (void)cx;                                                                                  \
        (void)s;                                                                                   \
        (void)argc;                                                                                \
    } while (0)

#define LONGEST apr_time_from_sec(366 * 86400)
#define MIN_SIZE 1024
#define MAX_SIZE (64 * 1024 * 1024)

/* Most directives set one field from one value of a common kind: one
 * setter shape per kind, so that a kind is parsed the same everywhere. */
#define SET_STRING(id, field)                                                                      \
    SETTER(id)                                                                                     \
    {                                                                                              \
        UNUSED_ARGS;                                                                               \
        s->field = argv[0];                                                                        \
        return NULL;                                                                               \
    }
#define SET_URL_PATH(id, field)                                                                    \
    SETTER(id)                                                                                     \
    {                                                                                              \
        const char *err = flexsaml_parse_url_path(cx->p, NAME(id), argv[0]);                       \
        (void)argc;                                                                                \
        if (!err)                                                                                  \
            s->field = argv[0];                                                                    \
        return err;                                                                                \
    }
#define SET_FILE(id, field)                                                                        \
    SETTER(id)                                                                                     \
    {                                                                                              \
        (void)argc;                                                                                \
        s->field = flexsaml_root_relative(cx->p, cx->server_root, argv[0]);                        \
        return NULL;                                                                               \
    }
#define SET_FLAG(id, field)                                                                        \
    SETTER(id)                                                                                     \
    {                                                                                              \
        (void)argc;                                                                                \
        return flexsaml_parse_flag(cx->p, NAME(id), argv[0], &s->field);                           \
    }
/* Lifetimes: from a second to a year. */
#define SET_LIFETIME(id, field)                                                                    \
    SETTER(id)                                                                                     \
    {                                                                                              \
        (void)argc;                                                                                \
        return flexsaml_parse_duration(cx->p, NAME(id), argv[0], APR_USEC_PER_SEC, LONGEST,        \
                                       &s->field);                                                 \
    }
#define SET_SIZE(id, field, type)                                                                  \
    SETTER(id)                                                                                     \
    {                                                                                              \
        apr_int64_t v;                                                                             \
        const char *err = flexsaml_parse_number(cx->p, NAME(id), argv[0], "a byte count",          \
                                                MIN_SIZE, MAX_SIZE, &v);                           \
        (void)argc;                                                                                \
        if (!err)                                                                                  \
            s->field = (type)v;                                                                    \
        return err;                                                                                \
    }

#endif
