/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMUFile over a file descriptor: a socket, a pipe or a regular file.
 * Short writes and EINTR are retried here so QEMUFile sees all-or-error;
 * a non-blocking fd is waited on with poll() so the same code serves the
 * migration thread (blocking) and fds a caller left non-blocking. On a
 * blocking socket with a send or receive timeout, EAGAIN is the timeout
 * and fails with -ETIMEDOUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "migration/qemu-file.h"

typedef struct ChannelFd {
    int fd;
    bool close_fd;
} ChannelFd;

static void channel_fd_wait(int fd, short events)
{
    struct pollfd pfd = { .fd = fd, .events = events };

    while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
    }
}

/*
 * EAGAIN on a blocking fd is a socket timeout (SO_RCVTIMEO/SO_SNDTIMEO,
 * which COLO sets to bound its waits): an error, not a reason to poll.
 */
static bool channel_fd_timed_out(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags >= 0 && !(flags & O_NONBLOCK);
}

static ssize_t channel_fd_writev(void *opaque, const struct iovec *iov,
                                 int iovcnt, Error **errp)
{
    ChannelFd *c = opaque;
    struct iovec local[iovcnt];
    struct iovec *v = local;
    ssize_t total = 0;

    memcpy(local, iov, iovcnt * sizeof(*iov));
    while (iovcnt) {
        ssize_t n = writev(c->fd, v, MIN(iovcnt, IOV_MAX));

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN && channel_fd_timed_out(c->fd)) {
                error_setg(errp, "write to migration fd %d: timed out",
                           c->fd);
                return -ETIMEDOUT;
            }
            if (errno == EAGAIN) {
                channel_fd_wait(c->fd, POLLOUT);
                continue;
            }
            error_setg_errno(errp, errno, "write to migration fd %d", c->fd);
            return -errno;
        }
        total += n;
        /* Drop what was written, possibly part of one iovec. */
        while (iovcnt && (size_t)n >= v->iov_len) {
            n -= v->iov_len;
            v++;
            iovcnt--;
        }
        if (iovcnt) {
            v->iov_base = (uint8_t *)v->iov_base + n;
            v->iov_len -= n;
        }
    }
    return total;
}

static ssize_t channel_fd_read(void *opaque, uint8_t *buf, size_t len,
                               Error **errp)
{
    ChannelFd *c = opaque;

    for (;;) {
        ssize_t n = read(c->fd, buf, len);

        if (n >= 0) {
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN && channel_fd_timed_out(c->fd)) {
            error_setg(errp, "read from migration fd %d: timed out", c->fd);
            return -ETIMEDOUT;
        }
        if (errno == EAGAIN) {
            channel_fd_wait(c->fd, POLLIN);
            continue;
        }
        error_setg_errno(errp, errno, "read from migration fd %d", c->fd);
        return -errno;
    }
}

static int channel_fd_shutdown(void *opaque, Error **errp)
{
    ChannelFd *c = opaque;

    /* Wakes a peer blocked in read()/write() on a socket; pipes and files
     * cannot be shut down, their readers see the sticky flag instead. */
    if (shutdown(c->fd, SHUT_RDWR) < 0) {
        error_setg_errno(errp, errno, "shutdown of migration fd %d", c->fd);
        return -errno;
    }
    return 0;
}

static int channel_fd_close(void *opaque, Error **errp)
{
    ChannelFd *c = opaque;
    int ret = 0;

    if (c->close_fd && close(c->fd) < 0) {
        error_setg_errno(errp, errno, "close of migration fd %d", c->fd);
        ret = -errno;
    }
    g_free(c);
    return ret;
}

static const QEMUFileOps channel_fd_ops = {
    .name = "fd",
    .writev = channel_fd_writev,
    .read = channel_fd_read,
    .shutdown = channel_fd_shutdown,
    .close = channel_fd_close,
};

static QEMUFile *channel_fd_new(int fd, bool close_fd, bool writable)
{
    ChannelFd *c = g_new0(ChannelFd, 1);

    c->fd = fd;
    c->close_fd = close_fd;
    return qemu_file_new(&channel_fd_ops, c, writable);
}

QEMUFile *qemu_file_new_fd_output(int fd, bool close_fd)
{
    return channel_fd_new(fd, close_fd, true);
}

QEMUFile *qemu_file_new_fd_input(int fd, bool close_fd)
{
    return channel_fd_new(fd, close_fd, false);
}
