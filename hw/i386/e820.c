/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The e820 table builder (see include/hw/i386/e820.h). */
#include <glib.h>
#include "hw/i386/e820.h"

void e820_add(E820Table *t, uint64_t addr, uint64_t size, uint32_t type)
{
    g_assert(t->count < E820_MAX_ENTRIES);
    g_assert(!t->count || addr >= t->entries[t->count - 1].addr +
                                   t->entries[t->count - 1].size);
    t->entries[t->count++] = (E820Entry) {
        .addr = addr, .size = size, .type = type,
    };
}
