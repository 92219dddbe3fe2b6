/*
 * Directives, config create/merge, and the validation that makes
 * `apachectl -t` refuse a wrong configuration with the directive named.
 * Everything that can be checked without shared memory is checked in the
 * check_config hook, which `-t` runs; post_config only opens the stores.
 */
#include <stddef.h> /* before APR: APR_OFFSETOF then uses offsetof */
#include <string.h>

#include "http_core.h"
#include "apr_strings.h"
#include "apr_file_io.h"
#include "apr_lib.h"
#include "apr_network_io.h"
#include <stdlib.h>

#include "seal.h"
#include <curl/curl.h>

#include "flexsaml_glue.h"
#include "runtime.h"
#include "taskrouter_glue.h"
#include "idp_source.h"
#include "metrics.h"
#include "store.h"

#define DEFAULT_ENDPOINT "/flexsaml"
#define DEFAULT_COOKIE "flexsaml_session"
#define DEFAULT_LIFETIME apr_time_from_sec(8 * 3600)
#define DEFAULT_SKEW 60
#define MAX_SKEW 300
#define DEFAULT_MAX_BODY (256 * 1024)
#define DEFAULT_MAX_ATTR (16 * 1024)
#define DEFAULT_MAX_SESSION (48 * 1024)
#define DEFAULT_REQUEST_TTL 600

void *flexsaml_create_srv_cfg(apr_pool_t *p, server_rec *s)
{
    flexsaml_srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    (void)s;
    c->idp_initiated = FLEXSAML_UNSET;
    c->require_signed_response = FLEXSAML_UNSET;
    c->clock_skew = FLEXSAML_UNSET;
    c->request_ttl = FLEXSAML_UNSET;
    c->session_lifetime = FLEXSAML_UNSET;
    c->idp_metadata_refresh = FLEXSAML_UNSET;
    c->cert_expiry_warning = FLEXSAML_UNSET;
    c->max_body = FLEXSAML_UNSET;
    c->allow_sha1 = FLEXSAML_UNSET;
    c->require_flex_role = FLEXSAML_UNSET;
    c->roles.unknown = (flexsaml_unknown_policy)FLEXSAML_UNSET;
    c->roles.map = apr_hash_make(p);
    c->redirect_hosts = apr_array_make(p, 2, sizeof(const char *));
    c->tr = flexsaml_tr_create(p);
    return c;
}

#define PICK(field) (add->field ? add->field : base->field)
#define PICK_INT(field) (add->field != FLEXSAML_UNSET ? add->field : base->field)

void *flexsaml_merge_srv_cfg(apr_pool_t *p, void *basev, void *addv)
{
    flexsaml_srv_cfg *base = basev, *add = addv;
    flexsaml_srv_cfg *c = apr_pcalloc(p, sizeof(*c));

    c->sp_entity_id = PICK(sp_entity_id);
    c->endpoint = PICK(endpoint);
    c->acs_path = PICK(acs_path);
    c->sp_cert_file = PICK(sp_cert_file);
    c->sp_key_file = PICK(sp_key_file);
    /* The IdP is one unit: a virtual host that names any part of it does
     * not inherit the other parts from the main server. */
    if (add->idp_metadata_file || add->idp_cert_file || add->idp_sso_url || add->idp_issuer ||
        add->idp_metadata_url) {
        c->idp_metadata_url = add->idp_metadata_url;
        c->idp_metadata_ca = add->idp_metadata_ca;
        c->idp_metadata_cache = add->idp_metadata_cache;
        c->idp_metadata_file = add->idp_metadata_file;
        c->idp_cert_file = add->idp_cert_file;
        c->idp_sso_url = add->idp_sso_url;
        c->idp_issuer = add->idp_issuer;
        c->where = add->where;
    } else {
        c->idp_metadata_url = base->idp_metadata_url;
        c->idp_metadata_ca = base->idp_metadata_ca;
        c->idp_metadata_cache = base->idp_metadata_cache;
        c->idp_metadata_file = base->idp_metadata_file;
        c->idp_cert_file = base->idp_cert_file;
        c->idp_sso_url = base->idp_sso_url;
        c->idp_issuer = base->idp_issuer;
        c->where = base->where;
    }
    c->idp_initiated = PICK_INT(idp_initiated);
    c->default_url = PICK(default_url);
    c->require_signed_response = PICK_INT(require_signed_response);
    c->clock_skew = PICK_INT(clock_skew);
    c->request_ttl = PICK_INT(request_ttl);
    c->cache_spec = PICK(cache_spec);
    c->session_lifetime = PICK_INT(session_lifetime);
    c->idp_metadata_refresh = PICK_INT(idp_metadata_refresh);
    c->cert_expiry_warning = PICK_INT(cert_expiry_warning);
    c->cookie_name = PICK(cookie_name);
    c->redirect_hosts = add->redirect_hosts->nelts ? add->redirect_hosts : base->redirect_hosts;
    c->max_body = PICK_INT(max_body);
    c->allow_sha1 = PICK_INT(allow_sha1);
    c->require_flex_role = PICK_INT(require_flex_role);
    c->roles.unknown =
        (int)add->roles.unknown != FLEXSAML_UNSET ? add->roles.unknown : base->roles.unknown;
    c->roles.map = apr_hash_overlay(p, add->roles.map, base->roles.map);
    c->claims = PICK(claims);
    c->max_attr_bytes = PICK(max_attr_bytes);
    c->max_session_bytes = PICK(max_session_bytes);
    c->user_attribute = PICK(user_attribute);
    c->tr = flexsaml_tr_merge(p, base->tr, add->tr);
    c->trusted_proxies = PICK(trusted_proxies);
    c->passphrases = PICK(passphrases);
    return c;
}

void *flexsaml_create_dir_cfg(apr_pool_t *p, char *dir)
{
    flexsaml_dir_cfg *d = apr_pcalloc(p, sizeof(*d));
    (void)dir;
    d->pass_as = FLEXSAML_UNSET;
    return d;
}

void *flexsaml_merge_dir_cfg(apr_pool_t *p, void *basev, void *addv)
{
    flexsaml_dir_cfg *base = basev, *add = addv;
    flexsaml_dir_cfg *d = apr_pcalloc(p, sizeof(*d));
    d->pass_as = PICK_INT(pass_as);
    return d;
}

/* ---- directive handlers ---- */

static flexsaml_srv_cfg *cfg_of(cmd_parms *cmd)
{
    return flexsaml_srv(cmd->server);
}

static const char *where_of(cmd_parms *cmd)
{
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

static const char *set_string(cmd_parms *cmd, void *dummy, const char *arg)
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)dummy;
    if (err)
        return err;
    *(const char **)((char *)c + (apr_size_t)cmd->info) = arg;
    return NULL;
}

static const char *set_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    const char *err = set_string(cmd, dummy, ap_server_root_relative(cmd->pool, arg));
    if (!err && (apr_size_t)cmd->info != APR_OFFSETOF(flexsaml_srv_cfg, sp_cert_file) &&
        (apr_size_t)cmd->info != APR_OFFSETOF(flexsaml_srv_cfg, sp_key_file))
        c->where = where_of(cmd);
    return err;
}

static const char *set_idp_field(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = set_string(cmd, dummy, arg);
    if (!err)
        cfg_of(cmd)->where = where_of(cmd);
    return err;
}

static const char *set_flag(cmd_parms *cmd, void *dummy, int on)
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)dummy;
    if (err)
        return err;
    *(int *)((char *)c + (apr_size_t)cmd->info) = on;
    return NULL;
}

/* Seconds, with an optional s, m, h or d suffix. */
static const char *parse_duration(cmd_parms *cmd, const char *arg, apr_int64_t *secs)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    if (end == arg || v < 0)
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a duration (e.g. 300, 90m, 8h)",
                            cmd->cmd->name, arg);
    switch (apr_tolower(*end)) {
    case '\0':
    case 's':
        break;
    case 'm':
        v *= 60;
        break;
    case 'h':
        v *= 3600;
        break;
    case 'd':
        v *= 86400;
        break;
    default:
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a duration (e.g. 300, 90m, 8h)",
                            cmd->cmd->name, arg);
    }
    if (*end && end[1])
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a duration (e.g. 300, 90m, 8h)",
                            cmd->cmd->name, arg);
    *secs = v;
    return NULL;
}

static const char *set_skew(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t v;
    const char *err = parse_duration(cmd, arg, &v);
    (void)dummy;
    if (err)
        return err;
    if (v > MAX_SKEW)
        return apr_psprintf(cmd->pool,
                            "FlexSAMLClockSkew %s: at most %d seconds is allowed; fix the clock "
                            "(NTP) rather than widen the window",
                            arg, MAX_SKEW);
    cfg_of(cmd)->clock_skew = (int)v;
    return NULL;
}

static const char *set_lifetime(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t v;
    const char *err = parse_duration(cmd, arg, &v);
    (void)dummy;
    if (err)
        return err;
    if (v < 1 || v > 366 * 86400)
        return apr_psprintf(cmd->pool, "%s must be between 1 second and 366 days", cmd->cmd->name);
    *(apr_interval_time_t *)((char *)cfg_of(cmd) + (apr_size_t)cmd->info) = apr_time_from_sec(v);
    return NULL;
}

static const char *set_size(cmd_parms *cmd, void *dummy, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    (void)dummy;
    if (end == arg || *end || v < 1024 || v > 64 * 1024 * 1024)
        return apr_psprintf(cmd->pool, "%s: \"%s\" must be a byte count from 1024 to 67108864",
                            cmd->cmd->name, arg);
    if ((apr_size_t)cmd->info == APR_OFFSETOF(flexsaml_srv_cfg, max_body))
        cfg_of(cmd)->max_body = (apr_off_t)v;
    else if ((apr_size_t)cmd->info == APR_OFFSETOF(flexsaml_srv_cfg, max_session_bytes))
        cfg_of(cmd)->max_session_bytes = (apr_size_t)v;
    else
        cfg_of(cmd)->max_attr_bytes = (apr_size_t)v;
    return NULL;
}

static const char *set_path(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_size_t n = strlen(arg);
    (void)dummy;
    if (arg[0] != '/' || n < 2 || arg[n - 1] == '/' || strpbrk(arg, " ?#%\\"))
        return apr_psprintf(cmd->pool,
                            "%s must be a path like /flexsaml (leading slash, no trailing slash, "
                            "no query)",
                            cmd->cmd->name);
    *(const char **)((char *)cfg_of(cmd) + (apr_size_t)cmd->info) = arg;
    return NULL;
}

static const char *set_redirect_hosts(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (strpbrk(arg, "/:@\\ ") || !*arg)
        return apr_psprintf(cmd->pool,
                            "FlexSAMLRedirectDomains: \"%s\" must be a host name such as "
                            "portal.example.com, or .example.com for its subdomains",
                            arg);
    APR_ARRAY_PUSH(cfg_of(cmd)->redirect_hosts, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_unknown_roles(cmd_parms *cmd, void *dummy, const char *arg)
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    (void)dummy;
    if (!strcasecmp(arg, "keep"))
        c->roles.unknown = FLEXSAML_UNKNOWN_KEEP;
    else if (!strcasecmp(arg, "drop"))
        c->roles.unknown = FLEXSAML_UNKNOWN_DROP;
    else if (!strcasecmp(arg, "deny"))
        c->roles.unknown = FLEXSAML_UNKNOWN_DENY;
    else
        return "FlexSAMLUnknownRoles must be keep, drop or deny";
    return NULL;
}

static const char *add_role_map(cmd_parms *cmd, void *dummy, int argc, char *const argv[])
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    apr_array_header_t *targets;
    int i;
    (void)dummy;
    if (argc < 2)
        return "FlexSAMLRoleMap needs an IdP value and at least one role, e.g. "
               "FlexSAMLRoleMap Flex-Supervisors supervisor";
    targets = apr_array_make(cmd->pool, argc - 1, sizeof(const char *));
    for (i = 1; i < argc; i++) {
        if (!flexsaml_role_is_known(argv[i]))
            return apr_psprintf(cmd->pool,
                                "FlexSAMLRoleMap %s: \"%s\" is not a Flex role (agent, admin, "
                                "supervisor) or a Flex Insights role (wfo.*)",
                                argv[0], argv[i]);
        APR_ARRAY_PUSH(targets, const char *) = apr_pstrdup(cmd->pool, argv[i]);
        ap_str_tolower(APR_ARRAY_IDX(targets, i - 1, char *));
    }
    {
        char *key = apr_pstrdup(cmd->pool, argv[0]);
        ap_str_tolower(key);
        apr_hash_set(c->roles.map, key, APR_HASH_KEY_STRING, targets);
    }
    return NULL;
}

/* Claims are edited from the defaults the first time a server touches them. */
static flexsaml_claims_conf *claims_of(cmd_parms *cmd)
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    if (!c->claims)
        c->claims = flexsaml_claims_default(cmd->pool);
    return c->claims;
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

static const char *add_claim(cmd_parms *cmd, void *dummy, const char *attr, const char *name,
                             const char *opt)
{
    flexsaml_claims_conf *cc = claims_of(cmd);
    flexsaml_claim *cl = NULL;
    int i;
    (void)dummy;
    if (!env_name_ok(name))
        return apr_psprintf(cmd->pool,
                            "FlexSAMLClaim %s %s: \"%s\" is not a valid variable name (letters, "
                            "digits and _)",
                            attr, name, name);
    if (opt && strcasecmp(opt, "indexed") != 0)
        return "FlexSAMLClaim: the optional third argument is \"indexed\"";
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

static const char *set_claim_separator(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (!*arg || strpbrk(arg, "\r\n"))
        return "FlexSAMLClaimSeparator must be a non-empty string without line breaks";
    claims_of(cmd)->separator = arg;
    return NULL;
}

static const char *set_header_prefix(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *c;
    (void)dummy;
    for (c = arg; *c; c++)
        if (!(apr_isalnum(*c) || *c == '-'))
            return "FlexSAMLHeaderPrefix must be made of letters, digits and '-', e.g. X-Flex-";
    if (strlen(arg) < 3)
        return "FlexSAMLHeaderPrefix must be at least 3 characters, e.g. X-Flex-";
    claims_of(cmd)->header_prefix = arg;
    return NULL;
}

static const char *set_pass_as(cmd_parms *cmd, void *dv, const char *arg)
{
    int v;
    if (!strcasecmp(arg, "environment"))
        v = FLEXSAML_PASS_ENV;
    else if (!strcasecmp(arg, "headers"))
        v = FLEXSAML_PASS_HEADERS;
    else if (!strcasecmp(arg, "both"))
        v = FLEXSAML_PASS_ENV | FLEXSAML_PASS_HEADERS;
    else
        return "FlexSAMLPassClaimsAs must be environment, headers or both";
    if (cmd->path)
        ((flexsaml_dir_cfg *)dv)->pass_as = v;
    else
        claims_of(cmd)->pass_as = v;
    return NULL;
}

static const char *add_trusted_proxy(cmd_parms *cmd, void *dummy, const char *arg)
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    char *ip = apr_pstrdup(cmd->pool, arg), *mask = strchr(ip, '/');
    apr_ipsubnet_t *sub;
    apr_status_t rv;
    (void)dummy;
    if (mask)
        *mask++ = '\0';
    rv = apr_ipsubnet_create(&sub, ip, mask, cmd->pool);
    if (rv != APR_SUCCESS)
        return apr_psprintf(cmd->pool,
                            "FlexSAMLTrustedProxies: \"%s\" is not an address or CIDR range such "
                            "as 10.0.0.0/8",
                            arg);
    if (!c->trusted_proxies)
        c->trusted_proxies = apr_array_make(cmd->pool, 2, sizeof(apr_ipsubnet_t *));
    APR_ARRAY_PUSH(c->trusted_proxies, apr_ipsubnet_t *) = sub;
    return NULL;
}

static const char *set_passphrases(cmd_parms *cmd, void *dummy, const char *current,
                                   const char *previous)
{
    flexsaml_srv_cfg *c = cfg_of(cmd);
    (void)dummy;
    c->passphrases = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(c->passphrases, const char *) = current;
    if (previous)
        APR_ARRAY_PUSH(c->passphrases, const char *) = previous;
    return NULL;
}

#define OFF(f) (void *)APR_OFFSETOF(flexsaml_srv_cfg, f)

const command_rec flexsaml_cmds[] = {
    AP_INIT_TAKE1("FlexSAMLSPEntityID", set_string, OFF(sp_entity_id), RSRC_CONF,
                  "This SP's entity ID (Okta: Audience URI)"),
    AP_INIT_TAKE1("FlexSAMLEndpointPath", set_path, OFF(endpoint), RSRC_CONF,
                  "Path under which metadata, acs, login and logout are served (default "
                  "/flexsaml)"),
    AP_INIT_TAKE1("FlexSAMLACSPath", set_path, OFF(acs_path), RSRC_CONF,
                  "Path of the assertion consumer service (default <endpoint>/acs), for a "
                  "migration that must keep Okta's Single sign-on URL"),
    AP_INIT_TAKE1("FlexSAMLSPCertificateFile", set_file, OFF(sp_cert_file), RSRC_CONF,
                  "PEM certificate of this SP, published in its metadata"),
    AP_INIT_TAKE1("FlexSAMLSPPrivateKeyFile", set_file, OFF(sp_key_file), RSRC_CONF,
                  "PEM private key of this SP"),
    AP_INIT_TAKE1("FlexSAMLIdPMetadataFile", set_file, OFF(idp_metadata_file), RSRC_CONF,
                  "IdP metadata XML file (instead of the three IdP fields)"),
    AP_INIT_TAKE1("FlexSAMLIdPCertificateFile", set_file, OFF(idp_cert_file), RSRC_CONF,
                  "Okta's X.509 signing certificate (PEM)"),
    AP_INIT_TAKE1("FlexSAMLIdPSSOURL", set_idp_field, OFF(idp_sso_url), RSRC_CONF,
                  "Okta's Identity Provider Single Sign-On URL"),
    AP_INIT_TAKE1("FlexSAMLIdPIssuer", set_idp_field, OFF(idp_issuer), RSRC_CONF,
                  "Okta's Identity Provider Issuer"),
    AP_INIT_FLAG("FlexSAMLIdPInitiated", set_flag, OFF(idp_initiated), RSRC_CONF,
                 "Accept IdP-initiated (unsolicited) logins (default on)"),
    AP_INIT_TAKE1("FlexSAMLDefaultURL", set_string, OFF(default_url), RSRC_CONF,
                  "Where a login lands without a usable RelayState (default /)"),
    AP_INIT_FLAG("FlexSAMLRequireSignedResponse", set_flag, OFF(require_signed_response), RSRC_CONF,
                 "Refuse responses whose Response element is unsigned (default on)"),
    AP_INIT_TAKE1("FlexSAMLClockSkew", set_skew, NULL, RSRC_CONF,
                  "Allowed clock difference with the IdP in seconds (default 60, at most 300)"),
    AP_INIT_TAKE1("FlexSAMLSessionCache", set_string, OFF(cache_spec), RSRC_CONF,
                  "socache provider for sessions: shmcb[:path(size)], redis:host:port, "
                  "memcache:host:port, dbm:path"),
    AP_INIT_TAKE1("FlexSAMLSessionLifetime", set_lifetime, OFF(session_lifetime), RSRC_CONF,
                  "Session lifetime (default 8h), capped by SessionNotOnOrAfter"),
    AP_INIT_TAKE1("FlexSAMLCookieName", set_string, OFF(cookie_name), RSRC_CONF,
                  "Name of the session cookie (default flexsaml_session)"),
    AP_INIT_ITERATE("FlexSAMLRedirectDomains", set_redirect_hosts, NULL, RSRC_CONF,
                    "Hosts a RelayState may send the browser to besides this one"),
    AP_INIT_TAKE1("FlexSAMLMaxBodySize", set_size, OFF(max_body), RSRC_CONF,
                  "Largest POST body the ACS reads (default 262144)"),
    AP_INIT_TAKE1("FlexSAMLMaxAttributeBytes", set_size, OFF(max_attr_bytes), RSRC_CONF,
                  "Largest attribute value accepted (default 16384)"),
    AP_INIT_FLAG("FlexSAMLAllowSHA1", set_flag, OFF(allow_sha1), RSRC_CONF,
                 "Accept RSA-SHA1 signatures (default off; an escape hatch only)"),
    AP_INIT_TAKE_ARGV("FlexSAMLRoleMap", add_role_map, NULL, RSRC_CONF,
                      "Maps an IdP value to Flex roles: FlexSAMLRoleMap <value> <role>..."),
    AP_INIT_TAKE1("FlexSAMLUnknownRoles", set_unknown_roles, NULL, RSRC_CONF,
                  "keep, drop (default) or deny role values that are not Flex roles"),
    AP_INIT_FLAG("FlexSAMLRequireFlexRole", set_flag, OFF(require_flex_role), RSRC_CONF,
                 "Refuse a login without agent, admin or supervisor (default on)"),
    AP_INIT_TAKE23("FlexSAMLClaim", add_claim, NULL, RSRC_CONF,
                   "Exports a SAML attribute: FlexSAMLClaim <attribute> <VARIABLE> [indexed]"),
    AP_INIT_TAKE1("FlexSAMLClaimSeparator", set_claim_separator, NULL, RSRC_CONF,
                  "Joins the values of a multi-valued attribute (default ,)"),
    AP_INIT_TAKE1("FlexSAMLUser", set_string, OFF(user_attribute), RSRC_CONF,
                  "The attribute that becomes REMOTE_USER (default: the NameID)"),
    AP_INIT_TAKE1("FlexSAMLPassClaimsAs", set_pass_as, NULL, RSRC_CONF | OR_AUTHCFG,
                  "environment (default), headers or both"),
    AP_INIT_TAKE1("FlexSAMLHeaderPrefix", set_header_prefix, NULL, RSRC_CONF,
                  "Prefix of the claim headers (default X-Flex-)"),
    AP_INIT_TAKE1("FlexSAMLMaxSessionBytes", set_size, OFF(max_session_bytes), RSRC_CONF,
                  "Largest stored session, all attributes together (default 49152)"),
    AP_INIT_ITERATE("FlexSAMLTrustedProxies", add_trusted_proxy, NULL, RSRC_CONF,
                    "Addresses whose X-Forwarded-Proto/-Host or Forwarded headers define the "
                    "public URL"),
    AP_INIT_TAKE12("FlexSAMLCryptoPassphrase", set_passphrases, NULL, RSRC_CONF,
                   "Seals stored sessions: file:/path or env:VAR (current), then optionally the "
                   "previous one"),
    AP_INIT_TAKE1("FlexSAMLIdPMetadataURL", set_idp_field, OFF(idp_metadata_url), RSRC_CONF,
                  "Okta's metadata URL, fetched at startup and refreshed in the background"),
    AP_INIT_TAKE1("FlexSAMLIdPMetadataCA", set_file, OFF(idp_metadata_ca), RSRC_CONF,
                  "CA certificates that verify the metadata URL (default: the system's)"),
    AP_INIT_TAKE1("FlexSAMLIdPMetadataCache", set_file, OFF(idp_metadata_cache), RSRC_CONF,
                  "File keeping the last good metadata, used when the URL cannot be reached"),
    AP_INIT_TAKE1("FlexSAMLIdPMetadataRefresh", set_lifetime, OFF(idp_metadata_refresh), RSRC_CONF,
                  "How often the metadata URL is fetched again (default 24h)"),
    AP_INIT_TAKE1("FlexSAMLCertExpiryWarning", set_lifetime, OFF(cert_expiry_warning), RSRC_CONF,
                  "Warn when the IdP signing certificate expires within this (default 30d)"),
    FLEXSAML_TASKROUTER_COMMANDS{NULL}};

/* ---- validation and startup ---- */

const char *flexsaml_read_file(apr_pool_t *p, const char *path, apr_size_t max, const char **out,
                               apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char *buf;
    apr_size_t n;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS || fi.size < 0 || (apr_size_t)fi.size > max) {
        apr_file_close(f);
        return apr_psprintf(p, "is larger than %" APR_SIZE_T_FMT " bytes", max);
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "cannot be read (%pm)", &rv);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return NULL;
}

static int configured(const flexsaml_srv_cfg *c)
{
    return c->sp_entity_id || c->idp_metadata_file || c->idp_cert_file || c->idp_sso_url ||
           c->idp_issuer || c->idp_metadata_url;
}

static void apply_defaults(apr_pool_t *p, flexsaml_srv_cfg *c)
{
    if (!c->endpoint)
        c->endpoint = DEFAULT_ENDPOINT;
    if (!c->acs_path)
        c->acs_path = apr_pstrcat(p, c->endpoint, "/acs", NULL);
    if (c->idp_initiated == FLEXSAML_UNSET)
        c->idp_initiated = 1;
    if (!c->default_url)
        c->default_url = "/";
    if (c->require_signed_response == FLEXSAML_UNSET)
        c->require_signed_response = 1;
    if (c->clock_skew == FLEXSAML_UNSET)
        c->clock_skew = DEFAULT_SKEW;
    if (c->request_ttl == FLEXSAML_UNSET)
        c->request_ttl = DEFAULT_REQUEST_TTL;
    if (!c->cache_spec)
        c->cache_spec = "shmcb";
    if (c->session_lifetime == FLEXSAML_UNSET)
        c->session_lifetime = DEFAULT_LIFETIME;
    if (c->idp_metadata_refresh == FLEXSAML_UNSET)
        c->idp_metadata_refresh = apr_time_from_sec(24 * 3600);
    if (c->cert_expiry_warning == FLEXSAML_UNSET)
        c->cert_expiry_warning = apr_time_from_sec(30 * 86400);
    if (!c->cookie_name)
        c->cookie_name = DEFAULT_COOKIE;
    if (c->max_body == FLEXSAML_UNSET)
        c->max_body = DEFAULT_MAX_BODY;
    if (c->allow_sha1 == FLEXSAML_UNSET)
        c->allow_sha1 = 0;
    if (c->require_flex_role == FLEXSAML_UNSET)
        c->require_flex_role = 1;
    if ((int)c->roles.unknown == FLEXSAML_UNSET)
        c->roles.unknown = FLEXSAML_UNKNOWN_DROP;
    if (!c->claims)
        c->claims = flexsaml_claims_default(p);
    if (!c->max_attr_bytes)
        c->max_attr_bytes = DEFAULT_MAX_ATTR;
    if (!c->max_session_bytes)
        c->max_session_bytes = DEFAULT_MAX_SESSION;
}

#define CONFIG_FAIL FLEXSAML_CONFIG_FAIL

/* One Lasso server per virtual host: an SP shared between hosts would need a
 * key of everything that shapes it (the role map and claims included), and
 * a server costs a few milliseconds and kilobytes once, at startup. */
static int build_sp(apr_pool_t *p, server_rec *s, flexsaml_srv_cfg *c)
{
    flexsaml_runtime *rt = c->rt;
    const char *err, *cert = NULL, *pkey = NULL;
    flexsaml_idp *idp = NULL;
    flexsaml_sp *sp;
    int rc;

    rt->policy.sp_entity_id = c->sp_entity_id;
    rt->policy.require_signed_response = c->require_signed_response;
    rt->policy.allow_sha1 = c->allow_sha1;
    rt->policy.clock_skew = c->clock_skew;
    rt->policy.require_flex_role = c->require_flex_role;
    rt->policy.roles = c->roles;
    rt->policy.roles_attribute = c->claims->roles_attribute;
    rt->policy.max_attr_bytes = c->max_attr_bytes;
    rt->policy.max_total_bytes = c->max_session_bytes / 2;
    rt->policy.user_attribute = c->user_attribute;

    if ((rc = flexsaml_idp_load(p, s, c, &idp)) != OK)
        return rc;
    if ((c->sp_cert_file == NULL) != (c->sp_key_file == NULL))
        CONFIG_FAIL(s, "FlexSAMLSPCertificateFile and FlexSAMLSPPrivateKeyFile go together");
    if (c->sp_cert_file &&
        (err = flexsaml_read_file(p, c->sp_cert_file, 64 * 1024, &cert, NULL)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSPCertificateFile %s %s", c->sp_cert_file, err);
    if (c->sp_key_file &&
        (err = flexsaml_read_file(p, c->sp_key_file, 64 * 1024, &pkey, NULL)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSPPrivateKeyFile %s %s", c->sp_key_file, err);
    if ((err = flexsaml_sp_create(p, &rt->policy, idp, cert, pkey, &sp)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLSPEntityID %s: %s", c->sp_entity_id, err);
    flexsaml_idp_check_expiry(s, c, idp);
    rt->sp_cert_pem = cert;
    rt->sp_key_pem = pkey;
    flexsaml_runtime_set_sp(rt, p, sp);
    return OK;
}

/* file:/path, env:VAR, or a plain path; trailing newlines are not part of
 * the secret. The secret itself never appears in a message. */
static const char *read_secret(apr_pool_t *p, const char *src, const char **out)
{
    const char *v, *err;
    apr_size_t n;

    if (!strncmp(src, "env:", 4)) {
        v = getenv(src + 4);
        if (!v || !*v)
            return apr_psprintf(p, "environment variable %s is not set", src + 4);
    } else {
        if ((err =
                 flexsaml_read_file(p, !strncmp(src, "file:", 5) ? src + 5 : src, 4096, &v, NULL)))
            return err;
    }
    n = strlen(v);
    while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
        n--;
    *out = apr_pstrmemdup(p, v, n);
    return NULL;
}

static int build_sealer(apr_pool_t *p, server_rec *s, flexsaml_srv_cfg *c)
{
    apr_array_header_t *secrets;
    const char *err, *v = NULL;
    int i;

    if (!c->passphrases) {
        if (strncmp(c->cache_spec, "shmcb", 5) != 0 && strncmp(c->cache_spec, "dbm", 3) != 0)
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                         "flexsaml: FlexSAMLSessionCache %s keeps names, emails and roles in a "
                         "network store in clear; set FlexSAMLCryptoPassphrase to seal them",
                         c->cache_spec);
        return OK;
    }
    secrets = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; i < c->passphrases->nelts; i++) {
        const char *src = APR_ARRAY_IDX(c->passphrases, i, const char *);
        if ((err = read_secret(p, src, &v)) != NULL)
            CONFIG_FAIL(s, "FlexSAMLCryptoPassphrase %s: %s", src, err);
        APR_ARRAY_PUSH(secrets, const char *) = v;
    }
    if ((err = flexsaml_sealer_create(p, secrets, &c->rt->sealer)) != NULL)
        CONFIG_FAIL(s, "FlexSAMLCryptoPassphrase: %s", err);
    return OK;
}

static const char *init_key = "flexsaml-lasso-init";

int flexsaml_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *stores = apr_hash_make(ptemp);
    void *done = NULL;
    const char *err;
    int rc;

    (void)plog;
    apr_pool_userdata_get(&done, init_key, s->process->pool);
    if (!done) {
        const char *found;
        flexsaml_lasso_verdict lv;

        if ((err = flexsaml_sp_global_init()) != NULL)
            CONFIG_FAIL(s, "%s", err);
        /* Lasso before the 2025 fixes crashes on crafted XML: refuse to run
         * on a build known to lack them, and say what was found. */
        lv = flexsaml_lasso_check(ptemp, &found);
        if (lv == FLEXSAML_LASSO_VULNERABLE)
            CONFIG_FAIL(s, "%s; refusing to start (upgrade liblasso3)", found);
        ap_log_error(APLOG_MARK,
                     APLOG_STARTUP | (lv == FLEXSAML_LASSO_FIXED ? APLOG_INFO : APLOG_WARNING), 0,
                     NULL, "flexsaml: %s", found);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        apr_pool_userdata_set((void *)1, init_key, apr_pool_cleanup_null, s->process->pool);
    }
    for (; s; s = s->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(s);
        if (!configured(c))
            continue;
        apply_defaults(pconf, c);
        if (!c->sp_entity_id)
            CONFIG_FAIL(s,
                        "%s: FlexSAMLSPEntityID is missing: set it to this SP's entity ID, e.g. "
                        "https://%s%s/metadata (Okta: Audience URI)",
                        c->where ? c->where : s->defn_name,
                        s->server_hostname ? s->server_hostname : "portal.example.com",
                        c->endpoint);
        c->rt = flexsaml_runtime_create(pconf);
        if ((rc = build_sp(pconf, s, c)) != OK)
            return rc;
        if ((rc = flexsaml_tr_check(pconf, s, c->tr)) != OK)
            return rc;
        if ((rc = build_sealer(pconf, s, c)) != OK)
            return rc;
        c->rt->store = apr_hash_get(stores, c->cache_spec, APR_HASH_KEY_STRING);
        if (!c->rt->store) {
            if ((err = flexsaml_store_create(pconf, c->cache_spec, &c->rt->store)) != NULL)
                CONFIG_FAIL(s, "FlexSAMLSessionCache %s: %s", c->cache_spec, err);
            apr_hash_set(stores, c->cache_spec, APR_HASH_KEY_STRING, c->rt->store);
        }
    }
    return OK;
}

int flexsaml_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    flexsaml_store_register_mutex(pconf);
    return OK;
}

int flexsaml_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    flexsaml_metrics *metrics = NULL;
    apr_status_t rv;
    (void)plog;
    for (; s; s = s->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(s);
        if (!c->rt)
            continue;
        if (!metrics)
            metrics = flexsaml_metrics_create(pconf, s);
        c->rt->metrics = metrics;
        rv = flexsaml_store_init(c->rt->store, s, pconf, ptemp);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "flexsaml: FlexSAMLSessionCache %s cannot be initialized",
                         flexsaml_store_spec(c->rt->store));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

void flexsaml_child_init(apr_pool_t *p, server_rec *s)
{
    server_rec *main_s = s;
    for (; s; s = s->next) {
        flexsaml_srv_cfg *c = flexsaml_srv(s);
        if (!c->rt)
            continue;
        flexsaml_store_child_init(c->rt->store, s, p);
        flexsaml_tr_child_init(p, s, c->tr);
    }
    flexsaml_idp_refresh_child_init(p, main_s);
}
