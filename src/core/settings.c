/*
 * The directive table, and how a server's settings are created, inherited
 * from the main server and completed with the defaults (settings.h). The
 * defaults are written here and nowhere else.
 */
#include <string.h>

#include <apr_strings.h>

#include "settings_set.h"

#define DEFAULT_ENDPOINT "/flexsaml"
#define DEFAULT_COOKIE "flexsaml_session"
#define DEFAULT_LIFETIME apr_time_from_sec(8 * 3600)
#define DEFAULT_SKEW 60
#define DEFAULT_MAX_BODY (256 * 1024)
#define DEFAULT_PRESERVE_POST (1024 * 1024)
/* Anonymous clients may fill this much of the store, and no more. */
#define DEFAULT_PRESERVE_POST_BUDGET (64 * 1024 * 1024)
#define DEFAULT_MAX_ATTR (16 * 1024)
#define DEFAULT_MAX_SESSION (48 * 1024)
#define DEFAULT_REQUEST_TTL 600
#define DEFAULT_METADATA_REFRESH apr_time_from_sec(24 * 3600)
#define DEFAULT_CERT_EXPIRY_WARNING apr_time_from_sec(30 * 86400)

#define FLEXSAML_DIRECTIVE_ROW(id, shape, where, help)                                             \
    {"FlexSAML" #id, FLEXSAML_ARGS_##shape, FLEXSAML_IN_##where, help, flexsaml_set_##id},
const flexsaml_directive flexsaml_directives[] = {FLEXSAML_DIRECTIVES(FLEXSAML_DIRECTIVE_ROW){
    NULL, FLEXSAML_ARGS_TAKE1, FLEXSAML_IN_SERVER, NULL, NULL}};
#undef FLEXSAML_DIRECTIVE_ROW

const flexsaml_directive *flexsaml_directive_find(const char *name)
{
    const flexsaml_directive *d;
    for (d = flexsaml_directives; d->name; d++)
        if (!strcasecmp(d->name, name))
            return d;
    return NULL;
}

const char *flexsaml_directive_check_args(apr_pool_t *p, const flexsaml_directive *d, int argc)
{
    const char *want = NULL;
    switch (d->args) {
    case FLEXSAML_ARGS_TAKE1:
        want = argc == 1 ? NULL : " takes one argument";
        break;
    case FLEXSAML_ARGS_TAKE12:
        want = argc == 1 || argc == 2 ? NULL : " takes 1-2 arguments";
        break;
    case FLEXSAML_ARGS_TAKE23:
        want = argc == 2 || argc == 3 ? NULL : " takes two or three arguments";
        break;
    case FLEXSAML_ARGS_FLAG:
        want = argc == 1 ? NULL : " must be On or Off";
        break;
    case FLEXSAML_ARGS_ITERATE:
        want = argc >= 1 ? NULL : " requires at least one argument";
        break;
    case FLEXSAML_ARGS_TAKE_ARGV:
        break;
    }
    if (!want)
        return NULL;
    /* httpd's words (server/config.c), so that the tool says the same. */
    if (d->args == FLEXSAML_ARGS_FLAG)
        return apr_pstrcat(p, d->name, want, NULL);
    return apr_pstrcat(p, d->name, want, ", ", d->help, NULL);
}

void flexsaml_settings_init(flexsaml_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->idp_initiated = FLEXSAML_UNSET;
    s->require_signed_response = FLEXSAML_UNSET;
    s->clock_skew = FLEXSAML_UNSET;
    s->request_ttl = FLEXSAML_UNSET;
    s->session_lifetime = FLEXSAML_UNSET;
    s->session_idle_timeout = FLEXSAML_UNSET;
    s->preserve_post = FLEXSAML_UNSET;
    s->forwarded_headers = FLEXSAML_UNSET;
    s->preserve_post_budget = FLEXSAML_UNSET;
    s->idp_metadata_refresh = FLEXSAML_UNSET;
    s->cert_expiry_warning = FLEXSAML_UNSET;
    s->max_body = FLEXSAML_UNSET;
    s->allow_sha1 = FLEXSAML_UNSET;
    s->require_flex_role = FLEXSAML_UNSET;
    s->strip_cookies = FLEXSAML_UNSET;
    s->cache_local = FLEXSAML_UNSET;
    s->roles.unknown = (flexsaml_unknown_policy)FLEXSAML_UNSET;
    flexsaml_tr_settings_init(&s->taskrouter);
}

#define PICK(field) (add->field ? add->field : base->field)
#define PICK_INT(field) (add->field != FLEXSAML_UNSET ? add->field : base->field)

void flexsaml_settings_merge(apr_pool_t *p, flexsaml_settings *c, const flexsaml_settings *base,
                             const flexsaml_settings *add)
{
    c->sp_entity_id = PICK(sp_entity_id);
    c->endpoint = PICK(endpoint);
    c->acs_path = PICK(acs_path);
    c->sp_cert_file = PICK(sp_cert_file);
    c->sp_key_file = PICK(sp_key_file);
    /* The IdP is one unit: a virtual host that names any part of it does
     * not inherit the other parts from the main server. */
    {
        const flexsaml_settings *from = add->idp_metadata_file || add->idp_cert_file ||
                                                add->idp_sso_url || add->idp_issuer ||
                                                add->idp_metadata_url
                                            ? add
                                            : base;
        c->idp_metadata_url = from->idp_metadata_url;
        c->idp_metadata_ca = from->idp_metadata_ca;
        c->idp_metadata_cache = from->idp_metadata_cache;
        c->idp_metadata_file = from->idp_metadata_file;
        c->idp_cert_file = from->idp_cert_file;
        c->idp_sso_url = from->idp_sso_url;
        c->idp_issuer = from->idp_issuer;
        c->where = from->where;
    }
    c->idp_initiated = PICK_INT(idp_initiated);
    c->default_url = PICK(default_url);
    c->require_signed_response = PICK_INT(require_signed_response);
    c->clock_skew = PICK_INT(clock_skew);
    c->request_ttl = PICK_INT(request_ttl);
    c->cache_spec = PICK(cache_spec);
    c->cache_password = PICK(cache_password);
    c->cache_connect_timeout = PICK(cache_connect_timeout);
    c->cache_io_timeout = PICK(cache_io_timeout);
    c->session_lifetime = PICK_INT(session_lifetime);
    c->session_idle_timeout = PICK_INT(session_idle_timeout);
    c->preserve_post = PICK_INT(preserve_post);
    c->preserve_post_budget = PICK_INT(preserve_post_budget);
    c->idp_metadata_refresh = PICK_INT(idp_metadata_refresh);
    c->cert_expiry_warning = PICK_INT(cert_expiry_warning);
    c->cookie_name = PICK(cookie_name);
    c->redirect_hosts = PICK(redirect_hosts);
    c->max_body = PICK_INT(max_body);
    c->allow_sha1 = PICK_INT(allow_sha1);
    c->require_flex_role = PICK_INT(require_flex_role);
    c->strip_cookies = PICK_INT(strip_cookies);
    c->cache_local = PICK_INT(cache_local);
    c->roles.unknown =
        (int)add->roles.unknown != FLEXSAML_UNSET ? add->roles.unknown : base->roles.unknown;
    /* Role maps add up: a virtual host maps more values than the main server. */
    c->roles.map = add->roles.map && base->roles.map
                       ? apr_hash_overlay(p, add->roles.map, base->roles.map)
                       : PICK(roles.map);
    c->roles.site = add->roles.site && base->roles.site
                        ? apr_hash_overlay(p, add->roles.site, base->roles.site)
                        : PICK(roles.site);
    c->required_claims = PICK(required_claims);
    c->claims = PICK(claims);
    c->max_attr_bytes = PICK(max_attr_bytes);
    c->max_session_bytes = PICK(max_session_bytes);
    c->user_attribute = PICK(user_attribute);
    c->trusted_proxies = PICK(trusted_proxies);
    c->forwarded_headers = PICK_INT(forwarded_headers);
    c->passphrases = PICK(passphrases);
    flexsaml_tr_settings_merge(&c->taskrouter, &base->taskrouter, &add->taskrouter);
}

int flexsaml_settings_configured(const flexsaml_settings *c)
{
    return c->sp_entity_id || c->idp_metadata_file || c->idp_cert_file || c->idp_sso_url ||
           c->idp_issuer || c->idp_metadata_url;
}

void flexsaml_settings_apply_defaults(apr_pool_t *p, flexsaml_settings *c)
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
        c->cache_spec = "lmdb"; /* in DefaultRuntimeDir: src/httpd/store_lmdb.c */
    if (c->session_lifetime == FLEXSAML_UNSET)
        c->session_lifetime = DEFAULT_LIFETIME;
    if (c->session_idle_timeout == FLEXSAML_UNSET)
        c->session_idle_timeout = 0;
    if (c->preserve_post == FLEXSAML_UNSET)
        c->preserve_post = DEFAULT_PRESERVE_POST;
    if (c->forwarded_headers == FLEXSAML_UNSET)
        c->forwarded_headers = FLEXSAML_FWD_ALL;
    if (c->preserve_post_budget == FLEXSAML_UNSET)
        c->preserve_post_budget = DEFAULT_PRESERVE_POST_BUDGET;
    if (c->idp_metadata_refresh == FLEXSAML_UNSET)
        c->idp_metadata_refresh = DEFAULT_METADATA_REFRESH;
    if (c->cert_expiry_warning == FLEXSAML_UNSET)
        c->cert_expiry_warning = DEFAULT_CERT_EXPIRY_WARNING;
    if (!c->cookie_name)
        c->cookie_name = DEFAULT_COOKIE;
    if (!c->redirect_hosts)
        c->redirect_hosts = apr_array_make(p, 1, sizeof(const char *));
    if (c->max_body == FLEXSAML_UNSET)
        c->max_body = DEFAULT_MAX_BODY;
    if (c->allow_sha1 == FLEXSAML_UNSET)
        c->allow_sha1 = 0;
    if (c->require_flex_role == FLEXSAML_UNSET)
        c->require_flex_role = 1;
    if (c->strip_cookies == FLEXSAML_UNSET)
        c->strip_cookies = 1;
    if (c->cache_local == FLEXSAML_UNSET)
        c->cache_local = 1;
    if ((int)c->roles.unknown == FLEXSAML_UNSET)
        c->roles.unknown = FLEXSAML_UNKNOWN_DROP;
    if (!c->roles.map)
        c->roles.map = apr_hash_make(p);
    if (!c->claims)
        c->claims = flexsaml_claims_default(p);
    if (!c->required_claims) {
        c->required_claims = apr_array_make(p, 3, sizeof(const char *));
        APR_ARRAY_PUSH(c->required_claims, const char *) = "full_name";
        APR_ARRAY_PUSH(c->required_claims, const char *) = "email";
        APR_ARRAY_PUSH(c->required_claims, const char *) =
            c->claims->roles_attribute ? c->claims->roles_attribute : "roles";
    }
    if (!c->max_attr_bytes)
        c->max_attr_bytes = DEFAULT_MAX_ATTR;
    if (!c->max_session_bytes)
        c->max_session_bytes = DEFAULT_MAX_SESSION;
    flexsaml_tr_settings_apply_defaults(p, &c->taskrouter);
}

void flexsaml_dir_settings_init(flexsaml_dir_settings *d)
{
    d->pass_as = FLEXSAML_UNSET;
    d->auth_optional = FLEXSAML_UNSET;
    d->unauth = FLEXSAML_UNSET;
    d->max_auth_age = FLEXSAML_UNSET;
    d->authn_contexts = NULL;
}

void flexsaml_dir_settings_merge(flexsaml_dir_settings *out, const flexsaml_dir_settings *base,
                                 const flexsaml_dir_settings *add)
{
    out->pass_as = PICK_INT(pass_as);
    out->auth_optional = PICK_INT(auth_optional);
    out->unauth = PICK_INT(unauth);
    out->max_auth_age = PICK_INT(max_auth_age);
    out->authn_contexts = PICK(authn_contexts);
}
