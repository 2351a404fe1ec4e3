/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character devices: the host side of a serial port or a monitor. A
 * Chardev is one backend instance (stdio, file:PATH, null, and later
 * sockets and ptys) with one frontend (a UART, a monitor) attached.
 *
 * Output: the frontend calls chardev_write(); backends never block the
 * caller for long (files and stdio write synchronously; a socket with a
 * slow reader drops or buffers, decided by its class).
 * Input: the backend asks the frontend how much it can take
 * (can_receive) and hands bytes to receive(); a frontend that made room
 * again calls chardev_accept_input().
 *
 * All of this runs under the BQL.
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

typedef struct ChardevFrontend {
    size_t (*can_receive)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *buf, size_t len);
    void *opaque;
} ChardevFrontend;

typedef struct ChardevClass {
    const char *name;           /* backend name: "stdio", "file", "null" */
    size_t instance_size;       /* >= sizeof(Chardev) */
    /* Option keys accepted by -chardev NAME,... besides id. */
    const char *const *options;
    bool (*open)(Chardev *chr, const KeyvalList *opts, Error **errp);
    /* Writes what it can; returns bytes taken or -errno. */
    ssize_t (*write)(Chardev *chr, const uint8_t *buf, size_t len);
    /* The frontend has room again: resume reading. */
    void (*accept_input)(Chardev *chr);
    void (*close)(Chardev *chr);
} ChardevClass;

struct Chardev {
    const ChardevClass *cls;
    char *id;
    char *label;                /* "stdio", "file:/tmp/x" for query-chardev */
    ChardevFrontend fe;
    bool fe_attached;
};

/* Creates a backend from "-chardev BACKEND,id=ID,..." style options. */
Chardev *chardev_new(const char *id, const char *backend,
                     const KeyvalList *opts, Error **errp);
/*
 * Creates a backend from the legacy -serial spelling: "stdio", "null",
 * "file:PATH", "none" (returns NULL, no error) or "chardev:ID" (an existing
 * one). id names a new backend ("serial0").
 */
Chardev *chardev_new_legacy(const char *id, const char *spec, Error **errp);
Chardev *chardev_find(const char *id);
void chardev_close(Chardev *chr);
void chardev_close_all(void);

bool chardev_attach_frontend(Chardev *chr, const ChardevFrontend *fe,
                             Error **errp);
void chardev_detach_frontend(Chardev *chr);

/* Writes all of buf unless the backend fails; returns bytes written. */
size_t chardev_write_all(Chardev *chr, const uint8_t *buf, size_t len);
void chardev_accept_input(Chardev *chr);

/* For backends: deliver input to the frontend, as much as it takes.
 * Returns bytes consumed. */
size_t chardev_deliver_input(Chardev *chr, const uint8_t *buf, size_t len);
size_t chardev_frontend_room(Chardev *chr);

/* Backend classes, registered by chardev.c. */
extern const ChardevClass chardev_stdio_class;
extern const ChardevClass chardev_file_class;
extern const ChardevClass chardev_null_class;

/*
 * stdio is special: one process has one terminal. With -nographic it is
 * put in raw mode and Ctrl-A is an escape key (Ctrl-A x quits, Ctrl-A h
 * helps, Ctrl-A Ctrl-A sends Ctrl-A). The terminal is restored at exit.
 */
void chardev_stdio_set_escape_handler(bool (*handler)(char c));

#endif
