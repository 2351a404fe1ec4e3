/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the QMP dispatcher needs from the generated code, without including
 * it: the command table (generated in qapi-commands.c) and the event sink
 * the generated qapi_event_send_*() functions call (implemented by the
 * monitor).  See docs/devel/qapi.md.
 */
#ifndef QAPI_QMP_DISPATCH_H
#define QAPI_QMP_DISPATCH_H

#include <stddef.h>
#include <json-c/json.h>
#include "util/error.h"

/* QmpCommand.flags */
#define QMP_CMD_ALLOW_OOB        (1u << 0)   /* 'allow-oob': true */
#define QMP_CMD_UNSTABLE         (1u << 1)   /* feature 'unstable' */
#define QMP_CMD_DEPRECATED       (1u << 2)   /* feature 'deprecated' */
#define QMP_CMD_ALLOW_PRECONFIG  (1u << 3)   /* 'allow-preconfig': true */

/*
 * Checks args (never NULL in practice: an empty object when the client sent
 * none), runs the command and sets *ret to the result ({} for commands that
 * return nothing) -- or sets errp and leaves *ret alone.
 */
typedef void QmpMarshalFn(json_object *args, json_object **ret, Error **errp);

typedef struct QmpCommand {
    const char *name;
    QmpMarshalFn *fn;
    unsigned flags;
} QmpCommand;

/* The table, sorted by name; qmp_find_command() returns NULL if unknown. */
extern const QmpCommand qmp_commands[];
extern const size_t qmp_commands_count;
const QmpCommand *qmp_find_command(const char *name);

/*
 * Called by every qapi_event_send_*(): name is the event's name, data its
 * members (a reference the callee owns; NULL for events without data).
 */
void qapi_event_emit(const char *name, json_object *data);

#endif
