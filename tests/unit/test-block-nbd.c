/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nbd block driver (block/nbd.c) against real servers spawned as
 * subprocesses (no /dev/kvm): qemu-nbd over a Unix socket and over TCP on
 * loopback with raw and qcow2 images (checked afterwards with qemu-img
 * compare and check), and nbdkit (memory and file plugins, with its log,
 * error, delay, fua and nozero filters) for flags, failures and
 * reconnects. Also the NBD URIs (nbd-uri.c) and -drive. A case whose
 * server program is missing is skipped, and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <glib/gstdio.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockdev.h"
#include "block/nbd-uri.h"
#include "qapi/qapi-commands.h"
#include "util/main-loop.h"
#include "util/yank.h"
#include "os-util.h"
#include "watchdog.h"
#include "block-test-util.h"

#define IMG_SIZE (4 * 1024 * 1024)

/* ---- servers ---- */

typedef struct Server {
    GPid pid;
    char *sock;         /* Unix socket path, or NULL for TCP */
    int port;
} Server;

static bool have(const char *prog)
{
    g_autofree char *p = g_find_program_in_path(prog);

    if (!p) {
        g_test_skip(prog);
        g_test_message("%s is not installed: case skipped", prog);
    }
    return p != NULL;
}

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool can_connect(const Server *srv)
{
    int fd;
    bool ok;

    if (srv->sock) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };

        g_strlcpy(a.sun_path, srv->sock, sizeof(a.sun_path));
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    } else {
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons(srv->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

        fd = socket(AF_INET, SOCK_STREAM, 0);
        ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    }
    close(fd);
    return ok;
}

/* Servers die with the test, even one that crashes (qemu-nbd has no
 * --exit-with-parent). */
static void die_with_parent(gpointer unused)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/*
 * Starts argv (NULL-terminated; "@SOCK@"/"@PORT@" replaced) and waits
 * until it accepts connections.
 */
static void server_start(Server *srv, const char *const *argv)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *port = g_strdup_printf("%d", srv->port);
    GError *gerr = NULL;
    int64_t end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

    for (; *argv; argv++) {
        const char *a = *argv;

        g_ptr_array_add(args, g_strdup(!strcmp(a, "@SOCK@") ? srv->sock
                                       : !strcmp(a, "@PORT@") ? port : a));
    }
    g_ptr_array_add(args, NULL);
    if (srv->sock) {
        unlink(srv->sock);
    }
    if (!g_spawn_async(NULL, (char **)args->pdata, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                       die_with_parent, NULL, &srv->pid, &gerr)) {
        g_error("cannot start %s: %s", (char *)args->pdata[0],
                gerr->message);
    }
    while (!can_connect(srv)) {
        int st;

        if (waitpid(srv->pid, &st, WNOHANG) == srv->pid) {
            g_error("%s exited before listening", (char *)args->pdata[0]);
        }
        if (g_get_monotonic_time() > end) {
            g_error("%s does not listen", (char *)args->pdata[0]);
        }
        g_usleep(10000);
    }
}

static void server_kill(Server *srv)
{
    if (srv->pid) {
        kill(srv->pid, SIGKILL);
        waitpid(srv->pid, NULL, 0);
        srv->pid = 0;
    }
}

static Server *server_new_unix(const char *name)
{
    Server *srv = g_new0(Server, 1);

    srv->sock = bt_path(name);
    return srv;
}

static Server *server_new_tcp(void)
{
    Server *srv = g_new0(Server, 1);

    srv->port = free_port();
    return srv;
}

static void server_free(Server *srv)
{
    server_kill(srv);
    if (srv->sock) {
        unlink(srv->sock);
    }
    g_free(srv->sock);
    g_free(srv);
}

/* {"type":"unix","path":...} or {"type":"inet",...} */
static char *server_json(const Server *srv)
{
    if (srv->sock) {
        return g_strdup_printf("{\"type\":\"unix\",\"path\":\"%s\"}",
                               srv->sock);
    }
    return g_strdup_printf("{\"type\":\"inet\",\"host\":\"127.0.0.1\","
                           "\"port\":\"%d\"}", srv->port);
}

/* An nbd node on srv with extra JSON members (may be ""). */
static BlockDriverState *open_nbd(const Server *srv, const char *extra)
{
    g_autofree char *sj = server_json(srv);
    g_autofree char *j = g_strdup_printf("{\"driver\":\"nbd\",\"node-name\":"
                                         "\"n0\",\"server\":%s%s}", sj,
                                         extra);

    return bt_open(j);
}

/* A Unix socket that accepts connections and never says a word. */
static int mute_listener(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    unlink(path);
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(listen(fd, 16), ==, 0);
    return fd;
}

/*
 * "At once", as an upper bound on how long a request or a close may take:
 * far below what a wrong path would wait (a 30 or 60 s reconnect-delay, or
 * forever) and far above the scheduling stalls of a loaded 2-core CI host,
 * so the bound catches the bug and never the load. Lower bounds (a delay
 * was honoured) hold under any load and stay exact.
 */
#define PROMPT_S 10.0

static double secs_since(int64_t t0)
{
    return (g_get_monotonic_time() - t0) / 1e6;
}

/* ---- asynchronous requests ---- */

typedef struct Aio {
    int pending;
    int ret;
} Aio;

static void aio_cb(void *opaque, int ret, const Error *err)
{
    Aio *a = opaque;

    if (ret < 0 && a->ret == 0) {
        a->ret = ret;
        g_test_message("aio error: %s", err ? error_get_pretty(err) : "?");
    }
    a->pending--;
}

/* Runs the main loop until a has no request pending, at most secs. */
static bool aio_wait(Aio *a, double secs)
{
    int64_t t0 = g_get_monotonic_time();

    while (a->pending > 0 && secs_since(t0) < secs) {
        main_loop_wait(false);
        g_usleep(1000);
    }
    return a->pending == 0;
}

static void pump(double secs)
{
    Aio none = { .pending = 1 };

    aio_wait(&none, secs);
}

static BlockBackend *new_blk(BlockDriverState *bs)
{
    Error *err = NULL;
    BlockBackend *blk = blk_new(NULL, bs, !bdrv_is_read_only(bs), false,
                                &err);

    if (!blk) {
        g_error("blk_new: %s", error_get_pretty(err));
    }
    return blk;
}

static void fill(unsigned char *buf, size_t len, uint64_t off, int seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = bt_pattern(off + i, seed);
    }
}

/*
 * Writes the seed-2 pattern over [off, off + len) of blk and of the local
 * reference file ref, through several request shapes: one buffer,
 * scattered iovs, and concurrent asynchronous requests.
 */
static void write_both(BlockBackend *blk, const char *ref, uint64_t off,
                       uint64_t len)
{
    g_autofree unsigned char *buf = g_malloc(len);
    g_autofree char *data = NULL;
    gsize rlen;

    fill(buf, len, off, 2);
    g_assert_cmpint(blk_pwrite(blk, off, len, buf, 0, NULL), ==, 0);
    g_assert_true(g_file_get_contents(ref, &data, &rlen, NULL));
    memcpy(data + off, buf, len);
    g_assert_true(g_file_set_contents(ref, data, rlen, NULL));
}

static void check_read(BlockBackend *blk, uint64_t off, uint64_t len,
                       const char *ref)
{
    g_autofree unsigned char *buf = g_malloc(len);
    g_autofree char *data = NULL;

    g_assert_true(g_file_get_contents(ref, &data, NULL, NULL));
    g_assert_cmpint(blk_pread(blk, off, len, buf, NULL), ==, 0);
    g_assert_true(memcmp(buf, data + off, len) == 0);
}

/* ---- cases ---- */

static void test_uri(void)
{
    static const struct {
        const char *uri;
        const char *json;   /* NULL: an error containing err */
        const char *err;
    } cases[] = {
        { "nbd://host.example:10999/exp",
          "{ \"driver\": \"nbd\", \"server\": { \"type\": \"inet\", \"host\": "
          "\"host.example\", \"port\": \"10999\" }, \"export\": \"exp\" }" },
        { "nbd://10.0.0.1",
          "{ \"driver\": \"nbd\", \"server\": { \"type\": \"inet\", \"host\": "
          "\"10.0.0.1\", \"port\": \"10809\" } }" },
        { "nbd+tcp://[::1]:99/a%20b",
          "{ \"driver\": \"nbd\", \"server\": { \"type\": \"inet\", \"host\": "
          "\"::1\", \"port\": \"99\" }, \"export\": \"a b\" }" },
        { "nbd+unix:///disk0?socket=/run/nbd.sock",
          "{ \"driver\": \"nbd\", \"server\": { \"type\": \"unix\", \"path\": "
          "\"/run/nbd.sock\" }, \"export\": \"disk0\" }" },
        { "nbd+unix://?socket=/s",
          "{ \"driver\": \"nbd\", \"server\": { \"type\": \"unix\", \"path\": "
          "\"/s\" } }" },
        { "nbd:unix:/s:exportname=e1",
          "{ \"driver\": \"nbd\", \"server\": { \"type\": \"unix\", \"path\": "
          "\"/s\" }, \"export\": \"e1\" }" },
        { "nbd:localhost:10810",
          "{ \"driver\": \"nbd\", \"server\": { \"type\": \"inet\", \"host\": "
          "\"localhost\", \"port\": \"10810\" } }" },
        { "nbds://h/e", NULL, "TLS (nbds) is not supported" },
        { "nbd+unix:///e", NULL, "socket=PATH" },
        { "nbd+unix://h/e?socket=/s", NULL, "nbd+unix takes no host" },
        { "nbd://h/e?socket=/s", NULL, "takes no query parameters" },
        { "nbd:///e", NULL, "no host" },
        { "nbd+ssh://h/e", NULL, "unknown scheme 'nbd+ssh'" },
        { "nbd:justahost", NULL, "expected nbd:HOST:PORT" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Error *err = NULL;
        json_object *o = nbd_uri_to_json(cases[i].uri, &err);

        g_assert_true(nbd_uri_is_nbd(cases[i].uri));
        if (cases[i].json) {
            if (!o) {
                g_error("%s: %s", cases[i].uri, error_get_pretty(err));
            }
            g_assert_cmpstr(json_object_to_json_string_ext(o,
                                JSON_C_TO_STRING_SPACED |
                                JSON_C_TO_STRING_NOSLASHESCAPE), ==,
                            cases[i].json);
            json_object_put(o);
        } else {
            g_assert_null(o);
            if (!strstr(error_get_pretty(err), cases[i].err)) {
                g_error("%s: '%s' lacks '%s'", cases[i].uri,
                        error_get_pretty(err), cases[i].err);
            }
            error_free(err);
        }
    }
    g_assert_false(nbd_uri_is_nbd("/images/nbd.img"));
    g_assert_false(nbd_uri_is_nbd("nbdfile.img"));

    /* And back, as query-named-block-nodes shows them. */
    {
        SocketAddress u = { .type = SOCKET_ADDRESS_TYPE_UNIX };
        SocketAddress t = { .type = SOCKET_ADDRESS_TYPE_INET };
        g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        u.u.q_unix.path = (char *)"/s";
        t.u.inet.host = (char *)"::1";
        t.u.inet.port = (char *)"10809";
        a = nbd_uri_format(&u, "e");
        b = nbd_uri_format(&u, NULL);
        c = nbd_uri_format(&t, "e");
        t.u.inet.host = (char *)"localhost";
        d = nbd_uri_format(&t, NULL);
        g_assert_cmpstr(a, ==, "nbd+unix:///e?socket=/s");
        g_assert_cmpstr(b, ==, "nbd+unix://?socket=/s");
        g_assert_cmpstr(c, ==, "nbd://[::1]:10809/e");
        g_assert_cmpstr(d, ==, "nbd://localhost:10809");
    }
}

static void test_refused_options(void)
{
    bt_open_fails("{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
                  "\"path\":\"/nonexistent\"},\"tls-creds\":\"tls0\"}",
                  "NBD over TLS (tls-creds) is not supported");
    bt_open_fails("{\"driver\":\"nbd\",\"server\":{\"type\":\"fd\","
                  "\"str\":\"3\"}}",
                  "server.type=fd is not supported for NBD");
}

/*
 * qemu-nbd over a Unix socket, raw image: reads and writes of every
 * shape round-trip, the image ends equal to a reference file written
 * beside it, and a sequential read figure is printed.
 */
static void test_qemu_nbd_unix_raw(void)
{
    g_autofree char *img = bt_path("u.raw"), *ref = bt_path("u.ref");
    Server *srv;
    BlockDriverState *bs;
    BlockBackend *blk;
    const char *argv[] = { "qemu-nbd", "-f", "raw", "-t", "-e", "8", "-k",
                           "@SOCK@", img, NULL };

    if (!have("qemu-nbd") || !bt_have_qemu_img()) {
        return;
    }
    bt_make_pattern_file(img, IMG_SIZE, 1);
    bt_make_pattern_file(ref, IMG_SIZE, 1);
    srv = server_new_unix("u.sock");
    server_start(srv, argv);
    bs = open_nbd(srv, "");
    blk = new_blk(bs);
    g_assert_cmpint(blk_getlength(blk), ==, IMG_SIZE);
    g_assert_false(bdrv_is_read_only(bs));

    check_read(blk, 0, IMG_SIZE, ref);
    write_both(blk, ref, 0, 4096);
    write_both(blk, ref, 12345, 70000);           /* unaligned */
    write_both(blk, ref, IMG_SIZE - 100, 100);    /* the tail */
    check_read(blk, 0, IMG_SIZE, ref);

    /* Scattered buffers, and many asynchronous requests at once. */
    {
        unsigned char a[1000], b[3096], back[4096];
        struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
        BlockIov q = { iov, 2, sizeof(a) + sizeof(b) };
        g_autofree char *data = NULL;
        gsize rlen;

        fill(a, sizeof(a), 1 << 20, 3);
        fill(b, sizeof(b), (1 << 20) + sizeof(a), 3);
        g_assert_cmpint(blk_pwritev(blk, 1 << 20, &q, 0, NULL), ==, 0);
        memset(a, 0, sizeof(a));
        memset(b, 0, sizeof(b));
        g_assert_cmpint(blk_preadv(blk, 1 << 20, &q, NULL), ==, 0);
        fill(back, sizeof(back), 1 << 20, 3);
        g_assert_true(memcmp(a, back, sizeof(a)) == 0);
        g_assert_true(memcmp(b, back + sizeof(a), sizeof(b)) == 0);
        g_assert_true(g_file_get_contents(ref, &data, &rlen, NULL));
        memcpy(data + (1 << 20), back, sizeof(back));
        g_assert_true(g_file_set_contents(ref, data, rlen, NULL));
    }
    {
        enum { N = 32, CH = 65536 };
        g_autofree unsigned char *buf = g_malloc(N * CH);
        struct iovec iov[N];
        BlockIov q[N];
        Aio a = { .pending = N };
        g_autofree char *data = NULL;
        gsize rlen;

        fill(buf, N * CH, 2 << 20, 4);
        for (int i = 0; i < N; i++) {
            block_iov_init_buf(&q[i], &iov[i], buf + i * CH, CH);
            blk_aio_pwritev(blk, (2 << 20) + i * CH, &q[i], 0, aio_cb, &a);
        }
        g_assert_true(aio_wait(&a, 30));
        g_assert_cmpint(a.ret, ==, 0);
        a.pending = 1;
        blk_aio_flush(blk, aio_cb, &a);
        g_assert_true(aio_wait(&a, 30));
        g_assert_cmpint(a.ret, ==, 0);
        g_assert_true(g_file_get_contents(ref, &data, &rlen, NULL));
        memcpy(data + (2 << 20), buf, N * CH);
        g_assert_true(g_file_set_contents(ref, data, rlen, NULL));
    }
    check_read(blk, 0, IMG_SIZE, ref);

    /* A figure for the report: sequential 1 MiB reads, one at a time. */
    {
        g_autofree unsigned char *buf = g_malloc(1 << 20);
        int64_t t0 = g_get_monotonic_time();
        int rounds = 16;

        for (int r = 0; r < rounds; r++) {
            for (uint64_t off = 0; off < IMG_SIZE; off += 1 << 20) {
                g_assert_cmpint(blk_pread(blk, off, 1 << 20, buf, NULL), ==,
                                0);
            }
        }
        g_test_message("sequential read, 1 MiB at queue depth 1 over a Unix "
                       "socket from qemu-nbd: %.0f MB/s",
                       rounds * (double)IMG_SIZE / 1e6 / secs_since(t0));
    }
    {
        enum { QD = 8, CH = 512 * 1024 };
        g_autofree unsigned char *buf = g_malloc(QD * CH);
        struct iovec iov[QD];
        BlockIov q[QD];
        int64_t t0 = g_get_monotonic_time();
        int rounds = 16;

        for (int r = 0; r < rounds; r++) {
            for (uint64_t off = 0; off < IMG_SIZE; off += QD * CH) {
                Aio a = { .pending = QD };

                for (int i = 0; i < QD; i++) {
                    block_iov_init_buf(&q[i], &iov[i], buf + i * CH, CH);
                    blk_aio_preadv(blk, off + i * CH, &q[i], aio_cb, &a);
                }
                g_assert_true(aio_wait(&a, 30));
                g_assert_cmpint(a.ret, ==, 0);
            }
        }
        g_test_message("sequential read, 512 KiB at queue depth 8 (blk_aio): "
                       "%.0f MB/s",
                       rounds * (double)IMG_SIZE / 1e6 / secs_since(t0));
    }

    blk_unref(blk);
    bdrv_unref(bs);
    server_kill(srv);
    {
        g_autofree char *out = NULL;
        int st = bt_qemu_img(&out, "compare -f raw -F raw '%s' '%s'", ref,
                             img);

        if (st != 0) {
            g_error("qemu-img compare: %s", out);
        }
    }
    server_free(srv);
}

/*
 * qemu-nbd over TCP, a named export of a qcow2 image, opened as
 * -blockdev driver=raw,file.driver=nbd,... (dotted keys): writes land in
 * the image (qemu-img compare against a reference, qemu-img check).
 */
static void test_qemu_nbd_tcp_qcow2_stacked(void)
{
    g_autofree char *img = bt_path("t.qcow2"), *ref = bt_path("t.ref");
    g_autofree char *dotted = NULL, *out = NULL;
    Server *srv;
    BlockdevOptions *opts;
    BlockDriverState *bs;
    BlockBackend *blk;
    Error *err = NULL;
    const char *argv[] = { "qemu-nbd", "-f", "qcow2", "-t", "-e", "8", "-x",
                           "disk0", "-b", "127.0.0.1", "-p", "@PORT@", img,
                           NULL };

    if (!have("qemu-nbd") || !bt_have_qemu_img()) {
        return;
    }
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' %d", img,
                                IMG_SIZE), ==, 0);
    g_assert_true(g_file_set_contents(ref, "", 0, NULL));
    g_assert_cmpint(truncate(ref, IMG_SIZE), ==, 0);
    srv = server_new_tcp();
    server_start(srv, argv);
    dotted = g_strdup_printf("driver=raw,node-name=r0,file.driver=nbd,"
                             "file.node-name=n0,file.server.type=inet,"
                             "file.server.host=127.0.0.1,"
                             "file.server.port=%d,file.export=disk0,"
                             "file.reconnect-delay=3", srv->port);
    opts = blockdev_options_parse(dotted, &err);
    g_assert_nonnull(opts);
    g_assert_cmpint(opts->u.raw.file->u.definition->u.nbd.reconnect_delay,
                    ==, 3);
    bs = bdrv_open_blockdev(opts, &err);
    if (!bs) {
        g_error("%s", error_get_pretty(err));
    }
    qapi_free_BlockdevOptions(opts);
    g_assert_cmpstr(bdrv_get_format_name(bdrv_file_bs(bs)), ==, "nbd");
    {
        g_autofree char *uri = g_strdup_printf("nbd://127.0.0.1:%d/disk0",
                                               srv->port);

        g_assert_cmpstr(bdrv_get_filename(bs), ==, uri);
    }
    blk = new_blk(bs);
    write_both(blk, ref, 0, 65536);
    write_both(blk, ref, 3 * 65536 + 17, 200000);
    write_both(blk, ref, IMG_SIZE - 512, 512);
    check_read(blk, 0, IMG_SIZE, ref);
    g_assert_cmpint(blk_flush(blk, NULL), ==, 0);
    blk_unref(blk);
    bdrv_unref(bs);
    server_kill(srv);
    g_clear_pointer(&out, g_free);
    if (bt_qemu_img(&out, "compare -f raw -F qcow2 '%s' '%s'", ref, img)) {
        g_error("qemu-img compare: %s", out);
    }
    bt_qemu_img_check(img);
    server_free(srv);
}

/* query-named-block-nodes shows the node as QEMU does. */
static void test_query(void)
{
    g_autofree char *img = bt_path("q.raw");
    g_autofree char *uri = NULL;
    Server *srv;
    BlockDriverState *bs;
    BlockDeviceInfoList *list;
    bool seen = false;
    const char *argv[] = { "qemu-nbd", "-f", "raw", "-t", "-x", "q", "-k",
                           "@SOCK@", img, NULL };

    if (!have("qemu-nbd")) {
        return;
    }
    bt_make_pattern_file(img, 65536, 0);
    srv = server_new_unix("q.sock");
    server_start(srv, argv);
    bs = open_nbd(srv, ",\"export\":\"q\"");
    uri = g_strdup_printf("nbd+unix:///q?socket=%s", srv->sock);
    list = qmp_query_named_block_nodes(true, true, NULL);
    for (BlockDeviceInfoList *l = list; l; l = l->next) {
        if (!strcmp(l->value->node_name, "n0")) {
            g_assert_cmpstr(l->value->drv, ==, "nbd");
            g_assert_cmpstr(l->value->file, ==, uri);
            g_assert_false(l->value->ro);
            seen = true;
        }
    }
    g_assert_true(seen);
    qapi_free_BlockDeviceInfoList(list);
    bdrv_unref(bs);
    server_free(srv);
}

/* A read-only export makes a read-only node: writes fail with EPERM. */
static void test_read_only_export(void)
{
    g_autofree char *img = bt_path("ro.raw");
    g_autofree char *sj = NULL, *j = NULL;
    Server *srv;
    BlockDriverState *bs;
    Error *err = NULL;
    unsigned char buf[512];
    const char *argv[] = { "qemu-nbd", "-f", "raw", "-r", "-t", "-e", "4",
                           "-k", "@SOCK@", img, NULL };

    if (!have("qemu-nbd")) {
        return;
    }
    bt_make_pattern_file(img, 65536, 5);
    srv = server_new_unix("ro.sock");
    server_start(srv, argv);
    bs = open_nbd(srv, "");
    g_assert_true(bdrv_is_read_only(bs));
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, NULL), ==, 0);
    g_assert_cmpint(buf[7], ==, bt_pattern(7, 5));
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, 0, &err), ==,
                    -EPERM);
    g_assert_nonnull(strstr(error_get_pretty(err), "node 'n0'"));
    g_clear_pointer(&err, error_free);
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 0, 512, 0, NULL), ==, -EPERM);
    bdrv_unref(bs);

    /* A writable raw node over it is refused with the reason. */
    sj = server_json(srv);
    j = g_strdup_printf("{\"driver\":\"raw\",\"file\":{\"driver\":\"nbd\","
                        "\"server\":%s}}", sj);
    bt_open_fails(j, "is read-only and cannot be the 'file' child");
    server_free(srv);
}

/* nbdkit memory with its log filter: what the client sends, by name. */
static const char *nbdkit_log_argv(Server *srv, const char *log,
                                   const char *const *filters,
                                   const char **argv, size_t max)
{
    size_t n = 0;

    argv[n++] = "nbdkit";
    argv[n++] = "-f";
    argv[n++] = "--exit-with-parent";
    argv[n++] = "-U";
    argv[n++] = "@SOCK@";
    argv[n++] = "--filter=log";
    for (; filters && *filters; filters++) {
        argv[n++] = *filters;
    }
    argv[n++] = "memory";
    argv[n++] = "size=4M";
    argv[n++] = g_strdup_printf("logfile=%s", log);
    argv[n] = NULL;
    g_assert_cmpuint(n, <, max);
    return argv[n - 1];
}

static char *read_log(const char *log)
{
    char *data = NULL;

    g_assert_true(g_file_get_contents(log, &data, NULL, NULL));
    return data;
}

/*
 * Flush, FUA, trim and write-zeroes reach the server as those commands,
 * and block status reads base:allocation.
 */
static void test_nbdkit_commands(void)
{
    g_autofree char *log = bt_path("cmd.log");
    const char *argv[16];
    g_autofree char *logarg = NULL;
    Server *srv;
    BlockDriverState *bs;
    unsigned char buf[65536], zero[65536] = { 0 };
    uint64_t pnum;
    int st;

    if (!have("nbdkit")) {
        return;
    }
    logarg = (char *)nbdkit_log_argv(NULL, log, NULL, argv,
                                     G_N_ELEMENTS(argv));
    srv = server_new_unix("cmd.sock");
    server_start(srv, argv);
    bs = open_nbd(srv, ",\"discard\":\"unmap\"");
    g_assert_cmpint(bdrv_getlength(bs), ==, 4 << 20);

    /* Fresh memory is a hole that reads zeroes. */
    st = bdrv_block_status(bs, 0, 1 << 20, &pnum, NULL, NULL);
    g_assert_cmpint(st, >=, 0);
    g_assert_false(st & BDRV_BLOCK_DATA);
    g_assert_true(st & BDRV_BLOCK_ZERO);

    fill(buf, sizeof(buf), 0, 6);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, 0, NULL), ==, 0);
    g_assert_cmpint(bdrv_pwrite(bs, 65536, sizeof(buf), buf, BDRV_REQ_FUA,
                                NULL), ==, 0);
    st = bdrv_block_status(bs, 0, 1 << 20, &pnum, NULL, NULL);
    g_assert_true(st & BDRV_BLOCK_DATA);
    g_assert_cmpuint(pnum, ==, 131072);
    st = bdrv_block_status(bs, 131072, 1 << 20, &pnum, NULL, NULL);
    g_assert_false(st & BDRV_BLOCK_DATA);
    g_assert_cmpint(bdrv_flush(bs, NULL), ==, 0);

    /* Write-zeroes (keeping the allocation) and trim. */
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 0, 4096, 0, NULL), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, NULL), ==, 0);
    g_assert_true(memcmp(buf, zero, 4096) == 0);
    g_assert_cmpint(buf[4096], ==, bt_pattern(4096, 6));
    g_assert_cmpint(bdrv_pdiscard(bs, 65536, 65536, NULL), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 65536, sizeof(buf), buf, NULL), ==, 0);
    g_assert_true(memcmp(buf, zero, sizeof(buf)) == 0);
    st = bdrv_block_status(bs, 65536, 65536, &pnum, NULL, NULL);
    g_assert_false(st & BDRV_BLOCK_DATA);
    bdrv_unref(bs);
    server_kill(srv);

    {
        g_autofree char *l = read_log(log);

        g_test_message("%s", l);
        g_assert_nonnull(strstr(l, "Flush id="));
        g_assert_nonnull(strstr(l, "Trim id="));
        g_assert_nonnull(strstr(l, "Zero id="));
        g_assert_nonnull(strstr(l, "Extents id="));
        /* The FUA write, and only it, carried the flag. */
        g_assert_nonnull(strstr(l, "offset=0x10000 count=0x10000 fua=1"));
        g_assert_nonnull(strstr(l, "offset=0x0 count=0x10000 fua=0"));
        /* Write-zeroes without MAY_UNMAP asks to keep the allocation. */
        g_assert_nonnull(strstr(l, "count=0x1000 trim=0"));
    }
    server_free(srv);
}

/*
 * A server without FUA and write-zeroes: FUA becomes a flush after the
 * write, write-zeroes a write of zeroes.
 */
static void test_nbdkit_emulated(void)
{
    g_autofree char *log = bt_path("emu.log");
    static const char *const filters[] = { "--filter=nozero",
                                           "--filter=fua", NULL };
    const char *argv[20];
    g_autofree char *logarg = NULL;
    Server *srv;
    BlockDriverState *bs;
    unsigned char buf[4096], zero[4096] = { 0 };

    if (!have("nbdkit")) {
        return;
    }
    logarg = (char *)nbdkit_log_argv(NULL, log, filters, argv,
                                     G_N_ELEMENTS(argv) - 1);
    /* fuamode=none is the fua filter's default: FUA not advertised. */
    srv = server_new_unix("emu.sock");
    server_start(srv, argv);
    bs = open_nbd(srv, "");
    fill(buf, sizeof(buf), 0, 7);
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, BDRV_REQ_FUA,
                                NULL), ==, 0);
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 0, 2048, 0, NULL), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, NULL), ==, 0);
    g_assert_true(memcmp(buf, zero, 2048) == 0);
    g_assert_cmpint(buf[2048], ==, bt_pattern(2048, 7));
    bdrv_unref(bs);
    server_kill(srv);
    {
        g_autofree char *l = read_log(log);
        const char *w = strstr(l, "offset=0x0 count=0x1000 fua=0");

        g_test_message("%s", l);
        g_assert_nonnull(w);
        g_assert_nonnull(strstr(w, "Flush id="));
        g_assert_null(strstr(l, "Zero id="));
        g_assert_nonnull(strstr(l, "offset=0x0 count=0x800 fua=0"));
    }
    server_free(srv);
}

/* A server's error comes back as the request's error, naming the node. */
static void test_nbdkit_error(void)
{
    const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                           "@SOCK@", "--filter=error", "memory", "size=1M",
                           "error-pread=ENOSPC", "error-pread-rate=100%",
                           NULL };
    Server *srv;
    BlockDriverState *bs;
    Error *err = NULL;
    unsigned char buf[512] = { 1 };

    if (!have("nbdkit")) {
        return;
    }
    srv = server_new_unix("err.sock");
    server_start(srv, argv);
    bs = open_nbd(srv, "");
    g_assert_cmpint(bdrv_pwrite(bs, 0, sizeof(buf), buf, 0, NULL), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, &err), ==, -ENOSPC);
    g_assert_nonnull(strstr(error_get_pretty(err), "node 'n0' (file "
                            "'nbd+unix://?socket="));
    g_assert_nonnull(strstr(error_get_pretty(err), "No space left"));
    error_free(err);
    /* The connection is still good. */
    g_assert_cmpint(bdrv_pwrite(bs, 512, sizeof(buf), buf, 0, NULL), ==, 0);
    bdrv_unref(bs);
    server_free(srv);
}

/*
 * A server whose maximum block size is 64 KiB and that refuses anything
 * larger: big requests are split at its maximum.
 */
static void test_nbdkit_max_block_size(void)
{
    const char *argv[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                           "@SOCK@", "--filter=blocksize-policy", "memory",
                           "size=4M", "blocksize-maximum=64K",
                           "blocksize-error-policy=error", NULL };
    enum { LEN = (1 << 20) + 100 };
    g_autofree unsigned char *buf = g_malloc(LEN);
    g_autofree unsigned char *back = g_malloc(LEN);
    Server *srv;
    BlockDriverState *bs;

    if (!have("nbdkit")) {
        return;
    }
    srv = server_new_unix("max.sock");
    server_start(srv, argv);
    bs = open_nbd(srv, ",\"discard\":\"unmap\"");
    fill(buf, LEN, 100, 12);
    g_assert_cmpint(bdrv_pwrite(bs, 100, LEN, buf, 0, NULL), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 100, LEN, back, NULL), ==, 0);
    g_assert_true(memcmp(buf, back, LEN) == 0);
    g_assert_cmpint(bdrv_pwrite_zeroes(bs, 0, 2 << 20, 0, NULL), ==, 0);
    g_assert_cmpint(bdrv_pdiscard(bs, 0, 2 << 20, NULL), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 100, LEN, back, NULL), ==, 0);
    memset(buf, 0, LEN);
    g_assert_true(memcmp(buf, back, LEN) == 0);
    bdrv_unref(bs);
    server_free(srv);
}

/* nbdkit's file plugin on img, optionally reads delayed by 1.5 s. */
static void start_file_server(Server *srv, const char *img, bool slow)
{
    g_autofree char *file = g_strdup_printf("file=%s", img);
    const char *fast[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                           "@SOCK@", "file", file, NULL };
    const char *delayed[] = { "nbdkit", "-f", "--exit-with-parent", "-U",
                              "@SOCK@", "--filter=delay", "file", file,
                              "delay-read=1500ms", NULL };

    server_start(srv, slow ? delayed : fast);
}

/*
 * The start of the reconnect cases: the watchdog armed, a 1 MiB pattern
 * image (seed) at *img served by nbdkit's file plugin on NAME.sock, or
 * NULL when nbdkit is missing (the case is skipped).
 */
static Server *file_server_case(const char *name, int seed, bool slow,
                                char **img)
{
    g_autofree char *file = g_strdup_printf("%s.raw", name);
    g_autofree char *sock = g_strdup_printf("%s.sock", name);
    Server *srv;

    if (!have("nbdkit")) {
        return NULL;
    }
    test_watchdog_arm(g_test_get_path(), 60);
    *img = bt_path(file);
    bt_make_pattern_file(*img, 1 << 20, seed);
    srv = server_new_unix(sock);
    start_file_server(srv, *img, slow);
    return srv;
}

/*
 * reconnect-delay=10: a read in flight when the server dies and a write
 * sent while it is down both complete once it is back.
 */
static void test_reconnect(void)
{
    g_autofree char *img = NULL;
    Server *srv;
    BlockDriverState *bs;
    BlockBackend *blk;
    unsigned char rbuf[8192], wbuf[4096];
    struct iovec riov, wiov;
    BlockIov rq, wq;
    Aio r = { .pending = 1 }, w = { .pending = 1 };
    TestStderrCapture *cap;

    srv = file_server_case("rc", 8, true, &img);
    if (!srv) {
        return;
    }
    cap = test_stderr_capture_start();
    bs = open_nbd(srv, ",\"reconnect-delay\":10");
    blk = new_blk(bs);

    block_iov_init_buf(&rq, &riov, rbuf, sizeof(rbuf));
    blk_aio_preadv(blk, 4096, &rq, aio_cb, &r);
    pump(0.4);                      /* the read is at the server */
    g_assert_cmpint(r.pending, ==, 1);
    server_kill(srv);
    pump(0.3);
    fill(wbuf, sizeof(wbuf), 0, 9);
    block_iov_init_buf(&wq, &wiov, wbuf, sizeof(wbuf));
    blk_aio_pwritev(blk, 65536, &wq, 0, aio_cb, &w);
    pump(0.5);
    g_assert_cmpint(r.pending, ==, 1);   /* both wait for the server */
    g_assert_cmpint(w.pending, ==, 1);
    start_file_server(srv, img, false);
    g_assert_true(aio_wait(&r, 10));
    g_assert_true(aio_wait(&w, 10));
    g_assert_cmpint(r.ret, ==, 0);
    g_assert_cmpint(w.ret, ==, 0);
    for (size_t i = 0; i < sizeof(rbuf); i++) {
        g_assert_cmpint(rbuf[i], ==, bt_pattern(4096 + i, 8));
    }
    {
        g_autofree char *log = test_stderr_capture_end(cap);

        /* The log lines a user sees: the loss and the reconnect. */
        g_assert_nonnull(strstr(log, "nbd: node 'n0' (nbd+unix://?socket="));
        g_assert_nonnull(strstr(log, "connection lost"));
        g_assert_nonnull(strstr(log, "wait up to 10 s for a reconnect"));
        g_assert_nonnull(strstr(log, "reconnected after"));
    }
    blk_unref(blk);
    bdrv_unref(bs);
    server_kill(srv);
    {
        g_autofree char *data = NULL;

        g_assert_true(g_file_get_contents(img, &data, NULL, NULL));
        g_assert_true(memcmp(data + 65536, wbuf, sizeof(wbuf)) == 0);
    }
    server_free(srv);
    test_watchdog_disarm();
}

/*
 * reconnect-delay=0: the read in flight fails with EIO when the server
 * dies, so do requests while it is down, at once; a server that comes
 * back is found again in the background.
 */
static void test_reconnect_none(void)
{
    g_autofree char *img = NULL;
    Server *srv;
    BlockDriverState *bs;
    BlockBackend *blk;
    unsigned char buf[4096];
    struct iovec iov;
    BlockIov q;
    Aio r = { .pending = 1 };
    int64_t t0;
    int ret = -1;

    srv = file_server_case("rc0", 10, true, &img);
    if (!srv) {
        return;
    }
    bs = open_nbd(srv, "");
    blk = new_blk(bs);
    block_iov_init_buf(&q, &iov, buf, sizeof(buf));
    blk_aio_preadv(blk, 0, &q, aio_cb, &r);
    pump(0.4);
    g_assert_cmpint(r.pending, ==, 1);
    t0 = g_get_monotonic_time();
    server_kill(srv);
    g_assert_true(aio_wait(&r, PROMPT_S));
    g_assert_cmpint(r.ret, ==, -EIO);
    g_assert_cmpfloat(secs_since(t0), <, PROMPT_S);
    t0 = g_get_monotonic_time();
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, NULL), ==, -EIO);
    g_assert_cmpfloat(secs_since(t0), <, PROMPT_S);

    start_file_server(srv, img, false);
    t0 = g_get_monotonic_time();
    while (secs_since(t0) < 30 &&
           (ret = blk_pread(blk, 0, sizeof(buf), buf, NULL)) < 0) {
        g_usleep(50000);
    }
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpint(buf[100], ==, bt_pattern(100, 10));
    blk_unref(blk);
    bdrv_unref(bs);
    server_free(srv);
    test_watchdog_disarm();
}

/*
 * reconnect-delay=1 and the server stays away: the request fails with
 * EIO after about a second. Closing the node while it reconnects to a
 * server that never answers returns at once.
 */
static void test_reconnect_expires_and_close(void)
{
    g_autofree char *img = NULL;
    Server *srv;
    BlockDriverState *bs;
    unsigned char buf[512];
    int64_t t0;
    double took;
    int mute;

    srv = file_server_case("rc1", 11, false, &img);
    if (!srv) {
        return;
    }
    bs = open_nbd(srv, ",\"reconnect-delay\":1");
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, NULL), ==, 0);
    server_kill(srv);
    t0 = g_get_monotonic_time();
    g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, NULL), ==, -EIO);
    took = secs_since(t0);
    g_test_message("the request failed after %.2f s", took);
    g_assert_cmpfloat(took, >, 0.5);
    g_assert_cmpfloat(took, <, PROMPT_S);
    bdrv_unref(bs);

    /* Now with a long delay, and a mute server where the real one was. */
    start_file_server(srv, img, false);
    bs = open_nbd(srv, ",\"reconnect-delay\":60");
    server_kill(srv);
    mute = mute_listener(srv->sock);
    pump(0.5);                      /* an attempt waits for a handshake */
    t0 = g_get_monotonic_time();
    bdrv_unref(bs);
    took = secs_since(t0);
    g_test_message("close while reconnecting took %.3f s", took);
    g_assert_cmpfloat(took, <, PROMPT_S);
    close(mute);
    server_free(srv);
    test_watchdog_disarm();
}

static void count_block_node(YankKind kind, const char *name, void *opaque)
{
    if (kind == YANK_KIND_BLOCK_NODE && !strcmp(name, "n0")) {
        (*(int *)opaque)++;
    }
}

static int yank_n0_registered(void)
{
    int n = 0;

    yank_foreach(count_block_node, &n);
    return n;
}

/*
 * yank on the node (as QMP's yank with a block-node instance does): a
 * request stuck at a slow server fails with EIO at once, and so does
 * every later one; no reconnect, even with reconnect-delay.
 */
static void test_yank(void)
{
    g_autofree char *img = NULL;
    YankRef ref = { YANK_KIND_BLOCK_NODE, "n0" };
    Server *srv;
    BlockDriverState *bs;
    BlockBackend *blk;
    unsigned char buf[4096];
    struct iovec iov;
    BlockIov q;
    Aio r = { .pending = 1 };
    int64_t t0;

    srv = file_server_case("yank", 13, true, &img);
    if (!srv) {
        return;
    }
    g_assert_cmpint(yank_n0_registered(), ==, 0);
    bs = open_nbd(srv, ",\"reconnect-delay\":30");
    g_assert_cmpint(yank_n0_registered(), ==, 1);
    blk = new_blk(bs);
    block_iov_init_buf(&q, &iov, buf, sizeof(buf));
    blk_aio_preadv(blk, 0, &q, aio_cb, &r);
    pump(0.3);
    g_assert_cmpint(r.pending, ==, 1);
    t0 = g_get_monotonic_time();
    g_assert_true(yank_instances(&ref, 1, NULL));
    g_assert_true(aio_wait(&r, PROMPT_S));
    g_assert_cmpint(r.ret, ==, -EIO);
    g_assert_cmpfloat(secs_since(t0), <, PROMPT_S);
    pump(0.3);
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, NULL), ==, -EIO);
    blk_unref(blk);
    bdrv_unref(bs);
    g_assert_cmpint(yank_n0_registered(), ==, 0);
    server_free(srv);
    test_watchdog_disarm();
}

/* A server that never answers the handshake: a bounded open, a clear error. */
static void test_handshake_timeout(void)
{
    g_autofree char *sock = bt_path("mute.sock");
    g_autofree char *j = NULL, *nosuch = NULL;
    int fd = mute_listener(sock);
    int64_t t0 = g_get_monotonic_time();
    double took;

    test_watchdog_arm(g_test_get_path(), 30);
    j = g_strdup_printf("{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
                        "\"path\":\"%s\"},\"open-timeout\":1}", sock);
    bt_open_fails(j, "timed out waiting for the server's handshake");
    took = secs_since(t0);
    g_test_message("open failed after %.2f s", took);
    g_assert_cmpfloat(took, >, 0.8);
    g_assert_cmpfloat(took, <, PROMPT_S);
    close(fd);

    /* Nobody there at all: at once, naming the server. */
    nosuch = bt_path("nosuch.sock");
    g_free(j);
    j = g_strdup_printf("{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
                        "\"path\":\"%s\"}}", nosuch);
    t0 = g_get_monotonic_time();
    bt_open_fails(j, "Could not connect to NBD server nbd+unix://?socket=");
    g_assert_cmpfloat(secs_since(t0), <, PROMPT_S);
    test_watchdog_disarm();
}

/* open-timeout=5 keeps trying until a late server is up. */
static void test_open_timeout_retries(void)
{
    Server *srv;
    BlockDriverState *bs;
    g_autofree char *cmd = NULL;
    GError *gerr = NULL;
    int64_t t0 = g_get_monotonic_time();

    if (!have("nbdkit")) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), 30);
    srv = server_new_unix("late.sock");
    unlink(srv->sock);
    /*
     * Spawned by this thread (nbdkit --exit-with-parent follows the
     * spawning thread), listening 0.7 s after the open starts.
     */
    cmd = g_strdup_printf("sleep 0.7; exec nbdkit -f --exit-with-parent "
                          "-U '%s' memory size=1M", srv->sock);
    {
        const char *argv[] = { "sh", "-c", cmd, NULL };

        g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                                    G_SPAWN_SEARCH_PATH |
                                    G_SPAWN_DO_NOT_REAP_CHILD,
                                    die_with_parent, NULL, &srv->pid,
                                    &gerr));
    }
    bs = open_nbd(srv, ",\"open-timeout\":5");
    g_test_message("connected after %.2f s", secs_since(t0));
    g_assert_cmpfloat(secs_since(t0), >, 0.6);
    g_assert_cmpint(bdrv_getlength(bs), ==, 1 << 20);
    bdrv_unref(bs);
    server_free(srv);
    test_watchdog_disarm();
}

/* -drive file=nbd+unix://... and nbd://..., with and without format=. */
static void test_drive_uri(void)
{
    g_autofree char *img = bt_path("d.qcow2"), *out = NULL;
    g_autofree char *spec = NULL, *uri = NULL;
    Server *srv, *tcp;
    BlockBackend *blk;
    Error *err = NULL;
    unsigned char buf[512];
    const char *argv[] = { "qemu-nbd", "-f", "qcow2", "-t", "-e", "4", "-x",
                           "d", "-k", "@SOCK@", img, NULL };
    const char *targv[] = { "qemu-nbd", "-f", "raw", "-t", "-e", "4", "-b",
                            "127.0.0.1", "-p", "@PORT@", img, NULL };

    if (!have("qemu-nbd") || !bt_have_qemu_img()) {
        return;
    }
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 '%s' 1M", img), ==,
                    0);
    srv = server_new_unix("d.sock");
    server_start(srv, argv);

    /* qemu-nbd exports the guest view: raw over nbd. */
    spec = g_strdup_printf("if=none,id=dn0,format=raw,"
                           "file=nbd+unix:///d?socket=%s", srv->sock);
    blk = drive_new(spec, &err);
    if (!blk) {
        g_error("%s", error_get_pretty(err));
    }
    bt_attach_guest(blk);
    uri = g_strdup_printf("nbd+unix:///d?socket=%s", srv->sock);
    g_assert_cmpstr(bdrv_get_format_name(blk_bs(blk)), ==, "raw");
    g_assert_cmpstr(bdrv_get_format_name(bdrv_file_bs(blk_bs(blk))), ==,
                    "nbd");
    g_assert_cmpstr(bdrv_get_filename(blk_bs(blk)), ==, uri);
    g_assert_cmpint(blk_getlength(blk), ==, 1 << 20);
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0, NULL), ==, 0);
    /* qemu-nbd keeps qcow2 metadata cached until a flush. */
    g_assert_cmpint(blk_flush(blk, NULL), ==, 0);
    bt_detach_guest(blk);
    g_assert_true(drive_del("dn0", NULL));

    /* snapshot=on: writes stay in a local overlay, the export is intact. */
    g_free(spec);
    spec = g_strdup_printf("if=none,id=dn4,format=raw,snapshot=on,"
                           "file=nbd+unix:///d?socket=%s", srv->sock);
    blk = drive_new(spec, &err);
    if (!blk) {
        g_error("%s", error_get_pretty(err));
    }
    bt_attach_guest(blk);
    g_assert_cmpstr(bdrv_get_format_name(blk_bs(blk)), ==, "qcow2");
    memset(buf, 0xa5, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(buf), buf, 0, NULL), ==, 0);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, NULL), ==, 0);
    g_assert_cmpint(buf[0], ==, 0xa5);
    bt_detach_guest(blk);
    g_assert_true(drive_del("dn4", NULL));
    {
        BlockDriverState *bs = open_nbd(srv, ",\"export\":\"d\"");

        g_assert_cmpint(bdrv_pread(bs, 0, sizeof(buf), buf, NULL), ==, 0);
        g_assert_cmpint(buf[0], ==, 0x5a);
        bdrv_unref(bs);
    }
    server_kill(srv);

    /* The qcow2 file itself over TCP: probed as qcow2. */
    tcp = server_new_tcp();
    server_start(tcp, targv);
    g_free(spec);
    spec = g_strdup_printf("if=none,id=dn1,file=nbd://127.0.0.1:%d",
                           tcp->port);
    blk = drive_new(spec, &err);
    if (!blk) {
        g_error("%s", error_get_pretty(err));
    }
    g_assert_cmpstr(bdrv_get_format_name(blk_bs(blk)), ==, "qcow2");
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, NULL), ==, 0);
    g_assert_cmpint(buf[0], ==, 0x5a);
    g_assert_cmpint(buf[511], ==, 0x5a);
    g_assert_true(drive_del("dn1", NULL));
    server_free(tcp);

    g_assert_null(drive_new("if=none,id=dn2,file=nbds://h/e", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "TLS"));
    g_clear_pointer(&err, error_free);
    g_assert_null(drive_new("if=none,id=dn3,format=raw,"
                            "file=nbd+unix:///e", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "socket=PATH"));
    g_clear_pointer(&err, error_free);
    bt_qemu_img_check(img);
    server_free(srv);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    /* A killed server must not kill us with SIGPIPE mid-write. */
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/block/nbd/uri", test_uri);
    g_test_add_func("/block/nbd/refused-options", test_refused_options);
    g_test_add_func("/block/nbd/qemu-nbd-unix-raw", test_qemu_nbd_unix_raw);
    g_test_add_func("/block/nbd/qemu-nbd-tcp-qcow2-stacked",
                    test_qemu_nbd_tcp_qcow2_stacked);
    g_test_add_func("/block/nbd/query", test_query);
    g_test_add_func("/block/nbd/read-only-export", test_read_only_export);
    g_test_add_func("/block/nbd/nbdkit-commands", test_nbdkit_commands);
    g_test_add_func("/block/nbd/nbdkit-emulated", test_nbdkit_emulated);
    g_test_add_func("/block/nbd/nbdkit-error", test_nbdkit_error);
    g_test_add_func("/block/nbd/nbdkit-max-block-size",
                    test_nbdkit_max_block_size);
    g_test_add_func("/block/nbd/reconnect", test_reconnect);
    g_test_add_func("/block/nbd/reconnect-none", test_reconnect_none);
    g_test_add_func("/block/nbd/reconnect-expires-and-close",
                    test_reconnect_expires_and_close);
    g_test_add_func("/block/nbd/yank", test_yank);
    g_test_add_func("/block/nbd/handshake-timeout", test_handshake_timeout);
    g_test_add_func("/block/nbd/open-timeout-retries",
                    test_open_timeout_retries);
    g_test_add_func("/block/nbd/drive-uri", test_drive_uri);
    return g_test_run();
}
