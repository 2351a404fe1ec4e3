/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A thread that runs a GMainContext of its own until it is stopped.
 * Work attached to that context never waits for the main loop, nor for
 * the BQL the main loop holds while it dispatches: the monitor's I/O
 * thread (out-of-band commands), `-object iothread` (colo-compare) and
 * migrate-recover's listener (a destination whose device load waits,
 * BQL held, for a page that only the recovered connection can bring)
 * each run on one.
 */
#ifndef UTIL_CONTEXT_THREAD_H
#define UTIL_CONTEXT_THREAD_H

#include <glib.h>

typedef struct ContextThread ContextThread;

/* Starts the thread (name: as ps and gdb show it); returns once it runs. */
ContextThread *context_thread_new(const char *name);
GMainContext *context_thread_get_context(ContextThread *ct);
/* Its kernel thread id (query-iothreads). */
int context_thread_tid(ContextThread *ct);
/* Quits the loop once what is dispatching now returns, and joins the
 * thread; the context stays valid (sources on it no longer run) until
 * context_thread_free(). Idempotent. */
void context_thread_stop(ContextThread *ct);
/* Stops it if running, then frees it. NULL is ignored. */
void context_thread_free(ContextThread *ct);

#endif
