/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk-pci: the virtio-blk model (hw/block/virtio-blk.c) on the
 * virtio-pci transport (hw/virtio/virtio-pci.c).
 *
 *   -device virtio-blk-pci,drive=ID[,id=][,addr=SLOT[.FN]][,serial=S]
 *           [,num-queues=1][,queue-size=256][,werror=enospc]
 *           [,rerror=report][,discard=on][,write-zeroes=on]
 *           [,logical_block_size=512][,physical_block_size=512]
 *           [,max-discard-sectors=N][,max-write-zeroes-sectors=N]
 *           [,share-rw=off][,vectors=N][,bootindex=N (no-op)]
 *
 * Migration: the PCI function section, then this one: the transport's
 * registers, then virtio-blk (the virtio core's state inside it).
 */
#include "hw/block/virtio-blk.h"
#include "hw/pci/msix.h"
#include "hw/virtio/virtio-pci.h"

typedef struct VirtIOBlockPCI {
    VirtIOPCIProxy pci;         /* first: the PCI device */
    VirtIOBlock blk;
    char *name;
    char *qdev_path;
    int64_t bootindex;          /* no-op: see the property */
} VirtIOBlockPCI;

static bool virtio_blk_pci_realize(PCIDevice *dev, Error **errp)
{
    VirtIOBlockPCI *s = (VirtIOBlockPCI *)dev;
    g_autofree char *path = pci_device_path(dev);
    g_autofree char *qom = qdev_canonical_path(&dev->parent_obj);
    const char *id = dev->parent_obj.parent_obj.id;

    s->name = id ? g_strdup(id) : g_strdup_printf("virtio-blk-pci.%s", path);
    /* What QEMU's query-block says: the QOM path of the virtio device
     * inside the PCI proxy, with or without an id. */
    s->qdev_path = g_strdup_printf("%s/virtio-backend", qom);
    s->blk.qdev_path = s->qdev_path;
    if (s->pci.vectors == UINT32_MAX) {
        /* QEMU's default: one vector per queue and one for the config. */
        s->pci.vectors = s->blk.num_queues + 1;
    }
    if (!virtio_blk_realize(&s->blk, dev->bus->mem, s->name, errp)) {
        goto fail;
    }
    if (!virtio_pci_realize(&s->pci, &s->blk.vdev, errp)) {
        virtio_pci_exit(&s->pci);
        virtio_blk_unrealize(&s->blk);
        goto fail;
    }
    return true;
fail:
    g_free(s->name);
    g_free(s->qdev_path);
    s->name = s->qdev_path = NULL;
    return false;
}

static void virtio_blk_pci_exit(PCIDevice *dev)
{
    VirtIOBlockPCI *s = (VirtIOBlockPCI *)dev;

    virtio_pci_exit(&s->pci);
    virtio_blk_unrealize(&s->blk);
    g_free(s->name);
    g_free(s->qdev_path);
    s->name = s->qdev_path = NULL;
}

static void virtio_blk_pci_reset(PCIDevice *dev)
{
    virtio_pci_reset(&((VirtIOBlockPCI *)dev)->pci);
}

static const VMStateDescription vmstate_virtio_blk_pci = {
    .name = "virtio-blk-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(pci, VirtIOBlockPCI, vmstate_virtio_pci,
                       VirtIOPCIProxy),
        VMSTATE_STRUCT(blk, VirtIOBlockPCI, vmstate_virtio_blk, VirtIOBlock),
        VMSTATE_END_OF_LIST()
    },
};

static bool virtio_blk_pci_parse_on_error(Object *obj,
                                          const ObjectProperty *p,
                                          const char *text, Error **errp)
{
    return virtio_blk_parse_on_error(p->name, text, (BlockdevOnError *)
                                     ((uint8_t *)obj + p->offset), errp);
}

#define ON_ERROR_PROP(n, field, d) \
    { .name = (n), .type = OBJ_PROP_CUSTOM, \
      .offset = offsetof(VirtIOBlockPCI, field), \
      .custom_type = "BlockdevOnError", .desc = (d), \
      .default_value = "auto", .parse = virtio_blk_pci_parse_on_error }

static const ObjectProperty virtio_blk_pci_props[] = {
    /*
     * Boot order is firmware's business, and Tandem has no firmware: the
     * kernel is loaded directly (-kernel). Accepted, as libvirt passes it
     * for every disk and NIC that boots; nothing can tell the difference.
     */
    { .name = "bootindex", .type = OBJ_PROP_INT,
      .offset = offsetof(VirtIOBlockPCI, bootindex),
      .desc = "boot order (no-op: no firmware, -kernel boots)",
      .default_value = "-1" },
    OBJ_PROP("drive", OBJ_PROP_STR, VirtIOBlockPCI, blk.drive_id,
             "Node name or ID of a block device to use as a backend"),
    OBJ_PROP("serial", OBJ_PROP_STR, VirtIOBlockPCI, blk.serial,
             "disk serial number (GET_ID: its first 20 characters)"),
    OBJ_PROP_RANGE("num-queues", OBJ_PROP_UINT32, VirtIOBlockPCI,
                   blk.num_queues, "request queues", 1,
                   VIRTIO_BLK_QUEUES_MAX, "1"),
    OBJ_PROP_RANGE("queue-size", OBJ_PROP_UINT32, VirtIOBlockPCI,
                   blk.queue_size, "entries per queue (a power of 2)", 4,
                   VIRTIO_BLK_QUEUE_SIZE_MAX, "256"),
    ON_ERROR_PROP("werror", blk.werror,
                  "on write error: report, ignore, enospc, stop, auto"),
    ON_ERROR_PROP("rerror", blk.rerror,
                  "on read error: report, ignore, enospc, stop, auto"),
    { .name = "discard", .type = OBJ_PROP_BOOL,
      .offset = offsetof(VirtIOBlockPCI, blk.discard),
      .desc = "offer VIRTIO_BLK_F_DISCARD", .default_value = "on" },
    { .name = "write-zeroes", .type = OBJ_PROP_BOOL,
      .offset = offsetof(VirtIOBlockPCI, blk.write_zeroes),
      .desc = "offer VIRTIO_BLK_F_WRITE_ZEROES", .default_value = "on" },
    OBJ_PROP_RANGE("max-discard-sectors", OBJ_PROP_UINT32, VirtIOBlockPCI,
                   blk.max_discard_sectors,
                   "largest discard, in 512-byte sectors", 1, 0x3fffff,
                   "4194303"),
    OBJ_PROP_RANGE("max-write-zeroes-sectors", OBJ_PROP_UINT32,
                   VirtIOBlockPCI, blk.max_write_zeroes_sectors,
                   "largest write-zeroes, in 512-byte sectors", 1, 0x3fffff,
                   "4194303"),
    OBJ_PROP_RANGE("logical_block_size", OBJ_PROP_UINT32, VirtIOBlockPCI,
                   blk.logical_block_size, "logical block size in bytes",
                   512, 32768, "512"),
    OBJ_PROP_RANGE("physical_block_size", OBJ_PROP_UINT32, VirtIOBlockPCI,
                   blk.physical_block_size,
                   "physical block size in bytes (default: the logical)",
                   512, 32768, "0"),
    OBJ_PROP("share-rw", OBJ_PROP_BOOL, VirtIOBlockPCI, blk.share_rw,
             "allow another writer of the same node"),
    OBJ_PROP_RANGE("vectors", OBJ_PROP_UINT32, VirtIOBlockPCI, pci.vectors,
                   "MSI-X vectors (0: INTx only; default num-queues + 1)",
                   0, VIRTIO_BLK_QUEUES_MAX + 1, "4294967295"),
    { NULL },
};

static const PCIDeviceClass virtio_blk_pci_class = {
    .parent_class = {
        .type = {
            .name = TYPE_VIRTIO_BLK_PCI,
            .parent = TYPE_PCI_DEVICE,
            .description = "virtio-blk on PCI (modern, virtio 1.x)",
            .instance_size = sizeof(VirtIOBlockPCI),
            .props = virtio_blk_pci_props,
        },
        .category = DEVICE_CATEGORY_STORAGE,
        .bus_kind = BUS_KIND_PCI,
    },
    .vendor_id = VIRTIO_PCI_VENDOR_ID,
    .device_id = VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_BLOCK,
    .subsystem_vendor_id = VIRTIO_PCI_VENDOR_ID,
    .subsystem_id = VIRTIO_PCI_SUBSYSTEM_ID,
    .revision = VIRTIO_PCI_REVISION,
    .class_id = PCI_CLASS_STORAGE_SCSI,
    .realize = virtio_blk_pci_realize,
    .exit = virtio_blk_pci_exit,
    .reset = virtio_blk_pci_reset,
    .config_read = virtio_pci_config_read,
    .config_write = virtio_pci_config_write,
    .bar_map = virtio_pci_bar_map,
    .vmsd = &vmstate_virtio_blk_pci,
};
PCI_DEVICE_CLASS_REGISTER(virtio_blk_pci_class)
