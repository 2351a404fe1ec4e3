/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A watchdog for test programs whose cases can hang (a KVM_RUN that never
 * returns, a pause that never completes, a peer that never answers): arm
 * it with a name and a time limit before the case, disarm it after; if
 * the limit passes first, a thread of its own prints which case hung and
 * aborts the program, so the runner sees a failure instead of a test that
 * blocks until its own timeout. The thread takes no signals (a test may
 * use SIGALRM or a pause kick on its own threads).
 */
#ifndef TESTS_COMMON_WATCHDOG_H
#define TESTS_COMMON_WATCHDOG_H

#include <glib.h>

/* Aborts the program unless disarmed within seconds; what names the case
 * (it must outlive the arming, e.g. g_test_get_path()). Re-arming moves
 * the deadline. */
void test_watchdog_arm(const char *what, unsigned seconds);
void test_watchdog_disarm(void);

#endif
