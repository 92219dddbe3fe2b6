/* Placeholder until the TaskRouter sync lands: no directives, no effect. */
#include "taskrouter_glue.h"

struct flexsaml_tr_cfg {
    int unused;
};

flexsaml_tr_cfg *flexsaml_tr_create(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(flexsaml_tr_cfg));
}

flexsaml_tr_cfg *flexsaml_tr_merge(apr_pool_t *p, const flexsaml_tr_cfg *base,
                                   const flexsaml_tr_cfg *add)
{
    (void)p;
    (void)base;
    return (flexsaml_tr_cfg *)add;
}

int flexsaml_tr_check(apr_pool_t *pconf, server_rec *s, flexsaml_tr_cfg *cfg)
{
    (void)pconf;
    (void)s;
    (void)cfg;
    return OK;
}

void flexsaml_tr_child_init(apr_pool_t *pchild, server_rec *s, flexsaml_tr_cfg *cfg)
{
    (void)pchild;
    (void)s;
    (void)cfg;
}

void flexsaml_tr_login(request_rec *r, flexsaml_tr_cfg *cfg, const flexsaml_identity *id)
{
    (void)r;
    (void)cfg;
    (void)id;
}
