/*
 * The left-right scheme: readers count themselves in one of two counters,
 * chosen by the parity of an epoch, before they load the pointer. The writer
 * stores the new pointer, waits for the counter new readers do not use to
 * drain (readers left there by an earlier epoch), flips the epoch, and waits
 * for the other counter to drain. A reader counted after either wait loads
 * the pointer after the store, so it can only see the new value; every
 * reader that may hold the old value is waited for. Sequentially consistent
 * atomics throughout: the order of the increment and the load is the proof.
 */
#include <apr_time.h>

#include "swap.h"

void flexsaml_swap_init(flexsaml_swap *sw, void *value)
{
    atomic_init(&sw->value, value);
    atomic_init(&sw->epoch, 0);
    atomic_init(&sw->readers[0], 0);
    atomic_init(&sw->readers[1], 0);
}

void *flexsaml_swap_enter(flexsaml_swap *sw, unsigned *ticket)
{
    *ticket = atomic_load(&sw->epoch) & 1;
    atomic_fetch_add(&sw->readers[*ticket], 1);
    return atomic_load(&sw->value);
}

void flexsaml_swap_leave(flexsaml_swap *sw, unsigned ticket)
{
    atomic_fetch_sub(&sw->readers[ticket & 1], 1);
}

void *flexsaml_swap_peek(flexsaml_swap *sw)
{
    return atomic_load(&sw->value);
}

static void drain(atomic_uint *readers)
{
    while (atomic_load(readers) != 0)
        apr_sleep(apr_time_from_msec(1));
}

void *flexsaml_swap_replace(flexsaml_swap *sw, void *value)
{
    unsigned now = atomic_load(&sw->epoch) & 1;
    void *old = atomic_exchange(&sw->value, value);

    drain(&sw->readers[now ^ 1]);
    atomic_fetch_add(&sw->epoch, 1);
    drain(&sw->readers[now]);
    return old;
}
