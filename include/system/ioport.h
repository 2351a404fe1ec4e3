/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port I/O and MMIO dispatch. A device registers a region of an IoBus with
 * read/write callbacks; a vCPU exit is routed to the one region holding the
 * address, with the offset into it. Callbacks run with the BQL held.
 * Unassigned ports read as all ones and ignore writes, as on a PC.
 */
#ifndef SYSTEM_IOPORT_H
#define SYSTEM_IOPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "util/error.h"

typedef struct IoOps {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value,
                  unsigned size);
} IoOps;

typedef struct IoRegion {
    const char *name;
    uint64_t base;
    uint64_t size;
    const IoOps *ops;
    void *opaque;
} IoRegion;

typedef struct IoBus {
    const char *name;       /* "pio" or "mmio", for traces */
    IoRegion *regions;      /* sorted by base, never overlapping */
    unsigned nr_regions;
} IoBus;

/* Fails if [base, base + size) overlaps a region already there. */
bool io_bus_register(IoBus *bus, const char *name, uint64_t base,
                     uint64_t size, const IoOps *ops, void *opaque,
                     Error **errp);
void io_bus_unregister(IoBus *bus, uint64_t base);
void io_bus_free(IoBus *bus);

/* Returns false when nothing is mapped at addr (reads then give ~0). */
bool io_bus_read(IoBus *bus, uint64_t addr, unsigned size, uint64_t *value);
bool io_bus_write(IoBus *bus, uint64_t addr, unsigned size, uint64_t value);

#endif
