/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The iothread object type (see include/qom/iothread.h). */
#include "qapi/qapi-commands.h"
#include "qom/iothread.h"
#include "util/context-thread.h"
#include "trace.h"

struct IOThread {
    Object parent;
    /* properties, accepted for QEMU compatibility (no AioContext here) */
    int64_t poll_max_ns;
    int64_t poll_grow;
    int64_t poll_shrink;
    int64_t aio_max_batch;
    /* state */
    ContextThread *thread;
    unsigned users;
};

static bool iothread_complete(Object *obj, Error **errp)
{
    IOThread *iot = (IOThread *)obj;
    g_autofree char *name = g_strdup_printf("IO %s", obj->id);

    if (iot->poll_max_ns < 0 || iot->poll_grow < 0 || iot->poll_shrink < 0 ||
        iot->aio_max_batch < 0) {
        error_setg(errp, "iothread: poll and batch parameters must not be "
                   "negative");
        return false;
    }
    iot->thread = context_thread_new(name);
    return true;
}

static void iothread_finalize(Object *obj)
{
    context_thread_free(((IOThread *)obj)->thread);
}

static bool iothread_can_delete(Object *obj, Error **errp)
{
    if (((IOThread *)obj)->users) {
        error_setg(errp, "iothread '%s' is in use", obj->id);
        return false;
    }
    return true;
}

IOThread *iothread_find(const char *id, Error **errp)
{
    Object *obj = object_find(id);

    if (!obj || !type_is_a(obj->type, "iothread")) {
        error_setg(errp, "iothread \"%s\" not found", id);
        return NULL;
    }
    return (IOThread *)obj;
}

GMainContext *iothread_get_context(IOThread *iot)
{
    return context_thread_get_context(iot->thread);
}

void iothread_ref(IOThread *iot)
{
    iot->users++;
}

void iothread_unref(IOThread *iot)
{
    g_assert(iot->users);
    iot->users--;
}

static void iothread_info_one(Object *obj, void *opaque)
{
    IOThreadInfoList ***tail = opaque;
    IOThread *iot = (IOThread *)obj;
    IOThreadInfoList *node;

    if (!type_is_a(obj->type, "iothread")) {
        return;
    }
    node = g_new0(IOThreadInfoList, 1);
    node->value = g_new0(IOThreadInfo, 1);
    node->value->id = g_strdup(obj->id);
    node->value->thread_id = context_thread_tid(iot->thread);
    node->value->poll_max_ns = iot->poll_max_ns;
    node->value->poll_grow = iot->poll_grow;
    node->value->poll_shrink = iot->poll_shrink;
    node->value->aio_max_batch = iot->aio_max_batch;
    **tail = node;
    *tail = &node->next;
}

IOThreadInfoList *qmp_query_iothreads(Error **errp)
{
    IOThreadInfoList *head = NULL, **tail = &head;

    object_foreach(iothread_info_one, &tail);
    return head;
}

static const ObjectProperty iothread_props[] = {
    OBJ_PROP("poll-max-ns", OBJ_PROP_INT, IOThread, poll_max_ns,
             "maximum busy-poll time in ns (accepted, unused)"),
    OBJ_PROP("poll-grow", OBJ_PROP_INT, IOThread, poll_grow,
             "busy-poll growth factor (accepted, unused)"),
    OBJ_PROP("poll-shrink", OBJ_PROP_INT, IOThread, poll_shrink,
             "busy-poll shrink divisor (accepted, unused)"),
    OBJ_PROP("aio-max-batch", OBJ_PROP_INT, IOThread, aio_max_batch,
             "maximum I/O batch (accepted, unused)"),
    { NULL },
};

static const TypeInfo iothread_type_info = {
    .name = "iothread",
    .parent = "object",
    .description = "a thread with its own event loop",
    .user_creatable = true,
    .instance_size = sizeof(IOThread),
    .props = iothread_props,
    .complete = iothread_complete,
    .can_delete = iothread_can_delete,
    .finalize = iothread_finalize,
};
TYPE_REGISTER(iothread_type_info)
