/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSI under the qtest accelerator. An MSI message is, as far as PCI is
 * concerned, a 4-byte memory write of `data` to `address`; with no LAPIC
 * to receive it, qtest performs exactly that write when the address is
 * guest RAM (so a test points an MSI-X table entry at RAM it polls), and
 * drops it with a trace (qtest_msi_drop) otherwise. The write goes
 * through guest_memory_write, so it marks the page dirty like any other
 * device write. No GSI routes or irqfds: msix_vector_set_irqfd() fails
 * with a clear error, and virtio-pci does not use it.
 * opaque: the machine's GuestMemory.
 */
#ifndef HW_I386_QTEST_MSI_H
#define HW_I386_QTEST_MSI_H

#include "hw/pci/msix.h"

extern const PciMsiOps qtest_msi_ops;

#endif
