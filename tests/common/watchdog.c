/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test watchdog (see watchdog.h): one thread, started on first use,
 * polling a deadline ten times a second.
 */
#include <signal.h>
#include <stdlib.h>
#include <pthread.h>
#include "watchdog.h"

static gint64 watchdog_deadline;    /* monotonic us, 0 = disarmed */
static const char *watchdog_what;
static unsigned watchdog_seconds;

static gpointer watchdog_thread(gpointer opaque)
{
    for (;;) {
        gint64 d = __atomic_load_n(&watchdog_deadline, __ATOMIC_ACQUIRE);

        if (d && g_get_monotonic_time() > d) {
            g_printerr("%s: '%s' did not finish within %u s\n",
                       g_get_prgname(), watchdog_what, watchdog_seconds);
            abort();
        }
        g_usleep(100 * 1000);
    }
    return NULL;
}

/* The thread inherits a mask that blocks every signal: they are for the
 * test's own threads. */
static void watchdog_start_once(void)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        sigset_t all, old;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        g_thread_unref(g_thread_new("watchdog", watchdog_thread, NULL));
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        g_once_init_leave(&once, 1);
    }
}

void test_watchdog_arm(const char *what, unsigned seconds)
{
    watchdog_start_once();
    watchdog_what = what;
    watchdog_seconds = seconds;
    __atomic_store_n(&watchdog_deadline,
                     g_get_monotonic_time() + seconds * G_USEC_PER_SEC,
                     __ATOMIC_RELEASE);
}

void test_watchdog_disarm(void)
{
    __atomic_store_n(&watchdog_deadline, 0, __ATOMIC_RELEASE);
}
