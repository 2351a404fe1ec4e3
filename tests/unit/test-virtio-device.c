/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the virtio device core (hw/virtio/virtio.c), no KVM: the
 * status state machine and its refusals, feature negotiation, the
 * configuration space, migration of the core with buffers in flight
 * (through the real savevm framing and RAM migration, and hostile device
 * sections), and the proof of the dirty rule: what the device writes into
 * guest RAM is in the dirty bitmap and goes out in the next RAM pass.
 */
#include <inttypes.h>
#include <string.h>
#include <glib.h>
#include "virtio-test-driver.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "migration/savevm.h"

#define FEATURES    (VIRTIO_BIT(VIRTIO_F_VERSION_1) |                  \
                     VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |                  \
                     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))
#define NUM         8
#define S_ACK       VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV       (S_ACK | VIRTIO_STATUS_DRIVER)
#define S_FOK       (S_DRV | VIRTIO_STATUS_FEATURES_OK)
#define S_DOK       (S_FOK | VIRTIO_STATUS_DRIVER_OK)
#define PAGE        GUEST_PAGE_SIZE

static void expect_refused(VirtIODevice *vdev, uint8_t status,
                           uint8_t after, const char *why)
{
    Error *err = NULL;

    g_assert_false(virtio_set_status(vdev, status, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), why)) {
        g_error("status 0x%02x: error \"%s\" does not say \"%s\"", status,
                error_get_pretty(err), why);
    }
    error_free(err);
    g_assert_cmphex(vdev->status, ==, after);
}

/* ---- status ---- */

static void test_status_machine(void)
{
    TestVirtio tv;
    VirtIODevice *vdev = &tv.vdev;

    tv_init(&tv, FEATURES);
    g_assert_cmphex(vdev->status, ==, 0);
    /* Steps cannot be skipped. */
    expect_refused(vdev, VIRTIO_STATUS_DRIVER, 0, "DRIVER without "
                   "ACKNOWLEDGE");
    expect_refused(vdev, S_ACK | VIRTIO_STATUS_FEATURES_OK, 0,
                   "FEATURES_OK without DRIVER");
    expect_refused(vdev, S_DRV | VIRTIO_STATUS_DRIVER_OK, 0,
                   "DRIVER_OK without FEATURES_OK");
    expect_refused(vdev, 0x10, 0, "reserved bits 0x10");
    g_assert_true(virtio_set_status(vdev, S_ACK, &error_abort));
    g_assert_true(virtio_set_status(vdev, S_ACK, &error_abort));
    g_assert_true(virtio_set_status(vdev, S_DRV, &error_abort));
    /* Bits are never cleared but by reset. */
    expect_refused(vdev, S_ACK, S_DRV, "clears 0x02");
    g_assert_true(virtio_set_driver_features(vdev, 1, 1, &error_abort));
    g_assert_true(virtio_set_status(vdev, S_FOK, &error_abort));
    g_assert_true(virtio_set_status(vdev, S_DOK, &error_abort));
    expect_refused(vdev, S_DOK | 0x20, S_DOK, "reserved bits 0x20");
    /* The driver can neither set NEEDS_RESET nor clear it. */
    g_assert_true(virtio_set_status(vdev, S_DOK | VIRTIO_STATUS_NEEDS_RESET,
                                    &error_abort));
    g_assert_cmphex(vdev->status, ==, S_DOK);
    virtio_error(vdev, NULL, "test error");
    g_assert_cmphex(vdev->status, ==, S_DOK | VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmpuint(tv.interrupts, ==, 1);
    g_assert_true(virtio_set_status(vdev, S_DOK, &error_abort));
    g_assert_cmphex(vdev->status, ==, S_DOK | VIRTIO_STATUS_NEEDS_RESET);
    /* FAILED: from any state, and nothing after it but reset. */
    g_assert_true(virtio_set_status(vdev, S_DOK | VIRTIO_STATUS_FAILED,
                                    &error_abort));
    expect_refused(vdev, S_DOK | VIRTIO_STATUS_FAILED | 0x10,
                   S_DOK | VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET,
                   "after FAILED");
    g_assert_true(virtio_set_status(vdev, 0, &error_abort));
    g_assert_cmphex(vdev->status, ==, 0);
    g_assert_cmphex(vdev->guest_features, ==, 0);
    g_assert_cmpuint(tv.resets, ==, 1);
    g_assert_true(virtio_set_status(vdev, VIRTIO_STATUS_FAILED,
                                    &error_abort));
    expect_refused(vdev, VIRTIO_STATUS_FAILED | S_ACK, VIRTIO_STATUS_FAILED,
                   "after FAILED");
    tv_free(&tv);
}

/* ---- features ---- */

/* Driver features from status 0 to FEATURES_OK; returns the status. */
static uint8_t negotiate(TestVirtio *tv, uint64_t features, Error **errp)
{
    VirtIODevice *vdev = &tv->vdev;

    g_assert_true(virtio_set_status(vdev, 0, &error_abort));
    g_assert_true(virtio_set_status(vdev, S_DRV, &error_abort));
    g_assert_true(virtio_set_driver_features(vdev, 0, features,
                                             &error_abort));
    g_assert_true(virtio_set_driver_features(vdev, 1, features >> 32,
                                             &error_abort));
    virtio_set_status(vdev, S_FOK, errp);
    return vdev->status;
}

static void test_features(void)
{
    TestVirtio tv;
    VirtIODevice *vdev = &tv.vdev;
    Error *err = NULL;

    tv_init(&tv, VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | 0x5);
    /* VERSION_1 is always offered; device words past 1 read 0. */
    g_assert_cmphex(virtio_device_features(vdev, 0), ==,
                    VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | 0x5);
    g_assert_cmphex(virtio_device_features(vdev, 1), ==, 1);
    g_assert_cmphex(virtio_device_features(vdev, 2), ==, 0);

    /* Outside the window between DRIVER and FEATURES_OK: refused. */
    g_assert_false(virtio_set_driver_features(vdev, 0, 1, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "status 0x00"));
    g_clear_pointer(&err, error_free);

    g_assert_cmphex(negotiate(&tv, 0x5, &err), ==, S_DRV);
    g_assert_nonnull(strstr(error_get_pretty(err), "VIRTIO_F_VERSION_1"));
    g_clear_pointer(&err, error_free);

    g_assert_cmphex(negotiate(&tv, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                              VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), &err),
                    ==, S_DRV);
    g_assert_nonnull(strstr(error_get_pretty(err), "features 0x10000000 "
                            "that the device does not offer"));
    g_clear_pointer(&err, error_free);

    tv.refuse_features = true;
    g_assert_cmphex(negotiate(&tv, VIRTIO_BIT(VIRTIO_F_VERSION_1), &err),
                    ==, S_DRV);
    g_assert_nonnull(strstr(error_get_pretty(err), "test device refuses"));
    g_clear_pointer(&err, error_free);
    tv.refuse_features = false;

    /* DRIVER_OK in the same write as a refused FEATURES_OK: dropped. */
    g_assert_true(virtio_set_status(vdev, 0, &error_abort));
    g_assert_true(virtio_set_status(vdev, S_DRV, &error_abort));
    g_assert_false(virtio_set_status(vdev, S_DOK, &err));
    g_clear_pointer(&err, error_free);
    g_assert_cmphex(vdev->status, ==, S_DRV);

    g_assert_cmphex(negotiate(&tv, VIRTIO_BIT(VIRTIO_F_VERSION_1) | 0x4 |
                              VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
                              &error_abort), ==, S_FOK);
    g_assert_true(virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX));
    g_assert_false(virtio_has_feature(vdev, 0));
    g_assert_false(virtio_has_feature(vdev, 200));
    g_assert_cmphex(virtio_driver_features(vdev, 1), ==, 1);
    /* Frozen after FEATURES_OK. */
    g_assert_false(virtio_set_driver_features(vdev, 0, 0, &err));
    g_clear_pointer(&err, error_free);
    g_assert_cmphex(virtio_driver_features(vdev, 0), ==,
                    0x4 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    tv_free(&tv);
}

/* ---- configuration space and queue set-up ---- */

static void test_config(void)
{
    TestVirtio tv;
    TestDriverQueue q[TV_QUEUES];
    VirtIODevice *vdev = &tv.vdev;
    uint8_t buf[TV_CONFIG_LEN + 1] = { 0 };
    Error *err = NULL;

    tv_init(&tv, FEATURES);
    g_assert_true(virtio_config_read(vdev, 0, buf, TV_CONFIG_LEN,
                                     &error_abort));
    g_assert_cmphex(buf[0], ==, 0xa5);
    g_assert_false(virtio_config_read(vdev, 4, buf, 5, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "past its 8 bytes"));
    g_clear_pointer(&err, error_free);
    g_assert_false(virtio_config_read(vdev, UINT32_MAX, buf, 2, &err));
    g_clear_pointer(&err, error_free);
    buf[0] = 1;
    buf[1] = 2;
    g_assert_true(virtio_config_write(vdev, 0, buf, 2, &error_abort));
    g_assert_cmphex(vdev->config[0], ==, 0xa5);     /* the device's say */
    g_assert_cmphex(vdev->config[1], ==, 2);
    g_assert_false(virtio_config_write(vdev, 8, buf, 1, &err));
    g_clear_pointer(&err, error_free);

    /* Config changes interrupt only once the driver is ready. */
    virtio_config_changed(vdev);
    g_assert_cmpuint(vdev->config_generation, ==, 1);
    g_assert_cmpuint(tv.interrupts, ==, 0);
    tv_driver_start(&tv, FEATURES, NUM, q);
    virtio_config_changed(vdev);
    g_assert_cmpuint(vdev->config_generation, ==, 2);
    g_assert_cmpuint(tv.interrupts, ==, 1);
    g_assert_cmpuint(tv.last_vector, ==, TV_CONFIG_VECTOR);
    g_assert_cmphex(virtio_isr_take(vdev), ==, 2);

    /* Queue configuration is frozen while the queue is enabled. */
    g_assert_false(virtio_queue_set_num(q[0].vq, 4, &err));
    g_clear_pointer(&err, error_free);
    g_assert_false(virtio_queue_set_rings(q[0].vq, 0, 0, 0, &err));
    g_clear_pointer(&err, error_free);
    g_assert_cmphex(q[0].vq->desc_addr, ==, TV_RING_GPA(0));
    g_assert_true(virtio_set_status(vdev, 0, &error_abort));
    g_assert_false(q[0].vq->enabled);
    g_assert_cmpuint(q[0].vq->num, ==, TV_QUEUE_MAX);
    g_assert_cmpuint(q[0].vq->vector, ==, VIRTIO_NO_VECTOR);
    for (unsigned bad = 0; bad <= TV_QUEUE_MAX * 2; bad += 3) {
        g_assert_false(virtio_queue_set_num(q[0].vq, bad, &err));
        g_clear_pointer(&err, error_free);
    }
    g_assert_true(virtio_queue_set_num(q[0].vq, 1, &error_abort));
    g_assert_null(virtio_queue(vdev, TV_QUEUES));
    tv_free(&tv);
}

/* ---- migration ---- */

/* RAM plus the virtio core, as a machine would register them. */
typedef struct Side {
    TestVirtio tv;
    SaveVMState *s;
} Side;

static const VMStateDescription vmstate_test_virtio = {
    .name = "virtio-test",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(vdev, TestVirtio, vmstate_virtio_device,
                       VirtIODevice),
        VMSTATE_END_OF_LIST()
    },
};

static void side_init(Side *side)
{
    tv_init(&side->tv, FEATURES);
    side->s = savevm_state_new();
    g_assert_true(ram_migration_register(side->s, &side->tv.mem, NULL,
                                         &error_abort));
    g_assert_true(savevm_register(side->s, "virtio-test", 0,
                                  &vmstate_test_virtio, &side->tv,
                                  &error_abort));
}

static void side_free(Side *side)
{
    ram_migration_unregister(side->s);
    savevm_state_free(side->s);
    tv_free(&side->tv);
}

static void migrate(Side *src, Side *dst)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) in = NULL;
    const uint8_t *data;
    size_t len;
    bool done = false;
    Error *err = NULL;

    savevm_state_header(f);
    g_assert_true(savevm_state_setup(src->s, f, &error_abort));
    while (!done) {
        g_assert_true(savevm_state_iterate(src->s, f, &done, &error_abort));
    }
    g_assert_true(savevm_state_complete(src->s, f, &error_abort));
    savevm_state_cleanup(src->s);
    data = qemu_file_mem_output_data(f, &len);
    in = qemu_file_new_mem_input(data, len, 0);
    if (!loadvm_state(dst->s, in, &err)) {
        g_error("load: %s", error_get_pretty(err));
    }
}

static VirtQueueElement *add_and_pop(TestDriverQueue *q, uint16_t head)
{
    VirtQueueElement *elem;

    tdq_desc(q, head, TV_DATA_GPA + head * PAGE, 64, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, head);
    elem = virtqueue_pop(q->vq);
    g_assert_nonnull(elem);
    g_assert_cmpuint(elem->head, ==, head);
    return elem;
}

/*
 * The migration rule: buffers popped and not used on the source are
 * handed out again on the destination, in the source's pop order, before
 * any new buffer; everything used stays used; the indexes carry on.
 */
static void test_migrate_inflight(void)
{
    Side src, dst;
    TestDriverQueue q[TV_QUEUES], dq[TV_QUEUES];
    VirtQueueElement *e[4], *r, *stale;
    uint32_t id, len;

    side_init(&src);
    side_init(&dst);
    /* The destination held an element before the load (a COLO
     * secondary between checkpoints does). */
    tv_driver_start(&dst.tv, FEATURES, NUM, dq);
    stale = add_and_pop(&dq[0], 5);
    tv_driver_start(&src.tv, FEATURES, NUM, q);
    /* Four buffers; the device uses the second only. */
    e[0] = add_and_pop(&q[0], 5);
    e[1] = add_and_pop(&q[0], 2);
    e[2] = add_and_pop(&q[0], 7);
    e[3] = add_and_pop(&q[0], 0);
    virtqueue_push(q[0].vq, e[1], 3);
    /* Queue 1: a buffer the driver added but the device did not pop. */
    tdq_desc(&q[1], 4, TV_DATA_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(&q[1], 4);

    migrate(&src, &dst);
    memcpy(dq, q, sizeof(q));
    for (unsigned i = 0; i < TV_QUEUES; i++) {
        dq[i].tv = &dst.tv;
        dq[i].mem = &dst.tv.mem;
        dq[i].vq = virtio_queue(&dst.tv.vdev, i);
    }
    g_assert_cmphex(dst.tv.vdev.status, ==, S_DOK);
    g_assert_cmphex(dst.tv.vdev.guest_features, ==, FEATURES);
    g_assert_cmpuint(dq[0].vq->last_avail_idx, ==, 4);
    g_assert_cmpuint(dq[0].vq->used_idx, ==, 1);
    g_assert_cmpuint(dq[0].vq->inflight_count, ==, 3);

    /* What the destination held before the load is stale now, even
     * with a head that is in flight again. */
    virtqueue_push(dq[0].vq, stale, 1);
    g_assert_cmpuint(tdq_used_idx(&dq[0]), ==, 1);
    g_free(stale);

    /* In flight: 5, 7, 0 in pop order, then the new entry 3. A
     * redelivered element given back comes out again next. */
    tdq_desc(&dq[0], 3, TV_DATA_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(&dq[0], 3);
    r = virtqueue_pop(dq[0].vq);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->head, ==, 5);
    g_assert_true(virtqueue_unpop(dq[0].vq, r));
    g_assert_cmpuint(dq[0].vq->inflight_count, ==, 3);
    g_free(r);
    for (unsigned i = 0; i < 4; i++) {
        static const uint16_t order[] = { 5, 7, 0, 3 };

        r = virtqueue_pop(dq[0].vq);
        g_assert_nonnull(r);
        g_assert_cmpuint(r->head, ==, order[i]);
        g_assert_cmpuint(r->in_len, ==, i < 3 ? 64 : 16);
        virtqueue_push(dq[0].vq, r, 10 + i);
        tdq_used_elem(&dq[0], 1 + i, &id, &len);
        g_assert_cmpuint(id, ==, order[i]);
        g_assert_cmpuint(len, ==, 10 + i);
        g_free(r);
    }
    g_assert_null(virtqueue_pop(dq[0].vq));
    g_assert_cmpuint(tdq_used_idx(&dq[0]), ==, 5);
    g_assert_cmpuint(dq[0].vq->inflight_count, ==, 0);
    r = virtqueue_pop(dq[1].vq);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->head, ==, 4);
    g_free(r);

    for (unsigned i = 0; i < 4; i++) {
        g_free(e[i]);
    }
    side_free(&src);
    side_free(&dst);
}

/* Saves src's device section alone (vmstate_save, no framing). */
static QEMUFile *save_device(TestVirtio *tv)
{
    QEMUFile *f = qemu_file_new_mem_output();

    g_assert_true(vmstate_save(f, &vmstate_test_virtio, tv, NULL,
                               &error_abort));
    return f;
}

static void expect_load_error(QEMUFile *out, const char *why)
{
    TestVirtio dst;
    size_t len;
    const uint8_t *data = qemu_file_mem_output_data(out, &len);
    g_autoptr(QEMUFile) in = qemu_file_new_mem_input(data, len, 0);
    Error *err = NULL;

    tv_init(&dst, FEATURES & ~VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
    g_assert_false(vmstate_load(in, &vmstate_test_virtio, &dst, 1, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), why)) {
        g_error("load error \"%s\" does not say \"%s\"",
                error_get_pretty(err), why);
    }
    error_free(err);
    tv_free(&dst);
}

/* Offset of queue 0's in-flight list in a saved device section:
 * status 1, features 8, isr 1, generation 1, config vector 2, queue
 * count 4; then the queue: num 2, enabled 1, addresses 24, vector 2,
 * indexes 6, valid/broken/notification 3, list length 4. */
#define INFLIGHT_OFF    (17 + 42)

static void test_migrate_hostile(void)
{
    TestVirtio src;
    TestDriverQueue q[TV_QUEUES];
    VirtQueueElement *e[2];
    QEMUFile *f;
    uint8_t *data;
    size_t len;

    tv_init(&src, FEATURES);
    tv_driver_start(&src, VIRTIO_BIT(VIRTIO_F_VERSION_1), NUM, q);
    e[0] = add_and_pop(&q[0], 1);
    e[1] = add_and_pop(&q[0], 6);

    /* The section is good as it is (and the offsets below hold). */
    f = save_device(&src);
    data = (uint8_t *)qemu_file_mem_output_data(f, &len);
    g_assert_cmpuint(data[INFLIGHT_OFF - 1], ==, 4);
    g_assert_cmpuint(data[INFLIGHT_OFF + 1], ==, 1);
    g_assert_cmpuint(data[INFLIGHT_OFF + 3], ==, 6);
    {
        TestVirtio dst;
        g_autoptr(QEMUFile) in = qemu_file_new_mem_input(data, len, 0);

        tv_init(&dst, FEATURES);
        g_assert_true(vmstate_load(in, &vmstate_test_virtio, &dst, 1,
                                   &error_abort));
        tv_free(&dst);
    }
    /* The same head twice. */
    data[INFLIGHT_OFF + 3] = 1;
    expect_load_error(f, "in-flight head 1 appears twice");
    /* A head past the queue. */
    data[INFLIGHT_OFF + 3] = NUM;
    expect_load_error(f, "in-flight head 8 is past the queue size 8");
    qemu_fclose(f);

    /* Indexes that disagree with the list. */
    src.vdev.vq[0].last_avail_idx++;
    f = save_device(&src);
    expect_load_error(f, "2 buffers in flight, but last_avail_idx 3 and "
                      "used_idx 0 say 3");
    qemu_fclose(f);
    src.vdev.vq[0].last_avail_idx--;

    /* A queue size that is not a power of two. */
    src.vdev.vq[0].num = 6;
    f = save_device(&src);
    expect_load_error(f, "size 6 is not a power of two");
    qemu_fclose(f);
    src.vdev.vq[0].num = NUM;

    /* Rings outside RAM. */
    src.vdev.vq[1].used_addr = TV_RAM_END;
    f = save_device(&src);
    expect_load_error(f, "queue 1: used ring 0x200000");
    qemu_fclose(f);
    src.vdev.vq[1].used_addr = q[1].used;

    /* Features the destination does not offer (it has no INDIRECT). */
    src.vdev.guest_features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    f = save_device(&src);
    expect_load_error(f, "features 0x10000000 that this device does not "
                      "offer");
    qemu_fclose(f);
    src.vdev.guest_features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

    /* A status the machine cannot reach. */
    src.vdev.status = VIRTIO_STATUS_DRIVER_OK | S_DRV;
    f = save_device(&src);
    expect_load_error(f, "DRIVER_OK without FEATURES_OK");
    qemu_fclose(f);
    src.vdev.status = S_DOK;

    /* Used entries filled and not flushed cannot be saved. */
    virtqueue_fill(&src.vdev.vq[0], e[0], 1);
    f = qemu_file_new_mem_output();
    {
        Error *err = NULL;

        g_assert_false(vmstate_save(f, &vmstate_test_virtio, &src, NULL,
                                    &err));
        g_assert_nonnull(strstr(error_get_pretty(err), "queue 0 has 1 used "
                                "entries not flushed"));
        error_free(err);
    }
    qemu_fclose(f);
    virtqueue_flush(&src.vdev.vq[0]);

    /* More queues than the destination has. */
    virtio_add_queue(&src.vdev, NUM, NULL);
    f = save_device(&src);
    expect_load_error(f, "queue 2 does not exist on this device");
    qemu_fclose(f);

    g_free(e[0]);
    g_free(e[1]);
    tv_free(&src);
}

/* ---- the dirty rule ---- */

/*
 * A device write lands in RamBlock.dirty, the bitmap RAM migration and
 * COLO harvest (migration/ram.c, ram_dirty_sync): exactly the pages of
 * the bytes written, the used ring's page, and nothing else.
 */
static void test_dirty_bitmap(void)
{
    TestVirtio tv;
    TestDriverQueue q[TV_QUEUES];
    VirtQueueElement *elem;
    const uint64_t buf = 0x60000;
    bool dirty;

    tv_init(&tv, FEATURES);
    tv_driver_start(&tv, FEATURES, NUM, q);
    /* Out 16 bytes, then a 3-page in buffer. */
    tdq_desc(&q[0], 0, buf - 0x100, 16, VIRTQ_DESC_F_NEXT, 1);
    tdq_desc(&q[0], 1, buf, 3 * PAGE, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(&q[0], 0);
    tv_take_dirty(&tv, 0, NULL);        /* forget the driver's writes */

    elem = virtqueue_pop(q[0].vq);
    g_assert_nonnull(elem);
    /* EVENT_IDX: pop wrote avail_event, in the used ring's page. */
    g_assert_cmpuint(tv_take_dirty(&tv, q[0].used, &dirty), ==, 1);
    g_assert_true(dirty);

    /* Zero-copy: the device writes through the iovec, then pushes. */
    memset(elem->in_sg[0].iov_base, 0x5a, PAGE + 1);
    virtqueue_push(q[0].vq, elem, PAGE + 1);
    g_assert_cmpuint(tv_take_dirty(&tv, buf, &dirty), ==, 3);
    g_assert_true(dirty);
    tdq_desc(&q[0], 1, buf, 3 * PAGE, VIRTQ_DESC_F_WRITE, 0);
    tv_take_dirty(&tv, 0, NULL);
    g_free(elem);

    /* Copying: to_guest marks at once, even if never pushed. */
    tdq_avail_add(&q[0], 0);
    elem = virtqueue_pop(q[0].vq);
    g_assert_nonnull(elem);
    tv_take_dirty(&tv, 0, NULL);
    g_assert_cmpuint(virtqueue_elem_to_guest(q[0].vq, elem, 2 * PAGE, "x",
                                             1), ==, 1);
    g_assert_cmpuint(tv_take_dirty(&tv, buf + 2 * PAGE, &dirty), ==, 1);
    g_assert_true(dirty);
    /* Reading the driver's data dirties nothing. */
    {
        char out[16];

        g_assert_cmpuint(virtqueue_elem_from_guest(elem, 0, out,
                                                   sizeof(out)), ==, 16);
    }
    g_assert_cmpuint(tv_take_dirty(&tv, 0, NULL), ==, 0);
    /* Giving it back rewrites avail_event: the used ring's page. */
    g_assert_true(virtqueue_unpop(q[0].vq, elem));
    g_assert_cmpuint(tv_take_dirty(&tv, q[0].used, &dirty), ==, 1);
    g_assert_true(dirty);
    g_free(elem);

    /* Without EVENT_IDX, switching notifications writes used.flags. */
    tv_driver_start(&tv, VIRTIO_BIT(VIRTIO_F_VERSION_1), NUM, q);
    tv_take_dirty(&tv, 0, NULL);
    virtqueue_set_notification(q[1].vq, false);
    g_assert_cmpuint(tv_take_dirty(&tv, q[1].used, &dirty), ==, 1);
    g_assert_true(dirty);
    tv_free(&tv);
}

/*
 * The same through RAM migration itself: after the full pass the device
 * pushes a buffer; the final pass sends exactly the pages it wrote (data
 * and used ring), and the destination has the bytes.
 */
static void test_dirty_migration(void)
{
    Side src, dst;
    TestDriverQueue q[TV_QUEUES];
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) in = NULL;
    const RamMigrationStats *st;
    VirtQueueElement *elem;
    const uint64_t buf = 0x80000;
    uint8_t got[2 * PAGE], want[2 * PAGE];
    const uint8_t *data;
    uint64_t sent;
    size_t len;
    bool done = false;

    side_init(&src);
    side_init(&dst);
    tv_driver_start(&src.tv, FEATURES & ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
                    NUM, q);
    tdq_desc(&q[0], 0, buf, 3 * PAGE, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(&q[0], 0);
    ram_migration_stats_reset(src.s);
    st = ram_migration_stats(src.s);

    savevm_state_header(f);
    g_assert_true(savevm_state_setup(src.s, f, &error_abort));
    while (!done) {
        g_assert_true(savevm_state_iterate(src.s, f, &done, &error_abort));
    }
    sent = st->normal + st->duplicate;
    g_assert_cmpuint(sent, ==, TV_RAM_END / PAGE);

    /* The device (no EVENT_IDX: pop writes nothing). */
    elem = virtqueue_pop(q[0].vq);
    g_assert_nonnull(elem);
    for (size_t i = 0; i < sizeof(want); i++) {
        want[i] = i % 251 + 1;
    }
    memcpy(elem->in_sg[0].iov_base, want, PAGE + 16);
    virtqueue_push(q[0].vq, elem, PAGE + 16);
    g_free(elem);

    /* The final pass (vCPUs would be paused) harvests and sends them. */
    g_assert_true(savevm_state_complete(src.s, f, &error_abort));
    g_test_message("final pass: %" G_GUINT64_FORMAT " pages",
                   st->normal + st->duplicate - sent);
    g_assert_cmpuint(st->normal + st->duplicate - sent, ==, 3);
    savevm_state_cleanup(src.s);

    data = qemu_file_mem_output_data(f, &len);
    in = qemu_file_new_mem_input(data, len, 0);
    g_assert_true(loadvm_state(dst.s, in, &error_abort));
    tv_read(&dst.tv, buf, got, PAGE + 16);
    g_assert_cmpmem(got, PAGE + 16, want, PAGE + 16);
    g_assert_cmpuint(tdq_used_idx(&(TestDriverQueue){ .tv = &dst.tv,
                                                      .mem = &dst.tv.mem,
                                                      .used = q[0].used }),
                     ==, 1);
    side_free(&src);
    side_free(&dst);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio/device/status-machine", test_status_machine);
    g_test_add_func("/virtio/device/features", test_features);
    g_test_add_func("/virtio/device/config", test_config);
    g_test_add_func("/virtio/device/migrate-inflight",
                    test_migrate_inflight);
    g_test_add_func("/virtio/device/migrate-hostile", test_migrate_hostile);
    g_test_add_func("/virtio/device/dirty-bitmap", test_dirty_bitmap);
    g_test_add_func("/virtio/device/dirty-migration", test_dirty_migration);
    return g_test_run();
}
