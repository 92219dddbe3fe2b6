/*
 * The Okta attribute statements of the Flex attributes (okta.h).
 */
#include <string.h>

#include "okta.h"

const flexsaml_okta_attr flexsaml_okta_attributes[] = {
    {"full_name", "Basic", "String.join(\" \", user.firstName, user.lastName)"},
    {"roles", "Basic", "user.userType"},
    {"email", "Basic", "user.email"},
    {"image_url", "URI Reference", "user.profileUrl"},
    {NULL, NULL, NULL},
};

const flexsaml_okta_attr *flexsaml_okta_attribute(const char *attribute)
{
    const flexsaml_okta_attr *a;
    for (a = flexsaml_okta_attributes; a->attribute; a++)
        if (!strcmp(a->attribute, attribute))
            return a;
    return NULL;
}
