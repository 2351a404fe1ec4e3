/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BIOS's PCI set-up, done by the machine (see
 * include/hw/pci/pci-firmware.h). Everything goes through
 * pci_config_write(), as the BIOS's own config cycles would, so the core
 * maps the BARs exactly as it does for a guest.
 */
#include "hw/pci/pci-firmware.h"
#include "trace.h"

typedef struct PciFirmwareBar {
    PCIDevice *dev;
    unsigned bar;
} PciFirmwareBar;

static gint pci_firmware_by_size(gconstpointer a, gconstpointer b)
{
    const PciFirmwareBar *x = a, *y = b;
    uint64_t sx = x->dev->bars[x->bar].size, sy = y->dev->bars[y->bar].size;

    /* Largest first; ties in bus order, so the result is stable. */
    if (sx != sy) {
        return sx > sy ? -1 : 1;
    }
    if (x->dev->devfn != y->dev->devfn) {
        return x->dev->devfn < y->dev->devfn ? -1 : 1;
    }
    return x->bar < y->bar ? -1 : x->bar > y->bar;
}

static void pci_firmware_write_bar(PCIDevice *dev, unsigned bar,
                                   uint64_t addr)
{
    unsigned reg = PCI_BASE_ADDRESS_0 + 4 * bar;

    pci_config_write(dev, reg, (uint32_t)addr, 4);
    if (dev->bars[bar].type == PCI_BAR_MEM64) {
        pci_config_write(dev, reg + 4, addr >> 32, 4);
    }
    trace_pci_firmware_bar(dev->devfn, bar, addr);
}

void pci_firmware_setup(PciBus *bus, const PciFirmwareLayout *l)
{
    g_autoptr(GArray) bars = g_array_new(FALSE, FALSE,
                                         sizeof(PciFirmwareBar));
    uint64_t io_next = l->io_base, mem_top = l->mem_end;

    for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++) {
        PCIDevice *dev = bus->devices[fn];

        for (unsigned i = 0; dev && i < PCI_NUM_BARS; i++) {
            if (dev->bars[i].size) {
                PciFirmwareBar b = { dev, i };
                g_array_append_val(bars, b);
            }
        }
    }
    g_array_sort(bars, pci_firmware_by_size);
    for (guint i = 0; i < bars->len; i++) {
        PciFirmwareBar *fb = &g_array_index(bars, PciFirmwareBar, i);
        PciBar *b = &fb->dev->bars[fb->bar];
        uint64_t addr;

        if (b->type == PCI_BAR_IO) {
            addr = (io_next + b->size - 1) & ~(b->size - 1);
            if (addr + b->size > l->io_end) {
                trace_pci_firmware_no_room(fb->dev->devfn, fb->bar, b->size);
                continue;
            }
            io_next = addr + b->size;
        } else {
            if (mem_top < l->mem_base + b->size) {
                trace_pci_firmware_no_room(fb->dev->devfn, fb->bar, b->size);
                continue;
            }
            addr = (mem_top - b->size) & ~(b->size - 1);
            if (addr < l->mem_base) {
                trace_pci_firmware_no_room(fb->dev->devfn, fb->bar, b->size);
                continue;
            }
            mem_top = addr;
        }
        pci_firmware_write_bar(fb->dev, fb->bar, addr);
    }
    for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++) {
        PCIDevice *dev = bus->devices[fn];
        uint16_t cmd = 0;
        int pirq;

        if (!dev) {
            continue;
        }
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            if (dev->bars[i].size) {
                cmd |= dev->bars[i].type == PCI_BAR_IO ? PCI_COMMAND_IO
                                                       : PCI_COMMAND_MEMORY;
            }
        }
        if (cmd) {
            pci_config_write(dev, PCI_COMMAND,
                             pci_config_read(dev, PCI_COMMAND, 2) | cmd, 2);
        }
        pirq = pci_intx_pirq(dev);
        if (pirq >= 0 && l->pirq_irq) {
            int irq = l->pirq_irq(l->opaque, pirq);

            pci_config_write(dev, PCI_INTERRUPT_LINE, irq < 0 ? 0xff : irq,
                             1);
        }
    }
}
