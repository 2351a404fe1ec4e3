/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mirror jobs on the real binary under -accel qtest, with the test as the
 * guest's virtio-blk driver (libqvirtio-pci.c) writing while the copy
 * runs:
 * - storage migration as libvirt's --copy-storage-all does it: a second
 *   Tandem (the destination) exports its disk with nbd-server-start and
 *   block-export-add; the source adds an nbd node on it, blockdev-mirror,
 *   block-job-complete; the destination's file must then hold every
 *   byte the guest wrote, before, during and after the switch;
 * - the destination dying mid-copy: BLOCK_JOB_ERROR and a failed job,
 *   the guest's disk still working;
 * - the COLO resync step: drive-mirror to an NBD URI, stop, cancel;
 * - drive-mirror to a new qcow2 with auto-finalize and auto-dismiss off,
 *   driven by the job-* and block-job-* verbs (qemu-img check and
 *   compare on the result);
 * - cancels: a ready mirror without force (completed, no switch) and
 *   job-cancel (cancelled).
 * In-process tests of the same code: tests/unit/test-block-job.c.
 */
#include <string.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include "libqtest.h"
#include "libqvirtio-pci.h"
#include "qemu-img-util.h"

#define BLK_DEVFN       (4 << 3)        /* addr=4 */
#define VQ_GPA          0x100000ULL
#define HDR_GPA         0x200000ULL
#define STATUS_GPA      0x201000ULL
#define DATA_GPA        0x210000ULL
#define DISK_SIZE       (4 * 1024 * 1024)
#define SECTOR          512
#define F(bit)          (1ULL << (bit))

/* A disk under test: the Tandem running it, its driver, what it holds. */
typedef struct Disk {
    QTestState *s;
    QVirtioPci d;
    QVirtQueue vq;
    uint8_t *expect;
} Disk;

static uint8_t pattern(uint64_t i, unsigned seed)
{
    return (uint8_t)(i * 29 + seed * 7 + (i >> 10));
}

static void disk_driver_start(Disk *k)
{
    qvp_init(&k->d, k->s, BLK_DEVFN);
    g_assert_true(qvp_negotiate(&k->d, F(VIRTIO_F_VERSION_1) |
                                       F(VIRTIO_BLK_F_FLUSH)));
    qvp_queue_setup(&k->d, &k->vq, 0, 16, VQ_GPA, QVP_NO_VECTOR);
    qvp_driver_ok(&k->d);
}

/* One request (header, data, status); returns the status byte. */
static uint8_t disk_req(Disk *k, uint32_t type, uint64_t sector,
                        uint32_t len, bool device_writes)
{
    QVirtBuf bufs[3];
    unsigned n = 0;
    uint16_t used = qvq_used_idx(&k->vq);

    qtest_writel(k->s, HDR_GPA, type);
    qtest_writel(k->s, HDR_GPA + 4, 0);
    qtest_writeq(k->s, HDR_GPA + 8, sector);
    qtest_writeb(k->s, STATUS_GPA, 0xa5);
    bufs[n++] = (QVirtBuf) { HDR_GPA, 16, false };
    if (len) {
        bufs[n++] = (QVirtBuf) { DATA_GPA, len, device_writes };
    }
    bufs[n++] = (QVirtBuf) { STATUS_GPA, 1, true };
    qvq_add_chain(&k->vq, bufs, n);
    qvq_kick(&k->vq);
    g_assert_true(qvq_wait_used(&k->vq, used + 1, qtest_timeout_ms()));
    qvp_isr(&k->d);     /* lowers INTx */
    return qtest_readb(k->s, STATUS_GPA);
}

static void disk_write(Disk *k, uint64_t sector, uint32_t len,
                       unsigned seed)
{
    g_autofree uint8_t *buf = g_malloc(len);

    for (uint32_t i = 0; i < len; i++) {
        buf[i] = pattern(i, seed);
    }
    qtest_bufwrite(k->s, DATA_GPA, buf, len);
    g_assert_cmpuint(disk_req(k, VIRTIO_BLK_T_OUT, sector, len, false), ==,
                     VIRTIO_BLK_S_OK);
    memcpy(k->expect + sector * SECTOR, buf, len);
}

static void disk_read_check(Disk *k, uint64_t sector, uint32_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);

    qtest_memset(k->s, DATA_GPA, 0xee, len);
    g_assert_cmpuint(disk_req(k, VIRTIO_BLK_T_IN, sector, len, true), ==,
                     VIRTIO_BLK_S_OK);
    qtest_bufread(k->s, DATA_GPA, buf, len);
    g_assert_cmpmem(buf, len, k->expect + sector * SECTOR, len);
}

/* A few scattered writes, seeded by round. */
static void disk_write_round(Disk *k, unsigned round)
{
    for (unsigned i = 0; i < 4; i++) {
        uint64_t sector = ((round * 4 + i) * 997) % (DISK_SIZE / SECTOR - 16);

        disk_write(k, sector, 8 * SECTOR, round * 4 + i);
    }
}

/* A raw image holding the pattern of seed (0: zeroes), and its bytes. */
static char *make_raw(const char *name, unsigned seed, uint8_t **bytes)
{
    char *path = qtest_scratch_path(name);
    uint8_t *buf = g_malloc0(DISK_SIZE);

    for (uint64_t i = 0; seed && i < DISK_SIZE; i++) {
        buf[i] = pattern(i, seed);
    }
    g_assert_true(g_file_set_contents(path, (char *)buf, DISK_SIZE, NULL));
    if (bytes) {
        *bytes = buf;
    } else {
        g_free(buf);
    }
    return path;
}

static void check_file(const char *path, const uint8_t *want)
{
    g_autofree char *data = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, ==, DISK_SIZE);
    for (gsize i = 0; i < len; i++) {
        if ((uint8_t)data[i] != want[i]) {
            g_error("%s: byte %zu is 0x%02x, want 0x%02x", path, i,
                    (uint8_t)data[i], want[i]);
        }
    }
}

/* The status query-jobs shows for id ("(none)" once it is gone). */
static char *job_status(QTestState *s, const char *id)
{
    json_object *r = qtest_qmp_assert_success(s,
        "{'execute': 'query-jobs'}");
    char *st = g_strdup("(none)");

    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *j = json_object_array_get_idx(r, i);

        if (!strcmp(qt_json_str(j, "id"), id)) {
            g_free(st);
            st = g_strdup(qt_json_str(j, "status"));
        }
    }
    json_object_put(r);
    return st;
}

static void wait_job_status(QTestState *s, const char *id, const char *want)
{
    int64_t end = g_get_monotonic_time() + qtest_timeout_ms() * 1000LL;

    for (;;) {
        g_autofree char *st = job_status(s, id);

        if (!strcmp(st, want)) {
            return;
        }
        if (g_get_monotonic_time() > end) {
            g_error("job %s stays %s, not %s", id, st, want);
        }
        g_usleep(10000);
    }
}

/* The destination: a disk exported writable over NBD on a Unix socket. */
static QTestState *dest_start(const char *image, const char *sock)
{
    QTestState *d = qtest_initf_accel_qtest(
        "-blockdev driver=raw,node-name=disk0,file.driver=file,"
        "file.filename=%s", image);

    qtest_qmp_ok(d, "{'execute': 'nbd-server-start', 'arguments': "
                 "{'addr': {'type': 'unix', 'data': {'path': '%s'}}}}",
                 sock);
    qtest_qmp_ok(d, "{'execute': 'block-export-add', 'arguments': "
                 "{'type': 'nbd', 'id': 'e0', 'node-name': 'disk0', "
                 "'name': 'disk0', 'writable': true}}");
    return d;
}

static void source_start(Disk *k, const char *image)
{
    k->s = qtest_initf_accel_qtest(
        "-drive if=none,id=drive0,file=%s,format=raw "
        "-device virtio-blk-pci,drive=drive0,id=vd0,addr=4,vectors=0",
        image);
    disk_driver_start(k);
}

static void source_add_remote(Disk *k, const char *sock)
{
    qtest_qmp_ok(k->s, "{'execute': 'blockdev-add', 'arguments': "
                 "{'driver': 'nbd', 'node-name': 'remote', 'export': "
                 "'disk0', 'server': {'type': 'unix', 'path': '%s'}, "
                 "'reconnect-delay': 0}}", sock);
}

static void test_mirror_to_nbd_export(void)
{
    g_autofree char *src = NULL, *dst = NULL;
    g_autofree char *sock = qtest_scratch_path("dest.sock");
    QTestState *dest;
    Disk k = { 0 };
    json_object *ev, *r;

    src = make_raw("src.raw", 1, &k.expect);
    dst = make_raw("dst.raw", 0, NULL);
    dest = dest_start(dst, sock);
    source_start(&k, src);
    source_add_remote(&k, sock);

    /* Slow at first, so that the guest's writes race the copy. */
    qtest_qmp_ok(k.s, "{'execute': 'blockdev-mirror', 'arguments': "
                 "{'job-id': 'mig0', 'device': 'drive0', 'target': "
                 "'remote', 'sync': 'full', 'speed': 1048576}}");
    for (unsigned round = 0; round < 5; round++) {
        disk_write_round(&k, round);
        g_usleep(100 * 1000);
    }
    r = qtest_qmp_assert_success(k.s, "{'execute': 'query-block-jobs'}");
    g_assert_cmpuint(json_object_array_length(r), ==, 1);
    g_assert_cmpstr(qt_json_str(json_object_array_get_idx(r, 0), "device"),
                    ==, "mig0");
    g_assert_cmpstr(qt_json_str(json_object_array_get_idx(r, 0), "status"),
                    ==, "running");
    json_object_put(r);
    qtest_qmp_ok(k.s, "{'execute': 'block-job-set-speed', 'arguments': "
                 "{'device': 'mig0', 'speed': 0}}");
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_READY");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "device"), ==,
                    "mig0");
    json_object_put(ev);
    for (unsigned round = 5; round < 10; round++) {
        disk_write_round(&k, round);
    }
    qtest_qmp_ok(k.s, "{'execute': 'block-job-complete', 'arguments': "
                 "{'device': 'mig0'}}");
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_COMPLETED");
    g_assert_false(qt_json_has(qt_json_get(ev, "data"), "error"));
    json_object_put(ev);
    /* The drive now reads and writes the destination's disk. */
    r = qtest_qmp_assert_success(k.s, "{'execute': 'query-block'}");
    g_assert_cmpstr(qt_json_str(qt_json_get(json_object_array_get_idx(r, 0),
                                            "inserted"), "node-name"),
                    ==, "remote");
    json_object_put(r);
    disk_write_round(&k, 10);
    disk_read_check(&k, 0, DISK_SIZE / 4);
    g_assert_cmpuint(disk_req(&k, VIRTIO_BLK_T_FLUSH, 0, 0, false), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpint(qtest_quit(k.s), ==, 0);
    g_assert_cmpint(qtest_quit(dest), ==, 0);
    check_file(dst, k.expect);
    g_free(k.expect);
}

static void test_mirror_dest_dies(void)
{
    g_autofree char *src = NULL, *dst = NULL;
    g_autofree char *sock = qtest_scratch_path("dest.sock");
    QTestState *dest;
    Disk k = { 0 };
    json_object *ev;

    src = make_raw("src.raw", 2, &k.expect);
    dst = make_raw("dst.raw", 0, NULL);
    dest = dest_start(dst, sock);
    source_start(&k, src);
    source_add_remote(&k, sock);
    qtest_qmp_ok(k.s, "{'execute': 'blockdev-mirror', 'arguments': "
                 "{'job-id': 'mig1', 'device': 'drive0', 'target': "
                 "'remote', 'sync': 'full', 'speed': 1048576}}");
    disk_write_round(&k, 0);
    qtest_kill(dest);
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_ERROR");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "operation"), ==,
                    "write");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "action"), ==,
                    "report");
    json_object_put(ev);
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_COMPLETED");
    g_assert_nonnull(strstr(qt_json_str(qt_json_get(ev, "data"), "error"),
                            "node 'remote'"));
    json_object_put(ev);
    /* The guest's disk is still the source, and works. */
    disk_write_round(&k, 1);
    disk_read_check(&k, 0, DISK_SIZE);
    g_assert_cmpint(qtest_quit(k.s), ==, 0);
    check_file(src, k.expect);
    g_free(k.expect);
}

/*
 * The COLO resync step (QEMU's qemu-colo.rst, re-protection after a
 * failover): drive-mirror to the secondary's NBD export by URI,
 * mode=existing, format=raw; once ready, stop the guest and
 * block-job-cancel: the export holds the disk as it is.
 */
static void test_mirror_resync_by_uri(void)
{
    g_autofree char *src = NULL, *dst = NULL;
    g_autofree char *sock = qtest_scratch_path("dest.sock");
    QTestState *dest;
    Disk k = { 0 };
    json_object *ev;

    src = make_raw("src.raw", 5, &k.expect);
    dst = make_raw("dst.raw", 0, NULL);
    dest = dest_start(dst, sock);
    source_start(&k, src);
    disk_write_round(&k, 0);
    qtest_qmp_ok(k.s, "{'execute': 'drive-mirror', 'arguments': "
                 "{'device': 'drive0', 'job-id': 'resync', 'target': "
                 "'nbd+unix:///disk0?socket=%s', 'mode': 'existing', "
                 "'format': 'raw', 'sync': 'full'}}", sock);
    disk_write_round(&k, 1);
    json_object_put(qtest_qmp_eventwait(k.s, "BLOCK_JOB_READY"));
    disk_write_round(&k, 2);
    qtest_qmp_ok(k.s, "{'execute': 'stop'}");
    qtest_qmp_ok(k.s, "{'execute': 'block-job-cancel', 'arguments': "
                 "{'device': 'resync'}}");
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_COMPLETED");
    g_assert_false(qt_json_has(qt_json_get(ev, "data"), "error"));
    json_object_put(ev);
    wait_job_status(k.s, "resync", "(none)");
    g_assert_cmpint(qtest_quit(k.s), ==, 0);
    g_assert_cmpint(qtest_quit(dest), ==, 0);
    check_file(dst, k.expect);
    check_file(src, k.expect);
    g_free(k.expect);
}

/*
 * drive-mirror creating a qcow2 target, auto-finalize and auto-dismiss
 * off, every verb on the way: pause and resume both ways, pending,
 * finalize, dismiss.
 */
static void test_drive_mirror_manual(void)
{
    g_autofree char *src = NULL;
    g_autofree char *dst = qtest_scratch_path("dst.qcow2");
    g_autofree char *exp = qtest_scratch_path("expect.raw");
    g_autofree char *out = NULL;
    Disk k = { 0 };
    json_object *ev, *r;

    if (!bt_have_qemu_img()) {
        g_test_skip("qemu-img is not installed");
        return;
    }
    src = make_raw("src.raw", 3, &k.expect);
    source_start(&k, src);
    qtest_qmp_ok(k.s, "{'execute': 'drive-mirror', 'arguments': "
                 "{'job-id': 'm1', 'device': 'drive0', 'target': '%s', "
                 "'format': 'qcow2', 'mode': 'absolute-paths', 'sync': "
                 "'full', 'speed': 1048576, 'auto-finalize': false, "
                 "'auto-dismiss': false}}", dst);
    qtest_qmp_ok(k.s, "{'execute': 'job-pause', 'arguments': "
                 "{'id': 'm1'}}");
    wait_job_status(k.s, "m1", "paused");
    qtest_qmp_assert_error_contains(k.s, "GenericError",
        "Job 'm1' is already paused",
        "{'execute': 'block-job-pause', 'arguments': {'device': 'm1'}}");
    disk_write_round(&k, 0);
    qtest_qmp_ok(k.s, "{'execute': 'job-resume', 'arguments': "
                 "{'id': 'm1'}}");
    wait_job_status(k.s, "m1", "running");
    qtest_qmp_ok(k.s, "{'execute': 'block-job-pause', 'arguments': "
                 "{'device': 'm1'}}");
    wait_job_status(k.s, "m1", "paused");
    qtest_qmp_ok(k.s, "{'execute': 'block-job-resume', 'arguments': "
                 "{'device': 'm1'}}");
    qtest_qmp_ok(k.s, "{'execute': 'block-job-set-speed', 'arguments': "
                 "{'device': 'm1', 'speed': 0}}");
    json_object_put(qtest_qmp_eventwait(k.s, "BLOCK_JOB_READY"));
    qtest_qmp_assert_error_contains(k.s, "GenericError",
        "Job 'm1' in state 'ready' cannot accept command verb 'finalize'",
        "{'execute': 'block-job-finalize', 'arguments': {'id': 'm1'}}");
    disk_write_round(&k, 1);
    qtest_qmp_ok(k.s, "{'execute': 'job-complete', 'arguments': "
                 "{'id': 'm1'}}");
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_PENDING");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "id"), ==, "m1");
    json_object_put(ev);
    /* Pending: the guest's writes reach both images. */
    disk_write_round(&k, 2);
    qtest_qmp_ok(k.s, "{'execute': 'job-finalize', 'arguments': "
                 "{'id': 'm1'}}");
    json_object_put(qtest_qmp_eventwait(k.s, "BLOCK_JOB_COMPLETED"));
    r = qtest_qmp_assert_success(k.s, "{'execute': 'query-block-jobs'}");
    g_assert_cmpstr(qt_json_str(json_object_array_get_idx(r, 0), "status"),
                    ==, "concluded");
    json_object_put(r);
    qtest_qmp_ok(k.s, "{'execute': 'block-job-dismiss', 'arguments': "
                 "{'id': 'm1'}}");
    wait_job_status(k.s, "m1", "(none)");
    disk_write_round(&k, 3);
    disk_read_check(&k, 0, DISK_SIZE);
    g_assert_cmpint(qtest_quit(k.s), ==, 0);
    bt_qemu_img_check(dst);
    g_assert_true(g_file_set_contents(exp, (char *)k.expect, DISK_SIZE,
                                      NULL));
    if (bt_qemu_img(&out, "compare -f qcow2 -F raw '%s' '%s'", dst,
                    exp) != 0) {
        g_error("qemu-img compare: %s", out);
    }
    g_free(k.expect);
}

/* Cancels: a ready mirror without force completes without switching;
 * job-cancel cancels; quit cancels what still runs. */
static void test_mirror_cancel(void)
{
    g_autofree char *src = NULL, *dst = NULL, *dst2 = NULL;
    g_autofree char *dst3 = qtest_scratch_path("dst3.qcow2");
    Disk k = { 0 };
    json_object *ev, *r;

    src = make_raw("src.raw", 4, &k.expect);
    dst = make_raw("dst.raw", 0, NULL);
    dst2 = make_raw("dst2.raw", 0, NULL);
    source_start(&k, src);
    qtest_qmp_ok(k.s, "{'execute': 'drive-mirror', 'arguments': "
                 "{'device': 'drive0', 'target': '%s', 'format': 'raw', "
                 "'mode': 'existing', 'sync': 'full'}}", dst);
    json_object_put(qtest_qmp_eventwait(k.s, "BLOCK_JOB_READY"));
    disk_write_round(&k, 0);
    qtest_qmp_ok(k.s, "{'execute': 'block-job-cancel', 'arguments': "
                 "{'device': 'drive0'}}");
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_COMPLETED");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "device"), ==,
                    "drive0");
    g_assert_false(qt_json_has(qt_json_get(ev, "data"), "error"));
    json_object_put(ev);
    wait_job_status(k.s, "drive0", "(none)");
    /* Still on the source; the target is the copy at the cancel. */
    r = qtest_qmp_assert_success(k.s, "{'execute': 'query-block'}");
    g_assert_cmpstr(qt_json_str(qt_json_get(json_object_array_get_idx(r, 0),
                                            "inserted"), "file"), ==, src);
    json_object_put(r);
    check_file(dst, k.expect);

    qtest_qmp_ok(k.s, "{'execute': 'drive-mirror', 'arguments': "
                 "{'job-id': 'm3', 'device': 'drive0', 'target': '%s', "
                 "'format': 'raw', 'mode': 'existing', 'sync': 'full', "
                 "'speed': 65536, 'auto-dismiss': false}}", dst2);
    qtest_qmp_ok(k.s, "{'execute': 'job-cancel', 'arguments': "
                 "{'id': 'm3'}}");
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_CANCELLED");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "device"), ==,
                    "m3");
    json_object_put(ev);
    wait_job_status(k.s, "m3", "concluded");
    qtest_qmp_ok(k.s, "{'execute': 'job-dismiss', 'arguments': "
                 "{'id': 'm3'}}");
    qtest_qmp_assert_error_contains(k.s, "DeviceNotActive",
        "Block job 'm3' not found",
        "{'execute': 'block-job-cancel', 'arguments': {'device': 'm3'}}");
    disk_write_round(&k, 1);
    disk_read_check(&k, 0, DISK_SIZE);

    /* quit with a mirror running: the job is cancelled first (the
     * client hears of it, as from QEMU), the new qcow2 target is left
     * consistent. */
    qtest_qmp_ok(k.s, "{'execute': 'drive-mirror', 'arguments': "
                 "{'job-id': 'm4', 'device': 'drive0', 'target': '%s', "
                 "'format': 'qcow2', 'sync': 'full', 'speed': 65536}}", dst3);
    wait_job_status(k.s, "m4", "running");
    qtest_qmp_ok(k.s, "{'execute': 'quit'}");
    ev = qtest_qmp_eventwait(k.s, "BLOCK_JOB_CANCELLED");
    g_assert_cmpstr(qt_json_str(qt_json_get(ev, "data"), "device"), ==,
                    "m4");
    json_object_put(ev);
    g_assert_cmpint(qtest_quit(k.s), ==, 0);
    check_file(src, k.expect);
    if (bt_have_qemu_img()) {
        bt_qemu_img_check(dst3);
    }
    g_free(k.expect);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block-mirror/to-nbd-export", test_mirror_to_nbd_export);
    g_test_add_func("/block-mirror/dest-dies", test_mirror_dest_dies);
    g_test_add_func("/block-mirror/resync-by-uri", test_mirror_resync_by_uri);
    g_test_add_func("/block-mirror/drive-mirror-manual",
                    test_drive_mirror_manual);
    g_test_add_func("/block-mirror/cancel", test_mirror_cancel);
    return g_test_run();
}
