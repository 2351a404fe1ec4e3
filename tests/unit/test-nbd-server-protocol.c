/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server (nbd/) at the protocol level, in-process, no /dev/kvm:
 * hostile clients written here break the protocol in one way each; every
 * one must be disconnected (or answered with an error where the protocol
 * says so), with one log line saying why, and the export must still serve
 * nbdinfo afterwards. Also structured replies and block status, the
 * handshake's options, read-only exports and a hard removal with
 * requests in flight. Real peers and QMP: test-nbd-server.c.
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
    *bs = nbdt_raw_node("h0", "h0.raw", HC_SIZE, 4);
    nbdt_server_start(0);
    nbdt_export_add("h0", "h0", writable, NULL);
}

static void hostile_teardown(BlockDriverState *bs)
{
    nbdt_check_healthy("h0", HC_SIZE);
    nbdt_server_stop();
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
        nbdt_spin_ms(1);
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
 * A client that is gone before the server answers: its send fails, the
 * connection is dropped, and the handler that sent must not bring it
 * back to life afterwards (a watch on fd -1 over freed memory, or a
 * client reference that keeps the export from ever being deleted).
 */
static void test_hostile_vanish_unanswered(void)
{
    uint8_t go[4 + 2 + 2] = { 0, 0, 0, 2, 'h', '0', 0, 0 };
    uint8_t flags[4] = { 0, 0, 0, NBD_FLAG_C_FIXED_NEWSTYLE };
    BlockDriverState *bs;
    int fd;

    hostile_setup(&bs, true);
    /* Gone before the greeting: sent to a closed socket. */
    EXPECT_ONE_LOG_LINE("send failed", {
        fd = hc_connect();
        hc_send(fd, flags, sizeof(flags));
        close(fd);
        wait_no_clients();
        nbdt_spin_ms(10);
    });
    g_assert_cmpuint(nbdt_dead_watches(), ==, 0);
    /* Gone after sending GO: its replies cannot be sent. */
    EXPECT_ONE_LOG_LINE("send failed", {
        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        hc_option(fd, NBD_OPT_GO, go, sizeof(go));
        close(fd);
        wait_no_clients();
        nbdt_spin_ms(10);
    });
    g_assert_cmpuint(nbdt_dead_watches(), ==, 0);
    /* Nothing holds the export: it goes in safe mode. */
    g_assert_true(nbd_export_remove(nbd_export_find("h0"),
                                    BLOCK_EXPORT_REMOVE_MODE_SAFE,
                                    &error_abort));
    for (int i = 0; i < 5000 && nbd_export_next(NULL); i++) {
        nbdt_spin_ms(1);
    }
    g_assert_null(nbd_export_next(NULL));
    nbdt_export_add("h0", "h0", true, NULL);
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
    nbdt_spin_ms(200);
    nbdt_check_healthy("h0", HC_SIZE);
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
    BlockDriverState *bs = nbdt_raw_node("h0", "h0.raw", HC_SIZE, 4);
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    gint64 t0;
    int fd;

    addr.u.q_unix.path = nbdt_sock_path;
    g_assert_true(nbd_server_start(&addr, 0, 1, &error_abort));
    nbdt_export_add("h0", "h0", false, NULL);
    EXPECT_ONE_LOG_LINE("handshake not finished after 1 s", {
        t0 = g_get_monotonic_time();
        fd = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
        hc_expect_closed(fd);
        g_assert_cmpint(g_get_monotonic_time() - t0, >=, 900000);
    });
    /* A client that negotiates in time keeps its connection past it. */
    fd = hc_go("h0");
    nbdt_spin_ms(1500);
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
    bs = nbdt_file_node("raw", "h0", path);
    nbdt_server_start(0);
    nbdt_export_add("h0", "h0", true, NULL);
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
        nbdt_spin_ms(1);
    }
    g_assert_null(nbd_export_next(NULL));
    g_assert_cmpuint(nbd_server_client_count(), ==, 0);
    /* The node is free again: a new export of it serves. */
    nbdt_export_add("h0", "h0", false, NULL);
    hostile_teardown(bs);
}

static void test_hostile_too_many(void)
{
    BlockDriverState *bs = nbdt_raw_node("h0", "h0.raw", HC_SIZE, 4);
    int a, b, c;

    nbdt_server_start(2);
    nbdt_export_add("h0", "h0", false, NULL);
    a = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
    b = hc_start(NBD_FLAG_C_FIXED_NEWSTYLE);
    EXPECT_ONE_LOG_LINE("maximum of 2 connections", {
        c = hc_connect();
        hc_expect_closed(c);
    });
    g_assert_cmpuint(nbd_server_client_count(), ==, 2);
    close(b);
    nbdt_spin_ms(50);
    /* A slot is free again: nbdinfo gets in. */
    nbdt_check_healthy("h0", HC_SIZE);
    close(a);
    nbdt_server_stop();
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
    nbdt_check_pattern_node(bs, 4096, 4);
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

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (g_getenv("NBD_TEST_TRACE")) {
        trace_enable_pattern(g_getenv("NBD_TEST_TRACE"));
    }
    nbdt_sock_path = bt_path("nbd.sock");
    g_test_add_func("/nbd/handshake-options", test_handshake_options);
    g_test_add_func("/nbd/read-only-eperm", test_read_only_eperm);
    g_test_add_func("/nbd/hostile/garbage-magic", test_hostile_garbage_magic);
    g_test_add_func("/nbd/hostile/request-in-handshake", test_hostile_request_in_handshake);
    g_test_add_func("/nbd/hostile/huge-write", test_hostile_huge_write);
    g_test_add_func("/nbd/hostile/past-end", test_hostile_past_end);
    g_test_add_func("/nbd/hostile/vanish", test_hostile_vanish);
    g_test_add_func("/nbd/hostile/vanish-unanswered",
                    test_hostile_vanish_unanswered);
    g_test_add_func("/nbd/hostile/too-many", test_hostile_too_many);
    g_test_add_func("/nbd/hostile/slow-reader", test_slow_reader);
    g_test_add_func("/nbd/hostile/idle-handshake", test_hostile_idle_handshake);
    g_test_add_func("/nbd/structured", test_structured);
    g_test_add_func("/nbd/remove-hard-in-flight", test_remove_hard_in_flight);
    return qmp_test_run();
}
