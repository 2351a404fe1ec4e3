/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mux: several frontends on one backend, one with the input focus,
 * switched with Ctrl-A c (see include/chardev/char.h). It sits between
 * the backend and its frontends: it is the backend's only frontend, and
 * the frontends attach to it. All of it runs on the main loop (the mux
 * attaches with no context), which is where serial ports and HMP live.
 */
#include <stdio.h>
#include <string.h>
#include "chardev/char.h"
#include "trace.h"

#define MUX_MAX_FRONTENDS 4
#define CTRL_A 0x01

typedef struct MuxChardev {
    Chardev parent;
    Chardev *backend;
    ChardevFrontend fes[MUX_MAX_FRONTENDS];
    bool opened[MUX_MAX_FRONTENDS];   /* told OPENED already */
    unsigned nr_fes;
    unsigned focus;
    bool escape_pending;
} MuxChardev;

static void (*mux_quit_handler)(void);

void chardev_mux_set_quit_handler(void (*quit)(void))
{
    mux_quit_handler = quit;
}

static ssize_t mux_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    MuxChardev *mux = (MuxChardev *)chr;

    return chardev_write_all(mux->backend, buf, len);
}

static void mux_print(MuxChardev *mux, const char *text)
{
    chardev_write_all(mux->backend, (const uint8_t *)text, strlen(text));
}

/* Frontends hear OPENED once, when they first get the terminal. */
static void mux_focus(MuxChardev *mux, unsigned index)
{
    mux->focus = index;
    trace_chardev_mux_focus(mux->parent.id, index);
    if (!mux->opened[index] && mux->fes[index].event) {
        mux->opened[index] = true;
        mux->fes[index].event(mux->fes[index].opaque, CHARDEV_EVENT_OPENED);
    }
    chardev_accept_input(mux->backend);
}

/* Handles the key after Ctrl-A; true if it was a command. */
static bool mux_escape(MuxChardev *mux, uint8_t c)
{
    switch (c) {
    case 'c':
        if (mux->nr_fes) {
            mux_focus(mux, (mux->focus + 1) % mux->nr_fes);
        }
        return true;
    case 'x':
        mux_print(mux, "\r\nTandem: terminated\r\n");
        if (mux_quit_handler) {
            mux_quit_handler();
        }
        return true;
    case 'h':
    case '?':
        mux_print(mux, "\r\nC-a h    print this help\r\n"
                       "C-a x    exit Tandem\r\n"
                       "C-a c    switch between console and monitor\r\n"
                       "C-a C-a  send C-a\r\n");
        return true;
    default:
        return false;
    }
}

static size_t mux_can_receive(void *opaque)
{
    MuxChardev *mux = opaque;
    ChardevFrontend *fe = &mux->fes[mux->focus];

    /* Always take bytes one at a time: an escape may change the focus. */
    if (!mux->nr_fes || !fe->can_receive) {
        return 1;
    }
    return fe->can_receive(fe->opaque) ? 1 : 0;
}

static void mux_receive(void *opaque, const uint8_t *buf, size_t len)
{
    MuxChardev *mux = opaque;

    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        ChardevFrontend *fe;

        if (mux->escape_pending) {
            mux->escape_pending = false;
            if (c != CTRL_A && mux_escape(mux, c)) {
                continue;
            }
        } else if (c == CTRL_A) {
            mux->escape_pending = true;
            continue;
        }
        if (!mux->nr_fes) {
            continue;
        }
        fe = &mux->fes[mux->focus];
        if (fe->receive && (!fe->can_receive || fe->can_receive(fe->opaque))) {
            fe->receive(fe->opaque, &c, 1);
        }
    }
}

static void mux_event(void *opaque, ChardevEvent event)
{
    MuxChardev *mux = opaque;

    for (unsigned i = 0; i < mux->nr_fes; i++) {
        if (event == CHARDEV_EVENT_OPENED && i != mux->focus) {
            continue;   /* the others open when they get the focus */
        }
        mux->opened[i] = event == CHARDEV_EVENT_OPENED;
        if (mux->fes[i].event) {
            mux->fes[i].event(mux->fes[i].opaque, event);
        }
    }
}

static bool mux_attach_frontend(Chardev *chr, const ChardevFrontend *fe,
                                Error **errp)
{
    MuxChardev *mux = (MuxChardev *)chr;

    if (mux->nr_fes == MUX_MAX_FRONTENDS) {
        error_setg(errp, "too many uses of multiplexed chardev '%s'", chr->id);
        return false;
    }
    if (fe->context) {
        error_setg(errp, "multiplexed chardev '%s' serves main-loop "
                   "frontends only", chr->id);
        return false;
    }
    mux->fes[mux->nr_fes] = *fe;
    if (mux->nr_fes++ == mux->focus && chardev_is_connected(mux->backend)) {
        mux_focus(mux, mux->focus);
    }
    chr->fe_attached = true;
    return true;
}

static void mux_detach_frontend(Chardev *chr, void *fe_opaque)
{
    MuxChardev *mux = (MuxChardev *)chr;

    memset(mux->fes, 0, sizeof(mux->fes));
    memset(mux->opened, 0, sizeof(mux->opened));
    mux->nr_fes = 0;
    mux->focus = 0;
    chr->fe_attached = false;
}

static void mux_close(Chardev *chr)
{
    MuxChardev *mux = (MuxChardev *)chr;

    chardev_detach_frontend(mux->backend);
}

static bool mux_open(Chardev *chr, const KeyvalList *opts, Error **errp)
{
    return true;
}

static const char *const mux_options[] = { NULL };

const ChardevClass chardev_mux_class = {
    .name = "mux",
    .instance_size = sizeof(MuxChardev),
    .options = mux_options,
    .open = mux_open,
    .write = mux_write,
    .attach_frontend = mux_attach_frontend,
    .detach_frontend = mux_detach_frontend,
    .close = mux_close,
};

Chardev *chardev_mux_new(const char *id, Chardev *backend, Error **errp)
{
    g_autoptr(KeyvalList) none = keyval_parse("", NULL, errp);
    ChardevFrontend fe = {
        .can_receive = mux_can_receive,
        .receive = mux_receive,
        .event = mux_event,
    };
    Chardev *chr;
    MuxChardev *mux;

    if (!none) {
        return NULL;
    }
    chr = chardev_new(id, "mux", none, errp);
    if (!chr) {
        return NULL;
    }
    mux = (MuxChardev *)chr;
    mux->backend = backend;
    fe.opaque = mux;
    g_free(chr->label);
    chr->label = chardev_dup_label(backend);
    if (!chardev_attach_frontend(backend, &fe, errp)) {
        chardev_close(chr);
        return NULL;
    }
    chr->connected = true;
    return chr;
}
