/* One APR pool for a cmocka group of tests: apr_initialize and a pool in
 * the group setup, the pool destroyed and APR ended in the teardown. */
#ifndef FLEXSAML_TEST_APR_FIXTURE_H
#define FLEXSAML_TEST_APR_FIXTURE_H

#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *pool;

static int apr_group_setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int apr_group_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

#endif
