/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KVM_IOEVENTFD for the pc machine's PCI bus (PciIoeventfdOps in
 * include/hw/pci/pci.h): a guest's MMIO write of the given length at a
 * doorbell address signals an eventfd inside the kernel, with no exit to
 * the VMM. The opaque is the machine's KvmState.
 */
#ifndef HW_I386_KVM_IOEVENTFD_H
#define HW_I386_KVM_IOEVENTFD_H

#include "accel/kvm.h"
#include "hw/pci/pci.h"

extern const PciIoeventfdOps kvm_ioeventfd_ops;

#endif
