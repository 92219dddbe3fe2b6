/*
 * flexsaml_sp_policy from the settings (sp_policy.h).
 */
#include <string.h>

#include "sp_policy.h"

void flexsaml_sp_policy_from_settings(flexsaml_sp_policy *pol, const flexsaml_settings *c)
{
    memset(pol, 0, sizeof(*pol));
    pol->sp_entity_id = c->sp_entity_id;
    pol->require_signed_response = c->require_signed_response;
    pol->allow_sha1 = c->allow_sha1;
    pol->clock_skew = c->clock_skew;
    pol->require_flex_role = c->require_flex_role;
    pol->roles = c->roles;
    pol->roles_attribute = c->claims->roles_attribute;
    pol->user_attribute = c->user_attribute;
    pol->required_claims = c->required_claims;
    pol->max_attr_bytes = c->max_attr_bytes;
    /* FlexSAMLMaxSessionBytes bounds a whole stored session; its attributes
     * may take half of it (README). */
    pol->max_total_bytes = c->max_session_bytes / 2;
}
