/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pty backend: a pseudo-terminal pair whose master we keep; users
 * attach a terminal program to the slave (/dev/pts/N, printed on stderr
 * and shown in the label "pty:/dev/pts/N"). The slave is put in raw mode.
 *
 * "Connected" means some process has the slave open. Linux reports a
 * hang-up on the master while nobody has it open (reads fail with EIO),
 * so there is nothing to wait on: a 1 s timer on the default context
 * checks for a new opener, and a watch on the frontend's context reads
 * and notices the last close. Output written while nobody has the slave
 * open is dropped, as is output the reader does not take within 1 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
#include "char-io.h"
#include "trace.h"

#define PTY_POLL_MS 1000

typedef struct PtyChardev {
    Chardev parent;
    GMutex lock;
    int fd;                     /* the master */
    char *slave_path;
    bool io_reading;
    GSource *io_src;            /* on watch_ctx, while connected */
    GSource *timer_src;         /* on the default context, while not */
    GMainContext *watch_ctx;
    ChardevWriteState ws;
} PtyChardev;

static gboolean pty_io_cb(gint fd, GIOCondition cond, gpointer opaque);
static gboolean pty_timer_cb(gpointer opaque);

/* True when some process has the slave open. */
static bool pty_slave_open(PtyChardev *p)
{
    struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

    return poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP);
}

static void pty_rearm_locked(PtyChardev *p, GMainContext *ctx, bool want_read)
{
    if (ctx != p->watch_ctx) {
        chardev_io_drop_source(&p->io_src);
        p->watch_ctx = ctx;
    }
    if (!p->parent.connected) {
        chardev_io_drop_source(&p->io_src);
        if (!p->timer_src) {
            p->timer_src = chardev_io_add_timeout(PTY_POLL_MS, NULL,
                                                  pty_timer_cb, p);
        }
        return;
    }
    chardev_io_drop_source(&p->timer_src);
    if (p->io_src && p->io_reading == want_read) {
        return;
    }
    chardev_io_drop_source(&p->io_src);
    p->io_reading = want_read;
    p->io_src = chardev_io_add_watch(p->fd, (want_read ? G_IO_IN : 0) |
                                     G_IO_HUP | G_IO_ERR, ctx, pty_io_cb, p);
}

static void pty_set_connected_locked(PtyChardev *p, bool connected)
{
    Chardev *chr = &p->parent;

    trace_chardev_pty_state(chr->id, p->slave_path, connected);
    chr->connected = connected;
    pty_rearm_locked(p, p->watch_ctx, connected && chr->fe_attached);
    if (connected) {
        chardev_post_opened(chr);
    }
}

static gboolean pty_timer_cb(gpointer opaque)
{
    PtyChardev *p = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&p->lock);

    if (p->timer_src != g_main_current_source()) {
        return G_SOURCE_REMOVE;
    }
    if (!pty_slave_open(p)) {
        return G_SOURCE_CONTINUE;
    }
    /* Drops timer_src, this source. */
    pty_set_connected_locked(p, true);
    return G_SOURCE_REMOVE;
}

/* What the watch does after pty_io_read(), with the lock dropped. */
typedef enum PtyIoResult {
    PTY_IO_REMOVE,              /* this watch is done (stale, or no room) */
    PTY_IO_CONTINUE,            /* nothing to do now: keep watching */
    PTY_IO_DELIVER,             /* bytes to hand to the frontend */
    PTY_IO_CLOSED,              /* the slave's last user left: send CLOSED */
} PtyIoResult;

/*
 * The locked half of pty_io_cb: reads up to room bytes into buf (*len)
 * or notices the hang-up. room was asked of the frontend beforehand,
 * since frontend callbacks never run under p->lock.
 */
static PtyIoResult pty_io_read(PtyChardev *p, GIOCondition cond,
                               size_t room, uint8_t *buf, size_t *len)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&p->lock);

    if (p->io_src != g_main_current_source()) {
        return PTY_IO_REMOVE;
    }
    if (!room && !(cond & (G_IO_HUP | G_IO_ERR))) {
        pty_rearm_locked(p, p->watch_ctx, false);
        return PTY_IO_REMOVE;
    }
    if (room) {
        ssize_t n = read(p->fd, buf, room);

        if (n > 0) {
            *len = n;
            return PTY_IO_DELIVER;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return PTY_IO_CONTINUE;
        }
    } else if (pty_slave_open(p)) {
        /* An error condition with the slave still open: keep watching
         * for hang-ups only, without spinning. */
        return PTY_IO_CONTINUE;
    }
    /* EIO: the last slave user closed it. */
    pty_set_connected_locked(p, false);
    /* An OPENED never delivered means no CLOSED either. */
    return chardev_cancel_opened(&p->parent) ? PTY_IO_REMOVE : PTY_IO_CLOSED;
}

static gboolean pty_io_cb(gint fd, GIOCondition cond, gpointer opaque)
{
    PtyChardev *p = opaque;
    Chardev *chr = &p->parent;
    uint8_t buf[4096];
    size_t room = MIN(chardev_frontend_room(chr), sizeof(buf));
    size_t len = 0;

    switch (pty_io_read(p, cond, room, buf, &len)) {
    case PTY_IO_DELIVER:
        chardev_deliver_input(chr, buf, len);
        return G_SOURCE_CONTINUE;
    case PTY_IO_CONTINUE:
        return G_SOURCE_CONTINUE;
    case PTY_IO_CLOSED:
        chardev_send_event(chr, CHARDEV_EVENT_CLOSED);
        return G_SOURCE_REMOVE;
    case PTY_IO_REMOVE:
    default:
        return G_SOURCE_REMOVE;
    }
}

static bool pty_open(Chardev *chr, const KeyvalList *opts, Error **errp)
{
    PtyChardev *p = (PtyChardev *)chr;
    struct termios tty;
    const char *name;
    int slave;

    p->fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->fd < 0) {
        error_setg_errno(errp, errno, "chardev: pty: cannot open a pty");
        return false;
    }
    if (grantpt(p->fd) < 0 || unlockpt(p->fd) < 0 ||
        !(name = ptsname(p->fd))) {
        error_setg_errno(errp, errno, "chardev: pty: cannot set up the pty");
        close(p->fd);
        return false;
    }
    p->slave_path = g_strdup(name);
    /* Raw mode sticks to the pty after we close our slave fd. */
    slave = open(p->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0 || tcgetattr(slave, &tty) < 0) {
        error_setg_errno(errp, errno, "chardev: pty: cannot open %s",
                         p->slave_path);
        if (slave >= 0) {
            close(slave);
        }
        close(p->fd);
        g_free(p->slave_path);
        return false;
    }
    cfmakeraw(&tty);
    tcsetattr(slave, TCSAFLUSH, &tty);
    close(slave);
    fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);

    g_mutex_init(&p->lock);
    chr->label = g_strdup_printf("pty:%s", p->slave_path);
    fprintf(stderr, "char device redirected to %s (label %s)\n",
            p->slave_path, chr->id);
    fflush(stderr);
    g_mutex_lock(&p->lock);
    pty_set_connected_locked(p, pty_slave_open(p));
    g_mutex_unlock(&p->lock);
    return true;
}

static ssize_t pty_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    PtyChardev *p = (PtyChardev *)chr;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&p->lock);
    ssize_t n;

    /* The timer may not have noticed a new opener yet: ask the pty. */
    if (!chr->connected && !pty_slave_open(p)) {
        return len;
    }
    n = chardev_io_write(p->fd, false, buf, len, &p->ws);
    /* EIO: the slave went away; the watch or the timer will notice. */
    return n < 0 ? (ssize_t)len : n;
}

static void pty_accept_input(Chardev *chr)
{
    PtyChardev *p = (PtyChardev *)chr;
    bool room = chardev_frontend_room(chr) > 0;

    g_mutex_lock(&p->lock);
    pty_rearm_locked(p, chr->fe_attached ? chr->fe.context : NULL, room);
    g_mutex_unlock(&p->lock);
}

static void pty_detach(Chardev *chr)
{
    PtyChardev *p = (PtyChardev *)chr;

    g_mutex_lock(&p->lock);
    pty_rearm_locked(p, NULL, false);
    g_mutex_unlock(&p->lock);
}

static void pty_close(Chardev *chr)
{
    PtyChardev *p = (PtyChardev *)chr;

    g_mutex_lock(&p->lock);
    chardev_io_drop_source(&p->io_src);
    chardev_io_drop_source(&p->timer_src);
    close(p->fd);
    p->fd = -1;
    chr->connected = false;
    g_mutex_unlock(&p->lock);
    g_mutex_clear(&p->lock);
    g_free(p->slave_path);
}

static const char *const pty_options[] = { NULL };

const ChardevClass chardev_pty_class = {
    .name = "pty",
    .instance_size = sizeof(PtyChardev),
    .options = pty_options,
    .open = pty_open,
    .write = pty_write,
    .accept_input = pty_accept_input,
    .detach = pty_detach,
    .close = pty_close,
};
