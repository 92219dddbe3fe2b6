/* The rows of the refusal table, indexed by flexsaml_refusal. */
#include <stddef.h>

#include "refusal.h"

static const flexsaml_refusal_row rows[FLEXSAML_R_COUNT] = {[FLEXSAML_R_NONE] = {"", 0, "", ""},
#define FLEXSAML_REFUSAL_ROW(name, code, status, title, hint)                                      \
    [FLEXSAML_R_##name] = {code, status, title, hint},
                                                            FLEXSAML_REFUSALS(FLEXSAML_REFUSAL_ROW)
#undef FLEXSAML_REFUSAL_ROW
};

const flexsaml_refusal_row *flexsaml_refusal_info(flexsaml_refusal r)
{
    if ((int)r <= (int)FLEXSAML_R_NONE || (int)r >= (int)FLEXSAML_R_COUNT)
        return NULL;
    return &rows[r];
}

const char *flexsaml_refusal_code(flexsaml_refusal r)
{
    const flexsaml_refusal_row *row = flexsaml_refusal_info(r);
    return row ? row->code : "";
}
