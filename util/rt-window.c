/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Short real-time windows for one thread; see include/util/rt-window.h. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "util/error.h"
#include "util/rt-window.h"
#include "trace.h"

bool rt_window_enter(RtWindow *w, const char *why)
{
    static bool warned;
    struct sched_param rt = { .sched_priority = 1 };
    int r;

    if (w->raised) {
        return true;
    }
    r = pthread_getschedparam(pthread_self(), &w->old_policy, &w->old_param);
    if (r == 0) {
        r = pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt);
    }
    trace_rt_window_enter(why, r);
    if (r) {
        if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED)) {
            warn_report("%s: cannot run real-time (%s); a busy host may "
                        "stretch it", why, strerror(r));
        }
        return false;
    }
    w->raised = true;
    return true;
}

void rt_window_leave(RtWindow *w)
{
    if (!w->raised) {
        return;
    }
    pthread_setschedparam(pthread_self(), w->old_policy, &w->old_param);
    w->raised = false;
    trace_rt_window_leave();
}
