/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The i440FX host bridge function at 00.0 (see include/hw/pci/i440fx.h):
 * identity only, created by the machine.
 */
#include "hw/pci/i440fx.h"

static const PCIDeviceClass i440fx_class = {
    .parent_class = {
        .type = {
            .name = TYPE_I440FX_PCI_DEVICE,
            .parent = TYPE_PCI_DEVICE,
            .description = "Intel 440FX host bridge",
            .instance_size = sizeof(PCIDevice),
        },
        .category = DEVICE_CATEGORY_BRIDGE,
        .bus_kind = BUS_KIND_PCI,
        .no_user = true,
    },
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82441,
    .revision = 0x02,
    .class_id = PCI_CLASS_BRIDGE_HOST,
    .subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
    .subsystem_id = PCI_SUBDEVICE_ID_QEMU,
};
PCI_DEVICE_CLASS_REGISTER(i440fx_class)
