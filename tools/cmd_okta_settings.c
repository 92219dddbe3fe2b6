/*
 * flexsaml okta-settings: what to type in Okta's "Create SAML Integration"
 * page for each FlexSAML virtual host of an Apache configuration, with the
 * attribute statements adjusted to the claims that configuration exports.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_lib.h>

#include "tool.h"
#include "okta.h"

static const char usage[] =
    "Usage: flexsaml okta-settings -f <apache config or vhost file> [options]\n"
    "\n"
    "Prints, for each virtual host that uses FlexSAML, the values to enter in Okta's\n"
    "\"Create SAML Integration\" page and its attribute statements.\n"
    "\n"
    "  -f, --file FILE       the Apache configuration (apache2.conf, or one site's file);\n"
    "                        Include and IncludeOptional are followed\n"
    "  -d, --server-root DIR ServerRoot for relative paths (default: the ServerRoot\n"
    "                        directive, else /etc/apache2)\n"
    "  -D, --define NAME     as apache2 -D NAME, for <IfDefine NAME>\n"
    "      --vhost NAME      only the virtual host whose ServerName (or label) is NAME\n"
    "      --base-url URL    the public https://host[:port] people use, when ServerName\n"
    "                        is not it (e.g. behind a load balancer)\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0, 1 when a virtual host lacks what Okta needs (or none uses\n"
    "FlexSAML), 2 on a usage error.\n";

typedef struct {
    const char *name;
    const char *format;
    const char *value;
    const char *becomes;
    const char *need;
} attr_row;

static const char *okta_value(apr_pool_t *p, const char *attr)
{
    const flexsaml_okta_attr *a = flexsaml_okta_attribute(attr);
    if (a)
        return a->expression;
    return apr_psprintf(p, "(an Okta expression, e.g. user.%s)", tool_safe(p, attr, 60));
}

/* FlexSAMLRequireClaims (full_name, email and roles unless it says
 * otherwise), and FlexSAMLUser's attribute. */
static int is_required(const tool_server *s, const char *attr)
{
    int i;
    for (i = 0; s->required_claims && i < s->required_claims->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(s->required_claims, i, const char *), attr))
            return 1;
    return s->user_attribute && !strcmp(s->user_attribute, attr);
}

/* The rows of the attribute statements table, in the order Flex lists them
 * (full_name, roles, email, image_url), then the configuration's own. */
static apr_array_header_t *attribute_rows(apr_pool_t *p, const tool_server *s)
{
    apr_array_header_t *rows = apr_array_make(p, 8, sizeof(attr_row));
    apr_hash_t *seen = apr_hash_make(p);
    const apr_array_header_t *claims = s->claims->claims;
    int i, k, nflex = 0;

    while (flexsaml_okta_attributes[nflex].attribute)
        nflex++;
    for (k = -1; k < claims->nelts; k++) {
        /* k == -1: the Flex attributes in Flex's order; then every other
         * exported attribute in configuration order. */
        int count = k < 0 ? nflex : 1;
        for (i = 0; i < count; i++) {
            const char *attr = k < 0 ? flexsaml_okta_attributes[i].attribute
                                     : APR_ARRAY_IDX(claims, k, flexsaml_claim).attribute;
            const char *var = NULL;
            attr_row *row;
            int j;
            if (!strcmp(attr, FLEXSAML_CLAIM_NAMEID) ||
                apr_hash_get(seen, attr, APR_HASH_KEY_STRING))
                continue;
            for (j = 0; j < claims->nelts; j++)
                if (!strcmp(APR_ARRAY_IDX(claims, j, flexsaml_claim).attribute, attr))
                    var = APR_ARRAY_IDX(claims, j, flexsaml_claim).name;
            if (!var && !is_required(s, attr))
                continue;
            apr_hash_set(seen, attr, APR_HASH_KEY_STRING, attr);
            row = apr_array_push(rows);
            row->name = tool_safe(p, attr, 60);
            row->format =
                flexsaml_okta_attribute(attr) ? flexsaml_okta_attribute(attr)->format : "Basic";
            row->value = okta_value(p, attr);
            row->becomes = var ? tool_safe(p, var, 60) : "-";
            if (s->user_attribute && !strcmp(s->user_attribute, attr))
                row->becomes = apr_pstrcat(p, row->becomes, ", REMOTE_USER", NULL);
            row->need = is_required(s, attr) ? "required" : "optional";
        }
    }
    if (s->user_attribute && strcmp(s->user_attribute, FLEXSAML_CLAIM_NAMEID) != 0 &&
        !apr_hash_get(seen, s->user_attribute, APR_HASH_KEY_STRING)) {
        attr_row *row = apr_array_push(rows);
        row->name = tool_safe(p, s->user_attribute, 60);
        row->format = "Basic";
        row->value = okta_value(p, s->user_attribute);
        row->becomes = "REMOTE_USER";
        row->need = "required";
        apr_hash_set(seen, s->user_attribute, APR_HASH_KEY_STRING, s->user_attribute);
    }
    for (i = 0; s->required_claims && i < s->required_claims->nelts; i++) {
        const char *attr = APR_ARRAY_IDX(s->required_claims, i, const char *);
        attr_row *row;
        if (apr_hash_get(seen, attr, APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, attr, APR_HASH_KEY_STRING, attr);
        row = apr_array_push(rows);
        row->name = tool_safe(p, attr, 60);
        row->format = "Basic";
        row->value = okta_value(p, attr);
        row->becomes = "-";
        row->need = "required (FlexSAMLRequireClaims)";
    }
    return rows;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "scheme://host[:port]" of a URL, lower-cased; NULL when it has none. */
static const char *origin(apr_pool_t *p, const char *url)
{
    const char *sep = strstr(url, "://"), *end;
    char *o;
    if (!sep)
        return NULL;
    end = sep + 3 + strcspn(sep + 3, "/?#");
    o = apr_pstrmemdup(p, url, (apr_size_t)(end - url));
    for (char *c = o; *c; c++)
        *c = (char)apr_tolower(*c);
    return o;
}

/* Okta posts to the Single sign-on URL and checks nothing against the
 * Audience URI's host, but the two printed from one server should name the
 * same site: when they do not, the server's own view of its URL is usually
 * wrong (a TLS proxy in front), and every login would fail with
 * destination_mismatch. */
static const char *disagreement(apr_pool_t *p, const tool_server *s, const char *base)
{
    const char *a = origin(p, base), *e = origin(p, s->sp_entity_id);
    const char *sa, *se;

    if (!a || !e || !strcmp(a, e))
        return "";
    sa = apr_pstrmemdup(p, a, (apr_size_t)(strstr(a, "://") - a));
    se = apr_pstrmemdup(p, e, (apr_size_t)(strstr(e, "://") - e));
    return apr_psprintf(
        p,
        "  warning: the Single sign-on URL (%s) and the Audience URI (%s) differ in %s.\n"
        "  If %s is the public address, this server does not know it: %s\n\n",
        tool_safe(p, a, 200), tool_safe(p, e, 200), strcmp(sa, se) ? "scheme" : "host",
        tool_safe(p, e, 200),
        s->trusted_proxies
            ? "check that the proxy sends X-Forwarded-Proto/-Host and that its address is in "
              "FlexSAMLTrustedProxies."
            : apr_psprintf(p,
                           "behind a proxy set FlexSAMLTrustedProxies to the proxy's address, or "
                           "set ServerName %s with UseCanonicalName On.",
                           tool_safe(p, e, 200)));
}

/* The settings of one server as text; *ok is cleared when Okta cannot be
 * told everything it needs. */
static const char *render(apr_pool_t *p, const tool_server *s, const char *base_url, int *ok)
{
    const char *base = base_url ? base_url : tool_server_base(p, s);
    const char *out = "", *sso, *entity;
    apr_array_header_t *rows = attribute_rows(p, s);
    apr_size_t wn = 4, wf = 13, wv = 5;
    int i;

#define ADD(...) out = apr_pstrcat(p, out, apr_psprintf(p, __VA_ARGS__), NULL)
    if (base) {
        sso = apr_pstrcat(p, tool_safe(p, base, 200), tool_safe(p, s->acs_path, 200), NULL);
    } else {
        sso = apr_pstrcat(p, "https://<public host>", tool_safe(p, s->acs_path, 200),
                          "   (no ServerName: give --base-url)", NULL);
        *ok = 0;
    }
    if (!base_url && base && s->host && s->trusted_proxies &&
        strcmp(base, apr_pstrcat(p, s->scheme, "://", s->host, NULL)) != 0)
        sso = apr_pstrcat(p, sso, "\n", apr_psprintf(p, "  %-29s", ""),
                          "(the entity ID's host: behind FlexSAMLTrustedProxies,\n",
                          apr_psprintf(p, "  %-29s", ""), "ServerName ", tool_safe(p, s->host, 200),
                          " is not the public name)", NULL);
    if (s->sp_entity_id) {
        entity = tool_safe(p, s->sp_entity_id, 300);
    } else {
        entity = "(missing: set FlexSAMLSPEntityID, e.g. to the metadata URL)";
        *ok = 0;
    }
    ADD("In Okta: Applications > Create App Integration > SAML 2.0 > Configure SAML\n\n");
    /* A --base-url is the operator's own statement of the public URL. */
    if (!base_url && base && s->sp_entity_id)
        ADD("%s", disagreement(p, s, base));
    ADD("  %-29s%s\n", "Single sign-on URL", sso);
    ADD("  %-29s%s\n", "", "[x] Use this for Recipient URL and Destination URL");
    ADD("  %-29s%s\n", "Audience URI (SP Entity ID)", entity);
    ADD("  %-29s%s\n", "Default RelayState", "(blank)");
    ADD("  %-29s%s\n", "Name ID format", "Unspecified");
    ADD("  %-29s%s\n", "Application username", "Okta username");
    ADD("\n  Show Advanced Settings:\n");
    ADD("  %-29s%s\n", "Response",
        s->require_signed_response ? "Signed"
                                   : "Signed (Unsigned is accepted: FlexSAMLRequireSignedResponse "
                                     "off)");
    ADD("  %-29s%s\n", "Assertion Signature", "Signed");
    ADD("  %-29s%s\n", "Signature Algorithm", "RSA-SHA256");
    ADD("  %-29s%s\n", "Digest Algorithm", "SHA256");
    ADD("  %-29s%s\n", "Assertion Encryption", "Unencrypted");
    if (s->sp_cert_file)
        ADD("  %-29s%s\n  %-29supload %s\n", "Signed Requests", "checked", "Signature Certificate",
            tool_safe(p, s->sp_cert_file, 300));

    for (i = 0; i < rows->nelts; i++) {
        attr_row *r = &APR_ARRAY_IDX(rows, i, attr_row);
        wn = strlen(r->name) > wn ? strlen(r->name) : wn;
        wv = strlen(r->value) > wv ? strlen(r->value) : wv;
    }
    ADD("\n  Attribute Statements:\n");
    ADD("  %-*s  %-*s  %-*s  %s\n", (int)wn, "Name", (int)wf, "Name format", (int)wv, "Value",
        "Becomes");
    for (i = 0; i < rows->nelts; i++) {
        attr_row *r = &APR_ARRAY_IDX(rows, i, attr_row);
        ADD("  %-*s  %-*s  %-*s  %s (%s)\n", (int)wn, r->name, (int)wf, r->format, (int)wv,
            r->value, r->becomes, r->need);
    }

    ADD("\n  roles: one Flex role (agent, admin, supervisor) or Flex Insights role (wfo.*) per\n"
        "  value, or several comma-separated (admin,supervisor): set them in each person's\n"
        "  User type.\n");
    if (apr_hash_count(s->roles.map)) {
        apr_array_header_t *keys = apr_array_make(p, 4, sizeof(const char *));
        apr_hash_index_t *hi;
        ADD("  Also accepted in roles (FlexSAMLRoleMap), e.g. from a Group Attribute Statement\n"
            "  named roles:\n");
        for (hi = apr_hash_first(p, s->roles.map); hi; hi = apr_hash_next(hi))
            APR_ARRAY_PUSH(keys, const char *) = apr_hash_this_key(hi);
        qsort(keys->elts, (size_t)keys->nelts, sizeof(const char *), compare_keys);
        for (i = 0; i < keys->nelts; i++) {
            const char *k = APR_ARRAY_IDX(keys, i, const char *);
            const apr_array_header_t *t = apr_hash_get(s->roles.map, k, APR_HASH_KEY_STRING);
            ADD("    %s -> %s\n", tool_safe(p, k, 100),
                tool_safe(p, flexsaml_roles_join(p, t, ","), 200));
        }
    }
    ADD("  Other values are %s (FlexSAMLUnknownRoles %s)%s.\n",
        s->roles.unknown == FLEXSAML_UNKNOWN_KEEP   ? "kept"
        : s->roles.unknown == FLEXSAML_UNKNOWN_DENY ? "refused"
                                                    : "dropped",
        s->roles.unknown == FLEXSAML_UNKNOWN_KEEP   ? "keep"
        : s->roles.unknown == FLEXSAML_UNKNOWN_DENY ? "deny"
                                                    : "drop",
        s->require_flex_role ? ";\n  a sign-in without agent, admin or supervisor is refused" : "");
    if (s->roles.site && apr_hash_count(s->roles.site)) {
        apr_array_header_t *keys = apr_array_make(p, 4, sizeof(const char *));
        apr_hash_index_t *hi;
        for (hi = apr_hash_first(p, s->roles.site); hi; hi = apr_hash_next(hi))
            APR_ARRAY_PUSH(keys, const char *) = apr_hash_this_key(hi);
        qsort(keys->elts, (size_t)keys->nelts, sizeof(const char *), compare_keys);
        ADD("  Site roles, kept as sent (FlexSAMLRoles): %s.\n",
            tool_safe(p, apr_array_pstrcat(p, keys, ','), 200));
    }
    if (s->required_claims && s->required_claims->nelts == 0)
        ADD("  FlexSAMLRequireClaims none: a sign-in needs no attribute, only a NameID.\n");
    if (!s->idp_initiated)
        ADD("  FlexSAMLIdPInitiated off: sign-ins from the Okta tile are refused; hide it\n"
            "  (Application visibility: Do not display application icon to users).\n");
    if (s->claims->pass_as & FLEXSAML_PASS_HEADERS)
        ADD("  The variables also reach back ends as headers (%s...).\n",
            tool_safe(p, s->claims->header_prefix, 40));
    if (!s->idp_metadata_file && !s->idp_cert_file && !s->idp_metadata_url)
        ADD("\n  Then paste Okta's certificate, SSO URL and issuer: `flexsaml idp-fields "
            "<metadata>` prints the three directives.\n");
#undef ADD
    return out;
}

int tool_okta_settings(tool_ctx *t, int argc, const char *const *argv)
{
    tool_conf_opts o;
    apr_array_header_t *servers, *blocks, *labels;
    const char *only = NULL, *base_url = NULL, *val = NULL, *err = NULL;
    int i, j, ok = 1, shown = 0, vhosts = 0;

    memset(&o, 0, sizeof(o));
    o.defines = apr_array_make(t->p, 2, sizeof(const char *));
    for (i = 0; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage, stdout);
            return TOOL_OK;
        } else if (tool_opt(argc, argv, &i, "file", 'f', &val, &err)) {
            o.file = val;
        } else if (tool_opt(argc, argv, &i, "server-root", 'd', &val, &err)) {
            o.server_root = val;
        } else if (tool_opt(argc, argv, &i, "define", 'D', &val, &err)) {
            APR_ARRAY_PUSH(o.defines, const char *) = val;
        } else if (tool_opt(argc, argv, &i, "vhost", 0, &val, &err)) {
            only = val;
        } else if (tool_opt(argc, argv, &i, "base-url", 0, &val, &err)) {
            apr_size_t n = strlen(val);
            if (strncasecmp(val, "https://", 8) != 0 && strncasecmp(val, "http://", 7) != 0) {
                fprintf(stderr, "flexsaml okta-settings: --base-url must be http(s)://host\n");
                return TOOL_USAGE;
            }
            while (n && val[n - 1] == '/')
                n--;
            base_url = apr_pstrmemdup(t->p, val, n);
        } else if (argv[i][0] != '-' && !o.file) {
            o.file = argv[i];
        } else {
            fprintf(stderr, "flexsaml okta-settings: unknown option %s\n%s",
                    tool_safe(t->p, argv[i], 60), usage);
            return TOOL_USAGE;
        }
        if (err) {
            fprintf(stderr, "flexsaml okta-settings: --%s needs a value\n", err);
            return TOOL_USAGE;
        }
    }
    if (!o.file) {
        fprintf(stderr, "flexsaml okta-settings: -f <apache config> is required\n%s", usage);
        return TOOL_USAGE;
    }
    if ((err = tool_conf_read(t->p, &o, &servers)) != NULL) {
        fprintf(stderr, "flexsaml okta-settings: %s\n", err);
        return TOOL_USAGE;
    }
    for (i = 1; i < servers->nelts; i++)
        vhosts += APR_ARRAY_IDX(servers, i, tool_server *)->configured;

    /* Servers with the same settings are listed together: a virtual host
     * inherits the main server's FlexSAML configuration, and Okta needs one
     * integration per entity ID, not one per <VirtualHost>. */
    blocks = apr_array_make(t->p, 4, sizeof(const char *));
    labels = apr_array_make(t->p, 4, sizeof(const char *));
    for (i = 0; i < servers->nelts; i++) {
        tool_server *s = APR_ARRAY_IDX(servers, i, tool_server *);
        const char *text, *label;
        if (!s->configured || (!s->is_vhost && vhosts))
            continue;
        if (only && strcasecmp(only, s->label) != 0 &&
            !(s->server_name && !strcasecmp(only, s->server_name)))
            continue;
        text = render(t->p, s, base_url, &ok);
        label = apr_psprintf(t->p, "%s (%s)", tool_safe(t->p, s->label, 200),
                             tool_safe(t->p, s->section, 300));
        for (j = 0; j < blocks->nelts; j++)
            if (!strcmp(APR_ARRAY_IDX(blocks, j, const char *), text))
                break;
        if (j < blocks->nelts) {
            APR_ARRAY_IDX(labels, j, const char *) =
                apr_pstrcat(t->p, APR_ARRAY_IDX(labels, j, const char *), ",\n  ", label, NULL);
        } else {
            APR_ARRAY_PUSH(blocks, const char *) = text;
            APR_ARRAY_PUSH(labels, const char *) = label;
        }
    }
    for (i = 0; i < blocks->nelts; i++) {
        printf("%sFlexSAML: %s\n\n%s", shown++ ? "\n" : "", APR_ARRAY_IDX(labels, i, const char *),
               APR_ARRAY_IDX(blocks, i, const char *));
    }
    for (i = 0; i < servers->nelts; i++) {
        tool_server *s = APR_ARRAY_IDX(servers, i, tool_server *);
        for (j = 0; j < s->problems->nelts; j++)
            printf("%swarning: %s\n", i + j == 0 ? "\n" : "",
                   APR_ARRAY_IDX(s->problems, j, const char *));
    }
    if (!shown) {
        fprintf(stderr, "flexsaml okta-settings: %s\n",
                only ? "no FlexSAML virtual host of that name"
                     : "no server of this configuration uses FlexSAML (no FlexSAMLSPEntityID "
                       "or IdP directive)");
        return TOOL_REFUSED;
    }
    return ok ? TOOL_OK : TOOL_REFUSED;
}
