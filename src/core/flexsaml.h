/*
 * mod_flexsaml: the few types shared by the core (APR only, no httpd headers)
 * and the glue. Core files include only this header; glue files also include
 * flexsaml_glue.h.
 */
#ifndef FLEXSAML_H
#define FLEXSAML_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include <apr_time.h>

#include "refusal.h"

#define FLEXSAML_VERSION "0.1.0"

/* ------------------------------------------------------------------ */
/* Roles (roles.c)                                                     */
/* ------------------------------------------------------------------ */

/* What happens to an IdP role value that is neither a Flex role, a wfo.*
 * role, nor the key of a FlexSAMLRoleMap. */
typedef enum {
    FLEXSAML_UNKNOWN_DROP = 0,
    FLEXSAML_UNKNOWN_KEEP,
    FLEXSAML_UNKNOWN_DENY
} flexsaml_unknown_policy;

typedef struct {
    /* lower-cased IdP value -> apr_array_header_t * of const char * roles */
    apr_hash_t *map;
    flexsaml_unknown_policy unknown;
    /* FlexSAMLRoles: lower-case site role -> ""; NULL when none */
    apr_hash_t *site;
} flexsaml_role_policy;

/* A role set is an apr_array_header_t of const char *, lower-case, sorted
 * with strcmp, without duplicates or empty items. */

/* Parses the values of the roles attribute (each value may itself be a
 * comma-separated list) into a role set. Unknown values (after mapping) are
 * appended to *unknown (lower-cased, de-duplicated) when unknown is not NULL,
 * whatever the policy; with FLEXSAML_UNKNOWN_KEEP they are also in the set.
 * Returns the number of unknown values seen. pol may be NULL (no map, drop). */
int flexsaml_roles_parse(apr_pool_t *p, const apr_array_header_t *values,
                         const flexsaml_role_policy *pol, apr_array_header_t **set,
                         apr_array_header_t **unknown);

/* 1 for agent, admin, supervisor and wfo.<something>; 0 otherwise.
 * Case-insensitive. */
int flexsaml_role_is_known(const char *role);

/* 1 when role is known (above) or a site role declared in pol (may be NULL). */
int flexsaml_role_is_declared(const flexsaml_role_policy *pol, const char *role);

/* 1 when the set holds agent, admin or supervisor. */
int flexsaml_roles_has_flex_role(const apr_array_header_t *set);

/* 1 when the (sorted) set contains role (already lower-case). */
int flexsaml_roles_contains(const apr_array_header_t *set, const char *role);

/* "a,b,c" (sep between items); "" for an empty set. */
const char *flexsaml_roles_join(apr_pool_t *p, const apr_array_header_t *set, const char *sep);

/* ------------------------------------------------------------------ */
/* Identity (produced by sp.c, carried in the session)                 */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name_id;
    const char *full_name;     /* NULL when absent */
    const char *email;         /* NULL when absent */
    const char *image_url;     /* NULL when absent */
    apr_array_header_t *roles; /* role set, normalized */
    /* Every attribute of the assertion: name -> value, one apr_table_add
     * per AttributeValue, in document order. */
    apr_table_t *attributes;
    const char *session_index; /* may be NULL */
    /* The assertion's AuthnInstant (0 when absent) and AuthnContextClassRef
     * (NULL when absent): how and when the IdP last checked the person. */
    apr_time_t authn_instant;
    const char *authn_context;
} flexsaml_identity;

/* ------------------------------------------------------------------ */
/* Sessions (session.c)                                                */
/* ------------------------------------------------------------------ */

#define FLEXSAML_SESSION_ID_LEN 43 /* 256 random bits, base64url, no padding */

typedef struct {
    const char *sp_entity_id; /* the session is valid only for this SP */
    apr_time_t created;
    apr_time_t expires;
    /* Last request seen, to the precision FlexSAMLSessionIdleTimeout needs
     * (a tenth of it); 0 means created. A version 1 record reads as created. */
    apr_time_t last_used;
    flexsaml_identity ident;
} flexsaml_session;

/* A fresh random session id (FLEXSAML_SESSION_ID_LEN chars of base64url).
 * Returns NULL when the system RNG fails. */
const char *flexsaml_session_new_id(apr_pool_t *p);

/* 1 when id has the exact shape of a session id (length and alphabet). */
int flexsaml_session_id_valid(const char *id);

/* Serializes a session into a self-delimiting byte string. */
const char *flexsaml_session_encode(apr_pool_t *p, const flexsaml_session *s, apr_size_t *len);

/* Parses what flexsaml_session_encode wrote. Returns NULL (never crashes) on
 * any malformed, truncated or oversized input. */
flexsaml_session *flexsaml_session_decode(apr_pool_t *p, const char *buf, apr_size_t len);

/* Finds the value of cookie `name` in a Cookie request header; NULL when
 * absent, and NULL too when the name appears more than once. */
const char *flexsaml_cookie_get(apr_pool_t *p, const char *cookie_header, const char *name);

/* The Cookie header without any pair named a or b (either may be NULL);
 * NULL when nothing is left. Pairs are rejoined with "; ". */
const char *flexsaml_cookie_without(apr_pool_t *p, const char *cookie_header, const char *a,
                                    const char *b);

/* ------------------------------------------------------------------ */
/* Claims (claims.c)                                                   */
/* ------------------------------------------------------------------ */

/* Pseudo attribute names understood by claims.c besides real SAML attribute
 * names. */
#define FLEXSAML_CLAIM_NAMEID "NameID"

typedef struct {
    const char *attribute; /* SAML attribute name, or FLEXSAML_CLAIM_NAMEID */
    const char *name;      /* environment variable, e.g. FLEX_FULL_NAME */
    int indexed;           /* also export NAME_0 .. NAME_n and NAME_N */
} flexsaml_claim;

#define FLEXSAML_PASS_ENV 1
#define FLEXSAML_PASS_HEADERS 2

typedef struct {
    apr_array_header_t *claims;  /* flexsaml_claim, defaults then FlexSAMLClaim */
    const char *roles_attribute; /* its claim exports the normalized role set */
    const char *separator;       /* joins multi-valued attributes; "," */
    int pass_as;                 /* FLEXSAML_PASS_* bits */
    const char *header_prefix;   /* "X-Flex-" */
    apr_array_header_t *strip;   /* FlexSAMLStripHeaders: more names, or NULL */
} flexsaml_claims_conf;

/* The default claims of docs/design.md: NameID, full_name, email, roles,
 * image_url -> FLEX_NAME_ID, FLEX_FULL_NAME, FLEX_EMAIL, FLEX_ROLES,
 * FLEX_IMAGE_URL. */
flexsaml_claims_conf *flexsaml_claims_default(apr_pool_t *p);

/* Adds to env and to headers (either may be NULL) the exported claims of an
 * identity; the caller chooses by pass_as. A claim whose attribute is absent
 * is not exported. Names and values are set, not copied: p must live as
 * long as the tables (the request pool for a request's tables). */
void flexsaml_claims_export(apr_pool_t *p, const flexsaml_claims_conf *c,
                            const flexsaml_identity *id, apr_table_t *env, apr_table_t *headers);

/* Removes from request headers every name a client could use to pass for
 * the module: anything under header_prefix or "Flex-", an exported name
 * (case-insensitive, '-' and '_' alike, with or without _0.._N suffixes),
 * Remote-User and Auth-Type. */
void flexsaml_claims_strip(apr_pool_t *p, const flexsaml_claims_conf *c, apr_table_t *headers);
/* The identity headers stripped from every request of a FlexSAML host. */
extern const char *const flexsaml_identity_headers[];

/* FLEX_FULL_NAME with prefix "X-Flex-" -> "X-Flex-Full-Name": the prefix,
 * then the env name without a leading "FLEX_", words capitalized, '_' -> '-'. */
const char *flexsaml_claims_header_name(apr_pool_t *p, const char *prefix, const char *env_name);

/* 1 when v contains no ASCII control character (0x00-0x1f, 0x7f) and is
 * valid UTF-8; 0 otherwise. */
int flexsaml_value_is_clean(const char *v);

/* Length (1..4) of the strict UTF-8 sequence at s and its code point in *cp,
 * or 0 when s does not start one. Never reads past a NUL. */
int flexsaml_utf8_seq(const unsigned char *s, unsigned int *cp);

/* ------------------------------------------------------------------ */
/* Redirect targets (redirect.c)                                       */
/* ------------------------------------------------------------------ */

/* Returns a safe redirect target for candidate, or NULL when it is not one.
 * Safe: a local absolute path ("/x", not "//x", no backslash, no control
 * character or space, no scheme), or an absolute http(s) URL without
 * userinfo whose host (case-insensitive, exact) is this_host or one of
 * allowed_hosts (const char *; an entry ".example.com" allows subdomains of
 * example.com). */
const char *flexsaml_redirect_target(apr_pool_t *p, const char *candidate, const char *this_host,
                                     const apr_array_header_t *allowed_hosts);

#endif
