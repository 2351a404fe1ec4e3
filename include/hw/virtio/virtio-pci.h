/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-pci, the PCI transport for the virtio core (virtio 1.x section
 * 4.1), modern devices only. A virtio device type on PCI (virtio-net-pci)
 * embeds a VirtIOPCIProxy first and its device model after it, and calls
 * the functions below from its PCIDeviceClass hooks. The function looks
 * like this to a driver:
 *
 *   IDs        1af4:(1040 + virtio device id), revision 1, subsystem
 *              1af4:1100, the class code the device type gives
 *   BAR1       32-bit memory, 4 KiB: MSI-X table at 0, PBA at 0x800
 *              (vectors=N, default per device; 0: no MSI-X, no BAR1)
 *   BAR4-5     64-bit prefetchable memory, 16 KiB:
 *                0x0000  common configuration (layout below)
 *                0x1000  ISR status (a read returns and clears it, and
 *                        lowers INTx)
 *                0x2000  device-specific configuration
 *                0x3000  notifications: queue q at q * 4
 *                        (notify_off_multiplier 4, queue_notify_off = q)
 *   INTA#      used while MSI-X is disabled
 *   vendor capabilities (cap id 9) naming those regions, and the PCI
 *   configuration access capability (a window onto BAR4 through config
 *   space, for drivers that cannot map the BAR yet).
 *
 * Common configuration (little-endian; each field accessed with its own
 * width, the 64-bit ring addresses as two 32-bit halves; any other
 * access is ignored and reads 0):
 *
 *   0x00 device_feature_select  le32   0x16 queue_select       le16
 *   0x04 device_feature (RO)    le32   0x18 queue_size         le16
 *   0x08 driver_feature_select  le32   0x1a queue_msix_vector  le16
 *   0x0c driver_feature         le32   0x1c queue_enable       le16
 *   0x10 config_msix_vector     le16   0x1e queue_notify_off   le16 (RO)
 *   0x12 num_queues (RO)        le16   0x20 queue_desc         le64
 *   0x14 device_status          u8     0x28 queue_driver       le64
 *   0x15 config_generation (RO) u8     0x30 queue_device       le64
 *
 * A guest gets what the spec says for what it gets wrong: a queue_select
 * past the last queue reads queue_size 0 and takes no writes; a vector
 * past the MSI-X table (or any vector without MSI-X) reads back as
 * VIRTIO_NO_VECTOR; queue fields do not change while the queue is
 * enabled; enabling a queue whose rings are misaligned or not RAM puts
 * the device in NEEDS_RESET (the core's checks).
 *
 * Interrupts: the core calls VirtioTransport.notify with a vector. With
 * MSI-X enabled the vector goes to msix_notify() (VIRTIO_NO_VECTOR: no
 * interrupt, as the spec says); without, INTx follows the ISR.
 *
 * Notifications: a write to the notify region kicks the queue through
 * the core. When the bus has PciIoeventfdOps (KVM_IOEVENTFD on the pc
 * machine) each queue's 16-bit notify write is an eventfd instead,
 * assigned wherever BAR4 is mapped (PCIDeviceClass.bar_map) and read on
 * the main loop, which kicks the queue the same way, so a guest's kick
 * costs no exit to the VMM. Other widths still arrive as MMIO. Unit
 * tests write the register, or plug in their own ops.
 *
 * Migration: the PCI core's function section (configuration space,
 * MSI-X) comes first, then the device type's own section, which holds
 * vmstate_virtio_pci (the select registers), then the virtio core state
 * and the device model's.
 */
#ifndef HW_VIRTIO_VIRTIO_PCI_H
#define HW_VIRTIO_VIRTIO_PCI_H

#include "hw/pci/pci.h"
#include "hw/virtio/virtio.h"

#define VIRTIO_PCI_VENDOR_ID        0x1af4
#define VIRTIO_PCI_DEVICE_ID_BASE   0x1040
#define VIRTIO_PCI_SUBSYSTEM_ID     0x1100
#define VIRTIO_PCI_REVISION         1

#define VIRTIO_PCI_MSIX_BAR         1
#define VIRTIO_PCI_MSIX_PBA         0x800
#define VIRTIO_PCI_BAR              4
#define VIRTIO_PCI_BAR_SIZE         0x4000
#define VIRTIO_PCI_COMMON_OFF       0x0000
#define VIRTIO_PCI_ISR_OFF          0x1000
#define VIRTIO_PCI_DEVICE_OFF       0x2000
#define VIRTIO_PCI_NOTIFY_OFF       0x3000
#define VIRTIO_PCI_REGION_SIZE      0x1000
#define VIRTIO_PCI_NOTIFY_MULT      4

/* Vendor capability types (cfg_type). */
enum {
    VIRTIO_PCI_CAP_COMMON_CFG = 1,
    VIRTIO_PCI_CAP_NOTIFY_CFG = 2,
    VIRTIO_PCI_CAP_ISR_CFG    = 3,
    VIRTIO_PCI_CAP_DEVICE_CFG = 4,
    VIRTIO_PCI_CAP_PCI_CFG    = 5,
};

/* Byte offsets inside a vendor capability. */
#define VIRTIO_PCI_CAP_LEN          2
#define VIRTIO_PCI_CAP_CFG_TYPE     3
#define VIRTIO_PCI_CAP_BAR          4
#define VIRTIO_PCI_CAP_ID           5
#define VIRTIO_PCI_CAP_OFFSET       8
#define VIRTIO_PCI_CAP_LENGTH       12
#define VIRTIO_PCI_CAP_NOTIFY_MULT  16      /* notify capability */
#define VIRTIO_PCI_CAP_CFG_DATA     16      /* PCI cfg capability */
#define VIRTIO_PCI_CAP_SIZE         16
#define VIRTIO_PCI_NOTIFY_CAP_SIZE  20
#define VIRTIO_PCI_CFG_CAP_SIZE     20

/* Common configuration fields. */
enum {
    VIRTIO_PCI_COMMON_DFSELECT  = 0x00,
    VIRTIO_PCI_COMMON_DF        = 0x04,
    VIRTIO_PCI_COMMON_GFSELECT  = 0x08,
    VIRTIO_PCI_COMMON_GF        = 0x0c,
    VIRTIO_PCI_COMMON_MSIX      = 0x10,
    VIRTIO_PCI_COMMON_NUMQ      = 0x12,
    VIRTIO_PCI_COMMON_STATUS    = 0x14,
    VIRTIO_PCI_COMMON_CFGGEN    = 0x15,
    VIRTIO_PCI_COMMON_Q_SELECT  = 0x16,
    VIRTIO_PCI_COMMON_Q_SIZE    = 0x18,
    VIRTIO_PCI_COMMON_Q_MSIX    = 0x1a,
    VIRTIO_PCI_COMMON_Q_ENABLE  = 0x1c,
    VIRTIO_PCI_COMMON_Q_NOFF    = 0x1e,
    VIRTIO_PCI_COMMON_Q_DESCLO  = 0x20,
    VIRTIO_PCI_COMMON_Q_DESCHI  = 0x24,
    VIRTIO_PCI_COMMON_Q_AVAILLO = 0x28,
    VIRTIO_PCI_COMMON_Q_AVAILHI = 0x2c,
    VIRTIO_PCI_COMMON_Q_USEDLO  = 0x30,
    VIRTIO_PCI_COMMON_Q_USEDHI  = 0x34,
    VIRTIO_PCI_COMMON_SIZE      = 0x38,
};

/* One queue's doorbell as an eventfd (see Notifications above). */
typedef struct VirtIOPCINotifier {
    struct VirtIOPCIProxy *proxy;
    unsigned queue;
    int fd;                     /* eventfd, or -1 */
    unsigned watch;             /* its main-loop source */
    bool assigned;              /* the accelerator signals it now */
} VirtIOPCINotifier;

typedef struct VirtIOPCIProxy {
    PCIDevice parent_obj;       /* first */
    VirtIODevice *vdev;         /* the device model, set by realize */
    uint32_t vectors;           /* property: MSI-X vectors (0: none) */
    uint8_t cfg_cap;            /* offset of the PCI cfg capability */
    VirtIOPCINotifier *notifiers;   /* per queue, NULL until BAR4 maps */
    uint64_t notify_base;       /* BAR4's address while assigned */
    /* Transport registers; migrated. */
    uint32_t dfselect;
    uint32_t gfselect;
    uint16_t queue_select;
} VirtIOPCIProxy;

/*
 * From the device type's PCIDeviceClass.realize, once vdev is initialized
 * (virtio_init with the bus's GuestMemory) and its queues added: BARs,
 * capabilities, MSI-X, INTA#, the transport hooked to vdev.
 */
bool virtio_pci_realize(VirtIOPCIProxy *proxy, VirtIODevice *vdev,
                        Error **errp);
/* PCIDeviceClass.exit, before the device model goes: the eventfds. */
void virtio_pci_exit(VirtIOPCIProxy *proxy);
/* PCIDeviceClass.bar_map: the doorbell eventfds follow BAR4. */
void virtio_pci_bar_map(PCIDevice *dev, unsigned bar, uint64_t old_addr,
                        uint64_t new_addr);
/* PCIDeviceClass.reset: the virtio device back to status 0, INTx low. */
void virtio_pci_reset(VirtIOPCIProxy *proxy);
/* PCIDeviceClass.config_read / config_write (the PCI cfg window). */
void virtio_pci_config_read(PCIDevice *dev, unsigned addr, unsigned len);
void virtio_pci_config_write(PCIDevice *dev, unsigned addr, uint32_t val,
                             unsigned len);

/* BAR4's accesses, for tests that poke it without mapping the BAR. */
uint64_t virtio_pci_bar_read(VirtIOPCIProxy *proxy, uint64_t offset,
                             unsigned size);
void virtio_pci_bar_write(VirtIOPCIProxy *proxy, uint64_t offset,
                          uint64_t value, unsigned size);

/* The transport registers, embedded with VMSTATE_STRUCT. */
extern const VMStateDescription vmstate_virtio_pci;

#endif
