/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Configuration mechanism #1 on ports 0xCF8/0xCFC (see
 * include/hw/pci/pci-host.h) and the root bus it reaches.
 */
#include "hw/pci/pci-host.h"
#include "trace.h"

/* The function and register the latch selects, or NULL. */
static PCIDevice *pci_host_target(PciHostState *h, unsigned *reg)
{
    uint32_t a = h->config_addr;

    if (!(a & PCI_HOST_ENABLE) || ((a >> 16) & 0xff) != 0) {
        return NULL;
    }
    *reg = a & 0xfc;
    return pci_bus_find(&h->bus, (a >> 8) & 0xff);
}

static uint64_t pci_host_addr_read(void *opaque, uint64_t offset,
                                   unsigned size)
{
    PciHostState *h = opaque;

    if (offset != 0 || size != 4) {
        return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    }
    return h->config_addr;
}

static void pci_host_addr_write(void *opaque, uint64_t offset, uint64_t value,
                                unsigned size)
{
    PciHostState *h = opaque;

    if (offset == 0 && size == 4) {
        h->config_addr = value & PCI_HOST_ADDR_MASK;
    }
}

static const IoOps pci_host_addr_ops = {
    .read = pci_host_addr_read,
    .write = pci_host_addr_write,
};

static bool pci_host_data_access_ok(uint64_t offset, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && offset + size <= 4 &&
           !(offset & (size - 1));
}

static uint64_t pci_host_data_read(void *opaque, uint64_t offset,
                                   unsigned size)
{
    PciHostState *h = opaque;
    uint64_t all_ones = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
    PCIDevice *dev;
    unsigned reg;
    uint32_t v;

    if (!pci_host_data_access_ok(offset, size) ||
        !(dev = pci_host_target(h, &reg))) {
        trace_pci_host_config_miss(h->config_addr, offset, size);
        return all_ones;
    }
    v = pci_config_read(dev, reg + offset, size);
    trace_pci_host_config_read(dev->devfn, reg + offset, size, v);
    return v;
}

static void pci_host_data_write(void *opaque, uint64_t offset, uint64_t value,
                                unsigned size)
{
    PciHostState *h = opaque;
    PCIDevice *dev;
    unsigned reg;

    if (!pci_host_data_access_ok(offset, size) ||
        !(dev = pci_host_target(h, &reg))) {
        trace_pci_host_config_miss(h->config_addr, offset, size);
        return;
    }
    pci_config_write(dev, reg + offset, value, size);
}

static const IoOps pci_host_data_ops = {
    .read = pci_host_data_read,
    .write = pci_host_data_write,
};

/* ---- migration ---- */

static bool pci_host_post_load(void *opaque, int version_id, Error **errp)
{
    PciHostState *h = opaque;

    if (h->config_addr & ~PCI_HOST_ADDR_MASK) {
        error_setg(errp, "pci-host: config address 0x%08x has reserved bits "
                   "set", h->config_addr);
        h->config_addr &= PCI_HOST_ADDR_MASK;
        return false;
    }
    return true;
}

static const VMStateDescription vmstate_pci_host = {
    .name = "pci-host",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = pci_host_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(config_addr, PciHostState),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- set-up ---- */

bool pci_host_init(PciHostState *h, IoBus *pio, IoBus *mmio,
                   GuestMemory *mem, SaveVMState *sv,
                   const PciMsiOps *msi_ops, void *msi_opaque, Error **errp)
{
    *h = (PciHostState) {
        .bus = {
            .bus = { .name = "pci.0", .kind = BUS_KIND_PCI },
            .pio = pio, .mmio = mmio, .mem = mem, .savevm = sv,
            .msi_ops = msi_ops, .msi_opaque = msi_opaque,
        },
    };
    if (!io_bus_register(pio, "pci-conf-addr", PCI_HOST_CONFIG_ADDR, 4,
                         &pci_host_addr_ops, h, errp)) {
        return false;
    }
    if (!io_bus_register(pio, "pci-conf-data", PCI_HOST_CONFIG_DATA, 4,
                         &pci_host_data_ops, h, errp)) {
        io_bus_unregister(pio, PCI_HOST_CONFIG_ADDR);
        return false;
    }
    h->ports_registered = true;
    if (sv) {
        if (!savevm_register(sv, vmstate_pci_host.name, 0, &vmstate_pci_host,
                             h, errp)) {
            pci_host_cleanup(h);
            return false;
        }
        h->vmstate_registered = true;
    }
    if (!pci_bus_init(&h->bus, errp)) {
        pci_host_cleanup(h);
        return false;
    }
    return true;
}

void pci_host_cleanup(PciHostState *h)
{
    pci_bus_cleanup(&h->bus);
    if (h->vmstate_registered) {
        savevm_unregister(h->bus.savevm, vmstate_pci_host.name, 0);
        h->vmstate_registered = false;
    }
    if (h->ports_registered) {
        io_bus_unregister(h->bus.pio, PCI_HOST_CONFIG_DATA);
        io_bus_unregister(h->bus.pio, PCI_HOST_CONFIG_ADDR);
        h->ports_registered = false;
    }
}

void pci_host_reset(PciHostState *h)
{
    h->config_addr = 0;
}
