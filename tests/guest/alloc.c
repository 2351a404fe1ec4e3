/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the one memory allocator, a bump pointer over
 * TG_HEAP_BASE..TG_HEAP_END (4-16 MiB).  Drivers and workloads take their
 * rings, buffers and tables from it once at start and never free them,
 * so memory use is fixed and shows in the README's map.  The dirty
 * workload's working set starts at TG_HEAP_END and never calls this.
 */
#include "guest.h"

static u64 heap_next = TG_HEAP_BASE;

void *tg_alloc(size_t size, size_t align)
{
    u64 a = (heap_next + align - 1) & ~(u64)(align - 1);
    u64 end = STATUS->ram_end && STATUS->ram_end < TG_HEAP_END ? STATUS->ram_end : TG_HEAP_END;

    if (a + size > end) {
        return NULL;
    }
    heap_next = a + size;
    return (void *)a;
}
