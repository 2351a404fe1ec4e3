/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x-pci-test, a PCI function for tests (see the header).
 */
#include <string.h>
#include "hw/pci/msix.h"
#include "hw/pci/pci-testdev.h"
#include "trace.h"

#define PCI_TESTDEV(dev) ((PciTestDevState *)(dev))

static uint64_t pci_testdev_reg_read(void *opaque, uint64_t offset,
                                     unsigned size)
{
    PciTestDevState *s = opaque;

    if (size != 4 || (offset & 3)) {
        return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
    }
    switch (offset) {
    case PCI_TESTDEV_REG_SCRATCH:
        return s->scratch;
    case PCI_TESTDEV_REG_INTX:
        return s->intx;
    case PCI_TESTDEV_REG_DMA_ADDR_LO:
        return (uint32_t)s->dma_addr;
    case PCI_TESTDEV_REG_DMA_ADDR_HI:
        return s->dma_addr >> 32;
    case PCI_TESTDEV_REG_DMA_LEN:
        return s->dma_len;
    case PCI_TESTDEV_REG_DMA_STATUS:
        return s->dma_status;
    default:
        return 0;
    }
}

static void pci_testdev_dma_fill(PciTestDevState *s, uint8_t byte)
{
    g_autofree uint8_t *buf = g_malloc(s->dma_len);
    g_autoptr(Error) err = NULL;

    memset(buf, byte, s->dma_len);
    if (!pci_dma_write(&s->parent_obj, s->dma_addr, buf, s->dma_len, &err)) {
        trace_pci_testdev_dma_error(error_get_pretty(err));
        s->dma_status = 1;
        return;
    }
    s->dma_status = 0;
}

static void pci_testdev_reg_write(void *opaque, uint64_t offset,
                                  uint64_t value, unsigned size)
{
    PciTestDevState *s = opaque;

    if (size != 4 || (offset & 3)) {
        return;
    }
    switch (offset) {
    case PCI_TESTDEV_REG_SCRATCH:
        s->scratch = value;
        break;
    case PCI_TESTDEV_REG_INTX:
        s->intx = value & 1;
        pci_set_irq(&s->parent_obj, s->intx);
        break;
    case PCI_TESTDEV_REG_MSIX:
        msix_notify(&s->parent_obj, value);
        break;
    case PCI_TESTDEV_REG_DMA_ADDR_LO:
        s->dma_addr = (s->dma_addr & ~0xffffffffULL) | (uint32_t)value;
        break;
    case PCI_TESTDEV_REG_DMA_ADDR_HI:
        s->dma_addr = (s->dma_addr & 0xffffffffULL) | (uint64_t)value << 32;
        break;
    case PCI_TESTDEV_REG_DMA_LEN:
        s->dma_len = MIN((uint32_t)value, 4096u);
        break;
    case PCI_TESTDEV_REG_DMA_FILL:
        pci_testdev_dma_fill(s, value);
        break;
    }
}

static const IoOps pci_testdev_reg_ops = {
    .read = pci_testdev_reg_read,
    .write = pci_testdev_reg_write,
};

static uint64_t pci_testdev_ram_read(void *opaque, uint64_t offset,
                                     unsigned size)
{
    PciTestDevState *s = opaque;
    uint64_t v = 0;

    memcpy(&v, s->ram + offset, MIN(size, (unsigned)(sizeof(s->ram) -
                                                     offset)));
    return v;
}

static void pci_testdev_ram_write(void *opaque, uint64_t offset,
                                  uint64_t value, unsigned size)
{
    PciTestDevState *s = opaque;

    memcpy(s->ram + offset, &value, MIN(size, (unsigned)(sizeof(s->ram) -
                                                         offset)));
}

static const IoOps pci_testdev_ram_ops = {
    .read = pci_testdev_ram_read,
    .write = pci_testdev_ram_write,
};

static bool pci_testdev_realize(PCIDevice *dev, Error **errp)
{
    PciTestDevState *s = PCI_TESTDEV(dev);

    pci_register_bar(dev, 0, PCI_BAR_IO, false, PCI_TESTDEV_IO_SIZE,
                     &pci_testdev_reg_ops, s);
    pci_register_bar(dev, 1, PCI_BAR_MEM32, false, PCI_TESTDEV_MMIO_SIZE,
                     &pci_testdev_reg_ops, s);
    pci_register_bar(dev, 2, PCI_BAR_MEM64, true, PCI_TESTDEV_RAM_SIZE,
                     &pci_testdev_ram_ops, s);
    pci_set_interrupt_pin(dev, 1);
    if (s->vectors &&
        !msix_init(dev, s->vectors, PCI_TESTDEV_MSIX_BAR, 0,
                   PCI_TESTDEV_MSIX_PBA, errp)) {
        return false;
    }
    return true;
}

static void pci_testdev_reset(PCIDevice *dev)
{
    PciTestDevState *s = PCI_TESTDEV(dev);

    s->scratch = s->intx = s->dma_len = s->dma_status = 0;
    s->dma_addr = 0;
    memset(s->ram, 0, sizeof(s->ram));
}

static const VMStateDescription vmstate_pci_testdev = {
    .name = "x-pci-test",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(scratch, PciTestDevState),
        VMSTATE_UINT32_LE(intx, PciTestDevState, 1),
        VMSTATE_UINT64(dma_addr, PciTestDevState),
        VMSTATE_UINT32_LE(dma_len, PciTestDevState, 4096),
        VMSTATE_UINT32_LE(dma_status, PciTestDevState, 1),
        VMSTATE_BUFFER(ram, PciTestDevState),
        VMSTATE_END_OF_LIST()
    },
};

static const ObjectProperty pci_testdev_props[] = {
    OBJ_PROP_RANGE("vectors", OBJ_PROP_UINT32, PciTestDevState, vectors,
                   "MSI-X vectors (0: no MSI-X)", 0, 64, "2"),
    { NULL },
};

static const PCIDeviceClass pci_testdev_class = {
    .parent_class = {
        .type = {
            .name = TYPE_PCI_TESTDEV,
            .parent = TYPE_PCI_DEVICE,
            .description = "Tandem's PCI test device (BARs, INTx, MSI-X, "
                           "DMA)",
            .instance_size = sizeof(PciTestDevState),
            .props = pci_testdev_props,
        },
        .category = DEVICE_CATEGORY_MISC,
        .bus_kind = BUS_KIND_PCI,
    },
    .vendor_id = PCI_TESTDEV_VENDOR_ID,
    .device_id = PCI_TESTDEV_DEVICE_ID,
    .class_id = PCI_CLASS_OTHERS,
    .realize = pci_testdev_realize,
    .reset = pci_testdev_reset,
    .vmsd = &vmstate_pci_testdev,
};
PCI_DEVICE_CLASS_REGISTER(pci_testdev_class)
