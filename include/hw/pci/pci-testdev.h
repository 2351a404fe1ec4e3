/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x-pci-test: a PCI function for tests, not a model of any hardware and
 * not QEMU's pci-testdev. It has one of each kind of BAR, INTx and
 * MSI-X, and DMA, so tests (unit, and later guests) can exercise the
 * PCI core end to end:
 *
 *   BAR0  I/O, 32 bytes        the registers below
 *   BAR1  32-bit memory, 4 KiB the registers below, again
 *   BAR2  64-bit prefetchable memory, 16 KiB (BAR2-3): scratch RAM
 *   BAR4  32-bit memory, MSI-X table at 0, PBA at 0x800 (vectors=N,
 *         default 2; vectors=0: no MSI-X and no BAR4)
 *   INTA#
 *
 * Registers (32-bit, little-endian):
 *   0x00  scratch       read/write
 *   0x04  intx          write: level of INTA# (0 or 1); read: the level
 *   0x08  msix          write: raise that MSI-X vector
 *   0x0c  dma_addr_lo   0x10 dma_addr_hi   0x14 dma_len (at most 4096)
 *   0x18  dma_fill      write: DMA-write dma_len bytes of the written
 *                       value's low byte at dma_addr
 *   0x1c  dma_status    0 after a good DMA, 1 after a refused one
 *
 * IDs: 1234:7465 (the "unofficial" vendor QEMU's own Bochs VGA uses),
 * class ff00.
 */
#ifndef HW_PCI_PCI_TESTDEV_H
#define HW_PCI_PCI_TESTDEV_H

#include "hw/pci/pci.h"

#define TYPE_PCI_TESTDEV "x-pci-test"

#define PCI_TESTDEV_VENDOR_ID   0x1234
#define PCI_TESTDEV_DEVICE_ID   0x7465

#define PCI_TESTDEV_IO_SIZE     32
#define PCI_TESTDEV_MMIO_SIZE   4096
#define PCI_TESTDEV_RAM_SIZE    16384
#define PCI_TESTDEV_MSIX_BAR    4
#define PCI_TESTDEV_MSIX_PBA    0x800

enum {
    PCI_TESTDEV_REG_SCRATCH     = 0x00,
    PCI_TESTDEV_REG_INTX        = 0x04,
    PCI_TESTDEV_REG_MSIX        = 0x08,
    PCI_TESTDEV_REG_DMA_ADDR_LO = 0x0c,
    PCI_TESTDEV_REG_DMA_ADDR_HI = 0x10,
    PCI_TESTDEV_REG_DMA_LEN     = 0x14,
    PCI_TESTDEV_REG_DMA_FILL    = 0x18,
    PCI_TESTDEV_REG_DMA_STATUS  = 0x1c,
};

typedef struct PciTestDevState {
    PCIDevice parent_obj;
    uint32_t vectors;       /* property */
    uint32_t scratch;
    uint32_t intx;
    uint64_t dma_addr;
    uint32_t dma_len;
    uint32_t dma_status;
    uint8_t ram[PCI_TESTDEV_RAM_SIZE];
} PciTestDevState;

#endif
