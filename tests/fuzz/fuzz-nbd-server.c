/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the NBD server (nbd/) as a hostile client sees it:
 * one input is the bytes a client sends after the greeting (client flags,
 * options, then transmission requests and WRITE payloads), written to a
 * real connection on the server's unix socket while the main loop serves
 * it. The export is a raw node of 1 MiB over a memfd, so requests run for
 * real through the block layer's workers.
 *
 * What a run checks (issue 15: a client that sends garbage, lies about
 * lengths or disappears mid-request is disconnected with a log line, and
 * the export stays healthy): the server ends the connection once the
 * client has ended its side (no hang: a watchdog and a cap on main-loop
 * iterations abort first), with at most one log line; then a fresh,
 * well-behaved client negotiates, reads (the node's bytes) and writes
 * (read back from the node) without a log line; then no request is left
 * in flight, the export can be removed in safe mode (nothing holds it)
 * and is deleted, and the main loop polls the fds it polled before (no
 * watch left on a closed connection). So ASan, UBSan and LeakSanitizer
 * see every object of the run come and go. GLib criticals and warnings
 * abort too.
 *
 * Input:
 *   byte 0    bit 0 the export is read-only;
 *             bits 1-2 how the client ends: 0 half-closes and reads the
 *             replies to EOF, 1 closes without reading once all is sent
 *             (or the socket is full), 2 sends and closes before the
 *             server has even accepted, 3 reads replies only when its
 *             socket is full, then half-closes;
 *             bits 3-4 the pieces it writes, one main-loop iteration
 *             apart: all at once, 1, 7 or 1000 bytes
 *   the rest  what the client sends, starting with its u32 flags
 *
 * Seeds are written by the binary itself (FUZZ_NBD_SERVER_SEEDS=DIR): a
 * valid handshake and requests of every kind, so mutations start deep.
 * FUZZ_NBD_SERVER_TRACE=PATTERN enables trace points, to see what the
 * server made of a crashing input.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <glib.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include "block/block-backend.h"
#include "block/block_int.h"
#include "nbd/nbd.h"
#include "nbd/nbd-proto.h"
#include "util/main-loop.h"
#include "util/trace.h"

#define DISK_SIZE       (1 << 20)
#define EXPORT          "fz"
#define NODE            "fz-disk"
/* A run the server has not finished by then is a hang (-timeout is 20). */
#define WATCHDOG_MS     15000
#define MAX_ITERS_BASE  100000

enum {
    END_HALF_CLOSE,         /* shutdown(SHUT_WR), read to EOF */
    END_VANISH,             /* close() once sent, never read */
    END_VANISH_EARLY,       /* close() before the server accepts */
    END_SLOW_READER,        /* read only when the socket is full */
};

static const size_t chunk_sizes[] = { 0, 1, 7, 1000 };

static char *sock_dir;
static char *sock_path;
static BlockDriverState *disk;
static int disk_fd = -1;
static int idle_poll_fds;          /* poll_fd_count() between runs */

/* ---- what the server does, seen through two wrapped calls ---- */

static unsigned accepted;           /* connections the server accepted */
static unsigned client_lines;       /* "NBD client ..." log lines */
static char last_line[512];

int __real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
void __real_warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void __wrap_warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int ret = __real_accept4(fd, addr, len, flags);

    if (ret >= 0) {
        accepted++;
    }
    return ret;
}

/*
 * The server's drop lines are counted, not printed: millions of them
 * would bury what matters in the log. Other warnings go through.
 */
void __wrap_warn_report(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (g_str_has_prefix(msg, "NBD client ")) {
        client_lines++;
        g_strlcpy(last_line, msg, sizeof(last_line));
        return;
    }
    __real_warn_report("%s", msg);
}

static G_NORETURN void fuzz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static G_NORETURN void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "fuzz-nbd-server: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (clients %u, last log line: %s)\n",
            nbd_server_client_count(), last_line[0] ? last_line : "none");
    abort();
}

/* ---- a client on the main loop ---- */

typedef struct FuzzClient {
    int fd;
    const uint8_t *out;
    size_t out_len;
    size_t sent;
    size_t chunk;               /* 0: as much as the socket takes */
    int end;                    /* END_* */
    bool ended;                 /* our side shut or closed */
    bool server_closed;         /* EOF, reset or EPIPE seen */
    bool stuck;                 /* the last send would have blocked */
    GByteArray *in;             /* replies, kept when not NULL */
    guint watch;
    GIOCondition watch_cond;
} FuzzClient;

static gboolean fuzz_wake(int fd, GIOCondition cond, void *opaque)
{
    /* Only wakes main_loop_wait(true); the loop in client_run reads. */
    return G_SOURCE_CONTINUE;
}

static gboolean fuzz_watchdog(void *opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* Wakes the main loop on what the client waits for now. */
static void client_watch(FuzzClient *c, GIOCondition cond)
{
    if (c->watch && c->watch_cond == cond) {
        return;
    }
    if (c->watch) {
        g_source_remove(c->watch);
        c->watch = 0;
    }
    if (cond) {
        c->watch = g_unix_fd_add(c->fd, cond, fuzz_wake, NULL);
    }
    c->watch_cond = cond;
}

static void client_end(FuzzClient *c)
{
    client_watch(c, 0);
    if (c->end == END_VANISH || c->end == END_VANISH_EARLY) {
        close(c->fd);
        c->fd = -1;
    } else {
        shutdown(c->fd, SHUT_WR);
    }
    c->ended = true;
}

static bool client_send(FuzzClient *c)
{
    size_t want = c->out_len - c->sent;
    ssize_t n;

    if (c->ended || c->server_closed || !want) {
        return false;
    }
    if (c->chunk) {
        want = MIN(want, c->chunk);
    }
    n = send(c->fd, c->out + c->sent, want, MSG_DONTWAIT | MSG_NOSIGNAL);
    c->stuck = false;
    if (n > 0) {
        c->sent += n;
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c->stuck = true;
    } else if (n < 0 && errno != EINTR) {
        c->server_closed = true;        /* EPIPE, ECONNRESET */
    }
    return false;
}

static bool client_recv(FuzzClient *c)
{
    uint8_t buf[65536];
    bool progress = false;

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0) {
            if (c->in) {
                g_byte_array_append(c->in, buf, n);
            }
            progress = true;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR)) {
            c->server_closed = true;
            return true;
        }
        return progress;
    }
}

static bool client_reads(const FuzzClient *c)
{
    if (c->fd < 0) {
        return false;
    }
    if (c->end == END_SLOW_READER) {
        return c->stuck || c->ended || c->sent == c->out_len;
    }
    return c->end == END_HALF_CLOSE;
}

/* The server is done with the client: accepted, closed, gone. */
static bool client_done(const FuzzClient *c, unsigned accepted_before)
{
    return c->ended && accepted > accepted_before &&
           nbd_server_client_count() == 0 &&
           (c->fd < 0 || c->server_closed);
}

/*
 * Connects, writes c->out in pieces and ends as c->end says, running
 * the main loop until the server has finished with the connection.
 */
static void client_run(FuzzClient *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    unsigned accepted_before = accepted;
    unsigned long iters = 0, max_iters = MAX_ITERS_BASE + 2 * c->out_len;
    bool timed_out = false;
    guint watchdog;

    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_strlcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        fuzz_fail("cannot connect to %s: %s", sock_path, g_strerror(errno));
    }
    if (c->end == END_VANISH_EARLY) {
        /* All that fits, before the server has run at all. */
        while (client_send(c)) {
        }
        client_end(c);
    }
    watchdog = g_timeout_add(WATCHDOG_MS, fuzz_watchdog, &timed_out);
    while (!client_done(c, accepted_before)) {
        bool progress = client_send(c);
        GIOCondition cond = 0;

        if (client_reads(c)) {
            progress |= client_recv(c);
        }
        if (!c->ended && (c->sent == c->out_len || c->server_closed ||
                          (c->stuck && c->end == END_VANISH))) {
            client_end(c);
            progress = true;
        }
        if (client_done(c, accepted_before)) {
            break;
        }
        if (c->fd >= 0 && client_reads(c) && !c->server_closed) {
            cond |= G_IO_IN | G_IO_HUP | G_IO_ERR;
        }
        if (c->fd >= 0 && !c->ended && c->stuck) {
            cond |= G_IO_OUT;
        }
        client_watch(c, cond);
        main_loop_wait(!progress);
        if (timed_out) {
            fuzz_fail("the server still holds the client after %d ms "
                      "(%zu of %zu bytes sent, %s)", WATCHDOG_MS, c->sent,
                      c->out_len, c->ended ? "client side ended" :
                      "client side open");
        }
        if (++iters > max_iters) {
            fuzz_fail("the server still holds the client after %lu "
                      "main-loop iterations", iters);
        }
    }
    g_source_remove(watchdog);
    client_watch(c, 0);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* Runs what is due (a dead connection is freed from a bottom half). */
static void settle(void)
{
    GMainContext *ctx = main_loop_context();

    blk_drain_node(disk);
    for (int i = 0; i < 100 && g_main_context_pending(ctx); i++) {
        main_loop_wait(false);
    }
}

/*
 * The fds the main loop polls now. A run must leave as many as it found:
 * a watch left behind on a connection that is gone (fd -1 after the
 * close) holds a pointer to freed memory that GLib keeps, and no leak
 * check would see it.
 */
static int poll_fd_count(void)
{
    GMainContext *ctx = main_loop_context();
    GPollFD fds[64];
    gint prio, timeout, n;

    g_main_context_acquire(ctx);
    g_main_context_prepare(ctx, &prio);
    n = g_main_context_query(ctx, G_MAXINT, &timeout, fds, G_N_ELEMENTS(fds));
    g_main_context_check(ctx, G_MAXINT, fds, MIN(n, (gint)G_N_ELEMENTS(fds)));
    g_main_context_release(ctx);
    for (gint i = 0; i < MIN(n, (gint)G_N_ELEMENTS(fds)); i++) {
        if (fds[i].fd < 0) {
            fuzz_fail("the main loop watches fd %d", fds[i].fd);
        }
    }
    return n;
}

/* ---- the client's bytes, for the health check and the seeds ---- */

static void put16(GByteArray *b, uint16_t v)
{
    uint8_t p[2] = { v >> 8, v };

    g_byte_array_append(b, p, 2);
}

static void put32(GByteArray *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v);
}

static void put64(GByteArray *b, uint64_t v)
{
    put32(b, v >> 32);
    put32(b, v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put_option(GByteArray *b, uint32_t opt, const void *data,
                       uint32_t len)
{
    put64(b, NBD_OPTS_MAGIC);
    put32(b, opt);
    put32(b, len);
    g_byte_array_append(b, data, len);
}

/* NBD_OPT_GO or INFO for name, asking for the info types listed. */
static void put_go(GByteArray *b, uint32_t opt, const char *name,
                   const uint16_t *infos, uint16_t n_infos)
{
    g_autoptr(GByteArray) d = g_byte_array_new();

    put32(d, strlen(name));
    g_byte_array_append(d, (const uint8_t *)name, strlen(name));
    put16(d, n_infos);
    for (uint16_t i = 0; i < n_infos; i++) {
        put16(d, infos[i]);
    }
    put_option(b, opt, d->data, d->len);
}

/* LIST_META_CONTEXT or SET_META_CONTEXT for name with one query. */
static void put_meta(GByteArray *b, uint32_t opt, const char *name,
                     const char *query)
{
    g_autoptr(GByteArray) d = g_byte_array_new();

    put32(d, strlen(name));
    g_byte_array_append(d, (const uint8_t *)name, strlen(name));
    put32(d, query ? 1 : 0);
    if (query) {
        put32(d, strlen(query));
        g_byte_array_append(d, (const uint8_t *)query, strlen(query));
    }
    put_option(b, opt, d->data, d->len);
}

static void put_request(GByteArray *b, uint16_t type, uint16_t flags,
                        uint64_t cookie, uint64_t offset, uint32_t len)
{
    put32(b, NBD_REQUEST_MAGIC);
    put16(b, flags);
    put16(b, type);
    put64(b, cookie);
    put64(b, offset);
    put32(b, len);
}

static void put_pattern(GByteArray *b, uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++) {
        uint8_t v = seed + i * 7;

        g_byte_array_append(b, &v, 1);
    }
}

/* ---- the health check: a well-behaved client after the hostile one ---- */

#define HEALTH_READ_LEN     4096
#define HEALTH_WRITE_OFF    (DISK_SIZE - 512)

/* The replies to one GO: INFO (export size and flags) ... ACK. */
static size_t check_go_replies(const GByteArray *in, size_t pos,
                               bool writable)
{
    bool saw_export = false;

    for (;;) {
        const uint8_t *h = in->data + pos;
        uint32_t type, len;

        if (in->len - pos < NBD_REP_HEADER_SIZE) {
            fuzz_fail("health: the GO replies end early");
        }
        if (get64(h) != NBD_REP_MAGIC || get32(h + 8) != NBD_OPT_GO) {
            fuzz_fail("health: bad option reply header");
        }
        type = get32(h + 12);
        len = get32(h + 16);
        if (in->len - pos - NBD_REP_HEADER_SIZE < len) {
            fuzz_fail("health: an option reply is cut short");
        }
        pos += NBD_REP_HEADER_SIZE;
        if (type == NBD_REP_ACK) {
            break;
        }
        if (type != NBD_REP_INFO || len < 2) {
            fuzz_fail("health: GO answered with reply type 0x%x", type);
        }
        if (get16(in->data + pos) == NBD_INFO_EXPORT) {
            const uint8_t *d = in->data + pos + 2;

            if (len != 12 || get64(d) != DISK_SIZE ||
                !(get16(d + 8) & NBD_FLAG_READ_ONLY) != writable) {
                fuzz_fail("health: wrong NBD_INFO_EXPORT");
            }
            saw_export = true;
        }
        pos += len;
    }
    if (!saw_export) {
        fuzz_fail("health: GO without NBD_INFO_EXPORT");
    }
    return pos;
}

/*
 * A new client negotiates with GO, reads the first 4 KiB (which must be
 * the node's) and, when the export is writable, writes the last 512
 * bytes (which must reach the node), then disconnects: no log line.
 */
static void check_healthy(bool writable)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GByteArray) want_write = g_byte_array_new();
    g_autofree uint8_t *want = g_malloc(HEALTH_READ_LEN);
    g_autofree uint8_t *got = g_malloc(512);
    FuzzClient c = { .end = END_HALF_CLOSE, .in = g_byte_array_new() };
    unsigned lines = client_lines;
    unsigned replies = writable ? 2 : 1, seen = 0;
    static uint8_t seed;
    size_t pos;

    if (bdrv_pread(disk, 0, HEALTH_READ_LEN, want, NULL) < 0) {
        fuzz_fail("health: the node cannot be read");
    }
    put_pattern(want_write, 512, ++seed);
    put32(out, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    put_go(out, NBD_OPT_GO, EXPORT, NULL, 0);
    put_request(out, NBD_CMD_READ, 0, 1, 0, HEALTH_READ_LEN);
    if (writable) {
        put_request(out, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 2,
                    HEALTH_WRITE_OFF, 512);
        g_byte_array_append(out, want_write->data, 512);
    }
    put_request(out, NBD_CMD_DISC, 0, 3, 0, 0);
    c.out = out->data;
    c.out_len = out->len;
    client_run(&c);

    if (c.in->len < NBD_HANDSHAKE_SIZE ||
        get64(c.in->data) != NBD_INIT_MAGIC) {
        fuzz_fail("health: no greeting from a fresh client's connection");
    }
    pos = check_go_replies(c.in, NBD_HANDSHAKE_SIZE, writable);
    /* Simple replies, in completion order. */
    while (seen < replies) {
        const uint8_t *r = c.in->data + pos;
        uint64_t cookie;

        if (c.in->len - pos < NBD_SIMPLE_REPLY_SIZE ||
            get32(r) != NBD_SIMPLE_REPLY_MAGIC) {
            fuzz_fail("health: reply %u of %u missing or malformed",
                      seen + 1, replies);
        }
        cookie = get64(r + 8);
        if (get32(r + 4) != NBD_SUCCESS) {
            fuzz_fail("health: request %" G_GUINT64_FORMAT " failed with "
                      "NBD error %u", cookie, get32(r + 4));
        }
        pos += NBD_SIMPLE_REPLY_SIZE;
        if (cookie == 1) {
            if (c.in->len - pos < HEALTH_READ_LEN ||
                memcmp(c.in->data + pos, want, HEALTH_READ_LEN)) {
                fuzz_fail("health: READ did not return the node's bytes");
            }
            pos += HEALTH_READ_LEN;
        } else if (cookie != 2 || !writable) {
            fuzz_fail("health: a reply with cookie %" G_GUINT64_FORMAT,
                      cookie);
        }
        seen++;
    }
    if (pos != c.in->len) {
        fuzz_fail("health: %zu bytes after the last reply",
                  (size_t)(c.in->len - pos));
    }
    if (client_lines != lines) {
        fuzz_fail("health: a well-behaved client was logged");
    }
    g_byte_array_unref(c.in);
    if (writable) {
        if (bdrv_pread(disk, HEALTH_WRITE_OFF, 512, got, NULL) < 0 ||
            memcmp(got, want_write->data, 512)) {
            fuzz_fail("health: the WRITE did not reach the node");
        }
    }
}

/* ---- the export, made afresh for each input ---- */

static void export_add(bool writable)
{
    BlockExportOptions opts = {
        .type = BLOCK_EXPORT_TYPE_NBD,
        .id = (char *)EXPORT,
        .node_name = (char *)NODE,
        .has_writable = true,
        .writable = writable,
        .u.nbd = { .name = (char *)EXPORT, .description = (char *)"fuzz" },
    };

    nbd_export_create(&opts, &error_abort);
}

/* Safe removal: refused while anything still counts as a client. */
static void export_remove(void)
{
    NbdExport *exp = nbd_export_find_id(EXPORT);
    Error *err = NULL;

    if (!nbd_export_remove(exp, BLOCK_EXPORT_REMOVE_MODE_SAFE, &err)) {
        fuzz_fail("the export cannot be removed after the clients left: %s",
                  error_get_pretty(err));
    }
    for (int i = 0; i < 1000 && nbd_export_find_id(EXPORT); i++) {
        main_loop_wait(false);
    }
    if (nbd_export_find_id(EXPORT)) {
        fuzz_fail("the export was not deleted after its removal");
    }
}

static void fuzz_one(const uint8_t *data, size_t size)
{
    bool writable = !(data[0] & 1);
    FuzzClient c = {
        .out = data + 1,
        .out_len = size - 1,
        .end = (data[0] >> 1) & 3,
        .chunk = chunk_sizes[(data[0] >> 3) & 3],
    };
    unsigned lines = client_lines;

    last_line[0] = 0;
    export_add(writable);
    client_run(&c);
    if (client_lines - lines > 1) {
        fuzz_fail("%u log lines for one client", client_lines - lines);
    }
    settle();
    check_healthy(writable);
    settle();
    if (g_atomic_int_get(&disk->in_flight)) {
        fuzz_fail("%d requests still in flight on the node",
                  g_atomic_int_get(&disk->in_flight));
    }
    export_remove();
    settle();
    if (poll_fd_count() != idle_poll_fds) {
        fuzz_fail("the main loop polls %d fds after a run, %d before",
                  poll_fd_count(), idle_poll_fds);
    }
}

/* ---- seeds ---- */

static void write_seed(const char *dir, const char *name, uint8_t mode,
                       const GByteArray *b)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GByteArray) in = g_byte_array_new();

    g_byte_array_append(in, &mode, 1);
    g_byte_array_append(in, b->data, b->len);
    if (!g_file_set_contents(path, (const char *)in->data, in->len, NULL)) {
        fprintf(stderr, "fuzz-nbd-server: cannot write %s\n", path);
        exit(1);
    }
}

/* Flags, STRUCTURED_REPLY, SET_META_CONTEXT base:allocation, GO. */
static void put_structured_go(GByteArray *b)
{
    static const uint16_t infos[] = { NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
                                      NBD_INFO_BLOCK_SIZE };

    put32(b, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    put_option(b, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    put_meta(b, NBD_OPT_SET_META_CONTEXT, EXPORT, NBD_META_BASE_ALLOCATION);
    put_go(b, NBD_OPT_GO, EXPORT, infos, G_N_ELEMENTS(infos));
}

/* One of every command, valid, on a writable export. */
static void put_every_command(GByteArray *b)
{
    put_request(b, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 1, 4096, 1024);
    put_pattern(b, 1024, 1);
    put_request(b, NBD_CMD_READ, NBD_CMD_FLAG_DF, 2, 0, 8192);
    put_request(b, NBD_CMD_BLOCK_STATUS, 0, 3, 0, DISK_SIZE);
    put_request(b, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 4, 0, 65536);
    put_request(b, NBD_CMD_TRIM, NBD_CMD_FLAG_FUA, 5, 65536, 65536);
    put_request(b, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE, 6, 0, 4096);
    put_request(b, NBD_CMD_WRITE_ZEROES, 0, 7, 131072, 65536);
    put_request(b, NBD_CMD_FLUSH, 0, 8, 0, 0);
    put_request(b, NBD_CMD_CACHE, 0, 9, 0, 4096);
    put_request(b, NBD_CMD_READ, 0, 10, DISK_SIZE - 512, 4096);
}

static void write_seeds(const char *dir)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    /* Structured replies and every command, ending with DISC. */
    put_structured_go(b);
    put_every_command(b);
    put_request(b, NBD_CMD_DISC, 0, 11, 0, 0);
    write_seed(dir, "seed-structured", 0, b);
    /* The same in 7-byte pieces, read only when the socket is full. */
    write_seed(dir, "seed-structured-pieces", 2 << 3 | 3 << 1, b);
    /* The same, vanishing without reading a reply. */
    write_seed(dir, "seed-structured-vanish", 1 << 1, b);

    /* Simple replies on a read-only export: writes refused. */
    g_byte_array_set_size(b, 0);
    put32(b, NBD_FLAG_C_FIXED_NEWSTYLE);
    put_go(b, NBD_OPT_GO, EXPORT, NULL, 0);
    put_request(b, NBD_CMD_READ, 0, 1, 512, 512);
    put_request(b, NBD_CMD_WRITE, 0, 2, 0, 512);
    put_pattern(b, 512, 2);
    put_request(b, NBD_CMD_TRIM, 0, 3, 0, 512);
    put_request(b, NBD_CMD_FLUSH, 0, 4, 0, 0);
    put_request(b, NBD_CMD_DISC, 0, 5, 0, 0);
    write_seed(dir, "seed-read-only", 1, b);

    /* Every option before GO, and one that is not supported. */
    g_byte_array_set_size(b, 0);
    put32(b, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    put_option(b, NBD_OPT_LIST, NULL, 0);
    put_go(b, NBD_OPT_INFO, EXPORT, (const uint16_t[]){ NBD_INFO_NAME }, 1);
    put_option(b, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    put_meta(b, NBD_OPT_LIST_META_CONTEXT, EXPORT, "base:");
    put_meta(b, NBD_OPT_SET_META_CONTEXT, EXPORT, NULL);
    put_option(b, NBD_OPT_STARTTLS, NULL, 0);
    put_option(b, 0x1234, "junk", 4);
    put_go(b, NBD_OPT_GO, EXPORT, NULL, 0);
    put_request(b, NBD_CMD_READ, 0, 1, 0, 512);
    write_seed(dir, "seed-options", 0, b);

    /* EXPORT_NAME, then a WRITE whose payload never all comes. */
    g_byte_array_set_size(b, 0);
    put32(b, NBD_FLAG_C_FIXED_NEWSTYLE);
    put_option(b, NBD_OPT_EXPORT_NAME, EXPORT, strlen(EXPORT));
    put_request(b, NBD_CMD_READ, 0, 1, 0, 4096);
    put_request(b, NBD_CMD_WRITE, 0, 2, 0, 4096);
    put_pattern(b, 1000, 3);
    write_seed(dir, "seed-short-write", 0, b);
    write_seed(dir, "seed-short-write-bytes", 1 << 3, b);

    /* ABORT in the handshake, with more options after it. */
    g_byte_array_set_size(b, 0);
    put32(b, NBD_FLAG_C_FIXED_NEWSTYLE);
    put_option(b, NBD_OPT_LIST, NULL, 0);
    put_option(b, NBD_OPT_ABORT, NULL, 0);
    put_option(b, NBD_OPT_LIST, NULL, 0);
    write_seed(dir, "seed-abort", 0, b);

    /* A flood of reads, then gone before the server looked. */
    g_byte_array_set_size(b, 0);
    put32(b, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    put_go(b, NBD_OPT_GO, EXPORT, NULL, 0);
    for (int i = 0; i < 40; i++) {
        put_request(b, NBD_CMD_READ, 0, i, i * 4096, 65536);
    }
    write_seed(dir, "seed-read-flood-vanish", 2 << 1, b);
    write_seed(dir, "seed-read-flood", 3 << 3, b);
}

/* ---- setup ---- */

static void cleanup(void)
{
    if (sock_path) {
        g_unlink(sock_path);
    }
    if (sock_dir) {
        g_rmdir(sock_dir);
    }
}

static void open_disk(void)
{
    g_autofree char *path = NULL;
    BlockdevOptions file = { .driver = BLOCKDEV_DRIVER_FILE };
    BlockdevRef file_ref = { .type = QTYPE_QDICT, .u.definition = &file };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_RAW,
        .node_name = (char *)NODE,
        .u.raw.file = &file_ref,
    };

    disk_fd = memfd_create("fuzz-nbd-disk", MFD_CLOEXEC);
    if (disk_fd < 0 || ftruncate(disk_fd, DISK_SIZE) < 0) {
        fprintf(stderr, "fuzz-nbd-server: memfd: %s\n", g_strerror(errno));
        exit(1);
    }
    path = g_strdup_printf("/proc/self/fd/%d", disk_fd);
    file.u.file.filename = path;
    disk = bdrv_open_blockdev(&opts, &error_abort);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_NBD_SERVER_SEEDS");
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    GError *gerr = NULL;

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    /* A GLib critical or warning (a bad source id...) is a bug too. */
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    if (getenv("FUZZ_NBD_SERVER_TRACE")) {
        trace_enable_pattern(getenv("FUZZ_NBD_SERVER_TRACE"));
    }
    /*
     * The block workers are a shared GThreadPool, whose idle threads
     * exit and come back with the load; GLib 2.74 can lose a thread's
     * slice magazines (2 KiB) as one exits, which LeakSanitizer reports
     * against whatever input ran then. Keep them all, for good.
     */
    g_thread_pool_set_max_unused_threads(-1);
    g_thread_pool_set_max_idle_time(0);
    main_loop_init();
    bql_lock();
    sock_dir = g_dir_make_tmp("fuzz-nbd-XXXXXX", &gerr);
    if (!sock_dir) {
        fprintf(stderr, "fuzz-nbd-server: %s\n", gerr->message);
        exit(1);
    }
    sock_path = g_build_filename(sock_dir, "nbd.sock", NULL);
    atexit(cleanup);
    open_disk();
    addr.u.q_unix.path = sock_path;
    nbd_server_start(&addr, 0, NBD_DEFAULT_HANDSHAKE_MAX_SECONDS,
                     &error_abort);
    idle_poll_fds = poll_fd_count();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    fuzz_one(data, size);
    return 0;
}
