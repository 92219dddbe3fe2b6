/*
 * The Okta attribute statements of the Flex attributes (okta.h).
 */
#include <string.h>
#include <strings.h>

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

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

const char *flexsaml_okta_sso_url_warning(const char *url)
{
    const char *path, *host_end;

    if (!url || strncasecmp(url, "http", 4) != 0 || !(host_end = strstr(url, "://")))
        return NULL;
    path = strchr(host_end + 3, '/');
    if (ends_with(url, "/metadata") || ends_with(url, "/metadata/"))
        return "ends in /metadata: that is Okta's \"Identity Provider metadata\" link; use the "
               "\"Identity Provider Single Sign-On URL\" of \"View SAML setup instructions\" "
               "(it ends in /sso/saml)";
    if (path && !strncmp(path, "/home/", 6))
        return "is an Okta app-embed link (/home/...), which opens the Okta dashboard; use the "
               "\"Identity Provider Single Sign-On URL\" of \"View SAML setup instructions\" "
               "(it ends in /sso/saml)";
    if (!strncasecmp(url, "http://www.okta.com/", 20) ||
        (path && !strncmp(path, "/exk", 4) && !strchr(path + 1, '/')))
        return "is the \"Identity Provider Issuer\" (FlexSAMLIdPIssuer); FlexSAMLIdPSSOURL takes "
               "the \"Identity Provider Single Sign-On URL\" of \"View SAML setup instructions\" "
               "(it ends in /sso/saml)";
    return NULL;
}
