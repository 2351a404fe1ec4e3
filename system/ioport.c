/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IoBus: a sorted array of non-overlapping regions searched by bisection.
 * A PC has a handful of regions, and exits are already microseconds, so
 * this stays simple on purpose.
 */
#include <string.h>
#include "system/ioport.h"
#include "trace.h"

static IoRegion *io_bus_lookup(IoBus *bus, uint64_t addr)
{
    unsigned lo = 0, hi = bus->nr_regions;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        IoRegion *r = &bus->regions[mid];

        if (addr < r->base) {
            hi = mid;
        } else if (addr - r->base >= r->size) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

bool io_bus_register(IoBus *bus, const char *name, uint64_t base,
                     uint64_t size, const IoOps *ops, void *opaque,
                     Error **errp)
{
    unsigned pos = 0;

    g_assert(size > 0);
    for (unsigned i = 0; i < bus->nr_regions; i++) {
        IoRegion *r = &bus->regions[i];
        if (base < r->base + r->size && r->base < base + size) {
            error_setg(errp, "%s at 0x%" G_GINT64_MODIFIER "x overlaps %s at 0x%"
                       G_GINT64_MODIFIER "x", name, base, r->name, r->base);
            return false;
        }
        if (r->base < base) {
            pos = i + 1;
        }
    }
    bus->regions = g_renew(IoRegion, bus->regions, bus->nr_regions + 1);
    memmove(&bus->regions[pos + 1], &bus->regions[pos],
            (bus->nr_regions - pos) * sizeof(IoRegion));
    bus->regions[pos] = (IoRegion) {
        .name = name, .base = base, .size = size, .ops = ops, .opaque = opaque,
    };
    bus->nr_regions++;
    return true;
}

void io_bus_unregister(IoBus *bus, uint64_t base)
{
    for (unsigned i = 0; i < bus->nr_regions; i++) {
        if (bus->regions[i].base == base) {
            memmove(&bus->regions[i], &bus->regions[i + 1],
                    (bus->nr_regions - i - 1) * sizeof(IoRegion));
            bus->nr_regions--;
            return;
        }
    }
}

void io_bus_free(IoBus *bus)
{
    g_free(bus->regions);
    bus->regions = NULL;
    bus->nr_regions = 0;
}

bool io_bus_read(IoBus *bus, uint64_t addr, unsigned size, uint64_t *value)
{
    IoRegion *r = io_bus_lookup(bus, addr);

    if (!r || !r->ops->read) {
        *value = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
        trace_io_bus_unassigned(bus->name, "read", addr, size);
        return false;
    }
    *value = r->ops->read(r->opaque, addr - r->base, size);
    return true;
}

bool io_bus_write(IoBus *bus, uint64_t addr, unsigned size, uint64_t value)
{
    IoRegion *r = io_bus_lookup(bus, addr);

    if (!r || !r->ops->write) {
        trace_io_bus_unassigned(bus->name, "write", addr, size);
        return false;
    }
    r->ops->write(r->opaque, addr - r->base, value, size);
    return true;
}
