/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block graph and the protocol drivers, driven directly (no /dev/kvm):
 * node names and references, BlockBackend permissions and range checks,
 * the asynchronous path (callbacks on the main loop) and the synchronous
 * one from a helper thread, the file driver with each AIO engine, O_DIRECT
 * bounce buffers, reads past EOF, special files, discard and write-zeroes,
 * ENOSPC, raw windows and null-co.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "util/main-loop.h"
#include "watchdog.h"
#include "block-test-util.h"

static BlockBackend *new_blk(BlockDriverState *bs, const char *name)
{
    Error *err = NULL;
    BlockBackend *blk = blk_new(name, bs, !bdrv_is_read_only(bs), false,
                                &err);

    if (!blk) {
        g_error("blk_new: %s", error_get_pretty(err));
    }
    return blk;
}

static void test_node_names(void)
{
    BlockDriverState *a = bt_open("{\"driver\":\"null-co\"}");
    BlockDriverState *b = bt_open("{\"driver\":\"null-co\",\"node-name\":\"n0\"}");

    g_assert_true(g_str_has_prefix(bdrv_get_node_name(a), "#block"));
    g_assert_true(bdrv_find_node(bdrv_get_node_name(a)) == a);
    g_assert_cmpstr(bdrv_get_node_name(b), ==, "n0");
    bt_open_fails("{\"driver\":\"null-co\",\"node-name\":\"n0\"}",
                  "Duplicate nodes with node-name='n0'");
    bt_open_fails("{\"driver\":\"null-co\",\"node-name\":\"#block1\"}",
                  "Invalid node-name: '#block1'");
    bt_open_fails("{\"driver\":\"null-co\",\"node-name\":\"9x\"}",
                  "Invalid node-name");
    bt_open_fails("{\"driver\":\"null-co\",\"detect-zeroes\":\"on\"}",
                  "detect-zeroes=on is not supported");
    bdrv_unref(a);
    bdrv_unref(b);
    g_assert_null(bdrv_find_node("n0"));
}

static void test_refcount_and_children(void)
{
    g_autofree char *path = bt_path("ref.img");
    g_autofree char *fj = NULL, *rj = NULL;
    BlockDriverState *file, *raw;

    bt_make_pattern_file(path, 65536, 1);
    fj = g_strdup_printf("{\"driver\":\"file\",\"node-name\":\"f0\","
                         "\"filename\":\"%s\"}", path);
    file = bt_open(fj);
    raw = bt_open("{\"driver\":\"raw\",\"node-name\":\"r0\",\"file\":\"f0\"}");
    g_assert_true(bdrv_file_bs(raw) == file);
    g_assert_cmpint(bdrv_refcount(file), ==, 2);
    g_assert_cmpstr(bdrv_get_filename(raw), ==, path);
    /*
     * raw passes its users' claims to its file (as QEMU's filters do): a
     * second raw on f0 opens, and it is the second writer through them
     * that is refused.
     */
    {
        BlockDriverState *raw2 = bt_open("{\"driver\":\"raw\",\"node-name\":"
                                         "\"r1\",\"file\":\"f0\"}");
        BlockBackend *w = blk_new(NULL, raw, true, false, &error_abort);
        Error *err = NULL;

        g_assert_null(blk_new(NULL, raw2, true, false, &err));
        g_assert_nonnull(strstr(error_get_pretty(err), "node 'f0' (file '"));
        error_free(err);
        blk_unref(w);
        bdrv_unref(raw2);
    }
    bt_open_fails("{\"driver\":\"raw\",\"file\":\"nosuch\"}",
                  "Cannot find device='' nor node-name='nosuch'");
    /* ...but a read-only user may read it. */
    {
        BlockDriverState *ro = bt_open("{\"driver\":\"raw\",\"read-only\":true,"
                                       "\"file\":\"f0\"}");
        g_assert_cmpint(bdrv_refcount(file), ==, 3);
        bdrv_unref(ro);
    }
    bdrv_unref(raw);
    g_assert_cmpint(bdrv_refcount(file), ==, 1);
    bdrv_unref(file);
    g_assert_null(bdrv_find_node("f0"));
    (void)rj;
}

static void test_open_errors(void)
{
    g_autofree char *dirj = NULL, *fifoj = NULL, *okj = NULL;
    g_autofree char *fifo = bt_path("fifo");
    BlockDriverState *bs;

    bt_open_fails("{\"driver\":\"file\",\"node-name\":\"e0\","
                  "\"filename\":\"/nonexistent/x.img\"}",
                  "node 'e0' (file '/nonexistent/x.img'): Could not open "
                  "'/nonexistent/x.img': No such "
                  "file or directory");
    bt_open_fails("{\"driver\":\"file\",\"filename\":\"/dev/null\"}",
                  "'file' driver requires '/dev/null' to be a regular file");
    dirj = g_strdup_printf("{\"driver\":\"file\",\"filename\":\"%s\"}",
                           bt_dir());
    bt_open_fails(dirj, "Is a directory");
    /* A FIFO nobody writes to: refused at once, no blocking open. */
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    fifoj = g_strdup_printf("{\"driver\":\"file\",\"read-only\":true,"
                            "\"filename\":\"%s\"}", fifo);
    test_watchdog_arm("fifo open", 10);
    bt_open_fails(fifoj, "to be a regular file");
    okj = g_strdup_printf("{\"driver\":\"file\",\"read-only\":true,"
                          "\"x-allow-special\":true,\"filename\":\"%s\"}",
                          fifo);
    bs = bt_open(okj);
    test_watchdog_disarm();
    bdrv_unref(bs);
    bt_open_fails("{\"driver\":\"file\",\"aio\":\"native\","
                  "\"filename\":\"/tmp\"}",
                  "aio=native was specified, but it requires cache.direct=on");
    bt_open_fails("{\"driver\":\"null-co\",\"force-share\":true}",
                  "force-share=on can only be used with read-only images");
}

static void test_backend_permissions(void)
{
    BlockDriverState *bs = bt_open("{\"driver\":\"null-co\",\"node-name\":\"p0\","
                                   "\"read-zeroes\":true}");
    Error *err = NULL;
    BlockBackend *a, *b, *ro;
    char buf[512];

    a = blk_new("drive-a", bs, true, false, &error_abort);
    g_assert_null(blk_new("drive-b", bs, true, true, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "already has a writer"));
    error_free(err);
    err = NULL;
    g_assert_null(blk_new("drive-a", bs, false, false, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Duplicate ID 'drive-a'"));
    error_free(err);
    err = NULL;
    g_assert_null(blk_new("p0", bs, false, false, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "conflicts with an "
                            "existing node name"));
    error_free(err);
    err = NULL;
    ro = blk_new("drive-ro", bs, false, false, &error_abort);
    g_assert_cmpint(blk_pwrite(ro, 0, 512, buf, 0, &err), ==, -EACCES);
    g_assert_nonnull(strstr(error_get_pretty(err), "device 'drive-ro' is "
                            "read-only"));
    error_free(err);
    err = NULL;
    blk_unref(a);
    /* With share-rw on both, two writers are fine. */
    a = blk_new("drive-a", bs, true, true, &error_abort);
    b = blk_new("drive-b", bs, true, true, &error_abort);
    g_assert_true(blk_by_name("drive-b") == b);
    /* Past the end: refused, counted invalid. */
    g_assert_cmpint(blk_pread(b, (1 << 30) - 256, 512, buf, &err), ==, -EIO);
    g_assert_nonnull(strstr(error_get_pretty(err), "node 'p0': request at "
                            "offset 1073741568, 512 bytes is past the end"));
    error_free(err);
    g_assert_cmpint(blk_get_stats(b)->invalid_ops[BLOCK_ACCT_READ], ==, 1);
    memset(buf, 1, sizeof(buf));
    g_assert_cmpint(blk_pread(b, 0, 512, buf, &error_abort), ==, 0);
    g_assert_cmpint(buf[0] | buf[511], ==, 0);
    blk_unref(a);
    blk_unref(b);
    blk_unref(ro);
    g_assert_null(blk_by_name("drive-b"));
    bdrv_unref(bs);
}

/* The file driver with one engine and cache mode: the shared checks. */
typedef struct FileCase {
    const char *aio;
    bool direct;
} FileCase;

typedef struct AioWait {
    int pending;
    int errors;
    gboolean on_main_thread;
} AioWait;

static GThread *main_thread;

static void aio_done(void *opaque, int ret, const Error *err)
{
    AioWait *w = opaque;

    g_assert_true(g_thread_self() == main_thread);
    g_assert_true(bql_locked());
    if (ret < 0) {
        g_printerr("aio error: %s\n", err ? error_get_pretty(err) : "?");
        w->errors++;
    }
    w->pending--;
}

static void wait_all(AioWait *w)
{
    test_watchdog_arm("aio wait", 30);
    while (w->pending > 0) {
        main_loop_wait(true);
    }
    test_watchdog_disarm();
}

typedef struct HelperArgs {
    BlockBackend *blk;
    uint64_t size;
    int seed;
    int ret;
} HelperArgs;

/* A helper thread reads the whole disk synchronously and checks it. */
static gpointer helper_reader(gpointer opaque)
{
    HelperArgs *a = opaque;
    g_autofree unsigned char *buf = g_malloc(a->size);

    a->ret = blk_pread(a->blk, 0, a->size, buf, NULL);
    for (uint64_t i = 0; a->ret == 0 && i < a->size; i++) {
        if (buf[i] != bt_pattern(i, a->seed)) {
            a->ret = -EBADMSG;
        }
    }
    return NULL;
}

/*
 * A -drive (a shared writer) claims nothing exclusive; a device that
 * attaches without share-rw does, so a writable export (another shared
 * writer) is refused while it is attached, and a device is refused while
 * an export writes; share-rw=on on the device lets both write.
 */
static void test_device_claims_write(void)
{
    BlockDriverState *bs = bt_open("{\"driver\":\"null-co\","
                                   "\"node-name\":\"p1\"}");
    BlockBackend *drive = blk_new("drive0", bs, true, true, &error_abort);
    BlockBackend *export;
    int dev, dev2;
    Error *err = NULL;

    g_assert_true(blk_attach_dev(drive, &dev, NULL, false, &error_abort));
    g_assert_null(blk_new(NULL, bs, true, true, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "already has a writer"));
    error_free(err);
    err = NULL;
    blk_detach_dev(drive, &dev);

    export = blk_new(NULL, bs, true, true, &error_abort);
    g_assert_false(blk_attach_dev(drive, &dev, NULL, false, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "already has a writer"));
    error_free(err);
    g_assert_null(blk_get_attached_dev(drive));
    g_assert_true(blk_attach_dev(drive, &dev2, NULL, true, &error_abort));
    blk_detach_dev(drive, &dev2);
    blk_unref(export);
    blk_unref(drive);
    bdrv_unref(bs);
}

static void test_file_engine(gconstpointer data)
{
    const FileCase *fc = data;
    const uint64_t size = 1 << 20, chunk = 32768;
    g_autofree char *path = bt_path("engine.img");
    g_autofree char *json = NULL;
    g_autofree unsigned char *buf = g_aligned_alloc(size, 1, 4096);
    BlockDriverState *bs;
    BlockBackend *blk;
    BlockIov iovs[32];
    struct iovec ones[32];
    AioWait w = { 0 };
    HelperArgs ha;
    GThread *t;

    bt_make_pattern_file(path, size, 0);
    json = g_strdup_printf("{\"driver\":\"raw\",\"node-name\":\"e-%s\","
                           "\"cache\":{\"direct\":%s},\"file\":{\"driver\":"
                           "\"file\",\"aio\":\"%s\",\"filename\":\"%s\"}}",
                           fc->aio, fc->direct ? "true" : "false", fc->aio,
                           path);
    bs = bt_open(json);
    blk = new_blk(bs, "engine");
    g_assert_cmpint(blk_getlength(blk), ==, size);

    /* 32 asynchronous writes of the new pattern, in flight together. */
    for (uint64_t i = 0; i < size; i++) {
        buf[i] = bt_pattern(i, 5);
    }
    for (int i = 0; i < 32; i++) {
        block_iov_init_buf(&iovs[i], &ones[i], buf + i * chunk, chunk);
        w.pending++;
        blk_aio_pwritev(blk, i * chunk, &iovs[i], 0, aio_done, &w);
    }
    wait_all(&w);
    g_assert_cmpint(w.errors, ==, 0);
    g_assert_cmpint(blk_in_flight(blk), ==, 0);
    g_assert_cmpint(blk_get_stats(blk)->nr_ops[BLOCK_ACCT_WRITE], ==, 32);
    w.pending = 1;
    blk_aio_flush(blk, aio_done, &w);
    wait_all(&w);

    /* A helper thread reads it back synchronously. */
    ha = (HelperArgs){ .blk = blk, .size = size, .seed = 5 };
    t = g_thread_new("reader", helper_reader, &ha);
    g_thread_join(t);
    g_assert_cmpint(ha.ret, ==, 0);

    /* Asynchronous reads into a fresh buffer. */
    memset(buf, 0xaa, size);
    for (int i = 0; i < 32; i++) {
        w.pending++;
        blk_aio_preadv(blk, i * chunk, &iovs[i], aio_done, &w);
    }
    wait_all(&w);
    g_assert_cmpint(w.errors, ==, 0);
    for (uint64_t i = 0; i < size; i++) {
        if (buf[i] != bt_pattern(i, 5)) {
            g_error("byte %" G_GUINT64_FORMAT " is %u", i, buf[i]);
        }
    }
    blk_unref(blk);
    bdrv_unref(bs);
    g_assert_null(bdrv_find_node("e-threads"));
}

/* Unaligned offsets, lengths and buffers under O_DIRECT; EOF reads. */
static void test_direct_alignment(gconstpointer data)
{
    const char *aio = data;
    const uint64_t fsize = 10000;    /* not a multiple of 4096 */
    g_autofree char *path = bt_path("direct.img");
    g_autofree char *json = NULL;
    g_autofree unsigned char *raw = g_malloc(8192 + 1);
    unsigned char *buf = raw + 1;    /* misaligned on purpose */
    BlockDriverState *bs, *file;
    struct stat st;
    Error *err = NULL;

    bt_make_pattern_file(path, fsize, 3);
    json = g_strdup_printf("{\"driver\":\"file\",\"node-name\":\"d-%s\","
                           "\"cache\":{\"direct\":true},\"aio\":\"%s\","
                           "\"filename\":\"%s\"}", aio, aio, path);
    file = bs = bt_open(json);
    g_assert_cmpint(bs->request_alignment, ==, 4096);

    /* Read 1000 bytes at 4000 into a misaligned buffer. */
    g_assert_cmpint(bdrv_pread(bs, 4000, 1000, buf, &error_abort), ==, 0);
    for (int i = 0; i < 1000; i++) {
        g_assert_cmpint(buf[i], ==, bt_pattern(4000 + i, 3));
    }
    /* Across EOF: the file part, then zeroes. */
    g_assert_cmpint(bdrv_pread(bs, 9000, 3000, buf, &error_abort), ==, 0);
    for (int i = 0; i < 3000; i++) {
        g_assert_cmpint(buf[i], ==, (uint64_t)(9000 + i) < fsize ?
                        bt_pattern(9000 + i, 3) : 0);
    }
    /* Wholly past EOF: zeroes. */
    memset(buf, 0x55, 512);
    g_assert_cmpint(bdrv_pread(bs, 20000, 512, buf, &error_abort), ==, 0);
    g_assert_cmpint(buf[0] | buf[511], ==, 0);

    /* Write 100 bytes at 4090 (straddles a block): neighbours intact. */
    memset(buf, 0xee, 100);
    g_assert_cmpint(bdrv_pwrite(bs, 4090, 100, buf, 0, &error_abort), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 4000, 300, buf, &err), ==, 0);
    for (int i = 0; i < 300; i++) {
        uint64_t off = 4000 + i;
        unsigned char want = off >= 4090 && off < 4190 ? 0xee
                                                       : bt_pattern(off, 3);
        g_assert_cmpint(buf[i], ==, want);
    }
    /* The padding did not make the file longer. */
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, fsize);
    /* An unaligned write at the tail grows it exactly. */
    g_assert_cmpint(bdrv_pwrite(bs, fsize, 10, buf, 0, &error_abort), ==, 0);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, fsize + 10);
    bdrv_unref(file);
}

static void test_discard_zeroes(void)
{
    const uint64_t size = 1 << 20;
    g_autofree char *path = bt_path("discard.img");
    g_autofree char *json = NULL;
    g_autofree unsigned char *buf = g_malloc(size);
    BlockDriverState *bs;
    BlockBackend *blk;
    uint64_t pnum;
    struct stat st1, st2;

    bt_make_pattern_file(path, size, 9);
    json = g_strdup_printf("{\"driver\":\"raw\",\"node-name\":\"z0\","
                           "\"file\":{\"driver\":\"file\",\"discard\":"
                           "\"unmap\",\"filename\":\"%s\"}}", path);
    bs = bt_open(json);
    blk = new_blk(bs, "zdisk");
    g_assert_cmpint(stat(path, &st1), ==, 0);
    g_assert_cmpint(blk_pdiscard(blk, 65536, 131072, &error_abort), ==, 0);
    g_assert_cmpint(stat(path, &st2), ==, 0);
    g_assert_cmpint(st2.st_blocks, <, st1.st_blocks);
    g_assert_cmpint(blk_block_status(blk, 65536, 131072, &pnum) &
                    BDRV_BLOCK_ZERO, !=, 0);
    g_assert_cmpint(pnum, ==, 131072);
    g_assert_cmpint(blk_block_status(blk, 0, 65536, &pnum) &
                    BDRV_BLOCK_DATA, !=, 0);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 300000, 5000, 0, &error_abort),
                    ==, 0);
    g_assert_cmpint(blk_pread(blk, 0, size, buf, &error_abort), ==, 0);
    for (uint64_t i = 0; i < size; i++) {
        bool zero = (i >= 65536 && i < 65536 + 131072) ||
                    (i >= 300000 && i < 305000);
        g_assert_cmpint(buf[i], ==, zero ? 0 : bt_pattern(i, 9));
    }
    blk_unref(blk);
    bdrv_unref(bs);
}

static void test_raw_window(void)
{
    g_autofree char *path = bt_path("window.img");
    g_autofree char *json = NULL, *bad = NULL;
    unsigned char buf[4096];
    BlockDriverState *bs;
    BlockBackend *blk;
    Error *err = NULL;

    bt_make_pattern_file(path, 65536, 4);
    json = g_strdup_printf("{\"driver\":\"raw\",\"offset\":4096,\"size\":8192,"
                           "\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}",
                           path);
    bs = bt_open(json);
    blk = new_blk(bs, "win");
    g_assert_cmpint(blk_getlength(blk), ==, 8192);
    g_assert_cmpint(blk_pread(blk, 0, 4096, buf, &error_abort), ==, 0);
    g_assert_cmpint(buf[0], ==, bt_pattern(4096, 4));
    g_assert_cmpint(blk_pread(blk, 8192, 1, buf, &err), ==, -EIO);
    error_free(err);
    memset(buf, 0x11, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 4096, 4096, buf, 0, &error_abort), ==, 0);
    blk_unref(blk);
    bdrv_unref(bs);
    {
        g_autofree char *contents = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
        g_assert_cmpint((unsigned char)contents[8192], ==, 0x11);
        g_assert_cmpint((unsigned char)contents[12288], ==,
                        bt_pattern(12288, 4));
    }
    bad = g_strdup_printf("{\"driver\":\"raw\",\"offset\":65000,\"size\":8192,"
                          "\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}",
                          path);
    bt_open_fails(bad, "has to be smaller or equal to the  actual size");
}

/* A write that does not fit gets ENOSPC, with the node and file named. */
static void test_enospc(void)
{
    g_autofree char *mnt = bt_path("tiny");
    g_autofree char *path = NULL, *json = NULL;
    g_autofree unsigned char *buf = g_malloc0(1 << 20);
    BlockDriverState *bs;
    Error *err = NULL;
    int ret = 0;

    g_assert_cmpint(g_mkdir(mnt, 0700), ==, 0);
    if (geteuid() != 0 ||
        mount("tandem-test", mnt, "tmpfs", 0, "size=256k") < 0) {
        g_test_skip("cannot mount a tmpfs here (needs root)");
        return;
    }
    path = g_build_filename(mnt, "full.img", NULL);
    g_assert_true(g_file_set_contents(path, "", 0, NULL));
    json = g_strdup_printf("{\"driver\":\"file\",\"node-name\":\"full\","
                           "\"filename\":\"%s\"}", path);
    bs = bt_open(json);
    for (int i = 0; i < 4 && ret == 0; i++) {
        ret = bdrv_pwrite(bs, (uint64_t)i << 20, 1 << 20, buf, 0, &err);
    }
    g_assert_cmpint(ret, ==, -ENOSPC);
    g_assert_nonnull(strstr(error_get_pretty(err), "node 'full' (file '"));
    g_assert_nonnull(strstr(error_get_pretty(err), "No space left on device"));
    error_free(err);
    bdrv_unref(bs);
    umount2(mnt, MNT_DETACH);
}

static void test_null_co(void)
{
    BlockDriverState *bs = bt_open("{\"driver\":\"null-co\",\"size\":4096,"
                                   "\"read-zeroes\":true}");
    BlockBackend *blk = new_blk(bs, NULL);
    char buf[4096];

    memset(buf, 7, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, 4096, buf, 0, &error_abort), ==, 0);
    g_assert_cmpint(blk_pread(blk, 0, 4096, buf, &error_abort), ==, 0);
    g_assert_cmpint(buf[0] | buf[4095], ==, 0);
    g_assert_null(blk_next(NULL));   /* anonymous backends are not listed */
    blk_unref(blk);
    bdrv_unref(bs);
}

static const FileCase cases[] = {
    { "threads", false }, { "threads", true },
    { "io_uring", false }, { "io_uring", true },
    { "native", true },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    main_thread = g_thread_self();
    g_test_add_func("/block/graph/node-names", test_node_names);
    g_test_add_func("/block/graph/refcount-children",
                    test_refcount_and_children);
    g_test_add_func("/block/graph/open-errors", test_open_errors);
    g_test_add_func("/block/backend/permissions", test_backend_permissions);
    g_test_add_func("/block/backend/device-claims-write",
                    test_device_claims_write);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("/block/file/%s%s",
                                                cases[i].aio,
                                                cases[i].direct ? "-direct"
                                                                : "");
        g_test_add_data_func(name, &cases[i], test_file_engine);
    }
    g_test_add_data_func("/block/file/direct-align/threads", "threads",
                         test_direct_alignment);
    g_test_add_data_func("/block/file/direct-align/io_uring", "io_uring",
                         test_direct_alignment);
    g_test_add_data_func("/block/file/direct-align/native", "native",
                         test_direct_alignment);
    g_test_add_func("/block/file/discard-zeroes", test_discard_zeroes);
    g_test_add_func("/block/file/enospc", test_enospc);
    g_test_add_func("/block/raw/window", test_raw_window);
    g_test_add_func("/block/null-co", test_null_co);
    return g_test_run();
}
