/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PIIX3 ISA bridge function at 01.0 and its PCI interrupt router
 * (see include/hw/pci/i440fx.h). Created by the machine, which points it
 * at the ISA bus before realizing it.
 */
#include "hw/pci/i440fx.h"
#include "trace.h"

#define PIIX3(dev) ((PIIX3State *)(dev))

/* ISA IRQs a PIRQ may be routed to (PIIX3 datasheet, PIRQRC). */
#define PIIX3_VALID_IRQS 0xdef8     /* 3-7, 9-12, 14, 15 */

int piix3_pirq_irq(PIIX3State *s, unsigned pirq)
{
    uint8_t r = s->parent_obj.config[PIIX3_PIRQRC + pirq];
    unsigned irq = r & PIIX3_PIRQRC_IRQ_MASK;

    if ((r & PIIX3_PIRQRC_DISABLE) || !(PIIX3_VALID_IRQS & (1u << irq))) {
        return -1;
    }
    return irq;
}

/* Recomputes every ISA IRQ from the PIRQ levels and routes, and sends
 * the ones that changed. */
static void piix3_update_irqs(PIIX3State *s)
{
    uint16_t levels = 0;
    uint16_t changed;

    for (unsigned p = 0; p < PCI_INTX_PINS; p++) {
        int irq = piix3_pirq_irq(s, p);

        if (irq >= 0 && s->pirq_level[p]) {
            levels |= 1u << irq;
        }
    }
    changed = levels ^ s->irq_levels;
    s->irq_levels = levels;
    for (unsigned irq = 0; s->isa && irq < ISA_NUM_IRQS; irq++) {
        if (changed & (1u << irq)) {
            trace_piix3_irq(irq, !!(levels & (1u << irq)));
            s->isa->set_irq(s->isa->irq_opaque, irq, levels & (1u << irq));
        }
    }
}

static void piix3_set_pirq(void *opaque, unsigned pirq, bool level)
{
    PIIX3State *s = opaque;

    s->pirq_level[pirq] = level;
    piix3_update_irqs(s);
}

static int piix3_pirq_gsi(void *opaque, unsigned pirq)
{
    return piix3_pirq_irq(opaque, pirq);
}

static bool piix3_realize(PCIDevice *dev, Error **errp)
{
    PIIX3State *s = PIIX3(dev);
    static const uint8_t irqs[PCI_INTX_PINS] = PIIX3_DEFAULT_PIRQ_IRQS;

    for (unsigned p = 0; p < PCI_INTX_PINS; p++) {
        dev->config[PIIX3_PIRQRC + p] = irqs[p];
        dev->wmask[PIIX3_PIRQRC + p] = PIIX3_PIRQRC_DISABLE |
                                       PIIX3_PIRQRC_IRQ_MASK;
    }
    pci_bus_set_pirq_router(dev->bus, piix3_set_pirq, piix3_pirq_gsi, s);
    return true;
}

static void piix3_exit(PCIDevice *dev)
{
    PIIX3State *s = PIIX3(dev);

    pci_bus_set_pirq_router(dev->bus, NULL, NULL, NULL);
    memset(s->pirq_level, 0, sizeof(s->pirq_level));
    piix3_update_irqs(s);
}

static void piix3_config_write(PCIDevice *dev, unsigned addr, uint32_t val,
                               unsigned len)
{
    if (addr < PIIX3_PIRQRC + PCI_INTX_PINS && PIIX3_PIRQRC < addr + len) {
        piix3_update_irqs(PIIX3(dev));
        pci_bus_intx_routes_changed(dev->bus);
    }
}

/* The routes came back with the config space (reset or migration). */
static void piix3_routes_changed(PCIDevice *dev)
{
    piix3_update_irqs(PIIX3(dev));
    pci_bus_intx_routes_changed(dev->bus);
}

static const PCIDeviceClass piix3_class = {
    .parent_class = {
        .type = {
            .name = TYPE_PIIX3_DEVICE,
            .parent = TYPE_PCI_DEVICE,
            .description = "PIIX3 ISA bridge and PCI interrupt router",
            .instance_size = sizeof(PIIX3State),
        },
        .category = DEVICE_CATEGORY_BRIDGE,
        .bus_kind = BUS_KIND_PCI,
        .no_user = true,
    },
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82371SB_0,
    .class_id = PCI_CLASS_BRIDGE_ISA,
    .subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
    .subsystem_id = PCI_SUBDEVICE_ID_QEMU,
    .realize = piix3_realize,
    .exit = piix3_exit,
    .config_write = piix3_config_write,
    .reset = piix3_routes_changed,
    .post_load = piix3_routes_changed,
};
PCI_DEVICE_CLASS_REGISTER(piix3_class)
