/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the fd-based backends (socket, pty): GSources on a
 * chosen GMainContext, and the bounded write that keeps a slow or absent
 * reader from stalling the writer (often a vCPU thread) for long.
 */
#ifndef CHARDEV_CHAR_IO_H
#define CHARDEV_CHAR_IO_H

#include <glib-unix.h>
#include "chardev/char.h"

/* How long one write may wait for a reader that stopped reading. */
#define CHARDEV_WRITE_TIMEOUT_MS 1000

typedef struct ChardevWriteState {
    /* The last write timed out: later writes don't wait again until the
     * fd is writable (a stuck reader costs one timeout, not one per byte). */
    bool stalled;
    uint64_t dropped;   /* bytes thrown away because nobody read them */
} ChardevWriteState;

/*
 * Writes to a non-blocking fd: what fits now, else waits up to
 * CHARDEV_WRITE_TIMEOUT_MS for room (not at all while stalled) and then
 * drops the buffer, returning len. Returns bytes taken or -errno for a
 * real error (EPIPE, ECONNRESET, EIO...). Never raises SIGPIPE on sockets.
 */
ssize_t chardev_io_write(int fd, bool is_socket, const uint8_t *buf,
                         size_t len, ChardevWriteState *ws);

/*
 * The write that never waits, for frontends with their own queue: bytes
 * taken now, 0 when the fd is full, -errno for a real error.
 */
ssize_t chardev_io_write_nowait(int fd, bool is_socket, const uint8_t *buf,
                                size_t len);

/* A watch on fd, attached to ctx (NULL: the default context). */
GSource *chardev_io_add_watch(int fd, GIOCondition cond, GMainContext *ctx,
                              GUnixFDSourceFunc fn, void *opaque);
GSource *chardev_io_add_timeout(guint ms, GMainContext *ctx,
                                GSourceFunc fn, void *opaque);
/* Destroys and forgets *src if set. */
void chardev_io_drop_source(GSource **src);

#endif
