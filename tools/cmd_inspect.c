/*
 * flexsaml inspect: a pasted SAMLResponse (or Okta's assertion preview)
 * explained: who issued it for whom, when it is valid, which signatures it
 * has and whether they verify, its attributes, what the configuration would
 * export, and every problem in words. The exit status says whether the
 * module would refuse it.
 */
#include <string.h>

#include <apr_strings.h>

#include "inspect.h"
#include "sp_policy.h"

static const char usage[] =
    "Usage: flexsaml inspect [--cert idp.pem] [--sp-config apache.conf] <file, or - for stdin>\n"
    "\n"
    "Explains a SAMLResponse as copied from the browser's developer tools (base64, or\n"
    "the URL-encoded form body), its XML, or an assertion alone (Okta's \"Preview the\n"
    "SAML Assertion\"): issuer, NameID, audience, recipient, destination, validity,\n"
    "signatures, attributes, the variables the configuration would export, and every\n"
    "problem found.\n"
    "\n"
    "      --cert FILE        the IdP certificate (PEM) to verify the signatures with;\n"
    "                         default: the one of the --sp-config virtual host\n"
    "      --sp-config FILE   compare with this Apache configuration's FlexSAML settings\n"
    "                         (entity ID, ACS URL, issuer, roles, claims)\n"
    "      --vhost NAME       which virtual host (default: the one the response is for)\n"
    "      --base-url URL     the public https://host[:port] of that virtual host, when\n"
    "                         its ServerName is not it\n"
    "  -d, --server-root DIR  ServerRoot of the configuration (default /etc/apache2)\n"
    "  -D, --define NAME      as apache2 -D NAME\n"
    "      --now TIME         judge the validity at this xsd:dateTime (or FLEXSAML_NOW)\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 the module would accept it, 1 it would refuse it, 2 usage error,\n"
    "3 nothing refused but not everything could be checked (no certificate, or an\n"
    "assertion alone).\n";

#define ROW(label, ...)                                                                            \
    do {                                                                                           \
        printf("  %-15s ", label);                                                                 \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
    } while (0)

static const char *first_audience(const inspection *in)
{
    const apr_array_header_t *l;
    if (!in->ad.audience_restrictions || !in->ad.audience_restrictions->nelts)
        return NULL;
    l = APR_ARRAY_IDX(in->ad.audience_restrictions, 0, apr_array_header_t *);
    return l->nelts ? APR_ARRAY_IDX(l, 0, const char *) : NULL;
}

/* The virtual host the response is meant for: the only one, the one named,
 * or the one whose entity ID (then ACS URL) the response names. */
static const char *select_server(inspection *in, apr_array_header_t *servers, const char *only,
                                 const char *base_url, tool_server **out)
{
    apr_pool_t *p = in->t->p;
    apr_array_header_t *cands = apr_array_make(p, 4, sizeof(tool_server *));
    const char *aud = first_audience(in), *names = "";
    int i, vhosts = 0, pass;

    for (i = 1; i < servers->nelts; i++)
        vhosts += APR_ARRAY_IDX(servers, i, tool_server *)->configured;
    for (i = 0; i < servers->nelts; i++) {
        tool_server *s = APR_ARRAY_IDX(servers, i, tool_server *);
        if (!s->configured || (!s->is_vhost && vhosts))
            continue;
        if (only && strcasecmp(only, s->label) != 0 &&
            !(s->server_name && !strcasecmp(only, s->server_name)))
            continue;
        APR_ARRAY_PUSH(cands, tool_server *) = s;
        names = apr_pstrcat(p, names, *names ? ", " : "", tool_safe(p, s->label, 100), NULL);
    }
    if (cands->nelts == 0)
        return only ? "no FlexSAML virtual host of that name in the configuration"
                    : "no server of the configuration uses FlexSAML";
    if (cands->nelts == 1) {
        *out = APR_ARRAY_IDX(cands, 0, tool_server *);
        return NULL;
    }
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < cands->nelts; i++) {
            tool_server *s = APR_ARRAY_IDX(cands, i, tool_server *);
            const char *base = base_url ? base_url : tool_server_base(p, s);
            const char *acs = base ? apr_pstrcat(p, base, s->acs_path, NULL) : NULL;
            if (pass == 0 && aud && s->sp_entity_id && !strcmp(aud, s->sp_entity_id) &&
                (!in->destination || (acs && !strcmp(acs, in->destination)))) {
                *out = s;
                return NULL;
            }
            if (pass == 1 && aud && s->sp_entity_id && !strcmp(aud, s->sp_entity_id)) {
                *out = s;
                return NULL;
            }
        }
    }
    return apr_psprintf(p,
                        "the response names none of the virtual hosts (%s): choose one with "
                        "--vhost",
                        names);
}

/* The policy the module's SP would judge with. */
static void policy_of(inspection *in, const flexsaml_settings *c)
{
    flexsaml_sp_policy_from_settings(&in->pol, c);
    in->idp_initiated = c->idp_initiated;
}

static void configure(inspection *in, const char *base_url)
{
    apr_pool_t *p = in->t->p;
    tool_server *s = in->srv;

    /* Without a configuration, the module's defaults (settings.c). */
    if (!s) {
        flexsaml_settings d;
        flexsaml_settings_init(&d);
        flexsaml_settings_apply_defaults(p, &d);
        policy_of(in, &d);
        return;
    }
    policy_of(in, &s->settings);
    in->entity_id = s->sp_entity_id;
    {
        const char *base = base_url ? base_url : tool_server_base(p, s);
        in->acs_url = base ? apr_pstrcat(p, base, s->acs_path, NULL) : NULL;
    }
    in->idp_issuer = s->idp_issuer;
    if (s->idp_metadata_file) {
        char *md;
        apr_size_t len;
        flexsaml_idp *idp;
        if (!tool_read_file(p, s->idp_metadata_file, TOOL_MAX_INPUT, &md, &len) &&
            !flexsaml_idp_from_metadata(p, md, len, &idp))
            in->idp_issuer = idp->entity_id;
    }
}

static const char *validity(inspection *in)
{
    apr_pool_t *p = in->t->p;
    flexsaml_assertion_data *ad = &in->ad;
    apr_time_t now = in->t->now, skew = apr_time_from_sec(in->pol.clock_skew);
    apr_time_t nb = ad->not_before > ad->sc_not_before ? ad->not_before : ad->sc_not_before;
    apr_time_t na = ad->not_on_or_after;

    if (ad->sc_not_on_or_after && (!na || ad->sc_not_on_or_after < na))
        na = ad->sc_not_on_or_after;
    if (ad->bad_time)
        return apr_psprintf(p, "unreadable: %s is malformed", ad->bad_time);
    if (!na)
        return "no NotOnOrAfter";
    if (nb && now + skew < nb)
        return apr_psprintf(p, "NOT YET VALID: starts in %s", tool_duration(p, nb - now));
    if (nb && now < nb)
        return apr_psprintf(p, "starts in %s, accepted within the clock skew of %d s",
                            tool_duration(p, nb - now), in->pol.clock_skew);
    if (now - skew >= na)
        return apr_psprintf(p, "EXPIRED %s ago", tool_duration(p, now - na));
    if (now >= na)
        return apr_psprintf(p, "expired %s ago, accepted within the clock skew of %d s",
                            tool_duration(p, now - na), in->pol.clock_skew);
    return apr_psprintf(p, "valid, for %s more (clock skew %d s)", tool_duration(p, na - now),
                        in->pol.clock_skew);
}

static const char *sig_line(inspection *in, const inspect_sig *s)
{
    apr_pool_t *p = in->t->p;
    const char *sa = inspect_alg_name(s->sig_alg), *da = inspect_alg_name(s->dig_alg);

    if (!s->node)
        return "not signed";
    return apr_psprintf(p, "%s, digest %s: %s", sa ? sa : tool_safe(p, s->sig_alg, 100),
                        da ? da : tool_safe(p, s->dig_alg, 100),
                        s->verify_text ? s->verify_text : "not checked");
}

static const char *keyinfo_line(inspection *in)
{
    apr_pool_t *p = in->t->p;
    const char *b64 = in->asig.keyinfo_b64 ? in->asig.keyinfo_b64 : in->rsig.keyinfo_b64;
    tool_cert kc;
    int i;

    if (!b64)
        return NULL;
    for (i = 0; i < in->certs->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(in->certs, i, tool_cert).b64, b64))
            return "carries the configured certificate (ignored: only the configured one is "
                   "trusted)";
    if (tool_cert_read(p, b64, &kc) != NULL)
        return "carries an unreadable certificate (ignored)";
    if (!in->certs->nelts)
        return apr_psprintf(p, "carries a certificate, %s (never trusted: give --cert)",
                            kc.subject);
    return apr_psprintf(p,
                        "carries ANOTHER certificate, %s (ignored: only the configured one is "
                        "trusted)",
                        kc.subject);
}

static void print_document(inspection *in)
{
    apr_pool_t *p = in->t->p;
    flexsaml_assertion_data *ad = &in->ad;
    const char *ki;
    int i, j;

    if (!in->assertion_only) {
        const char *status = "";
        for (i = 0; i < in->status_codes->nelts; i++) {
            const char *c = APR_ARRAY_IDX(in->status_codes, i, const char *);
            const char *colon = c ? strrchr(c, ':') : NULL;
            status = apr_pstrcat(p, status, i ? " / " : "",
                                 tool_safe(p, colon ? colon + 1 : c, 100), NULL);
        }
        printf("\nResponse\n");
        ROW("ID", "%s", tool_safe(p, in->response_id, 100));
        ROW("Issued", "%s", tool_safe(p, in->issue_instant, 60));
        ROW("Issuer", "%s", tool_safe(p, in->issuer, 300));
        ROW("Status", "%s%s%s%s", *status ? status : "(none)", in->status_message ? " \"" : "",
            in->status_message ? tool_safe(p, in->status_message, 200) : "",
            in->status_message ? "\"" : "");
        ROW("Destination", "%s", tool_safe(p, in->destination, 300));
        ROW("InResponseTo", "%s",
            in->in_response_to ? tool_safe(p, in->in_response_to, 100)
                               : "(none: IdP-initiated, from the Okta tile)");
        if (in->encrypted_assertions)
            ROW("Assertion", "ENCRYPTED (%d EncryptedAssertion)", in->encrypted_assertions);
        else if (in->assertions != 1)
            ROW("Assertions", "%d", in->assertions);
    }
    if (!in->assertion)
        return;
    printf("\nAssertion\n");
    ROW("ID", "%s", tool_safe(p, ad->id, 100));
    ROW("Issuer", "%s", tool_safe(p, ad->issuer, 300));
    ROW("NameID", "%s (%s)", tool_safe(p, ad->name_id, 300),
        !in->name_id_format ? "no Format"
        : !strcmp(in->name_id_format, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
            ? "Unspecified"
            : tool_safe(p, in->name_id_format, 120));
    if (!ad->audience_restrictions->nelts)
        ROW("Audience", "(none)");
    for (i = 0; i < ad->audience_restrictions->nelts; i++) {
        apr_array_header_t *l = APR_ARRAY_IDX(ad->audience_restrictions, i, apr_array_header_t *);
        for (j = 0; j < l->nelts; j++)
            ROW("Audience", "%s", tool_safe(p, APR_ARRAY_IDX(l, j, const char *), 300));
    }
    ROW("Recipient", "%s",
        ad->bearer ? tool_safe(p, ad->recipient, 300) : "(no bearer confirmation)");
    ROW("NotBefore", "%s", tool_safe(p, in->cond_not_before, 60));
    ROW("NotOnOrAfter", "%s%s%s%s", tool_safe(p, in->cond_not_on_or_after, 60),
        in->sc_not_on_or_after ? " (subject: " : "",
        in->sc_not_on_or_after ? tool_safe(p, in->sc_not_on_or_after, 60) : "",
        in->sc_not_on_or_after ? ")" : "");
    ROW("Now", "%s: %s", tool_iso_time(p, in->t->now), validity(in));
    ROW("Session", "SessionIndex %s, %s%s", tool_safe(p, ad->session_index, 100),
        ad->session_not_on_or_after ? "SessionNotOnOrAfter " : "no SessionNotOnOrAfter",
        ad->session_not_on_or_after ? tool_iso_time(p, ad->session_not_on_or_after) : "");

    printf("\nSignatures\n");
    if (!in->assertion_only)
        ROW("Response", "%s", sig_line(in, &in->rsig));
    ROW("Assertion", "%s", sig_line(in, &in->asig));
    if (in->other_sigs > 0)
        ROW("Elsewhere", "%d more (a signature belongs to the Response or the Assertion only)",
            in->other_sigs);
    if ((ki = keyinfo_line(in)) != NULL)
        ROW("KeyInfo", "%s", ki);

    printf("\nAttributes\n");
    if (!in->attrs->nelts)
        printf("  (none)\n");
    for (i = 0; i < in->attrs->nelts; i++) {
        const inspect_attr *a = &APR_ARRAY_IDX(in->attrs, i, inspect_attr);
        const char *fmt =
            !a->format ? "(no format)"
            : !strcmp(a->format, "urn:oasis:names:tc:SAML:2.0:attrname-format:basic") ? "Basic"
            : !strcmp(a->format, "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
                ? "URI Reference"
            : !strcmp(a->format, "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified")
                ? "Unspecified"
                : tool_safe(p, a->format, 100);
        const char *vals = "";
        for (j = 0; j < a->values->nelts; j++)
            vals = apr_pstrcat(p, vals, j ? ", " : "", "\"",
                               tool_safe(p, APR_ARRAY_IDX(a->values, j, const char *), 200), "\"",
                               NULL);
        printf("  %-15s %-14s %s\n", tool_safe(p, a->name, 100), fmt,
               a->values->nelts ? vals : "(no value)");
    }
}

static void print_mapping(inspection *in)
{
    apr_pool_t *p = in->t->p;
    const flexsaml_claims_conf *cc = in->srv ? in->srv->claims : flexsaml_claims_default(p);
    flexsaml_identity *id;
    apr_table_t *env = apr_table_make(p, 8), *hdr = apr_table_make(p, 8);
    const apr_array_header_t *el;
    const char *user, *raw = "";
    int i, k, w;

    if (!in->assertion)
        return;
    if (in->core_ran && !in->core.reason) {
        id = &in->core.ident;
    } else {
        id = &in->ident;
        id->name_id = in->ad.name_id;
        id->attributes = in->ad.attributes;
        id->full_name = apr_table_get(in->ad.attributes, "full_name");
        id->email = apr_table_get(in->ad.attributes, "email");
        id->image_url = apr_table_get(in->ad.attributes, "image_url");
    }
    flexsaml_claims_export(p, cc, id, env, (cc->pass_as & FLEXSAML_PASS_HEADERS) ? hdr : NULL);
    user = id->name_id;
    if (in->pol.user_attribute && strcmp(in->pol.user_attribute, FLEXSAML_CLAIM_NAMEID) != 0 &&
        id->attributes && apr_table_get(id->attributes, in->pol.user_attribute))
        user = apr_table_get(id->attributes, in->pol.user_attribute);

    printf("\nMapping (%s)%s\n",
           in->srv ? apr_psprintf(p, "%s of %s", tool_safe(p, in->srv->label, 100),
                                  tool_safe(p, in->conf_file, 300))
                   : "the module's defaults",
           inspect_verdict(in) ? ": what would be exported if it were accepted" : "");
    /* One column for every name, environment and headers alike. */
    w = 15;
    for (k = 0; k < 2; k++) {
        el = apr_table_elts(k ? hdr : env);
        for (i = 0; i < el->nelts; i++) {
            int n = (int)strlen(APR_ARRAY_IDX(el, i, apr_table_entry_t).key);
            w = n > w && n < 60 ? n : w;
        }
    }
    printf("  %-*s %s\n", w, "REMOTE_USER", tool_safe(p, user, 200));
    for (k = 0; k < 2; k++) {
        el = apr_table_elts(k ? hdr : env);
        if (k && el->nelts)
            printf("  headers (FlexSAMLPassClaimsAs):\n");
        for (i = 0; i < el->nelts; i++) {
            const apr_table_entry_t *e = &APR_ARRAY_IDX(el, i, apr_table_entry_t);
            printf("  %-*s %s\n", w, tool_safe(p, e->key, 60), tool_safe(p, e->val, 200));
        }
    }
    {
        const apr_array_header_t *h = apr_table_elts(in->ad.attributes);
        const char *ra = in->pol.roles_attribute ? in->pol.roles_attribute : "roles";
        int n = 0;
        for (i = 0; i < h->nelts; i++) {
            const apr_table_entry_t *e = &APR_ARRAY_IDX(h, i, apr_table_entry_t);
            if (strcmp(e->key, ra) != 0)
                continue;
            raw = apr_pstrcat(p, raw, n++ ? ", " : "", "\"", tool_safe(p, e->val, 100), "\"", NULL);
        }
    }
    printf("  %-*s %s -> %s%s%s%s\n", w, "Roles", *raw ? raw : "(none)",
           id->roles && id->roles->nelts ? tool_safe(p, flexsaml_roles_join(p, id->roles, ","), 200)
                                         : "(no role)",
           in->unknown_roles && in->unknown_roles->nelts ? "; unknown: " : "",
           in->unknown_roles && in->unknown_roles->nelts
               ? tool_safe(p, flexsaml_roles_join(p, in->unknown_roles, ","), 200)
               : "",
           id->roles && flexsaml_roles_has_flex_role(id->roles) ? "" : "; no Flex role");
}

static int report(inspection *in)
{
    const inspect_finding *v;
    int i;

    if (in->readable)
        print_document(in);
    if (in->readable && in->assertion)
        print_mapping(in);
    printf("\nProblems\n");
    if (!in->findings->nelts)
        printf("  none\n");
    for (i = 0; i < in->findings->nelts; i++) {
        const inspect_finding *f = &APR_ARRAY_IDX(in->findings, i, inspect_finding);
        if (f->sev == SEV_REFUSED)
            printf("  - refused (%s): %s\n", f->reason, f->text);
        else
            printf("  - %s: %s\n", f->sev == SEV_WARNING ? "warning" : "note", f->text);
    }
    v = inspect_verdict(in);
    if (v) {
        printf("\nVerdict: REFUSED, reason=%s\n", v->reason);
        return TOOL_REFUSED;
    }
    if (in->core_ran) {
        const char *irt = in->core.in_response_to;
        printf("\nVerdict: accepted%s\n",
               irt ? " (if the sign-in it answers was started here in the last 10 minutes)" : "");
        return TOOL_OK;
    }
    printf("\nVerdict: nothing refused, not fully checked: %s\n",
           in->core_skipped ? in->core_skipped : "the response could not be read");
    return TOOL_UNCHECKED;
}

int tool_inspect(tool_ctx *t, int argc, const char *const *argv)
{
    inspection in;
    tool_conf_opts o;
    const char *file = NULL, *cert = NULL, *conf = NULL, *only = NULL, *base_url = NULL;
    const char *val = NULL, *err = NULL;
    char *raw;
    apr_size_t len;
    int i;

    memset(&in, 0, sizeof(in));
    memset(&o, 0, sizeof(o));
    in.t = t;
    in.findings = apr_array_make(t->p, 8, sizeof(inspect_finding));
    in.certs = apr_array_make(t->p, 1, sizeof(tool_cert));
    o.defines = apr_array_make(t->p, 2, sizeof(const char *));
    for (i = 0; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(usage, stdout);
            return TOOL_OK;
        } else if (tool_opt(argc, argv, &i, "cert", 0, &val, &err)) {
            cert = val;
        } else if (tool_opt(argc, argv, &i, "sp-config", 0, &val, &err)) {
            conf = val;
        } else if (tool_opt(argc, argv, &i, "vhost", 0, &val, &err)) {
            only = val;
        } else if (tool_opt(argc, argv, &i, "server-root", 'd', &val, &err)) {
            o.server_root = val;
        } else if (tool_opt(argc, argv, &i, "define", 'D', &val, &err)) {
            APR_ARRAY_PUSH(o.defines, const char *) = val;
        } else if (tool_opt(argc, argv, &i, "base-url", 0, &val, &err)) {
            apr_size_t n = strlen(val);
            while (n && val[n - 1] == '/')
                n--;
            base_url = apr_pstrmemdup(t->p, val, n);
        } else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !file) {
            file = argv[i];
        } else {
            fprintf(stderr, "flexsaml inspect: unexpected argument %s\n%s",
                    tool_safe(t->p, argv[i], 60), usage);
            return TOOL_USAGE;
        }
        if (err) {
            fprintf(stderr, "flexsaml inspect: --%s needs a value\n", err);
            return TOOL_USAGE;
        }
    }
    if (!file) {
        fprintf(stderr, "flexsaml inspect: give the response's file, or - for stdin\n%s", usage);
        return TOOL_USAGE;
    }
    if ((err = tool_read_file(t->p, file, TOOL_MAX_INPUT, &raw, &len)) != NULL) {
        fprintf(stderr, "flexsaml inspect: %s\n", tool_safe(t->p, err, 400));
        return TOOL_USAGE;
    }
    if ((err = flexsaml_sp_global_init()) != NULL) {
        fprintf(stderr, "flexsaml inspect: %s\n", err);
        return TOOL_USAGE;
    }
    inspect_verify_init();
    if (cert) {
        char *pem;
        if ((err = tool_read_file(t->p, cert, 64 * 1024, &pem, NULL)) != NULL ||
            (err = tool_cert_read(t->p, pem, apr_array_push(in.certs))) != NULL) {
            fprintf(stderr, "flexsaml inspect: --cert %s: %s\n", tool_safe(t->p, cert, 300),
                    tool_safe(t->p, err, 300));
            return TOOL_USAGE;
        }
        in.cert_source = cert;
        in.cert_source_is_cli = 1;
    }

    inspect_read(&in, raw, len);
    if (conf) {
        apr_array_header_t *servers;
        o.file = conf;
        in.conf_file = conf;
        if ((err = tool_conf_read(t->p, &o, &servers)) != NULL ||
            (err = select_server(&in, servers, only, base_url, &in.srv)) != NULL) {
            fprintf(stderr, "flexsaml inspect: --sp-config %s: %s\n", tool_safe(t->p, conf, 300),
                    err);
            return TOOL_USAGE;
        }
        if (!cert) {
            apr_array_header_t *certs;
            const char *src;
            if ((err = tool_server_idp_certs(t->p, in.srv, &certs, &src)) != NULL) {
                fprintf(stderr, "flexsaml inspect: %s\n", tool_safe(t->p, err, 400));
                return TOOL_USAGE;
            }
            in.certs = certs;
            in.cert_source = src;
        }
    }
    configure(&in, base_url);

    printf("Input           %s%s", tool_safe(t->p, in.kind ? in.kind : "unreadable", 60),
           in.xml ? apr_psprintf(t->p, ", %" APR_SIZE_T_FMT " bytes of XML\n", in.xml_len) : "\n");
    printf("Compared with   %s\n",
           in.srv ? apr_psprintf(t->p, "%s of %s", tool_safe(t->p, in.srv->label, 100),
                                 tool_safe(t->p, conf, 300))
                  : "the module's defaults (no --sp-config: entity ID, ACS URL and issuer are "
                    "not compared)");
    if (in.srv)
        printf("                entity ID %s, ACS URL %s\n", tool_safe(t->p, in.entity_id, 300),
               in.acs_url ? tool_safe(t->p, in.acs_url, 300)
                          : "unknown (no ServerName: give --base-url)");
    if (in.readable) {
        inspect_verify(t->p, in.shape.doc, &in.rsig, in.certs, in.cert_source);
        inspect_verify(t->p, in.shape.doc, &in.asig, in.certs, in.cert_source);
    }
    inspect_check(&in);
    return report(&in);
}
