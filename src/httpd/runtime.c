/*
 * The per-virtual-host runtime, and the one piece of it that changes while
 * requests run: the SP, swapped by the metadata refresh. A request reads the
 * SP once and holds it until its pool is cleared; the SP it replaced is
 * destroyed once no request holds it (swap.h).
 */
#include <stdatomic.h>

#include "apr_strings.h"

#include "flexsaml_glue.h"
#include "runtime.h"

typedef struct {
    flexsaml_sp *sp;
    apr_pool_t *pool; /* NULL for the SP built at startup (it lives in pconf) */
} sp_slot;

typedef struct {
    flexsaml_runtime *rt;
    const flexsaml_sp *sp;
    unsigned ticket;
} sp_hold;

flexsaml_runtime *flexsaml_runtime_create(apr_pool_t *p)
{
    flexsaml_runtime *rt = apr_pcalloc(p, sizeof(*rt));
    flexsaml_swap_init(&rt->sp, NULL);
    atomic_init(&rt->idp_loaded, 0);
    atomic_init(&rt->forwarded_noted, 0);
    return rt;
}

static sp_slot *slot_new(apr_pool_t *p, flexsaml_sp *sp, apr_pool_t *owner)
{
    sp_slot *slot = apr_pcalloc(p, sizeof(*slot));
    slot->sp = sp;
    slot->pool = owner;
    return slot;
}

void flexsaml_runtime_set_sp(flexsaml_runtime *rt, apr_pool_t *p, flexsaml_sp *sp)
{
    flexsaml_swap_init(&rt->sp, slot_new(p, sp, NULL));
    atomic_store(&rt->idp_loaded, apr_time_now());
}

static apr_status_t release(void *data)
{
    sp_hold *h = data;
    flexsaml_swap_leave(&h->rt->sp, h->ticket);
    return APR_SUCCESS;
}

const flexsaml_sp *flexsaml_request_sp(request_rec *r, flexsaml_runtime *rt)
{
    static const char key[] = "flexsaml-sp";
    sp_hold *h = NULL;
    sp_slot *slot;

    apr_pool_userdata_get((void **)&h, key, r->pool);
    if (h && h->rt == rt)
        return h->sp;
    h = apr_palloc(r->pool, sizeof(*h));
    h->rt = rt;
    slot = flexsaml_swap_enter(&rt->sp, &h->ticket);
    h->sp = slot ? slot->sp : NULL;
    apr_pool_cleanup_register(r->pool, h, release, apr_pool_cleanup_null);
    apr_pool_userdata_setn(h, key, NULL, r->pool);
    return h->sp;
}

void flexsaml_runtime_swap_sp(flexsaml_runtime *rt, flexsaml_sp *sp, apr_pool_t *sp_pool)
{
    sp_slot *old = flexsaml_swap_replace(&rt->sp, slot_new(sp_pool, sp, sp_pool));

    atomic_store(&rt->idp_loaded, apr_time_now());
    if (old && old->pool)
        apr_pool_destroy(old->pool);
}
