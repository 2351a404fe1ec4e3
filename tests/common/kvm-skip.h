/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one way a GTest case (unit or qtest) that needs /dev/kvm says it
 * could not run: it is registered under its own name either way, and
 * where KVM is not usable it reports "# SKIP" with the reason instead of
 * running. tests/run-all.py counts those lines as skipped, so a host
 * without KVM shows "N skipped" rather than failures, crashes in setup
 * or cases that silently vanish from the count.
 */
#ifndef TESTS_COMMON_KVM_SKIP_H
#define TESTS_COMMON_KVM_SKIP_H

#include <stdbool.h>
#include <glib.h>

/* NULL when /dev/kvm can be opened read-write, else why not (static). */
const char *test_kvm_unusable_reason(void);

/* Registers path as a case that only reports the KVM skip. */
void test_add_kvm_skipped(const char *path);

/* g_test_add_func() for a case that needs KVM. */
void test_add_kvm_func(const char *path, GTestFunc fn);

/* g_test_add_data_func() for a case that needs KVM. */
void test_add_kvm_data_func(const char *path, gconstpointer data,
                            GTestDataFunc fn);

/* g_test_add() for a fixture case that needs KVM. */
#define test_add_kvm(path, Fixture, tdata, fsetup, ftest, fteardown)      \
    do {                                                                  \
        if (test_kvm_unusable_reason()) {                                 \
            test_add_kvm_skipped(path);                                   \
        } else {                                                          \
            g_test_add(path, Fixture, tdata, fsetup, ftest, fteardown);   \
        }                                                                 \
    } while (0)

#endif
