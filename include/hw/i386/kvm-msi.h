/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSI delivery on KVM for the pc machine: the PciMsiOps of its PCI bus
 * (include/hw/pci/msix.h).
 *
 *   send        KVM_SIGNAL_MSI: one message, now
 *   route_*     GSIs from 24 up (0-23 are the PIC/IOAPIC pins) whose
 *               entry in KVM's routing table is KVM_IRQ_ROUTING_MSI with
 *               the vector's address and data
 *   irqfd_*     KVM_IRQFD (assign, deassign) on such a GSI
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so every commit writes
 * the default irqchip routes (what KVM sets up by itself: GSI 0-15 to
 * the IOAPIC pin and the PIC pin of the same number, 16-23 to the
 * IOAPIC) followed by the MSI routes in use.
 */
#ifndef HW_I386_KVM_MSI_H
#define HW_I386_KVM_MSI_H

#include "accel/kvm.h"
#include "hw/pci/msix.h"

typedef struct KvmMsiRouter KvmMsiRouter;

extern const PciMsiOps kvm_msi_ops;

KvmMsiRouter *kvm_msi_router_new(KvmState *kvm);
void kvm_msi_router_free(KvmMsiRouter *r);

#endif
