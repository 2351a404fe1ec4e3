/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qcow2 creation options of blockdev-create (block/qcow2-create.h),
 * in-process, judged by Debian's qemu-img:
 * - every option QEMU 7.2 refuses is refused with QEMU's text, and what
 *   Tandem cannot write (preallocation other than off) with a clear one;
 * - each accepted combination (versions, cluster sizes from 512 B to
 *   2 MiB, refcount widths from 1 to 64 bits, lazy refcounts, a backing
 *   file and its format) gives an image that `qemu-img check` finds
 *   clean and `qemu-img info` describes as asked; Tandem's own qcow2
 *   driver opens it, and data written through it reads back;
 * - small clusters need several refcount blocks (a 1 GiB image with
 *   512-byte clusters needs three);
 * - the node's old contents go: a larger file is cut to the new image;
 * - a node another user writes is refused (the creation claims write
 *   and resize, as QEMU's does).
 */
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/qcow2-create.h"
#include "qapi/qapi-visit.h"
#include "block-test-util.h"
#include "qmp-test-client.h"

/* blockdev-create's qcow2 options from JSON ("file" is always "f"). */
static BlockdevCreateOptionsQcow2 *opts(const char *members)
{
    g_autofree char *text = g_strdup_printf("{\"file\":\"f\",%s}", members);
    json_object *obj = json_tokener_parse(text);
    BlockdevCreateOptionsQcow2 *o = NULL;

    g_assert_nonnull(obj);
    g_assert_true(qapi_from_json_BlockdevCreateOptionsQcow2(obj, &o, "o",
                                                            NULL));
    json_object_put(obj);
    return o;
}

static void expect_refused(const char *members, const char *text)
{
    BlockdevCreateOptionsQcow2 *o = opts(members);
    Error *err = NULL;
    Qcow2CreateParams p;

    g_assert_false(qcow2_create_params_from_qapi(o, &p, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, text);
    error_free(err);
    qapi_free_BlockdevCreateOptionsQcow2(o);
}

static void test_refusals(void)
{
    static const char *const cluster =
        "Cluster size must be a power of two between 512 and 2048k";
    static const char *const width =
        "Refcount width must be a power of two and may not exceed 64 bits";

    expect_refused("\"size\":1000",
                   "Image size must be a multiple of 512 bytes");
    expect_refused("\"size\":1048576,\"cluster-size\":1000", cluster);
    expect_refused("\"size\":1048576,\"cluster-size\":256", cluster);
    expect_refused("\"size\":1048576,\"cluster-size\":4194304", cluster);
    expect_refused("\"size\":1048576,\"cluster-size\":0", cluster);
    expect_refused("\"size\":1048576,\"version\":\"v2\","
                   "\"lazy-refcounts\":true",
                   "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use version=v3 or greater)");
    expect_refused("\"size\":1048576,\"version\":\"v2\","
                   "\"refcount-bits\":8",
                   "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use version=v3 or "
                   "greater)");
    expect_refused("\"size\":1048576,\"refcount-bits\":3", width);
    expect_refused("\"size\":1048576,\"refcount-bits\":128", width);
    expect_refused("\"size\":1048576,\"refcount-bits\":0", width);
    expect_refused("\"size\":1048576,\"backing-fmt\":\"raw\"",
                   "Backing format cannot be used without backing file");
    expect_refused("\"size\":1048576,\"preallocation\":\"metadata\"",
                   "Unsupported preallocation mode: metadata (Tandem "
                   "creates qcow2 images with preallocation=off only)");
    expect_refused("\"size\":1048576,\"preallocation\":\"full\"",
                   "Unsupported preallocation mode: full (Tandem "
                   "creates qcow2 images with preallocation=off only)");
}

/* qemu-img info --output=json of path, parsed. */
static json_object *img_info(const char *path)
{
    g_autofree char *out = NULL;
    json_object *info;

    g_assert_cmpint(bt_qemu_img(&out, "info --output=json '%s'", path), ==,
                    0);
    info = json_tokener_parse(out);
    g_assert_nonnull(info);
    return info;
}

static json_object *get(json_object *o, const char *path)
{
    g_auto(GStrv) keys = g_strsplit(path, ".", -1);

    for (int i = 0; keys[i]; i++) {
        if (!json_object_object_get_ex(o, keys[i], &o)) {
            g_error("qemu-img info has no %s", path);
        }
    }
    return o;
}

static BlockDriverState *open_file(const char *path)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"file\",\"node-name\":\"f\",\"filename\":\"%s\"}",
        path);

    return bt_open(json);
}

/* Creates onto path's node with the options; the image's info. */
static json_object *create(const char *path, const char *members)
{
    BlockdevCreateOptionsQcow2 *o = opts(members);
    BlockDriverState *f = open_file(path);
    Error *err = NULL;
    Qcow2CreateParams p;

    if (!qcow2_create_params_from_qapi(o, &p, &err) ||
        !qcow2_create_on_node(f, &p, &err)) {
        g_error("%s: %s", members, error_get_pretty(err));
    }
    bdrv_unref(f);
    qapi_free_BlockdevCreateOptionsQcow2(o);
    bt_qemu_img_check(path);
    return img_info(path);
}

/* Tandem's qcow2 driver opens it: a cluster written reads back. */
static void write_read_back(const char *path, uint64_t off)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"q\",\"backing\":null,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}", path);
    BlockDriverState *bs = bt_open(json);
    BlockBackend *blk = blk_new(NULL, bs, true, false, &error_abort);
    unsigned char buf[4096], back[4096];

    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, off, sizeof(buf), buf, 0, NULL), ==, 0);
    g_assert_cmpint(blk_pread(blk, off, sizeof(back), back, NULL), ==, 0);
    g_assert_cmpmem(buf, sizeof(buf), back, sizeof(back));
    blk_unref(blk);
    bdrv_unref(bs);
    bt_qemu_img_check(path);
}

/* The backing files the images name, next to them (qemu-img check
 * opens them). */
static void make_backing_files(void)
{
    g_autofree char *raw = bt_path("base.raw");
    g_autofree char *qcow2 = bt_path("base.qcow2");
    g_autofree char *out = NULL;

    bt_make_pattern_file(raw, 10 << 20, 1);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 1M", qcow2),
                    ==, 0);
}

static void new_empty(const char *path)
{
    g_assert_true(g_file_set_contents(path, "", 0, NULL));
}

static void test_defaults(void)
{
    g_autofree char *path = bt_path("defaults.qcow2");
    json_object *info;

    new_empty(path);
    info = create(path, "\"size\":67108864");
    g_assert_cmpint(json_object_get_int64(get(info, "virtual-size")), ==,
                    64 << 20);
    g_assert_cmpint(json_object_get_int64(get(info, "cluster-size")), ==,
                    65536);
    g_assert_cmpstr(json_object_get_string(get(info,
                    "format-specific.data.compat")), ==, "1.1");
    g_assert_false(json_object_get_boolean(get(info,
                   "format-specific.data.lazy-refcounts")));
    g_assert_cmpint(json_object_get_int64(get(info,
                    "format-specific.data.refcount-bits")), ==, 16);
    g_assert_false(json_object_object_get_ex(info, "backing-filename",
                                             NULL));
    json_object_put(info);
    write_read_back(path, 32 << 20);
}

static void test_options(void)
{
    g_autofree char *path = bt_path("options.qcow2");
    json_object *info;

    make_backing_files();
    new_empty(path);
    info = create(path, "\"size\":10485760,\"cluster-size\":4096,"
                  "\"lazy-refcounts\":true,\"backing-file\":\"base.raw\","
                  "\"backing-fmt\":\"raw\",\"version\":\"v3\","
                  "\"preallocation\":\"off\"");
    g_assert_cmpint(json_object_get_int64(get(info, "virtual-size")), ==,
                    10 << 20);
    g_assert_cmpint(json_object_get_int64(get(info, "cluster-size")), ==,
                    4096);
    g_assert_true(json_object_get_boolean(get(info,
                  "format-specific.data.lazy-refcounts")));
    g_assert_cmpstr(json_object_get_string(get(info, "backing-filename")),
                    ==, "base.raw");
    g_assert_cmpstr(json_object_get_string(get(info,
                    "backing-filename-format")), ==, "raw");
    json_object_put(info);

    /* No format: none recorded; readers probe the backing file. */
    new_empty(path);
    info = create(path, "\"size\":10485760,\"backing-file\":\"base.raw\"");
    g_assert_cmpstr(json_object_get_string(get(info, "backing-filename")),
                    ==, "base.raw");
    g_assert_false(json_object_object_get_ex(info, "backing-filename-format",
                                             NULL));
    json_object_put(info);
}

static void test_v2(void)
{
    g_autofree char *path = bt_path("v2.qcow2");
    json_object *info;

    make_backing_files();
    new_empty(path);
    info = create(path, "\"size\":1048576,\"version\":\"v2\","
                  "\"backing-file\":\"base.qcow2\",\"backing-fmt\":\"qcow2\"");
    g_assert_cmpstr(json_object_get_string(get(info,
                    "format-specific.data.compat")), ==, "0.10");
    g_assert_cmpstr(json_object_get_string(get(info,
                    "backing-filename-format")), ==, "qcow2");
    json_object_put(info);
    new_empty(path);
    json_object_put(create(path, "\"size\":1048576,\"version\":\"v2\""));
    write_read_back(path, 512 << 10);
}

static void test_refcount_widths(void)
{
    g_autofree char *path = bt_path("widths.qcow2");

    for (int bits = 1; bits <= 64; bits *= 2) {
        g_autofree char *m = g_strdup_printf(
            "\"size\":4194304,\"refcount-bits\":%d", bits);
        json_object *info;

        new_empty(path);
        info = create(path, m);
        g_assert_cmpint(json_object_get_int64(get(info,
                        "format-specific.data.refcount-bits")), ==, bits);
        json_object_put(info);
        write_read_back(path, 1 << 20);
    }
}

/* 512-byte clusters: the tables outgrow one refcount block. */
static void test_small_clusters(void)
{
    g_autofree char *path = bt_path("small.qcow2");
    json_object *info;

    new_empty(path);
    info = create(path, "\"size\":1073741824,\"cluster-size\":512");
    g_assert_cmpint(json_object_get_int64(get(info, "cluster-size")), ==,
                    512);
    g_assert_cmpint(json_object_get_int64(get(info, "virtual-size")), ==,
                    1 << 30);
    json_object_put(info);
    write_read_back(path, 1000 << 20);

    new_empty(path);
    info = create(path, "\"size\":1073741824,\"cluster-size\":2097152");
    g_assert_cmpint(json_object_get_int64(get(info, "cluster-size")), ==,
                    2 << 20);
    json_object_put(info);
    write_read_back(path, 0);
}

static void test_truncates(void)
{
    g_autofree char *path = bt_path("old.img");
    struct stat st;

    bt_make_pattern_file(path, 8 << 20, 3);
    json_object_put(create(path, "\"size\":1048576"));
    g_assert_cmpint(stat(path, &st), ==, 0);
    /* Header, refcount table, refcount block, L1: four clusters. */
    g_assert_cmpint(st.st_size, ==, 4 * 65536);
    write_read_back(path, 0);
}

static void test_in_use(void)
{
    g_autofree char *path = bt_path("busy.qcow2");
    g_autofree char *json = NULL;
    BlockdevCreateOptionsQcow2 *o = opts("\"size\":1048576");
    BlockDriverState *q, *f;
    Error *err = NULL;
    Qcow2CreateParams p;

    new_empty(path);
    json_object_put(create(path, "\"size\":1048576"));
    json = g_strdup_printf(
        "{\"driver\":\"qcow2\",\"node-name\":\"q\",\"backing\":null,"
        "\"file\":{\"driver\":\"file\",\"node-name\":\"qf\","
        "\"filename\":\"%s\"}}", path);
    q = bt_open(json);
    f = bdrv_find_node("qf");
    g_assert_true(qcow2_create_params_from_qapi(o, &p, &err));
    g_assert_false(qcow2_create_on_node(f, &p, &err));
    /* The words Tandem's permission check uses for two writers. */
    g_assert_nonnull(strstr(error_get_pretty(err), "already has a writer"));
    error_free(err);
    bdrv_unref(q);
    qapi_free_BlockdevCreateOptionsQcow2(o);
    bt_qemu_img_check(path);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (!bt_have_qemu_img()) {
        /* The judge is a declared dependency (scripts/install-deps.sh). */
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/create/refusals", test_refusals);
    g_test_add_func("/block/create/defaults", test_defaults);
    g_test_add_func("/block/create/options", test_options);
    g_test_add_func("/block/create/v2", test_v2);
    g_test_add_func("/block/create/refcount-widths", test_refcount_widths);
    g_test_add_func("/block/create/small-clusters", test_small_clusters);
    g_test_add_func("/block/create/truncates", test_truncates);
    g_test_add_func("/block/create/in-use", test_in_use);
    return qmp_test_run();
}
