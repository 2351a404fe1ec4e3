/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: PCI configuration space through ports 0xcf8/0xcfc
 * (each access is two CPL0 services, so drivers read config space once
 * at start and then work through memory BARs from CPL3).  Shared by every
 * device driver (net/virtio-net.c, disk/virtio-blk.c).
 */
#ifndef TG_DEV_PCI_H
#define TG_DEV_PCI_H

#include "guest.h"

#define PCI_VENDOR_ID       0x00
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYSTEM_ID    0x2e
#define PCI_CAP_PTR         0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d
#define PCI_CMD_IO          0x1
#define PCI_CMD_MEMORY      0x2
#define PCI_CMD_MASTER      0x4
#define PCI_CMD_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST 0x10

/* Where BARs the firmware left unassigned are placed (none under QEMU). */
#define PCI_MMIO_WINDOW     0xe0000000ULL
#define PCI_MMIO_WINDOW_END 0xfec00000ULL   /* IOAPIC above */

/*
 * How drivers reach devices, from the command line (pci.c parses it):
 * pci=assign places memory BARs even where the firmware did; mmio=svc
 * sends every device register access through the CPL0 services;
 * irq=msix|intx has the devices interrupt (dev/irq.c), enum tg_irq_mode.
 */
struct dev_config {
    bool pci_assign;
    bool mmio_svc;
    u32 irq;
};
extern struct dev_config devcfg;

/* main.c hands it every key=value token; true if the key is ours, *ok = valid. */
bool dev_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok);

struct pci_dev {
    u32 bdf;                    /* bus << 8 | dev << 3 | fn */
    u16 vendor, device;
};

u32 pci_read32(const struct pci_dev *d, u32 off);
u16 pci_read16(const struct pci_dev *d, u32 off);
u8 pci_read8(const struct pci_dev *d, u32 off);
void pci_write32(const struct pci_dev *d, u32 off, u32 v);
void pci_write16(const struct pci_dev *d, u32 off, u16 v);

/*
 * Offset of the first capability with this id in d's list, 0 if none
 * (or the list is absent or loops).
 */
u8 pci_find_cap(const struct pci_dev *d, u8 id);

/* First function on bus 0 with this vendor and one of the device ids. */
bool pci_find(u16 vendor, const u16 *ids, size_t nids, struct pci_dev *out);
/*
 * Guest-physical address of memory BAR bar, assigned from the window above
 * if the firmware did not, mapped uncached; memory decoding and bus
 * mastering are turned on.  False with a message in err if it can't be.
 */
bool pci_map_bar(const struct pci_dev *d, unsigned bar, u64 *addr, struct line *err);

#endif
