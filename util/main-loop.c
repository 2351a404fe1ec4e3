/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The main loop: a GLib GMainContext driven by hand so that the big lock
 * can be dropped exactly while we sleep in poll() and held while sources
 * dispatch. vCPU threads take the same lock to handle their exits, so a
 * device never sees a main-loop callback and a register access at once.
 */
#include <pthread.h>
#include "util/main-loop.h"

static pthread_mutex_t bql_mutex = PTHREAD_MUTEX_INITIALIZER;
static __thread bool bql_held;
static GMainContext *main_context;
static GArray *main_poll_fds;

void bql_lock(void)
{
    g_assert(!bql_held);
    pthread_mutex_lock(&bql_mutex);
    bql_held = true;
}

void bql_unlock(void)
{
    g_assert(bql_held);
    bql_held = false;
    pthread_mutex_unlock(&bql_mutex);
}

bool bql_locked(void)
{
    return bql_held;
}



void bql_cond_wait(pthread_cond_t *cond)
{
    g_assert(bql_held);
    bql_held = false;
    pthread_cond_wait(cond, &bql_mutex);
    bql_held = true;
}

void main_loop_init(void)
{
    if (main_context) {
        return;
    }
    main_context = g_main_context_default();
    main_poll_fds = g_array_new(FALSE, FALSE, sizeof(GPollFD));
}

GMainContext *main_loop_context(void)
{
    return main_context;
}

void main_loop_wait(bool blocking)
{
    gint max_priority, timeout;
    gint nfds;

    g_assert(bql_held);
    if (!g_main_context_acquire(main_context)) {
        return;
    }
    g_main_context_prepare(main_context, &max_priority);
    for (;;) {
        nfds = g_main_context_query(main_context, max_priority, &timeout,
                                    (GPollFD *)main_poll_fds->data,
                                    main_poll_fds->len);
        if ((guint)nfds <= main_poll_fds->len) {
            break;
        }
        g_array_set_size(main_poll_fds, nfds);
    }
    if (!blocking) {
        timeout = 0;
    }

    bql_unlock();
    g_poll((GPollFD *)main_poll_fds->data, nfds, timeout);
    bql_lock();

    if (g_main_context_check(main_context, max_priority,
                             (GPollFD *)main_poll_fds->data, nfds)) {
        g_main_context_dispatch(main_context);
    }
    g_main_context_release(main_context);
}

void main_loop_notify(void)
{
    g_main_context_wakeup(main_context);
}

void main_context_attach(GSource *src, GMainContext *ctx)
{
    if (ctx && ctx != main_context) {
        g_source_set_can_recurse(src, TRUE);
    }
    g_source_attach(src, ctx);
}

void main_loop_attach_leaf(GSource *src)
{
    g_source_set_can_recurse(src, TRUE);
    g_source_attach(src, main_context);
}

typedef struct MainLoopBh {
    void (*fn)(void *opaque);
    void *opaque;
} MainLoopBh;

static gboolean main_loop_bh_dispatch(gpointer data)
{
    MainLoopBh *bh = data;

    bh->fn(bh->opaque);
    return G_SOURCE_REMOVE;
}

void main_loop_schedule_bh(void (*fn)(void *opaque), void *opaque)
{
    MainLoopBh *bh = g_new(MainLoopBh, 1);
    GSource *source = g_idle_source_new();

    bh->fn = fn;
    bh->opaque = opaque;
    g_source_set_priority(source, G_PRIORITY_HIGH);
    g_source_set_callback(source, main_loop_bh_dispatch, bh, g_free);
    g_source_attach(source, main_context);
    g_source_unref(source);
}

typedef struct ContextJob {
    void (*fn)(void *opaque);
    void *opaque;
    GMutex lock;
    GCond cond;
    bool done;
} ContextJob;

static gboolean context_job_dispatch(gpointer data)
{
    ContextJob *job = data;

    job->fn(job->opaque);
    g_mutex_lock(&job->lock);
    job->done = true;
    g_cond_signal(&job->cond);
    g_mutex_unlock(&job->lock);
    return G_SOURCE_REMOVE;
}

void main_context_run_sync(GMainContext *ctx, void (*fn)(void *opaque),
                           void *opaque)
{
    ContextJob job = { .fn = fn, .opaque = opaque };
    GSource *src;

    if (g_main_context_is_owner(ctx)) {
        fn(opaque);
        return;
    }
    if (g_main_context_acquire(ctx)) {
        fn(opaque);
        g_main_context_release(ctx);
        return;
    }
    g_mutex_init(&job.lock);
    g_cond_init(&job.cond);
    src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_HIGH);
    g_source_set_callback(src, context_job_dispatch, &job, NULL);
    g_source_attach(src, ctx);
    g_source_unref(src);
    g_mutex_lock(&job.lock);
    while (!job.done) {
        g_cond_wait(&job.cond, &job.lock);
    }
    g_mutex_unlock(&job.lock);
    g_mutex_clear(&job.lock);
    g_cond_clear(&job.cond);
}
