/*
 * What Okta must send: the attribute statements of the Flex attributes, in
 * the order Flex lists them. The module's refusal hints, `flexsaml
 * okta-settings` and `flexsaml inspect` all quote this one table.
 */
#ifndef FLEXSAML_OKTA_H
#define FLEXSAML_OKTA_H

typedef struct {
    const char *attribute;  /* "full_name" */
    const char *format;     /* Okta's Name format: "Basic", "URI Reference" */
    const char *expression; /* the Okta expression of its value */
} flexsaml_okta_attr;

/* full_name, roles, email, image_url, then an entry whose attribute is NULL. */
extern const flexsaml_okta_attr flexsaml_okta_attributes[];

/* The entry of a Flex attribute, or NULL for any other name. */
const flexsaml_okta_attr *flexsaml_okta_attribute(const char *attribute);

/* Why a FlexSAMLIdPSSOURL value is not Okta's Identity Provider Single
 * Sign-On URL although it parses (the metadata URL, an app-embed link, the
 * issuer), naming the field Okta shows; NULL when it looks right. */
const char *flexsaml_okta_sso_url_warning(const char *url);

#endif
