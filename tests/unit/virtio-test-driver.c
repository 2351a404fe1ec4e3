/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pretend virtio driver of the virtio core's unit tests: see
 * virtio-test-driver.h.
 */
#include <inttypes.h>
#include <string.h>
#include "virtio-test-driver.h"
#include "util/bitmap.h"

static void tv_transport_notify(void *opaque, uint16_t vector)
{
    TestVirtio *tv = opaque;

    tv->interrupts++;
    tv->last_vector = vector;
}

static const VirtioTransport tv_transport = {
    .notify = tv_transport_notify,
};

static TestVirtio *tv_of(VirtIODevice *vdev)
{
    return (TestVirtio *)((uint8_t *)vdev - offsetof(TestVirtio, vdev));
}

static void tv_handle(VirtIODevice *vdev, VirtQueue *vq)
{
    tv_of(vdev)->kicks[vq->index]++;
}

static bool tv_validate_features(VirtIODevice *vdev, uint64_t features,
                                 Error **errp)
{
    if (tv_of(vdev)->refuse_features) {
        error_setg(errp, "test device refuses features 0x%" PRIx64,
                   features);
        return false;
    }
    return true;
}

static void tv_reset(VirtIODevice *vdev)
{
    tv_of(vdev)->resets++;
}

static void tv_config_write(VirtIODevice *vdev, uint32_t offset,
                            uint32_t len)
{
    /* Byte 0 is read-only: the device puts it back. */
    vdev->config[0] = 0xa5;
}

static const VirtioDeviceOps tv_ops = {
    .validate_features = tv_validate_features,
    .reset = tv_reset,
    .config_write = tv_config_write,
};

void tv_init(TestVirtio *tv, uint64_t host_features)
{
    memset(tv, 0, sizeof(*tv));
    g_assert_nonnull(guest_memory_add_ram(&tv->mem, "ram.lo", 0,
                                          TV_BLOCK_SPLIT, &error_abort));
    g_assert_nonnull(guest_memory_add_ram(&tv->mem, "ram.hi", TV_BLOCK_SPLIT,
                                          TV_RAM_END - TV_BLOCK_SPLIT,
                                          &error_abort));
    virtio_init(&tv->vdev, "virtio-test", TV_DEVICE_ID, &tv_ops, &tv->mem,
                host_features, TV_CONFIG_LEN);
    for (unsigned i = 0; i < TV_QUEUES; i++) {
        virtio_add_queue(&tv->vdev, TV_QUEUE_MAX, tv_handle);
    }
    virtio_set_transport(&tv->vdev, &tv_transport, tv);
    tv->vdev.config[0] = 0xa5;
    tv->resets = 0;
}

void tv_free(TestVirtio *tv)
{
    virtio_cleanup(&tv->vdev);
    guest_memory_free(&tv->mem);
}

void tv_driver_start(TestVirtio *tv, uint64_t features, uint16_t num,
                     TestDriverQueue q[TV_QUEUES])
{
    VirtIODevice *vdev = &tv->vdev;

    g_assert_true(virtio_set_status(vdev, 0, &error_abort));
    g_assert_true(virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE,
                                    &error_abort));
    g_assert_true(virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE |
                                    VIRTIO_STATUS_DRIVER, &error_abort));
    g_assert_true(virtio_set_driver_features(vdev, 0, (uint32_t)features,
                                             &error_abort));
    g_assert_true(virtio_set_driver_features(vdev, 1, features >> 32,
                                             &error_abort));
    g_assert_true(virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE |
                                    VIRTIO_STATUS_DRIVER |
                                    VIRTIO_STATUS_FEATURES_OK,
                                    &error_abort));
    g_assert_cmphex(vdev->status & VIRTIO_STATUS_FEATURES_OK, !=, 0);
    vdev->config_vector = TV_CONFIG_VECTOR;
    for (unsigned i = 0; i < TV_QUEUES; i++) {
        TestDriverQueue *dq = &q[i];

        memset(dq, 0, sizeof(*dq));
        dq->tv = tv;
        dq->mem = &tv->mem;
        dq->vq = virtio_queue(vdev, i);
        dq->num = num;
        dq->desc = TV_RING_GPA(i);
        dq->avail = dq->desc + 0x1000;
        dq->used = dq->desc + 0x2000;
        g_assert_nonnull(dq->vq);
        /* Fresh rings: what a driver zeroes before use. */
        g_assert_true(guest_memory_fill(&tv->mem, dq->desc, 0, 0x3000,
                                        &error_abort));
        g_assert_true(virtio_queue_set_num(dq->vq, num, &error_abort));
        g_assert_true(virtio_queue_set_rings(dq->vq, dq->desc, dq->avail,
                                             dq->used, &error_abort));
        dq->vq->vector = i;
        virtio_queue_enable(dq->vq);
        g_assert_false(dq->vq->broken);
    }
    g_assert_true(virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE |
                                    VIRTIO_STATUS_DRIVER |
                                    VIRTIO_STATUS_FEATURES_OK |
                                    VIRTIO_STATUS_DRIVER_OK, &error_abort));
    tv->interrupts = 0;
}

void tv_write(TestVirtio *tv, uint64_t gpa, const void *buf, size_t len)
{
    g_assert_true(guest_memory_write(&tv->mem, gpa, buf, len, &error_abort));
}

void tv_read(TestVirtio *tv, uint64_t gpa, void *buf, size_t len)
{
    g_assert_true(guest_memory_read(&tv->mem, gpa, buf, len, &error_abort));
}

static void put16(GuestMemory *mem, uint64_t gpa, uint16_t v)
{
    uint16_t le = GUINT16_TO_LE(v);

    g_assert_true(guest_memory_write(mem, gpa, &le, 2, &error_abort));
}

static uint16_t get16(GuestMemory *mem, uint64_t gpa)
{
    uint16_t le;

    g_assert_true(guest_memory_read(mem, gpa, &le, 2, &error_abort));
    return GUINT16_FROM_LE(le);
}

static void put_desc(GuestMemory *mem, uint64_t gpa, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
    VirtqDesc d = {
        .addr = GUINT64_TO_LE(addr),
        .len = GUINT32_TO_LE(len),
        .flags = GUINT16_TO_LE(flags),
        .next = GUINT16_TO_LE(next),
    };

    g_assert_true(guest_memory_write(mem, gpa, &d, sizeof(d), &error_abort));
}

void tdq_desc(TestDriverQueue *q, unsigned i, uint64_t addr, uint32_t len,
              uint16_t flags, uint16_t next)
{
    g_assert_cmpuint(i, <, q->num);
    put_desc(q->mem, q->desc + (uint64_t)i * VIRTQ_DESC_SIZE, addr, len,
             flags, next);
}

void tdq_indirect_desc(uint64_t table_gpa, TestVirtio *tv, unsigned i,
                       uint64_t addr, uint32_t len, uint16_t flags,
                       uint16_t next)
{
    put_desc(&tv->mem, table_gpa + (uint64_t)i * VIRTQ_DESC_SIZE, addr, len, flags,
             next);
}

void tdq_avail_add(TestDriverQueue *q, uint16_t head)
{
    put16(q->mem, q->avail + VIRTQ_AVAIL_RING(q->avail_idx % q->num), head);
    tdq_avail_set_idx(q, q->avail_idx + 1);
}

void tdq_avail_set_idx(TestDriverQueue *q, uint16_t idx)
{
    q->avail_idx = idx;
    put16(q->mem, q->avail + VIRTQ_AVAIL_IDX, idx);
}

void tdq_avail_set_flags(TestDriverQueue *q, uint16_t flags)
{
    put16(q->mem, q->avail + VIRTQ_AVAIL_FLAGS, flags);
}

void tdq_set_used_event(TestDriverQueue *q, uint16_t v)
{
    put16(q->mem, q->avail + virtq_used_event_off(q->num), v);
}

uint16_t tdq_used_idx(TestDriverQueue *q)
{
    return get16(q->mem, q->used + VIRTQ_USED_IDX);
}

uint16_t tdq_used_flags(TestDriverQueue *q)
{
    return get16(q->mem, q->used + VIRTQ_USED_FLAGS);
}

uint16_t tdq_avail_event(TestDriverQueue *q)
{
    return get16(q->mem, q->used + virtq_avail_event_off(q->num));
}

void tdq_used_elem(TestDriverQueue *q, uint16_t slot, uint32_t *id,
                   uint32_t *len)
{
    VirtqUsedElem e;

    g_assert_true(guest_memory_read(q->mem, q->used +
                                    VIRTQ_USED_RING(slot % q->num), &e,
                                    sizeof(e), &error_abort));
    *id = GUINT32_FROM_LE(e.id);
    *len = GUINT32_FROM_LE(e.len);
}

unsigned tv_take_dirty(TestVirtio *tv, uint64_t page_gpa, bool *page_dirty)
{
    return tv_take_dirty_mem(&tv->mem, page_gpa, page_dirty);
}

unsigned tv_take_dirty_mem(GuestMemory *mem, uint64_t page_gpa,
                           bool *page_dirty)
{
    unsigned n = 0;

    if (page_dirty) {
        *page_dirty = false;
    }
    for (unsigned b = 0; b < mem->nr_blocks; b++) {
        RamBlock *rb = &mem->blocks[b];
        size_t pages = rb->size >> GUEST_PAGE_SHIFT;
        g_autofree unsigned long *taken = bitmap_new(pages);

        bitmap_take_atomic(taken, rb->dirty, pages);
        n += bitmap_count_one(taken, pages);
        if (page_dirty && page_gpa >= rb->gpa &&
            page_gpa - rb->gpa < rb->size) {
            size_t page = (page_gpa - rb->gpa) >> GUEST_PAGE_SHIFT;

            *page_dirty = find_next_bit(taken, pages, page) == page;
        }
    }
    return n;
}
