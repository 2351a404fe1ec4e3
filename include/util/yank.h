/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The yank registry: every connection that can hang on a dead peer (the
 * migration's, a socket chardev's, later a block node's) registers here
 * as an instance with one or more yank functions, and the QMP command
 * yank (monitor/qmp-yank.c) calls every function of the instances it
 * names, so that blocked reads and writes fail at once instead of waiting
 * for TCP to give up. query-yank lists the registered instances.
 *
 * An instance is a kind plus a name: (YANK_KIND_CHARDEV, chardev id),
 * (YANK_KIND_BLOCK_NODE, node-name), or (YANK_KIND_MIGRATION, NULL: there
 * is one). The kinds are the QAPI enum YankInstanceType's values in the
 * same order (qapi/yank.json; monitor/qmp-yank.c checks it at compile
 * time); this file stays free of generated QAPI code so util/ needs none.
 *
 * Life cycle: yank_register_instance() (refused when the instance is
 * already registered), then yank_register_function() any number of times;
 * before the instance goes away, yank_unregister_function() for each and
 * yank_unregister_instance() last.
 *
 * Locking: one mutex guards the registry, and yank functions run with it
 * held. Consequences:
 *  - yank runs on whatever thread calls yank_instances(): for QMP that
 *    is the monitor's I/O thread when the command comes out of band, so a
 *    yank function must be safe from any thread, while the rest of the
 *    instance's code runs on. It must not take the BQL (the main loop may
 *    be the very thing that is stuck) and must not block: it should only
 *    shutdown(2) sockets (or set a flag) under the instance's own short
 *    lock. It must not call any yank_*() function (that deadlocks).
 *  - Once yank_unregister_function() has returned, the function is not
 *    running and will not run again, so its opaque may be freed.
 *  - Lock order: the registry mutex before any lock a yank function
 *    takes. Never call yank_*() while holding such a lock.
 * Registration calls may come from any thread.
 */
#ifndef UTIL_YANK_H
#define UTIL_YANK_H

#include "util/error.h"

typedef enum YankKind {
    YANK_KIND_BLOCK_NODE,       /* name: the node-name */
    YANK_KIND_CHARDEV,          /* name: the chardev id */
    YANK_KIND_MIGRATION,        /* name: NULL */
    YANK_KIND__MAX,
} YankKind;

typedef void YankFn(void *opaque);

/* Names one instance; name is NULL for YANK_KIND_MIGRATION. */
typedef struct YankRef {
    YankKind kind;
    const char *name;
} YankRef;

/* "Instance 'chardev' 'ID' is already registered for yank" if it is. */
bool yank_register_instance(YankKind kind, const char *name, Error **errp);
/* The instance must have no functions left. */
void yank_unregister_instance(YankKind kind, const char *name);
/* The instance must be registered. */
void yank_register_function(YankKind kind, const char *name, YankFn *fn,
                            void *opaque);
/* Returns after any running call of fn(opaque) has finished. */
void yank_unregister_function(YankKind kind, const char *name, YankFn *fn,
                              void *opaque);

/*
 * All or nothing: when every one of the n instances is registered, calls
 * every function of each (in registration order) and returns true; else
 * sets "Instance 'migration' not found: ..." / "Instance 'chardev' 'ID'
 * not found" for the first missing one and calls nothing.
 */
bool yank_instances(const YankRef *refs, size_t n, Error **errp);

/* Calls fn for each registered instance, in registration order, with the
 * registry locked (fn must not call yank_*()). */
void yank_foreach(void (*fn)(YankKind kind, const char *name, void *opaque),
                  void *opaque);

/* "block-node", "chardev", "migration": the QAPI wire names. */
const char *yank_kind_name(YankKind kind);

#endif
