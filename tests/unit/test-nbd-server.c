/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server (nbd/) in-process, no /dev/kvm: block nodes are opened
 * here, the server listens on a unix socket in a scratch directory (and
 * on a loopback TCP port), and real peers run as subprocesses while this
 * thread spins the main loop: nbdinfo, nbdcopy, qemu-img, qemu-io,
 * qemu-nbd --list. Hostile clients written here break the protocol in
 * one way each; every one must be disconnected (or answered with an
 * error where the protocol says so) and the export must still serve
 * nbdinfo afterwards. The QMP commands go through the in-process QMP
 * client. A missing peer tool fails the test (scripts/install-deps.sh
 * installs libnbd-bin and qemu-utils): nothing is silently skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include "qmp-test-client.h"
#include "block-test-util.h"
#include "block/block_int.h"
#include "block/blockdev.h"
#include "nbd/nbd.h"
#include "nbd/nbd-proto.h"
#include "qapi/qapi-commands.h"
#include "util/main-loop.h"
#include "util/sockets.h"
#include "util/trace.h"

#define PEER_TIMEOUT_S 120

static char *sock_path;

/* ---- the main loop and subprocess peers ---- */

static void spin_ms(int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        main_loop_wait(false);
        g_usleep(500);
    }
}

typedef struct PeerWait {
    bool done;
    bool timed_out;
    int status;
} PeerWait;

static void peer_exited(GPid pid, gint status, gpointer opaque)
{
    PeerWait *w = opaque;

    w->status = status;
    w->done = true;
    g_spawn_close_pid(pid);
}

static gboolean peer_timeout(gpointer opaque)
{
    ((PeerWait *)opaque)->timed_out = true;
    return G_SOURCE_REMOVE;
}

/*
 * Runs a shell command line while the main loop serves it; returns its
 * exit status with stdout+stderr in *out (when out is not NULL).
 */
static int run_peer(char **out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int run_peer(char **out, const char *fmt, ...)
{
    static unsigned n;
    va_list ap;
    g_autofree char *cmd = NULL, *full = NULL, *text = NULL;
    g_autofree char *name = g_strdup_printf("peer-%u.out", n++);
    g_autofree char *outfile = bt_path(name);
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", NULL, NULL };
    PeerWait w = { 0 };
    GError *gerr = NULL;
    guint timer;
    GPid pid;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    full = g_strdup_printf("exec %s >'%s' 2>&1", cmd, outfile);
    argv[2] = full;
    if (!g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                       NULL, &pid, &gerr)) {
        g_error("cannot run %s: %s", cmd, gerr->message);
    }
    g_child_watch_add(pid, peer_exited, &w);
    timer = g_timeout_add_seconds(PEER_TIMEOUT_S, peer_timeout, &w);
    while (!w.done && !w.timed_out) {
        main_loop_wait(true);
    }
    if (w.timed_out) {
        kill(pid, SIGKILL);
        while (!w.done) {
            main_loop_wait(true);
        }
        g_error("peer timed out after %d s: %s", PEER_TIMEOUT_S, cmd);
    }
    g_source_remove(timer);
    g_assert_true(g_file_get_contents(outfile, &text, NULL, NULL));
    g_test_message("%s -> %d:\n%s", cmd, WEXITSTATUS(w.status), text);
    if (out) {
        *out = g_steal_pointer(&text);
    }
    return WIFEXITED(w.status) ? WEXITSTATUS(w.status) : -1;
}

static void require_tool(const char *tool)
{
    g_autofree char *path = g_find_program_in_path(tool);

    if (!path) {
        g_error("%s is not installed (scripts/install-deps.sh installs it)",
                tool);
    }
}

/* ---- server and exports ---- */

static void server_start(uint32_t max_connections)
{
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    Error *err = NULL;

    addr.u.q_unix.path = sock_path;
    if (!nbd_server_start(&addr, max_connections,
                          NBD_DEFAULT_HANDSHAKE_MAX_SECONDS, &err)) {
        g_error("nbd_server_start: %s", error_get_pretty(err));
    }
}

/* Stops the server and waits until every export is deleted. */
static void server_stop(void)
{
    if (nbd_server_is_running()) {
        nbd_server_stop();
    }
    for (int i = 0; i < 5000 && nbd_export_next(NULL); i++) {
        spin_ms(1);
    }
    g_assert_null(nbd_export_next(NULL));
}

static NbdExport *export_add(const char *id, const char *node, bool writable,
                             const char *description)
{
    BlockExportOptions opts = {
        .type = BLOCK_EXPORT_TYPE_NBD,
        .id = (char *)id,
        .node_name = (char *)node,
        .has_writable = true,
        .writable = writable,
        .u.nbd = { .name = (char *)id, .description = (char *)description },
    };
    Error *err = NULL;
    NbdExport *exp = nbd_export_create(&opts, &err);

    if (!exp) {
        g_error("export %s: %s", id, error_get_pretty(err));
    }
    return exp;
}

static char *uri(const char *name)
{
    return g_strdup_printf("'nbd+unix:///%s?socket=%s'", name, sock_path);
}

/* A node of format fmt (raw, qcow2) over the file at path. */
static BlockDriverState *file_node(const char *fmt, const char *node,
                                   const char *path)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"%s\",\"node-name\":\"%s\",\"file\":{\"driver\":"
        "\"file\",\"filename\":\"%s\"}}", fmt, node, path);

    return bt_open(json);
}

/* A raw file node of size bytes with the pattern of seed. */
static BlockDriverState *raw_node(const char *node, const char *file,
                                  uint64_t size, int seed)
{
    g_autofree char *path = bt_path(file);

    bt_make_pattern_file(path, size, seed);
    return file_node("raw", node, path);
}

static int64_t nbdinfo_size(const char *name)
{
    g_autofree char *u = uri(name);
    g_autofree char *out = NULL;

    if (run_peer(&out, "nbdinfo --size %s", u) != 0) {
        return -1;
    }
    return g_ascii_strtoll(out, NULL, 10);
}

/* The export answers nbdinfo with its size: still healthy. */
static void check_healthy(const char *name, int64_t size)
{
    g_assert_cmpint(nbdinfo_size(name), ==, size);
}

/* ---- real peers ---- */

static void test_nbdinfo(void)
{
    BlockDriverState *bs = raw_node("info0", "info0.raw", 1 << 20, 1);
    g_autofree char *u = NULL, *out = NULL;

    require_tool("nbdinfo");
    server_start(0);
    export_add("info0", "info0", false, "the first disk");
    u = uri("info0");
    g_assert_cmpint(run_peer(&out, "nbdinfo %s", u), ==, 0);
    g_assert_nonnull(strstr(out, "export-size: 1048576"));
    g_assert_nonnull(strstr(out, "description: the first disk"));
    g_assert_nonnull(strstr(out, "block_size_minimum: 1\n"));
    g_assert_nonnull(strstr(out, "block_size_preferred: 4096\n"));
    g_assert_nonnull(strstr(out, "block_size_maximum: 33554432\n"));
    g_assert_nonnull(strstr(out, "is_read_only: true"));
    g_assert_nonnull(strstr(out, "base:allocation"));
    g_free(out);
    /* The list: name and description. */
    g_assert_cmpint(run_peer(&out, "nbdinfo --list %s", u), ==, 0);
    g_assert_nonnull(strstr(out, "export=\"info0\""));
    g_assert_nonnull(strstr(out, "the first disk"));
    server_stop();
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

    server_start(0);
    export_add(node, node, false, NULL);
    u = uri(node);
    g_assert_cmpint(run_peer(&out, "nbdinfo --map %s", u), ==, 0);
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

    require_tool("nbdinfo");
    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 '%s' 1M", img),
                    ==, 0);
    g_assert_cmpint(run_peer(NULL, "qemu-io -f qcow2 -c 'write -P 7 0 64k' "
                             "-c 'write -P 9 512k 64k' -c 'write -z 256k 64k'"
                             " '%s'", img), ==, 0);
    bs = file_node("qcow2", "map0", img);
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
    server_stop();
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

    require_tool("nbdinfo");
    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 '%s' 1M", base),
                    ==, 0);
    g_assert_cmpint(run_peer(NULL, "qemu-io -f qcow2 -c 'write -P 3 0 64k' "
                             "'%s'", base), ==, 0);
    g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 -b '%s' -F qcow2 "
                                "'%s'", base, top), ==, 0);
    g_assert_cmpint(run_peer(NULL, "qemu-io -f qcow2 -c 'write -P 4 256k 64k'"
                             " '%s'", top), ==, 0);
    bs = file_node("qcow2", "top0", top);
    map = export_map("top0");
    g_assert_cmpint(map->len, ==, 4);
    g_assert_cmpuint(g_array_index(map, MapLine, 0).length, ==, 65536);
    g_assert_cmpuint(g_array_index(map, MapLine, 0).type, ==, 0);
    g_assert_cmpuint(g_array_index(map, MapLine, 1).type, ==, 3);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).offset, ==, 256 * 1024);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).length, ==, 65536);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).type, ==, 0);
    g_assert_cmpuint(g_array_index(map, MapLine, 3).type, ==, 3);
    server_stop();
    bdrv_unref(bs);
}

/* A sparse raw file: SEEK_DATA/SEEK_HOLE through file-posix. */
static void test_nbdinfo_map_raw_sparse(void)
{
    g_autofree char *img = bt_path("sparse.raw");
    g_autoptr(GArray) map = NULL;
    BlockDriverState *bs;
    int fd;

    require_tool("nbdinfo");
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 4 << 20), ==, 0);
    g_assert_cmpint(pwrite(fd, "x", 1, 1 << 20), ==, 1);
    close(fd);
    bs = file_node("raw", "sp0", img);
    map = export_map("sp0");
    /* hole, data around 1 MiB (the file system's block), hole. */
    g_assert_cmpint(map->len, ==, 3);
    g_assert_cmpuint(g_array_index(map, MapLine, 0).type, ==, 3);
    g_assert_cmpuint(g_array_index(map, MapLine, 1).type, ==, 0);
    g_assert_cmpuint(g_array_index(map, MapLine, 1).offset, <=, 1 << 20);
    g_assert_cmpuint(g_array_index(map, MapLine, 2).type, ==, 3);
    server_stop();
    bdrv_unref(bs);
}

static void check_pattern_node(BlockDriverState *bs, uint64_t size, int seed)
{
    g_autofree unsigned char *buf = g_malloc(size);

    g_assert_cmpint(bdrv_pread(bs, 0, size, buf, NULL), ==, 0);
    for (uint64_t i = 0; i < size; i++) {
        if (buf[i] != bt_pattern(i, seed)) {
            g_error("byte %" G_GUINT64_FORMAT " is %u, expected %u", i,
                    buf[i], bt_pattern(i, seed));
        }
    }
}

/* nbdcopy out of a read-only export and into a writable one. */
static void test_nbdcopy(void)
{
    const uint64_t size = 8 << 20;
    BlockDriverState *src = raw_node("cp-src", "cp-src.raw", size, 3);
    BlockDriverState *dst = raw_node("cp-dst", "cp-dst.raw", size, 0);
    g_autofree char *usrc = NULL, *udst = NULL;
    g_autofree char *out = bt_path("cp-out.raw");
    g_autofree char *in = bt_path("cp-in.raw");

    require_tool("nbdcopy");
    server_start(0);
    export_add("cp-src", "cp-src", false, NULL);
    export_add("cp-dst", "cp-dst", true, NULL);
    usrc = uri("cp-src");
    udst = uri("cp-dst");
    g_assert_cmpint(run_peer(NULL, "nbdcopy %s '%s'", usrc, out), ==, 0);
    g_assert_cmpint(run_peer(NULL, "cmp '%s' '%s'", out,
                             bdrv_get_filename(src)), ==, 0);
    bt_make_pattern_file(in, size, 5);
    g_assert_cmpint(run_peer(NULL, "nbdcopy --flush '%s' %s", in, udst),
                    ==, 0);
    check_pattern_node(dst, size, 5);
    /* Export to export, several connections and requests in flight. */
    g_assert_cmpint(run_peer(NULL, "nbdcopy --connections=4 "
                             "--requests=16 %s %s", usrc, udst), ==, 0);
    check_pattern_node(dst, size, 3);
    server_stop();
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

    require_tool("nbdcopy");
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
    bs = file_node("raw", "big0", img);
    server_start(0);
    export_add("big0", "big0", false, NULL);
    u = uri("big0");
    t0 = g_get_monotonic_time();
    g_assert_cmpint(run_peer(NULL, "nbdcopy %s null:", u), ==, 0);
    s = (g_get_monotonic_time() - t0) / 1e6;
    printf("# nbdcopy 256 MiB over unix: %.2f s, %.0f MiB/s\n", s, 256 / s);
    server_stop();
    bdrv_unref(bs);

    /* The other way: the same file into a writable export. */
    g_assert_true(g_file_set_contents(dst, "", 0, NULL));
    g_assert_cmpint(truncate(dst, size), ==, 0);
    bs = file_node("raw", "bigw", dst);
    server_start(0);
    export_add("bigw", "bigw", true, NULL);
    g_free(u);
    u = uri("bigw");
    t0 = g_get_monotonic_time();
    g_assert_cmpint(run_peer(NULL, "nbdcopy --flush '%s' %s", img, u), ==, 0);
    s = (g_get_monotonic_time() - t0) / 1e6;
    printf("# nbdcopy 256 MiB into an export over unix: %.2f s, %.0f MiB/s\n",
           s, 256 / s);
    server_stop();
    bdrv_unref(bs);
    g_assert_cmpint(run_peer(NULL, "cmp '%s' '%s'", img, dst), ==, 0);
    unlink(dst);
    unlink(img);
}

/* qemu-img compare and convert, qemu-io writes, qemu-nbd --list. */
static void test_qemu_tools(void)
{
    const uint64_t size = 2 << 20;
    BlockDriverState *bs = raw_node("qi0", "qi0.raw", size, 11);
    g_autofree char *u = NULL, *out = NULL;
    g_autofree char *conv = bt_path("conv.qcow2");
    unsigned char buf[65536];

    require_tool("qemu-io");
    require_tool("qemu-nbd");
    server_start(0);
    export_add("qi0", "qi0", true, "qemu tools");
    u = g_strdup_printf("'nbd+unix:///qi0?socket=%s'", sock_path);
    g_assert_cmpint(run_peer(NULL, "qemu-img compare -f raw -F raw %s '%s'",
                             u, bdrv_get_filename(bs)), ==, 0);
    g_assert_cmpint(run_peer(NULL, "qemu-img convert -f raw -O qcow2 %s "
                             "'%s'", u, conv), ==, 0);
    g_assert_cmpint(run_peer(NULL, "qemu-img compare -f raw -F qcow2 '%s' "
                             "'%s'", bdrv_get_filename(bs), conv), ==, 0);
    bt_qemu_img_check(conv);
    /* qemu-io writes; the node has them; qemu-io reads them back. */
    g_assert_cmpint(run_peer(&out, "qemu-io -f raw -c 'write -P 0xab 4096 "
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
    g_assert_cmpint(run_peer(&out, "qemu-io -f raw -c 'read -P 0xab 4096 "
                             "64k' %s", u), ==, 0);
    g_assert_nonnull(strstr(out, "read 65536/65536 bytes"));
    g_assert_null(strstr(out, "Pattern verification failed"));
    g_free(out);
    g_assert_cmpint(run_peer(&out, "qemu-nbd --list -k '%s'", sock_path),
                    ==, 0);
    g_assert_nonnull(strstr(out, "export: 'qi0'"));
    g_assert_nonnull(strstr(out, "description: qemu tools"));
    g_assert_nonnull(strstr(out, "size:  2097152"));
    server_stop();
    bdrv_unref(bs);
}

/* The same server on a loopback TCP port (port 0: the kernel's choice). */
static void test_tcp(void)
{
    BlockDriverState *bs = raw_node("tcp0", "tcp0.raw", 1 << 20, 2);
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_INET };
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *out = NULL;
    Error *err = NULL;

    require_tool("nbdinfo");
    addr.u.inet.host = (char *)"127.0.0.1";
    addr.u.inet.port = (char *)"0";
    g_assert_true(nbd_server_start(&addr, 0, 0, &err));
    export_add("tcp0", "tcp0", false, NULL);
    local = nbd_server_local_address(&error_abort);
    g_assert_cmpint(run_peer(&out, "nbdinfo --size nbd://127.0.0.1:%s/tcp0",
                             local->u.inet.port), ==, 0);
    g_assert_cmpint(g_ascii_strtoll(out, NULL, 10), ==, 1 << 20);
    server_stop();
    bdrv_unref(bs);
}

/* ---- hostile clients, written here ---- */

static int hc_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void hc_send(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(send(fd, buf, len, MSG_NOSIGNAL), ==, (ssize_t)len);
}

/* Reads exactly len bytes while the server runs; false on EOF. */
static bool hc_recv(int fd, void *buf, size_t len)
{
    size_t have = 0;
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;

    while (have < len) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        main_loop_wait(false);
        if (poll(&p, 1, 1) <= 0) {
            g_assert_cmpint(g_get_monotonic_time(), <, end);
            continue;
        }
        n = recv(fd, (char *)buf + have, len - have, 0);
        if (n <= 0) {
            return false;
        }
        have += n;
    }
    return true;
}

/* The server closes the connection (after any bytes it still sends). */
static void hc_expect_closed(int fd)
{
    char c;

    while (hc_recv(fd, &c, 1)) {
        /* discard */
    }
    close(fd);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, v >> 32);
    put32(p + 4, v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Greeting read, client flags sent. */
static int hc_start(uint32_t flags)
{
    int fd = hc_connect();
    uint8_t g[NBD_HANDSHAKE_SIZE], f[4];

    g_assert_true(hc_recv(fd, g, sizeof(g)));
    g_assert_cmphex(get64(g), ==, NBD_INIT_MAGIC);
    g_assert_cmphex(get64(g + 8), ==, NBD_OPTS_MAGIC);
    f[0] = flags >> 24; f[1] = flags >> 16; f[2] = flags >> 8; f[3] = flags;
    hc_send(fd, f, 4);
    return fd;
}

static void hc_option(int fd, uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[NBD_OPT_HEADER_SIZE];

    put64(h, NBD_OPTS_MAGIC);
    put32(h + 8, opt);
    put32(h + 12, len);
    hc_send(fd, h, sizeof(h));
    if (len) {
        hc_send(fd, data, len);
    }
}

/* Reads one option reply; returns its type, skips its data. */
static uint32_t hc_opt_reply(int fd, uint32_t opt)
{
    uint8_t h[NBD_REP_HEADER_SIZE];
    uint32_t len;
    g_autofree uint8_t *data = NULL;

    g_assert_true(hc_recv(fd, h, sizeof(h)));
    g_assert_cmphex(get64(h), ==, NBD_REP_MAGIC);
    g_assert_cmpuint(get32(h + 8), ==, opt);
    len = get32(h + 16);
    data = g_malloc(len + 1);
    g_assert_true(hc_recv(fd, data, len));
    return get32(h + 12);
}

/* NBD_OPT_GO for name on fd: in transmission after. */
static int hc_go_on(int fd, const char *name)
{
    size_t nlen = strlen(name);
    g_autofree uint8_t *d = g_malloc(4 + nlen + 2);
    uint32_t type;

    put32(d, nlen);
    memcpy(d + 4, name, nlen);
    d[4 + nlen] = d[5 + nlen] = 0;
    hc_option(fd, NBD_OPT_GO, d, 4 + nlen + 2);
    while ((type = hc_opt_reply(fd, NBD_OPT_GO)) == NBD_REP_INFO) {
        /* NBD_INFO_EXPORT, NBD_INFO_BLOCK_SIZE */
    }
    g_assert_cmphex(type, ==, NBD_REP_ACK);
    return fd;
}

/* A new client in transmission on name, without structured replies. */
static int hc_go(const char *name)
{
    return hc_go_on(hc_start(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES),
                    name);
}

static void hc_request(int fd, uint16_t type, uint16_t flags,
                       uint64_t cookie, uint64_t offset, uint32_t len)
{
    uint8_t r[NBD_REQUEST_SIZE];

    put32(r, NBD_REQUEST_MAGIC);
    r[4] = flags >> 8; r[5] = flags;
    r[6] = type >> 8; r[7] = type;
    put64(r + 8, cookie);
    put64(r + 16, offset);
    put32(r + 24, len);
    hc_send(fd, r, sizeof(r));
}

/* A simple reply: returns its error, checks the cookie. */
static uint32_t hc_simple_reply(int fd, uint64_t cookie)
{
    uint8_t r[NBD_SIMPLE_REPLY_SIZE];

    g_assert_true(hc_recv(fd, r, sizeof(r)));
    g_assert_cmphex(get32(r), ==, NBD_SIMPLE_REPLY_MAGIC);
    g_assert_cmphex(get64(r + 8), ==, cookie);
    return get32(r + 4);
}

#define HC_SIZE (1 << 20)

/* stderr into a file while a hostile client runs: the log lines. */
static int saved_stderr = -1;
static char *log_path;

static void log_capture_begin(void)
{
    int fd;

    g_free(log_path);
    log_path = bt_path("stderr.log");
    fd = open(log_path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    g_assert_cmpint(fd, >=, 0);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* Restores stderr; checks that exactly n lines name an NBD client. */
static char *log_capture_end(unsigned n)
{
    g_autofree char *text = NULL;
    unsigned lines = 0;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    g_assert_true(g_file_get_contents(log_path, &text, NULL, NULL));
    g_printerr("%s", text);
    for (const char *p = text; (p = strstr(p, "NBD client #")); p++) {
        lines++;
    }
    g_assert_cmpuint(lines, ==, n);
    return g_steal_pointer(&text);
}

/* One hostile exchange: one log line containing why. */
#define EXPECT_ONE_LOG_LINE(why, body)                      \
    do {                                                    \
        g_autofree char *log_ = NULL;                       \
        log_capture_begin();                                \
        body;                                               \
        log_ = log_capture_end(1);                          \
        g_assert_nonnull(strstr(log_, why));                \
    } while (0)

static void hostile_setup(BlockDriverState **bs, bool writable)
{
    *bs = raw_node("h0", "h0.raw", HC_SIZE, 4);
    server_start(0);
    export_add("h0", "h0", writable, NULL);
}

static void hostile_teardown(BlockDriverState *bs)
{
    check_healthy("h0", HC_SIZE);
    server_stop();
    bdrv_unref(bs);
}

static void test_hostile_garbage_magic(void)
{
    BlockDriverState *bs;
    int fd;

    hostile_setup(&bs, false);
    EXPECT_ONE_LOG_LINE("bad option magic 0x4741524241474521", {
        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        hc_send(fd, "GARBAGE!GARBAGE!GARBAGE!", 24);
        hc_expect_closed(fd);
    });
    /* Unknown client flags end it too. */
    EXPECT_ONE_LOG_LINE("unknown client flags 0x80000000", {
        fd = hc_start(0x80000000U);
        hc_expect_closed(fd);
    });
    /* An option too long to hold. */
    EXPECT_ONE_LOG_LINE("announces 1048576 bytes", {
        uint8_t h[NBD_OPT_HEADER_SIZE];

        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        put64(h, NBD_OPTS_MAGIC);
        put32(h + 8, NBD_OPT_LIST);
        put32(h + 12, 1 << 20);
        hc_send(fd, h, sizeof(h));
        hc_expect_closed(fd);
    });
    /* An option flood. */
    EXPECT_ONE_LOG_LINE("more than 4096 options", {
        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        for (int i = 0; i < 4096; i++) {
            hc_option(fd, 99, NULL, 0);
            g_assert_cmphex(hc_opt_reply(fd, 99), ==, NBD_REP_ERR_UNSUP);
        }
        hc_option(fd, 99, NULL, 0);
        hc_expect_closed(fd);
    });
    /* Garbage where a request should be. */
    EXPECT_ONE_LOG_LINE("bad request magic 0x12345678", {
        fd = hc_go("h0");
        hc_send(fd, "\x12\x34\x56\x78 and then some more garbage", 28);
        hc_expect_closed(fd);
    });
    hostile_teardown(bs);
}

static void test_hostile_request_in_handshake(void)
{
    BlockDriverState *bs;
    int fd;

    hostile_setup(&bs, true);
    EXPECT_ONE_LOG_LINE("bad option magic 0x2560951300000001", {
        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        hc_request(fd, NBD_CMD_WRITE, 0, 1, 0, 512);
        hc_expect_closed(fd);
    });
    hostile_teardown(bs);
}

static void test_hostile_huge_write(void)
{
    BlockDriverState *bs;
    int fd;

    hostile_setup(&bs, true);
    EXPECT_ONE_LOG_LINE("write of 4294967295 bytes is over", {
        fd = hc_go("h0");
        hc_request(fd, NBD_CMD_WRITE, 0, 7, 0, 0xffffffffU);
        hc_send(fd, "some of the 4 GiB", 17);
        hc_expect_closed(fd);
    });
    hostile_teardown(bs);
}

/* Past the end: an error reply, and the connection goes on. */
static void test_hostile_past_end(void)
{
    BlockDriverState *bs;
    g_autofree uint8_t *payload = g_malloc0(4096);
    uint8_t data[512];
    int fd;

    hostile_setup(&bs, true);
    fd = hc_go("h0");
    hc_request(fd, NBD_CMD_READ, 0, 1, HC_SIZE - 512, 4096);
    g_assert_cmpuint(hc_simple_reply(fd, 1), ==, NBD_EINVAL);
    hc_request(fd, NBD_CMD_READ, 0, 2, UINT64_MAX - 100, 512);
    g_assert_cmpuint(hc_simple_reply(fd, 2), ==, NBD_EINVAL);
    hc_request(fd, NBD_CMD_WRITE, 0, 3, HC_SIZE - 512, 4096);
    hc_send(fd, payload, 4096);
    g_assert_cmpuint(hc_simple_reply(fd, 3), ==, NBD_ENOSPC);
    hc_request(fd, NBD_CMD_READ, 0, 4, HC_SIZE + (1ULL << 40), 0x2000000U);
    g_assert_cmpuint(hc_simple_reply(fd, 4), ==, NBD_EINVAL);
    /* A READ over the payload limit is refused, not attempted. */
    hc_request(fd, NBD_CMD_READ, 0, 5, 0, 0x4000000U);
    g_assert_cmpuint(hc_simple_reply(fd, 5), ==, NBD_EINVAL);
    /* Unknown command and a flag that is not READ's. */
    hc_request(fd, 42, 0, 6, 0, 512);
    g_assert_cmpuint(hc_simple_reply(fd, 6), ==, NBD_EINVAL);
    hc_request(fd, NBD_CMD_READ, NBD_CMD_FLAG_REQ_ONE, 7, 0, 512);
    g_assert_cmpuint(hc_simple_reply(fd, 7), ==, NBD_EINVAL);
    /* Still in step: a good read returns the data. */
    hc_request(fd, NBD_CMD_READ, 0, 8, 512, 512);
    g_assert_cmpuint(hc_simple_reply(fd, 8), ==, 0);
    g_assert_true(hc_recv(fd, data, sizeof(data)));
    for (int i = 0; i < 512; i++) {
        g_assert_cmpuint(data[i], ==, bt_pattern(512 + i, 4));
    }
    hc_request(fd, NBD_CMD_DISC, 0, 9, 0, 0);
    hc_expect_closed(fd);
    hostile_teardown(bs);
}

static void wait_no_clients(void)
{
    for (int i = 0; i < 5000 && nbd_server_client_count(); i++) {
        spin_ms(1);
    }
    g_assert_cmpuint(nbd_server_client_count(), ==, 0);
}

static void test_hostile_vanish(void)
{
    BlockDriverState *bs;
    g_autofree uint8_t *half = g_malloc0(1000);
    int fd;

    hostile_setup(&bs, true);
    /* Mid-option. */
    EXPECT_ONE_LOG_LINE("closed in state opt-header after 5 of 16", {
        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        hc_send(fd, "IHAVE", 5);
        close(fd);
        wait_no_clients();
    });
    /* Mid-request header. */
    EXPECT_ONE_LOG_LINE("closed in state req-header after 6 of 28", {
        fd = hc_go("h0");
        hc_send(fd, "\x25\x60\x95\x13\x00\x00", 6);
        close(fd);
        wait_no_clients();
    });
    /* Mid-write payload. */
    EXPECT_ONE_LOG_LINE("write-payload after 1000 of 65536", {
        fd = hc_go("h0");
        hc_request(fd, NBD_CMD_WRITE, 0, 1, 0, 65536);
        hc_send(fd, half, 1000);
        close(fd);
        wait_no_clients();
    });
    /* With reads in flight whose replies nobody reads. */
    EXPECT_ONE_LOG_LINE("send failed", {
        fd = hc_go("h0");
        for (int i = 0; i < 40; i++) {
            hc_request(fd, NBD_CMD_READ, 0, i, 0, 1 << 20);
        }
        close(fd);
        wait_no_clients();
    });
    /* Between messages: quiet. */
    log_capture_begin();
    fd = hc_go("h0");
    close(fd);
    wait_no_clients();
    g_free(log_capture_end(0));
    hostile_teardown(bs);
}

/*
 * A client that asks for 64 MiB and reads none of it: its connection
 * pauses (32 requests or 64 MiB in flight or queued), the loop and the
 * other clients go on, and what it asked for later arrives whole.
 */
static void test_slow_reader(void)
{
    BlockDriverState *bs;
    g_autofree uint8_t *buf = g_malloc(1 << 20);
    bool seen[64] = { false };
    int fd;

    hostile_setup(&bs, false);
    fd = hc_go("h0");
    for (int i = 0; i < 64; i++) {
        hc_request(fd, NBD_CMD_READ, 0, i, 0, 1 << 20);
    }
    spin_ms(200);
    check_healthy("h0", HC_SIZE);
    /* Replies come in completion order: each cookie exactly once. */
    for (int i = 0; i < 64; i++) {
        uint8_t r[NBD_SIMPLE_REPLY_SIZE];
        uint64_t cookie;

        g_assert_true(hc_recv(fd, r, sizeof(r)));
        g_assert_cmphex(get32(r), ==, NBD_SIMPLE_REPLY_MAGIC);
        g_assert_cmpuint(get32(r + 4), ==, 0);
        cookie = get64(r + 8);
        g_assert_cmpuint(cookie, <, 64);
        g_assert_false(seen[cookie]);
        seen[cookie] = true;
        g_assert_true(hc_recv(fd, buf, 1 << 20));
        g_assert_cmpuint(buf[4097], ==, bt_pattern(4097, 4));
    }
    close(fd);
    hostile_teardown(bs);
}

/* A client that connects and never negotiates is dropped in time. */
static void test_hostile_idle_handshake(void)
{
    BlockDriverState *bs = raw_node("h0", "h0.raw", HC_SIZE, 4);
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    gint64 t0;
    int fd;

    addr.u.q_unix.path = sock_path;
    g_assert_true(nbd_server_start(&addr, 0, 1, &error_abort));
    export_add("h0", "h0", false, NULL);
    EXPECT_ONE_LOG_LINE("handshake not finished after 1 s", {
        t0 = g_get_monotonic_time();
        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        hc_expect_closed(fd);
        g_assert_cmpint(g_get_monotonic_time() - t0, >=, 900000);
    });
    /* A client that negotiates in time keeps its connection past it. */
    fd = hc_go("h0");
    spin_ms(1500);
    hc_request(fd, NBD_CMD_FLUSH, 0, 1, 0, 0);
    g_assert_cmpuint(hc_simple_reply(fd, 1), ==, 0);
    close(fd);
    hostile_teardown(bs);
}

/* Structured replies, negotiated by hand: chunks, errors, REQ_ONE. */
static int hc_go_structured(const char *name, bool meta)
{
    int fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    size_t nlen = strlen(name);
    g_autofree uint8_t *d = g_malloc(4 + nlen + 4 + 4 + 64);
    size_t qlen = strlen(NBD_META_BASE_ALLOCATION);

    hc_option(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_STRUCTURED_REPLY), ==,
                    NBD_REP_ACK);
    if (meta) {
        put32(d, nlen);
        memcpy(d + 4, name, nlen);
        put32(d + 4 + nlen, 1);
        put32(d + 8 + nlen, qlen);
        memcpy(d + 12 + nlen, NBD_META_BASE_ALLOCATION, qlen);
        hc_option(fd, NBD_OPT_SET_META_CONTEXT, d, 12 + nlen + qlen);
        g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_SET_META_CONTEXT), ==,
                        NBD_REP_META_CONTEXT);
        g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_SET_META_CONTEXT), ==,
                        NBD_REP_ACK);
    }
    return hc_go_on(fd, name);
}

/* One structured chunk: returns the type; payload in *data (g_free). */
static uint16_t hc_chunk(int fd, uint64_t cookie, uint16_t *flags,
                         uint8_t **data, uint32_t *len)
{
    uint8_t h[NBD_CHUNK_HEADER_SIZE];

    g_assert_true(hc_recv(fd, h, sizeof(h)));
    g_assert_cmphex(get32(h), ==, NBD_STRUCTURED_REPLY_MAGIC);
    g_assert_cmphex(get64(h + 8), ==, cookie);
    *flags = h[4] << 8 | h[5];
    *len = get32(h + 16);
    *data = g_malloc(*len + 1);
    g_assert_true(hc_recv(fd, *data, *len));
    return h[6] << 8 | h[7];
}

static void test_structured(void)
{
    BlockDriverState *bs;
    g_autofree uint8_t *data = NULL;
    uint16_t flags;
    uint32_t len;
    int fd;

    /* 64 KiB of pattern, then a hole to 1 MiB. */
    g_autofree char *path = bt_path("st.raw");

    bt_make_pattern_file(path, 65536, 4);
    g_assert_cmpint(truncate(path, HC_SIZE), ==, 0);
    bs = file_node("raw", "h0", path);
    server_start(0);
    export_add("h0", "h0", true, NULL);
    fd = hc_go_structured("h0", true);
    /* READ: one OFFSET_DATA chunk, DONE. */
    hc_request(fd, NBD_CMD_READ, NBD_CMD_FLAG_DF, 1, 4096, 1024);
    g_assert_cmpuint(hc_chunk(fd, 1, &flags, &data, &len), ==,
                     NBD_REPLY_TYPE_OFFSET_DATA);
    g_assert_cmphex(flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpuint(len, ==, 8 + 1024);
    g_assert_cmphex(get64(data), ==, 4096);
    for (int i = 0; i < 1024; i++) {
        g_assert_cmpuint(data[8 + i], ==, bt_pattern(4096 + i, 4));
    }
    g_clear_pointer(&data, g_free);
    /* READ past the end: an ERROR chunk with EINVAL and a message. */
    hc_request(fd, NBD_CMD_READ, 0, 2, HC_SIZE, 512);
    g_assert_cmpuint(hc_chunk(fd, 2, &flags, &data, &len), ==,
                     NBD_REPLY_TYPE_ERROR);
    g_assert_cmphex(flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpuint(get32(data), ==, NBD_EINVAL);
    g_assert_cmpuint(6 + (data[4] << 8 | data[5]), ==, len);
    data[len] = 0;
    g_assert_nonnull(strstr((char *)data + 6, "past the end"));
    g_clear_pointer(&data, g_free);
    /* BLOCK_STATUS: the data, then the hole (as SEEK_HOLE sees it). */
    hc_request(fd, NBD_CMD_BLOCK_STATUS, 0, 4, 0, HC_SIZE);
    g_assert_cmpuint(hc_chunk(fd, 4, &flags, &data, &len), ==,
                     NBD_REPLY_TYPE_BLOCK_STATUS);
    g_assert_cmphex(flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpuint(get32(data), ==, 1);      /* the context id SET gave */
    g_assert_cmpuint(len, ==, 4 + 2 * 8);
    g_assert_cmpuint(get32(data + 4), >=, 65536);
    g_assert_cmpuint(get32(data + 8), ==, 0);
    g_assert_cmpuint(get32(data + 4) + get32(data + 12), ==, HC_SIZE);
    g_assert_cmpuint(get32(data + 16), ==, NBD_STATE_HOLE | NBD_STATE_ZERO);
    g_clear_pointer(&data, g_free);
    /* REQ_ONE: exactly one descriptor, the data. */
    hc_request(fd, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 5, 0, HC_SIZE);
    g_assert_cmpuint(hc_chunk(fd, 5, &flags, &data, &len), ==,
                     NBD_REPLY_TYPE_BLOCK_STATUS);
    g_assert_cmpuint(len, ==, 4 + 8);
    g_assert_cmpuint(get32(data + 4), >=, 65536);
    g_assert_cmpuint(get32(data + 4), <, HC_SIZE);
    g_assert_cmpuint(get32(data + 8), ==, 0);
    g_clear_pointer(&data, g_free);
    /* A zero-length READ: no data chunk (it needs a byte), just NONE. */
    hc_request(fd, NBD_CMD_READ, 0, 9, 0, 0);
    g_assert_cmpuint(hc_chunk(fd, 9, &flags, &data, &len), ==,
                     NBD_REPLY_TYPE_NONE);
    g_assert_cmpuint(len, ==, 0);
    g_clear_pointer(&data, g_free);
    hc_request(fd, NBD_CMD_BLOCK_STATUS, 0, 10, 0, 0);
    g_assert_cmpuint(hc_chunk(fd, 10, &flags, &data, &len), ==,
                     NBD_REPLY_TYPE_ERROR);
    g_assert_cmpuint(get32(data), ==, NBD_EINVAL);
    g_clear_pointer(&data, g_free);
    /* Non-READ commands still get simple replies; FUA is accepted. */
    hc_request(fd, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 6, 0, 4);
    hc_send(fd, "abcd", 4);
    g_assert_cmpuint(hc_simple_reply(fd, 6), ==, 0);
    hc_request(fd, NBD_CMD_TRIM, NBD_CMD_FLAG_FUA, 7, 8192, 4096);
    g_assert_cmpuint(hc_simple_reply(fd, 7), ==, 0);
    close(fd);
    /* Without SET_META_CONTEXT, BLOCK_STATUS is refused. */
    fd = hc_go_structured("h0", false);
    hc_request(fd, NBD_CMD_BLOCK_STATUS, 0, 8, 0, 4096);
    g_assert_cmpuint(hc_chunk(fd, 8, &flags, &data, &len), ==,
                     NBD_REPLY_TYPE_ERROR);
    g_assert_cmpuint(get32(data), ==, NBD_EINVAL);
    g_clear_pointer(&data, g_free);
    close(fd);
    hostile_teardown(bs);
}

/* Hard removal with requests in flight: they finish, then it is gone. */
static void test_remove_hard_in_flight(void)
{
    BlockDriverState *bs;
    int fd;

    hostile_setup(&bs, true);
    fd = hc_go("h0");
    for (int i = 0; i < 32; i++) {
        hc_request(fd, i % 2 ? NBD_CMD_READ : NBD_CMD_WRITE_ZEROES, 0, i,
                   0, 1 << 20);
    }
    /* Let the server take them in, then pull the export. */
    for (int i = 0; i < 2000 && !g_atomic_int_get(&bs->in_flight); i++) {
        main_loop_wait(false);
        g_usleep(100);
    }
    g_test_message("node requests in flight at removal: %d",
                   g_atomic_int_get(&bs->in_flight));
    g_assert_true(nbd_export_remove(nbd_export_find("h0"),
                                    BLOCK_EXPORT_REMOVE_MODE_HARD,
                                    &error_abort));
    hc_expect_closed(fd);
    for (int i = 0; i < 5000 && nbd_export_next(NULL); i++) {
        spin_ms(1);
    }
    g_assert_null(nbd_export_next(NULL));
    g_assert_cmpuint(nbd_server_client_count(), ==, 0);
    /* The node is free again: a new export of it serves. */
    export_add("h0", "h0", false, NULL);
    hostile_teardown(bs);
}

static void test_hostile_too_many(void)
{
    BlockDriverState *bs = raw_node("h0", "h0.raw", HC_SIZE, 4);
    int a, b, c;

    server_start(2);
    export_add("h0", "h0", false, NULL);
    a = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
    b = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
    EXPECT_ONE_LOG_LINE("maximum of 2 connections", {
        c = hc_connect();
        hc_expect_closed(c);
    });
    g_assert_cmpuint(nbd_server_client_count(), ==, 2);
    close(b);
    spin_ms(50);
    /* A slot is free again: nbdinfo gets in. */
    check_healthy("h0", HC_SIZE);
    close(a);
    server_stop();
    bdrv_unref(bs);
}

static void test_read_only_eperm(void)
{
    BlockDriverState *bs;
    uint8_t payload[512] = { 0 };
    int fd;

    hostile_setup(&bs, false);
    fd = hc_go("h0");
    hc_request(fd, NBD_CMD_WRITE, 0, 1, 0, 512);
    hc_send(fd, payload, sizeof(payload));
    g_assert_cmpuint(hc_simple_reply(fd, 1), ==, NBD_EPERM);
    hc_request(fd, NBD_CMD_TRIM, 0, 2, 0, 512);
    g_assert_cmpuint(hc_simple_reply(fd, 2), ==, NBD_EPERM);
    hc_request(fd, NBD_CMD_WRITE_ZEROES, 0, 3, 0, 512);
    g_assert_cmpuint(hc_simple_reply(fd, 3), ==, NBD_EPERM);
    hc_request(fd, NBD_CMD_FLUSH, 0, 4, 0, 0);
    g_assert_cmpuint(hc_simple_reply(fd, 4), ==, 0);
    close(fd);
    check_pattern_node(bs, 4096, 4);
    hostile_teardown(bs);
}

/* Options: unknown ones, INFO, LIST, EXPORT_NAME with and without zeroes. */
static void test_handshake_options(void)
{
    BlockDriverState *bs;
    uint8_t reply[134];
    int fd;

    hostile_setup(&bs, false);
    fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
    hc_option(fd, 77, "xyz", 3);
    g_assert_cmphex(hc_opt_reply(fd, 77), ==, NBD_REP_ERR_UNSUP);
    hc_option(fd, NBD_OPT_STARTTLS, NULL, 0);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_STARTTLS), ==,
                    NBD_REP_ERR_UNSUP);
    hc_option(fd, NBD_OPT_LIST, "x", 1);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_LIST), ==, NBD_REP_ERR_INVALID);
    hc_option(fd, NBD_OPT_LIST, NULL, 0);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_LIST), ==, NBD_REP_SERVER);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_LIST), ==, NBD_REP_ACK);
    /* SET_META_CONTEXT before STRUCTURED_REPLY is invalid. */
    hc_option(fd, NBD_OPT_SET_META_CONTEXT, "\0\0\0\0\0\0\0\0", 8);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_SET_META_CONTEXT), ==,
                    NBD_REP_ERR_INVALID);
    /* INFO on an unknown export; GO with a short body. */
    hc_option(fd, NBD_OPT_INFO, "\0\0\0\x02zz\0\0", 8);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_INFO), ==, NBD_REP_ERR_UNKNOWN);
    hc_option(fd, NBD_OPT_GO, "\0\0\0\x09h0", 6);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_GO), ==, NBD_REP_ERR_INVALID);
    /* EXPORT_NAME with the 124 zero bytes. */
    hc_option(fd, NBD_OPT_EXPORT_NAME, "h0", 2);
    g_assert_true(hc_recv(fd, reply, 134));
    g_assert_cmphex(get64(reply), ==, HC_SIZE);
    for (int i = 10; i < 134; i++) {
        g_assert_cmpuint(reply[i], ==, 0);
    }
    hc_request(fd, NBD_CMD_FLUSH, 0, 5, 0, 0);
    g_assert_cmpuint(hc_simple_reply(fd, 5), ==, 0);
    close(fd);
    /* With NO_ZEROES: 10 bytes, then straight to a request's reply. */
    fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    hc_option(fd, NBD_OPT_EXPORT_NAME, "h0", 2);
    g_assert_true(hc_recv(fd, reply, 10));
    g_assert_cmphex(get64(reply), ==, HC_SIZE);
    g_assert_cmphex(reply[9] & NBD_FLAG_READ_ONLY, ==, NBD_FLAG_READ_ONLY);
    hc_request(fd, NBD_CMD_FLUSH, 0, 6, 0, 0);
    g_assert_cmpuint(hc_simple_reply(fd, 6), ==, 0);
    close(fd);
    /* EXPORT_NAME of no export: the session ends. */
    fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
    hc_option(fd, NBD_OPT_EXPORT_NAME, "nope", 4);
    hc_expect_closed(fd);
    /* ABORT is acknowledged, then the server closes. */
    fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
    hc_option(fd, NBD_OPT_ABORT, NULL, 0);
    g_assert_cmphex(hc_opt_reply(fd, NBD_OPT_ABORT), ==, NBD_REP_ACK);
    hc_expect_closed(fd);
    hostile_teardown(bs);
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
    BlockDriverState *bs = raw_node("q0", "q0.raw", HC_SIZE, 6);
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
              "\"max-connections\":4}}\n", sock_path);
    expect_error(c, "{\"execute\":\"nbd-server-start\",\"arguments\":"
                 "{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"/x\"}}}}"
                 "\n", "GenericError", "NBD server already running", NULL);
    expect_error(c, "{\"execute\":\"nbd-server-add\",\"arguments\":"
                 "{\"device\":\"nosuch\"}}\n", "GenericError",
                 "Cannot find device='nosuch' nor node-name='nosuch'", NULL);
    expect_error(c, "{\"execute\":\"nbd-server-add\",\"arguments\":"
                 "{\"device\":\"q0\",\"bitmap\":\"b0\"}}\n", "GenericError",
                 "bitmaps", NULL);
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
    check_healthy("second", HC_SIZE);

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
    g_assert_false(g_file_test(sock_path, G_FILE_TEST_EXISTS));
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
    g_assert_cmpint(run_peer(&out, "qemu-io -f raw -c 'write -P 0x5a 0 4k' %s",
                             u), ==, 0);
    g_assert_cmpint(blk_pread(drive, 0, sizeof(buf), buf, NULL), ==, 0);
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, 0x5a);
    }
    expect_ok(c, "{\"execute\":\"nbd-server-stop\"}\n");
    json_object_put(wait_event(c, "BLOCK_EXPORT_DELETED"));
    g_assert_cmpint(run_peer(NULL, "nbdinfo --size %s", u), !=, 0);
    g_assert_true(drive_del("parent0", &error_abort));
    client_free(c);
}

static void test_hmp(void)
{
    Client *c = qmp_start();
    BlockDriverState *bs = raw_node("hm0", "hm0.raw", HC_SIZE, 8);
    json_object *resp;
    g_autofree char *line = NULL;

    line = g_strdup_printf("{\"execute\":\"human-monitor-command\","
                           "\"arguments\":{\"command-line\":"
                           "\"nbd_server_start unix:%s\"}}\n", sock_path);
    json_object_put(expect_return(c, line, NULL));
    json_object_put(expect_return(c, "{\"execute\":\"human-monitor-command\","
                                  "\"arguments\":{\"command-line\":"
                                  "\"nbd_server_add -w hm0 disk\"}}\n",
                                  NULL));
    check_healthy("disk", HC_SIZE);
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
    server_stop();
    bdrv_unref(bs);
    client_free(c);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (g_getenv("NBD_TEST_TRACE")) {
        trace_enable_pattern(g_getenv("NBD_TEST_TRACE"));
    }
    sock_path = bt_path("nbd.sock");
    g_test_add_func("/nbd/nbdinfo", test_nbdinfo);
    g_test_add_func("/nbd/nbdinfo-map-qcow2", test_nbdinfo_map_qcow2);
    g_test_add_func("/nbd/nbdinfo-map-backing", test_nbdinfo_map_backing);
    g_test_add_func("/nbd/nbdinfo-map-raw-sparse",
                    test_nbdinfo_map_raw_sparse);
    g_test_add_func("/nbd/nbdcopy", test_nbdcopy);
    g_test_add_func("/nbd/nbdcopy-throughput", test_nbdcopy_throughput);
    g_test_add_func("/nbd/qemu-tools", test_qemu_tools);
    g_test_add_func("/nbd/tcp", test_tcp);
    g_test_add_func("/nbd/handshake-options", test_handshake_options);
    g_test_add_func("/nbd/read-only-eperm", test_read_only_eperm);
    g_test_add_func("/nbd/hostile/garbage-magic", test_hostile_garbage_magic);
    g_test_add_func("/nbd/hostile/request-in-handshake",
                    test_hostile_request_in_handshake);
    g_test_add_func("/nbd/hostile/huge-write", test_hostile_huge_write);
    g_test_add_func("/nbd/hostile/past-end", test_hostile_past_end);
    g_test_add_func("/nbd/hostile/vanish", test_hostile_vanish);
    g_test_add_func("/nbd/hostile/too-many", test_hostile_too_many);
    g_test_add_func("/nbd/hostile/slow-reader", test_slow_reader);
    g_test_add_func("/nbd/hostile/idle-handshake",
                    test_hostile_idle_handshake);
    g_test_add_func("/nbd/structured", test_structured);
    g_test_add_func("/nbd/remove-hard-in-flight", test_remove_hard_in_flight);
    g_test_add_func("/nbd/qmp", test_qmp_commands);
    g_test_add_func("/nbd/hmp", test_hmp);
    g_test_add_func("/nbd/colo-recipe", test_colo_recipe);
    return qmp_test_run();
}
