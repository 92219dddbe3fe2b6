/*
 * flexsaml inspect: what is read from a pasted SAMLResponse or assertion
 * (inspect_read.c), the checks made on it (inspect_check.c, which also runs
 * the module's own pipeline from the core), signature verification with
 * xmlsec (verify.c) and the report (cmd_inspect.c).
 */
#ifndef FLEXSAML_TOOL_INSPECT_H
#define FLEXSAML_TOOL_INSPECT_H

#include <libxml/tree.h>

#include "tool.h"
#include "saml_xml.h"

typedef enum { SEV_REFUSED, SEV_WARNING, SEV_NOTE } inspect_sev;

typedef struct {
    inspect_sev sev;
    const char *reason; /* the module's reason code, or NULL for a warning/note */
    const char *text;   /* words for the operator, already printable */
} inspect_finding;

typedef struct {
    const char *name;
    const char *format;         /* NameFormat as sent, or NULL */
    apr_array_header_t *values; /* const char *, raw (print through tool_safe) */
} inspect_attr;

typedef struct {
    xmlNode *node;       /* the ds:Signature, or NULL when absent */
    const char *sig_alg; /* SignatureMethod URI */
    const char *dig_alg; /* DigestMethod URI */
    int references;
    const char *keyinfo_b64; /* certificate in KeyInfo, whitespace removed */
    int verified;            /* -1 not checked, 0 no, 1 yes */
    const char *verify_text; /* how it was (not) verified */
} inspect_sig;

typedef struct {
    tool_ctx *t;

    /* input */
    const char *kind; /* "a base64 SAMLResponse", ... */
    int assertion_only;
    const char *xml;
    apr_size_t xml_len;
    const char *b64; /* what the module would receive as SAMLResponse */
    int readable;    /* the document could be read (shape.response set) */

    /* the document */
    flexsaml_shape shape;
    xmlNode *response, *assertion;
    const char *response_id, *issue_instant, *destination, *in_response_to, *issuer;
    apr_array_header_t *status_codes; /* const char * */
    const char *status_message;
    int encrypted_assertions, assertions;
    flexsaml_assertion_data ad;
    const char *name_id_format;
    const char *cond_not_before, *cond_not_on_or_after; /* as written */
    const char *sc_not_on_or_after;
    apr_array_header_t *attrs; /* inspect_attr */
    inspect_sig rsig, asig;
    int other_sigs;

    /* what it is compared with */
    tool_server *srv; /* NULL without --sp-config */
    const char *conf_file;
    const char *acs_url; /* expected, NULL when unknown */
    const char *entity_id;
    const char *idp_issuer;
    apr_array_header_t *certs; /* tool_cert, may be empty */
    const char *cert_source;
    int cert_source_is_cli; /* --cert: it replaces the configured IdP's keys */
    flexsaml_sp_policy pol;
    int idp_initiated;

    /* results */
    int core_ran;
    const char *core_skipped; /* why the module's pipeline was not run */
    flexsaml_sp_result core;
    flexsaml_identity ident; /* what the configuration would export */
    apr_array_header_t *unknown_roles;
    apr_array_header_t *findings; /* inspect_finding */
} inspection;

/* inspect_read.c: decodes the input and reads the document. NULL, or why
 * nothing more can be read (also recorded as a finding). */
const char *inspect_read(inspection *in, const char *raw, apr_size_t len);

/* verify.c */
void inspect_verify_init(void);
void inspect_verify(apr_pool_t *p, xmlDoc *doc, inspect_sig *sig, const apr_array_header_t *certs,
                    const char *cert_source);

/* inspect_check.c */
void inspect_check(inspection *in);
void inspect_add(inspection *in, inspect_sev sev, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The first refusal (the module's reason when its pipeline ran), or NULL. */
const inspect_finding *inspect_verdict(const inspection *in);

/* Algorithm URIs as Okta names them: "RSA-SHA256", "SHA-256". */
const char *inspect_alg_name(const char *uri);

#endif
