/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The iothread object type (see include/qom/iothread.h). */
#include <unistd.h>
#include "qapi/qapi-commands.h"
#include "qom/iothread.h"
#include "trace.h"

struct IOThread {
    Object parent;
    /* properties, accepted for QEMU compatibility (no AioContext here) */
    int64_t poll_max_ns;
    int64_t poll_grow;
    int64_t poll_shrink;
    int64_t aio_max_batch;
    /* state */
    GThread *thread;
    GMainContext *context;
    GMainLoop *loop;
    unsigned users;
    /* The thread's kernel tid (query-iothreads); complete() waits until
     * the thread has written it. */
    GMutex tid_lock;
    GCond tid_known;
    int tid;
};

static gpointer iothread_run(gpointer opaque)
{
    IOThread *iot = opaque;

    g_mutex_lock(&iot->tid_lock);
    iot->tid = gettid();
    g_cond_signal(&iot->tid_known);
    g_mutex_unlock(&iot->tid_lock);
    g_main_context_push_thread_default(iot->context);
    g_main_loop_run(iot->loop);
    g_main_context_pop_thread_default(iot->context);
    return NULL;
}

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
    iot->context = g_main_context_new();
    iot->loop = g_main_loop_new(iot->context, FALSE);
    g_mutex_init(&iot->tid_lock);
    g_cond_init(&iot->tid_known);
    g_mutex_lock(&iot->tid_lock);
    iot->thread = g_thread_new(name, iothread_run, iot);
    while (!iot->tid) {
        g_cond_wait(&iot->tid_known, &iot->tid_lock);
    }
    g_mutex_unlock(&iot->tid_lock);
    return true;
}

static gboolean iothread_quit_cb(gpointer opaque)
{
    g_main_loop_quit(opaque);
    return G_SOURCE_REMOVE;
}

static void iothread_finalize(Object *obj)
{
    IOThread *iot = (IOThread *)obj;
    GSource *quit;

    if (!iot->thread) {
        return;
    }
    quit = g_idle_source_new();
    g_source_set_callback(quit, iothread_quit_cb, iot->loop, NULL);
    g_source_attach(quit, iot->context);
    g_source_unref(quit);
    g_thread_join(iot->thread);
    g_main_loop_unref(iot->loop);
    g_main_context_unref(iot->context);
    g_mutex_clear(&iot->tid_lock);
    g_cond_clear(&iot->tid_known);
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
    return iot->context;
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
    node->value->thread_id = iot->tid;
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
