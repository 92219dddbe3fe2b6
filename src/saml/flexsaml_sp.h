/*
 * The SAML side of the core: the IdP description (idp.c) and the Lasso
 * Service Provider (sp.c). APR, libxml2, OpenSSL and Lasso; no httpd header.
 */
#ifndef FLEXSAML_SP_H
#define FLEXSAML_SP_H

#include "flexsaml.h"

/* ---- idp.c ---- */
typedef struct {
    const char *entity_id;         /* the IdP issuer */
    const char *sso_url;           /* SingleSignOnService, HTTP-Redirect */
    const char *slo_url;           /* SingleLogoutService, or NULL */
    apr_array_header_t *certs_b64; /* const char *: base64 DER signing certs */
    apr_time_t cert_not_after;     /* earliest expiry of the signing certs */
    const char *cert_subject;      /* of the first signing cert */
    const char *metadata;          /* normalized metadata, what Lasso loads */
} flexsaml_idp;

/* Each returns NULL on success or a sentence saying what is wrong. */
const char *flexsaml_idp_from_fields(apr_pool_t *p, const char *cert_pem, const char *sso_url,
                                     const char *issuer, flexsaml_idp **out);
const char *flexsaml_idp_from_metadata(apr_pool_t *p, const char *xml, apr_size_t len,
                                       flexsaml_idp **out);
/* An X.509 validity time as an apr time; 0 when it does not convert. */
struct asn1_string_st;
apr_time_t flexsaml_asn1_time(const struct asn1_string_st *t);

/* Parses one PEM (or bare base64) certificate; fills its base64 DER body,
 * expiry and subject. */
const char *flexsaml_cert_parse(apr_pool_t *p, const char *pem, const char **b64,
                                apr_time_t *not_after, const char **subject);

/* ---- sp.c ---- */
typedef struct flexsaml_sp flexsaml_sp;

typedef struct {
    const char *sp_entity_id;
    int require_signed_response;
    int allow_sha1;
    int clock_skew; /* seconds */
    int require_flex_role;
    flexsaml_role_policy roles;
    const char *roles_attribute;
    const char *user_attribute; /* must be present when set (FlexSAMLUser) */
    /* FlexSAMLRequireClaims: const char *; NULL means full_name, email and
     * the roles attribute */
    const apr_array_header_t *required_claims;
    apr_size_t max_attr_bytes;  /* per value */
    apr_size_t max_total_bytes; /* all attribute values together */
} flexsaml_sp_policy;

/* What a response came to: reason is FLEXSAML_R_NONE when it is accepted. */
typedef struct {
    flexsaml_refusal reason; /* the row of refusal.h: status, words, counter */
    const char *detail;      /* for the log line: never secrets, never raw XML */
    const char *hint;        /* for the person, or NULL for the default hint */
    flexsaml_identity ident;
    const char *assertion_id;
    const char *in_response_to;        /* NULL when unsolicited */
    apr_time_t assertion_expires;      /* keep the assertion id until then */
    apr_time_t session_not_after;      /* SessionNotOnOrAfter, or 0 */
    apr_array_header_t *unknown_roles; /* const char *, for the log */
    const char *destination;           /* the Response's Destination, or NULL */
} flexsaml_sp_result;

/* Once per process, before any other sp call. NULL or an error sentence. */
const char *flexsaml_sp_global_init(void);

/* Builds the Lasso server for one virtual host. The object lives as long as
 * pool p and is only read afterwards, so every thread may share it. */
const char *flexsaml_sp_create(apr_pool_t *p, const flexsaml_sp_policy *pol,
                               const flexsaml_idp *idp, const char *sp_cert_pem,
                               const char *sp_key_pem, flexsaml_sp **out);

const flexsaml_idp *flexsaml_sp_idp(const flexsaml_sp *sp);

/* SP metadata with this ACS URL. */
const char *flexsaml_sp_metadata(apr_pool_t *p, const flexsaml_sp *sp, const char *acs_url,
                                 const char *slo_url);

/* An AuthnRequest for the HTTP-Redirect binding: the URL to send the browser
 * to and the request ID to remember. NULL or an error sentence. A step-up
 * sets force_authn (ForceAuthn="true": the IdP asks again even with a
 * session of its own) and/or contexts (const char *, or NULL: a
 * RequestedAuthnContext with Comparison="exact"). */
const char *flexsaml_sp_authn_request(apr_pool_t *p, const flexsaml_sp *sp, const char *acs_url,
                                      const char *relay_state, int force_authn,
                                      const apr_array_header_t *contexts, const char **url,
                                      const char **request_id);

/* Checks a base64 SAMLResponse from the HTTP-POST binding, as received by
 * acs_url at time now, and extracts the identity. Never keeps state: the
 * caller checks in_response_to and the replay cache. */
void flexsaml_sp_process_response(apr_pool_t *p, const flexsaml_sp *sp, const char *b64,
                                  apr_size_t len, const char *acs_url, apr_time_t now,
                                  flexsaml_sp_result *res);

/* The Lasso library this process runs: its upstream version and the real
 * path of the loaded file (NULL when unknown). */
void flexsaml_lasso_runtime(apr_pool_t *p, int version[3], const char **library);

/* ---- lasso_version.c: the 2025 Lasso fixes ---- */
typedef enum {
    FLEXSAML_LASSO_FIXED,     /* 2.9.0+, or a package known to carry the fixes */
    FLEXSAML_LASSO_UNKNOWN,   /* cannot be told from here: warn */
    FLEXSAML_LASSO_VULNERABLE /* known to lack them: refuse to start */
} flexsaml_lasso_verdict;

/* Judges the loaded Lasso; *found says which version was found, where from,
 * and why (one sentence for the log). Call after flexsaml_sp_global_init. */
flexsaml_lasso_verdict flexsaml_lasso_check(apr_pool_t *p, const char **found);
/* The same for a given version, library path and dpkg directory (NULL:
 * /var/lib/dpkg); for the unit tests. */
flexsaml_lasso_verdict flexsaml_lasso_judge(apr_pool_t *p, const int version[3],
                                            const char *library, const char *dpkg_dir,
                                            const char **found);
/* Debian version order (deb-version(7)): <0, 0, >0. */
int flexsaml_deb_version_cmp(apr_pool_t *p, const char *a, const char *b);

/* xsd:dateTime ("2026-11-28T07:00:00.123Z") -> apr time; 0 when invalid. */
apr_time_t flexsaml_parse_datetime(const char *s);

#endif
