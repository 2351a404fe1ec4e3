/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSI-X (PCI 3.0 section 6.8.2) for PCI device models, and the seam
 * through which messages leave the bus.
 *
 * A device calls msix_init() in realize: it adds the capability and puts
 * the table and the pending bit array (PBA) at the given offsets of a BAR
 * (registered by msix_init if the device has not registered it, else
 * shared with the device's own registers: table and PBA accesses are
 * answered first). Then msix_notify(dev, vector) raises a vector:
 *
 *   MSI-X disabled            -> nothing (the device should use INTx)
 *   function or vector masked -> the vector's pending bit is set
 *   otherwise                 -> the entry's message (address, data) is
 *                                sent through the bus's PciMsiOps
 *
 * and unmasking a vector whose pending bit is set sends it and clears the
 * bit. A device may instead attach an eventfd to a vector
 * (msix_vector_set_irqfd): while the vector is deliverable the eventfd is
 * a KVM irqfd on a GSI routed to the entry's message, so a write to it
 * interrupts the guest without the VMM; while masked the irqfd is
 * detached, and a write that lands then becomes the pending bit (the
 * counter is drained when the guest reads the PBA or unmasks).
 *
 * Table entries, the PBA and the function mask migrate with the function
 * (hw/pci/pci.c); irqfd attachments are the device's and are re-made
 * from the loaded table.
 */
#ifndef HW_PCI_MSIX_H
#define HW_PCI_MSIX_H

#include "hw/pci/pci.h"

typedef struct PciMsiMessage {
    uint64_t address;
    uint32_t data;
} PciMsiMessage;

/*
 * Where MSI messages go: on the pc machine KVM (hw/i386/kvm-msi.c:
 * KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING entries of type
 * KVM_IRQ_ROUTING_MSI, KVM_IRQFD); in unit tests a recorder. Only send is
 * required; without the route hooks msix_vector_set_irqfd fails.
 */
struct PciMsiOps {
    /* Delivers msg once. */
    bool (*send)(void *opaque, PciMsiMessage msg, Error **errp);
    /* A GSI routed to msg; -1 with errp set when none is left. */
    int (*route_add)(void *opaque, PciMsiMessage msg, Error **errp);
    bool (*route_update)(void *opaque, int gsi, PciMsiMessage msg,
                         Error **errp);
    void (*route_del)(void *opaque, int gsi);
    /* A write to eventfd fd raises gsi (KVM_IRQFD), and no longer. */
    bool (*irqfd_add)(void *opaque, int gsi, int fd, Error **errp);
    void (*irqfd_del)(void *opaque, int gsi, int fd);
};

/* Per vector, beside the guest-visible table. */
typedef struct PciMsixVector {
    int irqfd;              /* the device's eventfd, or -1 */
    int gsi;                /* its route, or -1 */
    bool irqfd_attached;    /* KVM delivers irqfd writes right now */
} PciMsixVector;

struct PciMsixState {
    unsigned nentries;
    unsigned bar;
    uint32_t table_off;
    uint32_t pba_off;
    uint8_t cap;            /* offset of the capability */
    uint8_t *table;         /* nentries * 16 bytes, guest layout */
    uint8_t *pba;           /* (nentries + 63) / 64 * 8 bytes */
    uint32_t table_size;
    uint32_t pba_size;
    PciMsixVector *vectors;
    bool bar_owned;         /* msix_init registered the BAR */
};

/*
 * Adds the MSI-X capability with nentries (1-2048) vectors, the table at
 * table_off and the PBA at pba_off of BAR bar (both 8-byte aligned, not
 * overlapping). If the device has not registered bar, it is registered
 * as a 32-bit memory BAR just large enough (at least 4 KiB, so the
 * table has a page of its own). Every vector starts masked.
 */
bool msix_init(PCIDevice *dev, unsigned nentries, unsigned bar,
               uint32_t table_off, uint32_t pba_off, Error **errp);
/* Detaches irqfds, drops routes, frees the state. */
void msix_uninit(PCIDevice *dev);

bool msix_present(PCIDevice *dev);
/* MSI-X enable bit set (regardless of the function mask). */
bool msix_enabled(PCIDevice *dev);
bool msix_is_masked(PCIDevice *dev, unsigned vector);
bool msix_is_pending(PCIDevice *dev, unsigned vector);
PciMsiMessage msix_get_message(PCIDevice *dev, unsigned vector);

/* Raises vector (see the table above). Out-of-range vectors are ignored
 * (and traced): a guest may program any vector number into a device. */
void msix_notify(PCIDevice *dev, unsigned vector);

/*
 * Attaches (fd >= 0) or detaches (fd -1) an eventfd to vector, see the
 * header comment. The fd stays the caller's.
 */
bool msix_vector_set_irqfd(PCIDevice *dev, unsigned vector, int fd,
                           Error **errp);

/* For hw/pci/pci.c: config writes to the capability, reset, migration. */
void msix_config_write(PCIDevice *dev, unsigned addr, unsigned len);
void msix_reset(PCIDevice *dev);
void msix_pre_save(PCIDevice *dev);
/* Checks the loaded table and PBA (sizes); changes nothing. */
bool msix_post_load(PCIDevice *dev, Error **errp);
/* Applies them, after the config space: irqfds follow the new masks. */
void msix_apply_loaded(PCIDevice *dev);
/* Table/PBA accesses inside the BAR: true if offset was theirs. */
bool msix_bar_read(PCIDevice *dev, unsigned bar, uint64_t offset,
                   unsigned size, uint64_t *value);
bool msix_bar_write(PCIDevice *dev, unsigned bar, uint64_t offset,
                    uint64_t value, unsigned size);

#endif
