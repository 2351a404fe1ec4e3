/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Active and inactive nodes (block/activation.h), in-process, no KVM: two
 * node graphs on one qcow2 file stand for a migration's source and
 * destination on shared storage.
 *
 * - handover: the destination opens the image inactive and reads it
 *   (its L1 copy and an L2 table get cached); the source then allocates
 *   in that L2 table, in a new L2 table (an L1 entry changes) and keeps
 *   allocating refcounts; it is inactivated (flushed); the destination is
 *   activated and must read every write, and its own allocating write
 *   must not take a cluster the source used. With stale metadata the
 *   first read is zeroes and the allocation lands on the source's data.
 *   `qemu-img check` on the image afterwards.
 * - an image made invalid meanwhile fails the activation, naming the
 *   node, which stays inactive and readable with what it had;
 * - an inactive node refuses every kind of write (node, backend,
 *   block_resize) with an error naming it, and reads;
 * - the graph rules: no inactive child under an active parent, no
 *   inactivation under an active parent, children follow their parents;
 * - inactivation flushes the node down to its file;
 * - QMP: blockdev-add "active", query-named-block-nodes and query-block
 *   "active", blockdev-set-active, block_resize's error, and nodes
 *   opened while an incoming migration is expected; an NBD export
 *   activates its node and keeps it active unless allow-inactive.
 */
#include <string.h>
#include <glib/gstdio.h>
#include "qmp-test-client.h"
#include "block/activation.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockdev.h"
#include "block/permission.h"
#include "block-test-util.h"
#include "qapi/qapi-commands.h"

#define CLUSTER     (64 * 1024)
#define MIB         (1024 * 1024ull)
#define GIB         (1024 * MIB)

static BlockDriverState *open_node(const char *name, const char *path,
                                   bool active)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"%s\",\"active\":%s,"
        "\"file\":{\"driver\":\"file\",\"node-name\":\"%s-file\","
        "\"filename\":\"%s\"}}", name, active ? "true" : "false", name,
        path);

    return bt_open(json);
}

static char *new_image(const char *name, const char *size)
{
    char *path = bt_path(name);
    g_autofree char *out = NULL;

    if (bt_qemu_img(&out, "create -q -f qcow2 '%s' %s", path, size) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    return path;
}

static void write_fill(BlockDriverState *bs, uint64_t off, int c)
{
    g_autofree uint8_t *buf = g_malloc(CLUSTER);

    memset(buf, c, CLUSTER);
    g_assert_cmpint(bdrv_pwrite(bs, off, CLUSTER, buf, 0, &error_abort), ==,
                    0);
}

/* The cluster at off reads as byte c throughout (c = 0: zeroes). */
static void check_fill(BlockDriverState *bs, uint64_t off, int c)
{
    g_autofree uint8_t *buf = g_malloc(CLUSTER);

    g_assert_cmpint(bdrv_pread(bs, off, CLUSTER, buf, &error_abort), ==, 0);
    for (size_t i = 0; i < CLUSTER; i++) {
        if (buf[i] != c) {
            g_error("node '%s' offset %" G_GUINT64_FORMAT ": byte 0x%02x, "
                    "expected 0x%02x", bdrv_get_node_name(bs), off + i,
                    buf[i], c);
        }
    }
}

static uint64_t flushes(BlockDriverState *bs)
{
    BlockAcctStats st;

    block_acct_snapshot(&bs->stats, &st);
    return st.nr_ops[BLOCK_ACCT_FLUSH];
}

static void test_handover(void)
{
    g_autofree char *img = new_image("handover.qcow2", "4G");
    BlockDriverState *src, *dst, *check;
    uint64_t src_flushes;

    src = open_node("src", img, true);
    write_fill(src, 0, 0x11);

    dst = open_node("dst", img, false);
    g_assert_false(bdrv_is_active(dst));
    g_assert_false(bdrv_is_active(bdrv_file_bs(dst)));
    /* The destination reads while the source runs: caches fill. */
    check_fill(dst, 0, 0x11);
    check_fill(dst, 40 * MIB, 0);
    check_fill(dst, 2 * GIB, 0);

    /* The guest goes on writing on the source: a data cluster in the
     * cached L2 table, a new L2 table (L1 entry), refcount updates. */
    write_fill(src, 40 * MIB, 0x22);
    write_fill(src, 2 * GIB, 0x33);
    write_fill(src, 0, 0x44);

    /* Switchover: the source hands the image over. */
    src_flushes = flushes(bdrv_file_bs(src));
    g_assert_true(bdrv_inactivate(src, &error_abort));
    g_assert_false(bdrv_is_active(src));
    g_assert_false(bdrv_is_active(bdrv_file_bs(src)));
    g_assert_cmpuint(flushes(bdrv_file_bs(src)), >, src_flushes);

    g_assert_true(bdrv_activate(dst, &error_abort));
    g_assert_true(bdrv_is_active(dst));
    g_assert_true(bdrv_is_active(bdrv_file_bs(dst)));
    check_fill(dst, 40 * MIB, 0x22);
    check_fill(dst, 2 * GIB, 0x33);
    check_fill(dst, 0, 0x44);
    /* Allocations here must find the clusters the source took. */
    write_fill(dst, 80 * MIB, 0x55);
    write_fill(dst, 3 * GIB, 0x66);
    check_fill(dst, 40 * MIB, 0x22);
    check_fill(dst, 2 * GIB, 0x33);
    check_fill(dst, 80 * MIB, 0x55);
    bdrv_unref(src);
    bdrv_unref(dst);

    bt_qemu_img_check(img);
    check = open_node("check", img, true);
    check_fill(check, 0, 0x44);
    check_fill(check, 40 * MIB, 0x22);
    check_fill(check, 80 * MIB, 0x55);
    check_fill(check, 2 * GIB, 0x33);
    check_fill(check, 3 * GIB, 0x66);
    bdrv_unref(check);
}

/*
 * The image the peer leaves behind is input like any other: a bad one
 * makes activation fail naming the node, and the node keeps what it had
 * (inactive, still readable); once the image is sound again it works.
 */
static void test_activate_bad_image(void)
{
    g_autofree char *img = new_image("bad.qcow2", "16M");
    BlockDriverState *src = open_node("bsrc", img, true);
    BlockDriverState *dst;
    uint64_t good, bad = GUINT64_TO_BE(0x12345);   /* unaligned */
    Error *err = NULL;
    FILE *f;

    write_fill(src, 0, 0x5a);
    g_assert_true(bdrv_inactivate(src, &error_abort));
    dst = open_node("bdst", img, false);
    f = fopen(img, "r+b");
    g_assert_nonnull(f);
    g_assert_cmpint(fseek(f, 40, SEEK_SET), ==, 0);    /* L1 offset */
    g_assert_cmpuint(fread(&good, 8, 1, f), ==, 1);
    g_assert_cmpint(fseek(f, 40, SEEK_SET), ==, 0);
    g_assert_cmpuint(fwrite(&bad, 8, 1, f), ==, 1);
    fflush(f);

    g_assert_false(bdrv_activate(dst, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), "node 'bdst'") ||
        !strstr(error_get_pretty(err), "could not activate") ||
        !strstr(error_get_pretty(err), "Invalid L1 table offset")) {
        g_error("unexpected error: %s", error_get_pretty(err));
    }
    error_free(err);
    g_assert_false(bdrv_is_active(dst));
    check_fill(dst, 0, 0x5a);

    g_assert_cmpint(fseek(f, 40, SEEK_SET), ==, 0);
    g_assert_cmpuint(fwrite(&good, 8, 1, f), ==, 1);
    fclose(f);
    g_assert_true(bdrv_activate(dst, &error_abort));
    write_fill(dst, CLUSTER, 0x6b);
    check_fill(dst, 0, 0x5a);
    bdrv_unref(dst);
    bdrv_unref(src);
    bt_qemu_img_check(img);
}

static void expect_inactive_error(Error *err, const char *node)
{
    g_autofree char *want = g_strdup_printf("node '%s'", node);

    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), want) ||
        !strstr(error_get_pretty(err), "is inactive")) {
        g_error("unexpected error: %s", error_get_pretty(err));
    }
    error_free(err);
}

static void test_refuses_writes(void)
{
    g_autofree char *img = new_image("refuse.qcow2", "16M");
    BlockDriverState *bs = open_node("idle", img, false);
    BlockBackend *blk = blk_new(NULL, bs, true, false, &error_abort);
    uint8_t buf[512] = { 0 };
    Error *err = NULL;

    /* Reads work: a format reads its image at open already. */
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, &error_abort), ==,
                    0);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, 0, &err), ==,
                    -EPERM);
    expect_inactive_error(err, "idle");
    err = NULL;
    g_assert_cmpint(bdrv_pwrite(bdrv_file_bs(bs), 0, sizeof(buf), buf, 0,
                                &err), ==, -EPERM);
    expect_inactive_error(err, "idle-file");
    err = NULL;
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 0, CLUSTER, 0, &err), ==, -EPERM);
    expect_inactive_error(err, "idle");
    err = NULL;
    g_assert_cmpint(bdrv_pdiscard(bs, 0, CLUSTER, &err), ==, -EPERM);
    expect_inactive_error(err, "idle");
    err = NULL;
    g_assert_cmpint(bdrv_make_empty(bs, &err), ==, -EPERM);
    expect_inactive_error(err, "idle");
    err = NULL;
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0, &err), ==,
                    -EPERM);
    expect_inactive_error(err, "idle");
    err = NULL;
    qmp_block_resize(NULL, "idle", 32 * MIB, &err);
    expect_inactive_error(err, "idle");
    g_assert_cmpint(bdrv_getlength(bs), ==, 16 * MIB);
    /* Nothing to write, nothing flushed. */
    g_assert_cmpint(bdrv_flush(bs, &error_abort), ==, 0);
    g_assert_cmpuint(flushes(bdrv_file_bs(bs)), ==, 0);

    g_assert_true(bdrv_activate(bs, &error_abort));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0, &error_abort),
                    ==, 0);
    qmp_block_resize(NULL, "idle", 32 * MIB, &error_abort);
    blk_unref(blk);
    bdrv_unref(bs);
    bt_qemu_img_check(img);
}

/*
 * A device attached on a migration destination lets a writable NBD export
 * write the disk (the source's drive-mirror) until its guest runs; then
 * it claims its disk, refused while the export still writes.
 */
static void test_device_share_deferred(void)
{
    g_autofree char *img = new_image("deferred.qcow2", "16M");
    BlockDriverState *bs = open_node("dst", img, false);
    BlockBackend *dev = blk_new(NULL, bs, true, false, &error_abort);
    BlockBackend *exp;
    Error *err = NULL;

    bt_attach_guest(dev);
    g_assert_true(bdrv_activate(bs, &error_abort));
    exp = blk_new_perm(NULL, bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                       BLK_PERM_ALL, &error_abort);
    g_assert_false(blk_dev_guest_starts(dev, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "already has a writer"));
    error_free(err);
    err = NULL;
    blk_unref(exp);
    g_assert_true(blk_dev_guest_starts(dev, &error_abort));
    /* From now on the device's claim holds: a second writer is refused. */
    g_assert_null(blk_new_perm(NULL, bs, BLK_PERM_WRITE, BLK_PERM_ALL, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    bt_detach_guest(dev);
    blk_unref(dev);
    bdrv_unref(bs);

    /* Attached to an active node: the claim is whole from the start. */
    bs = open_node("src", img, true);
    dev = blk_new(NULL, bs, true, false, &error_abort);
    bt_attach_guest(dev);
    g_assert_null(blk_new_perm(NULL, bs, BLK_PERM_WRITE, BLK_PERM_ALL, &err));
    g_assert_nonnull(err);
    error_free(err);
    bt_detach_guest(dev);
    blk_unref(dev);
    bdrv_unref(bs);
}

/* A mirror's target is not the guest's: the hand-over leaves it active. */
static void test_outlives_handover(void)
{
    g_autofree char *a = new_image("guest.qcow2", "16M");
    g_autofree char *b = new_image("target.qcow2", "16M");
    BlockDriverState *guest = open_node("guest", a, true);
    BlockDriverState *target = open_node("target", b, true);
    BlockBackend *job = blk_new_perm(NULL, target, BLK_PERM_WRITE,
                                     BLK_PERM_ALL, &error_abort);

    blk_set_outlives_handover(job, true);
    g_assert_true(bdrv_inactivate_all(&error_abort));
    g_assert_false(bdrv_is_active(guest));
    g_assert_true(bdrv_is_active(target));
    g_assert_true(bdrv_is_active(bdrv_file_bs(target)));
    write_fill(target, 0, 0x5a);
    check_fill(target, 0, 0x5a);
    blk_unref(job);
    g_assert_true(bdrv_activate_all(&error_abort));
    bdrv_unref(target);
    bdrv_unref(guest);
}

static void test_graph_rules(void)
{
    g_autofree char *img = new_image("graph.qcow2", "16M");
    g_autofree char *json = NULL;
    BlockDriverState *file, *top, *raw;
    Error *err = NULL;

    /* An inactive protocol node... */
    json = g_strdup_printf("{\"driver\":\"file\",\"node-name\":\"g-file\","
                           "\"active\":false,\"filename\":\"%s\"}", img);
    file = bt_open(json);
    g_assert_false(bdrv_is_active(file));
    /* ...cannot sit under an active format node. */
    bt_open_fails("{\"driver\":\"qcow2\",\"node-name\":\"g-top\","
                  "\"file\":\"g-file\"}",
                  "is inactive and cannot be the 'file' child of active "
                  "node 'g-top'");
    top = bt_open("{\"driver\":\"qcow2\",\"node-name\":\"g-top\","
                  "\"active\":false,\"file\":\"g-file\"}");
    /* Activating the parent activates the child first. */
    g_assert_true(bdrv_activate(top, &error_abort));
    g_assert_true(bdrv_is_active(file));
    /* A child in use by an active parent stays active. */
    g_assert_false(bdrv_inactivate(file, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "node 'g-file'"));
    g_assert_nonnull(strstr(error_get_pretty(err), "active parent"));
    error_free(err);
    g_assert_true(bdrv_is_active(file));
    /* A second (read-only) parent keeps the shared child active... */
    raw = bt_open("{\"driver\":\"raw\",\"node-name\":\"g-raw\","
                  "\"read-only\":true,\"file\":\"g-file\"}");
    g_assert_true(bdrv_inactivate(top, &error_abort));
    g_assert_false(bdrv_is_active(top));
    g_assert_true(bdrv_is_active(file));
    /* ...until it goes too; inactivate_all reaches every node. */
    g_assert_true(bdrv_inactivate_all(&error_abort));
    g_assert_false(bdrv_is_active(raw));
    g_assert_false(bdrv_is_active(file));
    g_assert_true(bdrv_activate_all(&error_abort));
    g_assert_true(bdrv_is_active(raw));
    g_assert_true(bdrv_is_active(top));
    g_assert_true(bdrv_is_active(file));
    bdrv_unref(raw);
    bdrv_unref(top);
    bdrv_unref(file);
}

/* The entry of query-named-block-nodes for node (borrowed). */
static json_object *find_node(json_object *list, const char *node)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *n = json_object_array_get_idx(list, i);
        json_object *name;

        if (json_object_object_get_ex(n, "node-name", &name) &&
            !strcmp(json_object_get_string(name), node)) {
            return n;
        }
    }
    g_error("node '%s' not listed", node);
}

static bool node_active(Client *c, const char *node)
{
    json_object *resp = expect_return(
        c, "{\"execute\":\"query-named-block-nodes\"}\n", NULL);
    bool active = json_object_get_boolean(
        member(find_node(member(resp, "return"), node), "active"));

    json_object_put(resp);
    return active;
}

static void test_qmp(void)
{
    g_autofree char *img = new_image("qmp.qcow2", "16M");
    Client *c = client_new();
    json_object *resp, *list;
    BlockDriverState *bs;

    negotiate(c, false);
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{"
              "\"driver\":\"qcow2\",\"node-name\":\"q0\",\"active\":false,"
              "\"file\":{\"driver\":\"file\",\"node-name\":\"q0-file\","
              "\"filename\":\"%s\"}}}\n", img);
    g_assert_false(node_active(c, "q0"));
    g_assert_false(node_active(c, "q0-file"));
    expect_error(c, "{\"execute\":\"block_resize\",\"arguments\":{"
                 "\"node-name\":\"q0\",\"size\":33554432}}\n",
                 "GenericError", "node 'q0' (file '", NULL);
    expect_error(c, "{\"execute\":\"blockdev-set-active\",\"arguments\":{"
                 "\"node-name\":\"nope\",\"active\":true}}\n",
                 "GenericError", "node-name='nope'", NULL);
    expect_ok(c, "{\"execute\":\"blockdev-set-active\",\"arguments\":{"
              "\"node-name\":\"q0\",\"active\":true}}\n");
    g_assert_true(node_active(c, "q0"));
    g_assert_true(node_active(c, "q0-file"));
    expect_error(c, "{\"execute\":\"blockdev-set-active\",\"arguments\":{"
                 "\"node-name\":\"q0-file\",\"active\":false}}\n",
                 "GenericError", "has an active parent node", NULL);
    expect_ok(c, "{\"execute\":\"block_resize\",\"arguments\":{"
              "\"node-name\":\"q0\",\"size\":33554432}}\n");

    /* query-block shows it on a drive's root too. */
    expect_ok(c, "{\"execute\":\"blockdev-set-active\",\"arguments\":{"
              "\"active\":false}}\n");
    g_assert_false(node_active(c, "q0"));
    g_assert_nonnull(blk_new("qd0", bdrv_find_node("q0"), true, false,
                             &error_abort));
    resp = expect_return(c, "{\"execute\":\"query-block\"}\n", NULL);
    list = member(resp, "return");
    g_assert_cmpint(json_object_array_length(list), ==, 1);
    g_assert_false(json_object_get_boolean(
        member(member(json_object_array_get_idx(list, 0), "inserted"),
               "active")));
    json_object_put(resp);
    blk_unref(blk_by_name("qd0"));

    /* While an incoming migration is expected, new nodes open inactive
     * unless told otherwise. */
    bdrv_set_open_inactive(true);
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{"
              "\"driver\":\"null-co\",\"node-name\":\"q1\"}}\n");
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{"
              "\"driver\":\"null-co\",\"node-name\":\"q2\","
              "\"active\":true}}\n");
    g_assert_false(node_active(c, "q1"));
    g_assert_true(node_active(c, "q2"));
    /* Activating everything ends that. */
    expect_ok(c, "{\"execute\":\"blockdev-set-active\",\"arguments\":{"
              "\"active\":true}}\n");
    g_assert_false(bdrv_get_open_inactive());
    g_assert_true(node_active(c, "q0"));
    g_assert_true(node_active(c, "q1"));
    for (int i = 0; i < 3; i++) {
        expect_ok(c, "{\"execute\":\"blockdev-del\",\"arguments\":{"
                  "\"node-name\":\"q%d\"}}\n", i);
    }
    bs = bdrv_find_node("q0");
    g_assert_null(bs);
    client_free(c);
    bt_qemu_img_check(img);
}

/* A command whose reply may come after events (BLOCK_EXPORT_DELETED). */
static void ok_among_events(Client *c, const char *line)
{
    json_object *resp;

    send_str(c, line);
    for (;;) {
        resp = recv_json(c);
        if (!json_object_object_get_ex(resp, "event", NULL)) {
            break;
        }
        json_object_put(resp);
    }
    json_object_put(check_return(resp, NULL));
}

/* Exports activate their node and keep it active, unless allow-inactive
 * (QEMU 10.0): what a migration's destination without shared storage
 * relies on to receive the source's mirror. */
static void test_nbd_export(void)
{
    g_autofree char *img = new_image("export.qcow2", "16M");
    g_autofree char *sock = bt_path("activation-nbd.sock");
    Client *c = client_new();

    negotiate(c, false);
    expect_ok(c, "{\"execute\":\"nbd-server-start\",\"arguments\":{"
              "\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"%s\"}}}}\n",
              sock);
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{"
              "\"driver\":\"qcow2\",\"node-name\":\"e0\",\"active\":false,"
              "\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}}\n",
              img);
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{"
              "\"driver\":\"null-co\",\"node-name\":\"e1\","
              "\"active\":false}}\n");
    expect_ok(c, "{\"execute\":\"block-export-add\",\"arguments\":{"
              "\"type\":\"nbd\",\"id\":\"x0\",\"node-name\":\"e0\","
              "\"writable\":true}}\n");
    g_assert_true(node_active(c, "e0"));
    expect_error(c, "{\"execute\":\"blockdev-set-active\",\"arguments\":{"
                 "\"node-name\":\"e0\",\"active\":false}}\n",
                 "GenericError", "NBD export 'x0' needs it active", NULL);
    g_assert_true(node_active(c, "e0"));
    expect_ok(c, "{\"execute\":\"block-export-add\",\"arguments\":{"
              "\"type\":\"nbd\",\"id\":\"x1\",\"node-name\":\"e1\","
              "\"allow-inactive\":true}}\n");
    g_assert_false(node_active(c, "e1"));
    ok_among_events(c, "{\"execute\":\"block-export-del\",\"arguments\":{"
                    "\"id\":\"x0\"}}\n");
    ok_among_events(c, "{\"execute\":\"block-export-del\",\"arguments\":{"
                    "\"id\":\"x1\"}}\n");
    ok_among_events(c, "{\"execute\":\"nbd-server-stop\"}\n");
    /* Gone with its export: nothing keeps e0 active now. */
    ok_among_events(c, "{\"execute\":\"blockdev-set-active\",\"arguments\":{"
                    "\"node-name\":\"e0\",\"active\":false}}\n");
    expect_ok(c, "{\"execute\":\"blockdev-del\",\"arguments\":{"
              "\"node-name\":\"e0\"}}\n");
    expect_ok(c, "{\"execute\":\"blockdev-del\",\"arguments\":{"
              "\"node-name\":\"e1\"}}\n");
    client_free(c);
    bt_qemu_img_check(img);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/activation/handover", test_handover);
    g_test_add_func("/block/activation/bad-image", test_activate_bad_image);
    g_test_add_func("/block/activation/refuses-writes", test_refuses_writes);
    g_test_add_func("/block/activation/graph-rules", test_graph_rules);
    g_test_add_func("/block/activation/device-share-deferred",
                    test_device_share_deferred);
    g_test_add_func("/block/activation/outlives-handover",
                    test_outlives_handover);
    g_test_add_func("/block/activation/qmp", test_qmp);
    g_test_add_func("/block/activation/nbd-export", test_nbd_export);
    return qmp_test_run();
}
