/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the migration stream (migration/qemu-file.c and its
 * channels): round trips of every width, buffers that cross the internal
 * buffer and short channel reads, end of stream in the middle of a value,
 * error stickiness, framing, rate-limit accounting, the fd channel over a
 * pipe, and shutdown waking a reader blocked in another thread.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "migration/qemu-file.h"

/* Writes a mix of values, reads them back through a channel that returns
 * at most max_read bytes per read. */
static void roundtrip(size_t max_read)
{
    QEMUFile *out = qemu_file_new_mem_output();
    QEMUFile *in;
    g_autofree uint8_t *big = g_malloc(100000);
    g_autofree uint8_t *back = g_malloc(100000);
    const uint8_t *data;
    char str[256];
    size_t len;

    for (size_t i = 0; i < 100000; i++) {
        big[i] = i * 7 + 3;
    }
    qemu_put_byte(out, 0xa5);
    qemu_put_be16(out, 0xbeef);
    qemu_put_be32(out, 0xdeadbeef);
    qemu_put_be64(out, 0x0123456789abcdefull);
    qemu_put_buffer(out, big, 100000);          /* three internal buffers */
    qemu_put_counted_string(out, "serial0");
    qemu_put_buffer_nocopy(out, big, 5000);
    qemu_put_be32(out, 7);
    data = qemu_file_mem_output_data(out, &len);
    g_assert_cmpuint(len, ==, 1 + 2 + 4 + 8 + 100000 + 8 + 5000 + 4);
    g_assert_cmpuint(qemu_file_transferred(out), ==, len);

    in = qemu_file_new_mem_input(data, len, max_read);
    g_assert_cmpuint(qemu_get_byte(in), ==, 0xa5);
    g_assert_cmpuint(qemu_get_be16(in), ==, 0xbeef);
    g_assert_cmpuint(qemu_get_be32(in), ==, 0xdeadbeef);
    g_assert_cmpuint(qemu_get_be64(in), ==, 0x0123456789abcdefull);
    g_assert_true(qemu_get_buffer(in, back, 100000));
    g_assert_cmpmem(back, 100000, big, 100000);
    g_assert_cmpuint(qemu_get_counted_string(in, str), ==, 7);
    g_assert_cmpstr(str, ==, "serial0");
    g_assert_true(qemu_get_buffer(in, back, 5000));
    g_assert_cmpmem(back, 5000, big, 5000);
    g_assert_cmpuint(qemu_get_be32(in), ==, 7);
    g_assert_cmpint(qemu_file_get_error(in, NULL), ==, 0);
    g_assert_true(qemu_file_at_eof(in));
    g_assert_cmpuint(qemu_file_transferred(in), ==, len);
    g_assert_cmpint(qemu_fclose(in), ==, 0);
    g_assert_cmpint(qemu_fclose(out), ==, 0);
}

static void test_roundtrip(void)
{
    roundtrip(0);
}

static void test_roundtrip_short_reads(void)
{
    roundtrip(1);
    roundtrip(7);
}

/* Many nocopy pieces: more than the iovec array holds. */
static void test_nocopy_many(void)
{
    QEMUFile *out = qemu_file_new_mem_output();
    uint8_t pages[200][16];
    const uint8_t *data;
    size_t len;

    for (int i = 0; i < 200; i++) {
        memset(pages[i], i, sizeof(pages[i]));
        qemu_put_be16(out, i);
        qemu_put_buffer_nocopy(out, pages[i], sizeof(pages[i]));
    }
    data = qemu_file_mem_output_data(out, &len);
    g_assert_cmpuint(len, ==, 200 * 18);
    for (int i = 0; i < 200; i++) {
        g_assert_cmpuint(data[i * 18] << 8 | data[i * 18 + 1], ==, i);
        g_assert_cmpuint(data[i * 18 + 2], ==, i);
        g_assert_cmpuint(data[i * 18 + 17], ==, i);
    }
    qemu_fclose(out);
}

/* End of stream inside each width: sticky error, zeros, message. */
static void test_eof_mid_value(void)
{
    static const uint8_t bytes[] = { 1, 2, 3, 4, 5, 6, 7 };

    for (int width = 2; width <= 8; width *= 2) {
        QEMUFile *in = qemu_file_new_mem_input(bytes, width - 1, 0);
        Error *err = NULL;
        uint64_t v;

        v = width == 2 ? qemu_get_be16(in) :
            width == 4 ? qemu_get_be32(in) : qemu_get_be64(in);
        g_assert_cmpuint(v, ==, 0);
        g_assert_cmpint(qemu_file_get_error(in, &err), ==, -ENODATA);
        g_assert_cmpstr(error_get_pretty(err), ==, "unexpected end of stream");
        error_free(err);
        g_assert_cmpint(qemu_fclose(in), ==, -ENODATA);
    }
}

static void test_get_buffer_eof(void)
{
    static const uint8_t bytes[10] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };
    QEMUFile *in = qemu_file_new_mem_input(bytes, sizeof(bytes), 3);
    uint8_t buf[20];

    memset(buf, 0xff, sizeof(buf));
    g_assert_false(qemu_get_buffer(in, buf, sizeof(buf)));
    /* Never garbage: what was not read is zeroed. */
    for (size_t i = 10; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, 0);
    }
    g_assert_cmpint(qemu_file_get_error(in, NULL), ==, -ENODATA);
    qemu_fclose(in);
}

static void test_error_sticky(void)
{
    static const uint8_t bytes[] = { 0x11, 0x22, 0x33, 0x44 };
    QEMUFile *in = qemu_file_new_mem_input(bytes, sizeof(bytes), 0);
    QEMUFile *out = qemu_file_new_mem_output();
    Error *err = NULL;
    const uint8_t *data;
    uint8_t buf[2] = { 7, 7 };
    size_t len;

    qemu_file_set_error(in, -EPROTO, "first %d", 1);
    qemu_file_set_error(in, -EINVAL, "second");
    g_assert_cmpuint(qemu_get_byte(in), ==, 0);
    g_assert_cmpuint(qemu_get_be32(in), ==, 0);
    g_assert_false(qemu_get_buffer(in, buf, 2));
    g_assert_cmpuint(buf[0], ==, 0);
    g_assert_cmpint(qemu_file_get_error(in, &err), ==, -EPROTO);
    g_assert_cmpstr(error_get_pretty(err), ==, "first 1");
    error_free(err);
    qemu_fclose(in);

    qemu_put_byte(out, 1);
    qemu_put_counted_string(out, "x");
    qemu_file_set_error(out, -EIO, "broken");
    qemu_put_be64(out, 5);
    qemu_put_buffer(out, "abc", 3);
    data = qemu_file_mem_output_data(out, &len);
    /* What was buffered before the error is dropped with it. */
    g_assert_cmpuint(len, ==, 0);
    (void)data;
    g_assert_cmpint(qemu_fclose(out), ==, -EIO);
}

static void test_counted_string_errors(void)
{
    g_autofree char *longstr = g_strnfill(300, 'a');
    static const uint8_t nul[] = { 3, 'a', 0, 'b' };
    QEMUFile *out = qemu_file_new_mem_output();
    QEMUFile *in = qemu_file_new_mem_input(nul, sizeof(nul), 0);
    char buf[256];

    qemu_put_counted_string(out, longstr);
    g_assert_cmpint(qemu_file_get_error(out, NULL), ==, -EINVAL);
    qemu_fclose(out);
    g_assert_cmpuint(qemu_get_counted_string(in, buf), ==, 0);
    g_assert_cmpstr(buf, ==, "");
    g_assert_cmpint(qemu_file_get_error(in, NULL), ==, -EINVAL);
    qemu_fclose(in);
}

/* Frames: chunks on the wire, the reader bounded by the frame. */
static void test_framing(void)
{
    QEMUFile *out = qemu_file_new_mem_output();
    g_autofree uint8_t *big = g_malloc0(70000);
    const uint8_t *data;
    size_t len;
    QEMUFile *in;

    qemu_put_byte(out, 0x42);
    qemu_file_frame_begin(out);
    qemu_put_be32(out, 1);
    qemu_put_buffer(out, big, 70000);
    qemu_put_buffer_nocopy(out, big, 100);
    g_assert_cmpuint(qemu_file_frame_end(out), ==, 0);
    qemu_put_byte(out, 0x43);
    qemu_file_frame_begin(out);             /* an empty frame */
    qemu_file_frame_end(out);
    qemu_file_frame_begin(out);
    qemu_put_be32(out, 2);
    qemu_put_be32(out, 3);
    qemu_file_frame_end(out);
    qemu_put_byte(out, 0x44);
    data = qemu_file_mem_output_data(out, &len);

    for (size_t max_read = 0; max_read < 3; max_read++) {
        in = qemu_file_new_mem_input(data, len, max_read * 5);
        g_assert_cmpuint(qemu_get_byte(in), ==, 0x42);
        qemu_file_frame_begin(in);
        g_assert_cmpuint(qemu_get_be32(in), ==, 1);
        g_assert_true(qemu_file_skip(in, 70000 + 100));
        g_assert_cmpuint(qemu_file_frame_end(in), ==, 0);
        g_assert_cmpuint(qemu_get_byte(in), ==, 0x43);
        qemu_file_frame_begin(in);
        g_assert_cmpuint(qemu_file_frame_end(in), ==, 0);
        qemu_file_frame_begin(in);
        g_assert_cmpuint(qemu_get_be32(in), ==, 2);
        /* Leaves 4 bytes: skipped and reported. */
        g_assert_cmpuint(qemu_file_frame_end(in), ==, 4);
        g_assert_cmpuint(qemu_get_byte(in), ==, 0x44);
        g_assert_cmpint(qemu_file_get_error(in, NULL), ==, 0);
        g_assert_true(qemu_file_at_eof(in));
        qemu_fclose(in);
    }

    /* Reading past the end of a frame is an error, not the next record. */
    in = qemu_file_new_mem_input(data, len, 0);
    qemu_get_byte(in);
    qemu_file_frame_begin(in);
    qemu_file_skip(in, 4 + 70000 + 100);
    g_assert_cmpuint(qemu_get_byte(in), ==, 0);
    g_assert_cmpint(qemu_file_get_error(in, NULL), ==, -ENODATA);
    g_assert_cmpstr(qemu_file_error_message(in), ==,
                    "read past the end of the section");
    qemu_file_frame_end(in);
    qemu_fclose(in);
    qemu_fclose(out);
}

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

static void test_rate_limit(void)
{
    QEMUFile *out = qemu_file_new_mem_output();
    uint8_t buf[100] = { 0 };

    qemu_file_set_clock(out, fake_clock);
    g_assert_false(qemu_file_rate_limit(out));      /* unlimited */
    qemu_file_set_rate_limit(out, 1000);            /* 100 bytes / 100 ms */
    qemu_put_buffer(out, buf, 60);
    g_assert_false(qemu_file_rate_limit(out));
    qemu_put_buffer(out, buf, 40);
    g_assert_true(qemu_file_rate_limit(out));
    fake_now += 30000;
    g_assert_cmpint(qemu_file_rate_limit_delay_us(out), ==, 70000);
    fake_now += 70000;                              /* a new window */
    g_assert_false(qemu_file_rate_limit(out));
    g_assert_cmpint(qemu_file_rate_limit_delay_us(out), ==, 0);
    qemu_put_buffer(out, buf, 99);
    g_assert_false(qemu_file_rate_limit(out));
    qemu_put_byte(out, 0);
    g_assert_true(qemu_file_rate_limit(out));
    g_assert_cmpuint(qemu_file_transferred(out), ==, 200);
    qemu_file_set_rate_limit(out, 0);
    g_assert_false(qemu_file_rate_limit(out));
    qemu_file_set_error(out, -EIO, "gone");
    g_assert_true(qemu_file_rate_limit(out));       /* stop sending */
    qemu_fclose(out);
}

static void test_fd_pipe(void)
{
    int fds[2];
    QEMUFile *out, *in;
    g_autofree uint8_t *big = g_malloc(50000);
    g_autofree uint8_t *back = g_malloc(50000);

    g_assert_cmpint(pipe(fds), ==, 0);
    out = qemu_file_new_fd_output(fds[1], true);
    in = qemu_file_new_fd_input(fds[0], true);
    for (size_t i = 0; i < 50000; i++) {
        big[i] = i;
    }
    /* 30 KB fits in a pipe's default 64 KB: no second thread needed. */
    qemu_put_be32(out, 0xcafe);
    qemu_put_buffer(out, big, 30000);
    qemu_fflush(out);
    g_assert_cmpuint(qemu_get_be32(in), ==, 0xcafe);
    g_assert_true(qemu_get_buffer(in, back, 30000));
    g_assert_cmpmem(back, 30000, big, 30000);
    g_assert_cmpint(qemu_fclose(out), ==, 0);       /* closes the pipe */
    g_assert_true(qemu_file_at_eof(in));
    qemu_get_byte(in);
    g_assert_cmpint(qemu_file_get_error(in, NULL), ==, -ENODATA);
    g_assert_cmpint(qemu_fclose(in), ==, -ENODATA);
}

static gpointer blocked_reader(gpointer opaque)
{
    QEMUFile *in = opaque;

    qemu_get_be32(in);                  /* blocks: nobody writes */
    return GINT_TO_POINTER(qemu_file_get_error(in, NULL));
}

static void test_shutdown_unblocks_reader(void)
{
    int sv[2];
    QEMUFile *in;
    GThread *t;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    in = qemu_file_new_fd_input(sv[0], true);
    t = g_thread_new("blocked-reader", blocked_reader, in);
    g_usleep(50000);
    g_assert_cmpint(qemu_file_shutdown(in), ==, 0);
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, -EPIPE);
    g_assert_cmpstr(qemu_file_error_message(in), ==, "stream shut down");
    qemu_fclose(in);
    close(sv[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-file/roundtrip", test_roundtrip);
    g_test_add_func("/qemu-file/roundtrip-short-reads",
                    test_roundtrip_short_reads);
    g_test_add_func("/qemu-file/nocopy-many", test_nocopy_many);
    g_test_add_func("/qemu-file/eof-mid-value", test_eof_mid_value);
    g_test_add_func("/qemu-file/get-buffer-eof", test_get_buffer_eof);
    g_test_add_func("/qemu-file/error-sticky", test_error_sticky);
    g_test_add_func("/qemu-file/counted-string-errors",
                    test_counted_string_errors);
    g_test_add_func("/qemu-file/framing", test_framing);
    g_test_add_func("/qemu-file/rate-limit", test_rate_limit);
    g_test_add_func("/qemu-file/fd-pipe", test_fd_pipe);
    g_test_add_func("/qemu-file/shutdown-unblocks-reader",
                    test_shutdown_unblocks_reader);
    return g_test_run();
}
