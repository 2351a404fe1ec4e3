/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real-time window (include/util/rt-window.h): the thread runs
 * SCHED_FIFO 1 inside it and its own policy after it; without the
 * privilege nothing changes and the caller is told.
 */
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include "util/rt-window.h"

static bool may_run_realtime(void)
{
    struct sched_param p = { .sched_priority = 1 };
    bool ok = sched_setscheduler(0, SCHED_FIFO, &p) == 0;

    p.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &p);
    return ok;
}

static void test_enter_leave(void)
{
    RtWindow w = { 0 };
    struct sched_param p;

    if (!may_run_realtime()) {
        g_test_skip("this process may not use SCHED_FIFO (no CAP_SYS_NICE)");
        return;
    }
    g_assert_cmpint(sched_getscheduler(0), ==, SCHED_OTHER);
    g_assert_true(rt_window_enter(&w, "test"));
    g_assert_cmpint(sched_getscheduler(0), ==, SCHED_FIFO);
    g_assert_cmpint(sched_getparam(0, &p), ==, 0);
    g_assert_cmpint(p.sched_priority, ==, 1);
    g_assert_true(rt_window_enter(&w, "test"));     /* already in */
    rt_window_leave(&w);
    g_assert_cmpint(sched_getscheduler(0), ==, SCHED_OTHER);
    rt_window_leave(&w);                            /* already out */
    g_assert_cmpint(sched_getscheduler(0), ==, SCHED_OTHER);
}

/* As an unprivileged user (a child that drops root), entering fails
 * and the thread keeps its policy. */
static void test_unprivileged(void)
{
    pid_t pid;
    int status;

    if (geteuid() != 0) {
        g_test_skip("needs root to drop privileges in a child");
        return;
    }
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        RtWindow w = { 0 };

        if (setgid(65534) || setuid(65534)) {
            _exit(2);
        }
        if (rt_window_enter(&w, "test") || w.raised ||
            sched_getscheduler(0) != SCHED_OTHER) {
            _exit(1);
        }
        rt_window_leave(&w);
        _exit(sched_getscheduler(0) == SCHED_OTHER ? 0 : 1);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rt-window/enter-leave", test_enter_leave);
    g_test_add_func("/rt-window/unprivileged", test_unprivileged);
    return g_test_run();
}
