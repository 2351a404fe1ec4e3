/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Putting an overlay on top of a node (block/overlay.h), in-process, no
 * KVM, on qcow2 images made by Debian's qemu-img:
 * - a writable backend moves onto the overlay: old data reads through
 *   from the base, new writes land in the overlay only; commit makes the
 *   base read-only and its image takes writers no more but readers yes
 *   (the locks of a backing file), while the overlay's image stays
 *   write-locked; a migration's inactivation of the chain frees both
 *   images and activation locks them again; `qemu-img check` on both;
 * - abort puts the backend back on a still writable base and frees the
 *   overlay's hold on it;
 * - a parent node's "file" link moves too (a snapshot of a protocol node);
 * - refusals, with nothing changed: the node itself as overlay, a
 *   read-only overlay under a writer, a cycle through the overlay's own
 *   file child.
 */
#include <string.h>
#include <glib/gstdio.h>
#include "block/activation.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/overlay.h"
#include "block/permission.h"
#include "block-test-util.h"
#include "qmp-test-client.h"

#define CLUSTER (64 * 1024)
#define MIB (1024 * 1024ull)

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

static BlockDriverState *open_qcow2(const char *name, const char *path,
                                    bool read_only, bool no_backing)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"%s\",\"read-only\":%s,"
        "%s\"file\":{\"driver\":\"file\",\"node-name\":\"%s-file\","
        "\"filename\":\"%s\"}}", name, read_only ? "true" : "false",
        no_backing ? "\"backing\":null," : "", name, path);

    return bt_open(json);
}

static void fill(BlockBackend *blk, uint64_t off, int c)
{
    g_autofree unsigned char *buf = g_malloc(CLUSTER);

    memset(buf, c, CLUSTER);
    g_assert_cmpint(blk_pwrite(blk, off, CLUSTER, buf, 0, NULL), ==, 0);
}

static void expect_bytes(BlockDriverState *bs, uint64_t off, int c)
{
    g_autofree unsigned char *buf = g_malloc(CLUSTER);

    g_assert_cmpint(bdrv_pread(bs, off, CLUSTER, buf, NULL), ==, 0);
    for (size_t i = 0; i < CLUSTER; i++) {
        g_assert_cmpint(buf[i], ==, c);
    }
}

/* Opening path writable elsewhere in this process (another open file
 * description, as another process would): refused while locked. */
static void expect_write_lock(const char *path, bool locked)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"file\",\"node-name\":\"probe\",\"filename\":\"%s\"}",
        path);
    BlockDriverState *probe = bt_open(json);
    Error *err = NULL;
    BlockBackend *blk = blk_new(NULL, probe, true, true, &err);

    if (locked) {
        g_assert_null(blk);
        g_assert_nonnull(strstr(error_get_pretty(err),
                                "Failed to get \"write\" lock"));
        error_free(err);
    } else {
        g_assert_null(err);
        blk_unref(blk);
    }
    bdrv_unref(probe);
}

/* A read-only user (as qemu-img info is) gets in where a writer does not. */
static void expect_readable(const char *path)
{
    BlockDriverState *probe = open_qcow2("rprobe", path, true, true);
    BlockBackend *blk = blk_new(NULL, probe, false, true, &error_abort);

    blk_unref(blk);
    bdrv_unref(probe);
}

static void test_commit(void)
{
    g_autofree char *base_img = new_image("base.qcow2");
    g_autofree char *ov_img = new_image("ov.qcow2");
    BlockDriverState *base = open_qcow2("base", base_img, false, false);
    BlockDriverState *ov = open_qcow2("ov", ov_img, false, true);
    BlockBackend *blk = blk_new("drv", base, true, false, &error_abort);
    BdrvAppend a;

    fill(blk, 0, 0xaa);
    fill(blk, CLUSTER, 0xbb);
    expect_write_lock(base_img, true);
    g_assert_true(bdrv_append_prepare(&a, ov, base, &error_abort));
    g_assert_true(blk_bs(blk) == ov);
    g_assert_true(bdrv_backing_bs(ov) == base);
    g_assert_true(bdrv_backing_parent(base) == ov);
    g_assert_true(bdrv_has_users(ov));
    bdrv_append_commit(&a);
    bdrv_append_clean(&a);
    g_assert_true(bdrv_is_read_only(base));
    g_assert_false(bdrv_is_read_only(ov));
    g_assert_false(bdrv_has_writer(bdrv_find_node("base-file")));

    /* New data lands in the overlay; the old reads through from base. */
    fill(blk, CLUSTER, 0xcc);
    expect_bytes(ov, 0, 0xaa);
    expect_bytes(ov, CLUSTER, 0xcc);
    expect_bytes(base, CLUSTER, 0xbb);
    {
        uint64_t pnum;
        int st = bdrv_block_status(ov, 0, CLUSTER, &pnum, NULL, NULL);

        g_assert_cmpint(st, >=, 0);
        g_assert_false(st & BDRV_BLOCK_ALLOCATED);
        st = bdrv_block_status(ov, CLUSTER, CLUSTER, &pnum, NULL, NULL);
        g_assert_true(st & BDRV_BLOCK_ALLOCATED);
    }
    /* The base is a backing file now: readers in, writers out. */
    expect_write_lock(base_img, true);
    expect_readable(base_img);
    expect_write_lock(ov_img, true);
    /* A migration's hand-over takes the whole chain: every lock goes
     * at inactivation, and comes back at activation. */
    g_assert_true(bdrv_inactivate_all(&error_abort));
    g_assert_false(bdrv_is_active(base));
    expect_write_lock(ov_img, false);
    expect_write_lock(base_img, false);
    g_assert_true(bdrv_activate_all(&error_abort));
    expect_write_lock(ov_img, true);
    expect_write_lock(base_img, true);
    expect_readable(base_img);
    fill(blk, 2 * CLUSTER, 0xdd);
    expect_bytes(ov, 2 * CLUSTER, 0xdd);

    blk_unref(blk);
    bdrv_unref(ov);
    bdrv_unref(base);
    g_assert_null(bdrv_find_node("base"));
    expect_write_lock(base_img, false);
    bt_qemu_img_check(base_img);
    bt_qemu_img_check(ov_img);
}

static void test_abort(void)
{
    g_autofree char *base_img = new_image("base.qcow2");
    g_autofree char *ov_img = new_image("ov.qcow2");
    BlockDriverState *base = open_qcow2("base", base_img, false, false);
    BlockDriverState *ov = open_qcow2("ov", ov_img, false, true);
    BlockBackend *blk = blk_new("drv", base, true, false, &error_abort);
    BdrvAppend a;

    g_assert_true(bdrv_append_prepare(&a, ov, base, &error_abort));
    bdrv_append_abort(&a);
    bdrv_append_clean(&a);
    g_assert_true(blk_bs(blk) == base);
    g_assert_null(bdrv_backing_bs(ov));
    g_assert_false(bdrv_has_users(ov));
    g_assert_false(bdrv_is_read_only(base));
    g_assert_true(bdrv_has_writer(base));
    g_assert_false(bdrv_has_writer(ov));
    g_assert_cmpint(bdrv_refcount(base), ==, 2);
    g_assert_cmpint(bdrv_refcount(ov), ==, 1);
    /* Still the writer's image, and still writable through it. */
    fill(blk, 0, 0x11);
    expect_bytes(base, 0, 0x11);
    expect_write_lock(base_img, true);
    blk_unref(blk);
    bdrv_unref(ov);
    bdrv_unref(base);
    expect_write_lock(ov_img, false);
    bt_qemu_img_check(base_img);
}

/* Snapshot of a protocol node: its format parent's "file" link moves. */
static void test_moves_file_link(void)
{
    g_autofree char *base_img = new_image("base.qcow2");
    g_autofree char *ov_img = new_image("ov.qcow2");
    BlockDriverState *top = open_qcow2("top", base_img, false, false);
    BlockDriverState *f = bdrv_file_bs(top);
    BlockDriverState *ov = open_qcow2("ov", ov_img, false, true);
    BdrvAppend a;

    g_assert_true(bdrv_append_prepare(&a, ov, f, &error_abort));
    g_assert_true(bdrv_file_bs(top) == ov);
    g_assert_true(bdrv_has_writer(ov));
    g_assert_false(bdrv_has_writer(f));
    bdrv_append_commit(&a);
    bdrv_append_clean(&a);
    g_assert_true(bdrv_is_read_only(f));
    g_assert_true(bdrv_backing_bs(ov) == f);
    bdrv_unref(top);
    bdrv_unref(ov);
    g_assert_null(bdrv_find_node("top-file"));
}

static void expect_refused(BlockDriverState *ov, BlockDriverState *base,
                           const char *msg)
{
    BdrvAppend a;
    Error *err = NULL;
    int ov_refs = bdrv_refcount(ov), base_refs = bdrv_refcount(base);

    g_assert_false(bdrv_append_prepare(&a, ov, base, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    g_assert_cmpint(bdrv_refcount(ov), ==, ov_refs);
    g_assert_cmpint(bdrv_refcount(base), ==, base_refs);
    if (ov != base) {
        g_assert_null(bdrv_backing_bs(ov));
    }
}

static void test_refusals(void)
{
    g_autofree char *base_img = new_image("base.qcow2");
    g_autofree char *ov_img = new_image("ov.qcow2");
    BlockDriverState *base = open_qcow2("base", base_img, false, false);
    BlockDriverState *ro = open_qcow2("ro", ov_img, true, true);
    BlockBackend *blk = blk_new("drv", base, true, false, &error_abort);

    expect_refused(base, base, "Making 'base' a backing child of 'base' "
                   "would create a cycle");
    expect_refused(ro, base, "Block node is read-only");
    g_assert_true(blk_bs(blk) == base);
    blk_unref(blk);
    bdrv_unref(ro);

    /* The overlay over its own file: its file link would point at it. */
    {
        BlockDriverState *ov = open_qcow2("ov", ov_img, false, true);

        expect_refused(ov, bdrv_file_bs(ov), "Making 'ov' a file child of "
                       "'ov' would create a cycle");
        bdrv_unref(ov);
    }
    bdrv_unref(base);
    g_assert_null(bdrv_next_node(NULL));
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/overlay/commit", test_commit);
    g_test_add_func("/block/overlay/abort", test_abort);
    g_test_add_func("/block/overlay/moves-file-link", test_moves_file_link);
    g_test_add_func("/block/overlay/refusals", test_refusals);
    return qmp_test_run();
}
