/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 internal snapshots (block/qcow2-snapshot.c) against Debian's
 * qemu-img as the peer: snapshots we take are listed by `qemu-img
 * snapshot -l`, `qemu-img snapshot -a` brings back what the disk held
 * when we took them while the active image keeps every later write (so
 * shared clusters were copied, not overwritten), `qemu-img check` finds
 * neither errors nor leaks after taking and after deleting, and images
 * whose snapshots qemu-img made open and take writes. Each image is
 * judged against raw files written alongside it. No /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/internal-snapshot.h"
#include "util/main-loop.h"
#include "block-test-util.h"

/* An image and a raw file that receives the same writes. */
typedef struct Img {
    char *path;
    char *raw;
    BlockDriverState *bs;
    uint64_t size;
} Img;

static void img_open(Img *im)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"sn\",\"file\":"
        "{\"driver\":\"file\",\"filename\":\"%s\"}}", im->path);

    im->bs = bt_open(json);
}

static void img_close(Img *im)
{
    bdrv_unref(im->bs);
    im->bs = NULL;
}

static void img_new(Img *im, const char *name, const char *opts,
                    uint64_t size)
{
    g_autofree char *out = NULL;

    im->path = bt_path(name);
    im->raw = g_strconcat(im->path, ".raw", NULL);
    im->size = size;
    if (bt_qemu_img(&out, "create -q -f qcow2 %s '%s' %" G_GUINT64_FORMAT,
                    opts, im->path, size) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    g_assert_true(g_file_set_contents(im->raw, "", 0, NULL));
    g_assert_cmpint(truncate(im->raw, size), ==, 0);
    img_open(im);
}

static void img_free(Img *im)
{
    g_free(im->path);
    g_free(im->raw);
}

static void raw_pwrite(const char *raw, uint64_t off, uint64_t len,
                       const void *buf)
{
    int fd = open(raw, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, buf, len, off), ==, (ssize_t)len);
    close(fd);
}

static void img_write(Img *im, uint64_t off, uint64_t len, int seed)
{
    g_autofree unsigned char *buf = g_malloc(len);

    for (uint64_t i = 0; i < len; i++) {
        buf[i] = bt_pattern(off + i, seed);
    }
    g_assert_cmpint(bdrv_pwrite(im->bs, off, len, buf, 0, &error_abort),
                    ==, 0);
    raw_pwrite(im->raw, off, len, buf);
}

static void img_zero(Img *im, uint64_t off, uint64_t len, bool discard)
{
    g_autofree unsigned char *zero = g_malloc0(len);

    if (discard) {
        g_assert_cmpint(bdrv_pdiscard(im->bs, off, len, &error_abort), ==,
                        0);
    } else {
        g_assert_cmpint(bdrv_pwrite_zeroes(im->bs, off, len,
                                           BDRV_REQ_MAY_UNMAP, &error_abort),
                        ==, 0);
    }
    raw_pwrite(im->raw, off, len, zero);
}

/* The raw file as it is now, kept as what snapshot tag must bring back. */
static char *raw_keep(Img *im, const char *tag)
{
    g_autofree char *contents = NULL;
    char *copy = g_strdup_printf("%s.%s", im->raw, tag);
    gsize len;

    g_assert_true(g_file_get_contents(im->raw, &contents, &len, NULL));
    g_assert_true(g_file_set_contents(copy, contents, len, NULL));
    return copy;
}

static void take(Img *im, const char *name, const char *want_id)
{
    BdrvSnapshot sn = { .name = g_strdup(name), .date_sec = 1700000000,
                        .date_nsec = 5000, .icount = -1 };

    g_assert_true(bdrv_snapshot_create(im->bs, &sn, &error_abort));
    g_assert_cmpstr(sn.id, ==, want_id);
    bdrv_snapshot_clear(&sn);
}

static void drop(Img *im, const char *id)
{
    g_assert_true(bdrv_snapshot_delete(im->bs, id, &error_abort));
}

static void compare(const char *image, const char *raw)
{
    g_autofree char *out = NULL;

    if (bt_qemu_img(&out, "compare -f qcow2 -F raw '%s' '%s'", image,
                    raw) != 0) {
        g_error("qemu-img compare %s %s: %s", image, raw, out);
    }
}

/* qemu-img reverts a copy of the image to snapshot tag: it holds raw. */
static void check_revert(Img *im, const char *tag, const char *raw)
{
    g_autofree char *copy = g_strdup_printf("%s.revert", im->path);
    g_autofree char *contents = NULL;
    g_autofree char *out = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(im->path, &contents, &len, NULL));
    g_assert_true(g_file_set_contents(copy, contents, len, NULL));
    if (bt_qemu_img(&out, "snapshot -a '%s' '%s'", tag, copy) != 0) {
        g_error("qemu-img snapshot -a %s: %s", tag, out);
    }
    bt_qemu_img_check(copy);
    compare(copy, raw);
    g_unlink(copy);
}

/* Closed, clean, and the active image holds what the raw file holds. */
static void check_closed(Img *im)
{
    img_close(im);
    bt_qemu_img_check(im->path);
    compare(im->path, im->raw);
}

static char *snapshot_list(const char *path)
{
    char *out = NULL;

    g_assert_cmpint(bt_qemu_img(&out, "snapshot -l '%s'", path), ==, 0);
    return out;
}

/*
 * Take, write over every kind of cluster the snapshot shares (partial
 * and whole, across L2 tables, zeroed, discarded, new ones), revert.
 */
static void test_take_write_revert(gconstpointer data)
{
    const char *opts = data;
    Img im;
    g_autofree char *at1 = NULL;
    g_autofree char *out = NULL;
    g_autofree char *info = NULL;

    img_new(&im, "twr.qcow2", opts, 8 << 20);
    img_write(&im, 0, 200000, 1);
    img_write(&im, (2 << 20) - 5000, 10000, 2);    /* across an L2 (4k) */
    img_write(&im, 5 << 20, 65536 * 3, 3);
    take(&im, "first", "1");
    at1 = raw_keep(&im, "first");

    img_write(&im, 100, 1000, 4);                  /* partial, shared */
    img_write(&im, 65536, 65536, 5);               /* whole, shared */
    img_write(&im, (2 << 20) - 100, 200, 6);
    img_write(&im, 7 << 20, 4096, 7);              /* not shared: new */
    img_zero(&im, 5 << 20, 65536, false);
    img_zero(&im, (5 << 20) + 131072, 65536, true);
    img_write(&im, 100, 1000, 8);                  /* now our own copy */
    check_closed(&im);

    out = snapshot_list(im.path);
    g_assert_nonnull(strstr(out, "first"));
    g_assert_nonnull(strstr(out, "0 B"));          /* no VM state */
    g_assert_cmpint(bt_qemu_img(&info, "info --output=json '%s'", im.path),
                    ==, 0);
    g_assert_nonnull(strstr(info, "\"name\": \"first\""));
    g_assert_nonnull(strstr(info, "\"date-sec\": 1700000000"));
    g_assert_nonnull(strstr(info, "\"vm-state-size\": 0"));
    check_revert(&im, "first", at1);

    /* Reopened, the table is read back and a second one is numbered 2. */
    img_open(&im);
    take(&im, "second", "2");
    img_write(&im, 0, 300000, 9);
    check_closed(&im);
    check_revert(&im, "first", at1);
    img_free(&im);
}

/*
 * Deleting gives back every cluster only the snapshot held and the
 * COPIED flags of clusters the active image alone uses again: a rewrite
 * then goes in place (the file does not grow).
 */
static void test_delete(void)
{
    Img im;
    g_autofree char *at2 = NULL;
    g_autofree char *out = NULL;
    struct stat st1, st2;

    img_new(&im, "del.qcow2", "", 4 << 20);
    img_write(&im, 0, 1 << 20, 1);
    take(&im, "a", "1");
    img_write(&im, 0, 300000, 2);
    take(&im, "b", "2");
    at2 = raw_keep(&im, "b");
    img_write(&im, 65536, 65536, 3);
    drop(&im, "1");
    check_closed(&im);
    out = snapshot_list(im.path);
    g_assert_null(strstr(out, " a "));
    g_assert_nonnull(strstr(out, " b "));
    check_revert(&im, "b", at2);

    img_open(&im);
    drop(&im, "2");
    check_closed(&im);
    g_free(out);
    out = snapshot_list(im.path);
    g_assert_null(strstr(out, " b "));

    /* Nothing is shared any more: writing everything again allocates
     * nothing. */
    g_assert_cmpint(stat(im.path, &st1), ==, 0);
    img_open(&im);
    img_write(&im, 0, 1 << 20, 4);
    check_closed(&im);
    g_assert_cmpint(stat(im.path, &st2), ==, 0);
    g_assert_cmpint(st2.st_size, ==, st1.st_size);
    img_free(&im);
}

/* Snapshots qemu-img made: we open the image, write, take, delete. */
static void test_qemu_img_snapshots(void)
{
    Img im;
    g_autofree char *at_q1 = NULL;
    g_autofree char *at_q2 = NULL;
    g_autofree char *out = NULL;

    img_new(&im, "qi.qcow2", "-o cluster_size=4096", 2 << 20);
    img_write(&im, 0, 500000, 1);
    img_close(&im);
    g_assert_cmpint(bt_qemu_img(&out, "snapshot -c q1 '%s'", im.path), ==,
                    0);
    at_q1 = raw_keep(&im, "q1");
    g_assert_cmpint(bt_qemu_img(NULL, "snapshot -c q2 '%s'", im.path), ==,
                    0);
    at_q2 = raw_keep(&im, "q2");

    img_open(&im);
    img_write(&im, 1000, 400000, 2);
    img_write(&im, 1 << 20, 4096, 3);
    take(&im, "ours", "3");
    img_write(&im, 0, 8192, 4);
    check_closed(&im);
    check_revert(&im, "q1", at_q1);

    img_open(&im);
    drop(&im, "1");                 /* q1 */
    check_closed(&im);
    check_revert(&im, "q2", at_q2);
    img_free(&im);
}

static void test_refused(void)
{
    g_autofree char *src = bt_path("rf.raw");
    g_autofree char *comp = bt_path("rf-comp.qcow2");
    g_autofree char *narrow = bt_path("rf-1bit.qcow2");
    g_autofree char *json = NULL;
    BdrvSnapshot sn = { .name = (char *)"x", .icount = -1 };
    BlockDriverState *bs;
    Error *err = NULL;

    /* Compressed clusters: refused before anything changes. */
    bt_make_pattern_file(src, 1 << 20, 3);
    g_assert_cmpint(bt_qemu_img(NULL, "convert -c -f raw -O qcow2 '%s' "
                                "'%s'", src, comp), ==, 0);
    json = g_strdup_printf("{\"driver\":\"qcow2\",\"file\":{\"driver\":"
                           "\"file\",\"filename\":\"%s\"}}", comp);
    bs = bt_open(json);
    g_assert_false(bdrv_snapshot_create(bs, &sn, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "compressed"));
    g_clear_pointer(&err, error_free);
    g_assert_null(sn.id);
    bdrv_unref(bs);
    bt_qemu_img_check(comp);

    /* One-bit refcounts cannot count a second reference. */
    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 -o "
                                "refcount_bits=1 '%s' 1M", narrow), ==, 0);
    g_free(json);
    json = g_strdup_printf("{\"driver\":\"qcow2\",\"file\":{\"driver\":"
                           "\"file\",\"filename\":\"%s\"}}", narrow);
    bs = bt_open(json);
    g_assert_false(bdrv_snapshot_create(bs, &sn, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "1"));
    g_clear_pointer(&err, error_free);
    bdrv_unref(bs);
    bt_qemu_img_check(narrow);
}

/* A read-only node lists snapshots but deletes none (QEMU's text). */
static void test_read_only(void)
{
    g_autofree char *path = bt_path("ro.qcow2");
    g_autofree char *json = NULL;
    BdrvSnapshot *list;
    BlockDriverState *bs;
    Error *err = NULL;
    int n;

    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 '%s' 1M", path),
                    ==, 0);
    g_assert_cmpint(bt_qemu_img(NULL, "snapshot -c pre '%s'", path), ==, 0);
    json = g_strdup_printf("{\"driver\":\"qcow2\",\"read-only\":true,"
                           "\"file\":{\"driver\":\"file\",\"filename\":"
                           "\"%s\"}}", path);
    bs = bt_open(json);
    n = bdrv_snapshot_list(bs, &list);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpstr(list[0].name, ==, "pre");
    g_assert_cmpstr(list[0].id, ==, "1");
    g_assert_cmpint(list[0].icount, ==, 0);     /* qemu-img records 0 */
    bdrv_snapshot_list_free(list, n);
    g_assert_false(bdrv_snapshot_delete(bs, "1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Failed to remove snapshot "
                    "from snapshot list: Operation not permitted");
    error_free(err);
    bdrv_unref(bs);
}

/*
 * Emptying the active image (block-commit's last step on an overlay)
 * drops only its own references: the snapshot keeps every cluster.
 */
static void test_make_empty(void)
{
    Img im;
    g_autofree char *at1 = NULL;
    g_autofree unsigned char *zero = g_malloc0(2 << 20);

    img_new(&im, "empty.qcow2", "-o cluster_size=4096", 2 << 20);
    img_write(&im, 0, 1 << 20, 1);
    take(&im, "a", "1");
    at1 = raw_keep(&im, "a");
    img_write(&im, 8192, 8192, 2);                 /* one copied cluster */
    g_assert_cmpint(bdrv_make_empty(im.bs, &error_abort), ==, 0);
    raw_pwrite(im.raw, 0, 2 << 20, zero);
    img_write(&im, 4096, 100, 3);
    check_closed(&im);
    check_revert(&im, "a", at1);

    /* With the snapshot gone too, nothing but the last write is left. */
    img_open(&im);
    drop(&im, "1");
    check_closed(&im);
    img_free(&im);
}

/* A node the migration peer owns changes nothing (set by hand here;
 * tests/unit/test-block-activation.c drives the real handover). */
static void test_inactive(void)
{
    Img im;
    BdrvSnapshot sn = { .name = (char *)"x", .icount = -1 };
    Error *err = NULL;
    g_autofree char *list = NULL;

    img_new(&im, "inact.qcow2", "", 1 << 20);
    take(&im, "a", "1");
    im.bs->inactive = true;
    g_assert_false(bdrv_snapshot_create(im.bs, &sn, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "cannot take a "
                            "snapshot"));
    g_clear_pointer(&err, error_free);
    g_assert_false(bdrv_snapshot_delete(im.bs, "1", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "is inactive"));
    g_clear_pointer(&err, error_free);
    im.bs->inactive = false;
    check_closed(&im);
    list = snapshot_list(im.path);
    g_assert_nonnull(strstr(list, " a "));
    img_free(&im);
}

/* v3 images with snapshots grow (the snapshot keeps its size); v2
 * entries have no size of their own, so QEMU refuses and so do we. */
static void test_resize(void)
{
    Img im;
    g_autofree char *at1 = NULL;
    Error *err = NULL;

    img_new(&im, "rs2.qcow2", "-o compat=0.10", 1 << 20);
    take(&im, "a", "1");
    g_assert_cmpint(bdrv_truncate(im.bs, 2 << 20, &err), <, 0);
    g_assert_true(g_str_has_suffix(error_get_pretty(err), "Can't resize a "
                                   "v2 image which has snapshots"));
    error_free(err);
    check_closed(&im);
    img_free(&im);

    img_new(&im, "rs3.qcow2", "-o cluster_size=512", 1 << 20);
    img_write(&im, 0, 1 << 20, 1);
    take(&im, "a", "1");
    at1 = raw_keep(&im, "a");
    g_assert_cmpint(bdrv_truncate(im.bs, 8 << 20, &error_abort), ==, 0);
    g_assert_cmpint(truncate(im.raw, 8 << 20), ==, 0);
    img_write(&im, (8 << 20) - 70000, 70000, 2);
    img_write(&im, 1000, 2000, 3);
    check_closed(&im);
    g_assert_cmpint(truncate(at1, 8 << 20), ==, 0);  /* reverting grows */
    check_revert(&im, "a", at1);
    img_free(&im);
}

/* A snapshot table the header misplaces is refused at open. */
static void test_bad_table(void)
{
    g_autofree char *path = bt_path("bad.qcow2");
    g_autofree char *json = NULL;
    uint64_t off = GUINT64_TO_BE(0x12345);      /* not cluster-aligned */
    int fd;

    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 '%s' 1M", path),
                    ==, 0);
    g_assert_cmpint(bt_qemu_img(NULL, "snapshot -c s '%s'", path), ==, 0);
    fd = open(path, O_WRONLY);
    g_assert_cmpint(pwrite(fd, &off, 8, 64), ==, 8);
    close(fd);
    json = g_strdup_printf("{\"driver\":\"qcow2\",\"file\":{\"driver\":"
                           "\"file\",\"filename\":\"%s\"}}", path);
    bt_open_fails(json, "Invalid snapshot table offset 0x12345");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    if (!bt_have_qemu_img()) {
        /* The peer is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_data_func("/block/qcow2-snapshot/take-write-revert/64k", "",
                         test_take_write_revert);
    g_test_add_data_func("/block/qcow2-snapshot/take-write-revert/4k",
                         "-o cluster_size=4096", test_take_write_revert);
    g_test_add_data_func("/block/qcow2-snapshot/take-write-revert/v2",
                         "-o compat=0.10", test_take_write_revert);
    g_test_add_data_func("/block/qcow2-snapshot/take-write-revert/refcount8",
                         "-o refcount_bits=8", test_take_write_revert);
    g_test_add_func("/block/qcow2-snapshot/delete", test_delete);
    g_test_add_func("/block/qcow2-snapshot/qemu-img-made",
                    test_qemu_img_snapshots);
    g_test_add_func("/block/qcow2-snapshot/refused", test_refused);
    g_test_add_func("/block/qcow2-snapshot/read-only", test_read_only);
    g_test_add_func("/block/qcow2-snapshot/resize", test_resize);
    g_test_add_func("/block/qcow2-snapshot/inactive", test_inactive);
    g_test_add_func("/block/qcow2-snapshot/make-empty", test_make_empty);
    g_test_add_func("/block/qcow2-snapshot/bad-table", test_bad_table);
    return g_test_run();
}
