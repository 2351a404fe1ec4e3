/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A PCI host with configuration mechanism #1 (PCI Local Bus
 * Specification 3.0, section 3.2.2.3.2), the one every PC uses: a dword
 * written to port 0xCF8 selects a function and a register,
 *
 *   bit 31     enable: without it the data port does not reach config space
 *   bits 30-24 reserved, read as 0
 *   bits 23-16 bus number (only bus 0 exists here)
 *   bits 15-11 device (slot), bits 10-8 function
 *   bits 7-2   dword register number; bits 1-0 read as 0
 *
 * and ports 0xCFC-0xCFF carry the data: a byte, word or dword access at
 * 0xCFC + n reaches register + n. A function that does not exist (or
 * another bus, or the enable bit clear) reads as all ones and ignores
 * writes, which is how software finds empty slots. Only dword accesses
 * to 0xCF8 touch the address latch; narrower ones read all ones and are
 * ignored (on real chipsets 0xCF9 is another register).
 *
 * The host owns the root bus "pci.0" and its latch is migrated as the
 * section "pci-host".
 */
#ifndef HW_PCI_PCI_HOST_H
#define HW_PCI_PCI_HOST_H

#include "hw/pci/pci.h"

#define PCI_HOST_CONFIG_ADDR    0xcf8
#define PCI_HOST_CONFIG_DATA    0xcfc
#define PCI_HOST_ENABLE         0x80000000u
/* The bits of 0xCF8 that hold a value (the rest read as 0). */
#define PCI_HOST_ADDR_MASK      0x80fffffcu

typedef struct PciHostState {
    PciBus bus;                 /* the root bus, "pci.0" */
    uint32_t config_addr;       /* the 0xCF8 latch */
    bool ports_registered;
    bool vmstate_registered;
} PciHostState;

/*
 * Registers the config ports on pio and the bus "pci.0" (its BARs decode
 * on pio and mmio, DMA reaches mem, functions migrate through sv, which
 * may be NULL). msi_ops: how MSI-X messages leave (may be NULL).
 */
bool pci_host_init(PciHostState *h, IoBus *pio, IoBus *mmio,
                   GuestMemory *mem, SaveVMState *sv,
                   const PciMsiOps *msi_ops, void *msi_opaque, Error **errp);
/* Unrealizes the bus's devices and unregisters everything. */
void pci_host_cleanup(PciHostState *h);
/* The latch back to power-on (the functions reset with every device,
 * qdev_reset_all). */
void pci_host_reset(PciHostState *h);

#endif
