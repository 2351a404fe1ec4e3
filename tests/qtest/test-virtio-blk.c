/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk-pci on the real binary under -accel qtest: the test is the
 * guest's driver (libqvirtio-pci.c) on a raw file given with -drive and a
 * qcow2 image made by qemu-img given with -blockdev. It negotiates
 * features, reads the configuration, and sends requests as chains of
 * several descriptors: GET_ID, WRITE then READ, FLUSH, DISCARD and
 * WRITE_ZEROES, requests past the end; completions are seen as MSI-X
 * writes into guest RAM or as "IRQ raise N" on the intercepted ioapic.
 * After Tandem exits, qemu-img checks the image and the bytes the guest
 * wrote are compared with what the test expects. On the same binary:
 * query-block, query-blockstats, block_resize (capacity and the
 * configuration-change interrupt) and HMP info block.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include "os-util.h"
#include "libqtest.h"
#include "libqvirtio-pci.h"
#include "qemu-img-util.h"

#define BLK_DEVFN           (4 << 3)        /* addr=4 */
#define VQ_GPA              0x100000ULL
#define HDR_GPA             0x200000ULL
#define STATUS_GPA          0x201000ULL
#define DATA_GPA            0x210000ULL     /* device reads it */
#define RDATA_GPA           0x220000ULL     /* device writes it */
#define INDIRECT_GPA        0x202000ULL     /* an indirect table */
#define MSI_GPA             0x300000ULL     /* vector v writes at + 4v */
#define MSI_DATA(v)         (0x6b6b0000u + (v))
#define DISK_SIZE           (1024 * 1024)
#define SECTOR              512
#define SERIAL              "TANDEM-SERIAL-0001"
#define STATUS_UNSET        0xa5

#define F(bit)              (1ULL << (bit))
#define BLK_FEATURES        (F(VIRTIO_F_VERSION_1) | F(VIRTIO_BLK_F_SEG_MAX) | \
                             F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_FLUSH) | \
                             F(VIRTIO_BLK_F_DISCARD) | \
                             F(VIRTIO_BLK_F_WRITE_ZEROES))
#define CFG(field)          offsetof(struct virtio_blk_config, field)

typedef struct BlkRig {
    QTestState *s;
    char *image;
    bool qcow2;
    bool msix;
    unsigned line;              /* INTx: the ioapic pin */
    QVirtioPci d;
    QVirtQueue vq;              /* queue 0, vector 0 */
    QVirtQueue vq1;             /* num-queues=2: queue 1, vector 2 */
    bool on_q1;                 /* blk_req() uses vq1 */
    bool indirect;              /* blk_req() sends indirect tables */
    uint8_t *expect;            /* what the disk must hold at the end */
    uint64_t size;              /* of expect */
} BlkRig;

static uint8_t pattern(uint64_t i, unsigned seed)
{
    return (uint8_t)(i * 13 + seed + (i >> 9));
}

static json_object *find_by(json_object *list, const char *key,
                            const char *value);
static int64_t stat_of(json_object *stats, const char *name);

/* The image (raw with a pattern, or an empty qcow2 from qemu-img) and
 * Tandem on it, dev_opts added to the device's; the driver is not
 * started. */
static void rig_start(BlkRig *r, bool qcow2, bool msix, const char *dev_opts)
{
    g_autofree char *out = NULL;

    memset(r, 0, sizeof(*r));
    r->qcow2 = qcow2;
    r->msix = msix;
    r->expect = g_malloc0(DISK_SIZE);
    r->size = DISK_SIZE;
    if (qcow2) {
        r->image = qtest_scratch_path("disk.qcow2");
        g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' %u",
                                    r->image, DISK_SIZE), ==, 0);
        r->s = qtest_initf_accel_qtest(
            "-blockdev driver=qcow2,node-name=d0,file.driver=file,"
            "file.filename=%s "
            "-device virtio-blk-pci,drive=d0,id=vd0,addr=4,serial=%s%s%s",
            r->image, SERIAL, msix ? "" : ",vectors=0",
            dev_opts ? dev_opts : "");
    } else {
        r->image = qtest_scratch_path("disk.raw");
        for (uint64_t i = 0; i < DISK_SIZE; i++) {
            r->expect[i] = pattern(i, 1);
        }
        g_assert_true(g_file_set_contents(r->image, (char *)r->expect,
                                          DISK_SIZE, NULL));
        r->s = qtest_initf_accel_qtest(
            "-drive if=none,id=drive0,file=%s,format=raw "
            "-device virtio-blk-pci,drive=drive0,id=vd0,addr=4,serial=%s%s%s",
            r->image, SERIAL, msix ? "" : ",vectors=0",
            dev_opts ? dev_opts : "");
    }
}

/* Features, vectors, queue 0, DRIVER_OK. */
static void driver_start(BlkRig *r, uint64_t features)
{
    QVirtioPci *d = &r->d;

    if (!r->msix) {
        r->line = qpci_cfg_read(r->s, BLK_DEVFN, PCI_INTERRUPT_LINE, 1);
        qtest_irq_intercept_in(r->s, "ioapic");
    }
    qvp_init(d, r->s, BLK_DEVFN);
    g_assert_true(qvp_negotiate(d, features));
    if (r->msix) {
        g_assert_cmpuint(d->msix_cap, !=, 0);
        for (unsigned v = 0; v < 2; v++) {
            qvp_msix_set_entry(d, v, MSI_GPA + 4 * v, MSI_DATA(v));
        }
        qvp_msix_enable(d);
    } else {
        g_assert_cmpuint(d->msix_cap, ==, 0);
    }
    qvp_set_config_vector(d, r->msix ? 1 : QVP_NO_VECTOR);
    qvp_queue_setup(d, &r->vq, 0, 16, VQ_GPA, r->msix ? 0 : QVP_NO_VECTOR);
    qvp_driver_ok(d);
}

static void rig_quit(BlkRig *r)
{
    g_assert_cmpint(qtest_quit(r->s), ==, 0);
    r->s = NULL;
}

static void rig_free(BlkRig *r)
{
    g_free(r->image);
    g_free(r->expect);
}

/*
 * One request: header, data in two descriptors (when there is data),
 * status. Waits for it to be used and checks that the interrupt came;
 * returns the status byte.
 */
static uint8_t blk_req(BlkRig *r, uint32_t type, uint64_t sector,
                       uint64_t data, uint32_t len, bool device_writes)
{
    QTestState *s = r->s;
    QVirtQueue *q = r->on_q1 ? &r->vq1 : &r->vq;
    unsigned vector = r->on_q1 ? 2 : 0;
    QVirtBuf bufs[4];
    unsigned n = 0;
    uint16_t used = qvq_used_idx(q), head;
    uint32_t id, used_len;

    qtest_writel(s, HDR_GPA, type);
    qtest_writel(s, HDR_GPA + 4, 0);
    qtest_writeq(s, HDR_GPA + 8, sector);
    qtest_writeb(s, STATUS_GPA, STATUS_UNSET);
    bufs[n++] = (QVirtBuf) { HDR_GPA, 16, false };
    if (len > 1) {
        /* Split unevenly, so the device must walk the chain. */
        uint32_t first = len > SECTOR ? SECTOR : 1;

        bufs[n++] = (QVirtBuf) { data, first, device_writes };
        bufs[n++] = (QVirtBuf) { data + first, len - first, device_writes };
    } else if (len) {
        bufs[n++] = (QVirtBuf) { data, len, device_writes };
    }
    bufs[n++] = (QVirtBuf) { STATUS_GPA, 1, true };
    if (r->msix) {
        qtest_writel(s, MSI_GPA, 0);
        qtest_writel(s, MSI_GPA + 8, 0);
    } else {
        g_assert_false(qtest_get_irq(s, r->line));
    }
    head = r->indirect ? qvq_add_indirect(q, INDIRECT_GPA, bufs, n)
                       : qvq_add_chain(q, bufs, n);
    qvq_kick(q);
    g_assert_true(qvq_wait_used(q, used + 1, qtest_timeout_ms()));
    qvq_used_elem(q, used, &id, &used_len);
    g_assert_cmpuint(id, ==, head);
    /* The device reports what it may have written: data in and status. */
    g_assert_cmpuint(used_len, ==, 1 + (device_writes ? len : 0));
    if (r->msix) {
        /* The queue's own vector, and not the other queue's. */
        g_assert_cmphex(qtest_readl(s, MSI_GPA + 4 * vector), ==,
                        MSI_DATA(vector));
        g_assert_cmphex(qtest_readl(s, MSI_GPA + 4 * (2 - vector)), ==, 0);
    } else {
        g_assert_true(qtest_get_irq(s, r->line));
        g_assert_cmphex(qvp_isr(&r->d) & 1, ==, 1);
        g_assert_false(qtest_get_irq(s, r->line));
    }
    return qtest_readb(s, STATUS_GPA);
}

static void blk_write(BlkRig *r, uint64_t sector, uint32_t len,
                      unsigned seed)
{
    g_autofree uint8_t *buf = g_malloc(len);

    for (uint32_t i = 0; i < len; i++) {
        buf[i] = pattern(i, seed);
    }
    qtest_bufwrite(r->s, DATA_GPA, buf, len);
    g_assert_cmpuint(blk_req(r, VIRTIO_BLK_T_OUT, sector, DATA_GPA, len,
                             false), ==, VIRTIO_BLK_S_OK);
    memcpy(r->expect + sector * SECTOR, buf, len);
}

/* Reads and compares with what the disk must hold. */
static void blk_read_check(BlkRig *r, uint64_t sector, uint32_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    qtest_memset(r->s, RDATA_GPA, 0xee, len);
    g_assert_cmpuint(blk_req(r, VIRTIO_BLK_T_IN, sector, RDATA_GPA, len,
                             true), ==, VIRTIO_BLK_S_OK);
    qtest_bufread(r->s, RDATA_GPA, buf, len);
    g_assert_cmpmem(buf, len, r->expect + sector * SECTOR, len);
}

/* DISCARD / WRITE_ZEROES: one segment. */
static uint8_t blk_dwz(BlkRig *r, uint32_t type, uint64_t sector,
                       uint32_t num, uint32_t flags)
{
    qtest_writeq(r->s, DATA_GPA, sector);
    qtest_writel(r->s, DATA_GPA + 8, num);
    qtest_writel(r->s, DATA_GPA + 12, flags);
    /* 16 bytes: blk_req splits them as 1 + 15, still one segment. */
    return blk_req(r, type, 0, DATA_GPA, 16, false);
}

static void check_config(BlkRig *r, uint64_t size, uint16_t queues)
{
    QVirtioPci *d = &r->d;

    g_assert_cmpuint(qvp_config_readq(d, CFG(capacity)), ==, size / SECTOR);
    g_assert_cmpuint(qvp_config_readl(d, CFG(blk_size)), ==, SECTOR);
    /* queue-size 256: two descriptors go to header and status. */
    g_assert_cmpuint(qvp_config_readl(d, CFG(seg_max)), ==, 254);
    g_assert_cmpuint(qvp_config_readw(d, CFG(num_queues)), ==, queues);
    g_assert_cmpuint(qvp_config_readl(d, CFG(max_discard_seg)), ==, 1);
    g_assert_cmpuint(qvp_config_readl(d, CFG(max_write_zeroes_seg)), ==, 1);
}

/* The requests every disk gets; returns with Tandem still running. */
static void blk_io_suite(BlkRig *r)
{
    uint64_t cap;
    char id[VIRTIO_BLK_ID_BYTES + 4];

    /* GET_ID: the serial, NUL-padded to 20 bytes. */
    qtest_memset(r->s, RDATA_GPA, 0xee, VIRTIO_BLK_ID_BYTES);
    g_assert_cmpuint(blk_req(r, VIRTIO_BLK_T_GET_ID, 0, RDATA_GPA,
                             VIRTIO_BLK_ID_BYTES, true), ==, VIRTIO_BLK_S_OK);
    memset(id, 0, sizeof(id));
    qtest_memread(r->s, RDATA_GPA, id, VIRTIO_BLK_ID_BYTES);
    g_assert_cmpstr(id, ==, SERIAL);
    g_assert_cmpuint(id[VIRTIO_BLK_ID_BYTES - 1], ==, 0);

    /* What is there before the guest writes: the pattern, or zeroes. */
    blk_read_check(r, 0, 4096);

    /* WRITE, then READ it back; an unaligned-to-cluster spot too. */
    blk_write(r, 16, 8192, 2);
    blk_read_check(r, 16, 8192);
    blk_write(r, 1001, SECTOR, 3);
    blk_read_check(r, 1000, 3 * SECTOR);

    g_assert_cmpuint(blk_req(r, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), ==,
                     VIRTIO_BLK_S_OK);

    /* WRITE_ZEROES over part of what was written, then read. */
    g_assert_cmpuint(blk_dwz(r, VIRTIO_BLK_T_WRITE_ZEROES, 18, 2, 0), ==,
                     VIRTIO_BLK_S_OK);
    memset(r->expect + 18 * SECTOR, 0, 2 * SECTOR);
    blk_read_check(r, 16, 8192);
    /* DISCARD: accepted; without discard=unmap the data stays, so the
     * expectation is unchanged (and checked in the file at the end). */
    g_assert_cmpuint(blk_dwz(r, VIRTIO_BLK_T_DISCARD, 64, 8, 0), ==,
                     VIRTIO_BLK_S_OK);
    /* A discard may not carry the unmap flag (virtio 1.x 5.2.6.2). */
    g_assert_cmpuint(blk_dwz(r, VIRTIO_BLK_T_DISCARD, 64, 8,
                             VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), ==,
                     VIRTIO_BLK_S_UNSUPP);

    /* Past the end: IOERR, nothing written. */
    cap = qvp_config_readq(&r->d, CFG(capacity));
    g_assert_cmpuint(blk_req(r, VIRTIO_BLK_T_IN, cap - 1, RDATA_GPA,
                             2 * SECTOR, true), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_req(r, VIRTIO_BLK_T_OUT, cap, DATA_GPA, SECTOR,
                             false), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(blk_dwz(r, VIRTIO_BLK_T_WRITE_ZEROES, cap - 1, 2, 0),
                     ==, VIRTIO_BLK_S_IOERR);
    /* An unknown type. */
    g_assert_cmpuint(blk_req(r, 0x99, 0, RDATA_GPA, SECTOR, true), ==,
                     VIRTIO_BLK_S_UNSUPP);
    /* The last sector itself is fine. */
    blk_write(r, cap - 1, SECTOR, 4);
    blk_read_check(r, cap - 1, SECTOR);
}

/* After Tandem exited: the image is clean and holds r->expect. */
static void check_image(BlkRig *r)
{
    g_autofree char *out = NULL;
    g_autofree char *contents = NULL;
    gsize len;

    if (r->qcow2) {
        g_autofree char *expect = qtest_scratch_path("expect.raw");

        bt_qemu_img_check(r->image);
        g_assert_true(g_file_set_contents(expect, (char *)r->expect,
                                          r->size, NULL));
        if (bt_qemu_img(&out, "compare -f qcow2 -F raw '%s' '%s'", r->image,
                        expect) != 0) {
            g_error("qemu-img compare: %s", out);
        }
        return;
    }
    g_assert_true(g_file_get_contents(r->image, &contents, &len, NULL));
    g_assert_cmpmem(contents, len, r->expect, r->size);
}

/* block_resize to twice the size; the driver must be told. */
static void grow(BlkRig *r, const char *how)
{
    uint8_t gen = qvp_config_generation(&r->d);

    /* With MSI-X nobody reads the ISR: the queue's bit is still set. */
    qvp_isr(&r->d);
    if (r->msix) {
        qtest_writel(r->s, MSI_GPA + 4, 0);
    }
    qtest_qmp_ok(r->s, "{'execute': 'block_resize', 'arguments': "
                 "{%s, 'size': %" G_GUINT64_FORMAT "}}", how, 2 * r->size);
    /* A qtest command: the IRQ lines Tandem sent meanwhile are read. */
    g_assert_cmpuint(qvp_config_generation(&r->d), !=, gen);
    if (r->msix) {
        g_assert_cmphex(qtest_readl(r->s, MSI_GPA + 4), ==, MSI_DATA(1));
    } else {
        g_assert_true(qtest_get_irq(r->s, r->line));
    }
    /* ISR bit 1: a configuration change (and no queue interrupt). */
    g_assert_cmphex(qvp_isr(&r->d), ==, 2);
    if (!r->msix) {
        g_assert_false(qtest_get_irq(r->s, r->line));
    }
    g_assert_cmpuint(qvp_config_readq(&r->d, CFG(capacity)), ==,
                     2 * r->size / SECTOR);
    r->expect = g_realloc(r->expect, 2 * r->size);
    memset(r->expect + r->size, 0, r->size);
    r->size *= 2;
}

static void test_features_config(void)
{
    BlkRig r;
    uint64_t f;

    rig_start(&r, false, true, NULL);
    qvp_init(&r.d, r.s, BLK_DEVFN);
    g_assert_cmphex(qpci_cfg_read(r.s, BLK_DEVFN, PCI_VENDOR_ID, 4), ==,
                    0x10421af4);
    f = qvp_device_features(&r.d);
    g_assert_cmphex(f & BLK_FEATURES, ==, BLK_FEATURES);
    g_assert_cmphex(f & F(VIRTIO_BLK_F_RO), ==, 0);
    g_assert_cmphex(f & F(VIRTIO_BLK_F_MQ), ==, 0);
    check_config(&r, DISK_SIZE, 1);
    /* A feature the device did not offer: FEATURES_OK does not stick. */
    g_assert_false(qvp_negotiate(&r.d, BLK_FEATURES | F(VIRTIO_BLK_F_RO)));
    g_assert_true(qvp_negotiate(&r.d, BLK_FEATURES));
    rig_quit(&r);
    rig_free(&r);

    /* Two queues: MQ offered and num_queues says so. */
    rig_start(&r, false, true, ",num-queues=2");
    qvp_init(&r.d, r.s, BLK_DEVFN);
    g_assert_cmphex(qvp_device_features(&r.d) & F(VIRTIO_BLK_F_MQ), !=, 0);
    check_config(&r, DISK_SIZE, 2);
    rig_quit(&r);
    rig_free(&r);
}

static void test_raw_msix(void)
{
    BlkRig r;

    rig_start(&r, false, true, NULL);
    driver_start(&r, BLK_FEATURES);
    check_config(&r, DISK_SIZE, 1);
    blk_io_suite(&r);
    rig_quit(&r);
    check_image(&r);
    rig_free(&r);
}

static void blockdev_listed(BlkRig *r)
{
    json_object *res, *e;
    g_autofree char *info = NULL;

    res = qtest_qmp_assert_success(r->s, "{'execute': 'query-block'}");
    g_assert_cmpuint(json_object_array_length(res), ==, 1);
    e = json_object_array_get_idx(res, 0);
    g_assert_cmpstr(qt_json_str(e, "device"), ==, "");
    g_assert_cmpstr(qt_json_str(e, "qdev"), ==,
                    "/machine/peripheral/vd0/virtio-backend");
    g_assert_cmpstr(qt_json_str(qt_json_get(e, "inserted"), "node-name"), ==,
                    "d0");
    g_assert_cmpstr(qt_json_str(qt_json_get(e, "inserted"), "drv"), ==,
                    "qcow2");
    json_object_put(res);
    res = qtest_qmp_assert_success(r->s, "{'execute': 'query-blockstats'}");
    e = find_by(res, "qdev", "/machine/peripheral/vd0/virtio-backend");
    g_assert_nonnull(e);
    g_assert_cmpstr(qt_json_str(e, "node-name"), ==, "d0");
    /* blk_io_suite's three writes and a write-zeroes (a write, as in
     * QEMU's accounting). */
    g_assert_cmpint(stat_of(qt_json_get(e, "stats"), "wr_operations"), ==,
                    4);
    json_object_put(res);
    info = qtest_hmp(r->s, "info block");
    g_assert_true(g_str_has_prefix(info, "d0: "));
    g_assert_nonnull(strstr(info, "Attached to:      "
                            "/machine/peripheral/vd0/virtio-backend"));
}

static void test_qcow2_intx(void)
{
    BlkRig r;

    if (!bt_have_qemu_img()) {
        g_test_skip("qemu-img is not installed");
        return;
    }
    rig_start(&r, true, false, NULL);
    driver_start(&r, BLK_FEATURES);
    check_config(&r, DISK_SIZE, 1);
    blk_io_suite(&r);
    /* A device on a -blockdev node is listed, as by QEMU: no drive name,
     * the device's path, the node. */
    blockdev_listed(&r);
    /* Grown by its node name; the last sector is new ground. */
    grow(&r, "'node-name': 'd0'");
    blk_write(&r, r.size / SECTOR - 1, SECTOR, 8);
    blk_read_check(&r, DISK_SIZE / SECTOR - 1, 2 * SECTOR);
    rig_quit(&r);
    check_image(&r);
    rig_free(&r);
}

/* num-queues=2: both queues serve requests, each with its vector. */
static void test_multiqueue(void)
{
    BlkRig r;
    QVirtioPci *d = &r.d;

    rig_start(&r, false, true, ",num-queues=2");
    qvp_init(d, r.s, BLK_DEVFN);
    g_assert_true(qvp_negotiate(d, BLK_FEATURES | F(VIRTIO_BLK_F_MQ)));
    for (unsigned v = 0; v < 3; v++) {
        qvp_msix_set_entry(d, v, MSI_GPA + 4 * v, MSI_DATA(v));
    }
    qvp_msix_enable(d);
    qvp_set_config_vector(d, 1);
    qvp_queue_setup(d, &r.vq, 0, 16, VQ_GPA, 0);
    qvp_queue_setup(d, &r.vq1, 1, 16, VQ_GPA + 0x4000, 2);
    qvp_driver_ok(d);

    /* Written through one queue, read through the other. */
    r.on_q1 = true;
    blk_write(&r, 40, 4096, 10);
    r.on_q1 = false;
    blk_read_check(&r, 40, 4096);
    blk_write(&r, 200, 2 * SECTOR, 11);
    r.on_q1 = true;
    blk_read_check(&r, 199, 4 * SECTOR);
    g_assert_cmpuint(blk_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(qvq_used_idx(&r.vq), ==, 2);
    g_assert_cmpuint(qvq_used_idx(&r.vq1), ==, 3);
    rig_quit(&r);
    check_image(&r);
    rig_free(&r);
}

/* VIRTIO_F_INDIRECT_DESC: the same requests through indirect tables. */
static void test_indirect(void)
{
    BlkRig r;

    rig_start(&r, false, true, NULL);
    qvp_init(&r.d, r.s, BLK_DEVFN);
    g_assert_cmphex(qvp_device_features(&r.d) &
                    F(VIRTIO_RING_F_INDIRECT_DESC), !=, 0);
    driver_start(&r, BLK_FEATURES | F(VIRTIO_RING_F_INDIRECT_DESC));
    r.indirect = true;
    blk_write(&r, 24, 4096, 14);
    blk_read_check(&r, 20, 8192);
    g_assert_cmpuint(blk_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, 25, 1, 0), ==,
                     VIRTIO_BLK_S_OK);
    memset(r.expect + 25 * SECTOR, 0, SECTOR);
    blk_read_check(&r, 24, 4096);
    rig_quit(&r);
    check_image(&r);
    rig_free(&r);
}

/* system_reset: the device forgets its driver, which starts again. */
static void test_reset(void)
{
    BlkRig r;

    rig_start(&r, false, true, NULL);
    driver_start(&r, BLK_FEATURES);
    blk_write(&r, 8, 4096, 12);
    qtest_qmp_ok(r.s, "{'execute': 'system_reset'}");
    json_object_put(qtest_qmp_eventwait(r.s, "RESET"));
    qvp_init(&r.d, r.s, BLK_DEVFN);
    g_assert_cmphex(qvp_status(&r.d), ==, 0);
    driver_start(&r, BLK_FEATURES);
    blk_read_check(&r, 8, 4096);
    blk_write(&r, 16, 4096, 13);
    rig_quit(&r);
    check_image(&r);
    rig_free(&r);
}

/* Without DISCARD / WRITE_ZEROES negotiated, both are UNSUPP. */
static void test_dwz_not_negotiated(void)
{
    BlkRig r;

    rig_start(&r, false, true, NULL);
    driver_start(&r, BLK_FEATURES & ~(F(VIRTIO_BLK_F_DISCARD) |
                                      F(VIRTIO_BLK_F_WRITE_ZEROES)));
    g_assert_cmpuint(blk_dwz(&r, VIRTIO_BLK_T_WRITE_ZEROES, 0, 2, 0), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(blk_dwz(&r, VIRTIO_BLK_T_DISCARD, 0, 2, 0), ==,
                     VIRTIO_BLK_S_UNSUPP);
    blk_read_check(&r, 0, 2 * SECTOR);
    rig_quit(&r);
    check_image(&r);
    rig_free(&r);
}

/* ---- the block QMP surface on the same binary ---- */

static json_object *find_by(json_object *list, const char *key,
                            const char *value)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);

        if (!g_strcmp0(qt_json_str(e, key), value)) {
            return e;
        }
    }
    return NULL;
}

static int64_t stat_of(json_object *stats, const char *name)
{
    json_object *v = qt_json_get(stats, name);

    g_assert_nonnull(v);
    return json_object_get_int64(v);
}

static json_object *drive0_stats(QTestState *s)
{
    json_object *r = qtest_qmp_assert_success(s,
                                              "{'execute': 'query-blockstats'}");
    json_object *e = find_by(r, "device", "drive0");

    g_assert_nonnull(e);
    g_assert_cmpstr(qt_json_str(e, "qdev"), ==,
                    "/machine/peripheral/vd0/virtio-backend");
    e = json_object_get(qt_json_get(e, "stats"));
    json_object_put(r);
    g_assert_nonnull(e);
    return e;
}

static void test_qmp(void)
{
    BlkRig r;
    json_object *res, *e, *st;
    g_autofree char *info = NULL;
    uint8_t gen;

    rig_start(&r, false, true, NULL);
    /* query-block: the drive, its image, and the device on it. */
    res = qtest_qmp_assert_success(r.s, "{'execute': 'query-block'}");
    e = find_by(res, "device", "drive0");
    g_assert_nonnull(e);
    g_assert_cmpstr(qt_json_str(e, "qdev"), ==,
                    "/machine/peripheral/vd0/virtio-backend");
    g_assert_cmpstr(qt_json_str(qt_json_get(e, "inserted"), "file"), ==,
                    r.image);
    g_assert_cmpstr(qt_json_str(qt_json_get(e, "inserted"), "drv"), ==,
                    "raw");
    json_object_put(res);
    info = qtest_hmp(r.s, "info block");
    g_assert_nonnull(strstr(info, "drive0"));
    g_assert_nonnull(strstr(info, r.image));
    g_assert_nonnull(strstr(info, "/machine/peripheral/vd0/virtio-backend"));

    /* query-blockstats counts what the guest does. */
    driver_start(&r, BLK_FEATURES);
    st = drive0_stats(r.s);
    g_assert_cmpint(stat_of(st, "wr_operations"), ==, 0);
    json_object_put(st);
    blk_write(&r, 8, 2 * SECTOR, 5);
    blk_write(&r, 100, SECTOR, 6);
    blk_read_check(&r, 8, 4 * SECTOR);
    g_assert_cmpuint(blk_req(&r, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_dwz(&r, VIRTIO_BLK_T_DISCARD, 64, 8, 0), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(blk_req(&r, VIRTIO_BLK_T_IN, DISK_SIZE / SECTOR,
                             RDATA_GPA, SECTOR, true), ==,
                     VIRTIO_BLK_S_IOERR);
    st = drive0_stats(r.s);
    g_assert_cmpint(stat_of(st, "wr_operations"), ==, 2);
    g_assert_cmpint(stat_of(st, "wr_bytes"), ==, 3 * SECTOR);
    g_assert_cmpint(stat_of(st, "rd_operations"), ==, 1);
    g_assert_cmpint(stat_of(st, "rd_bytes"), ==, 4 * SECTOR);
    g_assert_cmpint(stat_of(st, "flush_operations"), ==, 1);
    g_assert_cmpint(stat_of(st, "unmap_operations"), ==, 1);
    g_assert_cmpint(stat_of(st, "unmap_bytes"), ==, 8 * SECTOR);
    g_assert_cmpint(stat_of(st, "invalid_rd_operations"), ==, 1);
    g_assert_cmpint(stat_of(st, "wr_highest_offset"), ==, 101 * SECTOR);
    json_object_put(st);

    /* block_resize: the capacity follows, and the driver is told by a
     * configuration-change interrupt (vector 1) with a new generation. */
    grow(&r, "'device': 'drive0'");
    /* The new space is the guest's. */
    blk_write(&r, 2 * DISK_SIZE / SECTOR - 4, 4 * SECTOR, 7);
    blk_read_check(&r, DISK_SIZE / SECTOR - 2, 8 * SECTOR);
    /* Resizing to the same size changes nothing the driver sees. */
    gen = qvp_config_generation(&r.d);
    qtest_writel(r.s, MSI_GPA + 4, 0);
    qtest_qmp_ok(r.s, "{'execute': 'block_resize', 'arguments': "
                 "{'device': 'drive0', 'size': %d}}", 2 * DISK_SIZE);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, 0);
    g_assert_cmpuint(qvp_config_generation(&r.d), ==, gen);
    rig_quit(&r);
    check_image(&r);
    rig_free(&r);
}

/* ---- werror=stop on a full disk ---- */

static char *tmpfs_dir;         /* NULL: no private tmpfs here */
static char *tmpfs_why;

/* A small tmpfs in a private mount namespace, made before Tandem starts
 * (it inherits the namespace): writes to it can really fail. */
static void tmpfs_setup(void)
{
    tmpfs_dir = test_private_tmpfs("test-qtest-virtio-blk", "256k", &tmpfs_why);
}

static void tmpfs_teardown(void)
{
    test_private_tmpfs_remove(tmpfs_dir);
}

/* Fills the tmpfs with path until no page is left. */
static void fill_up(const char *path)
{
    g_autofree uint8_t *buf = g_malloc0(4096);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ssize_t n;

    g_assert_cmpint(fd, >=, 0);
    do {
        n = write(fd, buf, 4096);
    } while (n > 0);
    g_assert_cmpint(errno, ==, ENOSPC);
    close(fd);
}

/*
 * A guest write that meets ENOSPC under werror=stop: BLOCK_IO_ERROR, the
 * VM stops (io-error), the request is not answered; space is freed,
 * cont: the request runs again, is answered OK, and its data is in the
 * file.
 */
static void test_werror_stop(void)
{
    g_autofree char *img = NULL, *filler = NULL, *contents = NULL;
    g_autofree uint8_t *buf = g_malloc(4096);
    BlkRig r;
    json_object *ev, *data;
    QVirtBuf bufs[3];
    uint16_t used;
    gsize len;
    int fd;

    if (!tmpfs_dir) {
        g_test_skip(tmpfs_why);
        return;
    }
    img = g_build_filename(tmpfs_dir, "disk.img", NULL);
    filler = g_build_filename(tmpfs_dir, "filler", NULL);
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, DISK_SIZE), ==, 0);     /* sparse */
    close(fd);
    fill_up(filler);

    memset(&r, 0, sizeof(r));
    r.msix = true;
    r.s = qtest_initf_accel_qtest(
        "-drive if=none,id=drive0,file=%s,format=raw "
        "-device virtio-blk-pci,drive=drive0,id=vd0,addr=4,werror=stop",
        img);
    driver_start(&r, BLK_FEATURES);
    for (unsigned i = 0; i < 4096; i++) {
        buf[i] = pattern(i, 9);
    }
    qtest_bufwrite(r.s, DATA_GPA, buf, 4096);
    qtest_writel(r.s, HDR_GPA, VIRTIO_BLK_T_OUT);
    qtest_writel(r.s, HDR_GPA + 4, 0);
    qtest_writeq(r.s, HDR_GPA + 8, 64);
    qtest_writeb(r.s, STATUS_GPA, STATUS_UNSET);
    bufs[0] = (QVirtBuf) { HDR_GPA, 16, false };
    bufs[1] = (QVirtBuf) { DATA_GPA, 4096, false };
    bufs[2] = (QVirtBuf) { STATUS_GPA, 1, true };
    used = qvq_used_idx(&r.vq);
    qvq_add_chain(&r.vq, bufs, 3);
    qvq_kick(&r.vq);

    ev = qtest_qmp_eventwait(r.s, "BLOCK_IO_ERROR");
    data = qt_json_get(ev, "data");
    g_assert_cmpstr(qt_json_str(data, "device"), ==, "drive0");
    g_assert_cmpstr(qt_json_str(data, "operation"), ==, "write");
    g_assert_cmpstr(qt_json_str(data, "action"), ==, "stop");
    g_assert_true(json_object_get_boolean(qt_json_get(data, "nospace")));
    json_object_put(ev);
    json_object_put(qtest_qmp_eventwait(r.s, "STOP"));
    g_assert_cmpstr(qtest_runstate(r.s, NULL), ==, "io-error");
    /* Kept, not answered. */
    g_assert_cmpuint(qvq_used_idx(&r.vq), ==, used);
    g_assert_cmphex(qtest_readb(r.s, STATUS_GPA), ==, STATUS_UNSET);

    /* Room again; cont submits it again. */
    g_assert_cmpint(unlink(filler), ==, 0);
    qtest_qmp_ok(r.s, "{'execute': 'cont'}");
    json_object_put(qtest_qmp_eventwait(r.s, "RESUME"));
    g_assert_true(qvq_wait_used(&r.vq, used + 1, qtest_timeout_ms()));
    g_assert_cmphex(qtest_readb(r.s, STATUS_GPA), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpstr(qtest_runstate(r.s, NULL), ==, "running");
    rig_quit(&r);
    g_assert_true(g_file_get_contents(img, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, DISK_SIZE);
    g_assert_cmpmem(contents + 64 * SECTOR, 4096, buf, 4096);
    unlink(img);
}

/* query-block names the device as QEMU does whether it has an id or
 * not: the QOM path of its virtio backend, anonymous devices numbered in
 * creation order. */
static void test_qdev_paths(void)
{
    static const char *const want[][2] = {
        { "n0", "/machine/peripheral-anon/device[0]/virtio-backend" },
        { "n1", "/machine/peripheral/named/virtio-backend" },
        { "n2", "/machine/peripheral-anon/device[1]/virtio-backend" },
    };
    QTestState *s = qtest_init_accel_qtest(
        "-blockdev null-co,node-name=n0 -device virtio-blk-pci,drive=n0 "
        "-blockdev null-co,node-name=n1 "
        "-device virtio-blk-pci,drive=n1,id=named "
        "-blockdev null-co,node-name=n2 -device virtio-blk-pci,drive=n2");
    json_object *res;

    res = qtest_qmp_assert_success(s, "{'execute': 'query-block'}");
    g_assert_cmpuint(json_object_array_length(res), ==, G_N_ELEMENTS(want));
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        json_object *e = find_by(res, "qdev", want[i][1]);

        g_assert_nonnull(e);
        g_assert_cmpstr(qt_json_str(qt_json_get(e, "inserted"),
                                    "node-name"), ==, want[i][0]);
    }
    json_object_put(res);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    /* Before any thread or Tandem: the namespace is the whole process's. */
    tmpfs_setup();
    g_test_add_func("/virtio-blk/features-config", test_features_config);
    g_test_add_func("/virtio-blk/raw-msix", test_raw_msix);
    g_test_add_func("/virtio-blk/qcow2-intx", test_qcow2_intx);
    g_test_add_func("/virtio-blk/qmp", test_qmp);
    g_test_add_func("/virtio-blk/multiqueue", test_multiqueue);
    g_test_add_func("/virtio-blk/reset", test_reset);
    g_test_add_func("/virtio-blk/indirect", test_indirect);
    g_test_add_func("/virtio-blk/dwz-not-negotiated",
                    test_dwz_not_negotiated);
    g_test_add_func("/virtio-blk/werror-stop", test_werror_stop);
    g_test_add_func("/virtio-blk/qdev-paths", test_qdev_paths);
    ret = g_test_run();
    tmpfs_teardown();
    return ret;
}
