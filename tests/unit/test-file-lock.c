/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Image locking (block/file-lock.h, block/permission.h), in-process: OFD
 * locks belong to the open file description, so two nodes on one image
 * in this process conflict exactly as two processes do. Every case also
 * looks at the lock bytes themselves from a third, independent fd (the
 * bytes QEMU's tools test), so a scheme that only agreed with itself
 * would fail here.
 *
 * - write vs write: a second exclusive writer is refused with QEMU's
 *   'Failed to get "write" lock' and the hint naming the image; the
 *   refused open leaves no lock behind;
 * - read vs read: read-only users never block each other;
 * - write vs read, by the shared bits: a plain read-only user gets in
 *   beside an exclusive writer, a read-only guest device (which does not
 *   share write) does not ('shared "write"'); two share-rw writers do;
 * - qcow2 owns its file: write and resize held, neither shared;
 * - a backing file as QEMU's: claimed after the overlay's users (nothing
 *   while it has none, so a writer elsewhere does not stop it opening),
 *   unchanging only for users that do not share write;
 * - inactive nodes hold nothing: the handover of shared-storage
 *   migration, and activation refused while the peer holds the image;
 * - a -drive alone claims consistent read and shares everything (QEMU's
 *   byte 100 only): another writer may hold the image, and then the
 *   device that attaches is refused, naming node and file; with the
 *   image free the device claims write and detaching gives it back;
 * - a read-only node made writable (a commit's base) and back: the
 *   image's locks follow, and another reader that does not share write
 *   makes it refuse, nothing changed;
 * - the locks go with the last user and with close;
 * - locking=off takes and checks nothing; locking=on works here.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "block/activation.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockdev.h"
#include "block/permission.h"
#include "util/main-loop.h"
#include "block-test-util.h"

/* Whether some open file description locks byte off of path. */
static bool byte_locked(const char *path, off_t off)
{
    struct flock fl = {
        .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1,
    };
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fcntl(fd, F_OFD_GETLK, &fl), ==, 0);
    close(fd);
    return fl.l_type != F_UNLCK;
}

/* The lock bytes of path as two masks: held (100 + b), unshared (200 + b). */
static void lock_bytes(const char *path, uint64_t *held, uint64_t *unshared)
{
    *held = *unshared = 0;
    for (unsigned b = 0; b < BLK_PERM_BITS; b++) {
        *held |= byte_locked(path, 100 + b) ? 1u << b : 0;
        *unshared |= byte_locked(path, 200 + b) ? 1u << b : 0;
    }
}

static void assert_bytes(const char *path, uint64_t held, uint64_t unshared)
{
    uint64_t h, u;

    lock_bytes(path, &h, &u);
    g_assert_cmphex(h, ==, held);
    g_assert_cmphex(u, ==, unshared);
}

static char *new_raw(const char *name)
{
    char *path = bt_path(name);

    bt_make_pattern_file(path, 1024 * 1024, 1);
    return path;
}

static BlockDriverState *open_raw(const char *path, bool ro,
                                  const char *locking)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"raw\",\"read-only\":%s,\"file\":{\"driver\":\"file\","
        "\"filename\":\"%s\",\"locking\":\"%s\"}}", ro ? "true" : "false",
        path, locking);

    return bt_open(json);
}

/* A user as a guest device is: writable ones claim write for themselves. */
static BlockBackend *user(BlockDriverState *bs, bool writable, bool share_rw,
                          Error **errp)
{
    return blk_new(NULL, bs, writable, share_rw, errp);
}

static void expect_error(Error **errp, const char *part, const char *path)
{
    Error *err = *errp;
    g_autofree char *hint = g_strdup_printf("Is another process using the "
                                            "image [%s]?", path);

    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), part) ||
        !strstr(error_get_pretty(err), hint)) {
        g_error("error '%s' lacks '%s' or its hint", error_get_pretty(err),
                part);
    }
    error_free(err);
    *errp = NULL;
}

static void test_write_vs_write(void)
{
    g_autofree char *path = new_raw("ww.img");
    BlockDriverState *a = open_raw(path, false, "auto");
    BlockDriverState *b = open_raw(path, false, "auto");
    BlockBackend *blk_a, *blk_b;
    Error *err = NULL;

    /* Nodes without users lock nothing (as QEMU's -blockdev alone). */
    assert_bytes(path, 0, 0);
    blk_a = user(a, true, false, &error_abort);
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                 BLK_PERM_WRITE);
    g_assert_null(user(b, true, false, &err));
    expect_error(&err, "Failed to get \"write\" lock", path);
    /* A writer that shares writing is still refused: a does not share. */
    g_assert_null(user(b, true, true, &err));
    expect_error(&err, "Failed to get \"write\" lock", path);
    /* The refusals left nothing: a's users gone, the image is free. */
    blk_unref(blk_a);
    assert_bytes(path, 0, 0);
    blk_b = user(b, true, false, &error_abort);
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                 BLK_PERM_WRITE);
    blk_unref(blk_b);
    bdrv_unref(a);
    bdrv_unref(b);
    assert_bytes(path, 0, 0);
}

static void test_read_vs_read(void)
{
    g_autofree char *path = new_raw("rr.img");
    BlockDriverState *a = open_raw(path, true, "auto");
    BlockDriverState *b = open_raw(path, true, "auto");
    BlockBackend *blk_a = user(a, false, false, &error_abort);
    BlockBackend *blk_b = user(b, false, false, &error_abort);
    BlockBackend *dev_a = user(a, false, false, &error_abort);
    BlockBackend *dev_b = user(b, false, false, &error_abort);
    int dev;

    assert_bytes(path, BLK_PERM_CONSISTENT_READ, 0);
    /* Read-only guest devices on both: neither shares write, none holds. */
    g_assert_true(blk_attach_dev(dev_a, &dev, "/dev-a", false,
                                 &error_abort));
    g_assert_true(blk_attach_dev(dev_b, &dev, "/dev-b", false,
                                 &error_abort));
    assert_bytes(path, BLK_PERM_CONSISTENT_READ, BLK_PERM_WRITE);
    blk_detach_dev(dev_a, &dev);
    blk_detach_dev(dev_b, &dev);
    assert_bytes(path, BLK_PERM_CONSISTENT_READ, 0);
    blk_unref(dev_a);
    blk_unref(dev_b);
    blk_unref(blk_a);
    blk_unref(blk_b);
    bdrv_unref(a);
    bdrv_unref(b);
}

static void test_write_vs_read(void)
{
    g_autofree char *path = new_raw("wr.img");
    BlockDriverState *w = open_raw(path, false, "auto");
    BlockDriverState *r = open_raw(path, true, "auto");
    BlockDriverState *w2 = open_raw(path, false, "auto");
    BlockBackend *blk_w = user(w, true, false, &error_abort);
    BlockBackend *blk_r, *blk_w2, *dev_r;
    Error *err = NULL;
    int dev;

    /* A writer shares consistent read: a plain reader gets in... */
    blk_r = user(r, false, false, &error_abort);
    /* ...but not a read-only guest device, which does not share write. */
    dev_r = user(r, false, false, &error_abort);
    g_assert_false(blk_attach_dev(dev_r, &dev, "/dev-r", false, &err));
    expect_error(&err, "Failed to get shared \"write\" lock", path);
    g_assert_null(blk_get_attached_dev(dev_r));
    /* With share-rw=on it may: it accepts that the image changes. */
    g_assert_true(blk_attach_dev(dev_r, &dev, "/dev-r", true,
                                 &error_abort));
    blk_unref(dev_r);
    blk_unref(blk_r);
    blk_unref(blk_w);
    assert_bytes(path, 0, 0);

    /* Two writers that both share writing (share-rw=on both sides). */
    blk_w = user(w, true, true, &error_abort);
    blk_w2 = user(w2, true, true, &error_abort);
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE, 0);
    /* A reader that does not share write cannot join them. */
    dev_r = user(r, false, false, &error_abort);
    g_assert_false(blk_attach_dev(dev_r, &dev, "/dev-r", false, &err));
    expect_error(&err, "Failed to get shared \"write\" lock", path);
    blk_unref(dev_r);
    blk_unref(blk_w2);
    blk_unref(blk_w);
    bdrv_unref(w);
    bdrv_unref(w2);
    bdrv_unref(r);
    assert_bytes(path, 0, 0);
}

static char *new_qcow2(const char *name)
{
    char *path = bt_path(name);
    g_autofree char *out = NULL;

    if (bt_qemu_img(&out, "create -q -f qcow2 '%s' 16M", path) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    return path;
}

static BlockDriverState *open_qcow2(const char *path, bool ro, bool active)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"read-only\":%s,\"active\":%s,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}",
        ro ? "true" : "false", active ? "true" : "false", path);

    return bt_open(json);
}

static void test_qcow2_owns_file(void)
{
    g_autofree char *path = new_qcow2("own.qcow2");
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\","
        "\"filename\":\"%s\"}}", path);
    BlockDriverState *w = open_qcow2(path, false, true);
    BlockDriverState *r;

    /* Without any user: qcow2 writes its metadata, so it owns the file. */
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                 BLK_PERM_RESIZE, BLK_PERM_WRITE | BLK_PERM_RESIZE);
    bt_open_fails(json, "Failed to get \"write\" lock");
    /* A read-only qcow2 needs the metadata not to change: refused too. */
    g_free(json);
    json = g_strdup_printf("{\"driver\":\"qcow2\",\"read-only\":true,"
                           "\"file\":{\"driver\":\"file\","
                           "\"filename\":\"%s\"}}", path);
    bt_open_fails(json, "Failed to get shared \"write\" lock");
    bdrv_unref(w);
    assert_bytes(path, 0, 0);
    /* Read-only ones side by side, as two qemu-img info. */
    r = open_qcow2(path, true, true);
    w = open_qcow2(path, true, true);
    assert_bytes(path, BLK_PERM_CONSISTENT_READ,
                 BLK_PERM_WRITE | BLK_PERM_RESIZE);
    bdrv_unref(r);
    bdrv_unref(w);
    bt_qemu_img_check(path);
}

static void test_backing_follows_overlay_users(void)
{
    g_autofree char *base = new_raw("bk-base.img");
    g_autofree char *ov = bt_path("bk-ov.qcow2");
    g_autofree char *out = NULL;
    BlockDriverState *other = open_raw(base, false, "auto");
    BlockBackend *writer = user(other, true, true, &error_abort);
    BlockDriverState *top;
    BlockBackend *guest;
    Error *err = NULL;

    if (bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F raw '%s'", base,
                    ov) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    /* Nobody uses the overlay: it claims nothing of its backing file. */
    top = open_qcow2(ov, false, true);
    assert_bytes(base, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE, 0);
    /* A device that does not share write wants it unchanging: refused. */
    g_assert_null(user(top, true, false, &err));
    expect_error(&err, "Failed to get shared \"write\" lock", base);
    /* One that shares write accepts a changing backing file too. */
    guest = user(top, true, true, &error_abort);
    assert_bytes(base, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE, 0);
    blk_unref(guest);
    blk_unref(writer);
    bdrv_unref(other);
    assert_bytes(base, 0, 0);
    guest = user(top, true, false, &error_abort);
    assert_bytes(base, BLK_PERM_CONSISTENT_READ,
                 BLK_PERM_WRITE | BLK_PERM_RESIZE);
    blk_unref(guest);
    assert_bytes(base, 0, 0);
    bdrv_unref(top);
    bt_qemu_img_check(ov);
}

/*
 * A node opened read-only made writable for a job (a commit's base) and
 * read-only again: the image goes from a reader's locks to a writer's
 * and back, the node writes (through a file reopened for writing), and
 * another open that holds the image without sharing write makes it
 * refuse with the locks and the node left as they were.
 */
static void test_make_writable(void)
{
    g_autofree char *path = new_qcow2("rw.qcow2");
    const uint64_t reader = BLK_PERM_CONSISTENT_READ;
    const uint64_t writer = reader | BLK_PERM_WRITE | BLK_PERM_RESIZE;
    const uint64_t unshared = BLK_PERM_WRITE | BLK_PERM_RESIZE;
    BlockDriverState *bs = open_qcow2(path, true, true);
    BlockDriverState *other;
    Error *err = NULL;
    char buf[512] = { 0x5a };

    assert_bytes(path, reader, unshared);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, 0, NULL), ==,
                    -EPERM);
    g_assert_true(bdrv_make_writable(bs, &error_abort));
    g_assert_false(bdrv_is_read_only(bs));
    g_assert_false(bdrv_is_read_only(bdrv_file_bs(bs)));
    assert_bytes(path, writer, unshared);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, 0, &error_abort),
                    ==, 0);
    g_assert_true(bdrv_make_read_only(bs, &error_abort));
    g_assert_true(bdrv_is_read_only(bdrv_file_bs(bs)));
    assert_bytes(path, reader, unshared);
    /* Again, now the file descriptor is writable already. */
    g_assert_true(bdrv_make_writable(bs, &error_abort));
    assert_bytes(path, writer, unshared);
    g_assert_true(bdrv_make_read_only(bs, &error_abort));

    /* A second reader that does not share write (as qemu-io -r). */
    other = open_qcow2(path, true, true);
    g_assert_false(bdrv_make_writable(bs, &err));
    expect_error(&err, "Failed to get \"write\" lock", path);
    g_assert_true(bdrv_is_read_only(bs));
    g_assert_true(bdrv_is_read_only(bdrv_file_bs(bs)));
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, 0, NULL), ==,
                    -EPERM);
    bdrv_unref(other);
    assert_bytes(path, reader, unshared);
    bdrv_unref(bs);
    assert_bytes(path, 0, 0);
    bt_qemu_img_check(path);
    bs = open_qcow2(path, true, true);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, &error_abort), ==,
                    0);
    g_assert_cmpint(buf[0], ==, 0x5a);
    bdrv_unref(bs);

    /* An image with internal snapshots (qemu-img's) is made writable
     * as well, since qcow2 keeps snapshots whole on write. */
    {
        g_autofree char *out = NULL;

        g_assert_cmpint(bt_qemu_img(&out, "snapshot -c s1 '%s'", path), ==,
                        0);
    }
    bs = open_qcow2(path, true, true);
    g_assert_true(bdrv_make_writable(bs, &error_abort));
    assert_bytes(path, writer, unshared);
    g_assert_true(bdrv_make_read_only(bs, &error_abort));
    assert_bytes(path, reader, unshared);
    bdrv_unref(bs);
    bt_qemu_img_check(path);
}

/* Shared-storage migration's handover between two graphs on one image. */
static void test_inactive_releases(void)
{
    g_autofree char *path = new_qcow2("mig.qcow2");
    BlockDriverState *src = open_qcow2(path, false, true);
    BlockDriverState *dst = open_qcow2(path, false, false);
    BlockBackend *guest = user(src, true, false, &error_abort);
    Error *err = NULL;

    /* The inactive destination holds nothing, so it could open. */
    g_assert_false(bdrv_activate(dst, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "could not activate"));
    expect_error(&err, "Failed to get \"write\" lock", path);
    g_assert_false(bdrv_is_active(dst));
    /* Switchover: the source lets go, the destination takes over. */
    g_assert_true(bdrv_inactivate(src, &error_abort));
    assert_bytes(path, 0, 0);
    g_assert_true(bdrv_activate(dst, &error_abort));
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                 BLK_PERM_RESIZE, BLK_PERM_WRITE | BLK_PERM_RESIZE);
    /* The source cannot take it back while the destination runs. */
    g_assert_false(bdrv_activate(src, &err));
    expect_error(&err, "Failed to get \"write\" lock", path);
    g_assert_false(bdrv_is_active(src));
    /* Migration back. */
    g_assert_true(bdrv_inactivate(dst, &error_abort));
    g_assert_true(bdrv_activate(src, &error_abort));
    blk_unref(guest);
    bdrv_unref(src);
    bdrv_unref(dst);
    assert_bytes(path, 0, 0);
    bt_qemu_img_check(path);
}

static void test_drive_claims_at_attach(void)
{
    g_autofree char *path = new_raw("drive.img");
    g_autofree char *spec = g_strdup_printf(
        "if=none,id=ld0,node-name=ln0,format=raw,file=%s", path);
    BlockBackend *drive = drive_new(spec, &error_abort);
    BlockDriverState *other = open_raw(path, false, "auto");
    BlockBackend *writer;
    Error *err = NULL;
    int dev;

    assert_bytes(path, BLK_PERM_CONSISTENT_READ, 0);
    g_assert_false(blk_is_writable(drive));
    /* Another process may write the image beside a drive nobody uses... */
    writer = user(other, true, false, &error_abort);
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                 BLK_PERM_WRITE);
    /* ...and the guest device that attaches then is refused. */
    g_assert_false(blk_attach_dev(drive, &dev, "/vd0", false, &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "node 'ln0' (file '"));
    expect_error(&err, "Failed to get \"write\" lock", path);
    g_assert_null(blk_get_attached_dev(drive));
    g_assert_false(blk_is_writable(drive));
    blk_unref(writer);
    bdrv_unref(other);
    assert_bytes(path, BLK_PERM_CONSISTENT_READ, 0);

    /* The image free, the device claims write and shares it with nobody. */
    g_assert_true(blk_attach_dev(drive, &dev, "/vd0", false, &error_abort));
    g_assert_true(blk_is_writable(drive));
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                 BLK_PERM_WRITE);
    /* Detached, the drive is back to its own claim. */
    blk_detach_dev(drive, &dev);
    g_assert_false(blk_is_writable(drive));
    assert_bytes(path, BLK_PERM_CONSISTENT_READ, 0);
    g_assert_true(drive_del("ld0", &error_abort));
    assert_bytes(path, 0, 0);
}

static void test_locking_off(void)
{
    g_autofree char *path = new_raw("off.img");
    BlockDriverState *a = open_raw(path, false, "on");
    BlockDriverState *b = open_raw(path, false, "off");
    BlockBackend *blk_a = user(a, true, false, &error_abort);
    BlockBackend *blk_b;

    /* locking=on works on this filesystem (OFD locks, as auto found). */
    assert_bytes(path, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                 BLK_PERM_WRITE);
    /* b neither checks a's locks... */
    blk_b = user(b, true, false, &error_abort);
    blk_unref(blk_a);
    bdrv_unref(a);
    /* ...nor takes any of its own. */
    assert_bytes(path, 0, 0);
    blk_unref(blk_b);
    bdrv_unref(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    g_test_add_func("/file-lock/write-vs-write", test_write_vs_write);
    g_test_add_func("/file-lock/read-vs-read", test_read_vs_read);
    g_test_add_func("/file-lock/write-vs-read", test_write_vs_read);
    g_test_add_func("/file-lock/qcow2-owns-file", test_qcow2_owns_file);
    g_test_add_func("/file-lock/backing-follows-overlay-users",
                    test_backing_follows_overlay_users);
    g_test_add_func("/file-lock/make-writable", test_make_writable);
    g_test_add_func("/file-lock/inactive-releases", test_inactive_releases);
    g_test_add_func("/file-lock/drive-claims-at-attach",
                    test_drive_claims_at_attach);
    g_test_add_func("/file-lock/locking-off", test_locking_off);
    return g_test_run();
}
