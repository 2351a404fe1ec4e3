/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM skip shared by the unit tests and the qtests (see kvm-skip.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "kvm-skip.h"

const char *test_kvm_unusable_reason(void)
{
    static gsize once;
    static char *reason;

    if (g_once_init_enter(&once)) {
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

        if (fd < 0) {
            reason = g_strdup_printf("/dev/kvm is not usable here: %s",
                                     strerror(errno));
        } else {
            close(fd);
        }
        g_once_init_leave(&once, 1);
    }
    return reason;
}

static void test_kvm_skip(void)
{
    g_test_skip(test_kvm_unusable_reason());
}

void test_add_kvm_skipped(const char *path)
{
    g_test_add_func(path, test_kvm_skip);
}

void test_add_kvm_func(const char *path, GTestFunc fn)
{
    g_test_add_func(path, test_kvm_unusable_reason() ? test_kvm_skip : fn);
}

static void test_kvm_skip_data(gconstpointer data)
{
    (void)data;
    test_kvm_skip();
}

void test_add_kvm_data_func(const char *path, gconstpointer data,
                            GTestDataFunc fn)
{
    g_test_add_data_func(path, data,
                         test_kvm_unusable_reason() ? test_kvm_skip_data : fn);
}
