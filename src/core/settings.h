/*
 * The settings model: every FlexSAML directive, its grammar, its default and
 * how a virtual host inherits it, written once for the module (src/httpd)
 * and for the tool (tools/), so that the two cannot drift apart.
 */
#ifndef FLEXSAML_SETTINGS_H
#define FLEXSAML_SETTINGS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "flexsaml.h"

#define FLEXSAML_UNSET -1

/* FlexSAMLTaskRouter */
#define FLEXSAML_TR_OFF 0
#define FLEXSAML_TR_ON 1
#define FLEXSAML_TR_SYNC 2

typedef struct {
    int mode; /* FLEXSAML_TR_* */
    const char *where;
    const char *workspace;
    const char *cred_file;   /* or: */
    const char *cred_env[2]; /* env variable names of the SID and the secret */
    const char *base_url;
    apr_array_header_t *owned; /* const char *; NULL: the default */
    const char *worker_claim;
    int create;
    apr_interval_time_t timeout, deadline, sync_timeout, backoff_base, backoff_max;
    int queue_size;
} flexsaml_tr_settings;

/* The fields of flexsaml_settings, as a list: the module's and the tool's
 * server structs splice it into an anonymous member beside their own fields,
 * so code written against c->field keeps reading the one model. */
#define FLEXSAML_SETTINGS_FIELDS                                                                   \
    const char *sp_entity_id;                                                                      \
    const char *endpoint; /* "/flexsaml" */                                                        \
    const char *acs_path; /* default <endpoint>/acs */                                             \
    const char *sp_cert_file;                                                                      \
    const char *sp_key_file;                                                                       \
    const char *idp_metadata_file;                                                                 \
    const char *idp_cert_file;                                                                     \
    const char *idp_sso_url;                                                                       \
    const char *idp_issuer;                                                                        \
    const char *idp_metadata_url;                                                                  \
    const char *idp_metadata_ca;    /* CA file for the metadata URL's TLS */                       \
    const char *idp_metadata_cache; /* last good copy */                                           \
    apr_interval_time_t idp_metadata_refresh;                                                      \
    apr_interval_time_t cert_expiry_warning;                                                       \
    const char *where; /* file:line of the IdP directives, for messages */                         \
    int idp_initiated;                                                                             \
    const char *default_url;                                                                       \
    int require_signed_response;                                                                   \
    int clock_skew;  /* seconds */                                                                 \
    int request_ttl; /* seconds a pending AuthnRequest stays valid */                              \
    const char *cache_spec;                                                                        \
    const char *cache_password;                /* a secret source: file:/path or env:VAR */        \
    apr_interval_time_t cache_connect_timeout; /* 0: the backend's default */                      \
    apr_interval_time_t cache_io_timeout;                                                          \
    int cache_local; /* FlexSAMLSessionCacheLocal */                                               \
    apr_interval_time_t session_lifetime;                                                          \
    const char *cookie_name;                                                                       \
    apr_array_header_t *redirect_hosts; /* const char * */                                         \
    apr_off_t max_body;                                                                            \
    int allow_sha1;                                                                                \
    flexsaml_role_policy roles;                                                                    \
    int require_flex_role;                                                                         \
    flexsaml_claims_conf *claims;                                                                  \
    apr_size_t max_attr_bytes;                                                                     \
    apr_size_t max_session_bytes;                                                                  \
    const char *user_attribute;          /* FlexSAMLUser; NULL = NameID */                         \
    apr_array_header_t *trusted_proxies; /* apr_ipsubnet_t *, or NULL */                           \
    int forwarded_headers;           /* FLEXSAML_FWD_* taken from a trusted proxy; UNSET: all */   \
    apr_array_header_t *passphrases; /* FlexSAMLCryptoPassphrase sources */                        \
    int strip_cookies;               /* the module's cookies kept from proxies and CGI */          \
    apr_array_header_t *required_claims;      /* FlexSAMLRequireClaims; empty: none */             \
    apr_interval_time_t session_idle_timeout; /* 0: off */                                         \
    apr_off_t preserve_post; /* FlexSAMLPreservePost: largest body kept; 0: off */                 \
    apr_off_t                                                                                      \
        preserve_post_budget; /* FlexSAMLPreservePost's 2nd: bytes kept per request lifetime */    \
    flexsaml_tr_settings taskrouter;

/* One server's settings: FLEXSAML_UNSET or NULL where its directives are
 * silent, until flexsaml_settings_apply_defaults. */
typedef struct flexsaml_settings {
    FLEXSAML_SETTINGS_FIELDS
} flexsaml_settings;

/* What a directory section may set. */
/* FlexSAMLUnauthenticated: what a directory answers a browser without a
 * session. */
#define FLEXSAML_UNAUTH_LOGIN 0
#define FLEXSAML_UNAUTH_401 1
#define FLEXSAML_UNAUTH_403 2

typedef struct {
    int pass_as;                      /* FLEXSAML_PASS_* or FLEXSAML_UNSET */
    int auth_optional;                /* FlexSAMLAuth optional: 1, required: 0, or FLEXSAML_UNSET */
    int unauth;                       /* FLEXSAML_UNAUTH_* or FLEXSAML_UNSET */
    apr_interval_time_t max_auth_age; /* FlexSAMLMaxAuthAge, or FLEXSAML_UNSET */
    apr_array_header_t *authn_contexts; /* FlexSAMLAuthnContextClassRef: const char *, or NULL */
} flexsaml_dir_settings;

/* ---- the directives ---- */

/* How a directive's arguments are split, as httpd's AP_INIT_* say. */
typedef enum {
    FLEXSAML_ARGS_TAKE1,
    FLEXSAML_ARGS_TAKE12,
    FLEXSAML_ARGS_TAKE23,
    FLEXSAML_ARGS_FLAG,
    FLEXSAML_ARGS_ITERATE,
    FLEXSAML_ARGS_TAKE_ARGV
} flexsaml_args;

/* Where a directive may appear. */
typedef enum { FLEXSAML_IN_SERVER, FLEXSAML_IN_SERVER_DIR } flexsaml_context;

/* Every directive: X(name without "FlexSAML", argument shape, context, help).
 * The module's command table, the core table and the tool are all expanded
 * from this one list; adding a directive here (and its setter in
 * settings_set.c or settings_tr.c) is all it takes. */
/* FlexSAMLForwardedHeaders: the headers of a trusted proxy that count. */
#define FLEXSAML_FWD_FORWARDED 1
#define FLEXSAML_FWD_PROTO 2
#define FLEXSAML_FWD_HOST 4
#define FLEXSAML_FWD_PORT 8
#define FLEXSAML_FWD_ALL 15

#define FLEXSAML_DIRECTIVES(X)                                                                     \
    X(SPEntityID, TAKE1, SERVER, "This SP's entity ID (Okta: Audience URI)")                       \
    X(EndpointPath, TAKE1, SERVER,                                                                 \
      "Path under which metadata, acs, login and logout are served (default /flexsaml)")           \
    X(ACSPath, TAKE1, SERVER,                                                                      \
      "Path of the assertion consumer service (default <endpoint>/acs), for a migration that "     \
      "must keep Okta's Single sign-on URL")                                                       \
    X(SPCertificateFile, TAKE1, SERVER, "PEM certificate of this SP, published in its metadata")   \
    X(SPPrivateKeyFile, TAKE1, SERVER, "PEM private key of this SP")                               \
    X(IdPMetadataFile, TAKE1, SERVER, "IdP metadata XML file (instead of the three IdP fields)")   \
    X(IdPCertificateFile, TAKE1, SERVER, "Okta's X.509 signing certificate (PEM)")                 \
    X(IdPSSOURL, TAKE1, SERVER, "Okta's Identity Provider Single Sign-On URL")                     \
    X(IdPIssuer, TAKE1, SERVER, "Okta's Identity Provider Issuer")                                 \
    X(IdPInitiated, FLAG, SERVER, "Accept IdP-initiated (unsolicited) logins (default on)")        \
    X(DefaultURL, TAKE1, SERVER, "Where a login lands without a usable RelayState (default /)")    \
    X(RequireSignedResponse, FLAG, SERVER,                                                         \
      "Refuse responses whose Response element is unsigned (default on)")                          \
    X(ClockSkew, TAKE1, SERVER,                                                                    \
      "Allowed clock difference with the IdP in seconds (default 60, at most 300)")                \
    X(SessionCache, TAKE1, SERVER,                                                                 \
      "Session store: lmdb[:directory[(size)]] (default, in DefaultRuntimeDir), "                  \
      "redis://[user@]host:port[/db], redis-sentinel://host:port[,...]/master[/db], "              \
      "shmcb[:path(size)], memcache:host:port[,...], dbm:path")                                    \
    X(SessionCachePassword, TAKE1, SERVER,                                                         \
      "The Redis password (AUTH) for redis:// and redis-sentinel://: file:/path (mode 600) or "    \
      "env:VAR")                                                                                   \
    X(SessionCacheTimeout, TAKE12, SERVER,                                                         \
      "Redis connect timeout, then I/O timeout (default 500ms 2s)")                                \
    X(SessionCacheLocal, FLAG, SERVER,                                                             \
      "Keep a copy of Redis reads in each child, kept true by Redis's invalidation messages "      \
      "(default on)")                                                                              \
    X(SessionLifetime, TAKE1, SERVER,                                                              \
      "Session lifetime (default 8h), capped by SessionNotOnOrAfter")                              \
    X(SessionIdleTimeout, TAKE1, SERVER,                                                           \
      "A session unused for this long ends (default off), for shared desks")                       \
    X(CookieName, TAKE1, SERVER, "Name of the session cookie (default flexsaml_session)")          \
    X(RequestLifetime, TAKE1, SERVER,                                                              \
      "How long a started sign-in may take, in its login-state cookie (default 10m)")              \
    X(RedirectDomains, ITERATE, SERVER,                                                            \
      "Hosts a RelayState may send the browser to besides this one")                               \
    X(MaxBodySize, TAKE1, SERVER, "Largest POST body the ACS reads (default 262144)")              \
    X(MaxAttributeBytes, TAKE1, SERVER, "Largest attribute value accepted (default 16384)")        \
    X(AllowSHA1, FLAG, SERVER, "Accept RSA-SHA1 signatures (default off; an escape hatch only)")   \
    X(RoleMap, TAKE_ARGV, SERVER,                                                                  \
      "Maps an IdP value to Flex roles: FlexSAMLRoleMap <value> <role>...")                        \
    X(UnknownRoles, TAKE1, SERVER,                                                                 \
      "keep, drop (default) or deny role values that are not Flex roles")                          \
    X(RequireFlexRole, FLAG, SERVER,                                                               \
      "Refuse a login without agent, admin or supervisor (default on)")                            \
    X(Roles, ITERATE, SERVER,                                                                      \
      "Site role names besides the Flex ones, for FlexSAMLRoleMap and Require flex-role")          \
    X(RequireClaims, TAKE_ARGV, SERVER,                                                            \
      "Attributes a login must carry (default full_name email roles), or none")                    \
    X(Auth, TAKE1, SERVER_DIR,                                                                     \
      "required (default) or optional: without a session, go on anonymously")                      \
    X(Unauthenticated, TAKE1, SERVER_DIR,                                                          \
      "What a request without a session gets: login (default), 401 or 403")                        \
    X(MaxAuthAge, TAKE1, SERVER_DIR,                                                               \
      "A session whose sign-in is older signs in again, with ForceAuthn (per directory)")          \
    X(AuthnContextClassRef, ITERATE, SERVER_DIR,                                                   \
      "Authentication context classes to request and require (per directory)")                     \
    X(PreservePost, TAKE12, SERVER,                                                                \
      "Largest form POST kept through a login and replayed after it (default 1048576), or off; "   \
      "then how many bytes of such POSTs a virtual host keeps per FlexSAMLRequestLifetime "        \
      "(default 67108864)")                                                                        \
    X(Claim, TAKE23, SERVER,                                                                       \
      "Exports a SAML attribute: FlexSAMLClaim <attribute> <VARIABLE> [indexed]")                  \
    X(ClaimSeparator, TAKE1, SERVER, "Joins the values of a multi-valued attribute (default ,)")   \
    X(User, TAKE1, SERVER, "The attribute that becomes REMOTE_USER (default: the NameID)")         \
    X(PassClaimsAs, TAKE1, SERVER_DIR, "environment (default), headers or both")                   \
    X(HeaderPrefix, TAKE1, SERVER, "Prefix of the claim headers (default X-Flex-)")                \
    X(StripHeaders, ITERATE, SERVER,                                                               \
      "More client headers to remove on every request (X-Remote-User and the like always are)")    \
    X(StripCookies, FLAG, SERVER,                                                                  \
      "Remove the module's cookies from requests to proxied back ends and CGI (default on)")       \
    X(MaxSessionBytes, TAKE1, SERVER,                                                              \
      "Largest stored session, all attributes together (default 49152)")                           \
    X(TrustedProxies, ITERATE, SERVER,                                                             \
      "Addresses whose X-Forwarded-Proto/-Host or Forwarded headers define the public URL")        \
    X(ForwardedHeaders, ITERATE, SERVER,                                                           \
      "Which headers of a trusted proxy count: Forwarded X-Forwarded-Proto X-Forwarded-Host "      \
      "X-Forwarded-Port (default: all four); name only those the proxy sets itself")               \
    X(CryptoPassphrase, TAKE12, SERVER,                                                            \
      "Seals stored sessions: file:/path (mode 600) or env:VAR (current), then optionally the "    \
      "previous one")                                                                              \
    X(IdPMetadataURL, TAKE1, SERVER,                                                               \
      "Okta's metadata URL, fetched at startup and refreshed in the background")                   \
    X(IdPMetadataCA, TAKE1, SERVER,                                                                \
      "CA certificates that verify the metadata URL (default: the system's)")                      \
    X(IdPMetadataCache, TAKE1, SERVER,                                                             \
      "File keeping the last good metadata, used when the URL cannot be reached")                  \
    X(IdPMetadataRefresh, TAKE1, SERVER,                                                           \
      "How often the metadata URL is fetched again (default 24h)")                                 \
    X(CertExpiryWarning, TAKE1, SERVER,                                                            \
      "Warn when the IdP signing certificate expires within this (default 30d)")                   \
    X(TaskRouter, TAKE1, SERVER,                                                                   \
      "on: update the person's TaskRouter Worker after each login, in the background; sync: "      \
      "before the redirect, within FlexSAMLTaskRouterSyncTimeout; off (default)")                  \
    X(TaskRouterWorkspace, TAKE1, SERVER, "The Flex TaskRouter Workspace SID (WS...)")             \
    X(TaskRouterCredentials, TAKE12, SERVER,                                                       \
      "A file (mode 600) holding an API Key SID and secret (or Account SID and auth token); "      \
      "or env:SID_VARIABLE env:SECRET_VARIABLE")                                                   \
    X(TaskRouterBaseURL, TAKE1, SERVER,                                                            \
      "TaskRouter's base URL (default https://taskrouter.twilio.com)")                             \
    X(TaskRouterAttributes, ITERATE, SERVER,                                                       \
      "The Worker attribute keys this module owns (default full_name email roles image_url); "     \
      "no other key is ever written")                                                              \
    X(TaskRouterWorkerName, TAKE1, SERVER,                                                         \
      "The claim that is the Worker's FriendlyName (default email)")                               \
    X(TaskRouterCreateWorkers, FLAG, SERVER,                                                       \
      "Create a missing Worker (default off: only update existing ones)")                          \
    X(TaskRouterTimeout, TAKE1, SERVER,                                                            \
      "Timeout of one request to TaskRouter (default 5s; ms, s, m, h, d suffixes)")                \
    X(TaskRouterDeadline, TAKE1, SERVER,                                                           \
      "How long after a login its update may still be retried (default 2m)")                       \
    X(TaskRouterSyncTimeout, TAKE1, SERVER,                                                        \
      "In sync mode, how long a login may wait for TaskRouter (default 2s)")                       \
    X(TaskRouterBackoff, TAKE12, SERVER,                                                           \
      "First and longest delay between retries (default 1s 30s)")                                  \
    X(TaskRouterQueueSize, TAKE1, SERVER, "Most updates waiting per child process (default 1000)")

#define FLEXSAML_DIRECTIVE_ID(id, shape, where, help) FLEXSAML_D_##id,
enum { FLEXSAML_DIRECTIVES(FLEXSAML_DIRECTIVE_ID) FLEXSAML_D_COUNT };
#undef FLEXSAML_DIRECTIVE_ID

/* What a setter knows about the place a directive is written. */
typedef struct {
    apr_pool_t *p;              /* lives as long as the settings */
    const char *where;          /* "file:line" */
    const char *server_root;    /* relative paths are under it */
    flexsaml_dir_settings *dir; /* inside a directory section, else NULL */
} flexsaml_set_ctx;

/* Sets s from the directive's arguments: NULL, or a sentence that names
 * the directive and says what is accepted. */
typedef const char *(*flexsaml_setter)(const flexsaml_set_ctx *cx, flexsaml_settings *s, int argc,
                                       const char *const *argv);

typedef struct {
    const char *name; /* "FlexSAMLSPEntityID" */
    flexsaml_args args;
    flexsaml_context context;
    const char *help;
    flexsaml_setter set;
} flexsaml_directive;

/* The table, FLEXSAML_D_COUNT entries in FLEXSAML_DIRECTIVES order. */
extern const flexsaml_directive flexsaml_directives[];

/* The directive of that name (case-insensitive, as httpd), or NULL. */
const flexsaml_directive *flexsaml_directive_find(const char *name);

/* httpd's own message when argc does not fit the directive's shape, or
 * NULL; for readers other than httpd, which checks this itself. */
const char *flexsaml_directive_check_args(apr_pool_t *p, const flexsaml_directive *d, int argc);

/* ---- settings.c: create, merge, defaults ---- */
void flexsaml_settings_init(flexsaml_settings *s);
void flexsaml_settings_merge(apr_pool_t *p, flexsaml_settings *out, const flexsaml_settings *base,
                             const flexsaml_settings *add);
/* Fills in what no directive said; the defaults live only here. */
void flexsaml_settings_apply_defaults(apr_pool_t *p, flexsaml_settings *s);
/* 1 when FlexSAML applies to the server: any SP or IdP directive. */
int flexsaml_settings_configured(const flexsaml_settings *s);

void flexsaml_dir_settings_init(flexsaml_dir_settings *d);
void flexsaml_dir_settings_merge(flexsaml_dir_settings *out, const flexsaml_dir_settings *base,
                                 const flexsaml_dir_settings *add);

/* The TaskRouter part, merged and defaulted as a unit (settings_tr.c). */
void flexsaml_tr_settings_init(flexsaml_tr_settings *t);
void flexsaml_tr_settings_merge(flexsaml_tr_settings *out, const flexsaml_tr_settings *base,
                                const flexsaml_tr_settings *add);
void flexsaml_tr_settings_apply_defaults(apr_pool_t *p, flexsaml_tr_settings *t);

#endif
