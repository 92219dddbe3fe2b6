/* FlexSAMLPreservePost (preserve_post.c): a form POST kept through a login
 * and replayed after it. */
#ifndef FLEXSAML_PRESERVE_POST_H
#define FLEXSAML_PRESERVE_POST_H

#include "httpd.h"

#include "flexsaml_glue.h"

/* The cookie that holds a kept body's id and key; stripped, like the
 * session cookie, from what back ends and CGI scripts see. */
#define FLEXSAML_POST_COOKIE "flexsaml_post"

/* Before a login starts for a POST without a session: keeps a form body
 * (urlencoded or multipart, up to FlexSAMLPreservePost), sealed in the
 * store under a key set only in this browser's flexsaml_post cookie.
 * Nothing happens for anything else; a body too large is logged and lost. */
void flexsaml_post_keep(request_rec *r, const flexsaml_srv_cfg *c);

/* On a request with session s: when this browser's flexsaml_post cookie
 * names a body kept for this URL before s was made, the request becomes
 * that POST again (once). */
void flexsaml_post_replay(request_rec *r, const flexsaml_srv_cfg *c, const flexsaml_session *s);

/* The input filter that feeds a replayed body (register_hooks). */
void flexsaml_post_register(apr_pool_t *p);

#endif
