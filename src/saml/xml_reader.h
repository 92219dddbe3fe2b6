/* The hardened XML reader (xml_reader.c): parsing and small accessors. */
#ifndef FLEXSAML_XML_READER_H
#define FLEXSAML_XML_READER_H

#include <libxml/tree.h>
#include <apr_pools.h>

#define SAMLP_NS "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_NS "urn:oasis:names:tc:SAML:2.0:assertion"
#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

/* Parses an untrusted document: no network, no DTD, no entity, no PI (the
 * parser stops at the first one, before reading it), no NUL byte. *doc is
 * freed with p. NULL, or why it was refused (for a log line). */
const char *flexsaml_xml_parse(apr_pool_t *p, const char *xml, apr_size_t len, xmlDoc **doc);

/* The whole text content of an element, trimmed of surrounding XML
 * whitespace; NULL for a NULL node. */
const char *flexsaml_xml_text(apr_pool_t *p, xmlNode *n);
xmlNode *flexsaml_xml_child(xmlNode *n, const char *ns, const char *name);
int flexsaml_xml_is(const xmlNode *n, const char *ns, const char *name);
const char *flexsaml_xml_attr(apr_pool_t *p, xmlNode *n, const char *name);

#endif
