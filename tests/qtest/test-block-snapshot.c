/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External snapshots on the real binary under -accel qtest, as a
 * libvirt-driven runbook takes them: a guest disk (virtio-blk-pci on a
 * -blockdev qcow2 node) gets blockdev-snapshot-sync, blockdev-snapshot
 * and a transaction of both, and query-block must show the device on
 * the new top of a growing chain each time; a transaction with an abort
 * action changes nothing; a node under a running mirror job is refused
 * as QEMU refuses it; HMP snapshot_blkdev answers. qemu-img check on
 * every image after quit. The in-process tests of the same code, with
 * every error text: tests/unit/test-block-snapshot.c; the chain as
 * qemu-img sees it and where data lands: tests/functional/
 * test_block_snapshot.py.
 */
#include <string.h>
#include <unistd.h>
#include "libqtest.h"
#include "qemu-img-util.h"

/* The node the guest device's backend is on now, from query-block. */
static char *device_node(QTestState *s)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-block'}");
    json_object *b = json_object_array_get_idx(r, 0);
    char *node;

    g_assert_cmpuint(json_object_array_length(r), ==, 1);
    g_assert_nonnull(strstr(qt_json_str(b, "qdev"), "vd0"));
    node = g_strdup(qt_json_str(qt_json_get(b, "inserted"), "node-name"));
    json_object_put(r);
    return node;
}

static void expect_device_node(QTestState *s, const char *want)
{
    g_autofree char *node = device_node(s);

    g_assert_cmpstr(node, ==, want);
}

static int64_t device_depth(QTestState *s)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-block'}");
    int64_t depth = json_object_get_int64(qt_json_get(qt_json_get(
        json_object_array_get_idx(r, 0), "inserted"), "backing_file_depth"));

    json_object_put(r);
    return depth;
}

static char *new_qcow2(const char *name)
{
    char *path = qtest_scratch_path(name);
    g_autofree char *out = NULL;

    if (bt_qemu_img(&out, "create -q -f qcow2 '%s' 4M", path) != 0) {
        g_error("qemu-img create: %s", out);
    }
    return path;
}

static void test_snapshot_chain(void)
{
    g_autofree char *base = new_qcow2("snap-base.qcow2");
    g_autofree char *ov = new_qcow2("snap-ov.qcow2");
    g_autofree char *s1 = qtest_scratch_path("snap-s1.qcow2");
    g_autofree char *s3 = qtest_scratch_path("snap-s3.qcow2");
    g_autofree char *s4 = qtest_scratch_path("snap-s4.qcow2");
    g_autofree char *out = NULL;
    json_object *ev;
    QTestState *s;

    s = qtest_initf_accel_qtest(
        "-blockdev driver=file,node-name=f0,filename=%s "
        "-blockdev driver=qcow2,node-name=d0,file=f0 "
        "-device virtio-blk-pci,id=vd0,drive=d0,addr=4", base);
    expect_device_node(s, "d0");

    qtest_qmp_ok(s, "{'execute': 'blockdev-snapshot-sync', 'arguments': "
                 "{'node-name': 'd0', 'snapshot-file': '%s', "
                 "'snapshot-node-name': 's1', 'format': 'qcow2'}}", s1);
    expect_device_node(s, "s1");
    g_assert_cmpint(device_depth(s), ==, 1);

    qtest_qmp_ok(s, "{'execute': 'blockdev-add', 'arguments': {'driver': "
                 "'qcow2', 'node-name': 'o2', 'backing': null, 'file': "
                 "{'driver': 'file', 'filename': '%s'}}}", ov);
    qtest_qmp_ok(s, "{'execute': 'blockdev-snapshot', 'arguments': "
                 "{'node': 's1', 'overlay': 'o2'}}");
    expect_device_node(s, "o2");
    g_assert_cmpint(device_depth(s), ==, 2);

    /* All or nothing: the abort undoes the snapshot before it. */
    qtest_qmp_assert_error_is(s, "GenericError",
        "Transaction aborted using Abort action",
        "{'execute': 'transaction', 'arguments': {'actions': ["
        "{'type': 'blockdev-snapshot-sync', 'data': {'node-name': 'o2', "
        "'snapshot-file': '%s', 'snapshot-node-name': 's3'}}, "
        "{'type': 'abort', 'data': {}}]}}", s3);
    expect_device_node(s, "o2");
    qtest_qmp_ok(s, "{'execute': 'transaction', 'arguments': {'actions': ["
                 "{'type': 'blockdev-snapshot-sync', 'data': {'node-name': "
                 "'o2', 'snapshot-file': '%s', 'snapshot-node-name': 's3'}},"
                 "{'type': 'blockdev-snapshot-sync', 'data': {'node-name': "
                 "'s3', 'snapshot-file': '%s', 'snapshot-node-name': 's4', "
                 "'mode': 'absolute-paths'}}]}}", s3, s4);
    expect_device_node(s, "s4");
    g_assert_cmpint(device_depth(s), ==, 4);

    /* A mirror holds its source: no snapshot under it (QEMU's words). */
    qtest_qmp_ok(s, "{'execute': 'blockdev-add', 'arguments': {'driver': "
                 "'null-co', 'node-name': 'n0', 'size': 4194304}}");
    qtest_qmp_ok(s, "{'execute': 'blockdev-mirror', 'arguments': {"
                 "'job-id': 'j0', 'device': 's4', 'target': 'n0', "
                 "'sync': 'full', 'speed': 1}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Node 's4' is busy: block device is in use by block job: mirror",
        "{'execute': 'blockdev-snapshot-sync', 'arguments': {'node-name': "
        "'s4', 'snapshot-file': '%s', 'snapshot-node-name': 's5'}}", s3);
    qtest_qmp_ok(s, "{'execute': 'block-job-cancel', 'arguments': "
                 "{'device': 'j0', 'force': true}}");
    ev = qtest_qmp_eventwait(s, "BLOCK_JOB_CANCELLED");
    json_object_put(ev);

    /* HMP names drives; the device's node is none. */
    out = qtest_hmp(s, "snapshot_blkdev s4 %s", s3);
    g_assert_cmpstr(out, ==, "Error: Cannot find device='s4' nor "
                    "node-name=''\r\n");
    g_assert_cmpint(qtest_quit(s), ==, 0);

    bt_qemu_img_check(base);
    bt_qemu_img_check(s1);
    bt_qemu_img_check(ov);
    bt_qemu_img_check(s3);
    bt_qemu_img_check(s4);
    unlink(base);
    unlink(s1);
    unlink(ov);
    unlink(s3);
    unlink(s4);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/snapshot/chain", test_snapshot_chain);
    return g_test_run();
}
