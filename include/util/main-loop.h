/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The main loop and the big lock (BQL).
 *
 * The main thread runs a GLib GMainContext: monitors, chardevs, timers and
 * bottom halves are GSources on it. The BQL guards machine and device state;
 * the main thread holds it while dispatching and drops it while polling, and
 * vCPU threads hold it while handling an exit and drop it around KVM_RUN.
 * So any callback on the main context, and any device register handler,
 * runs with the BQL held.
 */
#ifndef UTIL_MAIN_LOOP_H
#define UTIL_MAIN_LOOP_H

#include <glib.h>
#include <stdbool.h>

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);   /* by the calling thread */

/* Scoped guard: `BQL_LOCK_GUARD();` holds the BQL to the end of the block. */
typedef struct BqlGuard { int dummy; } BqlGuard;
static inline BqlGuard *bql_guard_new(void) { bql_lock(); return (BqlGuard *)1; }
static inline void bql_guard_free(BqlGuard *g) { (void)g; bql_unlock(); }
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BqlGuard, bql_guard_free)
#define BQL_LOCK_GUARD() \
    g_autoptr(BqlGuard) G_PASTE(bql_guard_, __LINE__) = bql_guard_new()

/* Waits on cond, releasing the BQL meanwhile (pthread_cond_wait). */
#include <pthread.h>
void bql_cond_wait(pthread_cond_t *cond);

/* Sets up the main context; call once, before anything adds sources. */
void main_loop_init(void);
GMainContext *main_loop_context(void);
/* One iteration: poll (BQL dropped) then dispatch (BQL held). Call with
 * the BQL held. */
void main_loop_wait(bool blocking);
/* Wakes the main loop from any thread. */
void main_loop_notify(void);

/*
 * Attaching sources without GLib's re-entry guard. While a source's
 * callback runs, GLib takes the source's fds out of the poll set and
 * puts them back after, so that the context, iterated again from inside
 * the callback, cannot enter it twice; each take-out and put-back writes
 * the context's wake-up eventfd: two writes and one extra poll() per
 * dispatch. The guard matters only for a callback that iterates its
 * context: on the main context, a QMP command's bdrv_drain_all does.
 *
 * main_context_attach: src on ctx (NULL: the main context), without the
 * guard unless ctx is the main context; nothing iterates an iothread's
 * context from inside a callback.
 *
 * main_loop_attach_leaf: src on the main context without the guard, for
 * a callback that never iterates the main loop (a device's doorbell, a
 * netdev's fd), which therefore nothing can re-enter. Sources that run
 * monitor commands, and bottom halves, keep the guard.
 */
void main_context_attach(GSource *src, GMainContext *ctx);
void main_loop_attach_leaf(GSource *src);

/* Runs fn(opaque) once on the main loop, with the BQL, soon. Any thread. */
void main_loop_schedule_bh(void (*fn)(void *opaque), void *opaque);

/*
 * Runs fn(opaque) while nobody dispatches ctx (an iothread's context),
 * and returns when it is done: here if this thread owns ctx or can take
 * it (nobody runs it now), else on the thread that runs ctx, between two
 * of its callbacks, while this thread waits. Never call it for a context
 * whose thread waits for the caller.
 */
void main_context_run_sync(GMainContext *ctx, void (*fn)(void *opaque),
                           void *opaque);

#endif
