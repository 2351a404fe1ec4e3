/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-pci, the modern PCI transport (virtio 1.x section 4.1): the
 * driver's register accesses in BAR4 and through the PCI cfg window
 * become virtio core calls, and the core's interrupts become MSI-X
 * messages or INTx. Register layout and the rules for hostile accesses
 * are in include/hw/virtio/virtio-pci.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <glib-unix.h>
#include "hw/pci/msix.h"
#include "hw/virtio/virtio-pci.h"
#include "trace.h"
#include "util/main-loop.h"

/* ---- interrupts ---- */

static void virtio_pci_notify(void *opaque, uint16_t vector)
{
    VirtIOPCIProxy *proxy = opaque;
    PCIDevice *dev = &proxy->parent_obj;

    if (msix_enabled(dev)) {
        /* With MSI-X on, NO_VECTOR means no interrupt (spec 4.1.5.4). */
        if (vector != VIRTIO_NO_VECTOR) {
            msix_notify(dev, vector);
        }
        return;
    }
    pci_set_irq(dev, proxy->vdev->isr != 0);
}

/* A PCI device reaches memory only as a bus master (PCI 3.0 6.2.2). */
static bool virtio_pci_dma_enabled(void *opaque)
{
    VirtIOPCIProxy *proxy = opaque;

    return pci_get_word(proxy->parent_obj.config + PCI_COMMAND) &
           PCI_COMMAND_MASTER;
}

static const VirtioTransport virtio_pci_transport = {
    .notify = virtio_pci_notify,
    .dma_enabled = virtio_pci_dma_enabled,
};

/* A vector the driver may use, else NO_VECTOR (spec 4.1.4.3: the device
 * reports a mapping it cannot make by reading back NO_VECTOR). */
static uint16_t virtio_pci_check_vector(VirtIOPCIProxy *proxy, uint16_t v)
{
    PCIDevice *dev = &proxy->parent_obj;

    if (v == VIRTIO_NO_VECTOR) {
        return v;
    }
    if (!msix_present(dev) || v >= dev->msix->nentries) {
        trace_virtio_pci_bad_vector(proxy->vdev->name, v);
        return VIRTIO_NO_VECTOR;
    }
    return v;
}

/* ---- common configuration ---- */

/* Each field's width: an access must match it exactly (the 64-bit ring
 * addresses are two 32-bit fields). 0: no field starts here. */
static unsigned virtio_pci_common_width(uint64_t offset)
{
    switch (offset) {
    case VIRTIO_PCI_COMMON_DFSELECT:
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_GFSELECT:
    case VIRTIO_PCI_COMMON_GF:
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        return 4;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_Q_SELECT:
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return 2;
    case VIRTIO_PCI_COMMON_STATUS:
    case VIRTIO_PCI_COMMON_CFGGEN:
        return 1;
    default:
        return 0;
    }
}

static uint32_t virtio_pci_lo(uint64_t v) { return (uint32_t)v; }
static uint32_t virtio_pci_hi(uint64_t v) { return v >> 32; }

static uint64_t virtio_pci_common_read(VirtIOPCIProxy *proxy,
                                       uint64_t offset)
{
    VirtIODevice *vdev = proxy->vdev;
    VirtQueue *vq = virtio_queue(vdev, proxy->queue_select);

    switch (offset) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return proxy->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return virtio_device_features(vdev, proxy->dfselect);
    case VIRTIO_PCI_COMMON_GFSELECT:
        return proxy->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return virtio_driver_features(vdev, proxy->gfselect);
    case VIRTIO_PCI_COMMON_MSIX:
        return vdev->config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:
        return vdev->num_queues;
    case VIRTIO_PCI_COMMON_STATUS:
        return vdev->status;
    case VIRTIO_PCI_COMMON_CFGGEN:
        return vdev->config_generation;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return proxy->queue_select;
    }
    if (!vq) {
        /* No such queue: size 0 says so; the rest reads 0. */
        return 0;
    }
    switch (offset) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return vq->num;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return vq->vector;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return vq->enabled;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return vq->index;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        return virtio_pci_lo(vq->desc_addr);
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        return virtio_pci_hi(vq->desc_addr);
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        return virtio_pci_lo(vq->avail_addr);
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        return virtio_pci_hi(vq->avail_addr);
    case VIRTIO_PCI_COMMON_Q_USEDLO:
        return virtio_pci_lo(vq->used_addr);
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        return virtio_pci_hi(vq->used_addr);
    }
    return 0;
}

/* One half of a 64-bit ring address replaced by the 32 bits written. */
static uint64_t virtio_pci_set_half(uint64_t cur, bool high, uint32_t v)
{
    return high ? (cur & 0xffffffffULL) | (uint64_t)v << 32
                : (cur & ~0xffffffffULL) | v;
}

static void virtio_pci_ring_write(VirtQueue *vq, uint64_t offset,
                                  uint32_t v)
{
    uint64_t desc = vq->desc_addr, avail = vq->avail_addr;
    uint64_t used = vq->used_addr;
    bool high = offset & 4;
    g_autoptr(Error) err = NULL;

    switch (offset & ~4ULL) {
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        desc = virtio_pci_set_half(desc, high, v);
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        avail = virtio_pci_set_half(avail, high, v);
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
        used = virtio_pci_set_half(used, high, v);
        break;
    }
    if (!virtio_queue_set_rings(vq, desc, avail, used, &err)) {
        trace_virtio_pci_refused(vq->vdev->name, error_get_pretty(err));
    }
}

static void virtio_pci_set_status(VirtIOPCIProxy *proxy, uint8_t status)
{
    g_autoptr(Error) err = NULL;

    if (!virtio_set_status(proxy->vdev, status, &err)) {
        trace_virtio_pci_refused(proxy->vdev->name, error_get_pretty(err));
    }
    if (status == 0) {
        /* Reset cleared the ISR: nothing is left to signal on INTx. */
        pci_set_irq(&proxy->parent_obj, false);
    }
}

static void virtio_pci_common_write(VirtIOPCIProxy *proxy, uint64_t offset,
                                    uint32_t v)
{
    VirtIODevice *vdev = proxy->vdev;
    VirtQueue *vq = virtio_queue(vdev, proxy->queue_select);
    g_autoptr(Error) err = NULL;

    switch (offset) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        proxy->dfselect = v;
        return;
    case VIRTIO_PCI_COMMON_GFSELECT:
        proxy->gfselect = v;
        return;
    case VIRTIO_PCI_COMMON_GF:
        if (!virtio_set_driver_features(vdev, proxy->gfselect, v, &err)) {
            trace_virtio_pci_refused(vdev->name, error_get_pretty(err));
        }
        return;
    case VIRTIO_PCI_COMMON_MSIX:
        vdev->config_vector = virtio_pci_check_vector(proxy, v);
        return;
    case VIRTIO_PCI_COMMON_STATUS:
        virtio_pci_set_status(proxy, v);
        return;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        /* Kept as written: an out-of-range select reads queue_size 0. */
        proxy->queue_select = v;
        return;
    }
    if (!vq) {
        trace_virtio_pci_no_queue(vdev->name, proxy->queue_select);
        return;
    }
    switch (offset) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if (!virtio_queue_set_num(vq, v, &err)) {
            trace_virtio_pci_refused(vdev->name, error_get_pretty(err));
        }
        return;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        vq->vector = virtio_pci_check_vector(proxy, v);
        return;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        /* Only 1 means something: a driver never writes 0 (4.1.4.3.2);
         * a queue is disabled by reset. */
        if (v == 1 && !vq->enabled) {
            virtio_queue_enable(vq);
        }
        return;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        virtio_pci_ring_write(vq, offset, v);
        return;
    }
    /* Read-only fields (device_feature, num_queues, ...): ignored. */
}

/* ---- BAR4 ---- */

static uint64_t virtio_pci_all_ones(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

uint64_t virtio_pci_bar_read(VirtIOPCIProxy *proxy, uint64_t offset,
                             unsigned size)
{
    VirtIODevice *vdev = proxy->vdev;
    uint64_t region = offset & ~(uint64_t)(VIRTIO_PCI_REGION_SIZE - 1);
    uint64_t off = offset - region;
    uint64_t v = 0;

    switch (region) {
    case VIRTIO_PCI_COMMON_OFF:
        if (virtio_pci_common_width(off) != size) {
            trace_virtio_pci_bad_access(vdev->name, "read", offset, size);
            return 0;
        }
        return virtio_pci_common_read(proxy, off);
    case VIRTIO_PCI_ISR_OFF: {
        uint8_t isr;

        if (off != 0) {
            return 0;
        }
        /* The read takes the bits and lowers INTx (spec 4.1.4.5). */
        isr = virtio_isr_take(vdev);
        pci_set_irq(&proxy->parent_obj, false);
        return isr;
    }
    case VIRTIO_PCI_DEVICE_OFF: {
        g_autoptr(Error) err = NULL;

        if (size > 8 || (off & (size - 1)) ||
            !virtio_config_read(vdev, off, &v, size, &err)) {
            trace_virtio_pci_bad_access(vdev->name, "config read", offset,
                                        size);
            return virtio_pci_all_ones(size);
        }
        return GUINT64_FROM_LE(v);
    }
    default:
        /* The notify region and the unused rest read 0. */
        return 0;
    }
}

void virtio_pci_bar_write(VirtIOPCIProxy *proxy, uint64_t offset,
                          uint64_t value, unsigned size)
{
    VirtIODevice *vdev = proxy->vdev;
    uint64_t region = offset & ~(uint64_t)(VIRTIO_PCI_REGION_SIZE - 1);
    uint64_t off = offset - region;

    switch (region) {
    case VIRTIO_PCI_COMMON_OFF:
        if (virtio_pci_common_width(off) != size) {
            trace_virtio_pci_bad_access(vdev->name, "write", offset, size);
            return;
        }
        virtio_pci_common_write(proxy, off, value);
        return;
    case VIRTIO_PCI_DEVICE_OFF: {
        uint64_t le = GUINT64_TO_LE(value);
        g_autoptr(Error) err = NULL;

        if (size > 8 || (off & (size - 1)) ||
            !virtio_config_write(vdev, off, &le, size, &err)) {
            trace_virtio_pci_bad_access(vdev->name, "config write", offset,
                                        size);
        }
        return;
    }
    case VIRTIO_PCI_NOTIFY_OFF:
        /*
         * queue_notify_off is the queue index, so the address names the
         * queue; the value (the index again, or notification data) is
         * not needed. This write is what an ioeventfd would stand for.
         */
        if ((size != 2 && size != 4) || off % VIRTIO_PCI_NOTIFY_MULT) {
            trace_virtio_pci_bad_access(vdev->name, "notify", offset, size);
            return;
        }
        virtio_queue_notify(vdev, off / VIRTIO_PCI_NOTIFY_MULT);
        return;
    default:
        /* ISR is read-only; the rest is unused. */
        return;
    }
}

static uint64_t virtio_pci_mmio_read(void *opaque, uint64_t offset,
                                     unsigned size)
{
    return virtio_pci_bar_read(opaque, offset, size);
}

static void virtio_pci_mmio_write(void *opaque, uint64_t offset,
                                  uint64_t value, unsigned size)
{
    virtio_pci_bar_write(opaque, offset, value, size);
}

static const IoOps virtio_pci_bar_ops = {
    .read = virtio_pci_mmio_read,
    .write = virtio_pci_mmio_write,
};

/* ---- doorbells as eventfds ---- */

static gboolean virtio_pci_notifier_ready(gint fd, GIOCondition cond,
                                          gpointer opaque)
{
    VirtIOPCINotifier *nt = opaque;
    uint64_t count;

    /* Any number of kicks since the last read are one: the queue
     * handler takes everything available. */
    if (read(fd, &count, sizeof(count)) == sizeof(count)) {
        virtio_queue_notify(nt->proxy->vdev, nt->queue);
    }
    return G_SOURCE_CONTINUE;
}

/* The doorbell's watch on the main loop (a leaf: the queue handlers
 * never iterate the loop); its source id. */
static guint virtio_pci_watch_doorbell(VirtIOPCINotifier *nt)
{
    GSource *src = g_unix_fd_source_new(nt->fd, G_IO_IN);
    guint id;

    g_source_set_callback(src, G_SOURCE_FUNC(virtio_pci_notifier_ready), nt,
                          NULL);
    main_loop_attach_leaf(src);
    id = g_source_get_id(src);
    g_source_unref(src);
    return id;
}

static uint64_t virtio_pci_notify_addr(VirtIOPCIProxy *proxy, uint64_t base,
                                       unsigned q)
{
    return base + VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT;
}

static void virtio_pci_ioeventfd_deassign(VirtIOPCIProxy *proxy)
{
    PciBus *bus = proxy->parent_obj.bus;

    for (unsigned q = 0; proxy->notifiers && q < proxy->vdev->num_queues;
         q++) {
        VirtIOPCINotifier *nt = &proxy->notifiers[q];

        if (nt->assigned) {
            bus->ioeventfd_ops->deassign(
                bus->ioeventfd_opaque,
                virtio_pci_notify_addr(proxy, proxy->notify_base, q), 2,
                nt->fd);
            nt->assigned = false;
        }
    }
}

/* Eventfds for every queue at BAR4's new base; a queue whose eventfd
 * cannot be made or assigned keeps the MMIO path. */
static void virtio_pci_ioeventfd_assign(VirtIOPCIProxy *proxy, uint64_t base)
{
    PciBus *bus = proxy->parent_obj.bus;
    unsigned n = proxy->vdev->num_queues;

    if (!proxy->notifiers) {
        proxy->notifiers = g_new0(VirtIOPCINotifier, n);
        for (unsigned q = 0; q < n; q++) {
            proxy->notifiers[q] = (VirtIOPCINotifier) {
                .proxy = proxy, .queue = q, .fd = -1,
            };
        }
    }
    proxy->notify_base = base;
    for (unsigned q = 0; q < n; q++) {
        VirtIOPCINotifier *nt = &proxy->notifiers[q];
        g_autoptr(Error) err = NULL;

        if (nt->fd < 0) {
            nt->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (nt->fd < 0) {
                trace_virtio_pci_ioeventfd_error(proxy->vdev->name, q,
                                                 g_strerror(errno));
                continue;
            }
            nt->watch = virtio_pci_watch_doorbell(nt);
        }
        if (!bus->ioeventfd_ops->assign(bus->ioeventfd_opaque,
                                        virtio_pci_notify_addr(proxy, base,
                                                               q),
                                        2, nt->fd, &err)) {
            trace_virtio_pci_ioeventfd_error(proxy->vdev->name, q,
                                             error_get_pretty(err));
            continue;
        }
        nt->assigned = true;
    }
}

void virtio_pci_bar_map(PCIDevice *dev, unsigned bar, uint64_t old_addr,
                        uint64_t new_addr)
{
    VirtIOPCIProxy *proxy = (VirtIOPCIProxy *)dev;

    if (bar != VIRTIO_PCI_BAR || !proxy->vdev || !dev->bus ||
        !dev->bus->ioeventfd_ops) {
        return;
    }
    virtio_pci_ioeventfd_deassign(proxy);
    if (new_addr != PCI_BAR_UNMAPPED) {
        virtio_pci_ioeventfd_assign(proxy, new_addr);
    }
}

void virtio_pci_exit(VirtIOPCIProxy *proxy)
{
    if (!proxy->notifiers) {
        return;
    }
    virtio_pci_ioeventfd_deassign(proxy);
    for (unsigned q = 0; q < proxy->vdev->num_queues; q++) {
        VirtIOPCINotifier *nt = &proxy->notifiers[q];

        if (nt->watch) {
            g_source_remove(nt->watch);
        }
        if (nt->fd >= 0) {
            close(nt->fd);
        }
    }
    g_clear_pointer(&proxy->notifiers, g_free);
}

/* ---- the PCI configuration access capability ---- */

/* The window's BAR access as the driver set it up, or false. */
static bool virtio_pci_cfg_window(VirtIOPCIProxy *proxy, uint32_t *offset,
                                  uint32_t *length)
{
    const uint8_t *cap = proxy->parent_obj.config + proxy->cfg_cap;
    uint8_t bar = cap[VIRTIO_PCI_CAP_BAR];

    *offset = pci_get_long(cap + VIRTIO_PCI_CAP_OFFSET);
    *length = pci_get_long(cap + VIRTIO_PCI_CAP_LENGTH);
    if (bar != VIRTIO_PCI_BAR ||
        (*length != 1 && *length != 2 && *length != 4) ||
        (*offset & (*length - 1)) ||
        *offset >= VIRTIO_PCI_BAR_SIZE) {
        trace_virtio_pci_bad_cfg_window(proxy->vdev->name, bar, *offset,
                                        *length);
        return false;
    }
    return true;
}

static bool virtio_pci_touches_cfg_data(VirtIOPCIProxy *proxy,
                                        unsigned addr, unsigned len)
{
    unsigned data = proxy->cfg_cap + VIRTIO_PCI_CAP_CFG_DATA;

    return proxy->cfg_cap && pci_ranges_overlap(addr, len, data, 4);
}

void virtio_pci_config_read(PCIDevice *dev, unsigned addr, unsigned len)
{
    VirtIOPCIProxy *proxy = (VirtIOPCIProxy *)dev;
    uint8_t *data = dev->config + proxy->cfg_cap + VIRTIO_PCI_CAP_CFG_DATA;
    uint32_t offset, length;

    if (!virtio_pci_touches_cfg_data(proxy, addr, len)) {
        return;
    }
    memset(data, 0, 4);
    if (virtio_pci_cfg_window(proxy, &offset, &length)) {
        pci_set_long(data, virtio_pci_bar_read(proxy, offset, length));
    }
}

void virtio_pci_config_write(PCIDevice *dev, unsigned addr, uint32_t val,
                             unsigned len)
{
    VirtIOPCIProxy *proxy = (VirtIOPCIProxy *)dev;
    uint8_t *data = dev->config + proxy->cfg_cap + VIRTIO_PCI_CAP_CFG_DATA;
    uint32_t offset, length;

    if (pci_ranges_overlap(addr, len, PCI_COMMAND, 2) &&
        !virtio_pci_dma_enabled(proxy)) {
        virtio_dma_lost(proxy->vdev);
    }
    if (!virtio_pci_touches_cfg_data(proxy, addr, len) ||
        !virtio_pci_cfg_window(proxy, &offset, &length)) {
        return;
    }
    virtio_pci_bar_write(proxy, offset,
                         pci_get_long(data) & virtio_pci_all_ones(length),
                         length);
}

/* ---- realize and reset ---- */

static bool virtio_pci_add_cap(PCIDevice *dev, uint8_t cfg_type,
                               uint8_t size, uint32_t offset,
                               uint32_t length, uint8_t *where,
                               Error **errp)
{
    uint8_t cap = pci_add_capability(dev, PCI_CAP_ID_VNDR, 0, size, errp);

    if (!cap) {
        return false;
    }
    dev->config[cap + VIRTIO_PCI_CAP_LEN] = size;
    dev->config[cap + VIRTIO_PCI_CAP_CFG_TYPE] = cfg_type;
    dev->config[cap + VIRTIO_PCI_CAP_BAR] = VIRTIO_PCI_BAR;
    pci_set_long(dev->config + cap + VIRTIO_PCI_CAP_OFFSET, offset);
    pci_set_long(dev->config + cap + VIRTIO_PCI_CAP_LENGTH, length);
    if (where) {
        *where = cap;
    }
    return true;
}

bool virtio_pci_realize(VirtIOPCIProxy *proxy, VirtIODevice *vdev,
                        Error **errp)
{
    PCIDevice *dev = &proxy->parent_obj;
    uint8_t notify = 0, cfg = 0;

    g_assert(pci_device_class(dev)->device_id ==
             VIRTIO_PCI_DEVICE_ID_BASE + vdev->device_id);
    proxy->vdev = vdev;
    pci_register_bar(dev, VIRTIO_PCI_BAR, PCI_BAR_MEM64, true,
                     VIRTIO_PCI_BAR_SIZE, &virtio_pci_bar_ops, proxy);
    if (!virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_COMMON_CFG,
                            VIRTIO_PCI_CAP_SIZE, VIRTIO_PCI_COMMON_OFF,
                            VIRTIO_PCI_COMMON_SIZE, NULL, errp) ||
        !virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_ISR_CFG,
                            VIRTIO_PCI_CAP_SIZE, VIRTIO_PCI_ISR_OFF, 1,
                            NULL, errp) ||
        !virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_DEVICE_CFG,
                            VIRTIO_PCI_CAP_SIZE, VIRTIO_PCI_DEVICE_OFF,
                            MAX(vdev->config_len, 1), NULL, errp) ||
        !virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_NOTIFY_CFG,
                            VIRTIO_PCI_NOTIFY_CAP_SIZE,
                            VIRTIO_PCI_NOTIFY_OFF,
                            vdev->num_queues * VIRTIO_PCI_NOTIFY_MULT,
                            &notify, errp) ||
        !virtio_pci_add_cap(dev, VIRTIO_PCI_CAP_PCI_CFG,
                            VIRTIO_PCI_CFG_CAP_SIZE, 0, 0, &cfg, errp)) {
        return false;
    }
    pci_set_long(dev->config + notify + VIRTIO_PCI_CAP_NOTIFY_MULT,
                 VIRTIO_PCI_NOTIFY_MULT);
    /* The window: bar, offset, length and data are the driver's. */
    proxy->cfg_cap = cfg;
    dev->wmask[cfg + VIRTIO_PCI_CAP_BAR] = 0xff;
    memset(dev->wmask + cfg + VIRTIO_PCI_CAP_OFFSET, 0xff, 4);
    memset(dev->wmask + cfg + VIRTIO_PCI_CAP_LENGTH, 0xff, 4);
    memset(dev->wmask + cfg + VIRTIO_PCI_CAP_CFG_DATA, 0xff, 4);
    pci_set_interrupt_pin(dev, 1);
    if (proxy->vectors &&
        !msix_init(dev, proxy->vectors, VIRTIO_PCI_MSIX_BAR, 0,
                   VIRTIO_PCI_MSIX_PBA, errp)) {
        return false;
    }
    virtio_set_transport(vdev, &virtio_pci_transport, proxy);
    return true;
}

void virtio_pci_reset(VirtIOPCIProxy *proxy)
{
    virtio_reset(proxy->vdev);
    proxy->dfselect = proxy->gfselect = 0;
    proxy->queue_select = 0;
    pci_set_irq(&proxy->parent_obj, false);
}

/*
 * A kick the guest wrote just before it stopped may still sit in its
 * eventfd when the device state is captured: the main loop has not
 * polled since. Handled later, it would pop requests and write the used
 * ring after the capture (and after the last RAM pass), so the
 * destination's device and RAM would disagree. Take such kicks now,
 * before the device's own state (a field after this one) is saved and
 * its pre_save drains what they started. The vCPUs are stopped: no new
 * kick can come in after this.
 */
static bool virtio_pci_pre_save(void *opaque, Error **errp)
{
    VirtIOPCIProxy *proxy = opaque;

    for (unsigned q = 0; proxy->notifiers && q < proxy->vdev->num_queues;
         q++) {
        VirtIOPCINotifier *nt = &proxy->notifiers[q];

        if (nt->fd >= 0) {
            virtio_pci_notifier_ready(nt->fd, G_IO_IN, nt);
        }
    }
    return true;
}

const VMStateDescription vmstate_virtio_pci = {
    .name = "virtio-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtio_pci_pre_save,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(dfselect, VirtIOPCIProxy),
        VMSTATE_UINT32(gfselect, VirtIOPCIProxy),
        VMSTATE_UINT16(queue_select, VirtIOPCIProxy),
        VMSTATE_END_OF_LIST()
    },
};
