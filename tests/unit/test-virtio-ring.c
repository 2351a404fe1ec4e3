/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the split virtqueue (hw/virtio/virtqueue.c), no KVM: the
 * test plays the guest driver (virtio-test-driver.h) by writing rings into
 * guest RAM, and the device side pops and pushes. Covered: simple and
 * indirect chains (and a buffer across two RAM blocks), notification
 * suppression both ways with and without EVENT_IDX, the 16-bit indexes
 * wrapping, kicks, and every hostile ring we know of: each must end with
 * the device in NEEDS_RESET, the queue stopped until reset, a config
 * interrupt, and an error naming the problem; never a crash or a hang.
 */
#include <string.h>
#include <glib.h>
#include "virtio-test-driver.h"
#include "watchdog.h"

#define FEATURES    (VIRTIO_BIT(VIRTIO_F_VERSION_1) |                  \
                     VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |                  \
                     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))
#define NUM         8
#define OUT_GPA     TV_DATA_GPA
#define IN_GPA      (TV_DATA_GPA + 0x10000)
#define TABLE_GPA   (TV_DATA_GPA + 0x20000)

typedef struct Fixture {
    TestVirtio tv;
    TestDriverQueue q[TV_QUEUES];
} Fixture;

static void fixture_start(Fixture *fx, uint64_t features, uint16_t num)
{
    tv_init(&fx->tv, FEATURES);
    tv_driver_start(&fx->tv, features, num, fx->q);
}

static void fixture_free(Fixture *fx)
{
    tv_free(&fx->tv);
}

/* ---- chains ---- */

static void test_simple_chain(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    VirtQueueElement *elem;
    char hdr[12] = "hello, hdr!", body[5] = "body", got[32];
    const char reply[] = "the device's reply";
    uint32_t id, len;

    fixture_start(&fx, FEATURES, NUM);
    tv_write(&fx.tv, OUT_GPA, hdr, sizeof(hdr));
    tv_write(&fx.tv, OUT_GPA + 0x100, body, sizeof(body));
    tdq_desc(q, 3, OUT_GPA, sizeof(hdr), VIRTQ_DESC_F_NEXT, 5);
    tdq_desc(q, 5, OUT_GPA + 0x100, sizeof(body), VIRTQ_DESC_F_NEXT, 1);
    tdq_desc(q, 1, IN_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
    g_assert_true(virtqueue_empty(q->vq));
    g_assert_null(virtqueue_pop(q->vq));
    tdq_avail_add(q, 3);
    g_assert_false(virtqueue_empty(q->vq));

    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    g_assert_cmpuint(elem->head, ==, 3);
    g_assert_cmpuint(elem->out_num, ==, 2);
    g_assert_cmpuint(elem->in_num, ==, 1);
    g_assert_cmpuint(elem->out_len, ==, sizeof(hdr) + sizeof(body));
    g_assert_cmpuint(elem->in_len, ==, 64);
    g_assert_cmphex(elem->in_addr[0], ==, IN_GPA);
    g_assert_cmpuint(virtqueue_elem_from_guest(elem, 0, got, sizeof(got)),
                     ==, sizeof(hdr) + sizeof(body));
    g_assert_cmpmem(got, sizeof(hdr), hdr, sizeof(hdr));
    g_assert_cmpmem(got + sizeof(hdr), sizeof(body), body, sizeof(body));
    g_assert_true(virtqueue_empty(q->vq));
    g_assert_null(virtqueue_pop(q->vq));

    g_assert_cmpuint(virtqueue_elem_to_guest(q->vq, elem, 0, reply,
                                             sizeof(reply)), ==,
                     sizeof(reply));
    virtqueue_push(q->vq, elem, sizeof(reply));
    g_assert_cmpuint(tdq_used_idx(q), ==, 1);
    tdq_used_elem(q, 0, &id, &len);
    g_assert_cmpuint(id, ==, 3);
    g_assert_cmpuint(len, ==, sizeof(reply));
    tv_read(&fx.tv, IN_GPA, got, sizeof(reply));
    g_assert_cmpmem(got, sizeof(reply), reply, sizeof(reply));

    /* A second push of the same element is ignored: no longer in flight */
    virtqueue_push(q->vq, elem, 1);
    g_assert_cmpuint(tdq_used_idx(q), ==, 1);
    g_free(elem);

    virtio_notify(&fx.tv.vdev, q->vq);
    g_assert_cmpuint(fx.tv.interrupts, ==, 1);
    g_assert_cmpuint(fx.tv.last_vector, ==, 0);
    g_assert_cmphex(virtio_isr_take(&fx.tv.vdev), ==, 1);
    g_assert_cmphex(virtio_isr_take(&fx.tv.vdev), ==, 0);
    g_assert_cmphex(fx.tv.vdev.status & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    fixture_free(&fx);
}

/* A buffer across the two RAM blocks is two iovecs; zero-length
 * descriptors produce none. */
static void test_chain_across_blocks(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    VirtQueueElement *elem;
    uint8_t pattern[64], got[64];

    fixture_start(&fx, FEATURES, NUM);
    for (unsigned i = 0; i < sizeof(pattern); i++) {
        pattern[i] = i * 7;
    }
    tdq_desc(q, 0, OUT_GPA, 0, VIRTQ_DESC_F_NEXT, 1);
    tdq_desc(q, 1, TV_BLOCK_SPLIT - 16, 64, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    g_assert_cmpuint(elem->out_num, ==, 0);
    g_assert_cmpuint(elem->in_num, ==, 2);
    g_assert_cmpuint(elem->in_sg[0].iov_len, ==, 16);
    g_assert_cmpuint(elem->in_sg[1].iov_len, ==, 48);
    g_assert_cmphex(elem->in_addr[1], ==, TV_BLOCK_SPLIT);
    g_assert_cmpuint(virtqueue_elem_to_guest(q->vq, elem, 0, pattern,
                                             sizeof(pattern)), ==, 64);
    tv_read(&fx.tv, TV_BLOCK_SPLIT - 16, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), pattern, sizeof(pattern));
    virtqueue_push(q->vq, elem, 64);
    g_free(elem);
    fixture_free(&fx);
}

static void test_indirect_chain(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    VirtQueueElement *elem;
    uint32_t id, len;

    fixture_start(&fx, FEATURES, NUM);
    /* A table as long as the queue: the most the spec allows. */
    for (unsigned i = 0; i < NUM; i++) {
        bool last = i == NUM - 1;

        tdq_indirect_desc(TABLE_GPA, &fx.tv, i, i < 3 ? OUT_GPA + i * 0x100
                          : IN_GPA + i * 0x100, 0x80,
                          (i < 3 ? 0 : VIRTQ_DESC_F_WRITE) |
                          (last ? 0 : VIRTQ_DESC_F_NEXT), i + 1);
    }
    tdq_desc(q, 2, TABLE_GPA, NUM * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT,
             0);
    tdq_avail_add(q, 2);
    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    g_assert_cmpuint(elem->head, ==, 2);
    g_assert_cmpuint(elem->out_num, ==, 3);
    g_assert_cmpuint(elem->in_num, ==, NUM - 3);
    g_assert_cmpuint(elem->in_len, ==, (NUM - 3) * 0x80);
    g_assert_cmphex(elem->in_addr[0], ==, IN_GPA + 3 * 0x100);
    virtqueue_push(q->vq, elem, 0x90);
    tdq_used_elem(q, 0, &id, &len);
    g_assert_cmpuint(id, ==, 2);
    g_assert_cmpuint(len, ==, 0x90);
    g_free(elem);
    g_assert_cmphex(fx.tv.vdev.status & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    fixture_free(&fx);
}

/* Pops head, pushes it with len 1, and says whether that interrupted. */
static bool round_trip(Fixture *fx, TestDriverQueue *q, uint16_t head)
{
    VirtQueueElement *elem;
    unsigned before = fx->tv.interrupts;

    tdq_desc(q, head, IN_GPA + head * 0x10, 0x10, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, head);
    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    g_assert_cmpuint(elem->head, ==, head);
    virtqueue_push(q->vq, elem, 1);
    g_free(elem);
    virtio_notify(&fx->tv.vdev, q->vq);
    return fx->tv.interrupts != before;
}

/* ---- notification suppression ---- */

static void test_event_idx(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];

    fixture_start(&fx, FEATURES, NUM);
    /* Device -> driver: interrupt once used.idx passes used_event. */
    tdq_set_used_event(q, 0);
    g_assert_true(round_trip(&fx, q, 0));           /* used 1 */
    tdq_set_used_event(q, 2);
    g_assert_false(round_trip(&fx, q, 1));          /* used 2 */
    g_assert_true(round_trip(&fx, q, 2));           /* used 3 passes 2 */
    g_assert_false(round_trip(&fx, q, 3));          /* 4: already told */
    /* Driver -> device: after each pop avail_event is where we are. */
    g_assert_cmpuint(tdq_avail_event(q), ==, 4);

    /* Polling: avail_event is left alone while notifications are off. */
    virtqueue_set_notification(q->vq, false);
    round_trip(&fx, q, 4);
    g_assert_cmpuint(tdq_avail_event(q), ==, 4);
    tdq_desc(q, 5, IN_GPA, 0x10, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 5);
    virtqueue_set_notification(q->vq, true);
    g_assert_cmpuint(tdq_avail_event(q), ==, 6);
    /* The device must look again after enabling: there is work. */
    g_assert_false(virtqueue_empty(q->vq));
    g_assert_cmpuint(tdq_used_flags(q), ==, 0);     /* flags unused */
    fixture_free(&fx);
}

static void test_flags_suppression(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    uint64_t features = FEATURES & ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

    fixture_start(&fx, features, NUM);
    g_assert_true(round_trip(&fx, q, 0));
    tdq_avail_set_flags(q, VIRTQ_AVAIL_F_NO_INTERRUPT);
    g_assert_false(round_trip(&fx, q, 1));
    tdq_avail_set_flags(q, 0);
    g_assert_true(round_trip(&fx, q, 2));

    virtqueue_set_notification(q->vq, false);
    g_assert_cmpuint(tdq_used_flags(q), ==, VIRTQ_USED_F_NO_NOTIFY);
    virtqueue_set_notification(q->vq, true);
    g_assert_cmpuint(tdq_used_flags(q), ==, 0);
    /* Without EVENT_IDX pop does not write avail_event. */
    g_assert_cmpuint(tdq_avail_event(q), ==, 0);
    fixture_free(&fx);
}

/*
 * More than 2^16 buffers through a queue of 4: the indexes wrap, the
 * used ring slots cycle, and EVENT_IDX keeps working across the wrap
 * (an interrupt exactly every third buffer).
 */
static void test_index_wraparound(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    unsigned interrupts = 0, expected = 0;
    const unsigned total = 70000;

    fixture_start(&fx, FEATURES, 4);
    for (unsigned i = 0; i < total; i++) {
        uint16_t head = i % 4;
        uint16_t used_after = (uint16_t)(i + 1);
        uint32_t id, len;

        /* Ask for an interrupt when used.idx passes a multiple of 3. */
        if (i % 3 == 0) {
            tdq_set_used_event(q, (uint16_t)(i + 2));
        }
        interrupts += round_trip(&fx, q, head);
        expected += i == 0 || i % 3 == 2;
        g_assert_cmpuint(tdq_used_idx(q), ==, used_after);
        tdq_used_elem(q, i, &id, &len);
        g_assert_cmpuint(id, ==, head);
        g_assert_cmpuint(tdq_avail_event(q), ==, used_after);
        if (interrupts != expected) {
            g_error("buffer %u: %u interrupts, expected %u", i, interrupts,
                    expected);
        }
    }
    g_assert_cmpuint(q->vq->last_avail_idx, ==, (uint16_t)total);
    g_assert_cmphex(fx.tv.vdev.status & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    fixture_free(&fx);
}

static void test_kick(void)
{
    Fixture fx;

    tv_init(&fx.tv, FEATURES);
    /* Before DRIVER_OK a kick does nothing. */
    virtio_queue_notify(&fx.tv.vdev, 0);
    g_assert_cmpuint(fx.tv.kicks[0], ==, 0);
    tv_driver_start(&fx.tv, FEATURES, NUM, fx.q);
    virtio_queue_notify(&fx.tv.vdev, 1);
    virtio_queue_notify(&fx.tv.vdev, 1);
    virtio_queue_notify(&fx.tv.vdev, TV_QUEUES);    /* no such queue */
    virtio_queue_notify(&fx.tv.vdev, UINT32_MAX);
    g_assert_cmpuint(fx.tv.kicks[0], ==, 0);
    g_assert_cmpuint(fx.tv.kicks[1], ==, 2);
    fixture_free(&fx);
}

/* fill/flush: entries land in order, the index moves once; a length
 * past the writable bytes is clamped. */
static void test_batch(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    VirtQueueElement *e[3];
    uint32_t id, len;

    fixture_start(&fx, FEATURES, NUM);
    for (unsigned i = 0; i < 3; i++) {
        tdq_desc(q, 4 + i, IN_GPA + i * 0x100, 0x10, VIRTQ_DESC_F_WRITE, 0);
        tdq_avail_add(q, 4 + i);
        e[i] = virtqueue_pop(q->vq);
        g_assert_nonnull(e[i]);
    }
    virtqueue_fill(q->vq, e[2], 1);
    virtqueue_fill(q->vq, e[0], 0x11);
    g_assert_cmpuint(tdq_used_idx(q), ==, 0);
    virtqueue_fill(q->vq, e[1], 3);
    virtqueue_flush(q->vq);
    g_assert_cmpuint(tdq_used_idx(q), ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        static const uint32_t ids[] = { 6, 4, 5 }, lens[] = { 1, 0x10, 3 };

        tdq_used_elem(q, i, &id, &len);
        g_assert_cmpuint(id, ==, ids[i]);
        g_assert_cmpuint(len, ==, lens[i]);
        g_free(e[i]);
    }
    virtqueue_flush(q->vq);
    g_assert_cmpuint(tdq_used_idx(q), ==, 3);
    fixture_free(&fx);
}

/*
 * Mergeable receive buffers: a device pops three buffers, finds it needs
 * a fourth that is not there, and gives the three back, newest first.
 */
static void test_unpop(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    VirtQueueElement *e[3], *again;

    fixture_start(&fx, FEATURES, NUM);
    for (unsigned i = 0; i < 3; i++) {
        tdq_desc(q, i, IN_GPA + i * 0x100, 0x100, VIRTQ_DESC_F_WRITE, 0);
        tdq_avail_add(q, i);
        e[i] = virtqueue_pop(q->vq);
        g_assert_nonnull(e[i]);
    }
    g_assert_null(virtqueue_pop(q->vq));
    g_assert_cmpuint(tdq_avail_event(q), ==, 3);
    /* Only the newest goes back. */
    g_assert_false(virtqueue_unpop(q->vq, e[1]));
    g_assert_true(virtqueue_unpop(q->vq, e[2]));
    g_assert_false(virtqueue_unpop(q->vq, e[2]));
    g_assert_true(virtqueue_unpop(q->vq, e[1]));
    g_assert_cmpuint(q->vq->last_avail_idx, ==, 1);
    g_assert_cmpuint(q->vq->inflight_count, ==, 1);
    g_assert_cmpuint(tdq_avail_event(q), ==, 1);
    g_assert_false(virtqueue_empty(q->vq));
    /* Popped again, in the same order; a pushed one cannot go back. */
    for (unsigned i = 1; i < 3; i++) {
        again = virtqueue_pop(q->vq);
        g_assert_nonnull(again);
        g_assert_cmpuint(again->head, ==, i);
        g_free(e[i]);
        e[i] = again;
    }
    /* Once the newest is used, nothing before it can go back: its
     * available entry is behind one that is consumed for good. */
    virtqueue_push(q->vq, e[2], 1);
    g_assert_false(virtqueue_unpop(q->vq, e[2]));
    g_assert_false(virtqueue_unpop(q->vq, e[1]));
    g_assert_false(virtqueue_unpop(q->vq, e[0]));
    g_assert_cmpuint(q->vq->inflight_count, ==, 2);
    g_assert_cmpuint(q->vq->last_avail_idx, ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        g_free(e[i]);
    }
    g_assert_cmphex(fx.tv.vdev.status & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    fixture_free(&fx);
}

/* ---- hostile rings ---- */

typedef struct HostileCase {
    const char *name;
    void (*setup)(Fixture *fx, TestDriverQueue *q);
    const char *error;          /* a substring of the error message */
    uint64_t features;          /* 0: FEATURES */
} HostileCase;

static void h_loop(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, OUT_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    tdq_desc(q, 1, OUT_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
    tdq_avail_add(q, 0);
}

static void h_self_loop(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 4, IN_GPA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
    tdq_avail_add(q, 4);
}

static void h_next_out_of_range(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, OUT_GPA, 16, VIRTQ_DESC_F_NEXT, NUM);
    tdq_avail_add(q, 0);
}

static void h_outside_ram(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, TV_RAM_END + 0x1000, 16, 0, 0);
    tdq_avail_add(q, 0);
}

static void h_straddles_end(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, TV_RAM_END - 8, 16, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
}

static void h_wraps_64(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, UINT64_MAX - 0xfff, 0x2000, 0, 0);
    tdq_avail_add(q, 0);
}

static void h_lengths_past_4g(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, IN_GPA, 0x1000, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    tdq_desc(q, 1, IN_GPA, UINT32_MAX, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
}

static void h_write_then_read(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, IN_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    tdq_desc(q, 1, OUT_GPA, 16, 0, 0);
    tdq_avail_add(q, 0);
}

static void h_avail_jump(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, OUT_GPA, 16, 0, 0);
    tdq_avail_set_idx(q, NUM + 1);
}

static void h_avail_backwards(Fixture *fx, TestDriverQueue *q)
{
    tdq_avail_set_idx(q, UINT16_MAX);   /* -1: 65535 entries "added" */
}

static void h_head_out_of_range(Fixture *fx, TestDriverQueue *q)
{
    tdq_avail_add(q, NUM);
}

static void h_head_in_flight(Fixture *fx, TestDriverQueue *q)
{
    VirtQueueElement *elem;

    tdq_desc(q, 0, OUT_GPA, 16, 0, 0);
    tdq_avail_add(q, 0);
    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    g_free(elem);
    tdq_avail_add(q, 0);
}

static void h_indirect_table(Fixture *fx, TestDriverQueue *q, uint32_t len)
{
    tdq_desc(q, 0, TABLE_GPA, len, VIRTQ_DESC_F_INDIRECT, 0);
    tdq_avail_add(q, 0);
}

static void h_indirect_unnegotiated(Fixture *fx, TestDriverQueue *q)
{
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 0, OUT_GPA, 16, 0, 0);
    h_indirect_table(fx, q, 16);
}

static void h_indirect_nested(Fixture *fx, TestDriverQueue *q)
{
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 0, OUT_GPA, 16, VIRTQ_DESC_F_NEXT,
                      1);
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 1, TABLE_GPA, 32,
                      VIRTQ_DESC_F_INDIRECT, 0);
    h_indirect_table(fx, q, 32);
}

static void h_indirect_with_next(Fixture *fx, TestDriverQueue *q)
{
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 0, OUT_GPA, 16, 0, 0);
    tdq_desc(q, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT,
             1);
    tdq_desc(q, 1, OUT_GPA, 16, 0, 0);
    tdq_avail_add(q, 0);
}

static void h_indirect_zero(Fixture *fx, TestDriverQueue *q)
{
    h_indirect_table(fx, q, 0);
}

static void h_indirect_not_16(Fixture *fx, TestDriverQueue *q)
{
    h_indirect_table(fx, q, 24);
}

static void h_indirect_outside_ram(Fixture *fx, TestDriverQueue *q)
{
    tdq_desc(q, 0, TV_RAM_END - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    tdq_avail_add(q, 0);
}

static void h_indirect_next_out_of_range(Fixture *fx, TestDriverQueue *q)
{
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 0, OUT_GPA, 16, VIRTQ_DESC_F_NEXT,
                      2);
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 1, OUT_GPA, 16, 0, 0);
    h_indirect_table(fx, q, 32);
}

static void h_indirect_loop(Fixture *fx, TestDriverQueue *q)
{
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 0, OUT_GPA, 16, VIRTQ_DESC_F_NEXT,
                      1);
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 1, OUT_GPA, 16, VIRTQ_DESC_F_NEXT,
                      0);
    h_indirect_table(fx, q, 32);
}

/* No loop, but one descriptor more than the queue size: the cap counts
 * indirect descriptors too. */
static void h_indirect_too_long(Fixture *fx, TestDriverQueue *q)
{
    for (unsigned i = 0; i <= NUM; i++) {
        tdq_indirect_desc(TABLE_GPA, &fx->tv, i, OUT_GPA, 16,
                          i < NUM ? VIRTQ_DESC_F_NEXT : 0, i + 1);
    }
    h_indirect_table(fx, q, (NUM + 1) * VIRTQ_DESC_SIZE);
}

static void h_direct_then_indirect_loop(Fixture *fx, TestDriverQueue *q)
{
    /* Direct descriptors before the indirect one count as well. */
    for (unsigned i = 0; i < NUM - 1; i++) {
        tdq_desc(q, i, OUT_GPA, 16, VIRTQ_DESC_F_NEXT, i + 1);
    }
    tdq_desc(q, NUM - 1, TABLE_GPA, 2 * VIRTQ_DESC_SIZE,
             VIRTQ_DESC_F_INDIRECT, 0);
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 0, OUT_GPA, 16, VIRTQ_DESC_F_NEXT,
                      1);
    tdq_indirect_desc(TABLE_GPA, &fx->tv, 1, OUT_GPA, 16, 0, 0);
    tdq_avail_add(q, 0);
}

static const HostileCase hostile_cases[] = {
    { "loop", h_loop, "longer than the queue size" },
    { "self-loop", h_self_loop, "longer than the queue size" },
    { "next-out-of-range", h_next_out_of_range,
      "next 8 is past the end of the descriptor table" },
    { "outside-ram", h_outside_ram, "is not RAM" },
    { "straddles-ram-end", h_straddles_end, "buffer 0x1ffff8+0x10 is not RAM" },
    { "wraps-64-bit", h_wraps_64, "is not RAM" },
    { "lengths-past-4g", h_lengths_past_4g, "more than 4 GiB" },
    { "write-then-read", h_write_then_read,
      "device-readable after a device-writable" },
    { "avail-idx-jump", h_avail_jump, "more than the queue size 8" },
    { "avail-idx-backwards", h_avail_backwards, "from 0 to 65535" },
    { "head-out-of-range", h_head_out_of_range, "names descriptor 8 of 8" },
    { "head-in-flight", h_head_in_flight, "which the device still holds" },
    { "indirect-unnegotiated", h_indirect_unnegotiated,
      "VIRTIO_F_INDIRECT_DESC was not negotiated",
      VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) },
    { "indirect-nested", h_indirect_nested, "inside an indirect table" },
    { "indirect-with-next", h_indirect_with_next, "both INDIRECT and NEXT" },
    { "indirect-zero-length", h_indirect_zero,
      "indirect table of 0 bytes" },
    { "indirect-not-multiple-of-16", h_indirect_not_16,
      "indirect table of 24 bytes" },
    { "indirect-outside-ram", h_indirect_outside_ram,
      "is not inside one RAM block" },
    { "indirect-next-out-of-range", h_indirect_next_out_of_range,
      "past the end of the indirect table (2 entries)" },
    { "indirect-loop", h_indirect_loop, "longer than the queue size" },
    { "indirect-too-long", h_indirect_too_long, "longer than the queue size" },
    { "direct-then-indirect-too-long", h_direct_then_indirect_loop,
      "longer than the queue size" },
};

/* The device is in NEEDS_RESET for the reason named, and told the
 * driver with a configuration interrupt. */
static void assert_needs_reset(Fixture *fx, VirtQueue *vq, const char *why)
{
    VirtIODevice *vdev = &fx->tv.vdev;

    g_assert_cmphex(vdev->status & VIRTIO_STATUS_NEEDS_RESET, ==,
                    VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmphex(vdev->status & VIRTIO_STATUS_DRIVER_OK, ==,
                    VIRTIO_STATUS_DRIVER_OK);
    g_assert_true(vq->broken);
    g_assert_nonnull(vdev->error_msg);
    if (!strstr(vdev->error_msg, why)) {
        g_error("error \"%s\" does not say \"%s\"", vdev->error_msg, why);
    }
    g_assert_cmpuint(fx->tv.interrupts, ==, 1);
    g_assert_cmpuint(fx->tv.last_vector, ==, TV_CONFIG_VECTOR);
    g_assert_cmphex(virtio_isr_take(vdev) & 2, ==, 2);
    g_assert_cmpuint(vdev->config_generation, ==, 1);
}

static void test_hostile(gconstpointer data)
{
    const HostileCase *hc = data;
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    VirtQueueElement *elem;
    uint16_t used_idx;
    Error *err = NULL;

    fixture_start(&fx, hc->features ? hc->features : FEATURES, NUM);
    hc->setup(&fx, q);
    used_idx = tdq_used_idx(q);
    /* A pop that loops is the bug these cases exist for: fail, not hang. */
    test_watchdog_arm(g_test_get_path(), 30);
    g_assert_null(virtqueue_pop(q->vq));
    test_watchdog_disarm();
    assert_needs_reset(&fx, q->vq, hc->error);

    /* Stopped until reset: a good chain now is not taken, nothing is
     * written, the driver may not clear NEEDS_RESET, the other queue
     * still works. */
    tdq_desc(q, 6, OUT_GPA, 16, 0, 0);
    tdq_avail_set_idx(q, q->vq->last_avail_idx);
    tdq_avail_add(q, 6);
    g_assert_null(virtqueue_pop(q->vq));
    g_assert_true(virtqueue_empty(q->vq));
    g_assert_cmpuint(tdq_used_idx(q), ==, used_idx);
    virtio_queue_notify(&fx.tv.vdev, 0);
    g_assert_cmpuint(fx.tv.kicks[0], ==, 0);
    g_assert_false(virtio_set_status(&fx.tv.vdev, VIRTIO_STATUS_ACKNOWLEDGE,
                                     &err));
    error_free(err);
    g_assert_true(virtio_set_status(&fx.tv.vdev, fx.tv.vdev.status &
                                    ~VIRTIO_STATUS_NEEDS_RESET,
                                    &error_abort));
    g_assert_cmphex(fx.tv.vdev.status & VIRTIO_STATUS_NEEDS_RESET, ==,
                    VIRTIO_STATUS_NEEDS_RESET);
    g_assert_true(round_trip(&fx, &fx.q[1], 0));

    /* A reset and a fresh start make the queue work again. */
    tv_driver_start(&fx.tv, FEATURES, NUM, fx.q);
    g_assert_cmphex(fx.tv.vdev.status & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    tdq_desc(q, 1, IN_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 1);
    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    g_assert_cmpuint(elem->head, ==, 1);
    g_free(elem);
    fixture_free(&fx);
}

/* Rings that do not fit: refused when the driver enables the queue. */
static void test_hostile_rings(void)
{
    static const struct {
        uint64_t desc, avail, used;
        const char *error;
    } cases[] = {
        { TV_RAM_END - 0x40, 0x1000, 0x2000, "descriptor ring 0x1fffc0+0x80" },
        { 0x8, 0x1000, 0x2000, "not 16-byte aligned" },
        { 0x0, 0x1001, 0x2000, "available ring at 0x1001 is not 2-byte" },
        { 0x0, 0x1000, 0x2002, "used ring at 0x2002 is not 4-byte" },
        { 0x0, 0x1000, TV_RAM_END - 8, "used ring" },
        { 0x0, UINT64_MAX - 1, 0x2000, "available ring" },
        /* The rings straddle the two RAM blocks: not one host mapping. */
        { TV_BLOCK_SPLIT - 0x40, 0x1000, 0x2000, "not inside one RAM block" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fixture fx;
        VirtQueue *vq;

        fixture_start(&fx, FEATURES, NUM);
        g_assert_true(virtio_set_status(&fx.tv.vdev, 0, &error_abort));
        vq = virtio_queue(&fx.tv.vdev, 0);
        g_assert_true(virtio_queue_set_num(vq, NUM, &error_abort));
        g_assert_true(virtio_queue_set_rings(vq, cases[i].desc,
                                             cases[i].avail, cases[i].used,
                                             &error_abort));
        virtio_queue_enable(vq);
        g_assert_true(vq->broken);
        g_assert_cmphex(fx.tv.vdev.status, ==, VIRTIO_STATUS_NEEDS_RESET);
        if (!strstr(fx.tv.vdev.error_msg, cases[i].error)) {
            g_error("case %zu: error \"%s\" does not say \"%s\"", i,
                    fx.tv.vdev.error_msg, cases[i].error);
        }
        /* Before DRIVER_OK: no interrupt, but a new generation. */
        g_assert_cmpuint(fx.tv.interrupts, ==, 0);
        g_assert_null(virtqueue_pop(vq));
        fixture_free(&fx);
    }
}

/* A push from before a reset must not land in the new rings. */
static void test_stale_element(void)
{
    Fixture fx;
    TestDriverQueue *q = &fx.q[0];
    VirtQueueElement *elem;

    fixture_start(&fx, FEATURES, NUM);
    tdq_desc(q, 0, IN_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    tv_driver_start(&fx.tv, FEATURES, NUM, fx.q);
    g_assert_cmpuint(fx.tv.resets, >=, 1);
    tdq_desc(q, 0, IN_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
    g_free(virtqueue_pop(q->vq));       /* head 0 in flight again */
    virtqueue_push(q->vq, elem, 4);
    g_assert_cmpuint(tdq_used_idx(q), ==, 0);
    g_free(elem);
    fixture_free(&fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio/ring/simple-chain", test_simple_chain);
    g_test_add_func("/virtio/ring/chain-across-blocks",
                    test_chain_across_blocks);
    g_test_add_func("/virtio/ring/indirect-chain", test_indirect_chain);
    g_test_add_func("/virtio/ring/event-idx", test_event_idx);
    g_test_add_func("/virtio/ring/flags-suppression",
                    test_flags_suppression);
    g_test_add_func("/virtio/ring/index-wraparound", test_index_wraparound);
    g_test_add_func("/virtio/ring/kick", test_kick);
    g_test_add_func("/virtio/ring/stale-element", test_stale_element);
    g_test_add_func("/virtio/ring/unpop", test_unpop);
    g_test_add_func("/virtio/ring/batch", test_batch);
    g_test_add_func("/virtio/ring/hostile/rings", test_hostile_rings);
    for (size_t i = 0; i < G_N_ELEMENTS(hostile_cases); i++) {
        g_autofree char *path = g_strdup_printf("/virtio/ring/hostile/%s",
                                                hostile_cases[i].name);
        g_test_add_data_func(path, &hostile_cases[i], test_hostile);
    }
    return g_test_run();
}
