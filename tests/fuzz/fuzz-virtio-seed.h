/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Seed writing for the virtio device fuzzers (fuzz-virtio-net,
 * fuzz-virtio-blk), whose inputs carry guest RAM with queue q's rings at
 * q * FUZZ_RING_STRIDE: descriptors, the available ring at +0x1000, the
 * used ring at +0x2000. ram is the input's RAM part.
 */
#ifndef TESTS_FUZZ_FUZZ_VIRTIO_SEED_H
#define TESTS_FUZZ_FUZZ_VIRTIO_SEED_H

#include <stdint.h>
#include <string.h>
#include <glib.h>
#include "hw/virtio/virtio-ring.h"

#define FUZZ_RING_STRIDE 0x3000ULL

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
