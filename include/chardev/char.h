/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character devices: the host side of a serial port or a monitor. A
 * Chardev is one backend instance (stdio, file:PATH, null, and later
 * sockets and ptys) with one frontend (a UART, a monitor) attached.
 *
 * Output: the frontend calls chardev_frontend_write() (or, host
 * frontends, chardev_write_all()); backends never block the caller for
 * long (files and stdio write synchronously; a socket with a slow reader
 * drops or buffers, decided by its class). A guest frontend's writes pass
 * its hold stage on the way (include/chardev/char-hold.h).
 * Input: the backend asks the frontend how much it can take
 * (can_receive) and hands bytes to receive(); a frontend that made room
 * again calls chardev_accept_input().
 *
 * Threads: receive() and event() run on the frontend's GMainContext
 * (ChardevFrontend.context; NULL is the main loop, under the BQL).
 * chardev_write_all() may be called from the frontend's thread or from any
 * thread holding the BQL; backends whose state can change under a writer
 * (sockets, ptys) guard it with their own mutex. Creation, close and
 * attach/detach happen on the main loop thread.
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/error.h"
#include "util/keyval.h"

typedef struct Chardev Chardev;

typedef enum ChardevEvent {
    CHARDEV_EVENT_OPENED,   /* a peer connected (or the backend is ready) */
    CHARDEV_EVENT_CLOSED,   /* the peer went away */
} ChardevEvent;

typedef struct ChardevFrontend {
    size_t (*can_receive)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *buf, size_t len);
    /* Optional: connection state changes (monitors greet on OPENED). */
    void (*event)(void *opaque, ChardevEvent event);
    void *opaque;
    /*
     * The GMainContext whose thread runs receive() and event(); NULL means
     * the main loop (with the BQL held). QMP monitors use their own I/O
     * thread so that out-of-band commands run while the main loop is busy.
     */
    GMainContext *context;
    /*
     * The frontend writes what the guest emits (a device model), not what
     * the host says (monitors, qtest): its writes pass a hold stage that
     * can keep them back (include/chardev/char-hold.h). name, for traces
     * and warnings of that stage ("serial0"), is copied; NULL: the id.
     */
    bool guest_output;
    const char *name;
} ChardevFrontend;

typedef struct ChardevClass {
    const char *name;           /* backend name: "stdio", "file", "null" */
    size_t instance_size;       /* >= sizeof(Chardev) */
    /* Option keys accepted by -chardev NAME,... besides id. */
    const char *const *options;
    bool (*open)(Chardev *chr, const KeyvalList *opts, Error **errp);
    /* Writes what it can; returns bytes taken or -errno. */
    ssize_t (*write)(Chardev *chr, const uint8_t *buf, size_t len);
    /* The frontend has room again (or was just attached): (re)arm the
     * input watch, on chr->fe.context. */
    void (*accept_input)(Chardev *chr);
    /* The frontend is detaching: drop watches on its context. */
    void (*detach)(Chardev *chr);
    /*
     * Backends that take several frontends (the mux) replace attach and
     * detach entirely; chr->fe is then unused.
     */
    bool (*attach_frontend)(Chardev *chr, const ChardevFrontend *fe,
                            Error **errp);
    void (*detach_frontend)(Chardev *chr, void *fe_opaque);
    void (*close)(Chardev *chr);
    /*
     * Optional, for backends with a network peer: shut the connection
     * down now (shutdown(2), no close) so that blocked I/O fails, as if
     * the peer had gone. Runs on any thread, possibly a monitor's I/O
     * thread without the BQL, under the yank registry's lock: take only
     * the backend's own lock, never block (include/util/yank.h). A
     * backend that has it is a yank instance (chardev, id) from creation
     * to close.
     */
    void (*yank)(Chardev *chr);
    /*
     * Optional, for backends whose output can fill up (sockets): for host
     * frontends that keep their own output queue (QMP monitors). A write
     * that never waits: bytes taken now (0: full), len when output has
     * nowhere to go (no peer: dropped, as write does), -errno when the
     * peer is gone. And a one-shot watch: fn(opaque) runs once on ctx when
     * the connection can take output again; false when there is no
     * connection to wait for. A watch still armed when the connection
     * ends is dropped without a call (the frontend gets CLOSED instead).
     */
    ssize_t (*write_nowait)(Chardev *chr, const uint8_t *buf, size_t len);
    bool (*watch_writable)(Chardev *chr, GMainContext *ctx,
                           void (*fn)(void *opaque), void *opaque);
    /*
     * Optional, for UNIX sockets: moves the file descriptors the peer
     * passed (SCM_RIGHTS) and nobody took yet into fds (GArray of int),
     * in arrival order; the caller owns them.
     */
    void (*take_fds)(Chardev *chr, GArray *fds);
} ChardevClass;

struct Chardev {
    const ChardevClass *cls;
    char *id;
    /*
     * "stdio", "file:/tmp/x", "disconnected:unix:/tmp/s,server=on" for
     * query-chardev's "filename". Backends whose label changes with the
     * connection update it with chardev_set_label(); readers on other
     * threads use chardev_dup_label().
     */
    char *label;
    ChardevFrontend fe;
    bool fe_attached;
    bool connected;             /* set by backends with a peer (sockets) */
    GMutex lock;                /* guards label and open_event */
    GSource *open_event;        /* a pending OPENED, on fe.context */
};

/* Creates a backend from "-chardev BACKEND,id=ID,..." style options. */
Chardev *chardev_new(const char *id, const char *backend,
                     const KeyvalList *opts, Error **errp);
/*
 * Creates a backend from the legacy -serial spelling: "stdio", "null",
 * "file:PATH" or "chardev:ID" (an existing one). id names a new backend
 * ("serial0"). "none" means no backend at all: callers that accept it
 * check for it first; here it is an error like any unknown spelling.
 */
Chardev *chardev_new_legacy(const char *id, const char *spec, Error **errp);
/*
 * The legacy spellings in full (QEMU's -serial/-monitor/-qmp syntax):
 *   tcp:[HOST]:PORT[,server=on|off][,wait=on|off][,server][,nowait]
 *       [,nodelay=on|off][,reconnect-ms=N]
 *   unix:PATH[,server=on|off][,wait=on|off][,server][,nowait]
 *       [,reconnect-ms=N]
 *   pty, stdio, null, file:PATH, chardev:ID
 * "mon:..." is the monitor layer's business and is refused here, and so
 * is "none" (-serial none, -monitor none: the caller creates nothing).
 */

/*
 * -chardev BACKEND,id=ID[,key=value...]: the backend is the implied first
 * key; every other key must be one the backend class lists in options.
 * "chardev: no id specified" without id.
 */
Chardev *chardev_new_from_opts(const char *optarg, Error **errp);
Chardev *chardev_find(const char *id);
void chardev_close(Chardev *chr);
/* Calls fn for every chardev, in creation order. */
void chardev_foreach(void (*fn)(Chardev *chr, void *opaque), void *opaque);
void chardev_close_all(void);

bool chardev_attach_frontend(Chardev *chr, const ChardevFrontend *fe,
                             Error **errp);
/*
 * Detaches between two frontend callbacks: when another thread is running
 * the frontend's context, the detach runs there and this call waits for
 * it (so that thread must not be waiting for the caller, e.g. for the BQL).
 * Afterwards no callback of the frontend runs, and the backend's watches
 * are back on the default context.
 */
void chardev_detach_frontend(Chardev *chr);

/* Writes all of buf unless the backend fails; returns bytes written. */
size_t chardev_write_all(Chardev *chr, const uint8_t *buf, size_t len);
/*
 * A frontend's write: fe_opaque (ChardevFrontend.opaque) names the
 * frontend, which matters when several share chr (the mux). A guest
 * frontend's bytes pass its hold stage, which either lets them through to
 * chardev_write_all() or keeps them (and then all of len counts as taken);
 * any other frontend's go straight there. BQL held.
 */
size_t chardev_frontend_write(Chardev *chr, const void *fe_opaque,
                              const uint8_t *buf, size_t len);
void chardev_accept_input(Chardev *chr);
/*
 * For frontends with their own output queue (see ChardevClass
 * write_nowait): never waits for the peer. Backends that cannot fill up
 * (files, stdio, null) take everything synchronously, as
 * chardev_write_all() does, and never need a watch.
 */
ssize_t chardev_write_nowait(Chardev *chr, const uint8_t *buf, size_t len);
bool chardev_watch_writable(Chardev *chr, GMainContext *ctx,
                            void (*fn)(void *opaque), void *opaque);
/*
 * Drops the current peer as if it had hung up (a socket is shut down; the
 * frontend then gets CLOSED from its context). A no-op for backends
 * without a peer. Any thread.
 */
void chardev_disconnect(Chardev *chr);
/*
 * The fds received with the input so far (see ChardevClass take_fds),
 * appended to fds; a no-op for backends that cannot carry fds.
 */
void chardev_take_fds(Chardev *chr, GArray *fds);

/* For backends: report a connection change to the frontend. Call it on
 * the frontend's context thread. */
void chardev_send_event(Chardev *chr, ChardevEvent event);
/*
 * For backends: queue CHARDEV_EVENT_OPENED for the attached frontend, to
 * be delivered from its context (a no-op with no frontend or one already
 * queued). chardev_attach_frontend() queues one itself when the chardev is
 * already connected, so a monitor greets a peer that connected before it
 * attached. chardev_cancel_opened() drops a queued one and returns true if
 * there was one: a backend losing its peer then sends no CLOSED, so the
 * frontend never sees CLOSED without OPENED.
 */
void chardev_post_opened(Chardev *chr);
bool chardev_cancel_opened(Chardev *chr);
/* Takes ownership of label. */
void chardev_set_label(Chardev *chr, char *label);
/* A copy of the label, safe against a concurrent chardev_set_label(). */
char *chardev_dup_label(Chardev *chr);
/* True when output has somewhere to go (a connected socket peer, a file). */
bool chardev_is_connected(Chardev *chr);

/* For backends: deliver input to the frontend, as much as it takes.
 * Returns bytes consumed. */
size_t chardev_deliver_input(Chardev *chr, const uint8_t *buf, size_t len);
size_t chardev_frontend_room(Chardev *chr);

/* Backend classes, registered by chardev.c. */
extern const ChardevClass chardev_stdio_class;
extern const ChardevClass chardev_file_class;
extern const ChardevClass chardev_null_class;
extern const ChardevClass chardev_socket_class;
extern const ChardevClass chardev_pty_class;

/*
 * The mux (QEMU's "mon:" prefix, and -nographic's default mon:stdio): one
 * backend shared by up to four frontends (a serial port and an HMP
 * monitor), one of which has the input focus. Ctrl-A is an escape prefix:
 * Ctrl-A c moves the focus to the next frontend, Ctrl-A x quits, Ctrl-A h
 * prints help, Ctrl-A Ctrl-A sends a Ctrl-A. Output from every frontend
 * goes to the backend. Takes over the backend's frontend slot.
 */
Chardev *chardev_mux_new(const char *id, Chardev *backend, Error **errp);
/* What Ctrl-A x does (the system asks for shutdown). */
void chardev_mux_set_quit_handler(void (*quit)(void));
extern const ChardevClass chardev_mux_class;

#endif
