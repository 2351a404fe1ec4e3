/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A thread running its own GMainContext (include/util/context-thread.h). */
#include <unistd.h>
#include "util/context-thread.h"
#include "trace.h"

struct ContextThread {
    GThread *thread;            /* NULL once stopped */
    GMainContext *context;
    GMainLoop *loop;
    GMutex lock;
    GCond started;
    int tid;                    /* (lock) 0 until the thread runs */
};

static gpointer context_thread_run(gpointer opaque)
{
    ContextThread *ct = opaque;

    g_main_context_push_thread_default(ct->context);
    g_mutex_lock(&ct->lock);
    ct->tid = gettid();
    g_cond_signal(&ct->started);
    g_mutex_unlock(&ct->lock);
    g_main_loop_run(ct->loop);
    g_main_context_pop_thread_default(ct->context);
    return NULL;
}

ContextThread *context_thread_new(const char *name)
{
    ContextThread *ct = g_new0(ContextThread, 1);

    ct->context = g_main_context_new();
    ct->loop = g_main_loop_new(ct->context, FALSE);
    g_mutex_init(&ct->lock);
    g_cond_init(&ct->started);
    g_mutex_lock(&ct->lock);
    ct->thread = g_thread_new(name, context_thread_run, ct);
    while (!ct->tid) {
        g_cond_wait(&ct->started, &ct->lock);
    }
    g_mutex_unlock(&ct->lock);
    trace_context_thread_start(name, ct->tid);
    return ct;
}

GMainContext *context_thread_get_context(ContextThread *ct)
{
    return ct->context;
}

int context_thread_tid(ContextThread *ct)
{
    return ct->tid;
}

/* On the thread itself, between dispatches: nothing is cut short. */
static gboolean context_thread_quit_cb(gpointer opaque)
{
    g_main_loop_quit(opaque);
    return G_SOURCE_REMOVE;
}

void context_thread_stop(ContextThread *ct)
{
    GSource *quit;

    if (!ct->thread) {
        return;
    }
    quit = g_idle_source_new();
    g_source_set_callback(quit, context_thread_quit_cb, ct->loop, NULL);
    g_source_attach(quit, ct->context);
    g_source_unref(quit);
    g_thread_join(ct->thread);
    ct->thread = NULL;
}

void context_thread_free(ContextThread *ct)
{
    if (!ct) {
        return;
    }
    context_thread_stop(ct);
    g_main_loop_unref(ct->loop);
    g_main_context_unref(ct->context);
    g_mutex_clear(&ct->lock);
    g_cond_clear(&ct->started);
    g_free(ct);
}
