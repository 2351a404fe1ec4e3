/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A few milliseconds in which one thread must not wait for the scheduler.
 *
 * x-strict-downtime promises the guest's pause stays under downtime-limit.
 * On a busy host the pause stretched because the threads that end it were
 * runnable but not running: the source's migration thread waking for the
 * destination's pong, the destination's incoming thread reading the last
 * bytes and starting the vCPUs. Under CFS a woken thread can wait a whole
 * slice of the CPU hogs beside it (several ms with two hogs on two cores).
 *
 * So those threads run SCHED_FIFO at priority 1 for the switchover window
 * only (rt_window_enter .. rt_window_leave), and back to their own policy
 * after it. Priority 1 is the lowest real-time one: it beats every normal
 * thread and nothing real-time. The window is short and bounded by the
 * downtime deadline (the thread waits in poll() with a deadline, never
 * spins unbounded), and the kernel's real-time throttling (95% by
 * default) still bounds a runaway. Without the privilege (CAP_SYS_NICE or
 * an RLIMIT_RTPRIO of at least 1) entering fails harmlessly: a trace
 * event, one warning per process, and the thread runs as before.
 */
#ifndef UTIL_RT_WINDOW_H
#define UTIL_RT_WINDOW_H

#include <sched.h>
#include <stdbool.h>

typedef struct RtWindow {
    bool raised;                /* the thread runs SCHED_FIFO now */
    int old_policy;
    struct sched_param old_param;
} RtWindow;

/* Raises the calling thread; false (and nothing changed) if not allowed.
 * Entering a window already entered is a no-op returning true. */
bool rt_window_enter(RtWindow *w, const char *why);
/* Back to the policy the thread had; a no-op when not raised. */
void rt_window_leave(RtWindow *w);

#endif
