/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External snapshots over the in-process QMP client (no KVM), against
 * QEMU 7.2's replies (run with qemu-system-x86_64 -machine none):
 * - blockdev-snapshot: a drive moves onto the overlay, the old node is
 *   read-only below it, old data reads through and new data lands in
 *   the overlay only; every refusal with QEMU's text, nothing changed;
 * - blockdev-snapshot-sync: the image created with the old image's name
 *   and format as backing file (read back by qemu-img), by drive and by
 *   node, mode=existing, replacing an unheld file, refusing a held one
 *   (locked by another open, or open here with locking=off) untouched,
 *   and every refusal;
 * - transaction: all or nothing (an abort action undoes the snapshots
 *   before it, the created image stays on disk, the drive still writes
 *   its old image), a chain of two in one transaction, grouped
 *   completion refused, an unknown kind refused by the schema;
 * - a read-only overlay on a drive without a device, which writes
 *   nothing: accepted as by QEMU, and a device attached after is a
 *   read-only one;
 * - blockdev-del of a snapshot's old node names its overlay;
 * - HMP snapshot_blkdev.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include "qmp-test-client.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockdev.h"
#include "block-test-util.h"

#define CLUSTER (64 * 1024)

static Client *start(void)
{
    Client *c = client_new();

    negotiate(c, false);
    return c;
}

/* Sends a command written with single quotes; returns the reply. */
static json_object *qmp(Client *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static json_object *qmp(Client *c, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;
    g_autofree char *line = NULL;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_strdelimit(text, "'", '"');
    line = g_strconcat(text, "\n", NULL);
    send_str(c, line);
    return recv_json(c);
}

static void ok(Client *c, json_object *resp)
{
    json_object_put(check_return(resp, NULL));
}

/* The reply is an error with exactly this text. */
static void fails(json_object *resp, const char *desc)
{
    json_object *err = member(resp, "error");

    g_assert_cmpstr(json_object_get_string(member(err, "desc")), ==, desc);
    json_object_put(resp);
}

static char *new_image(const char *name, const char *fmt)
{
    char *path = bt_path(name);
    g_autofree char *out = NULL;

    g_unlink(path);
    if (bt_qemu_img(&out, "create -q -f %s '%s' 1M", fmt, path) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    return path;
}

static void fill(const char *drive, uint64_t off, int c)
{
    g_autofree unsigned char *buf = g_malloc(CLUSTER);

    memset(buf, c, CLUSTER);
    g_assert_cmpint(blk_pwrite(blk_by_name(drive), off, CLUSTER, buf, 0,
                               NULL), ==, 0);
}

static void expect_bytes(BlockDriverState *bs, uint64_t off, int c)
{
    g_autofree unsigned char *buf = g_malloc(CLUSTER);

    g_assert_cmpint(bdrv_pread(bs, off, CLUSTER, buf, NULL), ==, 0);
    for (size_t i = 0; i < CLUSTER; i++) {
        g_assert_cmpint(buf[i], ==, c);
    }
}

/* Whether bs itself holds [off, off + CLUSTER) (not its backing). */
static bool allocated(BlockDriverState *bs, uint64_t off)
{
    uint64_t pnum;
    int st = bdrv_block_status(bs, off, CLUSTER, &pnum, NULL, NULL);

    g_assert_cmpint(st, >=, 0);
    return st & BDRV_BLOCK_ALLOCATED;
}

/* qemu-img info --output=json of path (without opening its backing). */
static json_object *image_info(const char *path)
{
    g_autofree char *out = NULL;
    json_object *info;

    g_assert_cmpint(bt_qemu_img(&out, "info -U --output=json '%s'", path),
                    ==, 0);
    info = json_tokener_parse(out);
    g_assert_nonnull(info);
    return info;
}

static const char *info_str(json_object *info, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(info, key, &v)
           ? json_object_get_string(v) : NULL;
}

static void test_blockdev_snapshot(void)
{
    Client *c = start();
    g_autofree char *base = new_image("bs-base.qcow2", "qcow2");
    g_autofree char *ov = new_image("bs-ov.qcow2", "qcow2");
    g_autofree char *ov2 = new_image("bs-ov2.qcow2", "qcow2");
    g_autofree char *raw = new_image("bs-r.raw", "raw");
    g_autofree char *drv = g_strdup_printf("if=none,id=drv0,format=qcow2,"
                                           "node-name=d0,file=%s", base);
    BlockDriverState *d0, *o1;

    g_assert_nonnull(drive_new(drv, &error_abort));
    bt_attach_guest(blk_by_name("drv0"));
    fill("drv0", 0, 0xaa);
    fill("drv0", CLUSTER, 0xbb);

    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'nope','overlay':'x'}}"),
          "Cannot find device='nope' nor node-name='nope'");
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'d0','overlay':'x'}}"),
          "Cannot find device='x' nor node-name='x'");
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'d0'}}"), "Parameter 'overlay' is missing");
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'d0','overlay':'d0','x':1}}"), "Parameter 'x' is unexpected");
    /* In use: by a drive (looked up by its name too), as a file child. */
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'d0','overlay':'drv0'}}"), "The overlay is already in use");
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'drv0','overlay':'%s'}}",
              bdrv_get_node_name(bdrv_file_bs(bdrv_find_node("d0")))),
          "The overlay is already in use");
    ok(c, qmp(c, "{'execute':'blockdev-add','arguments':{'driver':'raw',"
              "'node-name':'r0','file':{'driver':'file','filename':'%s'}}}",
              raw));
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'d0','overlay':'r0'}}"),
          "The overlay does not support backing images");
    ok(c, qmp(c, "{'execute':'blockdev-add','arguments':{'driver':'qcow2',"
              "'node-name':'ro','read-only':true,'file':{'driver':'file',"
              "'filename':'%s'},'backing':null}}", ov2));
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'d0','overlay':'ro'}}"), "Block node is read-only");
    ok(c, qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'ro'}}"));
    /* Nothing of that moved the drive. */
    g_assert_true(blk_bs(blk_by_name("drv0")) == bdrv_find_node("d0"));
    g_assert_false(bdrv_is_read_only(bdrv_find_node("d0")));

    ok(c, qmp(c, "{'execute':'blockdev-add','arguments':{'driver':'qcow2',"
              "'node-name':'o1','file':{'driver':'file','filename':'%s'},"
              "'backing':null}}", ov));
    ok(c, qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'drv0','overlay':'o1'}}"));
    d0 = bdrv_find_node("d0");
    o1 = bdrv_find_node("o1");
    g_assert_true(blk_bs(blk_by_name("drv0")) == o1);
    g_assert_true(bdrv_backing_bs(o1) == d0);
    g_assert_true(bdrv_is_read_only(d0));
    g_assert_false(bdrv_is_read_only(o1));
    /* Once done, both its nodes are taken. */
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'d0','overlay':'o1'}}"),
          "Node 'd0' is busy: node is used as backing hd of 'o1'");
    fails(qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'o1','overlay':'o1'}}"),
          "The overlay is already in use");
    fails(qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'d0'}}"), "Node 'd0' is busy: node is used as backing hd "
          "of 'o1'");
    {
        json_object *r = qmp(c, "{'execute':'query-block'}");
        json_object *in = member(json_object_array_get_idx(
            member(r, "return"), 0), "inserted");

        g_assert_cmpstr(json_object_get_string(member(in, "node-name")), ==,
                        "o1");
        g_assert_cmpstr(json_object_get_string(member(in, "backing_file")),
                        ==, base);
        g_assert_cmpint(json_object_get_int(member(in, "backing_file_depth")),
                        ==, 1);
        json_object_put(r);
    }

    fill("drv0", CLUSTER, 0xcc);
    expect_bytes(o1, 0, 0xaa);
    expect_bytes(o1, CLUSTER, 0xcc);
    expect_bytes(d0, CLUSTER, 0xbb);
    g_assert_false(allocated(o1, 0));
    g_assert_true(allocated(o1, CLUSTER));

    bt_detach_guest(blk_by_name("drv0"));
    g_assert_true(drive_del("drv0", &error_abort));
    ok(c, qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'o1'}}"));
    ok(c, qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'r0'}}"));
    g_assert_null(bdrv_next_node(NULL));
    bt_qemu_img_check(base);
    bt_qemu_img_check(ov);
    client_free(c);
}

static void test_blockdev_snapshot_sync(void)
{
    Client *c = start();
    g_autofree char *base = new_image("ss-base.qcow2", "qcow2");
    g_autofree char *s1 = bt_path("ss-s1.qcow2");
    g_autofree char *s2 = bt_path("ss-s2.qcow2");
    g_autofree char *ex = new_image("ss-existing.qcow2", "qcow2");
    g_autofree char *raw = new_image("ss-r.raw", "raw");
    g_autofree char *drv = g_strdup_printf("if=none,id=drv0,format=qcow2,"
                                           "node-name=d0,file=%s", base);
    json_object *info;
    struct stat st;

    g_assert_nonnull(drive_new(drv, &error_abort));
    bt_attach_guest(blk_by_name("drv0"));
    fill("drv0", 0, 0xaa);
    g_unlink(s1);
    g_unlink(s2);

    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'snapshot-file':'%s'}}", s1),
          "Cannot find device='' nor node-name=''");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'d0','snapshot-file':'%s'}}", s1),
          "Cannot find device='d0' nor node-name=''");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'node-name':'nope','snapshot-file':'%s'}}", s1),
          "Cannot find device='' nor node-name='nope'");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'node-name':'d0','snapshot-file':'%s'}}", s1),
          "New overlay node-name missing");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'node-name':'d0','snapshot-file':'%s','snapshot-node-name':"
              "'drv0'}}", s1), "New overlay node-name already in use");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'node-name':'d0','snapshot-file':'%s','snapshot-node-name':"
              "'d0'}}", s1), "New overlay node-name already in use");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s','format':'raw'}}", s1),
          "Backing file not supported for file format 'raw'");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s','format':'vmdk2'}}", s1),
          "Unknown file format 'vmdk2'");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s','mode':'foo'}}", s1),
          "Parameter 'mode' does not accept value 'foo'");
    g_assert_false(g_file_test(s1, G_FILE_TEST_EXISTS));
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s','mode':'existing',"
              "'format':'vmdk2'}}", ex), "Unknown driver 'vmdk2'");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s','mode':'existing',"
              "'format':'raw'}}", raw),
          "The overlay does not support backing images");
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s/no/such.qcow2'}}",
              bt_dir()),
          g_strdup_printf("Could not create '%s/no/such.qcow2': No such "
                          "file or directory", bt_dir()));
    /* A bad name fails at the open: the image made first stays (QEMU). */
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s','snapshot-node-name':"
              "'1bad'}}", s2), "Invalid node-name: '1bad'");
    g_assert_true(g_file_test(s2, G_FILE_TEST_EXISTS));
    /* The drive's own image is held: not recreated under it. */
    g_assert_cmpint(stat(base, &st), ==, 0);
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s'}}", base),
          g_strdup_printf("Failed to get \"write\" lock. Is another process "
                          "using the image [%s]?", base));
    {
        struct stat st2;

        g_assert_cmpint(stat(base, &st2), ==, 0);
        g_assert_cmpint(st2.st_size, ==, st.st_size);
    }
    /* Nor one a node of ours holds without locks (locking=off). */
    ok(c, qmp(c, "{'execute':'blockdev-add','arguments':{'driver':'raw',"
              "'node-name':'lk','file':{'driver':'file','filename':'%s',"
              "'locking':'off'}}}", raw));
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s'}}", raw),
          g_strdup_printf("Could not create '%s': the image is in use by "
                          "node 'lk'", raw));
    g_assert_cmpint(stat(raw, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 1 << 20);
    ok(c, qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'lk'}}"));
    g_assert_true(blk_bs(blk_by_name("drv0")) == bdrv_find_node("d0"));
    g_assert_false(bdrv_is_read_only(bdrv_find_node("d0")));

    /* By drive: the overlay's node name is generated. An existing file
     * nobody holds (s2, from above) is replaced, as QEMU does. */
    ok(c, qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s'}}", s2));
    g_assert_true(bdrv_backing_bs(blk_bs(blk_by_name("drv0"))) ==
                  bdrv_find_node("d0"));
    g_assert_true(bdrv_is_read_only(bdrv_find_node("d0")));
    g_assert_false(bdrv_is_read_only(blk_bs(blk_by_name("drv0"))));
    info = image_info(s2);
    g_assert_cmpstr(info_str(info, "format"), ==, "qcow2");
    g_assert_cmpstr(info_str(info, "backing-filename"), ==, base);
    g_assert_cmpstr(info_str(info, "backing-filename-format"), ==, "qcow2");
    g_assert_cmpint(json_object_get_int64(member(info, "virtual-size")), ==,
                    1 << 20);
    json_object_put(info);
    fill("drv0", CLUSTER, 0xdd);
    g_assert_true(allocated(blk_bs(blk_by_name("drv0")), CLUSTER));
    g_assert_false(allocated(blk_bs(blk_by_name("drv0")), 0));
    expect_bytes(blk_bs(blk_by_name("drv0")), 0, 0xaa);

    /* By node, over the overlay just made: a chain of three. */
    fails(qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'node-name':'d0','snapshot-file':'%s','snapshot-node-name':"
              "'s1'}}", s1), g_strdup_printf(
          "Node 'd0' is busy: node is used as backing hd of '%s'",
          bdrv_get_node_name(blk_bs(blk_by_name("drv0")))));
    ok(c, qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'node-name':'%s','snapshot-file':'%s','snapshot-node-name':"
              "'s1'}}", bdrv_get_node_name(blk_bs(blk_by_name("drv0"))),
              s1));
    g_assert_true(blk_bs(blk_by_name("drv0")) == bdrv_find_node("s1"));
    info = image_info(s1);
    g_assert_cmpstr(info_str(info, "backing-filename"), ==, s2);
    json_object_put(info);
    expect_bytes(bdrv_find_node("s1"), CLUSTER, 0xdd);

    /* mode=existing: the image is opened as it is, any backing name in
     * its header not followed. */
    ok(c, qmp(c, "{'execute':'blockdev-snapshot-sync','arguments':{"
              "'device':'drv0','snapshot-file':'%s','snapshot-node-name':"
              "'e1','mode':'existing'}}", ex));
    g_assert_true(blk_bs(blk_by_name("drv0")) == bdrv_find_node("e1"));
    g_assert_true(bdrv_backing_bs(bdrv_find_node("e1")) ==
                  bdrv_find_node("s1"));
    expect_bytes(bdrv_find_node("e1"), 0, 0xaa);
    /* Not the monitor's to delete: the drive owns it. */
    fails(qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'e1'}}"), "Node e1 is not owned by the monitor");

    bt_detach_guest(blk_by_name("drv0"));
    g_assert_true(drive_del("drv0", &error_abort));
    g_assert_null(bdrv_next_node(NULL));
    bt_qemu_img_check(base);
    bt_qemu_img_check(s1);
    bt_qemu_img_check(s2);
    client_free(c);
}

static void test_transaction(void)
{
    Client *c = start();
    g_autofree char *base = new_image("tx-base.qcow2", "qcow2");
    g_autofree char *base2 = new_image("tx-base2.qcow2", "qcow2");
    g_autofree char *ov = new_image("tx-ov.qcow2", "qcow2");
    g_autofree char *ov2 = new_image("tx-ov2.qcow2", "qcow2");
    g_autofree char *t1 = bt_path("tx-t1.qcow2");
    g_autofree char *t2 = bt_path("tx-t2.qcow2");
    g_autofree char *drv = g_strdup_printf("if=none,id=drv0,format=qcow2,"
                                           "node-name=d0,file=%s", base);
    g_autofree char *drv1 = g_strdup_printf("if=none,id=drv1,format=qcow2,"
                                            "node-name=d1,file=%s", base2);

    g_unlink(t1);
    g_unlink(t2);
    g_assert_nonnull(drive_new(drv, &error_abort));
    bt_attach_guest(blk_by_name("drv0"));
    g_assert_nonnull(drive_new(drv1, &error_abort));
    bt_attach_guest(blk_by_name("drv1"));
    ok(c, qmp(c, "{'execute':'blockdev-add','arguments':{'driver':'qcow2',"
              "'node-name':'o1','file':{'driver':'file','filename':'%s'},"
              "'backing':null}}", ov));
    ok(c, qmp(c, "{'execute':'blockdev-add','arguments':{'driver':'qcow2',"
              "'node-name':'o2','file':{'driver':'file','filename':'%s'},"
              "'backing':null}}", ov2));

    ok(c, qmp(c, "{'execute':'transaction','arguments':{'actions':[]}}"));
    fails(qmp(c, "{'execute':'transaction','arguments':{'actions':["
              "{'type':'abort','data':{}}]}}"),
          "Transaction aborted using Abort action");
    fails(qmp(c, "{'execute':'transaction','arguments':{'actions':["
              "{'type':'abort'}]}}"), "Parameter 'actions[0].data' is missing");
    fails(qmp(c, "{'execute':'transaction','arguments':{'actions':["
              "{'type':'drive-backup','data':{}}]}}"),
          "Parameter 'type' does not accept value 'drive-backup'");
    fails(qmp(c, "{'execute':'transaction','arguments':{'actions':["
              "{'type':'blockdev-snapshot','data':{'node':'d0','overlay':"
              "'o1'}}],'properties':{'completion-mode':'grouped'}}}"),
          "Action 'blockdev-snapshot' does not support Transaction property "
          "completion-mode = grouped");

    /* Two snapshots prepared, then the abort: both undone. */
    fails(qmp(c, "{'execute':'transaction','arguments':{'actions':["
              "{'type':'blockdev-snapshot','data':{'node':'d0','overlay':"
              "'o1'}},"
              "{'type':'blockdev-snapshot-sync','data':{'device':'drv1',"
              "'snapshot-file':'%s'}},"
              "{'type':'abort','data':{}}]}}", t1),
          "Transaction aborted using Abort action");
    g_assert_true(blk_bs(blk_by_name("drv0")) == bdrv_find_node("d0"));
    g_assert_true(blk_bs(blk_by_name("drv1")) == bdrv_find_node("d1"));
    g_assert_null(bdrv_backing_bs(bdrv_find_node("o1")));
    g_assert_false(bdrv_is_read_only(bdrv_find_node("d0")));
    g_assert_false(bdrv_is_read_only(bdrv_find_node("d1")));
    g_assert_cmpint(bdrv_refcount(bdrv_find_node("o1")), ==, 1);
    g_assert_true(g_file_test(t1, G_FILE_TEST_EXISTS));    /* as QEMU */
    /* Both drives still write their own images. */
    fill("drv0", 0, 0x11);
    fill("drv1", 0, 0x22);
    expect_bytes(bdrv_find_node("d0"), 0, 0x11);
    expect_bytes(bdrv_find_node("d1"), 0, 0x22);

    /* A later action fails on what an earlier one made: undone too. */
    fails(qmp(c, "{'execute':'transaction','arguments':{'actions':["
              "{'type':'blockdev-snapshot','data':{'node':'d0','overlay':"
              "'o1'}},"
              "{'type':'blockdev-snapshot','data':{'node':'d0','overlay':"
              "'o2'}}]}}"),
          "Node 'd0' is busy: node is used as backing hd of 'o1'");
    g_assert_true(blk_bs(blk_by_name("drv0")) == bdrv_find_node("d0"));
    g_assert_null(bdrv_backing_bs(bdrv_find_node("o1")));

    /* A chain and a second drive, all at once. */
    ok(c, qmp(c, "{'execute':'transaction','arguments':{'actions':["
              "{'type':'blockdev-snapshot','data':{'node':'d0','overlay':"
              "'o1'}},"
              "{'type':'blockdev-snapshot','data':{'node':'o1','overlay':"
              "'o2'}},"
              "{'type':'blockdev-snapshot-sync','data':{'node-name':'d1',"
              "'snapshot-file':'%s','snapshot-node-name':'t2'}}],"
              "'properties':{'completion-mode':'individual'}}}", t2));
    g_assert_true(blk_bs(blk_by_name("drv0")) == bdrv_find_node("o2"));
    g_assert_true(bdrv_backing_bs(bdrv_find_node("o2")) ==
                  bdrv_find_node("o1"));
    g_assert_true(bdrv_backing_bs(bdrv_find_node("o1")) ==
                  bdrv_find_node("d0"));
    g_assert_true(bdrv_is_read_only(bdrv_find_node("o1")));
    g_assert_true(bdrv_is_read_only(bdrv_find_node("d0")));
    g_assert_true(blk_bs(blk_by_name("drv1")) == bdrv_find_node("t2"));
    expect_bytes(bdrv_find_node("o2"), 0, 0x11);
    expect_bytes(bdrv_find_node("t2"), 0, 0x22);

    bt_detach_guest(blk_by_name("drv0"));
    g_assert_true(drive_del("drv0", &error_abort));
    bt_detach_guest(blk_by_name("drv1"));
    g_assert_true(drive_del("drv1", &error_abort));
    ok(c, qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'o2'}}"));
    ok(c, qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'o1'}}"));
    g_assert_null(bdrv_next_node(NULL));
    bt_qemu_img_check(t2);
    client_free(c);
}

static char *hmp(Client *c, const char *cmd)
{
    json_object *resp = qmp(c, "{'execute':'human-monitor-command',"
                            "'arguments':{'command-line':'%s'}}", cmd);
    char *out = g_strdup(json_object_get_string(member(resp, "return")));

    json_object_put(resp);
    return out;
}

static void expect_hmp(Client *c, const char *cmd, const char *want)
{
    g_autofree char *out = hmp(c, cmd);

    g_assert_cmpstr(out, ==, want);
}

static void test_hmp(void)
{
    Client *c = start();
    g_autofree char *base = new_image("hmp-base.qcow2", "qcow2");
    g_autofree char *ex = new_image("hmp-ex.qcow2", "qcow2");
    g_autofree char *h1 = bt_path("hmp-h1.qcow2");
    g_autofree char *drv = g_strdup_printf("if=none,id=drv0,format=qcow2,"
                                           "node-name=d0,file=%s", base);
    g_autofree char *cmd = NULL, *want = NULL, *help = NULL;
    json_object *info;

    g_unlink(h1);
    g_assert_nonnull(drive_new(drv, &error_abort));
    help = hmp(c, "help snapshot_blkdev");
    g_assert_true(g_str_has_prefix(help, "snapshot_blkdev [-n] device "
                                   "[new-image-file] [format] -- "));
    expect_hmp(c, "snapshot_blkdev drv0",
               "Error: Parameter 'snapshot-file' is missing\r\n");
    expect_hmp(c, "snapshot_blkdev -n drv0",
               "Error: Parameter 'snapshot-file' is missing\r\n");
    expect_hmp(c, "snapshot_blkdev",
               "Error: usage: snapshot_blkdev [-n] device [new-image-file] "
               "[format]\r\n");
    cmd = g_strdup_printf("snapshot_blkdev d0 %s", h1);
    expect_hmp(c, cmd, "Error: Cannot find device='d0' nor "
               "node-name=''\r\n");
    g_free(cmd);
    cmd = g_strdup_printf("snapshot_blkdev drv0 %s raw", h1);
    expect_hmp(c, cmd, "Error: Backing file not supported for file format "
               "'raw'\r\n");
    g_free(cmd);
    cmd = g_strdup_printf("snapshot_blkdev drv0 %s qcow2 extra", h1);
    expect_hmp(c, cmd, "Error: usage: snapshot_blkdev [-n] device "
               "[new-image-file] [format]\r\n");
    g_free(cmd);

    cmd = g_strdup_printf("snapshot_blkdev drv0 %s", h1);
    expect_hmp(c, cmd, "");
    info = image_info(h1);
    g_assert_cmpstr(info_str(info, "backing-filename"), ==, base);
    json_object_put(info);
    g_free(cmd);
    cmd = g_strdup_printf("snapshot_blkdev -n drv0 %s qcow2", ex);
    expect_hmp(c, cmd, "");
    /* info block shows the chain. */
    {
        g_autofree char *out = hmp(c, "info block");

        want = g_strdup_printf("Backing file:     %s (chain depth: 2)", h1);
        g_assert_nonnull(strstr(out, want));
        g_assert_nonnull(strstr(out, ex));
    }
    g_assert_true(drive_del("drv0", &error_abort));
    g_assert_null(bdrv_next_node(NULL));
    bt_qemu_img_check(h1);
    client_free(c);
}

static void test_read_only_overlay_on_bare_drive(void)
{
    Client *c = start();
    g_autofree char *base = new_image("rob-base.raw", "raw");
    g_autofree char *ov = new_image("rob-ov.qcow2", "qcow2");
    g_autofree char *drv = g_strdup_printf("if=none,id=drv2,format=raw,"
                                           "node-name=b2,file=%s", base);
    g_autofree unsigned char *buf = g_malloc0(CLUSTER);
    BlockBackend *blk;
    json_object *r;
    int dev;

    blk = drive_new(drv, &error_abort);
    ok(c, qmp(c, "{'execute':'blockdev-add','arguments':{'driver':'qcow2',"
              "'node-name':'rob','read-only':true,'file':{'driver':'file',"
              "'filename':'%s'},'backing':null}}", ov));
    ok(c, qmp(c, "{'execute':'blockdev-snapshot','arguments':{'node':"
              "'drv2','overlay':'rob'}}"));
    g_assert_true(blk_bs(blk) == bdrv_find_node("rob"));
    g_assert_true(bdrv_backing_bs(bdrv_find_node("rob")) ==
                  bdrv_find_node("b2"));
    r = qmp(c, "{'execute':'query-block'}");
    g_assert_true(json_object_get_boolean(member(member(
        json_object_array_get_idx(member(r, "return"), 0), "inserted"),
        "ro")));
    json_object_put(r);
    /* A device on it now can only read. */
    g_assert_true(blk_attach_dev(blk, &dev, NULL, false, &error_abort));
    g_assert_false(blk_is_writable(blk));
    g_assert_cmpint(blk_pwrite(blk, 0, CLUSTER, buf, 0, NULL), <, 0);
    g_assert_cmpint(blk_pread(blk, 0, CLUSTER, buf, &error_abort), ==, 0);
    blk_detach_dev(blk, &dev);
    g_assert_true(drive_del("drv2", &error_abort));
    ok(c, qmp(c, "{'execute':'blockdev-del','arguments':{'node-name':"
              "'rob'}}"));
    g_assert_null(bdrv_next_node(NULL));
    client_free(c);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/snapshot/blockdev-snapshot",
                    test_blockdev_snapshot);
    g_test_add_func("/block/snapshot/blockdev-snapshot-sync",
                    test_blockdev_snapshot_sync);
    g_test_add_func("/block/snapshot/read-only-overlay-on-bare-drive",
                    test_read_only_overlay_on_bare_drive);
    g_test_add_func("/block/snapshot/transaction", test_transaction);
    g_test_add_func("/block/snapshot/hmp", test_hmp);
    return qmp_test_run();
}
