/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The check between the users of a node inside one process
 * (bdrv_check_perms, block/permission.h), on qcow2 images made by
 * Debian's qemu-img. Every refusal is QEMU 7.2's text, as its
 * qemu-system-x86_64 prints it for the same graph over QMP, and leaves
 * the refused user's claim as it was:
 * - a guest device on a node that an overlay in use reads as its backing
 *   file (with or without share-rw), and the overlay's device over a node
 *   a device writes; both fine while the overlay has no user;
 * - a writable export of such a backing node (a read-only one is fine);
 * - block_resize of a node whose users do not share resizing: an export,
 *   a backing file under an overlay in use, a format's file; beside a
 *   guest device (which shares it) it resizes.
 * The users are claimed as the devices and exports claim (virtio-blk.c
 * through blk_attach_dev, nbd/export.c's claim), not through them.
 */
#include <glib/gstdio.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/permission.h"
#include "qapi/qapi-commands.h"
#include "block-test-util.h"
#include "qmp-test-client.h"

#define MIB (1024 * 1024ull)

/* QEMU's path for the backend of virtio-blk-pci with id vdN. */
#define VD(n) "/machine/peripheral/" n "/virtio-backend"

static int dev_token[4];    /* a device is only an address to blk_attach_dev */

static char *new_image(const char *name)
{
    char *path = bt_path(name);
    g_autofree char *out = NULL;

    g_unlink(path);
    if (bt_qemu_img(&out, "create -q -f qcow2 '%s' 1M", path) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    return path;
}

/* A qcow2 node name on image name; backing: a node name, or none. */
static BlockDriverState *open_qcow2(const char *name, const char *backing)
{
    g_autofree char *path = new_image(name);
    g_autofree char *bk = backing ? g_strdup_printf("\"%s\"", backing)
                                  : g_strdup("null");
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"%s\",\"backing\":%s,"
        "\"file\":{\"driver\":\"file\",\"node-name\":\"%s-file\","
        "\"filename\":\"%s\"}}", name, bk, name, path);

    return bt_open(json);
}

/* A guest device's backend, as virtio-blk makes one: claims at attach. */
static BlockBackend *device(BlockDriverState *bs, int n, const char *qdev,
                            bool share_rw, Error **errp)
{
    BlockBackend *blk = blk_new_perm(NULL, bs, 0, BLK_PERM_ALL,
                                     &error_abort);

    if (!blk_attach_dev(blk, &dev_token[n], qdev, share_rw, errp)) {
        /* Refused: the backend still claims nothing of the node. */
        g_assert_false(blk_is_writable(blk));
        blk_unref(blk);
        return NULL;
    }
    return blk;
}

static void device_del(BlockBackend *blk, int n)
{
    blk_detach_dev(blk, &dev_token[n]);
    blk_unref(blk);
}

/* An NBD export's claim (nbd/export.c): it must not be resized. */
static BlockBackend *export(BlockDriverState *bs, bool writable,
                            Error **errp)
{
    return blk_new_perm(NULL, bs, BLK_PERM_CONSISTENT_READ |
                        (writable ? BLK_PERM_WRITE : 0),
                        BLK_PERM_ALL & ~(uint64_t)BLK_PERM_RESIZE, errp);
}

static void expect_refusal(Error *err, const char *msg)
{
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_device_over_backing(void)
{
    BlockDriverState *base = open_qcow2("base", NULL);
    BlockDriverState *ov = open_qcow2("ov", "base");
    BlockBackend *vd0, *vd1;
    Error *err = NULL;

    /* An overlay nobody uses claims nothing of its backing file. */
    vd1 = device(base, 1, VD("vd1"), false, &error_abort);
    device_del(vd1, 1);

    vd0 = device(ov, 0, VD("vd0"), false, &error_abort);
    g_assert_null(device(base, 1, VD("vd1"), false, &err));
    expect_refusal(err, "Permission conflict on node 'base': permissions "
                 "'write' are both required by block device '" VD("vd1")
                 "' (uses node 'base' as 'root' child) and unshared by "
                 "node 'ov' (uses node 'base' as 'backing' child).");
    err = NULL;
    /* share-rw only says what the device lets others do. */
    g_assert_null(device(base, 2, VD("vd2"), true, &err));
    expect_refusal(err, "Permission conflict on node 'base': permissions "
                 "'write' are both required by block device '" VD("vd2")
                 "' (uses node 'base' as 'root' child) and unshared by "
                 "node 'ov' (uses node 'base' as 'backing' child).");
    device_del(vd0, 0);

    bdrv_unref(ov);
    bdrv_unref(base);
}

static void test_overlay_over_written_node(void)
{
    BlockDriverState *base = open_qcow2("base", NULL);
    BlockBackend *vd1 = device(base, 1, VD("vd1"), false, &error_abort);
    BlockDriverState *ov = open_qcow2("ov", "base");
    BlockBackend *vd0;
    Error *err = NULL;

    /* The overlay opens (unused), its device is the one refused. */
    g_assert_null(device(ov, 0, VD("vd0"), false, &err));
    expect_refusal(err, "Permission conflict on node 'base': permissions "
                 "'write' are both required by block device '" VD("vd1")
                 "' (uses node 'base' as 'root' child) and unshared by "
                 "node 'ov' (uses node 'base' as 'backing' child).");
    /* The refusal took nothing: the base's device still writes. */
    g_assert_true(blk_is_writable(vd1));
    device_del(vd1, 1);
    vd0 = device(ov, 0, VD("vd0"), false, &error_abort);
    device_del(vd0, 0);

    bdrv_unref(ov);
    bdrv_unref(base);
}

static void test_writable_export_of_backing(void)
{
    BlockDriverState *base = open_qcow2("base", NULL);
    BlockDriverState *ov = open_qcow2("ov", "base");
    BlockBackend *vd0 = device(ov, 0, VD("vd0"), false, &error_abort);
    BlockBackend *ro;
    Error *err = NULL;

    g_assert_null(export(base, true, &err));
    expect_refusal(err, "Permission conflict on node 'base': permissions "
                 "'write' are both required by an unnamed block device "
                 "(uses node 'base' as 'root' child) and unshared by node "
                 "'ov' (uses node 'base' as 'backing' child).");
    ro = export(base, false, &error_abort);
    blk_unref(ro);
    device_del(vd0, 0);

    bdrv_unref(ov);
    bdrv_unref(base);
}

static void expect_size(BlockDriverState *bs, uint64_t size)
{
    g_assert_cmpint(bdrv_getlength(bs), ==, (int64_t)size);
}

static void test_resize(void)
{
    BlockDriverState *base = open_qcow2("base", NULL);
    BlockDriverState *ov = open_qcow2("ov", "base");
    BlockBackend *exp = export(base, false, &error_abort);
    BlockBackend *vd0, *vd1;
    Error *err = NULL;

    qmp_block_resize(NULL, "base", 2 * MIB, &err);
    expect_refusal(err, "Permission conflict on node 'base': permissions "
                 "'resize' are both required by an unnamed block device "
                 "(uses node 'base' as 'root' child) and unshared by an "
                 "unnamed block device (uses node 'base' as 'root' "
                 "child).");
    expect_size(base, MIB);
    blk_unref(exp);

    /* A guest device shares resizing (it learns of the new size). */
    vd1 = device(base, 1, VD("vd1"), false, &error_abort);
    qmp_block_resize(NULL, "base", 2 * MIB, &error_abort);
    expect_size(base, 2 * MIB);
    device_del(vd1, 1);

    /* A backing file under an overlay in use must keep its size. */
    vd0 = device(ov, 0, VD("vd0"), false, &error_abort);
    err = NULL;
    qmp_block_resize(NULL, "base", 3 * MIB, &err);
    expect_refusal(err, "Permission conflict on node 'base': permissions "
                 "'resize' are both required by an unnamed block device "
                 "(uses node 'base' as 'root' child) and unshared by node "
                 "'ov' (uses node 'base' as 'backing' child).");
    expect_size(base, 2 * MIB);
    qmp_block_resize(NULL, "ov", 3 * MIB, &error_abort);
    expect_size(ov, 3 * MIB);
    device_del(vd0, 0);

    /* A format's file is the format's to size. */
    err = NULL;
    qmp_block_resize(NULL, "base-file", 8 * MIB, &err);
    expect_refusal(err, "Permission conflict on node 'base-file': "
                 "permissions 'resize' are both required by an unnamed "
                 "block device (uses node 'base-file' as 'root' child) and "
                 "unshared by node 'base' (uses node 'base-file' as 'file' "
                 "child).");

    bdrv_unref(ov);
    bdrv_unref(base);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/permission/device-over-backing",
                    test_device_over_backing);
    g_test_add_func("/block/permission/overlay-over-written-node",
                    test_overlay_over_written_node);
    g_test_add_func("/block/permission/writable-export-of-backing",
                    test_writable_export_of_backing);
    g_test_add_func("/block/permission/resize", test_resize);
    return qmp_test_run();
}
