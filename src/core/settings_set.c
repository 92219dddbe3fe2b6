/*
 * The setters of the SAML, session and claims directives (settings_set.h);
 * the TaskRouter ones are in settings_tr.c.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_network_io.h>

#include "settings_set.h"
#include "login_state.h"

#define MAX_SKEW 300

/* The IdP directives say where the IdP is described, for the messages of
 * a virtual host that names only part of it. */
static const char *idp_part(const flexsaml_set_ctx *cx, flexsaml_settings *s, const char **field,
                            const char *value)
{
    *field = value;
    s->where = cx->where;
    return NULL;
}

#define SET_IDP(id, field)                                                                         \
    SETTER(id)                                                                                     \
    {                                                                                              \
        (void)argc;                                                                                \
        return idp_part(cx, s, &s->field, argv[0]);                                                \
    }
#define SET_IDP_FILE(id, field)                                                                    \
    SETTER(id)                                                                                     \
    {                                                                                              \
        (void)argc;                                                                                \
        return idp_part(cx, s, &s->field,                                                          \
                        flexsaml_root_relative(cx->p, cx->server_root, argv[0]));                  \
    }

SET_STRING(SPEntityID, sp_entity_id)
SET_URL_PATH(EndpointPath, endpoint)
SET_URL_PATH(ACSPath, acs_path)
SET_FILE(SPCertificateFile, sp_cert_file)
SET_FILE(SPPrivateKeyFile, sp_key_file)
SET_IDP_FILE(IdPMetadataFile, idp_metadata_file)
SET_IDP_FILE(IdPCertificateFile, idp_cert_file)
SETTER(IdPSSOURL)
{
    const char *v = argv[0];
    (void)argc;
    /* Reported here, on the directive's own line, not later with the
     * certificate. http is accepted (a test IdP); the scheme is not optional. */
    if (strncasecmp(v, "https://", 8) != 0 && strncasecmp(v, "http://", 7) != 0)
        return apr_psprintf(cx->p,
                            "FlexSAMLIdPSSOURL \"%s\" does not start with https://: copy Okta's "
                            "\"Identity Provider Single Sign-On URL\" whole, e.g. "
                            "https://example.okta.com/app/example_flex_1/exk.../sso/saml",
                            v);
    return idp_part(cx, s, &s->idp_sso_url, v);
}
SET_IDP(IdPIssuer, idp_issuer)
SET_IDP(IdPMetadataURL, idp_metadata_url)
SET_IDP_FILE(IdPMetadataCA, idp_metadata_ca)
SET_IDP_FILE(IdPMetadataCache, idp_metadata_cache)
SET_LIFETIME(IdPMetadataRefresh, idp_metadata_refresh)
SET_LIFETIME(CertExpiryWarning, cert_expiry_warning)
SET_FLAG(IdPInitiated, idp_initiated)
SET_STRING(DefaultURL, default_url)
SET_FLAG(RequireSignedResponse, require_signed_response)
SET_FLAG(AllowSHA1, allow_sha1)
SET_FLAG(RequireFlexRole, require_flex_role)
SET_FLAG(StripCookies, strip_cookies)
SET_STRING(SessionCache, cache_spec)
SET_STRING(SessionCachePassword, cache_password)
SET_FLAG(SessionCacheLocal, cache_local)

SETTER(SessionCacheTimeout)
{
    const char *err = flexsaml_parse_duration(cx->p, NAME(SessionCacheTimeout), argv[0], 1,
                                              apr_time_from_sec(60), &s->cache_connect_timeout);
    if (!err && argc > 1)
        err = flexsaml_parse_duration(cx->p, NAME(SessionCacheTimeout), argv[1], 1,
                                      apr_time_from_sec(60), &s->cache_io_timeout);
    return err;
}
SET_STRING(CookieName, cookie_name)
SET_SIZE(MaxBodySize, max_body, apr_off_t)
SET_SIZE(MaxAttributeBytes, max_attr_bytes, apr_size_t)
SET_SIZE(MaxSessionBytes, max_session_bytes, apr_size_t)
SET_STRING(User, user_attribute)

/* A session outlives a person's removal from Okta (there is no back channel
 * but Single Logout): 30 days at most, as conf/flexsaml.conf says. */
#define MAX_SESSION_LIFETIME apr_time_from_sec(30 * 86400)

SETTER(SessionLifetime)
{
    (void)argc;
    return flexsaml_parse_duration(cx->p, NAME(SessionLifetime), argv[0], APR_USEC_PER_SEC,
                                   MAX_SESSION_LIFETIME, &s->session_lifetime);
}

/* Use is recorded at most every tenth of it: a timeout under 10 seconds
 * would write the store on nearly every request. */
SETTER(SessionIdleTimeout)
{
    (void)argc;
    if (!strcasecmp(argv[0], "off")) {
        s->session_idle_timeout = 0;
        return NULL;
    }
    return flexsaml_parse_duration(cx->p, NAME(SessionIdleTimeout), argv[0], apr_time_from_sec(10),
                                   LONGEST, &s->session_idle_timeout);
}

SETTER(PreservePost)
{
    apr_int64_t v, budget = 0;
    const char *err;
    if (!strcasecmp(argv[0], "off")) {
        if (argc > 1)
            return apr_psprintf(cx->p, "%s off takes nothing after it", NAME(PreservePost));
        s->preserve_post = 0;
        s->preserve_post_budget = 0;
        return NULL;
    }
    if ((err = flexsaml_parse_number(cx->p, NAME(PreservePost), argv[0], "a byte count or off",
                                     MIN_SIZE, MAX_SIZE, &v)) != NULL)
        return err;
    if (argc > 1) {
        if ((err = flexsaml_parse_number(cx->p, NAME(PreservePost), argv[1],
                                         "a byte count (what a virtual host keeps per "
                                         "FlexSAMLRequestLifetime)",
                                         MIN_SIZE, (apr_int64_t)16 * 1024 * MAX_SIZE, &budget)) !=
            NULL)
            return err;
        if (budget < v)
            return apr_psprintf(cx->p,
                                "%s %s %s: the second value (bytes kept per "
                                "FlexSAMLRequestLifetime) must be at least the first (the largest "
                                "POST)",
                                NAME(PreservePost), argv[0], argv[1]);
        s->preserve_post_budget = (apr_off_t)budget;
    }
    s->preserve_post = (apr_off_t)v;
    return NULL;
}

SETTER(ClockSkew)
{
    apr_interval_time_t v;
    const char *err = flexsaml_parse_duration(cx->p, NAME(ClockSkew), argv[0], 0, LONGEST, &v);
    (void)argc;
    if (err)
        return err;
    if (v > apr_time_from_sec(MAX_SKEW))
        return apr_psprintf(cx->p,
                            "FlexSAMLClockSkew %s: at most %d seconds is allowed; fix the clock "
                            "(NTP) rather than widen the window",
                            argv[0], MAX_SKEW);
    s->clock_skew = (int)apr_time_sec(v);
    return NULL;
}

/* The login-state cookie carries it as Max-Age: seconds, and at most an
 * hour, since a pending login is an open door for that long. */
SETTER(RequestLifetime)
{
    apr_interval_time_t v;
    const char *err = flexsaml_parse_duration(cx->p, NAME(RequestLifetime), argv[0],
                                              APR_USEC_PER_SEC, apr_time_from_sec(3600), &v);
    (void)argc;
    if (err)
        return err;
    s->request_ttl = (int)apr_time_sec(v);
    return NULL;
}

SETTER(RedirectDomains)
{
    (void)argc;
    if (strpbrk(argv[0], "/:@\\ ") || !*argv[0])
        return apr_psprintf(cx->p,
                            "FlexSAMLRedirectDomains: \"%s\" must be a host name such as "
                            "portal.example.com, or .example.com for its subdomains",
                            argv[0]);
    if (!s->redirect_hosts)
        s->redirect_hosts = apr_array_make(cx->p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(s->redirect_hosts, const char *) = apr_pstrdup(cx->p, argv[0]);
    return NULL;
}

static char *lower(apr_pool_t *p, const char *v)
{
    char *c, *out = apr_pstrdup(p, v);
    for (c = out; *c; c++)
        *c = (char)apr_tolower(*c);
    return out;
}

SETTER(RoleMap)
{
    apr_array_header_t *targets;
    int i;
    if (argc < 2)
        return "FlexSAMLRoleMap needs an IdP value and at least one role, e.g. "
               "FlexSAMLRoleMap Flex-Supervisors supervisor";
    targets = apr_array_make(cx->p, argc - 1, sizeof(const char *));
    for (i = 1; i < argc; i++) {
        if (!flexsaml_role_is_declared(&s->roles, argv[i]))
            return apr_psprintf(cx->p,
                                "FlexSAMLRoleMap %s: \"%s\" is not a Flex role (agent, admin, "
                                "supervisor), a Flex Insights role (wfo.<name>) or a site role; "
                                "declare a site role first with FlexSAMLRoles %s",
                                argv[0], argv[i], argv[i]);
        APR_ARRAY_PUSH(targets, const char *) = lower(cx->p, argv[i]);
    }
    if (!s->roles.map)
        s->roles.map = apr_hash_make(cx->p);
    apr_hash_set(s->roles.map, lower(cx->p, argv[0]), APR_HASH_KEY_STRING, targets);
    return NULL;
}

/* A site role is matched exactly in `Require flex-role` and FLEX_ROLES:
 * the same alphabet as the Flex Insights roles, so it needs no escaping. */
SETTER(Roles)
{
    const char *c;
    (void)argc;
    for (c = argv[0]; *c; c++)
        if (!(apr_isalnum(*c) || *c == '_' || *c == '-' || *c == '.'))
            break;
    if (!*argv[0] || *c || strlen(argv[0]) > 256)
        return apr_psprintf(cx->p,
                            "FlexSAMLRoles: \"%s\" is not a role name: use letters, digits, _, "
                            "- and . only, and separate roles with spaces",
                            argv[0]);
    if (!strncasecmp(argv[0], "wfo.", 4))
        return apr_psprintf(cx->p,
                            "FlexSAMLRoles: \"%s\" is a Flex Insights role, known already; "
                            "declare only the site's own roles",
                            argv[0]);
    if (!s->roles.site)
        s->roles.site = apr_hash_make(cx->p);
    apr_hash_set(s->roles.site, lower(cx->p, argv[0]), APR_HASH_KEY_STRING, "");
    return NULL;
}

/* A list on one line replaces the default: an Okta app that is not shaped
 * for Flex says `none` and is judged on its signature and NameID alone. */
SETTER(RequireClaims)
{
    int i;
    if (argc < 1)
        return "FlexSAMLRequireClaims needs attribute names (e.g. full_name email roles) or none";
    s->required_claims = apr_array_make(cx->p, argc, sizeof(const char *));
    if (argc == 1 && !strcasecmp(argv[0], "none"))
        return NULL;
    for (i = 0; i < argc; i++) {
        if (!strcasecmp(argv[i], "none"))
            return "FlexSAMLRequireClaims: \"none\" stands alone; list attributes or say none";
        if (!*argv[i] || strpbrk(argv[i], " ,\t\r\n"))
            return apr_psprintf(cx->p,
                                "FlexSAMLRequireClaims: \"%s\" is not an attribute name; "
                                "separate names with spaces",
                                argv[i]);
        APR_ARRAY_PUSH(s->required_claims, const char *) = argv[i];
    }
    return NULL;
}

SETTER(Auth)
{
    static const char *const names[] = {"required", "optional", NULL};
    int i;
    const char *err = flexsaml_parse_enum(cx->p, NAME(Auth), argv[0], names, &i);
    (void)argc;
    (void)s;
    if (err)
        return err;
    if (!cx->dir)
        return "FlexSAMLAuth belongs in a <Location> or <Directory> section with AuthType FlexSAML";
    cx->dir->auth_optional = i;
    return NULL;
}

SETTER(Unauthenticated)
{
    static const char *const names[] = {"login", "401", "403", NULL};
    static const int values[] = {FLEXSAML_UNAUTH_LOGIN, FLEXSAML_UNAUTH_401, FLEXSAML_UNAUTH_403};
    int i;
    const char *err = flexsaml_parse_enum(cx->p, NAME(Unauthenticated), argv[0], names, &i);
    (void)argc;
    (void)s;
    if (err)
        return err;
    if (!cx->dir)
        return "FlexSAMLUnauthenticated belongs in a <Location> or <Directory> section with "
               "AuthType FlexSAML";
    cx->dir->unauth = values[i];
    return NULL;
}

/* Okta answers ForceAuthn by asking for the password (or factor) again;
 * under a minute would sign the person in again on every other click. */
SETTER(MaxAuthAge)
{
    apr_interval_time_t v;
    const char *err;
    (void)argc;
    (void)s;
    if (!cx->dir)
        return "FlexSAMLMaxAuthAge belongs in a <Location> or <Directory> section with AuthType "
               "FlexSAML, e.g. <Location /admin>";
    err = flexsaml_parse_duration(cx->p, NAME(MaxAuthAge), argv[0], apr_time_from_sec(60), LONGEST,
                                  &v);
    if (!err)
        cx->dir->max_auth_age = v;
    return err;
}

/* The classes of one section replace its parent's as a unit. */
SETTER(AuthnContextClassRef)
{
    (void)argc;
    (void)s;
    if (!cx->dir)
        return "FlexSAMLAuthnContextClassRef belongs in a <Location> or <Directory> section with "
               "AuthType FlexSAML";
    if (!strchr(argv[0], ':') || strpbrk(argv[0], " \t\"<>&,"))
        return apr_psprintf(cx->p,
                            "FlexSAMLAuthnContextClassRef: \"%s\" is not a URI such as "
                            "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
                            argv[0]);
    if (!cx->dir->authn_contexts)
        cx->dir->authn_contexts = apr_array_make(cx->p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(cx->dir->authn_contexts, const char *) = apr_pstrdup(cx->p, argv[0]);
    /* The list travels in the login-state cookie of a step-up. */
    if (strlen(apr_array_pstrcat(cx->p, cx->dir->authn_contexts, ',')) >
        FLEXSAML_LOGIN_STATE_MAX_CONTEXTS)
        return apr_psprintf(cx->p,
                            "FlexSAMLAuthnContextClassRef: the classes of one section may take "
                            "%d characters together; list fewer",
                            FLEXSAML_LOGIN_STATE_MAX_CONTEXTS);
    return NULL;
}

SETTER(UnknownRoles)
{
    static const char *const names[] = {"keep", "drop", "deny", NULL};
    static const flexsaml_unknown_policy values[] = {FLEXSAML_UNKNOWN_KEEP, FLEXSAML_UNKNOWN_DROP,
                                                     FLEXSAML_UNKNOWN_DENY};
    int i;
    const char *err = flexsaml_parse_enum(cx->p, NAME(UnknownRoles), argv[0], names, &i);
    (void)argc;
    if (!err)
        s->roles.unknown = values[i];
    return err;
}

/* A server that touches its claims starts from the defaults, not from the
 * main server's claims: a claims list is one unit. */
static flexsaml_claims_conf *claims_of(const flexsaml_set_ctx *cx, flexsaml_settings *s)
{
    if (!s->claims)
        s->claims = flexsaml_claims_default(cx->p);
    return s->claims;
}

static int env_name_ok(const char *n)
{
    if (!*n || !(apr_isalpha(*n) || *n == '_'))
        return 0;
    for (; *n; n++)
        if (!(apr_isalnum(*n) || *n == '_'))
            return 0;
    return 1;
}

SETTER(Claim)
{
    const char *attr = argv[0], *name = argv[1], *opt = argc > 2 ? argv[2] : NULL;
    flexsaml_claims_conf *cc;
    flexsaml_claim *cl = NULL;
    int i;
    if (!env_name_ok(name))
        return apr_psprintf(cx->p,
                            "FlexSAMLClaim %s %s: \"%s\" is not a valid variable name (letters, "
                            "digits and _)",
                            attr, name, name);
    if (opt && strcasecmp(opt, "indexed") != 0)
        return "FlexSAMLClaim: the optional third argument is \"indexed\"";
    cc = claims_of(cx, s);
    /* One variable per attribute: naming a default attribute renames it. */
    for (i = 0; i < cc->claims->nelts && !cl; i++)
        if (!strcmp(APR_ARRAY_IDX(cc->claims, i, flexsaml_claim).attribute, attr))
            cl = &APR_ARRAY_IDX(cc->claims, i, flexsaml_claim);
    if (!cl)
        cl = apr_array_push(cc->claims);
    cl->attribute = attr;
    cl->name = name;
    cl->indexed = opt != NULL;
    return NULL;
}

SETTER(ClaimSeparator)
{
    (void)argc;
    if (!*argv[0] || strpbrk(argv[0], "\r\n"))
        return "FlexSAMLClaimSeparator must be a non-empty string without line breaks";
    claims_of(cx, s)->separator = argv[0];
    return NULL;
}

SETTER(HeaderPrefix)
{
    const char *c;
    (void)argc;
    for (c = argv[0]; *c; c++)
        if (!(apr_isalnum(*c) || *c == '-'))
            return "FlexSAMLHeaderPrefix must be made of letters, digits and '-', e.g. X-Flex-";
    if (strlen(argv[0]) < 3)
        return "FlexSAMLHeaderPrefix must be at least 3 characters, e.g. X-Flex-";
    claims_of(cx, s)->header_prefix = argv[0];
    return NULL;
}

SETTER(StripHeaders)
{
    const char *c;
    flexsaml_claims_conf *cc = claims_of(cx, s);
    (void)argc;
    for (c = argv[0]; *c; c++)
        if (!(apr_isalnum(*c) || *c == '-' || *c == '_'))
            return apr_psprintf(cx->p,
                                "FlexSAMLStripHeaders: \"%s\" is not a header name (letters, "
                                "digits, '-' and '_', e.g. X-Authenticated-User)",
                                argv[0]);
    if (!*argv[0])
        return "FlexSAMLStripHeaders needs header names, e.g. X-Authenticated-User";
    if (!cc->strip)
        cc->strip = apr_array_make(cx->p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(cc->strip, const char *) = argv[0];
    return NULL;
}

SETTER(PassClaimsAs)
{
    static const char *const names[] = {"environment", "headers", "both", NULL};
    static const int values[] = {FLEXSAML_PASS_ENV, FLEXSAML_PASS_HEADERS,
                                 FLEXSAML_PASS_ENV | FLEXSAML_PASS_HEADERS};
    int i;
    const char *err = flexsaml_parse_enum(cx->p, NAME(PassClaimsAs), argv[0], names, &i);
    (void)argc;
    if (err)
        return err;
    if (cx->dir)
        cx->dir->pass_as = values[i];
    else
        claims_of(cx, s)->pass_as = values[i];
    return NULL;
}

SETTER(ForwardedHeaders)
{
    static const struct {
        const char *name;
        int bit;
    } known[] = {{"Forwarded", FLEXSAML_FWD_FORWARDED},
                 {"X-Forwarded-Proto", FLEXSAML_FWD_PROTO},
                 {"X-Forwarded-Host", FLEXSAML_FWD_HOST},
                 {"X-Forwarded-Port", FLEXSAML_FWD_PORT}};
    apr_size_t i;
    (void)argc;
    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcasecmp(argv[0], known[i].name)) {
            s->forwarded_headers =
                (s->forwarded_headers == FLEXSAML_UNSET ? 0 : s->forwarded_headers) | known[i].bit;
            return NULL;
        }
    return apr_psprintf(cx->p,
                        "%s: \"%s\" is not one of Forwarded, X-Forwarded-Proto, X-Forwarded-Host, "
                        "X-Forwarded-Port",
                        NAME(ForwardedHeaders), argv[0]);
}

SETTER(TrustedProxies)
{
    char *ip = apr_pstrdup(cx->p, argv[0]), *mask = strchr(ip, '/');
    apr_ipsubnet_t *sub;
    (void)argc;
    if (mask)
        *mask++ = '\0';
    if (apr_ipsubnet_create(&sub, ip, mask, cx->p) != APR_SUCCESS)
        return apr_psprintf(cx->p,
                            "FlexSAMLTrustedProxies: \"%s\" is not an address or CIDR range such "
                            "as 10.0.0.0/8",
                            argv[0]);
    if (!s->trusted_proxies)
        s->trusted_proxies = apr_array_make(cx->p, 2, sizeof(apr_ipsubnet_t *));
    APR_ARRAY_PUSH(s->trusted_proxies, apr_ipsubnet_t *) = sub;
    return NULL;
}

/* The sources only: the secrets are read at startup (secret.h), never
 * kept in the settings. */
SETTER(CryptoPassphrase)
{
    int i;
    s->passphrases = apr_array_make(cx->p, 2, sizeof(const char *));
    for (i = 0; i < argc; i++)
        APR_ARRAY_PUSH(s->passphrases, const char *) = argv[i];
    return NULL;
}
