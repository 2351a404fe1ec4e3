/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared helpers of the fd-based backends; see char-io.h. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "char-io.h"
#include "util/main-loop.h"
#include "trace.h"

static ssize_t chardev_io_write_once(int fd, bool is_socket,
                                     const uint8_t *buf, size_t len)
{
    ssize_t n;

    do {
        n = is_socket ? send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                      : write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t chardev_io_write(int fd, bool is_socket, const uint8_t *buf,
                         size_t len, ChardevWriteState *ws)
{
    gint64 deadline = g_get_monotonic_time() +
                      CHARDEV_WRITE_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

    for (;;) {
        ssize_t n = chardev_io_write_once(fd, is_socket, buf, len);
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        gint64 left_ms;
        int r;

        if (n >= 0) {
            ws->stalled = false;
            return n;
        }
        if (n != -EAGAIN && n != -EWOULDBLOCK) {
            return n;
        }
        left_ms = (deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND;
        if (ws->stalled || left_ms <= 0) {
            break;
        }
        r = poll(&pfd, 1, (int)left_ms);
        if (r == 0) {
            ws->stalled = true;
            break;
        }
        if (r < 0 && errno != EINTR) {
            break;
        }
    }
    ws->dropped += len;
    trace_chardev_io_write_dropped(fd, len, ws->dropped);
    return len;
}

ssize_t chardev_io_write_nowait(int fd, bool is_socket, const uint8_t *buf,
                                size_t len)
{
    ssize_t n = chardev_io_write_once(fd, is_socket, buf, len);

    return n == -EAGAIN || n == -EWOULDBLOCK ? 0 : n;
}

GSource *chardev_io_add_watch(int fd, GIOCondition cond, GMainContext *ctx,
                              GUnixFDSourceFunc fn, void *opaque)
{
    GSource *src = g_unix_fd_source_new(fd, cond);

    g_source_set_callback(src, G_SOURCE_FUNC(fn), opaque, NULL);
    main_context_attach(src, ctx);
    return src;
}

GSource *chardev_io_add_timeout(guint ms, GMainContext *ctx,
                                GSourceFunc fn, void *opaque)
{
    GSource *src = g_timeout_source_new(ms);

    g_source_set_callback(src, fn, opaque, NULL);
    main_context_attach(src, ctx);
    return src;
}

void chardev_io_drop_source(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}
