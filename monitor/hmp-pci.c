/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP "info pci": query-pci printed in QEMU's layout, line for line,
 * so that what people and scripts read from QEMU reads the same here.
 */
#include <inttypes.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"

static void hmp_pci_region(HmpContext *hmp, const PciMemoryRegion *r)
{
    /* The end is address + size - 1, also for -1 (unassigned): QEMU's
     * arithmetic, kept so the lines match. */
    uint64_t addr = r->address;
    uint64_t end = addr + r->size - 1;

    hmp_printf(hmp, "      BAR%" PRId64 ": ", r->bar);
    if (!strcmp(r->type, "io")) {
        hmp_printf(hmp, "I/O at 0x%04" PRIx64 " [0x%04" PRIx64 "].\n",
                   addr, end);
        return;
    }
    hmp_printf(hmp, "%d bit%s memory at 0x%08" PRIx64 " [0x%08" PRIx64
               "].\n", r->mem_type_64 ? 64 : 32,
               r->prefetch ? " prefetchable" : "", addr, end);
}

static void hmp_pci_device(HmpContext *hmp, const PciDeviceInfo *d)
{
    hmp_printf(hmp, "  Bus %2" PRId64 ", device %3" PRId64 ", function %"
               PRId64 ":\n", d->bus, d->slot, d->function);
    hmp_printf(hmp, "    ");
    if (d->class_info->desc) {
        hmp_printf(hmp, "%s", d->class_info->desc);
    } else {
        /* Decimal, as QEMU prints it. */
        hmp_printf(hmp, "Class %04" PRId64, d->class_info->class);
    }
    hmp_printf(hmp, ": PCI device %04" PRIx64 ":%04" PRIx64 "\n",
               d->id->vendor, d->id->device);
    if (d->id->has_subsystem_vendor && d->id->has_subsystem) {
        hmp_printf(hmp, "      PCI subsystem %04" PRIx64 ":%04" PRIx64 "\n",
                   d->id->subsystem_vendor, d->id->subsystem);
    }
    if (d->has_irq) {
        hmp_printf(hmp, "      IRQ %" PRId64 ", pin %c\n", d->irq,
                   (char)('A' + d->irq_pin - 1));
    }
    for (const PciMemoryRegionList *r = d->regions; r; r = r->next) {
        hmp_pci_region(hmp, r->value);
    }
    hmp_printf(hmp, "      id \"%s\"\n", d->qdev_id);
}

void hmp_info_pci(HmpContext *hmp, const char *args)
{
    Error *err = NULL;
    g_autoptr(PciInfoList) buses = qmp_query_pci(&err);

    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    for (const PciInfoList *b = buses; b; b = b->next) {
        for (const PciDeviceInfoList *d = b->value->devices; d; d = d->next) {
            hmp_pci_device(hmp, d->value);
        }
    }
}
