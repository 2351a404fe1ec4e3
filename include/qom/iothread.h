/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iothread: a user-created thread running its own GMainContext
 * (-object iothread,id=X). colo-compare runs on one, so comparing packets
 * never waits for the main loop. An iothread in use cannot be deleted.
 */
#ifndef QOM_IOTHREAD_H
#define QOM_IOTHREAD_H

#include <glib.h>
#include "qom/object.h"

typedef struct IOThread IOThread;

/* The iothread with this id, or NULL with errp set. */
IOThread *iothread_find(const char *id, Error **errp);
GMainContext *iothread_get_context(IOThread *iot);
/* Users hold a reference so object-del refuses while they run. */
void iothread_ref(IOThread *iot);
void iothread_unref(IOThread *iot);

#endif
