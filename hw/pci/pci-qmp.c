/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * query-pci (qapi/pci.json): every bus and function as QEMU reports
 * them, read from the functions' configuration space and BARs.
 */
#include "hw/pci/pci.h"
#include "qapi/qapi-commands.h"

/* The class names QEMU prints for the classes Tandem's machines and
 * devices use (lspci's wording); other classes get no desc. */
static const struct {
    uint16_t class_id;
    const char *desc;
} pci_class_names[] = {
    { PCI_CLASS_STORAGE_SCSI, "SCSI controller" },
    { 0x0101, "IDE controller" },
    { PCI_CLASS_NETWORK_ETHERNET, "Ethernet controller" },
    { PCI_CLASS_MEMORY_RAM, "RAM controller" },
    { PCI_CLASS_BRIDGE_HOST, "Host bridge" },
    { PCI_CLASS_BRIDGE_ISA, "ISA bridge" },
    { PCI_CLASS_BRIDGE_OTHER, "Bridge" },
};

static PciDeviceClass *pci_qmp_class(PCIDevice *dev)
{
    PciDeviceClass *c = g_new0(PciDeviceClass, 1);

    c->class = pci_get_word(dev->config + PCI_CLASS_DEVICE);
    for (size_t i = 0; i < G_N_ELEMENTS(pci_class_names); i++) {
        if (pci_class_names[i].class_id == c->class) {
            c->desc = g_strdup(pci_class_names[i].desc);
        }
    }
    return c;
}

static PciDeviceId *pci_qmp_id(PCIDevice *dev)
{
    PciDeviceId *id = g_new0(PciDeviceId, 1);

    id->vendor = pci_get_word(dev->config + PCI_VENDOR_ID);
    id->device = pci_get_word(dev->config + PCI_DEVICE_ID);
    /* A type 0 header always has the subsystem registers. */
    id->has_subsystem = id->has_subsystem_vendor = true;
    id->subsystem = pci_get_word(dev->config + PCI_SUBSYSTEM_ID);
    id->subsystem_vendor = pci_get_word(dev->config + PCI_SUBSYSTEM_VENDOR_ID);
    return id;
}

static PciMemoryRegionList *pci_qmp_regions(PCIDevice *dev)
{
    PciMemoryRegionList *head = NULL, **tail = &head;

    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        PciBar *b = &dev->bars[i];
        PciMemoryRegion *r;

        if (!b->size) {
            continue;
        }
        r = g_new0(PciMemoryRegion, 1);
        r->bar = i;
        r->type = g_strdup(b->type == PCI_BAR_IO ? "io" : "memory");
        /* Where it decodes; -1 while it does not, as QEMU reports. */
        r->address = b->addr == PCI_BAR_UNMAPPED ? -1 : (int64_t)b->addr;
        r->size = b->size;
        if (b->type != PCI_BAR_IO) {
            r->has_prefetch = r->has_mem_type_64 = true;
            r->prefetch = b->prefetch;
            r->mem_type_64 = b->type == PCI_BAR_MEM64;
        }
        *tail = g_new0(PciMemoryRegionList, 1);
        (*tail)->value = r;
        tail = &(*tail)->next;
    }
    return head;
}

static PciDeviceInfo *pci_qmp_device(PCIDevice *dev)
{
    PciDeviceInfo *info = g_new0(PciDeviceInfo, 1);
    const char *id = dev->parent_obj.parent_obj.id;

    info->bus = 0;
    info->slot = PCI_SLOT(dev->devfn);
    info->function = PCI_FUNC(dev->devfn);
    info->class_info = pci_qmp_class(dev);
    info->id = pci_qmp_id(dev);
    info->irq_pin = dev->config[PCI_INTERRUPT_PIN];
    if (info->irq_pin) {
        info->has_irq = true;
        info->irq = dev->config[PCI_INTERRUPT_LINE];
    }
    info->qdev_id = g_strdup(id ? id : "");
    info->regions = pci_qmp_regions(dev);
    return info;
}

typedef struct PciQmpCtx {
    PciInfoList *head;
    PciInfoList **tail;
} PciQmpCtx;

static void pci_qmp_bus(PciBus *bus, void *opaque)
{
    PciQmpCtx *ctx = opaque;
    PciInfo *info = g_new0(PciInfo, 1);
    PciDeviceInfoList **tail = &info->devices;

    info->bus = 0;
    for (unsigned devfn = 0; devfn < G_N_ELEMENTS(bus->devices); devfn++) {
        if (bus->devices[devfn]) {
            *tail = g_new0(PciDeviceInfoList, 1);
            (*tail)->value = pci_qmp_device(bus->devices[devfn]);
            tail = &(*tail)->next;
        }
    }
    *ctx->tail = g_new0(PciInfoList, 1);
    (*ctx->tail)->value = info;
    ctx->tail = &(*ctx->tail)->next;
}

PciInfoList *qmp_query_pci(Error **errp)
{
    PciQmpCtx ctx = { .tail = &ctx.head };

    pci_bus_foreach(pci_qmp_bus, &ctx);
    return ctx.head;
}
