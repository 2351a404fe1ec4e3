/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the COLO control messages (migration/colo-message.c): the
 * table against the QAPI order and directions, the exact wire bytes, a
 * round trip of every message (also one byte per channel read), and a
 * hostile or broken peer: an unexpected message, an unknown id, truncation
 * in the id and in the value, each leaving the stream's error sticky; and
 * a reader blocked on a socket released by qemu_file_shutdown(), the way a
 * caller bounds a wait.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "migration/colo-message.h"

static const struct {
    const char *name;
    bool has_value;
    ColoDirection dir;
} qapi_order[] = {
    { "checkpoint-ready", false, COLO_DIR_SVM_TO_PVM },
    { "checkpoint-request", false, COLO_DIR_PVM_TO_SVM },
    { "checkpoint-reply", false, COLO_DIR_SVM_TO_PVM },
    { "vmstate-send", false, COLO_DIR_PVM_TO_SVM },
    { "vmstate-size", true, COLO_DIR_PVM_TO_SVM },
    { "vmstate-received", false, COLO_DIR_SVM_TO_PVM },
    { "vmstate-loaded", false, COLO_DIR_SVM_TO_PVM },
};

static void test_table(void)
{
    g_assert_cmpuint(G_N_ELEMENTS(qapi_order), ==, COLO_MESSAGE__MAX);
    for (unsigned i = 0; i < COLO_MESSAGE__MAX; i++) {
        const ColoMessageInfo *info = colo_message_info(i);

        g_assert_cmpstr(info->name, ==, qapi_order[i].name);
        g_assert_cmpstr(colo_message_name(i), ==, qapi_order[i].name);
        g_assert_cmpint(info->has_value, ==, qapi_order[i].has_value);
        g_assert_cmpint(info->dir, ==, qapi_order[i].dir);
    }
    g_assert_cmpstr(colo_message_name(COLO_MESSAGE__MAX), ==, "unknown");
}

static void send_any(QEMUFile *f, ColoMessage m, uint64_t v)
{
    if (colo_message_info(m)->has_value) {
        colo_send_message_value(f, m, v, NULL);
    } else {
        colo_send_message(f, m, NULL);
    }
}

static void test_wire_bytes(void)
{
    g_autoptr(QEMUFile) out = qemu_file_new_mem_output();
    static const uint8_t expect[] = {
        0, 0, 0, 1,                                 /* checkpoint-request */
        0, 0, 0, 4, 0x01, 0x23, 0x45, 0x67,         /* vmstate-size */
        0x89, 0xab, 0xcd, 0xef,
        0, 0, 0, 6,                                 /* vmstate-loaded */
    };
    const uint8_t *data;
    size_t len;

    colo_send_message(out, COLO_MESSAGE_CHECKPOINT_REQUEST, NULL);
    colo_send_message_value(out, COLO_MESSAGE_VMSTATE_SIZE,
                            0x0123456789abcdefull, NULL);
    colo_send_message(out, COLO_MESSAGE_VMSTATE_LOADED, NULL);
    data = qemu_file_mem_output_data(out, &len);
    g_assert_cmpmem(data, len, expect, sizeof(expect));
}

static void roundtrip(size_t max_read)
{
    g_autoptr(QEMUFile) out = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) in = NULL;
    const uint8_t *data;
    size_t len;

    for (unsigned i = 0; i < COLO_MESSAGE__MAX; i++) {
        send_any(out, i, 1000 + i);
    }
    send_any(out, COLO_MESSAGE_VMSTATE_SIZE, 0);
    send_any(out, COLO_MESSAGE_VMSTATE_SIZE, UINT64_MAX);
    g_assert_cmpint(qemu_file_get_error(out, NULL), ==, 0);
    data = qemu_file_mem_output_data(out, &len);
    g_assert_cmpuint(len, ==, COLO_MESSAGE__MAX * 4 + 3 * 8 + 2 * 4);
    in = qemu_file_new_mem_input(data, len, max_read);
    for (unsigned i = 0; i < COLO_MESSAGE__MAX; i++) {
        uint64_t v = 42;

        g_assert_true(colo_receive_message(in, i, &v, &error_abort));
        g_assert_cmpuint(v, ==, qapi_order[i].has_value ? 1000 + i : 42);
    }
    {
        uint64_t v = 1;

        g_assert_true(colo_receive_message(in, COLO_MESSAGE_VMSTATE_SIZE,
                                           &v, &error_abort));
        g_assert_cmpuint(v, ==, 0);
        g_assert_true(colo_receive_message(in, COLO_MESSAGE_VMSTATE_SIZE,
                                           &v, &error_abort));
        g_assert_cmpuint(v, ==, UINT64_MAX);
    }
    g_assert_true(qemu_file_at_eof(in));
}

static void test_roundtrip(void)
{
    roundtrip(0);
    roundtrip(1);
}

/* Receives expect from bytes and checks the error text; then checks the
 * stream is dead (a valid message afterwards is refused too). */
static void expect_failure(const uint8_t *bytes, size_t len,
                           ColoMessage expect, const char *msg)
{
    g_autoptr(QEMUFile) in = qemu_file_new_mem_input(bytes, len, 0);
    Error *err = NULL;
    uint64_t v = 7;

    g_assert_false(colo_receive_message(in, expect, &v, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    g_assert_cmpuint(v, ==, 7);
    g_assert_cmpint(qemu_file_get_error(in, NULL), <, 0);
    err = NULL;
    g_assert_false(colo_receive_message(in, COLO_MESSAGE_CHECKPOINT_READY,
                                        NULL, &err));
    g_assert_nonnull(err);
    error_free(err);
}

static void test_unexpected(void)
{
    static const uint8_t req[] = { 0, 0, 0, 1, 0, 0, 0, 0 };

    expect_failure(req, sizeof(req), COLO_MESSAGE_VMSTATE_RECEIVED,
                   "COLO: expected vmstate-received, got checkpoint-request");
}

static void test_unknown(void)
{
    static const uint8_t bad[] = { 0, 0, 0x12, 0x34, 0, 0, 0, 0 };
    static const uint8_t seven[] = { 0, 0, 0, 7, 0, 0, 0, 0 };
    static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };

    expect_failure(bad, sizeof(bad), COLO_MESSAGE_CHECKPOINT_READY,
                   "COLO: unknown message 0x1234");
    expect_failure(seven, sizeof(seven), COLO_MESSAGE_CHECKPOINT_READY,
                   "COLO: unknown message 0x7");
    expect_failure(huge, sizeof(huge), COLO_MESSAGE_CHECKPOINT_READY,
                   "COLO: unknown message 0xffffffff");
}

static void test_truncated(void)
{
    static const uint8_t size[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0x10 };

    expect_failure(size, 0, COLO_MESSAGE_CHECKPOINT_REPLY,
                   "COLO: receiving checkpoint-reply: "
                   "unexpected end of stream");
    expect_failure(size, 2, COLO_MESSAGE_VMSTATE_SIZE,
                   "COLO: receiving vmstate-size: unexpected end of stream");
    /* every cut inside the value */
    for (size_t cut = 4; cut < sizeof(size); cut++) {
        expect_failure(size, cut, COLO_MESSAGE_VMSTATE_SIZE,
                       "COLO: receiving vmstate-size: "
                       "unexpected end of stream");
    }
}

/* Sending on a failed stream is a no-op; the error stays. */
static void test_send_after_error(void)
{
    g_autoptr(QEMUFile) out = qemu_file_new_mem_output();
    size_t len;

    qemu_file_set_error(out, -EPIPE, "peer gone");
    colo_send_message(out, COLO_MESSAGE_CHECKPOINT_REQUEST, NULL);
    colo_send_message_value(out, COLO_MESSAGE_VMSTATE_SIZE, 5, NULL);
    qemu_file_mem_output_data(out, &len);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpint(qemu_file_get_error(out, NULL), ==, -EPIPE);
}

static gpointer shutdown_later(gpointer f)
{
    g_usleep(50 * 1000);
    qemu_file_shutdown(f);
    return NULL;
}

/* The documented way to bound a wait: shutdown from elsewhere. */
static void test_shutdown_unblocks(void)
{
    int fds[2];
    QEMUFile *in;
    GThread *t;
    Error *err = NULL;
    gint64 start = g_get_monotonic_time();

    /* COLO runs over sockets; a pipe cannot be shut down. */
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
    in = qemu_file_new_fd_input(fds[0], true);
    t = g_thread_new("shutdown", shutdown_later, in);
    g_assert_false(colo_receive_message(in, COLO_MESSAGE_VMSTATE_LOADED,
                                        NULL, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "COLO: receiving vmstate-loaded: "));
    error_free(err);
    g_thread_join(t);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
    qemu_fclose(in);
    close(fds[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo-message/table", test_table);
    g_test_add_func("/colo-message/wire-bytes", test_wire_bytes);
    g_test_add_func("/colo-message/roundtrip", test_roundtrip);
    g_test_add_func("/colo-message/unexpected", test_unexpected);
    g_test_add_func("/colo-message/unknown", test_unknown);
    g_test_add_func("/colo-message/truncated", test_truncated);
    g_test_add_func("/colo-message/send-after-error", test_send_after_error);
    g_test_add_func("/colo-message/shutdown-unblocks",
                    test_shutdown_unblocks);
    return g_test_run();
}
