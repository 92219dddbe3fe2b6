/*
 * The reading of a SAML response, shared by sp.c: the structural checks made
 * before Lasso sees a byte (response_shape.c) and the reading of the one
 * verified assertion (assertion.c). Both read through xml_reader.h.
 */
#ifndef FLEXSAML_SAML_XML_H
#define FLEXSAML_SAML_XML_H

#include <libxml/tree.h>
#include "flexsaml.h"
#include "xml_reader.h"

typedef struct {
    xmlDoc *doc; /* freed with the pool */
    xmlNode *response;
    xmlNode *assertion;
    int response_signed;
    int assertion_signed;
    const char *status;         /* top-level StatusCode Value */
    const char *destination;    /* Response@Destination or NULL */
    const char *in_response_to; /* Response@InResponseTo or NULL */
    const char *issuer;         /* Response/Issuer or NULL */
    /* Every saml:AttributeValue anywhere in the document (signed or not):
     * the caps are applied before Lasso parses anything. */
    int attribute_values;
    apr_size_t value_bytes;   /* their text together */
    apr_size_t largest_value; /* the longest one */
    flexsaml_refusal reason;  /* FLEXSAML_R_NONE when the shape is acceptable */
    const char *detail;
} flexsaml_shape;

/* Parses xml (no network; the parser stops at the first DOCTYPE, entity or
 * PI) and checks the shape: a samlp:Response, Success, exactly one
 * saml:Assertion as its child, no EncryptedAssertion, every element in a
 * namespace, at most 32 levels deep, signatures only as direct children of
 * the Response or the Assertion, one reference each to its parent's ID,
 * allowed algorithms, unique IDs. */
void flexsaml_shape_check(apr_pool_t *p, const char *xml, apr_size_t len, int allow_sha1,
                          flexsaml_shape *out);

typedef struct {
    const char *id;
    const char *issuer;
    const char *name_id;
    int bearer;            /* a bearer SubjectConfirmation was found */
    const char *recipient; /* of the bearer SubjectConfirmationData */
    const char *sc_in_response_to;
    apr_time_t sc_not_before, sc_not_on_or_after;
    int has_conditions;
    apr_time_t not_before, not_on_or_after;
    /* one entry per AudienceRestriction: apr_array_header_t * of const char * */
    apr_array_header_t *audience_restrictions;
    apr_time_t session_not_on_or_after;
    const char *session_index;
    apr_time_t authn_instant;        /* of the first AuthnStatement, or 0 */
    const char *authn_context_class; /* its AuthnContextClassRef, or NULL */
    apr_table_t *attributes;         /* name -> value, one entry per AttributeValue */
    apr_table_t *name_formats;       /* name -> NameFormat */
    apr_size_t value_bytes;          /* all attribute values together */
    apr_size_t largest_value;
    const char *bad_time; /* the name of a timestamp that did not parse */
} flexsaml_assertion_data;

/* Reads an Assertion element. The text of an element is its whole text
 * content (comments inside do not cut it short). */
void flexsaml_assertion_read(apr_pool_t *p, xmlNode *assertion, flexsaml_assertion_data *out);

#endif
