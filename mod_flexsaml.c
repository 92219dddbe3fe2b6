/*
 * mod_flexsaml: Okta SAML 2.0 sign-in for Apache httpd 2.4, with the
 * identity Twilio Flex gets. The module record: directives and hooks only.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_request.h"
#include "mod_auth.h"
#include "http_protocol.h"

#define FLEXSAML_MODULE_RECORD
#include "flexsaml_glue.h"
#include "authn.h"
#include "authz.h"
#include "endpoints.h"
#include "errors.h"
#include "hooks.h"
#include "preserve_post.h"
#include "status.h"

static void flexsaml_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(flexsaml_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(flexsaml_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(flexsaml_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(flexsaml_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* The endpoints answer before access control: the ACS must be reachable
     * by a browser that has no session yet, wherever the site puts Require. */
    ap_hook_quick_handler(flexsaml_endpoint_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "flex-role", AUTHZ_PROVIDER_VERSION,
                              &flexsaml_authz_role_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "flex-claim", AUTHZ_PROVIDER_VERSION,
                              &flexsaml_authz_claim_provider, AP_AUTH_INTERNAL_PER_CONF);
    /* Before anything else reads the headers, on every request of the host. */
    ap_hook_post_read_request(flexsaml_strip_headers, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* Last: the handler (proxy, CGI) is known, and every module that reads
     * the session has run. */
    ap_hook_fixups(flexsaml_strip_cookies, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_insert_error_filter(flexsaml_authz_forbid, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(flexsaml_authz_site_page, NULL, NULL, APR_HOOK_MIDDLE);
    /* After the denial page chose its content type. */
    ap_hook_insert_error_filter(flexsaml_error_filters, NULL, NULL, APR_HOOK_LAST);
    flexsaml_register_error_filter();
    flexsaml_post_register(p);
    ap_hook_handler(flexsaml_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_authn(flexsaml_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
}

AP_DECLARE_MODULE(flexsaml) = {
    STANDARD20_MODULE_STUFF, flexsaml_create_dir_cfg, flexsaml_merge_dir_cfg,
    flexsaml_create_srv_cfg, flexsaml_merge_srv_cfg,  flexsaml_cmds,
    flexsaml_register_hooks, AP_MODULE_FLAG_NONE,
};
