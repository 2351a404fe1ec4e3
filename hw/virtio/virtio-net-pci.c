/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net-pci: the virtio-net model (hw/net/virtio-net.c) on the
 * virtio-pci transport (hw/virtio/virtio-pci.c).
 *
 *   -device virtio-net-pci[,netdev=ID][,mac=52:54:00:12:34:56][,id=]
 *           [,addr=SLOT[.FN]][,mq=off][,mrg_rxbuf=on][,vectors=4]
 *           [,bootindex=N (no-op)]
 *
 * Migration: the PCI function section, then this one: the transport's
 * registers, then virtio-net (the virtio core's state inside it).
 */
#include "hw/net/virtio-net.h"
#include "hw/pci/msix.h"
#include "hw/virtio/virtio-pci.h"

typedef struct VirtIONetPCI {
    VirtIOPCIProxy pci;         /* first: the PCI device */
    VirtIONet net;
    int64_t bootindex;          /* no-op: see the property */
} VirtIONetPCI;

static bool virtio_net_pci_realize(PCIDevice *dev, Error **errp)
{
    VirtIONetPCI *s = (VirtIONetPCI *)dev;
    /* The NIC is named by the device id; without one, net.c gives
     * QEMU's "virtio-net-pci.N". */
    const char *id = dev->parent_obj.parent_obj.id;

    if (!virtio_net_realize(&s->net, dev->bus->mem, id, errp)) {
        return false;
    }
    if (!virtio_pci_realize(&s->pci, &s->net.vdev, errp)) {
        virtio_pci_exit(&s->pci);
        virtio_net_unrealize(&s->net);
        return false;
    }
    s->net.nic->qom_path = qdev_canonical_path(&dev->parent_obj);
    return true;
}

static void virtio_net_pci_exit(PCIDevice *dev)
{
    VirtIONetPCI *s = (VirtIONetPCI *)dev;

    virtio_pci_exit(&s->pci);
    virtio_net_unrealize(&s->net);
}

static void virtio_net_pci_reset(PCIDevice *dev)
{
    virtio_pci_reset(&((VirtIONetPCI *)dev)->pci);
}

static const VMStateDescription vmstate_virtio_net_pci = {
    .name = "virtio-net-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(pci, VirtIONetPCI, vmstate_virtio_pci,
                       VirtIOPCIProxy),
        VMSTATE_STRUCT(net, VirtIONetPCI, vmstate_virtio_net, VirtIONet),
        VMSTATE_END_OF_LIST()
    },
};

static const ObjectProperty virtio_net_pci_props[] = {
    /*
     * Boot order is firmware's business, and Tandem has no firmware: the
     * kernel is loaded directly (-kernel). Accepted, as libvirt passes it
     * for every disk and NIC that boots; nothing can tell the difference.
     */
    { .name = "bootindex", .type = OBJ_PROP_INT,
      .offset = offsetof(VirtIONetPCI, bootindex),
      .desc = "boot order (no-op: no firmware, -kernel boots)",
      .default_value = "-1" },
    OBJ_PROP("netdev", OBJ_PROP_STR, VirtIONetPCI, net.netdev_id,
             "ID of a netdev to use as a backend"),
    OBJ_PROP("mac", OBJ_PROP_STR, VirtIONetPCI, net.mac_str,
             "Ethernet 6-byte MAC Address"),
    { .name = "mrg_rxbuf", .type = OBJ_PROP_BOOL,
      .offset = offsetof(VirtIONetPCI, net.mrg_rxbuf),
      .desc = "mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF)",
      .default_value = "on" },
    OBJ_PROP("mq", OBJ_PROP_BOOL, VirtIONetPCI, net.mq,
             "multiqueue (only off: one queue pair)"),
    OBJ_PROP_RANGE("vectors", OBJ_PROP_UINT32, VirtIONetPCI, pci.vectors,
                   "MSI-X vectors (0: INTx only)", 0, 64, "4"),
    { NULL },
};

static const PCIDeviceClass virtio_net_pci_class = {
    .parent_class = {
        .type = {
            .name = TYPE_VIRTIO_NET_PCI,
            .parent = TYPE_PCI_DEVICE,
            .description = "virtio-net on PCI (modern, virtio 1.x)",
            .instance_size = sizeof(VirtIONetPCI),
            .props = virtio_net_pci_props,
        },
        .category = DEVICE_CATEGORY_NETWORK,
        .bus_kind = BUS_KIND_PCI,
    },
    .vendor_id = VIRTIO_PCI_VENDOR_ID,
    .device_id = VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_NET,
    .subsystem_vendor_id = VIRTIO_PCI_VENDOR_ID,
    .subsystem_id = VIRTIO_PCI_SUBSYSTEM_ID,
    .revision = VIRTIO_PCI_REVISION,
    .class_id = PCI_CLASS_NETWORK_ETHERNET,
    .realize = virtio_net_pci_realize,
    .exit = virtio_net_pci_exit,
    .reset = virtio_net_pci_reset,
    .config_read = virtio_pci_config_read,
    .config_write = virtio_pci_config_write,
    .bar_map = virtio_pci_bar_map,
    .vmsd = &vmstate_virtio_net_pci,
};
PCI_DEVICE_CLASS_REGISTER(virtio_net_pci_class)
