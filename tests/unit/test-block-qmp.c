/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block layer's QMP and HMP commands in-process (no /dev/kvm):
 * blockdev-add and blockdev-del with their errors, query-named-block-nodes,
 * drive_add/drive_del, query-block, query-blockstats, block_resize, and
 * info block / info blockstats, over the in-process QMP client.
 */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "qmp-test-client.h"
#include "block/blockdev.h"
#include "block-test-util.h"
#include "block/block_int.h"
#include "qapi/qapi-commands.h"

static Client *start(void)
{
    Client *c = client_new();

    negotiate(c, false);
    return c;
}

static char *hmp(Client *c, const char *cmd)
{
    g_autofree char *line = g_strdup_printf(
        "{\"execute\":\"human-monitor-command\",\"arguments\":"
        "{\"command-line\":\"%s\"}}\n", cmd);
    json_object *resp = expect_return(c, line, NULL);
    char *out = g_strdup(json_object_get_string(member(resp, "return")));

    json_object_put(resp);
    return out;
}

/* The entry of query-named-block-nodes for node, or NULL (borrowed). */
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
    return NULL;
}

static void test_blockdev_add_del(void)
{
    Client *c = start();
    g_autofree char *img = bt_path("qmp.qcow2");
    json_object *resp, *n;
    g_autofree char *out = NULL;

    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 2M", img),
                    ==, 0);
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
              "\"file\","
              "\"node-name\":\"f0\",\"filename\":\"%s\"}}\n", img);
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
              "\"qcow2\","
              "\"node-name\":\"d0\",\"file\":\"f0\"}}\n");
    resp = expect_return(c, "{\"execute\":\"query-named-block-nodes\"}\n",
                         NULL);
    n = find_node(member(resp, "return"), "d0");
    g_assert_nonnull(n);
    g_assert_cmpstr(json_object_get_string(member(n, "drv")), ==, "qcow2");
    g_assert_cmpstr(json_object_get_string(member(n, "file")), ==, img);
    g_assert_false(json_object_get_boolean(member(n, "ro")));
    g_assert_cmpint(json_object_get_int64(member(member(n, "image"),
                                                 "virtual-size")), ==,
                    2 << 20);
    g_assert_cmpint(json_object_get_int64(member(member(n, "image"),
                                                 "cluster-size")), ==,
                    65536);
    g_assert_nonnull(find_node(member(resp, "return"), "f0"));
    json_object_put(resp);

    expect_error(c, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
                 "\"null-co\",\"node-name\":\"d0\"}}\n", "GenericError",
                 "Duplicate nodes with node-name='d0'", NULL);
    expect_error(c, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
                 "\"null-co\"}}\n", "GenericError",
                 "'node-name' must be specified for the root node", NULL);
    expect_error(c, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
                 "\"vmdk\",\"node-name\":\"x\"}}\n", "GenericError",
                 "driver", NULL);
    expect_error(c, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
                 "\"qcow2\",\"node-name\":\"x\",\"file\":{\"driver\":\"file\","
                 "\"filename\":\"/nonexistent.qcow2\"}}}\n", "GenericError",
                 "(file '/nonexistent.qcow2'): Could not open "
                 "'/nonexistent.qcow2'", NULL);
    g_assert_null(bdrv_find_node("x"));
    /* f0 is d0's file: in use. */
    expect_error(c, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
                 "\"f0\"}}\n", "GenericError", "Node f0 is in use", NULL);
    expect_error(c, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
                 "\"nope\"}}\n", "GenericError",
                 "Failed to find node with node-name='nope'", NULL);
    expect_ok(c, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
              "\"d0\"}}\n");
    expect_ok(c, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
              "\"f0\"}}\n");
    g_assert_null(bdrv_find_node("f0"));
    bt_qemu_img_check(img);

    /* Inline children get generated names the monitor does not own. */
    expect_ok(c, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
              "\"raw\","
              "\"node-name\":\"r0\",\"file\":{\"driver\":\"null-co\"}}}\n");
    {
        const char *child = bdrv_get_node_name(
            bdrv_file_bs(bdrv_find_node("r0")));
        g_autofree char *req = g_strdup_printf(
            "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
            "\"%s\"}}\n", child);

        g_assert_true(g_str_has_prefix(child, "#block"));
        expect_error(c, req, "GenericError", "is not owned by the monitor",
                     NULL);
    }
    expect_ok(c, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
              "\"r0\"}}\n");
    g_assert_null(bdrv_next_node(NULL));
    client_free(c);
}

static void test_drive_query(void)
{
    Client *c = start();
    g_autofree char *base = bt_path("drive-base.raw");
    g_autofree char *cmd = NULL, *out = NULL;
    json_object *resp, *b, *in;
    char buf[4096];

    bt_make_pattern_file(base, 1 << 20, 2);
    cmd = g_strdup_printf("drive_add 0 if=none,id=drive0,file=%s,"
                          "format=raw,cache=none,aio=native", base);
    out = hmp(c, cmd);
    g_assert_cmpstr(out, ==, "OK\r\n");
    g_free(out);

    resp = expect_return(c, "{\"execute\":\"query-block\"}\n", NULL);
    g_assert_cmpint(json_object_array_length(member(resp, "return")), ==, 1);
    b = json_object_array_get_idx(member(resp, "return"), 0);
    g_assert_cmpstr(json_object_get_string(member(b, "device")), ==,
                    "drive0");
    g_assert_cmpstr(json_object_get_string(member(b, "type")), ==,
                    "unknown");
    in = member(b, "inserted");
    g_assert_cmpstr(json_object_get_string(member(in, "drv")), ==, "raw");
    g_assert_cmpstr(json_object_get_string(member(in, "file")), ==, base);
    g_assert_true(json_object_get_boolean(member(member(in, "cache"),
                                                 "direct")));
    g_assert_true(json_object_get_boolean(member(member(in, "cache"),
                                                 "writeback")));
    json_object_put(resp);

    /* I/O through the drive shows in query-blockstats. */
    g_assert_cmpint(blk_pread(blk_by_name("drive0"), 0, 4096, buf,
                              &error_abort), ==, 0);
    resp = expect_return(c, "{\"execute\":\"query-blockstats\"}\n", NULL);
    b = json_object_array_get_idx(member(resp, "return"), 0);
    g_assert_cmpstr(json_object_get_string(member(b, "device")), ==,
                    "drive0");
    g_assert_cmpint(json_object_get_int64(member(member(b, "stats"),
                                                 "rd_bytes")), ==, 4096);
    g_assert_cmpint(json_object_get_int64(member(member(b, "stats"),
                                                 "rd_operations")), ==, 1);
    g_assert_nonnull(member(b, "parent"));
    json_object_put(resp);

    out = hmp(c, "info block");
    g_assert_nonnull(strstr(out, "drive0 (#block"));
    g_assert_nonnull(strstr(out, "(raw)"));
    g_assert_nonnull(strstr(out, "Cache mode:       writeback, direct"));
    g_free(out);
    out = hmp(c, "info blockstats");
    g_assert_true(g_str_has_prefix(out, "drive0: rd_bytes=4096 wr_bytes=0 "
                                   "rd_operations=1 "));
    g_free(out);

    /* block_resize */
    expect_error(c, "{\"execute\":\"block_resize\",\"arguments\":{\"device\":"
                 "\"nodrive\",\"size\":1}}\n", "GenericError",
                 "Cannot find device='nodrive' nor node-name=''", NULL);
    expect_error(c, "{\"execute\":\"block_resize\",\"arguments\":{\"size\":1}}"
                 "\n", "GenericError", "Exactly one of", NULL);
    expect_ok(c, "{\"execute\":\"block_resize\",\"arguments\":{\"device\":"
              "\"drive0\",\"size\":2097152}}\n");
    g_assert_cmpint(blk_getlength(blk_by_name("drive0")), ==, 2 << 20);

    /* Duplicates and bad options. */
    g_free(cmd);
    cmd = g_strdup_printf("drive_add 0 if=none,id=drive0,file=%s", base);
    out = hmp(c, cmd);
    g_assert_nonnull(strstr(out, "Duplicate ID 'drive0' for drive"));
    g_free(out);
    g_free(cmd);
    cmd = g_strdup_printf("drive_add 0 if=none,id=d9,file=%s,cache=bogus",
                          base);
    out = hmp(c, cmd);
    g_assert_nonnull(strstr(out, "invalid cache option 'bogus'"));
    g_free(out);

    out = hmp(c, "drive_del drive0");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    out = hmp(c, "drive_del drive0");
    g_assert_nonnull(strstr(out, "Device 'drive0' not found"));
    g_clear_pointer(&out, g_free);
    resp = expect_return(c, "{\"execute\":\"query-block\"}\n", NULL);
    g_assert_cmpint(json_object_array_length(member(resp, "return")), ==, 0);
    json_object_put(resp);
    g_assert_null(bdrv_next_node(NULL));
    client_free(c);
}

/* snapshot=on: writes go to a temporary overlay, never to the file. */
static void test_drive_snapshot(void)
{
    Client *c = start();
    g_autofree char *base = bt_path("snap.raw");
    g_autofree char *cmd = NULL, *out = NULL;
    g_autofree char *contents = NULL;
    char buf[4096];
    gsize len;
    BlockBackend *blk;

    bt_make_pattern_file(base, 1 << 20, 4);
    cmd = g_strdup_printf("drive_add 0 if=none,id=snap,file=%s,format=raw,"
                          "snapshot=on", base);
    out = hmp(c, cmd);
    g_assert_cmpstr(out, ==, "OK\r\n");
    blk = blk_by_name("snap");
    bt_attach_guest(blk);
    g_assert_cmpstr(bdrv_get_format_name(blk_bs(blk)), ==, "qcow2");
    memset(buf, 0x77, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 8192, 4096, buf, 0, &error_abort), ==, 0);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 8192, 4096, buf, &error_abort), ==, 0);
    g_assert_cmpint((unsigned char)buf[0], ==, 0x77);
    g_assert_cmpint(blk_pread(blk, 0, 4096, buf, &error_abort), ==, 0);
    g_assert_cmpint((unsigned char)buf[1], ==, bt_pattern(1, 4));
    g_free(out);
    /* The overlay and its backing file, as info block shows them. */
    out = hmp(c, "info block");
    g_assert_nonnull(strstr(out, "(qcow2)"));
    {
        g_autofree char *want = g_strdup_printf("    Backing file:     %s "
                                                "(chain depth: 1)", base);
        g_assert_nonnull(strstr(out, want));
    }
    g_free(out);
    bt_detach_guest(blk);
    out = hmp(c, "drive_del snap");
    g_assert_cmpstr(out, ==, "");
    g_assert_true(g_file_get_contents(base, &contents, &len, NULL));
    g_assert_cmpint((unsigned char)contents[8192], ==, bt_pattern(8192, 4));
    client_free(c);
}

/* -blockdev's dotted keys and JSON, as the command line parses them. */
static void test_blockdev_syntax(void)
{
    g_autofree char *img = bt_path("syntax.qcow2");
    g_autofree char *dotted = NULL, *json = NULL, *out = NULL;
    Error *err = NULL;

    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 1M", img),
                    ==, 0);
    dotted = g_strdup_printf("driver=qcow2,node-name=s0,read-only=on,"
                             "file.driver=file,file.filename=%s,"
                             "file.aio=io_uring", img);
    g_assert_true(blockdev_add_cmdline(dotted, &error_abort));
    g_assert_true(bdrv_is_read_only(bdrv_find_node("s0")));
    qmp_blockdev_del("s0", &error_abort);
    json = g_strdup_printf("{\"driver\":\"raw\",\"node-name\":\"s1\","
                           "\"offset\":512,\"file\":{\"driver\":\"file\","
                           "\"filename\":\"%s\"}}", img);
    g_assert_true(blockdev_add_cmdline(json, &error_abort));
    g_assert_cmpint(bdrv_getlength(bdrv_find_node("s1")), >, 0);
    qmp_blockdev_del("s1", &error_abort);
    g_assert_false(blockdev_add_cmdline("driver=raw,node-name=s2,"
                                        "read-only=maybe", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'read-only' expects 'on' or 'off'");
    error_free(err);
    err = NULL;
    g_assert_false(blockdev_add_cmdline("driver=null-co,node-name=s3,"
                                        "size=12x", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'size' expects a non-negative integer");
    error_free(err);
    /* The driver is the implied first key, as in QEMU. */
    g_assert_true(blockdev_add_cmdline("null-co,node-name=s4,size=4096",
                                       &error_abort));
    g_assert_cmpint(bdrv_getlength(bdrv_find_node("s4")), ==, 4096);
    qmp_blockdev_del("s4", &error_abort);
    g_assert_null(bdrv_next_node(NULL));
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    g_test_add_func("/block/qmp/blockdev-add-del", test_blockdev_add_del);
    g_test_add_func("/block/qmp/drive-query", test_drive_query);
    g_test_add_func("/block/qmp/drive-snapshot", test_drive_snapshot);
    g_test_add_func("/block/qmp/blockdev-syntax", test_blockdev_syntax);
    return qmp_test_run();
}
