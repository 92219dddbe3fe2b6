/*
 * The FlexSAML directives as config.c reads them, and the merge of a virtual
 * host with the main server (flexsaml_merge_srv_cfg, apply_defaults), for
 * the tool's Apache configuration reader.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "apache_conf.h"

/* The defaults of config.c (apply_defaults). */
#define DEFAULT_ENDPOINT "/flexsaml"
#define DEFAULT_SKEW 60
#define DEFAULT_MAX_ATTR (16 * 1024)
#define DEFAULT_MAX_SESSION (48 * 1024)

#define ARG(i) APR_ARRAY_IDX(args, i, const char *)

raw_server *conf_raw_new(conf_reader *r)
{
    raw_server *rs = apr_pcalloc(r->p, sizeof(*rs));
    rs->s.idp_initiated = CONF_UNSET;
    rs->s.require_signed_response = CONF_UNSET;
    rs->s.clock_skew = CONF_UNSET;
    rs->s.allow_sha1 = CONF_UNSET;
    rs->s.require_flex_role = CONF_UNSET;
    rs->s.roles.map = apr_hash_make(r->p);
    rs->s.problems = apr_array_make(r->p, 2, sizeof(const char *));
    rs->ssl = CONF_UNSET;
    rs->unknown = CONF_UNSET;
    APR_ARRAY_PUSH(r->raws, raw_server *) = rs;
    return rs;
}

static int flag(conf_reader *r, const char *file, int line, const char *name, const char *v)
{
    if (!strcasecmp(v, "on"))
        return 1;
    if (!strcasecmp(v, "off"))
        return 0;
    conf_problem(r, file, line, "%s must be on or off", name);
    return CONF_UNSET;
}

void conf_flexsaml_directive(conf_reader *r, const char *file, int line, const char *name,
                             apr_array_header_t *args)
{
    tool_server *s = &r->cur->s;
    int n = args->nelts, i;

    /* FlexSAMLPassClaimsAs is the one directive allowed per directory;
     * the rest apply to a server, as the module's RSRC_CONF says. */
    for (i = r->nsec - 1; i >= 0; i--) {
        if (r->stack[i].kind != SEC_DIR)
            continue;
        if (strcasecmp(name, "FlexSAMLPassClaimsAs") != 0)
            conf_problem(r, file, line, "%s is not allowed inside <%s>", tool_safe(r->p, name, 60),
                         tool_safe(r->p, r->stack[i].name, 40));
        return;
    }
    if (n == 0) {
        conf_problem(r, file, line, "%s needs an argument", name);
        return;
    }
    if (!strcasecmp(name, "FlexSAMLSPEntityID")) {
        s->sp_entity_id = ARG(0);
    } else if (!strcasecmp(name, "FlexSAMLEndpointPath")) {
        s->endpoint = ARG(0);
    } else if (!strcasecmp(name, "FlexSAMLACSPath")) {
        s->acs_path = ARG(0);
    } else if (!strcasecmp(name, "FlexSAMLSPCertificateFile")) {
        s->sp_cert_file = conf_root_relative(r, ARG(0));
    } else if (!strcasecmp(name, "FlexSAMLSPPrivateKeyFile")) {
        /* Only that there is one: the tool never opens a private key. */
        s->has_sp_key = 1;
    } else if (!strcasecmp(name, "FlexSAMLIdPMetadataFile")) {
        s->idp_metadata_file = conf_root_relative(r, ARG(0));
        r->cur->idp_named = 1;
    } else if (!strcasecmp(name, "FlexSAMLIdPCertificateFile")) {
        s->idp_cert_file = conf_root_relative(r, ARG(0));
        r->cur->idp_named = 1;
    } else if (!strcasecmp(name, "FlexSAMLIdPSSOURL")) {
        s->idp_sso_url = ARG(0);
        r->cur->idp_named = 1;
    } else if (!strcasecmp(name, "FlexSAMLIdPIssuer")) {
        s->idp_issuer = ARG(0);
        r->cur->idp_named = 1;
    } else if (!strcasecmp(name, "FlexSAMLIdPInitiated")) {
        s->idp_initiated = flag(r, file, line, name, ARG(0));
    } else if (!strcasecmp(name, "FlexSAMLRequireSignedResponse")) {
        s->require_signed_response = flag(r, file, line, name, ARG(0));
    } else if (!strcasecmp(name, "FlexSAMLAllowSHA1")) {
        s->allow_sha1 = flag(r, file, line, name, ARG(0));
    } else if (!strcasecmp(name, "FlexSAMLRequireFlexRole")) {
        s->require_flex_role = flag(r, file, line, name, ARG(0));
    } else if (!strcasecmp(name, "FlexSAMLClockSkew")) {
        char *end;
        apr_int64_t v = apr_strtoi64(ARG(0), &end, 10);
        if (apr_tolower(*end) == 'm' && !end[1])
            v *= 60;
        else if (*end && !(apr_tolower(*end) == 's' && !end[1]))
            v = -1;
        if (end == ARG(0) || v < 0)
            conf_problem(r, file, line, "FlexSAMLClockSkew \"%s\" is not a number of seconds",
                         tool_safe(r->p, ARG(0), 40));
        else if (v > 300)
            conf_problem(r, file, line, "FlexSAMLClockSkew %s: at most 300 seconds is allowed",
                         tool_safe(r->p, ARG(0), 40));
        else
            s->clock_skew = (int)v;
    } else if (!strcasecmp(name, "FlexSAMLMaxAttributeBytes") ||
               !strcasecmp(name, "FlexSAMLMaxSessionBytes")) {
        apr_int64_t v = apr_atoi64(ARG(0));
        if (v < 1024)
            conf_problem(r, file, line, "%s must be at least 1024", name);
        else if (!strcasecmp(name, "FlexSAMLMaxAttributeBytes"))
            s->max_attr_bytes = (apr_size_t)v;
        else
            s->max_session_bytes = (apr_size_t)v;
    } else if (!strcasecmp(name, "FlexSAMLUnknownRoles")) {
        if (!strcasecmp(ARG(0), "keep"))
            r->cur->unknown = FLEXSAML_UNKNOWN_KEEP;
        else if (!strcasecmp(ARG(0), "drop"))
            r->cur->unknown = FLEXSAML_UNKNOWN_DROP;
        else if (!strcasecmp(ARG(0), "deny"))
            r->cur->unknown = FLEXSAML_UNKNOWN_DENY;
        else
            conf_problem(r, file, line, "FlexSAMLUnknownRoles must be keep, drop or deny");
    } else if (!strcasecmp(name, "FlexSAMLRoleMap")) {
        apr_array_header_t *targets = apr_array_make(r->p, n, sizeof(const char *));
        char *key = apr_pstrdup(r->p, ARG(0));
        if (n < 2) {
            conf_problem(r, file, line, "FlexSAMLRoleMap needs an IdP value and at least one role");
            return;
        }
        for (i = 1; i < n; i++) {
            char *role = apr_pstrdup(r->p, ARG(i));
            if (!flexsaml_role_is_known(role)) {
                conf_problem(r, file, line, "FlexSAMLRoleMap %s: \"%s\" is not a Flex role",
                             tool_safe(r->p, ARG(0), 100), tool_safe(r->p, role, 100));
                return;
            }
            for (char *c = role; *c; c++)
                *c = (char)apr_tolower(*c);
            APR_ARRAY_PUSH(targets, const char *) = role;
        }
        for (char *c = key; *c; c++)
            *c = (char)apr_tolower(*c);
        apr_hash_set(s->roles.map, key, APR_HASH_KEY_STRING, targets);
    } else if (!strcasecmp(name, "FlexSAMLClaim") || !strcasecmp(name, "FlexSAMLClaimSeparator") ||
               !strcasecmp(name, "FlexSAMLHeaderPrefix") ||
               !strcasecmp(name, "FlexSAMLPassClaimsAs")) {
        flexsaml_claims_conf *cc;
        /* As claims_of() in config.c: a server that touches its claims
         * starts from the defaults, not from the main server's claims. */
        if (!s->claims)
            s->claims = flexsaml_claims_default(r->p);
        cc = s->claims;
        if (!strcasecmp(name, "FlexSAMLClaimSeparator")) {
            cc->separator = ARG(0);
        } else if (!strcasecmp(name, "FlexSAMLHeaderPrefix")) {
            cc->header_prefix = ARG(0);
        } else if (!strcasecmp(name, "FlexSAMLPassClaimsAs")) {
            cc->pass_as = !strcasecmp(ARG(0), "headers") ? FLEXSAML_PASS_HEADERS
                          : !strcasecmp(ARG(0), "both")  ? FLEXSAML_PASS_ENV | FLEXSAML_PASS_HEADERS
                                                         : FLEXSAML_PASS_ENV;
        } else {
            flexsaml_claim *cl = NULL;
            if (n < 2) {
                conf_problem(r, file, line, "FlexSAMLClaim needs an attribute and a variable name");
                return;
            }
            for (i = 0; i < cc->claims->nelts && !cl; i++)
                if (!strcmp(APR_ARRAY_IDX(cc->claims, i, flexsaml_claim).attribute, ARG(0)))
                    cl = &APR_ARRAY_IDX(cc->claims, i, flexsaml_claim);
            if (!cl)
                cl = apr_array_push(cc->claims);
            cl->attribute = ARG(0);
            cl->name = ARG(1);
            cl->indexed = n > 2 && !strcasecmp(ARG(2), "indexed");
        }
    } else if (!strcasecmp(name, "FlexSAMLUser")) {
        s->user_attribute = ARG(0);
    } else if (!strcasecmp(name, "FlexSAMLTrustedProxies")) {
        s->trusted_proxies += n;
    }
    /* Sessions, cookies, caches, passphrases and TaskRouter settings do not
     * change what Okta sends or how a response is judged: not read. A
     * passphrase source is never even looked at. */
}

/* ---- merge: flexsaml_merge_srv_cfg and apply_defaults of config.c ---- */

#define PICK(f) (add->s.f ? add->s.f : base->s.f)
#define PICK_INT(f) (add->s.f != CONF_UNSET ? add->s.f : base->s.f)

tool_server *conf_merge(apr_pool_t *p, const raw_server *base, const raw_server *add,
                        const char *root_file)
{
    tool_server *s = apr_pcalloc(p, sizeof(*s));
    const char *port;

    s->is_vhost = add->s.is_vhost;
    s->where = add->s.where ? add->s.where : root_file;
    s->problems = add->s.problems;
    s->server_name = PICK(server_name);
    s->sp_entity_id = PICK(sp_entity_id);
    s->endpoint = PICK(endpoint);
    s->acs_path = PICK(acs_path);
    s->sp_cert_file = PICK(sp_cert_file);
    s->has_sp_key = add->s.has_sp_key || base->s.has_sp_key;
    /* The IdP is one unit, as in config.c. */
    if (add->idp_named) {
        s->idp_metadata_file = add->s.idp_metadata_file;
        s->idp_cert_file = add->s.idp_cert_file;
        s->idp_sso_url = add->s.idp_sso_url;
        s->idp_issuer = add->s.idp_issuer;
    } else {
        s->idp_metadata_file = base->s.idp_metadata_file;
        s->idp_cert_file = base->s.idp_cert_file;
        s->idp_sso_url = base->s.idp_sso_url;
        s->idp_issuer = base->s.idp_issuer;
    }
    s->idp_initiated = PICK_INT(idp_initiated);
    s->require_signed_response = PICK_INT(require_signed_response);
    s->clock_skew = PICK_INT(clock_skew);
    s->allow_sha1 = PICK_INT(allow_sha1);
    s->require_flex_role = PICK_INT(require_flex_role);
    s->roles.unknown =
        (flexsaml_unknown_policy)(add->unknown != CONF_UNSET ? add->unknown : base->unknown);
    s->roles.map = apr_hash_overlay(p, add->s.roles.map, base->s.roles.map);
    s->claims = PICK(claims);
    s->max_attr_bytes = PICK(max_attr_bytes);
    s->max_session_bytes = PICK(max_session_bytes);
    s->user_attribute = PICK(user_attribute);
    s->trusted_proxies = add->s.trusted_proxies ? add->s.trusted_proxies : base->s.trusted_proxies;

    s->configured = s->sp_entity_id || s->idp_metadata_file || s->idp_cert_file || s->idp_sso_url ||
                    s->idp_issuer;
    if (!s->endpoint)
        s->endpoint = DEFAULT_ENDPOINT;
    if (!s->acs_path)
        s->acs_path = apr_pstrcat(p, s->endpoint, "/acs", NULL);
    if (s->idp_initiated == CONF_UNSET)
        s->idp_initiated = 1;
    if (s->require_signed_response == CONF_UNSET)
        s->require_signed_response = 1;
    if (s->clock_skew == CONF_UNSET)
        s->clock_skew = DEFAULT_SKEW;
    if (s->allow_sha1 == CONF_UNSET)
        s->allow_sha1 = 0;
    if (s->require_flex_role == CONF_UNSET)
        s->require_flex_role = 1;
    if ((int)s->roles.unknown == CONF_UNSET)
        s->roles.unknown = FLEXSAML_UNKNOWN_DROP;
    if (!s->claims)
        s->claims = flexsaml_claims_default(p);
    if (!s->max_attr_bytes)
        s->max_attr_bytes = DEFAULT_MAX_ATTR;
    if (!s->max_session_bytes)
        s->max_session_bytes = DEFAULT_MAX_SESSION;

    /* The public name: ServerName [scheme://]host[:port]; a virtual host
     * without one inherits the main server's, as in httpd. */
    {
        const char *sn = s->server_name, *h, *c;
        const char *scheme = NULL, *host = NULL;
        int ssl = add->ssl != CONF_UNSET ? add->ssl : base->ssl;

        port = add->vhost_port;
        if (sn) {
            h = strstr(sn, "://");
            if (h) {
                scheme = apr_pstrmemdup(p, sn, (apr_size_t)(h - sn));
                h += 3;
            } else {
                h = sn;
            }
            c = strrchr(h, ':');
            if (c && !strchr(c, ']')) {
                host = apr_pstrmemdup(p, h, (apr_size_t)(c - h));
                port = c + 1;
            } else {
                host = h;
            }
        }
        if (!scheme)
            scheme = ssl == 1 || (port && !strcmp(port, "443")) ? "https" : "http";
        s->scheme = scheme;
        if (host) {
            int dflt = !port || (!strcasecmp(scheme, "https") && !strcmp(port, "443")) ||
                       (!strcasecmp(scheme, "http") && !strcmp(port, "80"));
            s->host = dflt ? host : apr_pstrcat(p, host, ":", port, NULL);
        }
        if (s->is_vhost && host)
            s->label = apr_pstrcat(p, host, port ? ":" : "", port ? port : "", NULL);
        else if (s->is_vhost)
            s->label = apr_pstrcat(p, "<VirtualHost ", add->s.label, ">", NULL);
        else
            s->label = "main server";
    }
    return s;
}

const char *tool_server_base(apr_pool_t *p, const tool_server *s)
{
    const char *e = s->sp_entity_id;
    int entity_url = e && (!strncasecmp(e, "https://", 8) || !strncasecmp(e, "http://", 7));

    /* Behind FlexSAMLTrustedProxies the public name comes from the proxy,
     * and the entity ID (the metadata URL people publish) is the best
     * witness of it; so it is when httpd has no ServerName. */
    if (entity_url && (s->trusted_proxies || !s->host)) {
        const char *h = strstr(e, "://") + 3;
        apr_size_t n = strcspn(h, "/?#");
        return apr_pstrmemdup(p, e, (apr_size_t)(h - e) + n);
    }
    if (!s->host)
        return NULL;
    return apr_pstrcat(p, s->scheme, "://", s->host, NULL);
}
