/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a PC BIOS does to PCI before the OS runs, done by the machine
 * because Tandem boots kernels directly, without firmware (QEMU's pc
 * machine runs SeaBIOS even with -kernel, so a guest there finds its
 * devices already set up; here it finds them the same way):
 *
 *   - every BAR gets an address: I/O BARs from the bottom of the I/O
 *     window up, memory BARs (32- and 64-bit alike) from the top of the
 *     32-bit memory window down, largest first, each aligned to its
 *     size; a BAR that does not fit stays unassigned (0);
 *   - the command register decodes what the function has (I/O, memory);
 *     bus mastering is left to the driver, as a BIOS leaves it;
 *   - the interrupt line register holds the ISA IRQ the function's pin
 *     is routed to (the guest's drivers and "info pci" read it).
 *
 * The guest may move anything afterwards; the PCI core follows.
 */
#ifndef HW_PCI_PCI_FIRMWARE_H
#define HW_PCI_PCI_FIRMWARE_H

#include "hw/pci/pci.h"

typedef struct PciFirmwareLayout {
    uint64_t io_base, io_end;       /* I/O window [base, end) */
    uint64_t mem_base, mem_end;     /* 32-bit memory window [base, end) */
    /* The IRQ a PIRQ (0-3) reaches, or -1 (the board's router). */
    int (*pirq_irq)(void *opaque, unsigned pirq);
    void *opaque;
} PciFirmwareLayout;

void pci_firmware_setup(PciBus *bus, const PciFirmwareLayout *layout);

#endif
