/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server (nbd/) in-process, no /dev/kvm, against real peers: block
 * nodes are opened here, the server listens on a unix socket in a scratch
 * directory (and on a loopback TCP port), and real peers run as
 * subprocesses while this thread spins the main loop: nbdinfo, nbdcopy,
 * qemu-img, qemu-io, qemu-nbd --list. Then the QMP and HMP commands
 * through the in-process QMP client, and the COLO recipe's export. A
 * missing peer tool fails the test (scripts/install-deps.sh installs
 * libnbd-bin and qemu-utils): nothing is silently skipped. Hostile
 * clients and protocol details: test-nbd-server-protocol.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "qmp-test-client.h"
#include "block-test-util.h"
#include "nbd-server-test-util.h"
#include "block/block_int.h"
#include "block/blockdev.h"
#include "nbd/nbd.h"
#include "nbd/nbd-proto.h"
#include "qapi/qapi-commands.h"
#include "util/main-loop.h"
#include "util/sockets.h"
#include "util/trace.h"

/* ---- real peers ---- */

static void test_nbdinfo(void)
{
    BlockDriverState *bs = nbdt_raw_node("info0", "info0.raw", 1 << 20, 1);
    g_autofree char *u = NULL, *out = NULL;

    nbdt_require_tool("nbdinfo");
    nbdt_server_start(0);
    nbdt_export_add("info0", "info0", false, "the first disk");
    u = nbdt_uri("info0");
    g_assert_cmpint(nbdt_run_peer(&out, "nbdinfo %s", u), ==, 0);
    g_assert_nonnull(strstr(out, "export-size: 1048576"));
    g_assert_nonnull(strstr(out, "description: the first disk"));
    g_assert_nonnull(strstr(out, "block_size_minimum: 1\n"));
    g_assert_nonnull(strstr(out, "block_size_preferred: 4096\n"));
    g_assert_nonnull(strstr(out, "block_size_maximum: 33554432\n"));
    g_assert_nonnull(strstr(out, "is_read_only: true"));
    g_assert_nonnull(strstr(out, "base:allocation"));
    g_free(out);
    /* The list: name and description. */
    g_assert_cmpint(nbdt_run_peer(&out, "nbdinfo --list %s", u), ==, 0);
    g_assert_nonnull(strstr(out, "export=\"info0\""));
    g_assert_nonnull(strstr(out, "the first disk"));
    nbdt_server_stop();
    bdrv_unref(bs);
}

/* One line of nbdinfo --map: "offset length type description". */
typedef struct MapLine {
    uint64_t offset, length;
    unsigned type;
} MapLine;

static GArray *parse_map(const char *out)
{
    GArray *a = g_array_new(false, true, sizeof(MapLine));
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    for (char **l = lines; *l; l++) {
        MapLine m;

        if (sscanf(*l, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %u",
                   &m.offset, &m.length, &m.type) == 3) {
            g_array_append_val(a, m);
        }
    }
    return a;
}

/* Starts the server, exports node read-only, returns nbdinfo --map. */
static GArray *export_map(const char *node)
{
    g_autofree char *u = NULL, *out = NULL;

    nbdt_server_start(0);
    nbdt_export_add(node, node, false, NULL);
    u = nbdt_uri(node);
    g_assert_cmpint(nbdt_run_peer(&out, "nbdinfo --map %s", u), ==, 0);
    return parse_map(out);
}

/*
 * base:allocation from qcow2's own allocation: data at 0 and 512 KiB
 * (64 KiB each), a zero cluster at 256 KiB, the rest unallocated.
 */
static void test_nbdinfo_map_qcow2(void)
{
    g_autofree char *img = bt_path("map.qcow2");
    g_autoptr(GArray) map = NULL;
    BlockDriverState *bs;
    MapLine *m;

    nbdt_require_tool("nbdinfo");
    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 '%s' 1M", img),
                    ==, 0);
    g_assert_cmpint(nbdt_run_peer(NULL, "qemu-io -f qcow2 -c 'write -P 7 0 64k' "
                             "-c 'write -P 9 512k 64k' -c 'write -z 256k 64k'"
                             " '%s'", img), ==, 0);
    bs = nbdt_file_node("qcow2", "map0", img);
    map = export_map("map0");
    g_assert_cmpint(map->len, ==, 4);
    m = &g_array_index(map, MapLine, 0);
    g_assert_cmpuint(m->offset, ==, 0);
    g_assert_cmpuint(m->length, ==, 65536);
    g_assert_cmpuint(m->type, ==, 0);                          /* data */
    m = &g_array_index(map, MapLine, 1);
    g_assert_cmpuint(m->offset, ==, 65536);
    g_assert_cmpuint(m->length, ==, 512 * 1024 - 65536);
    g_assert_cmpuint(m->type, ==, NBD_STATE_HOLE | NBD_STATE_ZERO);
    m = &g_array_index(map, MapLine, 2);
    g_assert_cmpuint(m->offset, ==, 512 * 1024);
    g_assert_cmpuint(m->type, ==, 0);
    m = &g_array_index(map, MapLine, 3);
    g_assert_cmpuint(m->offset, ==, 576 * 1024);
    g_assert_cmpuint(m->offset + m->length, ==, 1 << 20);
    g_assert_cmpuint(m->type, ==, NBD_STATE_HOLE | NBD_STATE_ZERO);
    nbdt_server_stop();
    bdrv_unref(bs);
    bt_qemu_img_check(img);
}

/*
 * An overlay answers where it allocates, its backing elsewhere: the
 * backing's data at 0 shows as data, the overlay's at 256 KiB too, the
 * rest of the (sparse, qcow2) backing is a hole.
 */
static void test_nbdinfo_map_backing(void)
{
    g_autofree char *base = bt_path("base.qcow2");
    g_autofree char *top = bt_path("top.qcow2");
    g_autoptr(GArray) map = NULL;
    BlockDriverState *bs;

    nbdt_require_tool("nbdinfo");
    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 '%s' 1M", base),
                    ==, 0);
    g_assert_cmpint(nbdt_run_peer(NULL, "qemu-io -f qcow2 -c 'write -P 3 0 64k' "
                             "'%s'", base), ==, 0);
    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 -b '%s' -F qcow2 "
                                "'%s'", base, top), ==, 0);
    g_assert_cmpint(nbdt_run_peer(NULL, "qemu-io -f qcow2 -c 'write -P 4 256k 64k'"
                             " '%s'", top), ==, 0);
    bs = nbdt_file_node("qcow2", "top0", top);
    map = export_map("top0");
    g_assert_cmpint(map->len, ==, 4);
    g_assert_cmpuint(g_array_index(map, MapLine, 0).length, ==, 65536);
    g_assert_cmpuint(g_array_index(map, MapLine, 0).type, ==, 0);
    g_assert_cmpuint(g_array_index(map, MapLine, 1).type, ==, 3);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).offset, ==, 256 * 1024);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).length, ==, 65536);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).type, ==, 0);
    g_assert_cmpuint(g_array_index(map, MapLine, 3).type, ==, 3);
    nbdt_server_stop();
    bdrv_unref(bs);
}

/* A sparse raw file: SEEK_DATA/SEEK_HOLE through file-posix. */
static void test_nbdinfo_map_raw_sparse(void)
{
    g_autofree char *img = bt_path("sparse.raw");
    g_autoptr(GArray) map = NULL;
    BlockDriverState *bs;
    int fd;

    nbdt_require_tool("nbdinfo");
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 4 << 20), ==, 0);
    g_assert_cmpint(pwrite(fd, "x", 1, 1 << 20), ==, 1);
    close(fd);
    bs = nbdt_file_node("raw", "sp0", img);
    map = export_map("sp0");
    /* hole, data around 1 MiB (the file system's block), hole. */
    g_assert_cmpint(map->len, ==, 3);
    g_assert_cmpuint(g_array_index(map, MapLine, 0).type, ==, 3);
    g_assert_cmpuint(g_array_index(map, MapLine, 1).type, ==, 0);
    g_assert_cmpuint(g_array_index(map, MapLine, 1).offset, <=, 1 << 20);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).type, ==, 3);
    nbdt_server_stop();
    bdrv_unref(bs);
}


/* nbdcopy out of a read-only export and into a writable one. */
static void test_nbdcopy(void)
{
    const uint64_t size = 8 << 20;
    BlockDriverState *src = nbdt_raw_node("cp-src", "cp-src.raw", size, 3);
    BlockDriverState *dst = nbdt_raw_node("cp-dst", "cp-dst.raw", size, 0);
    g_autofree char *usrc = NULL, *udst = NULL;
    g_autofree char *out = bt_path("cp-out.raw");
    g_autofree char *in = bt_path("cp-in.raw");

    nbdt_require_tool("nbdcopy");
    nbdt_server_start(0);
    nbdt_export_add("cp-src", "cp-src", false, NULL);
    nbdt_export_add("cp-dst", "cp-dst", true, NULL);
    usrc = nbdt_uri("cp-src");
    udst = nbdt_uri("cp-dst");
    g_assert_cmpint(nbdt_run_peer(NULL, "nbdcopy %s '%s'", usrc, out), ==, 0);
    g_assert_cmpint(nbdt_run_peer(NULL, "cmp '%s' '%s'", out,
                             bdrv_get_filename(src)), ==, 0);
    bt_make_pattern_file(in, size, 5);
    g_assert_cmpint(nbdt_run_peer(NULL, "nbdcopy --flush '%s' %s", in, udst),
                    ==, 0);
    nbdt_check_pattern_node(dst, size, 5);
    /* Export to export, several connections and requests in flight. */
    g_assert_cmpint(nbdt_run_peer(NULL, "nbdcopy --connections=4 "
                             "--requests=16 %s %s", usrc, udst), ==, 0);
    nbdt_check_pattern_node(dst, size, 3);
    nbdt_server_stop();
    bdrv_unref(src);
    bdrv_unref(dst);
}

/* The figure for the report: 256 MiB out of an export over unix. */
static void test_nbdcopy_throughput(void)
{
    const uint64_t size = 256ULL << 20;
    g_autofree char *img = bt_path("big.raw");
    g_autofree char *dst = bt_path("big-w.raw");
    g_autofree char *u = NULL;
    BlockDriverState *bs;
    gint64 t0;
    double s;
    int fd;

    nbdt_require_tool("nbdcopy");
    if (!g_test_slow() && !g_getenv("NBD_TEST_THROUGHPUT")) {
        g_test_skip("a figure, not a check: run with -m slow");
        return;
    }
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    for (uint64_t off = 0; off < size; off += 1 << 20) {
        char buf[1 << 16];

        memset(buf, (int)(off >> 20) | 1, sizeof(buf));
        for (int i = 0; i < 16; i++) {
            g_assert_cmpint(pwrite(fd, buf, sizeof(buf),
                                   off + i * sizeof(buf)), ==, sizeof(buf));
        }
    }
    close(fd);
    bs = nbdt_file_node("raw", "big0", img);
    nbdt_server_start(0);
    nbdt_export_add("big0", "big0", false, NULL);
    u = nbdt_uri("big0");
    t0 = g_get_monotonic_time();
    g_assert_cmpint(nbdt_run_peer(NULL, "nbdcopy %s null:", u), ==, 0);
    s = (g_get_monotonic_time() - t0) / 1e6;
    printf("# nbdcopy 256 MiB over unix: %.2f s, %.0f MiB/s\n", s, 256 / s);
    nbdt_server_stop();
    bdrv_unref(bs);

    /* The other way: the same file into a writable export. */
    g_assert_true(g_file_set_contents(dst, "", 0, NULL));
    g_assert_cmpint(truncate(dst, size), ==, 0);
    bs = nbdt_file_node("raw", "bigw", dst);
    nbdt_server_start(0);
    nbdt_export_add("bigw", "bigw", true, NULL);
    g_free(u);
    u = nbdt_uri("bigw");
    t0 = g_get_monotonic_time();
    g_assert_cmpint(nbdt_run_peer(NULL, "nbdcopy --flush '%s' %s", img, u), ==, 0);
    s = (g_get_monotonic_time() - t0) / 1e6;
    printf("# nbdcopy 256 MiB into an export over unix: %.2f s, %.0f MiB/s\n",
           s, 256 / s);
    nbdt_server_stop();
    bdrv_unref(bs);
    g_assert_cmpint(nbdt_run_peer(NULL, "cmp '%s' '%s'", img, dst), ==, 0);
    unlink(dst);
    unlink(img);
}

/* qemu-img compare and convert, qemu-io writes, qemu-nbd --list. */
static void test_qemu_tools(void)
{
    const uint64_t size = 2 << 20;
    BlockDriverState *bs = nbdt_raw_node("qi0", "qi0.raw", size, 11);
    g_autofree char *u = NULL, *out = NULL;
    g_autofree char *conv = bt_path("conv.qcow2");
    unsigned char buf[65536];

    nbdt_require_tool("qemu-io");
    nbdt_require_tool("qemu-nbd");
    nbdt_server_start(0);
    nbdt_export_add("qi0", "qi0", true, "qemu tools");
    u = g_strdup_printf("'nbd+unix:///qi0?socket=%s'", nbdt_sock_path);
    g_assert_cmpint(nbdt_run_peer(NULL, "qemu-img compare -f raw -F raw %s '%s'",
                             u, bdrv_get_filename(bs)), ==, 0);
    g_assert_cmpint(nbdt_run_peer(NULL, "qemu-img convert -f raw -O qcow2 %s "
                             "'%s'", u, conv), ==, 0);
    g_assert_cmpint(nbdt_run_peer(NULL, "qemu-img compare -f raw -F qcow2 '%s' "
                             "'%s'", bdrv_get_filename(bs), conv), ==, 0);
    bt_qemu_img_check(conv);
    /* qemu-io writes; the node has them; qemu-io reads them back. */
    g_assert_cmpint(nbdt_run_peer(&out, "qemu-io -f raw -c 'write -P 0xab 4096 "
                             "64k' -c 'write -z 131072 4096' -c 'flush' %s",
                             u), ==, 0);
    g_assert_null(strstr(out, "error"));
    g_free(out);
    g_assert_cmpint(bdrv_pread(bs, 4096, sizeof(buf), buf, NULL), ==, 0);
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, 0xab);
    }
    g_assert_cmpint(bdrv_pread(bs, 131072, 4096, buf, NULL), ==, 0);
    for (size_t i = 0; i < 4096; i++) {
        g_assert_cmpuint(buf[i], ==, 0);
    }
    g_assert_cmpint(nbdt_run_peer(&out, "qemu-io -f raw -c 'read -P 0xab 4096 "
                             "64k' %s", u), ==, 0);
    g_assert_nonnull(strstr(out, "read 65536/65536 bytes"));
    g_assert_null(strstr(out, "Pattern verification failed"));
    g_free(out);
    g_assert_cmpint(nbdt_run_peer(&out, "qemu-nbd --list -k '%s'", nbdt_sock_path),
                    ==, 0);
    g_assert_nonnull(strstr(out, "export: 'qi0'"));
    g_assert_nonnull(strstr(out, "description: qemu tools"));
    g_assert_nonnull(strstr(out, "size:  2097152"));
    nbdt_server_stop();
    bdrv_unref(bs);
}

/* The same server on a loopback TCP port (port 0: the kernel's choice). */
static void test_tcp(void)
{
    BlockDriverState *bs = nbdt_raw_node("tcp0", "tcp0.raw", 1 << 20, 2);
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_INET };
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *out = NULL;
    Error *err = NULL;

    nbdt_require_tool("nbdinfo");
    addr.u.inet.host = (char *)"127.0.0.1";
    addr.u.inet.port = (char *)"0";
    g_assert_true(nbd_server_start(&addr, 0, 0, &err));
    nbdt_export_add("tcp0", "tcp0", false, NULL);
    local = nbd_server_local_address(&error_abort);
    g_assert_cmpint(nbdt_run_peer(&out, "nbdinfo --size nbd://127.0.0.1:%s/tcp0",
                             local->u.inet.port), ==, 0);
    g_assert_cmpint(g_ascii_strtoll(out, NULL, 10), ==, 1 << 20);
    nbdt_server_stop();
    bdrv_unref(bs);
}

/* ---- QMP ---- */

static Client *qmp_start(void)
{
    Client *c = client_new();

    negotiate(c, false);
    return c;
}

/* Waits for the event name; returns it (put it). */
static json_object *wait_event(Client *c, const char *name)
{
    for (;;) {
        json_object *o = recv_json(c);
        json_object *ev;

        if (json_object_object_get_ex(o, "event", &ev) &&
            !strcmp(json_object_get_string(ev), name)) {
            return o;
        }
        json_object_put(o);
    }
}

static void test_qmp_commands(void)
{
    Client *c = qmp_start();
    BlockDriverState *bs = nbdt_raw_node("q0", "q0.raw", HC_SIZE, 6);
    json_object *resp, *list, *e, *ev;
    int fd;

    expect_error(c, "{\"execute\":\"nbd-server-stop\"}\n", "GenericError",
                 "NBD server not running", NULL);
    expect_error(c, "{\"execute\":\"nbd-server-add\",\"arguments\":"
                 "{\"device\":\"q0\"}}\n", "GenericError",
                 "NBD server not running", NULL);
    expect_error(c, "{\"execute\":\"nbd-server-start\",\"arguments\":"
                 "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"/x\"}},"
                 "\"tls-creds\":\"tls0\"}}\n", "GenericError", "TLS", NULL);
    expect_ok(c, "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":"
              "{\"type\":\"unix\",\"data\":{\"path\":\"%s\"}},"
              "\"max-connections\":4}}\n", nbdt_sock_path);
    expect_error(c, "{\"execute\":\"nbd-server-start\",\"arguments\":"
                 "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"/x\"}}}}"
                 "\n", "GenericError", "NBD server already running", NULL);
    expect_error(c, "{\"execute\":\"nbd-server-add\",\"arguments\":"
                 "{\"device\":\"nosuch\"}}\n", "GenericError",
                 "Cannot find device='nosuch' nor node-name='nosuch'", NULL);
    expect_error(c, "{\"execute\":\"nbd-server-add\",\"arguments\":"
                 "{\"device\":\"q0\",\"bitmap\":\"b0\"}}\n", "GenericError",
                 "bitmaps", NULL);
    {
        g_autofree char *ro = g_strdup_printf(
            "{\"driver\":\"raw\",\"node-name\":\"qro\",\"read-only\":true,"
            "\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}",
            bdrv_get_filename(bs));
        BlockDriverState *qro = bt_open(ro);

        expect_error(c, "{\"execute\":\"nbd-server-add\",\"arguments\":"
                     "{\"device\":\"qro\",\"writable\":true}}\n",
                     "GenericError",
                     "Cannot export read-only node as writable", NULL);
        bdrv_unref(qro);
    }
    expect_ok(c, "{\"execute\":\"nbd-server-add\",\"arguments\":{\"device\":"
              "\"q0\","
              "\"writable\":true,\"description\":\"colo parent\"}}\n");
    expect_error(c, "{\"execute\":\"nbd-server-add\",\"arguments\":"
                 "{\"device\":\"q0\"}}\n", "GenericError",
                 "Block export id 'q0' is already in use", NULL);
    expect_error(c, "{\"execute\":\"block-export-add\",\"arguments\":"
                 "{\"type\":\"nbd\",\"id\":\"exp9\",\"node-name\":\"q0\","
                 "\"name\":\"q0\"}}\n", "GenericError",
                 "NBD server already has export named 'q0'", NULL);
    expect_ok(c, "{\"execute\":\"block-export-add\",\"arguments\":{\"type\":"
              "\"nbd\","
              "\"id\":\"exp1\",\"node-name\":\"q0\",\"name\":\"second\","
              "\"writethrough\":true,\"allocation-depth\":false}}\n");
    expect_error(c, "{\"execute\":\"block-export-add\",\"arguments\":"
                 "{\"type\":\"nbd\",\"id\":\"exp1\",\"node-name\":\"q0\","
                 "\"name\":\"third\"}}\n", "GenericError",
                 "Block export id 'exp1' is already in use", NULL);
    expect_error(c, "{\"execute\":\"block-export-add\",\"arguments\":"
                 "{\"type\":\"nbd\",\"id\":\"exp2\",\"node-name\":\"q0\","
                 "\"bitmaps\":[\"b\"]}}\n", "GenericError", "bitmaps", NULL);
    resp = expect_return(c, "{\"execute\":\"query-block-exports\"}\n", NULL);
    list = member(resp, "return");
    g_assert_cmpint(json_object_array_length(list), ==, 2);
    e = json_object_array_get_idx(list, 0);
    g_assert_cmpstr(json_object_get_string(member(e, "id")), ==, "q0");
    g_assert_cmpstr(json_object_get_string(member(e, "type")), ==, "nbd");
    g_assert_cmpstr(json_object_get_string(member(e, "node-name")), ==,
                    "q0");
    g_assert_false(json_object_get_boolean(member(e, "shutting-down")));
    json_object_put(resp);
    nbdt_check_healthy("second", HC_SIZE);

    /* The exported node cannot be deleted; the error names the export. */
    bs->monitor_owned = true;
    expect_error(c, "{\"execute\":\"blockdev-del\",\"arguments\":"
                 "{\"node-name\":\"q0\"}}\n", "GenericError",
                 "in use by NBD export 'q0'", NULL);

    /* Safe removal refuses while a client is connected; hard does it. */
    fd = hc_go("q0");
    expect_error(c, "{\"execute\":\"nbd-server-remove\",\"arguments\":"
                 "{\"name\":\"q0\"}}\n", "GenericError",
                 "export 'q0' still in use", NULL);
    expect_error(c, "{\"execute\":\"block-export-del\",\"arguments\":"
                 "{\"id\":\"nosuch\"}}\n", "GenericError",
                 "Export 'nosuch' is not found", NULL);
    expect_ok(c, "{\"execute\":\"nbd-server-remove\",\"arguments\":{\"name\":"
              "\"q0\",\"mode\":\"hard\"}}\n");
    hc_expect_closed(fd);
    ev = wait_event(c, "BLOCK_EXPORT_DELETED");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"), "id")),
                    ==, "q0");
    json_object_put(ev);
    expect_error(c, "{\"execute\":\"nbd-server-remove\",\"arguments\":"
                 "{\"name\":\"q0\"}}\n", "GenericError",
                 "Export 'q0' is not found", NULL);
    expect_ok(c, "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":"
              "\"exp1\"}}"
              "\n");
    ev = wait_event(c, "BLOCK_EXPORT_DELETED");
    json_object_put(ev);
    resp = expect_return(c, "{\"execute\":\"query-block-exports\"}\n", NULL);
    g_assert_cmpint(json_object_array_length(member(resp, "return")), ==, 0);
    json_object_put(resp);

    /* Stop removes the exports too (one left for it). */
    expect_ok(c, "{\"execute\":\"nbd-server-add\",\"arguments\":{\"device\":"
              "\"q0\"}}"
              "\n");
    expect_ok(c, "{\"execute\":\"nbd-server-stop\"}\n");
    ev = wait_event(c, "BLOCK_EXPORT_DELETED");
    json_object_put(ev);
    g_assert_false(nbd_server_is_running());
    g_assert_false(g_file_test(nbdt_sock_path, G_FILE_TEST_EXISTS));
    expect_error(c, "{\"execute\":\"block-export-add\",\"arguments\":"
                 "{\"type\":\"nbd\",\"id\":\"e\",\"node-name\":\"q0\"}}\n",
                 "GenericError", "NBD server not running", NULL);

    /* Nothing holds the node any more: blockdev-del works. */
    expect_ok(c, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":"
              "\"q0\"}}\n");
    client_free(c);
}

/*
 * The COLO secondary's recipe: the parent disk is a -drive (no device),
 * exported writable with nbd-server-add, written through NBD, and
 * nbd-server-stop at failover.
 */
static void test_colo_recipe(void)
{
    Client *c = qmp_start();
    g_autofree char *img = bt_path("parent.raw");
    g_autofree char *opts = NULL, *u = NULL, *out = NULL;
    g_autoptr(SocketAddress) local = NULL;
    Error *err = NULL;
    BlockBackend *drive;
    unsigned char buf[4096];

    bt_make_pattern_file(img, HC_SIZE, 9);
    opts = g_strdup_printf("if=none,id=parent0,file=%s,format=raw", img);
    drive = drive_new(opts, &err);
    g_assert_nonnull(drive);
    /* inet, as the recipe (a port the kernel picks, not 9999). */
    expect_ok(c, "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":"
              "{\"type\":\"inet\",\"data\":{\"host\":\"127.0.0.1\","
              "\"port\":\"0\"}}}}\n");
    local = nbd_server_local_address(&error_abort);
    expect_ok(c, "{\"execute\":\"nbd-server-add\",\"arguments\":{\"device\":"
              "\"parent0\",\"writable\":true}}\n");
    u = g_strdup_printf("nbd://127.0.0.1:%s/parent0", local->u.inet.port);
    g_assert_cmpint(nbdt_run_peer(&out, "qemu-io -f raw -c 'write -P 0x5a 0 4k' %s",
                             u), ==, 0);
    g_assert_cmpint(blk_pread(drive, 0, sizeof(buf), buf, NULL), ==, 0);
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, 0x5a);
    }
    expect_ok(c, "{\"execute\":\"nbd-server-stop\"}\n");
    json_object_put(wait_event(c, "BLOCK_EXPORT_DELETED"));
    g_assert_cmpint(nbdt_run_peer(NULL, "nbdinfo --size %s", u), !=, 0);
    g_assert_true(drive_del("parent0", &error_abort));
    client_free(c);
}

static void test_hmp(void)
{
    Client *c = qmp_start();
    BlockDriverState *bs = nbdt_raw_node("hm0", "hm0.raw", HC_SIZE, 8);
    json_object *resp;
    g_autofree char *line = NULL;

    line = g_strdup_printf("{\"execute\":\"human-monitor-command\","
                           "\"arguments\":{\"command-line\":"
                           "\"nbd_server_start unix:%s\"}}\n", nbdt_sock_path);
    json_object_put(expect_return(c, line, NULL));
    json_object_put(expect_return(c, "{\"execute\":\"human-monitor-command\","
                                  "\"arguments\":{\"command-line\":"
                                  "\"nbd_server_add -w hm0 disk\"}}\n",
                                  NULL));
    nbdt_check_healthy("disk", HC_SIZE);
    resp = expect_return(c, "{\"execute\":\"human-monitor-command\","
                         "\"arguments\":{\"command-line\":"
                         "\"nbd_server_remove nosuch\"}}\n", NULL);
    g_assert_nonnull(strstr(json_object_get_string(member(resp, "return")),
                            "Export 'nosuch' is not found"));
    json_object_put(resp);
    json_object_put(expect_return(c, "{\"execute\":\"human-monitor-command\","
                                  "\"arguments\":{\"command-line\":"
                                  "\"nbd_server_remove disk\"}}\n", NULL));
    json_object_put(wait_event(c, "BLOCK_EXPORT_DELETED"));
    json_object_put(expect_return(c, "{\"execute\":\"human-monitor-command\","
                                  "\"arguments\":{\"command-line\":"
                                  "\"nbd_server_stop\"}}\n", NULL));
    g_assert_false(nbd_server_is_running());
    nbdt_server_stop();
    bdrv_unref(bs);
    client_free(c);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (g_getenv("NBD_TEST_TRACE")) {
        trace_enable_pattern(g_getenv("NBD_TEST_TRACE"));
    }
    nbdt_sock_path = bt_path("nbd.sock");
    g_test_add_func("/nbd/nbdinfo", test_nbdinfo);
    g_test_add_func("/nbd/nbdinfo-map-qcow2", test_nbdinfo_map_qcow2);
    g_test_add_func("/nbd/nbdinfo-map-backing", test_nbdinfo_map_backing);
    g_test_add_func("/nbd/nbdinfo-map-raw-sparse", test_nbdinfo_map_raw_sparse);
    g_test_add_func("/nbd/nbdcopy", test_nbdcopy);
    g_test_add_func("/nbd/nbdcopy-throughput", test_nbdcopy_throughput);
    g_test_add_func("/nbd/qemu-tools", test_qemu_tools);
    g_test_add_func("/nbd/tcp", test_tcp);
    g_test_add_func("/nbd/qmp", test_qmp_commands);
    g_test_add_func("/nbd/hmp", test_hmp);
    g_test_add_func("/nbd/colo-recipe", test_colo_recipe);
    return qmp_test_run();
}
