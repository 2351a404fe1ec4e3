/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registers of a PCI function's configuration space (PCI Local Bus
 * Specification 3.0, chapter 6: the type 0 header) and of the
 * capabilities Tandem implements, as offsets and bit masks. Written from
 * the specification; the names say what the spec calls each field.
 */
#ifndef HW_PCI_PCI_REGS_H
#define HW_PCI_PCI_REGS_H

/* Conventional PCI: 256 bytes of configuration space per function. */
#define PCI_CONFIG_SPACE_SIZE   256
#define PCI_CONFIG_HEADER_SIZE  64

/* ---- the type 0 header ---- */
#define PCI_VENDOR_ID           0x00    /* 16 bits, read-only */
#define PCI_DEVICE_ID           0x02    /* 16 bits, read-only */
#define PCI_COMMAND             0x04    /* 16 bits */
#define PCI_STATUS              0x06    /* 16 bits, error bits RW1C */
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09    /* programming interface */
#define PCI_CLASS_DEVICE        0x0a    /* 16 bits: base class, sub-class */
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define PCI_BIST                0x0f
#define PCI_BASE_ADDRESS_0      0x10    /* six 32-bit BARs, 0x10..0x27 */
#define PCI_CARDBUS_CIS         0x28
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34    /* offset of the first capability */
#define PCI_INTERRUPT_LINE      0x3c    /* scratch for software (the IRQ) */
#define PCI_INTERRUPT_PIN       0x3d    /* 0 none, 1..4 INTA#..INTD# */
#define PCI_MIN_GNT             0x3e
#define PCI_MAX_LAT             0x3f

/* Command register bits. */
#define PCI_COMMAND_IO          0x0001  /* I/O space decode */
#define PCI_COMMAND_MEMORY      0x0002  /* memory space decode */
#define PCI_COMMAND_MASTER      0x0004  /* bus master (DMA) */
#define PCI_COMMAND_SPECIAL     0x0008
#define PCI_COMMAND_INVALIDATE  0x0010
#define PCI_COMMAND_VGA_PALETTE 0x0020
#define PCI_COMMAND_PARITY      0x0040
#define PCI_COMMAND_WAIT        0x0080
#define PCI_COMMAND_SERR        0x0100
#define PCI_COMMAND_FAST_BACK   0x0200
#define PCI_COMMAND_INTX_DISABLE 0x0400

/* Status register bits. */
#define PCI_STATUS_INTERRUPT    0x0008  /* INTx# asserted (read-only) */
#define PCI_STATUS_CAP_LIST     0x0010  /* a capability list at 0x34 */
#define PCI_STATUS_66MHZ        0x0020
#define PCI_STATUS_FAST_BACK    0x0080
#define PCI_STATUS_PARITY       0x0100  /* master data parity error */
#define PCI_STATUS_DEVSEL_MASK  0x0600
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_REC_TARGET_ABORT 0x1000
#define PCI_STATUS_REC_MASTER_ABORT 0x2000
#define PCI_STATUS_SIG_SYSTEM_ERROR 0x4000
#define PCI_STATUS_DETECTED_PARITY  0x8000
/* The error bits software clears by writing 1. */
#define PCI_STATUS_W1C_MASK     0xf900

/* Header type: bit 7 says the device has more than one function. */
#define PCI_HEADER_TYPE_NORMAL  0x00
#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

/* Base address registers. */
#define PCI_NUM_BARS            6
#define PCI_BASE_ADDRESS_SPACE_IO       0x01    /* bit 0: I/O space */
#define PCI_BASE_ADDRESS_MEM_TYPE_64    0x04    /* bits 2:1 = 10b */
#define PCI_BASE_ADDRESS_MEM_PREFETCH   0x08
#define PCI_BASE_ADDRESS_IO_MASK        (~0x3u)
#define PCI_BASE_ADDRESS_MEM_MASK       (~0xfu)

/* Interrupt pins. */
#define PCI_INTX_PINS           4       /* INTA# .. INTD# */

/* ---- capabilities ---- */
#define PCI_CAP_LIST_ID         0       /* capability id */
#define PCI_CAP_LIST_NEXT       1       /* next capability, 0 ends */
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_VNDR         0x09    /* vendor specific (virtio) */
#define PCI_CAP_ID_MSIX         0x11

/* MSI-X capability (PCI 3.0 section 6.8.2). */
#define PCI_MSIX_FLAGS          2       /* message control, 16 bits */
#define PCI_MSIX_FLAGS_QSIZE    0x07ff  /* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL  0x4000  /* function mask */
#define PCI_MSIX_FLAGS_ENABLE   0x8000
#define PCI_MSIX_TABLE          4       /* table offset | BIR */
#define PCI_MSIX_PBA            8       /* PBA offset | BIR */
#define PCI_MSIX_BIR_MASK       0x7
#define PCI_MSIX_CAP_SIZE       12

/* An MSI-X table entry: 16 bytes. */
#define PCI_MSIX_ENTRY_SIZE         16
#define PCI_MSIX_ENTRY_LOWER_ADDR   0
#define PCI_MSIX_ENTRY_UPPER_ADDR   4
#define PCI_MSIX_ENTRY_DATA         8
#define PCI_MSIX_ENTRY_VECTOR_CTRL  12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1
/* The spec's limit on the table. */
#define PCI_MSIX_MAX_ENTRIES        2048

/* ---- class codes (base class << 8 | sub-class) ---- */
#define PCI_CLASS_STORAGE_SCSI  0x0100
#define PCI_CLASS_NETWORK_ETHERNET 0x0200
#define PCI_CLASS_MEMORY_RAM    0x0500
#define PCI_CLASS_BRIDGE_HOST   0x0600
#define PCI_CLASS_BRIDGE_ISA    0x0601
#define PCI_CLASS_BRIDGE_OTHER  0x0680
#define PCI_CLASS_OTHERS        0xff00

#endif
