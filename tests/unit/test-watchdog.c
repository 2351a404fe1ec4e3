/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test watchdog (tests/common/watchdog.c) that the KVM tests rely on
 * to turn a hang into a failure: armed and not disarmed in time it aborts
 * the program naming the case; disarmed, or re-armed in time, it does not.
 * Each case runs in a subprocess, since the watchdog ends the process.
 */
#include <glib.h>
#include "watchdog.h"

static void test_fires(void)
{
    if (g_test_subprocess()) {
        test_watchdog_arm("the hanging case", 1);
        g_usleep(5 * G_USEC_PER_SEC);
        return;
    }
    g_test_trap_subprocess(NULL, 20 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*'the hanging case' did not finish within "
                              "1 s*");
}

static void test_disarmed(void)
{
    if (g_test_subprocess()) {
        test_watchdog_arm("first", 1);
        g_usleep(500 * 1000);
        test_watchdog_arm("second", 1);     /* moves the deadline */
        g_usleep(700 * 1000);
        test_watchdog_disarm();
        g_usleep(1500 * 1000);
        return;
    }
    g_test_trap_subprocess(NULL, 20 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/watchdog/fires", test_fires);
    g_test_add_func("/watchdog/disarmed", test_disarmed);
    return g_test_run();
}
