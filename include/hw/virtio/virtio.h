/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transport-independent virtio core (virtio 1.x, modern only): the
 * device status byte and its state machine, 64-bit feature negotiation,
 * the device configuration space with its generation, the queues, and
 * the seam a transport (virtio-pci) plugs into. A device model (virtio-
 * net, ...) embeds a VirtIODevice, fills VirtioDeviceOps, adds its queues
 * and handles their kicks; the transport turns the driver's register
 * accesses into the calls below and delivers the interrupts the core
 * asks for. Neither knows about migration policy or COLO.
 *
 * Device status, as the driver writes it (spec 2.1, 3.1.1):
 *
 *      any state --- write 0 ------------------------> reset (status 0)
 *
 *      0 --> ACKNOWLEDGE --> +DRIVER --> +FEATURES_OK --> +DRIVER_OK
 *                                 |            ^
 *                                 |            | refused (features bad):
 *                                 |            | FEATURES_OK stays clear
 *                                 |  driver features written here only
 *
 *      +FAILED        the driver gives up, from any state; only reset
 *                     leaves it
 *      +NEEDS_RESET   set by the device (virtio_error), never by the
 *                     driver; only reset clears it
 *
 * A write that clears a bit, skips a step, sets a reserved bit or comes
 * after FAILED is refused whole (the status stays as it was) and traced.
 * Setting FEATURES_OK checks the driver's features: VERSION_1 must be
 * among them, nothing the device did not offer, and the device model's
 * validate_features; if they fail, the other bits of the write apply and
 * FEATURES_OK stays clear, which is how the spec tells the driver.
 *
 * The transport seam: the core sets the ISR bits (bit 0 used buffers,
 * bit 1 configuration change) and calls transport->notify with the MSI-X
 * vector of the queue or of the configuration (VIRTIO_NO_VECTOR when the
 * driver gave none: the transport then raises INTx from the ISR, which
 * the driver's ISR read takes and clears: virtio_isr_take).
 *
 * Migration: vmstate_virtio_device, embedded in the device model's own
 * table with VMSTATE_STRUCT. See docs/devel/virtio.md, "Migration", for
 * what travels and how in-flight buffers are handed out again on the
 * destination.
 */
#ifndef HW_VIRTIO_VIRTIO_H
#define HW_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/virtio/virtio-ring.h"
#include "hw/virtio/virtqueue.h"
#include "migration/vmstate.h"
#include "system/memory.h"
#include "util/error.h"

/* Most queues a device may have. */
#define VIRTIO_QUEUE_MAX    64
/* virtio_error() warns this many times per device, then only traces. */
#define VIRTIO_ERRORS_WARNED 16
/* Largest device configuration space. */
#define VIRTIO_CONFIG_MAX   256

typedef struct VirtioTransport {
    /*
     * Interrupt the driver on vector (VIRTIO_NO_VECTOR: INTx, level
     * from the ISR). The ISR bits are already set when this is called.
     */
    void (*notify)(void *opaque, uint16_t vector);
    /*
     * Whether the device may reach guest memory now (PCI: the guest has
     * enabled bus mastering). While it may not, no queue is ready: the
     * device pops, fills and signals nothing. NULL: always.
     */
    bool (*dma_enabled)(void *opaque);
} VirtioTransport;

typedef struct VirtioDeviceOps {
    /* Extra checks when the driver sets FEATURES_OK; optional. */
    bool (*validate_features)(VirtIODevice *vdev, uint64_t features,
                              Error **errp);
    /* After every accepted status change (not reset); optional. */
    void (*status_changed)(VirtIODevice *vdev, uint8_t old, uint8_t status);
    /* Drop device state and every element the device holds; the core
     * resets itself afterwards. Optional. */
    void (*reset)(VirtIODevice *vdev);
    /* Refresh vdev->config before the driver reads it; optional. */
    void (*config_read)(VirtIODevice *vdev);
    /* The driver wrote len bytes at offset of vdev->config; optional
     * (without it the configuration is read-only to the driver). */
    void (*config_write)(VirtIODevice *vdev, uint32_t offset, uint32_t len);
} VirtioDeviceOps;

struct VirtIODevice {
    const char *name;               /* "virtio-net", for traces and errors */
    uint16_t device_id;             /* spec 5 */
    const VirtioDeviceOps *ops;
    GuestMemory *mem;
    const VirtioTransport *transport;
    void *transport_opaque;

    uint64_t host_features;         /* offered; VERSION_1 always */
    uint64_t guest_features;        /* written by the driver */
    uint8_t status;
    uint8_t isr;                    /* bit 0 queue, bit 1 config */
    uint8_t config_generation;
    uint16_t config_vector;

    uint8_t config[VIRTIO_CONFIG_MAX];
    uint32_t config_len;

    char *error_msg;                /* the last virtio_error(), for tests */
    unsigned errors_warned;         /* virtio_error() warnings so far */

    uint32_t num_queues;
    uint32_t mig_num_queues;        /* migration: the count on the wire */
    VirtQueue vq[VIRTIO_QUEUE_MAX];
};

/*
 * Sets up vdev for a device model: host_features gets VERSION_1 added,
 * config_len must be at most VIRTIO_CONFIG_MAX. The device is reset.
 */
void virtio_init(VirtIODevice *vdev, const char *name, uint16_t device_id,
                 const VirtioDeviceOps *ops, GuestMemory *mem,
                 uint64_t host_features, uint32_t config_len);
void virtio_cleanup(VirtIODevice *vdev);
/* The transport's dma_enabled (true without one). */
bool virtio_dma_enabled(const VirtIODevice *vdev);
/*
 * The transport took DMA away while the driver was running (PCI: the
 * guest cleared bus mastering): DRIVER_OK is cleared, as QEMU does, so
 * the device stays idle until the driver sets it again.
 */
void virtio_dma_lost(VirtIODevice *vdev);
/* The next queue, of at most num_max entries (a power of two). */
VirtQueue *virtio_add_queue(VirtIODevice *vdev, uint16_t num_max,
                            VirtQueueHandler handle);
void virtio_set_transport(VirtIODevice *vdev,
                          const VirtioTransport *transport, void *opaque);

/* Back to status 0: the device model's reset, then features, ISR,
 * vectors, and every queue (disabled, addresses 0, nothing in flight). */
void virtio_reset(VirtIODevice *vdev);

/* ---- what the transport forwards from the driver ---- */

/* Status write (0 resets). See the state machine above. */
bool virtio_set_status(VirtIODevice *vdev, uint8_t status, Error **errp);
/* 32 feature bits at word sel (0: bits 0..31, 1: bits 32..63, else 0). */
uint32_t virtio_device_features(VirtIODevice *vdev, uint32_t sel);
/* Only while DRIVER is set and FEATURES_OK is not. */
bool virtio_set_driver_features(VirtIODevice *vdev, uint32_t sel,
                                uint32_t value, Error **errp);
uint32_t virtio_driver_features(VirtIODevice *vdev, uint32_t sel);
bool virtio_has_feature(const VirtIODevice *vdev, unsigned bit);

/* The queue the driver selected, or NULL when there is no such queue. */
VirtQueue *virtio_queue(VirtIODevice *vdev, uint32_t index);
/* Queue size, addresses and enable: refused while the queue is enabled
 * (spec 4.1.4.3.2). Enabling checks the rings (size, alignment, inside
 * RAM); a bad ring puts the device in NEEDS_RESET. */
bool virtio_queue_set_num(VirtQueue *vq, uint16_t num, Error **errp);
bool virtio_queue_set_rings(VirtQueue *vq, uint64_t desc, uint64_t avail,
                            uint64_t used, Error **errp);
void virtio_queue_enable(VirtQueue *vq);
/* The driver kicked queue index: runs its handler if it is ready. */
void virtio_queue_notify(VirtIODevice *vdev, uint32_t index);

/* Reads and clears the ISR (the driver's read of it). */
uint8_t virtio_isr_take(VirtIODevice *vdev);

/* Device configuration space; false (errp set) when out of range. */
bool virtio_config_read(VirtIODevice *vdev, uint32_t offset, void *buf,
                        uint32_t len, Error **errp);
bool virtio_config_write(VirtIODevice *vdev, uint32_t offset,
                         const void *buf, uint32_t len, Error **errp);

/* ---- what the device model calls ---- */

/* Interrupts the driver for vq if it wants one (flags / EVENT_IDX). */
void virtio_notify(VirtIODevice *vdev, VirtQueue *vq);
/* The configuration changed: new generation, ISR bit 1, interrupt. */
void virtio_config_changed(VirtIODevice *vdev);

/*
 * The driver did something the device cannot go on from: NEEDS_RESET is
 * set, vq (if any) is broken, a configuration-change interrupt tells the
 * driver (spec 2.1.2), and a trace event and a warning name the problem
 * (only a trace after VIRTIO_ERRORS_WARNED warnings from this device, so
 * a guest cannot flood the log). The queue is not used again until
 * reset.
 */
void virtio_error(VirtIODevice *vdev, VirtQueue *vq, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

extern const VMStateDescription vmstate_virtio_device;

#endif
