/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the NBD server tests (test-nbd-server.c: real peers and QMP;
 * test-nbd-server-protocol.c: hostile clients and protocol details)
 * share: the main loop spun while subprocess peers run, the server on a
 * unix socket in the scratch directory, exports and nodes, and a raw
 * protocol client (hc_*) written here.
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
#include "nbd-server-test-util.h"
#include "qmp-test-client.h"      /* WAIT_MS */
#include "block-test-util.h"
#include "block/block_int.h"
#include "nbd/nbd-proto.h"
#include "util/main-loop.h"

#define PEER_TIMEOUT_S 120

char *nbdt_sock_path;

/* ---- the main loop and subprocess peers ---- */

void nbdt_spin_ms(int ms)
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
int nbdt_run_peer(char **out, const char *fmt, ...)
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

void nbdt_require_tool(const char *tool)
{
    g_autofree char *path = g_find_program_in_path(tool);

    if (!path) {
        g_error("%s is not installed (scripts/install-deps.sh installs it)",
                tool);
    }
}

/*
 * Fds the main loop polls that are negative: a watch left on a
 * connection the server closed (its fd is -1 then), which nothing else
 * would notice, since poll() skips such an fd.
 */
unsigned nbdt_dead_watches(void)
{
    GMainContext *ctx = main_loop_context();
    GPollFD fds[64];
    gint prio, timeout, n;
    unsigned dead = 0;

    g_assert_true(g_main_context_acquire(ctx));
    g_main_context_prepare(ctx, &prio);
    n = g_main_context_query(ctx, G_MAXINT, &timeout, fds, G_N_ELEMENTS(fds));
    g_assert_cmpint(n, <=, G_N_ELEMENTS(fds));
    g_main_context_check(ctx, G_MAXINT, fds, n);
    g_main_context_release(ctx);
    for (gint i = 0; i < n; i++) {
        dead += fds[i].fd < 0;
    }
    return dead;
}

/* ---- server and exports ---- */

void nbdt_server_start(uint32_t max_connections)
{
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    Error *err = NULL;

    addr.u.q_unix.path = nbdt_sock_path;
    if (!nbd_server_start(&addr, max_connections,
                          NBD_DEFAULT_HANDSHAKE_MAX_SECONDS, &err)) {
        g_error("nbd_server_start: %s", error_get_pretty(err));
    }
}

/* Stops the server and waits until every export is deleted. */
void nbdt_server_stop(void)
{
    if (nbd_server_is_running()) {
        nbd_server_stop();
    }
    for (int i = 0; i < 5000 && nbd_export_next(NULL); i++) {
        nbdt_spin_ms(1);
    }
    g_assert_null(nbd_export_next(NULL));
}

NbdExport *nbdt_export_add(const char *id, const char *node, bool writable,
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

char *nbdt_uri(const char *name)
{
    return g_strdup_printf("'nbd+unix:///%s?socket=%s'", name, nbdt_sock_path);
}

/* A node of format fmt (raw, qcow2) over the file at path. */
BlockDriverState *nbdt_file_node(const char *fmt, const char *node,
                                 const char *path)
{
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"%s\",\"node-name\":\"%s\",\"file\":{\"driver\":"
        "\"file\",\"filename\":\"%s\"}}", fmt, node, path);

    return bt_open(json);
}

/* A raw file node of size bytes with the pattern of seed. */
BlockDriverState *nbdt_raw_node(const char *node, const char *file,
                                uint64_t size, int seed)
{
    g_autofree char *path = bt_path(file);

    bt_make_pattern_file(path, size, seed);
    return nbdt_file_node("raw", node, path);
}

int64_t nbdt_nbdinfo_size(const char *name)
{
    g_autofree char *u = nbdt_uri(name);
    g_autofree char *out = NULL;

    if (nbdt_run_peer(&out, "nbdinfo --size %s", u) != 0) {
        return -1;
    }
    return g_ascii_strtoll(out, NULL, 10);
}

/* The export answers nbdinfo with its size: still healthy. */
void nbdt_check_healthy(const char *name, int64_t size)
{
    g_assert_cmpint(nbdt_nbdinfo_size(name), ==, size);
}

void nbdt_check_pattern_node(BlockDriverState *bs, uint64_t size, int seed)
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

/* ---- a client written here, for protocol-level tests ---- */

int hc_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, nbdt_sock_path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

void hc_send(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(send(fd, buf, len, MSG_NOSIGNAL), ==, (ssize_t)len);
}

/* Reads exactly len bytes while the server runs; false on EOF. */
bool hc_recv(int fd, void *buf, size_t len)
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
void hc_expect_closed(int fd)
{
    char c;

    while (hc_recv(fd, &c, 1)) {
        /* discard */
    }
    close(fd);
}


/* Greeting read, client flags sent. */
int hc_start(uint32_t flags)
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

void hc_option(int fd, uint32_t opt, const void *data, uint32_t len)
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
uint32_t hc_opt_reply(int fd, uint32_t opt)
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
int hc_go_on(int fd, const char *name)
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
int hc_go(const char *name)
{
    return hc_go_on(hc_start(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES),
                    name);
}

void hc_request(int fd, uint16_t type, uint16_t flags,
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
uint32_t hc_simple_reply(int fd, uint64_t cookie)
{
    uint8_t r[NBD_SIMPLE_REPLY_SIZE];

    g_assert_true(hc_recv(fd, r, sizeof(r)));
    g_assert_cmphex(get32(r), ==, NBD_SIMPLE_REPLY_MAGIC);
    g_assert_cmphex(get64(r + 8), ==, cookie);
    return get32(r + 4);
}
