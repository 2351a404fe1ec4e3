/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The driver side shared by the virtio device fuzzers (fuzz-virtio-net,
 * fuzz-virtio-blk), whose inputs carry guest RAM with queue q's rings at
 * q * FUZZ_RING_STRIDE: descriptors, the available ring at +0x1000, the
 * used ring at +0x2000. The driver's start-up, and seed writing (ram is
 * the input's RAM part).
 */
#ifndef TESTS_FUZZ_FUZZ_VIRTIO_DRIVER_H
#define TESTS_FUZZ_FUZZ_VIRTIO_DRIVER_H

#include <stdint.h>
#include <string.h>
#include <glib.h>
#include "hw/virtio/virtio.h"

#define FUZZ_RING_STRIDE 0x3000ULL

/*
 * Reset, features, every queue of 1 << (size_byte % 7) entries (at most
 * the device's) with vector q, DRIVER_OK. Refusals are the device's to
 * make: errors are ignored, as a hostile driver would.
 */
static inline void fuzz_virtio_start(VirtIODevice *vdev, uint64_t features,
                                     uint8_t size_byte)
{
    const uint8_t ad = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

    virtio_set_status(vdev, 0, NULL);
    virtio_set_status(vdev, ad, NULL);
    virtio_set_driver_features(vdev, 0, features, NULL);
    virtio_set_driver_features(vdev, 1, features >> 32, NULL);
    virtio_set_status(vdev, ad | VIRTIO_STATUS_FEATURES_OK, NULL);
    for (unsigned i = 0; i < vdev->num_queues; i++) {
        VirtQueue *vq = virtio_queue(vdev, i);
        uint64_t base = i * FUZZ_RING_STRIDE;

        virtio_queue_set_num(vq, MIN(1u << (size_byte % 7), vq->num_max),
                             NULL);
        virtio_queue_set_rings(vq, base, base + 0x1000, base + 0x2000, NULL);
        vq->vector = i;
        virtio_queue_enable(vq);
    }
    virtio_set_status(vdev, ad | VIRTIO_STATUS_FEATURES_OK |
                      VIRTIO_STATUS_DRIVER_OK, NULL);
}

static inline void seed_put(uint8_t *ram, uint64_t gpa, const void *p,
                            size_t n)
{
    memcpy(ram + gpa, p, n);
}

static inline void seed_desc(uint8_t *ram, unsigned q, unsigned i,
                             uint64_t addr, uint32_t len, uint16_t flags,
                             uint16_t next)
{
    VirtqDesc d = {
        .addr = GUINT64_TO_LE(addr), .len = GUINT32_TO_LE(len),
        .flags = GUINT16_TO_LE(flags), .next = GUINT16_TO_LE(next),
    };

    seed_put(ram, q * FUZZ_RING_STRIDE + i * 16, &d, sizeof(d));
}

/* avail.idx = idx, ring[0 .. idx) = heads. */
static inline void seed_avail(uint8_t *ram, unsigned q, uint16_t idx,
                              const uint16_t *heads)
{
    uint16_t le = GUINT16_TO_LE(idx);

    seed_put(ram, q * FUZZ_RING_STRIDE + 0x1000 + 2, &le, 2);
    for (unsigned i = 0; i < idx; i++) {
        le = GUINT16_TO_LE(heads[i]);
        seed_put(ram, q * FUZZ_RING_STRIDE + 0x1000 + 4 + 2 * i, &le, 2);
    }
}

#endif
