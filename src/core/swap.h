/*
 * A pointer that readers use without a lock while one writer replaces it
 * (swap.c): the left-right scheme. A reader enters (one atomic increment and
 * one atomic load), uses what it got, and leaves; the writer's replace
 * returns the old value only once no reader can still hold it, so the
 * writer may free it.
 */
#ifndef FLEXSAML_SWAP_H
#define FLEXSAML_SWAP_H

#include <stdatomic.h>

typedef struct {
    _Atomic(void *) value;
    atomic_uint epoch;      /* its parity picks the counter new readers use */
    atomic_uint readers[2]; /* readers inside, by the parity they entered with */
} flexsaml_swap;

void flexsaml_swap_init(flexsaml_swap *sw, void *value);
/* The current value; *ticket goes to flexsaml_swap_leave. */
void *flexsaml_swap_enter(flexsaml_swap *sw, unsigned *ticket);
void flexsaml_swap_leave(flexsaml_swap *sw, unsigned ticket);
/* The value now, for a caller that is not a reader (the writer itself). */
void *flexsaml_swap_peek(flexsaml_swap *sw);
/* Installs value and returns the previous one once no reader holds it.
 * One writer at a time; it sleeps (1 ms steps) while readers drain. */
void *flexsaml_swap_replace(flexsaml_swap *sw, void *value);

#endif
