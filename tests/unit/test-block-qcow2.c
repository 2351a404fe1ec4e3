/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qcow2 driver against Debian's qemu-img as the peer: images made by
 * `qemu-img create` (with and without backing files, v2 and v3, several
 * cluster sizes and refcount widths) are read and written by us, every
 * image we wrote passes `qemu-img check`, and `qemu-img compare` matches
 * it against a raw file that received the same writes. Also: zero
 * clusters, discard, make_empty, growing, concurrent async writes,
 * rewriting the backing file name, and headers with features we refuse. No /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "util/main-loop.h"
#include "watchdog.h"
#include "block-test-util.h"

/* A qcow2 node and a raw mirror of what it should contain. */
typedef struct Pair {
    char *qcow2;
    char *raw;
    BlockDriverState *bs;
    BlockBackend *blk;
    int fd_raw;
} Pair;

static BlockDriverState *open_qcow2(const char *path, const char *extra)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\"%s,\"file\":{\"driver\":\"file\","
        "\"filename\":\"%s\"}}", extra ? extra : "", path);

    return bt_open(json);
}

static void pair_open(Pair *p)
{
    p->bs = open_qcow2(p->qcow2, NULL);
    p->blk = blk_new(NULL, p->bs, true, false, &error_abort);
    p->fd_raw = open(p->raw, O_RDWR);
    g_assert_cmpint(p->fd_raw, >=, 0);
}

static void pair_close(Pair *p)
{
    blk_unref(p->blk);
    bdrv_unref(p->bs);
    close(p->fd_raw);
    p->blk = NULL;
    p->bs = NULL;
}

/* The raw mirror starts as expected (zeroes or the backing content). */
static void pair_new(Pair *p, const char *name, const char *create_opts,
                     uint64_t size, const char *raw_from)
{
    g_autofree char *out = NULL;

    p->qcow2 = bt_path(name);
    p->raw = g_strconcat(p->qcow2, ".expected", NULL);
    if (bt_qemu_img(&out, "create -q -f qcow2 %s '%s' %" G_GUINT64_FORMAT,
                    create_opts, p->qcow2, size) != 0) {
        g_error("qemu-img create failed: %s", out);
    }
    if (raw_from) {
        g_autofree char *contents = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(raw_from, &contents, &len, NULL));
        g_assert_true(g_file_set_contents(p->raw, contents, len, NULL));
        g_assert_cmpint(truncate(p->raw, size), ==, 0);
    } else {
        g_assert_true(g_file_set_contents(p->raw, "", 0, NULL));
        g_assert_cmpint(truncate(p->raw, size), ==, 0);
    }
    pair_open(p);
}

static void pair_write(Pair *p, uint64_t off, uint64_t len, int seed)
{
    g_autofree unsigned char *buf = g_malloc(len);

    for (uint64_t i = 0; i < len; i++) {
        buf[i] = bt_pattern(off + i, seed);
    }
    g_assert_cmpint(blk_pwrite(p->blk, off, len, buf, 0, &error_abort), ==,
                    0);
    g_assert_cmpint(pwrite(p->fd_raw, buf, len, off), ==, (ssize_t)len);
}

/*
 * Discard is advisory: the driver drops whole clusters only (cluster is
 * the image's cluster size), so only those read as zeroes afterwards.
 */
static void pair_zero(Pair *p, uint64_t off, uint64_t len, bool discard,
                      uint64_t cluster)
{
    g_autofree unsigned char *zero = g_malloc0(len);
    uint64_t zoff = off, zlen = len;

    if (discard) {
        uint64_t start = (off + cluster - 1) / cluster * cluster;
        uint64_t end = (off + len) / cluster * cluster;

        zoff = start;
        zlen = end > start ? end - start : 0;
    }

    if (discard) {
        g_assert_cmpint(blk_pdiscard(p->blk, off, len, &error_abort), ==, 0);
    } else {
        g_assert_cmpint(blk_pwrite_zeroes(p->blk, off, len,
                                          BDRV_REQ_MAY_UNMAP, &error_abort),
                        ==, 0);
    }
    g_assert_cmpint(pwrite(p->fd_raw, zero, zlen, zoff), ==, (ssize_t)zlen);
}

/* Our reads equal the mirror; after closing, qemu-img agrees. */
static void pair_verify(Pair *p)
{
    int64_t size = blk_getlength(p->blk);
    g_autofree unsigned char *a = g_malloc(size);
    g_autofree unsigned char *b = g_malloc(size);
    g_autofree char *out = NULL;

    g_assert_cmpint(blk_pread(p->blk, 0, size, a, &error_abort), ==, 0);
    g_assert_cmpint(pread(p->fd_raw, b, size, 0), ==, size);
    for (int64_t i = 0; i < size; i++) {
        if (a[i] != b[i]) {
            g_error("%s: byte %" G_GINT64_FORMAT " is %u, expected %u",
                    p->qcow2, i, a[i], b[i]);
        }
    }
    pair_close(p);
    bt_qemu_img_check(p->qcow2);
    if (bt_qemu_img(&out, "compare -f qcow2 -F raw '%s' '%s'", p->qcow2,
                    p->raw) != 0) {
        g_error("qemu-img compare %s: %s", p->qcow2, out);
    }
}

static void pair_free(Pair *p)
{
    g_free(p->qcow2);
    g_free(p->raw);
}

/* Writes of every shape: partial, whole, spanning clusters and L2 tables. */
static void test_write_shapes(gconstpointer data)
{
    const char *opts = data;
    Pair p;
    const uint64_t size = 16 << 20;

    pair_new(&p, "shapes.qcow2", opts, size, NULL);
    pair_write(&p, 0, 512, 1);
    pair_write(&p, 1000, 100, 2);
    pair_write(&p, 4096 - 10, 20, 3);
    pair_write(&p, 65536, 65536, 4);
    pair_write(&p, (2 << 20) - 3000, 6000, 5);   /* across an L2 (4k) */
    pair_write(&p, size - 4096, 4096, 6);
    pair_write(&p, 1000, 300000, 7);             /* over earlier writes */
    pair_verify(&p);
    /* Reopened, it reads the same. */
    pair_open(&p);
    pair_write(&p, 8 << 20, 12345, 8);
    pair_verify(&p);
    pair_free(&p);
}

static void test_created_image_reads_zero(void)
{
    g_autofree char *path = bt_path("empty.qcow2");
    g_autofree unsigned char *buf = g_malloc(1 << 20);
    BlockDriverState *bs;
    uint64_t pnum;

    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 '%s' 1G", path),
                    ==, 0);
    bs = open_qcow2(path, ",\"read-only\":true");
    g_assert_cmpint(bdrv_getlength(bs), ==, 1 << 30);
    memset(buf, 0xff, 1 << 20);
    g_assert_cmpint(bdrv_pread(bs, 500 << 20, 1 << 20, buf, &error_abort),
                    ==, 0);
    g_assert_true(buf[0] == 0 && !memcmp(buf, buf + 1, (1 << 20) - 1));
    g_assert_cmpint(bdrv_block_status(bs, 0, 1 << 30, &pnum, NULL, NULL), ==,
                    BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, 1 << 30);
    bdrv_unref(bs);
}

/* A qemu-img overlay over a raw and over a qcow2 base. */
static void test_backing(gconstpointer data)
{
    const char *base_fmt = data;
    g_autofree char *base_raw = bt_path("base.raw");
    g_autofree char *base = NULL;
    g_autofree char *opts = NULL, *out = NULL;
    const uint64_t size = 4 << 20;
    Pair p;

    bt_make_pattern_file(base_raw, size, 11);
    if (!strcmp(base_fmt, "qcow2")) {
        base = bt_path("base.qcow2");
        g_assert_cmpint(bt_qemu_img(&out, "convert -f raw -O qcow2 '%s' '%s'",
                                    base_raw, base), ==, 0);
    } else {
        base = g_strdup(base_raw);
    }
    opts = g_strdup_printf("-o cluster_size=4096 -b '%s' -F %s", base,
                           base_fmt);
    pair_new(&p, "overlay.qcow2", opts, size, base_raw);
    g_assert_nonnull(bdrv_backing_bs(p.bs));
    g_assert_cmpstr(bdrv_get_format_name(bdrv_backing_bs(p.bs)), ==,
                    base_fmt);
    g_assert_true(bdrv_is_read_only(bdrv_backing_bs(p.bs)));
    /* Partial-cluster writes copy the rest of the cluster from the base. */
    pair_write(&p, 100, 10, 1);
    pair_write(&p, 8192 + 4000, 200, 2);
    pair_write(&p, size - 1, 1, 3);
    pair_verify(&p);

    /* Zeroes and discard hide the base. */
    pair_open(&p);
    pair_zero(&p, 65536, 3 * 4096 + 100, false, 4096);
    pair_zero(&p, 1 << 20, 8192, true, 4096);
    pair_verify(&p);

    /* make_empty: the base shows through again everywhere. */
    pair_open(&p);
    g_assert_cmpint(bdrv_make_empty(p.bs, &error_abort), ==, 0);
    {
        g_autofree char *contents = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(base_raw, &contents, &len, NULL));
        g_assert_cmpint(pwrite(p.fd_raw, contents, len, 0), ==, (ssize_t)len);
    }
    pair_verify(&p);
    pair_free(&p);
    /* The base was never written. */
    if (!strcmp(base_fmt, "qcow2")) {
        g_assert_cmpint(bt_qemu_img(&out, "compare -f qcow2 -F raw '%s' '%s'",
                                    base, base_raw), ==, 0);
    }
}

/* Zero clusters and discard free host clusters (check finds no leak). */
static void test_zero_discard(void)
{
    g_autofree char *out = NULL;
    const uint64_t size = 8 << 20;
    Pair p;
    uint64_t pnum;
    int st;

    pair_new(&p, "zero.qcow2", "-o cluster_size=65536", size, NULL);
    pair_write(&p, 0, size, 1);
    pair_zero(&p, 65536, 65536 * 4, false, 65536);     /* whole clusters */
    pair_zero(&p, 1000, 5000, false, 65536);           /* inside one cluster */
    pair_zero(&p, 2 << 20, 65536 * 8, true, 65536);    /* discard */
    pair_zero(&p, (4 << 20) + 1, 65536 * 2, true, 65536); /* 1 of 2 */
    g_assert_cmpint(blk_block_status(p.blk, 65536, 65536 * 4, &pnum) &
                    BDRV_BLOCK_ZERO, !=, 0);
    g_assert_cmpint(pnum, ==, 65536 * 4);
    pair_verify(&p);
    /* 8 MiB written, 12 clusters freed: the image says so. */
    st = bt_qemu_img(&out, "map -f qcow2 --output=json '%s'", p.qcow2);
    g_assert_cmpint(st, ==, 0);
    g_assert_nonnull(strstr(out, "\"zero\": true"));
    pair_free(&p);
}

static void test_refcount_widths(gconstpointer data)
{
    const char *opts = data;
    Pair p;

    pair_new(&p, "widths.qcow2", opts, 4 << 20, NULL);
    for (int i = 0; i < 40; i++) {
        pair_write(&p, (uint64_t)i * 100000, 3000, i);
    }
    pair_zero(&p, 0, 1 << 20, true, 512);
    pair_write(&p, 5000, 70000, 99);
    pair_verify(&p);
    pair_free(&p);
}

/* Growing past the L1 table's reach moves the L1 table. */
static void test_grow(void)
{
    Pair p;
    g_autofree char *out = NULL;

    /* 512-byte clusters: one L1 entry covers 32 KiB. */
    pair_new(&p, "grow.qcow2", "-o cluster_size=512", 64 << 10, NULL);
    pair_write(&p, 0, 64 << 10, 1);
    g_assert_cmpint(blk_truncate(p.blk, 4 << 20, &error_abort), ==, 0);
    g_assert_cmpint(ftruncate(p.fd_raw, 4 << 20), ==, 0);
    g_assert_cmpint(blk_getlength(p.blk), ==, 4 << 20);
    pair_write(&p, (4 << 20) - 5000, 5000, 2);
    pair_verify(&p);
    g_assert_cmpint(bt_qemu_img(&out, "info '%s'", p.qcow2), ==, 0);
    g_assert_nonnull(strstr(out, "virtual size: 4 MiB"));
    pair_open(&p);
    {
        Error *err = NULL;
        g_assert_cmpint(blk_truncate(p.blk, 1 << 20, &err), <, 0);
        g_assert_nonnull(strstr(error_get_pretty(err), "shrinking"));
        error_free(err);
    }
    pair_close(&p);
    pair_free(&p);
}

/*
 * Growing an overlay over a longer backing file: the new part reads
 * zeroes, to us and to QEMU (qemu-img compare: the image itself hides
 * the backing file, with zero clusters up to where it ends), and so does
 * the old last cluster past the old end, though a write copied the
 * backing file's bytes up into it. The old part still shows the backing
 * file. Version 2 has no zero clusters: refused, nothing changed.
 */
static void test_grow_over_backing(gconstpointer data)
{
    bool v2 = GPOINTER_TO_INT(data);
    g_autofree char *base = bt_path("grow-base.raw");
    g_autofree char *opts = NULL;
    const uint64_t old_size = (1 << 20) + 1536, new_size = 5 << 20;
    Pair p;

    bt_make_pattern_file(base, 4 << 20, 12);
    opts = g_strdup_printf("-o cluster_size=4096%s -b '%s' -F raw",
                           v2 ? ",compat=0.10" : "", base);
    pair_new(&p, "grow-over.qcow2", opts, old_size, base);
    pair_write(&p, old_size - 100, 50, 1);
    if (v2) {
        Error *err = NULL;

        g_assert_cmpint(blk_truncate(p.blk, new_size, &err), ==, -ENOTSUP);
        g_assert_nonnull(strstr(error_get_pretty(err),
                                "Failed to zero out new clusters: "
                                "Operation not supported"));
        error_free(err);
        g_assert_cmpint(blk_getlength(p.blk), ==, old_size);
    } else {
        g_assert_cmpint(blk_truncate(p.blk, new_size, &error_abort), ==, 0);
        g_assert_cmpint(ftruncate(p.fd_raw, new_size), ==, 0);
    }
    pair_verify(&p);
    pair_free(&p);
}

/* refcount_table_clusters from the image's header. */
static uint32_t reftable_clusters(const char *path)
{
    uint8_t be[4];
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, be, 4, 56), ==, 4);
    close(fd);
    return (uint32_t)be[0] << 24 | be[1] << 16 | be[2] << 8 | be[3];
}

/*
 * Writing past what the refcount table covers grows it. 512-byte
 * clusters with 16-bit refcounts: qemu-img's one-cluster table covers
 * 64 blocks * 256 clusters = 8 MiB of file, so filling a 20 MiB image
 * grows the table several times (each growth also moves it), with
 * writes both inside and across refcount-block ranges.
 */
static void test_reftable_grow(void)
{
    Pair p;

    pair_new(&p, "reftable.qcow2", "-o cluster_size=512", 20 << 20, NULL);
    g_assert_cmpuint(reftable_clusters(p.qcow2), ==, 1);
    for (uint64_t off = 0; off < (20 << 20); off += 96 << 10) {
        pair_write(&p, off, MIN(96 << 10, (20 << 20) - off), (int)(off >> 16));
    }
    pair_zero(&p, 3 << 20, 2 << 20, true, 512);
    pair_write(&p, 3 << 20, 1 << 20, 7);
    pair_verify(&p);                /* qemu-img check and compare */
    g_assert_cmpuint(reftable_clusters(p.qcow2), >, 1);
    pair_free(&p);
}

typedef struct Waiter {
    int pending;
    int errors;
} Waiter;

static void write_done(void *opaque, int ret, const Error *err)
{
    Waiter *w = opaque;

    if (ret < 0) {
        g_printerr("%s\n", error_get_pretty(err));
        w->errors++;
    }
    w->pending--;
}

/* 64 async writes in flight on one qcow2 node: the lock serialises them. */
static void test_concurrent(void)
{
    const int n = 64;
    const uint64_t len = 6000;
    Pair p;
    g_autofree unsigned char *bufs = g_malloc(n * len);
    BlockIov qiovs[64];
    struct iovec ones[64];
    Waiter w = { 0 };

    pair_new(&p, "conc.qcow2", "-o cluster_size=4096", 1 << 20, NULL);
    for (int i = 0; i < n; i++) {
        uint64_t off = (uint64_t)((i * 7919) % 160) * 6000;

        for (uint64_t j = 0; j < len; j++) {
            bufs[i * len + j] = bt_pattern(off + j, 42);
        }
        /* Overlapping writes carry the same bytes: order does not matter. */
        g_assert_cmpint(pwrite(p.fd_raw, bufs + i * len, len, off), ==,
                        (ssize_t)len);
        block_iov_init_buf(&qiovs[i], &ones[i], bufs + i * len, len);
        w.pending++;
        blk_aio_pwritev(p.blk, off, &qiovs[i], 0, write_done, &w);
    }
    test_watchdog_arm("concurrent qcow2 writes", 60);
    while (w.pending) {
        main_loop_wait(true);
    }
    test_watchdog_disarm();
    g_assert_cmpint(w.errors, ==, 0);
    pair_verify(&p);
    pair_free(&p);
}

/* Sets 8 big-endian bytes at off in the file. */
static void poke64(const char *path, off_t off, uint64_t v)
{
    int fd = open(path, O_RDWR);
    uint64_t be = GUINT64_TO_BE(v);

    g_assert_cmpint(pwrite(fd, &be, 8, off), ==, 8);
    close(fd);
}

static void poke32(const char *path, off_t off, uint32_t v)
{
    int fd = open(path, O_RDWR);
    uint32_t be = GUINT32_TO_BE(v);

    g_assert_cmpint(pwrite(fd, &be, 4, off), ==, 4);
    close(fd);
}

static uint64_t peek64(const char *path, off_t off)
{
    int fd = open(path, O_RDONLY);
    uint64_t be = 0;

    g_assert_cmpint(pread(fd, &be, 8, off), ==, 8);
    close(fd);
    return GUINT64_FROM_BE(be);
}

static void expect_open_error(const char *path, const char *extra,
                              const char *part)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"bad\"%s,\"file\":{\"driver\":"
        "\"file\",\"filename\":\"%s\"}}", extra ? extra : "", path);

    bt_open_fails(json, part);
}

static void test_refused_features(void)
{
    g_autofree char *path = bt_path("feat.qcow2");
    g_autofree char *raw = bt_path("notqcow2.raw");
    g_autofree char *out = NULL;
    BlockDriverState *bs;

#define FRESH() g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 1M", \
                                            path), ==, 0)
    FRESH();
    poke64(path, 72, 1ull << 40);
    expect_open_error(path, NULL, "node 'bad' (file '");
    expect_open_error(path, NULL, "Unsupported qcow2 feature(s): Unknown "
                      "incompatible feature: 10000000000");
    FRESH();
    poke64(path, 72, 1);
    expect_open_error(path, NULL, "qcow2 image is dirty");
    bs = open_qcow2(path, ",\"read-only\":true");   /* read-only is fine */
    bdrv_unref(bs);
    FRESH();
    poke64(path, 72, 2);
    expect_open_error(path, NULL, "qcow2 image is corrupt; cannot be opened "
                      "read/write");
    FRESH();
    poke64(path, 72, 4);
    expect_open_error(path, NULL, "external data file");
    FRESH();
    poke32(path, 32, 1);
    expect_open_error(path, NULL, "encrypted images are not supported");
    FRESH();
    poke32(path, 4, 4);
    expect_open_error(path, NULL, "Unsupported qcow2 version 4");
    FRESH();
    poke32(path, 20, 30);
    expect_open_error(path, NULL, "Unsupported cluster size: 2^30");
    FRESH();
    poke64(path, 40, 0x7777000);
    expect_open_error(path, NULL, "Invalid L1 table offset");
    FRESH();
    poke32(path, 36, 0);    /* l1_size 0 for a 1M image */
    expect_open_error(path, NULL, "L1 table is too small");
    FRESH();
    poke64(path, peek64(path, 40), (1ull << 63) | 0x7770000);
    expect_open_error(path, NULL, "L1 entry 0 is invalid (offset 0x7770000)");
    FRESH();
    poke64(path, peek64(path, 48) + 8, 0x10000000);
    expect_open_error(path, NULL, "Reference count table entry 1 is invalid");
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -o extended_l2=on "
                                "'%s' 1M", path), ==, 0);
    expect_open_error(path, NULL, "extended L2 entries");
    bt_make_pattern_file(raw, 4096, 1);
    expect_open_error(raw, NULL, "Image is not in qcow2 format");
#undef FRESH
}

/* Compressed clusters fail the read that reaches them, nothing else. */
static void test_compressed_refused(void)
{
    g_autofree char *src = bt_path("comp.raw");
    g_autofree char *path = bt_path("comp.qcow2");
    g_autofree char *out = NULL;
    unsigned char buf[512];
    BlockDriverState *bs;
    Error *err = NULL;

    bt_make_pattern_file(src, 1 << 20, 3);
    g_assert_cmpint(bt_qemu_img(&out, "convert -c -f raw -O qcow2 '%s' '%s'",
                                src, path), ==, 0);
    bs = open_qcow2(path, ",\"read-only\":true,\"node-name\":\"cq\"");
    g_assert_cmpint(bdrv_pread(bs, 0, 512, buf, &err), ==, -ENOTSUP);
    g_assert_nonnull(strstr(error_get_pretty(err), "node 'cq' (file '"));
    error_free(err);
    bdrv_unref(bs);
}

/* The overlay -drive snapshot=on creates is a clean image to qemu-img. */
static void test_create_overlay(void)
{
    g_autofree char *base = bt_path("ov-base.raw");
    g_autofree char *path = bt_path("ov.qcow2");
    g_autofree char *out = NULL;
    Pair p = { 0 };

    bt_make_pattern_file(base, 3 << 20, 8);
    g_assert_true(qcow2_create_overlay(path, 3 << 20, base, "raw",
                                       &error_abort));
    bt_qemu_img_check(path);
    g_assert_cmpint(bt_qemu_img(&out, "info '%s'", path), ==, 0);
    g_assert_nonnull(strstr(out, "backing file format: raw"));
    g_assert_nonnull(strstr(out, "virtual size: 3 MiB"));
    p.qcow2 = g_strdup(path);
    p.raw = g_strconcat(path, ".expected", NULL);
    {
        g_autofree char *contents = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(base, &contents, &len, NULL));
        g_assert_true(g_file_set_contents(p.raw, contents, len, NULL));
    }
    pair_open(&p);
    pair_write(&p, 70000, 100000, 9);
    pair_verify(&p);
    pair_free(&p);
}

/* The backing file name qemu-img reads from path's header, or "". */
static char *header_backing(const char *path, char **fmt)
{
    g_autofree char *out = NULL;
    static const char nkey[] = "\"backing-filename\": \"";
    static const char fkey[] = "\"backing-filename-format\": \"";
    char *name, *f;

    g_assert_cmpint(bt_qemu_img(&out, "info -U --output=json '%s'", path),
                    ==, 0);
    name = strstr(out, nkey);
    f = strstr(out, fkey);
    if (f) {
        f += strlen(fkey);
    }
    if (name) {
        name += strlen(nkey);
    }
    *fmt = f ? g_strndup(f, strcspn(f, "\"")) : g_strdup("");
    return name ? g_strndup(name, strcspn(name, "\"")) : g_strdup("");
}

/* Whether the header cluster holds the feature name table extension. */
static bool has_feature_table(const char *path)
{
    static const uint8_t magic[4] = { 0x68, 0x03, 0xf8, 0x57 };
    g_autofree char *data = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return memmem(data, MIN(len, 65536), magic, sizeof(magic)) != NULL;
}

/*
 * block-stream and block-commit record a new backing file: qemu-img
 * sees the new name and format, keeps reading the image's other header
 * extensions (its feature table), finds it clean; a name that does not
 * fit in the header cluster is refused with the header unchanged.
 */
static void test_change_backing(void)
{
    g_autofree char *base = bt_path("cb-base.qcow2");
    g_autofree char *mid = bt_path("cb-mid.raw");
    g_autofree char *ov = bt_path("cb-ov.qcow2");
    g_autofree char *small = bt_path("cb-small.qcow2");
    g_autofree char *out = NULL, *name = NULL, *fmt = NULL;
    g_autofree char *json = NULL, *longname = NULL;
    BlockDriverState *bs;
    Error *err = NULL;

    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 1M", base),
                    ==, 0);
    bt_make_pattern_file(mid, 1 << 20, 3);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F qcow2 "
                                "'%s' 1M", base, ov), ==, 0);
    g_assert_true(has_feature_table(ov));
    bs = open_qcow2(ov, ",\"backing\":null");
    g_assert_true(bdrv_change_backing_file(bs, mid, "raw", &error_abort));
    name = header_backing(ov, &fmt);
    g_assert_cmpstr(name, ==, mid);
    g_assert_cmpstr(fmt, ==, "raw");
    g_clear_pointer(&name, g_free);
    g_clear_pointer(&fmt, g_free);
    /* A relative name is recorded as given; the feature table stays. */
    g_assert_true(bdrv_change_backing_file(bs, "cb-base.qcow2", "qcow2",
                                           &error_abort));
    bdrv_unref(bs);
    name = header_backing(ov, &fmt);
    g_assert_cmpstr(name, ==, "cb-base.qcow2");
    g_assert_cmpstr(fmt, ==, "qcow2");
    g_clear_pointer(&name, g_free);
    g_clear_pointer(&fmt, g_free);
    g_assert_true(has_feature_table(ov));
    bt_qemu_img_check(ov);
    /* ... and our own open follows it. */
    bs = open_qcow2(ov, NULL);
    g_assert_cmpstr(bdrv_get_filename(bdrv_backing_bs(bs)), ==, base);
    /* No backing file at all. */
    g_assert_true(bdrv_change_backing_file(bs, NULL, NULL, &error_abort));
    bdrv_unref(bs);
    name = header_backing(ov, &fmt);
    g_assert_cmpstr(name, ==, "");
    g_assert_cmpstr(fmt, ==, "");
    g_clear_pointer(&name, g_free);
    g_clear_pointer(&fmt, g_free);
    bt_qemu_img_check(ov);

    /* 512-byte clusters: a 500-byte name does not fit. */
    g_clear_pointer(&out, g_free);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -o cluster_size="
                                "512 -b '%s' -F qcow2 '%s' 1M", base, small),
                    ==, 0);
    json = g_strdup_printf("{\"driver\":\"qcow2\",\"backing\":null,"
                           "\"file\":{\"driver\":\"file\","
                           "\"filename\":\"%s\"}}", small);
    bs = bt_open(json);
    longname = g_strnfill(500, 'x');
    g_assert_false(bdrv_change_backing_file(bs, longname, "raw", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "does not fit"));
    error_free(err);
    bdrv_unref(bs);
    name = header_backing(small, &fmt);
    g_assert_cmpstr(name, ==, base);
    g_assert_cmpstr(fmt, ==, "qcow2");
    bt_qemu_img_check(small);
}

/*
 * A stream's copy-up: BDRV_REQ_ONLY_UNALLOCATED writes the clusters the
 * overlay does not hold and leaves the ones it does (data and zero
 * clusters alike); a format without backing files refuses the flag.
 */
static void test_only_unallocated(void)
{
    g_autofree char *base = bt_path("ou-base.raw");
    g_autofree char *ov = bt_path("ou-ov.qcow2");
    g_autofree char *out = NULL;
    g_autofree uint8_t *buf = g_malloc(4 * 65536);
    BlockDriverState *bs, *raw;
    Error *err = NULL;

    bt_make_pattern_file(base, 1 << 20, 4);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F raw "
                                "'%s' 1M", base, ov), ==, 0);
    bs = open_qcow2(ov, NULL);
    memset(buf, 0x11, 65536);
    g_assert_cmpint(bdrv_pwrite(bs, 65536, 100, buf, 0, &error_abort), ==,
                    0);
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 2 * 65536, 65536, 0,
                                       &error_abort), ==, 0);
    memset(buf, 0x22, 4 * 65536);
    g_assert_cmpint(bdrv_pwrite(bs, 0, 4 * 65536, buf,
                                BDRV_REQ_ONLY_UNALLOCATED, &error_abort),
                    ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 0, 4 * 65536, buf, &error_abort), ==, 0);
    for (uint64_t i = 0; i < 4 * 65536; i++) {
        uint8_t want = i < 65536 || i >= 3 * 65536 ? 0x22
                       : i < 65536 + 100 ? 0x11
                       : i < 2 * 65536 ? bt_pattern(i, 4) : 0;

        if (buf[i] != want) {
            g_error("byte %" G_GUINT64_FORMAT ": %#x, not %#x", i, buf[i],
                    want);
        }
    }
    bdrv_unref(bs);
    bt_qemu_img_check(ov);

    raw = bdrv_file_bs(bs = open_qcow2(ov, NULL));
    g_assert_cmpint(bdrv_pwrite(raw, 0, 512, buf, BDRV_REQ_ONLY_UNALLOCATED,
                                &err), ==, -ENOTSUP);
    error_free(err);
    bdrv_unref(bs);
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
    g_test_add_data_func("/block/qcow2/shapes/64k", "", test_write_shapes);
    g_test_add_data_func("/block/qcow2/shapes/4k", "-o cluster_size=4096",
                         test_write_shapes);
    g_test_add_data_func("/block/qcow2/shapes/v2",
                         "-o compat=0.10,cluster_size=4096",
                         test_write_shapes);
    g_test_add_data_func("/block/qcow2/shapes/2M", "-o cluster_size=2M",
                         test_write_shapes);
    g_test_add_func("/block/qcow2/created-reads-zero",
                    test_created_image_reads_zero);
    g_test_add_data_func("/block/qcow2/backing/raw", "raw", test_backing);
    g_test_add_data_func("/block/qcow2/backing/qcow2", "qcow2", test_backing);
    g_test_add_func("/block/qcow2/zero-discard", test_zero_discard);
    g_test_add_data_func("/block/qcow2/refcount-bits/1",
                         "-o cluster_size=512,refcount_bits=1",
                         test_refcount_widths);
    g_test_add_data_func("/block/qcow2/refcount-bits/8",
                         "-o cluster_size=1024,refcount_bits=8",
                         test_refcount_widths);
    g_test_add_data_func("/block/qcow2/refcount-bits/64",
                         "-o cluster_size=4096,refcount_bits=64",
                         test_refcount_widths);
    g_test_add_func("/block/qcow2/grow", test_grow);
    g_test_add_data_func("/block/qcow2/grow-over-backing/v3",
                         GINT_TO_POINTER(false), test_grow_over_backing);
    g_test_add_data_func("/block/qcow2/grow-over-backing/v2",
                         GINT_TO_POINTER(true), test_grow_over_backing);
    g_test_add_func("/block/qcow2/reftable-grow", test_reftable_grow);
    g_test_add_func("/block/qcow2/concurrent", test_concurrent);
    g_test_add_func("/block/qcow2/refused-features", test_refused_features);
    g_test_add_func("/block/qcow2/compressed", test_compressed_refused);
    g_test_add_func("/block/qcow2/create-overlay", test_create_overlay);
    g_test_add_func("/block/qcow2/change-backing", test_change_backing);
    g_test_add_func("/block/qcow2/only-unallocated", test_only_unallocated);
    return g_test_run();
}
