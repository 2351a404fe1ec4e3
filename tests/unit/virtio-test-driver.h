/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A pretend virtio driver for the virtio core's unit tests (no KVM): guest
 * RAM as memfd blocks, a test device on the core with a transport that
 * records interrupts, and helpers that play the guest by writing
 * descriptors and ring entries into guest RAM the way a driver would.
 *
 * Guest RAM: two blocks that touch, "ram.lo" [0, 1 MiB) and "ram.hi"
 * [1 MiB, 2 MiB), so a buffer can span a block boundary; nothing is
 * mapped at or above TV_RAM_END. Queue q's rings sit at TV_RING_GPA(q):
 * the descriptor table, then the available ring one page later and the
 * used ring two pages later (its own page, so the dirty tests can name
 * it). Data buffers go from TV_DATA_GPA up.
 */
#ifndef TESTS_UNIT_VIRTIO_TEST_DRIVER_H
#define TESTS_UNIT_VIRTIO_TEST_DRIVER_H

#include <glib.h>
#include "hw/virtio/virtio.h"

#define TV_RAM_END          0x200000ULL
#define TV_BLOCK_SPLIT      0x100000ULL
#define TV_RING_GPA(q)      (0x10000ULL + (uint64_t)(q) * 0x4000)
#define TV_DATA_GPA         0x40000ULL
#define TV_DEVICE_ID        0x7e                /* not a real type */
#define TV_CONFIG_LEN       8
#define TV_QUEUES           2
#define TV_QUEUE_MAX        256
#define TV_CONFIG_VECTOR    5

typedef struct TestVirtio {
    GuestMemory mem;
    VirtIODevice vdev;
    unsigned interrupts;        /* transport notify calls */
    uint16_t last_vector;
    unsigned kicks[TV_QUEUES];  /* queue handler calls */
    unsigned resets;            /* the device model's reset op */
    bool refuse_features;       /* validate_features says no */
} TestVirtio;

/* What the driver keeps per queue. */
typedef struct TestDriverQueue {
    TestVirtio *tv;             /* NULL over virtio-pci */
    GuestMemory *mem;           /* where the rings are */
    VirtQueue *vq;
    uint16_t num;
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
    uint16_t avail_idx;         /* the driver's next available index */
} TestDriverQueue;

/* RAM and the device, reset, features host_features offered. */
void tv_init(TestVirtio *tv, uint64_t host_features);
void tv_free(TestVirtio *tv);
/*
 * The driver's start-up (spec 3.1.1): ACKNOWLEDGE, DRIVER, features,
 * FEATURES_OK, queue q of size num at TV_RING_GPA(q) with vector q,
 * enabled, DRIVER_OK. Asserts each step is accepted.
 */
void tv_driver_start(TestVirtio *tv, uint64_t features, uint16_t num,
                     TestDriverQueue q[TV_QUEUES]);

/* Driver-side ring writes and reads (through guest_memory_*). */
void tdq_desc(TestDriverQueue *q, unsigned i, uint64_t addr, uint32_t len,
              uint16_t flags, uint16_t next);
/* A descriptor in an indirect table at table_gpa. */
void tdq_indirect_desc(uint64_t table_gpa, TestVirtio *tv, unsigned i,
                       uint64_t addr, uint32_t len, uint16_t flags,
                       uint16_t next);
/* ring[avail_idx % num] = head, then avail.idx = ++avail_idx. */
void tdq_avail_add(TestDriverQueue *q, uint16_t head);
/* avail.idx = idx without touching the ring (hostile drivers). */
void tdq_avail_set_idx(TestDriverQueue *q, uint16_t idx);
void tdq_avail_set_flags(TestDriverQueue *q, uint16_t flags);
void tdq_set_used_event(TestDriverQueue *q, uint16_t v);
uint16_t tdq_used_idx(TestDriverQueue *q);
uint16_t tdq_used_flags(TestDriverQueue *q);
uint16_t tdq_avail_event(TestDriverQueue *q);
void tdq_used_elem(TestDriverQueue *q, uint16_t slot, uint32_t *id,
                   uint32_t *len);

/* Guest RAM as the test sees it (asserts it is RAM). */
void tv_write(TestVirtio *tv, uint64_t gpa, const void *buf, size_t len);
void tv_read(TestVirtio *tv, uint64_t gpa, void *buf, size_t len);
/* Takes (and clears) every block's dirty bitmap; returns the number of
 * dirty pages, and whether page_gpa's page was among them. */
unsigned tv_take_dirty(TestVirtio *tv, uint64_t page_gpa, bool *page_dirty);
/* The same for any guest memory (the PCI test machine's). */
unsigned tv_take_dirty_mem(GuestMemory *mem, uint64_t page_gpa,
                           bool *page_dirty);

#endif
