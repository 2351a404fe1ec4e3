/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal snapshots over QMP on the real binary under -accel qtest:
 * blockdev-snapshot-internal-sync and blockdev-snapshot-delete-internal-
 * sync on a guest disk's qcow2 node, the transaction action (undone by
 * an abort), the snapshots query-named-block-nodes lists, and every
 * error with QEMU 7.2's text (checked against qemu-system-x86_64 7.2),
 * and HMP's snapshot_blkdev_internal and snapshot_delete_blkdev_internal.
 * After quit qemu-img must list what we left and find the image clean.
 * What the snapshots hold: tests/unit/test-block-qcow2-snapshot.c and
 * tests/functional/test_block_internal_snapshot.py.
 */
#include <string.h>
#include <unistd.h>
#include "libqtest.h"
#include "qemu-img-util.h"

static char *new_qcow2(const char *name, const char *snapshot)
{
    char *path = qtest_scratch_path(name);
    g_autofree char *out = NULL;

    if (bt_qemu_img(&out, "create -q -f qcow2 '%s' 4M", path) != 0) {
        g_error("qemu-img create: %s", out);
    }
    if (snapshot && bt_qemu_img(&out, "snapshot -c %s '%s'", snapshot,
                                path) != 0) {
        g_error("qemu-img snapshot: %s", out);
    }
    return path;
}

/* The names of node's snapshots, in table order, joined by ','. */
static char *node_snapshots(QTestState *s, const char *node)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-named-block-nodes', "
                                              "'arguments': {'flat': true}}");
    GString *names = g_string_new("");

    for (size_t i = 0; i < json_object_array_length(r); i++) {
        json_object *n = json_object_array_get_idx(r, i);
        json_object *list;

        if (strcmp(qt_json_str(n, "node-name"), node) ||
            !json_object_object_get_ex(qt_json_get(n, "image"), "snapshots",
                                       &list)) {
            continue;
        }
        for (size_t j = 0; j < json_object_array_length(list); j++) {
            json_object *sn = json_object_array_get_idx(list, j);

            g_string_append_printf(names, "%s%s=%s", j ? "," : "",
                                   qt_json_str(sn, "id"),
                                   qt_json_str(sn, "name"));
        }
    }
    json_object_put(r);
    return g_string_free(names, false);
}

static void expect_snapshots(QTestState *s, const char *node,
                             const char *want)
{
    g_autofree char *got = node_snapshots(s, node);

    g_assert_cmpstr(got, ==, want);
}

static void test_internal_snapshots(void)
{
    g_autofree char *disk = new_qcow2("isnap-d0.qcow2", NULL);
    g_autofree char *ro = new_qcow2("isnap-ro.qcow2", "pre");
    g_autofree char *raw = qtest_scratch_path("isnap-r0.raw");
    g_autofree char *out = NULL;
    json_object *r;
    QTestState *s;

    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f raw '%s' 1M", raw), ==,
                    0);
    s = qtest_initf_accel_qtest(
        "-blockdev driver=file,node-name=f0,filename=%s "
        "-blockdev driver=qcow2,node-name=d0,file=f0 "
        "-device virtio-blk-pci,id=vd0,drive=d0,addr=4 "
        "-blockdev driver=raw,node-name=r0,file.driver=file,"
        "file.filename=%s "
        "-blockdev driver=qcow2,node-name=ro0,read-only=on,"
        "file.driver=file,file.filename=%s", disk, raw, ro);
    expect_snapshots(s, "d0", "");
    expect_snapshots(s, "ro0", "1=pre");

    qtest_qmp_ok(s, "{'execute': 'blockdev-snapshot-internal-sync', "
                 "'arguments': {'device': 'd0', 'name': 's1'}}");
    expect_snapshots(s, "d0", "1=s1");

    /* QEMU 7.2's refusals, in its order. */
    qtest_qmp_assert_error_is(s, "GenericError",
        "Snapshot with name 's1' already exists on device 'd0'",
        "{'execute': 'blockdev-snapshot-internal-sync', 'arguments': "
        "{'device': 'd0', 'name': 's1'}}");
    qtest_qmp_assert_error_is(s, "GenericError", "Name is empty",
        "{'execute': 'blockdev-snapshot-internal-sync', 'arguments': "
        "{'device': 'd0', 'name': ''}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Cannot find device='nope' nor node-name='nope'",
        "{'execute': 'blockdev-snapshot-internal-sync', 'arguments': "
        "{'device': 'nope', 'name': 'x'}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Block format 'raw' used by device 'r0' does not support internal "
        "snapshots",
        "{'execute': 'blockdev-snapshot-internal-sync', 'arguments': "
        "{'device': 'r0', 'name': 'x'}}");
    qtest_qmp_assert_error_is(s, "GenericError", "Device 'ro0' is read only",
        "{'execute': 'blockdev-snapshot-internal-sync', 'arguments': "
        "{'device': 'ro0', 'name': 'x'}}");

    /* All or nothing: the abort takes the snapshot back. */
    qtest_qmp_assert_error_is(s, "GenericError",
        "Transaction aborted using Abort action",
        "{'execute': 'transaction', 'arguments': {'actions': ["
        "{'type': 'blockdev-snapshot-internal-sync', 'data': "
        "{'device': 'd0', 'name': 'gone'}}, "
        "{'type': 'abort', 'data': {}}]}}");
    expect_snapshots(s, "d0", "1=s1");
    qtest_qmp_ok(s, "{'execute': 'transaction', 'arguments': {'actions': ["
                 "{'type': 'blockdev-snapshot-internal-sync', 'data': "
                 "{'device': 'd0', 'name': 's2'}}]}}");
    expect_snapshots(s, "d0", "1=s1,2=s2");

    r = qtest_qmp_assert_success(s, "{'execute': "
                                 "'blockdev-snapshot-delete-internal-sync', "
                                 "'arguments': {'device': 'd0', "
                                 "'name': 's1'}}");
    g_assert_cmpstr(qt_json_str(r, "id"), ==, "1");
    g_assert_cmpstr(qt_json_str(r, "name"), ==, "s1");
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "vm-state-size")),
                    ==, 0);
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "date-sec")), >,
                    1600000000);
    g_assert_false(json_object_object_get_ex(r, "icount", NULL));
    json_object_put(r);
    expect_snapshots(s, "d0", "2=s2");

    qtest_qmp_assert_error_is(s, "GenericError",
        "Snapshot with id 'null' and name 's1' does not exist on device "
        "'d0'",
        "{'execute': 'blockdev-snapshot-delete-internal-sync', "
        "'arguments': {'device': 'd0', 'name': 's1'}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Snapshot with id '2' and name 'zz' does not exist on device 'd0'",
        "{'execute': 'blockdev-snapshot-delete-internal-sync', "
        "'arguments': {'device': 'd0', 'id': '2', 'name': 'zz'}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Name or id must be provided",
        "{'execute': 'blockdev-snapshot-delete-internal-sync', "
        "'arguments': {'device': 'd0'}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Cannot find device='nope' nor node-name='nope'",
        "{'execute': 'blockdev-snapshot-delete-internal-sync', "
        "'arguments': {'device': 'nope', 'id': '9'}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Failed to get a snapshot list: Operation not supported",
        "{'execute': 'blockdev-snapshot-delete-internal-sync', "
        "'arguments': {'device': 'r0', 'id': '9'}}");
    qtest_qmp_assert_error_is(s, "GenericError",
        "Failed to remove snapshot from snapshot list: Operation not "
        "permitted",
        "{'execute': 'blockdev-snapshot-delete-internal-sync', "
        "'arguments': {'device': 'ro0', 'name': 'pre'}}");
    expect_snapshots(s, "ro0", "1=pre");

    /* By id; a third snapshot is numbered past the highest in use. */
    qtest_qmp_ok(s, "{'execute': 'blockdev-snapshot-internal-sync', "
                 "'arguments': {'device': 'd0', 'name': 's3'}}");
    expect_snapshots(s, "d0", "2=s2,3=s3");
    r = qtest_qmp_assert_success(s, "{'execute': "
                                 "'blockdev-snapshot-delete-internal-sync', "
                                 "'arguments': {'device': 'd0', "
                                 "'id': '2'}}");
    g_assert_cmpstr(qt_json_str(r, "name"), ==, "s2");
    json_object_put(r);

    /* HMP: the same commands; errors as QEMU prints them. */
    out = qtest_hmp(s, "snapshot_blkdev_internal d0 h1");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    out = qtest_hmp(s, "snapshot_blkdev_internal d0 h1");
    g_assert_cmpstr(out, ==, "Error: Snapshot with name 'h1' already "
                    "exists on device 'd0'\r\n");
    g_free(out);
    out = qtest_hmp(s, "snapshot_delete_blkdev_internal d0 h1 7");
    g_assert_cmpstr(out, ==, "Error: Snapshot with id '7' and name 'h1' "
                    "does not exist on device 'd0'\r\n");
    g_free(out);
    expect_snapshots(s, "d0", "3=s3,4=h1");
    out = qtest_hmp(s, "snapshot_delete_blkdev_internal d0 h1");
    g_assert_cmpstr(out, ==, "");
    g_clear_pointer(&out, g_free);
    expect_snapshots(s, "d0", "3=s3");
    /* Names past 255 bytes are cut, as QEMU cuts them; not inside a
     * UTF-8 character (254 bytes, then a two-byte one). */
    {
        g_autofree char *n300 = g_strnfill(300, 'n');
        g_autofree char *n255 = g_strnfill(255, 'n');
        g_autofree char *a254 = g_strnfill(254, 'a');
        g_autofree char *want = NULL;

        qtest_qmp_ok(s, "{'execute': 'blockdev-snapshot-internal-sync', "
                     "'arguments': {'device': 'd0', 'name': '%s'}}", n300);
        qtest_qmp_ok(s, "{'execute': 'blockdev-snapshot-internal-sync', "
                     "'arguments': {'device': 'd0', 'name': '%s\u00e9'}}",
                     a254);
        want = g_strdup_printf("3=s3,4=%s,5=%s", n255, a254);
        expect_snapshots(s, "d0", want);
        qtest_qmp_ok(s, "{'execute': "
                     "'blockdev-snapshot-delete-internal-sync', "
                     "'arguments': {'device': 'd0', 'id': '5'}}");
        qtest_qmp_ok(s, "{'execute': "
                     "'blockdev-snapshot-delete-internal-sync', "
                     "'arguments': {'device': 'd0', 'id': '4'}}");
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);

    g_assert_cmpint(bt_qemu_img(&out, "snapshot -l '%s'", disk), ==, 0);
    g_assert_nonnull(strstr(out, "s3"));
    g_assert_null(strstr(out, "s2"));
    g_assert_null(strstr(out, "s1"));
    bt_qemu_img_check(disk);
    bt_qemu_img_check(ro);
    unlink(disk);
    unlink(ro);
    unlink(raw);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/internal-snapshot/qmp", test_internal_snapshots);
    return g_test_run();
}
