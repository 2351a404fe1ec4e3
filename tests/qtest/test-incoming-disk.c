/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A destination waiting for a migration with its disk on shared storage:
 * the real binary under -accel qtest (no KVM) with -incoming defer and a
 * virtio-blk-pci on the disk. Its nodes, opened on the command line
 * before -incoming, are inactive
 * (query-named-block-nodes and query-block say "active": false), so are
 * nodes added while it waits; block_resize is refused naming the node;
 * migrate-incoming itself is refused under qtest; blockdev-set-active
 * hands the disk over by hand. Without -incoming the same disk is
 * active. With two processes on the image, the hand-over by hand goes
 * through their image locks: the waiting side opens beside the running
 * one (it holds nothing), cannot activate while the other holds the
 * image, and can once the other inactivated; then the first cannot take
 * it back. qemu-img check on the image at the end.
 */
#include <string.h>
#include "libqtest.h"
#include "qemu-img-util.h"

static json_object *find_node(json_object *list, const char *node)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *n = json_object_array_get_idx(list, i);

        if (qt_json_has(n, "node-name") &&
            !strcmp(qt_json_str(n, "node-name"), node)) {
            return n;
        }
    }
    g_error("node '%s' not listed", node);
}

static bool node_active(QTestState *s, const char *node)
{
    json_object *r = qtest_qmp_assert_success(
        s, "{'execute': 'query-named-block-nodes'}");
    bool active = json_object_get_boolean(qt_json_get(find_node(r, node),
                                                      "active"));

    json_object_put(r);
    return active;
}

static char *make_image(void)
{
    char *img = qtest_scratch_path("incoming.qcow2");
    g_autofree char *out = NULL;

    if (bt_qemu_img(&out, "create -q -f qcow2 '%s' 16M", img) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    return img;
}

static void test_defer_inactive(void)
{
    g_autofree char *img = make_image();
    QTestState *s;
    json_object *r;

    /* -blockdev before -incoming, as libvirt orders them. */
    s = qtest_initf_accel_qtest(
        "-blockdev driver=file,node-name=disk0-file,filename=%s "
        "-blockdev driver=qcow2,node-name=disk0,file=disk0-file "
        "-device virtio-blk-pci,drive=disk0,id=vd0 "
        "-drive if=none,id=d1,driver=null-co -incoming defer", img);
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "inmigrate");
    g_assert_false(node_active(s, "disk0"));
    g_assert_false(node_active(s, "disk0-file"));
    /* The device's disk and the drive. */
    r = qtest_qmp_assert_success(s, "{'execute': 'query-block'}");
    g_assert_cmpuint(json_object_array_length(r), ==, 2);
    for (size_t i = 0; i < 2; i++) {
        g_assert_false(json_object_get_boolean(qt_json_get(
            qt_json_get(json_object_array_get_idx(r, i), "inserted"),
            "active")));
    }
    json_object_put(r);

    qtest_qmp_assert_error_contains(s, "GenericError",
                                    "node 'disk0' (file '",
                                    "{'execute': 'block_resize', "
                                    "'arguments': {'node-name': 'disk0', "
                                    "'size': 33554432}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "is inactive",
                                    "{'execute': 'block_resize', "
                                    "'arguments': {'node-name': 'disk0', "
                                    "'size': 33554432}}");
    /* Nodes added while it waits open inactive too. */
    qtest_qmp_ok(s, "{'execute': 'blockdev-add', 'arguments': "
                 "{'driver': 'null-co', 'node-name': 'late0'}}");
    g_assert_false(node_active(s, "late0"));
    /* Waiting is allowed under qtest, migrating is not. */
    qtest_qmp_assert_error_contains(s, "GenericError",
                                    "Migration is not supported",
                                    "{'execute': 'migrate-incoming', "
                                    "'arguments': {'uri': 'tcp:127.0.0.1:0'}}");
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "inmigrate");
    g_assert_false(node_active(s, "disk0"));
    /* By hand: the disk and its file become active, and writable. */
    qtest_qmp_ok(s, "{'execute': 'blockdev-set-active', 'arguments': "
                 "{'node-name': 'disk0', 'active': true}}");
    g_assert_true(node_active(s, "disk0"));
    g_assert_true(node_active(s, "disk0-file"));
    qtest_qmp_ok(s, "{'execute': 'block_resize', 'arguments': "
                 "{'node-name': 'disk0', 'size': 33554432}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
    bt_qemu_img_check(img);
}

static void test_without_incoming_active(void)
{
    g_autofree char *img = make_image();
    QTestState *s = qtest_initf_accel_qtest(
        "-blockdev driver=file,node-name=disk0-file,filename=%s "
        "-blockdev driver=qcow2,node-name=disk0,file=disk0-file", img);

    g_assert_true(node_active(s, "disk0"));
    g_assert_true(node_active(s, "disk0-file"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    bt_qemu_img_check(img);
}

static void set_active(QTestState *s, bool active)
{
    qtest_qmp_ok(s, "{'execute': 'blockdev-set-active', 'arguments': "
                 "{'active': %s}}", active ? "true" : "false");
}

static void refused_lock(QTestState *s)
{
    qtest_qmp_assert_error_contains(s, "GenericError",
                                    "Failed to get \"write\" lock",
                                    "{'execute': 'blockdev-set-active', "
                                    "'arguments': {'node-name': 'disk0', "
                                    "'active': true}}");
}

static void test_handover_locks(void)
{
    g_autofree char *img = make_image();
    const char *disk =
        "-blockdev driver=file,node-name=disk0-file,filename=%s "
        "-blockdev driver=qcow2,node-name=disk0,file=disk0-file "
        "-device virtio-blk-pci,drive=disk0,id=vd0";
    g_autofree char *src_args = g_strdup_printf(disk, img);
    g_autofree char *dst_args = g_strdup_printf(disk, img);
    QTestState *src = qtest_initf_accel_qtest("%s", src_args);
    QTestState *dst = qtest_initf_accel_qtest("%s -incoming defer",
                                              dst_args);

    g_assert_true(node_active(src, "disk0"));
    g_assert_false(node_active(dst, "disk0"));
    /* The source holds the image: the destination may not take it. */
    refused_lock(dst);
    g_assert_false(node_active(dst, "disk0"));
    /* Switchover by hand: the source lets go, the destination takes. */
    set_active(src, false);
    qtest_qmp_ok(dst, "{'execute': 'blockdev-set-active', 'arguments': "
                 "{'node-name': 'disk0', 'active': true}}");
    g_assert_true(node_active(dst, "disk0"));
    qtest_qmp_ok(dst, "{'execute': 'block_resize', 'arguments': "
                 "{'node-name': 'disk0', 'size': 33554432}}");
    refused_lock(src);
    g_assert_false(node_active(src, "disk0"));
    /* And back, as a migration back would. */
    set_active(dst, false);
    set_active(src, true);
    g_assert_true(node_active(src, "disk0"));
    g_assert_cmpint(qtest_quit(dst), ==, 0);
    g_assert_cmpint(qtest_quit(src), ==, 0);
    bt_qemu_img_check(img);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/incoming-disk/defer-inactive", test_defer_inactive);
    g_test_add_func("/incoming-disk/without-incoming-active",
                    test_without_incoming_active);
    g_test_add_func("/incoming-disk/handover-locks", test_handover_locks);
    return g_test_run();
}
