/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The stdio backend: output to fd 1, input from fd 0. When stdin is a
 * terminal it is switched to raw mode (so the guest sees every key) and
 * restored at exit; signal=on (the default) keeps Ctrl-C as SIGINT. The
 * Ctrl-A escapes of -nographic belong to the mux (char-mux.c) on top.
 * Input is read only while the frontend has room, so a UART with a full
 * FIFO pushes back on the terminal instead of losing keys.
 */
#include <errno.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
#include "chardev/char.h"
#include "util/main-loop.h"

typedef struct StdioChardev {
    Chardev parent;
    guint watch;            /* GSource id reading fd 0, 0 when not reading */
    GSource *watch_source;  /* the same source, on the frontend's context */
    bool eof;
} StdioChardev;

static bool stdio_in_use;
static bool stdio_tty_saved;
static struct termios stdio_saved_tty;
static void stdio_restore_tty(void)
{
    if (stdio_tty_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_saved_tty);
    }
}

static void stdio_make_raw(bool keep_signals)
{
    struct termios tty;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &tty) < 0) {
        return;
    }
    stdio_saved_tty = tty;
    stdio_tty_saved = true;
    atexit(stdio_restore_tty);
    tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                     ICRNL | IXON);
    tty.c_oflag |= OPOST;
    tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    if (!keep_signals) {
        tty.c_lflag &= ~ISIG;
    }
    tty.c_cflag &= ~(CSIZE | PARENB);
    tty.c_cflag |= CS8;
    tty.c_cc[VMIN] = 1;
    tty.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &tty);
}

static void stdio_drop_watch(StdioChardev *s);

static gboolean stdio_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    StdioChardev *s = opaque;
    uint8_t buf[256];
    size_t room = chardev_frontend_room(&s->parent);
    ssize_t n;

    if (!room) {
        stdio_drop_watch(s);
        return G_SOURCE_REMOVE;
    }
    n = read(fd, buf, MIN(room, sizeof(buf)));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        s->eof = true;
        stdio_drop_watch(s);
        return G_SOURCE_REMOVE;
    }
    chardev_deliver_input(&s->parent, buf, n);
    return G_SOURCE_CONTINUE;
}

static void stdio_update_watch(StdioChardev *s)
{
    if (s->watch || s->eof || !chardev_frontend_room(&s->parent)) {
        return;
    }
    GSource *src = g_unix_fd_source_new(STDIN_FILENO,
                                        G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(src, G_SOURCE_FUNC(stdio_readable), s, NULL);
    s->watch = g_source_attach(src, s->parent.fe.context);
    s->watch_source = src;
}

static void stdio_drop_watch(StdioChardev *s)
{
    if (s->watch_source) {
        g_source_destroy(s->watch_source);
        g_source_unref(s->watch_source);
        s->watch_source = NULL;
    }
    s->watch = 0;
}

static bool stdio_open(Chardev *chr, const KeyvalList *opts, Error **errp)
{
    bool signal;

    if (stdio_in_use) {
        error_setg(errp, "cannot use stdio by multiple character devices");
        return false;
    }
    if (!keyval_get_bool(opts, "signal", true, &signal, errp)) {
        return false;
    }
    stdio_in_use = true;
    stdio_make_raw(signal);
    chr->connected = true;
    return true;
}

static ssize_t stdio_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    ssize_t n = write(STDOUT_FILENO, buf, len);

    return n < 0 ? -errno : n;
}

static void stdio_accept_input(Chardev *chr)
{
    stdio_update_watch((StdioChardev *)chr);
}

static void stdio_detach(Chardev *chr)
{
    stdio_drop_watch((StdioChardev *)chr);
}

static void stdio_close(Chardev *chr)
{
    StdioChardev *s = (StdioChardev *)chr;

    stdio_drop_watch(s);
    stdio_restore_tty();
    stdio_in_use = false;
}

static const char *const stdio_options[] = { "signal", NULL };

const ChardevClass chardev_stdio_class = {
    .name = "stdio",
    .instance_size = sizeof(StdioChardev),
    .options = stdio_options,
    .open = stdio_open,
    .write = stdio_write,
    .accept_input = stdio_accept_input,
    .detach = stdio_detach,
    .close = stdio_close,
};
