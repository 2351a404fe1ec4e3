/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio device core, independent of the transport: the status byte
 * and its state machine, feature negotiation, the configuration space
 * and its generation, queue configuration, interrupts through the
 * transport seam, the error state (NEEDS_RESET), reset and migration.
 * The state machine is drawn in include/hw/virtio/virtio.h; the rings
 * themselves are hw/virtio/virtqueue.c.
 */
#include <stdarg.h>
#include <inttypes.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "virtio-internal.h"
#include "trace.h"

/* ---- set-up ---- */

void virtio_init(VirtIODevice *vdev, const char *name, uint16_t device_id,
                 const VirtioDeviceOps *ops, GuestMemory *mem,
                 uint64_t host_features, uint32_t config_len)
{
    g_assert(config_len <= VIRTIO_CONFIG_MAX);
    memset(vdev, 0, sizeof(*vdev));
    vdev->name = name;
    vdev->device_id = device_id;
    vdev->ops = ops;
    vdev->mem = mem;
    /* Modern only: a driver that does not accept VERSION_1 is refused. */
    vdev->host_features = host_features | VIRTIO_BIT(VIRTIO_F_VERSION_1);
    vdev->config_len = config_len;
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        vdev->vq[i].vdev = vdev;
        vdev->vq[i].index = i;
    }
    virtio_reset(vdev);
}

void virtio_cleanup(VirtIODevice *vdev)
{
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        virtqueue_cleanup(&vdev->vq[i]);
    }
    g_clear_pointer(&vdev->error_msg, g_free);
    vdev->num_queues = 0;
}

VirtQueue *virtio_add_queue(VirtIODevice *vdev, uint16_t num_max,
                            VirtQueueHandler handle)
{
    VirtQueue *vq;

    g_assert(vdev->num_queues < VIRTIO_QUEUE_MAX);
    vq = &vdev->vq[vdev->num_queues];
    virtqueue_init(vq, vdev, vdev->num_queues, num_max, handle);
    vdev->num_queues++;
    return vq;
}

void virtio_set_transport(VirtIODevice *vdev,
                          const VirtioTransport *transport, void *opaque)
{
    vdev->transport = transport;
    vdev->transport_opaque = opaque;
}

bool virtio_dma_enabled(const VirtIODevice *vdev)
{
    const VirtioTransport *t = vdev->transport;

    return !t || !t->dma_enabled || t->dma_enabled(vdev->transport_opaque);
}

/* ---- reset ---- */

void virtio_reset(VirtIODevice *vdev)
{
    trace_virtio_reset(vdev->name, vdev->status);
    if (vdev->ops && vdev->ops->reset) {
        vdev->ops->reset(vdev);
    }
    vdev->status = 0;
    vdev->guest_features = 0;
    vdev->isr = 0;
    vdev->config_vector = VIRTIO_NO_VECTOR;
    for (unsigned i = 0; i < vdev->num_queues; i++) {
        virtqueue_reset(&vdev->vq[i]);
    }
}

/* ---- status ---- */

/* The one place the status byte changes (reset aside). */
static void virtio_set_state(VirtIODevice *vdev, uint8_t old, uint8_t status)
{
    trace_virtio_set_status(vdev->name, old, status);
    vdev->status = status;
    if (vdev->ops && vdev->ops->status_changed && old != status) {
        vdev->ops->status_changed(vdev, old, status);
    }
}

/* Each bit the driver sets needs the one before it (spec 3.1.1). */
static const struct {
    uint8_t bit;
    uint8_t needs;
    const char *name;
    const char *needs_name;
} virtio_status_order[] = {
    { VIRTIO_STATUS_DRIVER, VIRTIO_STATUS_ACKNOWLEDGE,
      "DRIVER", "ACKNOWLEDGE" },
    { VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_DRIVER,
      "FEATURES_OK", "DRIVER" },
    { VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_FEATURES_OK,
      "DRIVER_OK", "FEATURES_OK" },
};

/* Whether status is a state the machine can be in (also for loads). */
static bool virtio_status_valid(uint8_t status, Error **errp)
{
    if (status & ~VIRTIO_STATUS_KNOWN) {
        error_setg(errp, "status 0x%02x sets reserved bits 0x%02x", status,
                   status & ~VIRTIO_STATUS_KNOWN);
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(virtio_status_order); i++) {
        if ((status & virtio_status_order[i].bit) &&
            !(status & virtio_status_order[i].needs)) {
            error_setg(errp, "status 0x%02x sets %s without %s", status,
                       virtio_status_order[i].name,
                       virtio_status_order[i].needs_name);
            return false;
        }
    }
    return true;
}

/* Spec 3.1.1 step 5-6: may the driver's features be accepted? */
static bool virtio_features_acceptable(VirtIODevice *vdev, Error **errp)
{
    uint64_t f = vdev->guest_features;

    if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
        error_setg(errp, "the driver did not accept VIRTIO_F_VERSION_1 "
                   "(legacy drivers are not supported)");
        return false;
    }
    if (f & ~vdev->host_features) {
        error_setg(errp, "the driver accepted features 0x%" PRIx64 " that "
                   "the device does not offer", f & ~vdev->host_features);
        return false;
    }
    if (vdev->ops && vdev->ops->validate_features &&
        !vdev->ops->validate_features(vdev, f, errp)) {
        return false;
    }
    return true;
}

bool virtio_set_status(VirtIODevice *vdev, uint8_t status, Error **errp)
{
    ERRP_GUARD();
    uint8_t old = vdev->status;
    /* NEEDS_RESET is the device's: the driver neither sets nor clears it */
    uint8_t keep = old & VIRTIO_STATUS_NEEDS_RESET;
    uint8_t cur = old & ~VIRTIO_STATUS_NEEDS_RESET;
    uint8_t want = status & ~VIRTIO_STATUS_NEEDS_RESET;

    if (!status) {
        virtio_reset(vdev);
        return true;
    }
    if (cur & ~want) {
        error_setg(errp, "status 0x%02x clears 0x%02x (only a reset clears "
                   "status bits)", status, cur & ~want);
    } else if ((cur & VIRTIO_STATUS_FAILED) && want != cur) {
        error_setg(errp, "status 0x%02x after FAILED (only a reset leaves "
                   "it)", status);
    } else {
        virtio_status_valid(want, errp);
    }
    if (*errp) {
        trace_virtio_status_refused(vdev->name, old, status);
        error_prepend(errp, "%s: ", vdev->name);
        return false;
    }
    if ((want & VIRTIO_STATUS_FEATURES_OK) &&
        !(cur & VIRTIO_STATUS_FEATURES_OK) &&
        !virtio_features_acceptable(vdev, errp)) {
        /* The spec's way to say no: the bit does not stick. DRIVER_OK
         * without FEATURES_OK would break the order, so it goes too. */
        want &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
        virtio_set_state(vdev, old, want | keep);
        error_prepend(errp, "%s: FEATURES_OK refused: ", vdev->name);
        return false;
    }
    virtio_set_state(vdev, old, want | keep);
    return true;
}

void virtio_dma_lost(VirtIODevice *vdev)
{
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK) {
        trace_virtio_dma_lost(vdev->name, vdev->status);
        virtio_set_state(vdev, vdev->status,
                         vdev->status & ~VIRTIO_STATUS_DRIVER_OK);
    }
}

/* ---- features ---- */

uint32_t virtio_device_features(VirtIODevice *vdev, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(vdev->host_features >> (32 * sel)) : 0;
}

uint32_t virtio_driver_features(VirtIODevice *vdev, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(vdev->guest_features >> (32 * sel)) : 0;
}

bool virtio_set_driver_features(VirtIODevice *vdev, uint32_t sel,
                                uint32_t value, Error **errp)
{
    uint64_t mask;

    if (!(vdev->status & VIRTIO_STATUS_DRIVER) ||
        (vdev->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED))) {
        error_setg(errp, "%s: driver features written in status 0x%02x "
                   "(only after DRIVER and before FEATURES_OK)", vdev->name,
                   vdev->status);
        return false;
    }
    if (sel >= 2) {
        error_setg(errp, "%s: driver feature word %u does not exist",
                   vdev->name, sel);
        return false;
    }
    mask = (uint64_t)UINT32_MAX << (32 * sel);
    vdev->guest_features = (vdev->guest_features & ~mask) |
                           ((uint64_t)value << (32 * sel));
    trace_virtio_driver_features(vdev->name, vdev->guest_features);
    return true;
}

bool virtio_has_feature(const VirtIODevice *vdev, unsigned bit)
{
    return bit < 64 && (vdev->guest_features & VIRTIO_BIT(bit));
}

/* ---- queue configuration ---- */

VirtQueue *virtio_queue(VirtIODevice *vdev, uint32_t index)
{
    return index < vdev->num_queues ? &vdev->vq[index] : NULL;
}

bool virtio_queue_set_num(VirtQueue *vq, uint16_t num, Error **errp)
{
    if (vq->enabled) {
        error_setg(errp, "%s: queue %u: size written while enabled",
                   vq->vdev->name, vq->index);
        return false;
    }
    if (!num || num > vq->num_max || (num & (num - 1))) {
        error_setg(errp, "%s: queue %u: size %u is not a power of two up "
                   "to %u", vq->vdev->name, vq->index, num, vq->num_max);
        return false;
    }
    vq->num = num;
    return true;
}

bool virtio_queue_set_rings(VirtQueue *vq, uint64_t desc, uint64_t avail,
                            uint64_t used, Error **errp)
{
    if (vq->enabled) {
        error_setg(errp, "%s: queue %u: ring address written while enabled",
                   vq->vdev->name, vq->index);
        return false;
    }
    vq->desc_addr = desc;
    vq->avail_addr = avail;
    vq->used_addr = used;
    return true;
}

void virtio_queue_enable(VirtQueue *vq)
{
    Error *err = NULL;

    if (vq->enabled) {
        return;
    }
    vq->enabled = true;
    trace_virtio_queue_enable(vq->vdev->name, vq->index, vq->num,
                              vq->desc_addr, vq->avail_addr, vq->used_addr);
    if (!virtqueue_map_rings(vq, &err)) {
        virtio_error(vq->vdev, vq, "%s", error_get_pretty(err));
        error_free(err);
    }
}

void virtio_queue_notify(VirtIODevice *vdev, uint32_t index)
{
    VirtQueue *vq = virtio_queue(vdev, index);

    if (!vq || !virtqueue_ready(vq)) {
        trace_virtio_queue_notify_ignored(vdev->name, index);
        return;
    }
    trace_virtio_queue_notify(vdev->name, index);
    if (vq->handle) {
        vq->handle(vdev, vq);
    }
}

/* ---- interrupts and the ISR ---- */

static void virtio_raise(VirtIODevice *vdev, uint8_t isr_bit,
                         uint16_t vector)
{
    vdev->isr |= isr_bit;
    trace_virtio_interrupt(vdev->name, isr_bit, vector);
    if (vdev->transport && vdev->transport->notify) {
        vdev->transport->notify(vdev->transport_opaque, vector);
    }
}

void virtio_notify(VirtIODevice *vdev, VirtQueue *vq)
{
    if (!virtqueue_ready(vq) || !virtqueue_should_notify(vq)) {
        trace_virtio_notify_suppressed(vdev->name, vq->index);
        return;
    }
    virtio_raise(vdev, 1, vq->vector);
}

void virtio_config_changed(VirtIODevice *vdev)
{
    vdev->config_generation++;
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK) {
        virtio_raise(vdev, 2, vdev->config_vector);
    }
}

uint8_t virtio_isr_take(VirtIODevice *vdev)
{
    uint8_t isr = vdev->isr;

    vdev->isr = 0;
    return isr;
}

/* ---- configuration space ---- */

static bool virtio_config_range(VirtIODevice *vdev, uint32_t offset,
                                uint32_t len, Error **errp)
{
    if (offset > vdev->config_len || len > vdev->config_len - offset) {
        error_setg(errp, "%s: config access 0x%x+%u is past its %u bytes",
                   vdev->name, offset, len, vdev->config_len);
        return false;
    }
    return true;
}

bool virtio_config_read(VirtIODevice *vdev, uint32_t offset, void *buf,
                        uint32_t len, Error **errp)
{
    if (!virtio_config_range(vdev, offset, len, errp)) {
        return false;
    }
    if (vdev->ops && vdev->ops->config_read) {
        vdev->ops->config_read(vdev);
    }
    memcpy(buf, vdev->config + offset, len);
    return true;
}

bool virtio_config_write(VirtIODevice *vdev, uint32_t offset,
                         const void *buf, uint32_t len, Error **errp)
{
    if (!virtio_config_range(vdev, offset, len, errp)) {
        return false;
    }
    if (!vdev->ops || !vdev->ops->config_write) {
        error_setg(errp, "%s: the configuration is read-only", vdev->name);
        return false;
    }
    memcpy(vdev->config + offset, buf, len);
    vdev->ops->config_write(vdev, offset, len);
    return true;
}

/* ---- errors ---- */

void virtio_error(VirtIODevice *vdev, VirtQueue *vq, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    trace_virtio_error(vdev->name, vq ? (int)vq->index : -1, msg);
    /* A guest that breaks and resets the device in a loop must not
     * flood the log: the first few warn, the rest are traced only. */
    if (vdev->errors_warned < VIRTIO_ERRORS_WARNED) {
        g_autofree char *where = vq ? g_strdup_printf("queue %u: ",
                                                      vq->index)
                                    : g_strdup("");

        vdev->errors_warned++;
        warn_report("%s: %s%s; the device needs a reset%s", vdev->name,
                    where, msg, vdev->errors_warned == VIRTIO_ERRORS_WARNED
                    ? " (further errors are only traced: virtio_error)" : "");
    }
    if (vq) {
        vq->broken = true;
    }
    g_free(vdev->error_msg);
    vdev->error_msg = msg;
    if (vdev->status & VIRTIO_STATUS_NEEDS_RESET) {
        return;
    }
    virtio_set_state(vdev, vdev->status,
                     vdev->status | VIRTIO_STATUS_NEEDS_RESET);
    /* Spec 2.1.2: after DRIVER_OK the driver hears of it as a config
     * change. */
    virtio_config_changed(vdev);
}

/* ---- migration ---- */

static bool virtio_device_pre_save(void *opaque, Error **errp)
{
    VirtIODevice *vdev = opaque;

    vdev->mig_num_queues = vdev->num_queues;
    return true;
}

/*
 * The queues' own post_load already ran (they are fields of this
 * description). What is left: the device-wide invariants that the queue
 * count, the features and the status byte must satisfy here.
 */
static bool virtio_device_post_load(void *opaque, int version_id,
                                    Error **errp)
{
    ERRP_GUARD();
    VirtIODevice *vdev = opaque;

    if (vdev->mig_num_queues != vdev->num_queues) {
        error_setg(errp, "%s: the source has %u queues, this device %u",
                   vdev->name, vdev->mig_num_queues, vdev->num_queues);
        return false;
    }
    if (vdev->guest_features & ~vdev->host_features) {
        error_setg(errp, "%s: the driver uses features 0x%" PRIx64 " that "
                   "this device does not offer", vdev->name,
                   vdev->guest_features & ~vdev->host_features);
        return false;
    }
    if (!virtio_status_valid(vdev->status, errp)) {
        error_prepend(errp, "%s: ", vdev->name);
        return false;
    }
    if ((vdev->status & VIRTIO_STATUS_FEATURES_OK) &&
        !virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
        error_setg(errp, "%s: FEATURES_OK without VIRTIO_F_VERSION_1",
                   vdev->name);
        return false;
    }
    if (vdev->isr & ~3) {
        error_setg(errp, "%s: ISR 0x%02x has unknown bits", vdev->name,
                   vdev->isr);
        return false;
    }
    trace_virtio_post_load(vdev->name, vdev->status, vdev->guest_features);
    return true;
}

const VMStateDescription vmstate_virtio_device = {
    .name = "virtio-device",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtio_device_pre_save,
    .post_load = virtio_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(status, VirtIODevice),
        VMSTATE_UINT64(guest_features, VirtIODevice),
        VMSTATE_UINT8(isr, VirtIODevice),
        VMSTATE_UINT8(config_generation, VirtIODevice),
        VMSTATE_UINT16(config_vector, VirtIODevice),
        VMSTATE_UINT32(mig_num_queues, VirtIODevice),
        VMSTATE_STRUCT_VARRAY_UINT32(vq, VirtIODevice, mig_num_queues,
                                     VIRTIO_QUEUE_MAX, vmstate_virtqueue,
                                     VirtQueue),
        VMSTATE_END_OF_LIST()
    },
};
