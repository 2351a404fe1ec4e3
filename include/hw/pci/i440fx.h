/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The two functions the pc machine puts on pci.0, as on an Intel 440FX
 * board and as QEMU's pc machine shows them:
 *
 *   00.0  i440FX-pcihost  host bridge  8086:1237 rev 02, class 0600
 *   01.0  PIIX3           ISA bridge   8086:7000, class 0601 (multi-
 *                                      function, as on the real chip)
 *
 * The host bridge is an identity only: Tandem has no firmware, so the
 * PAM and SMRAM registers of the real chip are not modelled.
 *
 * The PIIX3 routes PCI interrupts. The four PIRQ lines A-D reach the ISA
 * interrupt in the low nibble of its config registers 0x60-0x63
 * (PIRQRCA-D), unless bit 7 of the register is set (routing off); only
 * IRQs 3-7, 9-12, 14 and 15 are valid targets (datasheet), anything else
 * routes nowhere. A device's pin (0 for INTA#) reaches PIRQ
 * (slot - 1 + pin) mod 4 (pci_swizzle_map_irq), the wiring of QEMU's
 * i440FX board, so slot 2's INTA# is PIRQB. Several PIRQs may share an IRQ: the IRQ is high
 * while any of them is (level-triggered, shared).
 *
 * Since no firmware runs, the power-on values of 0x60-0x63 are what
 * SeaBIOS writes under QEMU: A, B -> IRQ 10, C, D -> IRQ 11 (the real
 * chip's reset value 0x80 would leave every PCI interrupt unrouted until
 * a BIOS set them). The machine marks IRQs 10 and 11 level-triggered in
 * the PIC's ELCR for the same reason.
 */
#ifndef HW_PCI_I440FX_H
#define HW_PCI_I440FX_H

#include "hw/core/isa-bus.h"
#include "hw/pci/pci.h"

#define TYPE_I440FX_PCI_DEVICE  "i440FX"
#define TYPE_PIIX3_DEVICE       "PIIX3"

#define PCI_VENDOR_ID_INTEL             0x8086
#define PCI_DEVICE_ID_INTEL_82441       0x1237
#define PCI_DEVICE_ID_INTEL_82371SB_0   0x7000
/* QEMU's subsystem IDs on its own devices (Red Hat, QEMU). */
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBDEVICE_ID_QEMU            0x1100

#define PIIX3_PIRQRC            0x60    /* four registers, PIRQ A-D */
#define PIIX3_PIRQRC_DISABLE    0x80
#define PIIX3_PIRQRC_IRQ_MASK   0x0f
/* The IRQs PIRQs are routed to at power-on (see above). */
#define PIIX3_DEFAULT_PIRQ_IRQS { 10, 10, 11, 11 }

typedef struct PIIX3State {
    PCIDevice parent_obj;
    IsaBus *isa;            /* where the routed IRQs go; set before realize */
    bool pirq_level[PCI_INTX_PINS];
    uint16_t irq_levels;    /* ISA IRQs this bridge holds high */
} PIIX3State;

/* The ISA IRQ PIRQ pirq (0-3) reaches now, or -1. */
int piix3_pirq_irq(PIIX3State *s, unsigned pirq);

#endif
