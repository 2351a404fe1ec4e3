/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network monitor commands on the real binary: netdev_add (user,
 * hubport, stream with a nested address), set_link, netdev_del and their
 * QEMU errors, announce-self, and info network agreeing with what was
 * added. The binary runs its pc under -accel qtest: no guest, no KVM. The same commands run in-process, without KVM, in
 * tests/unit/test-net-qmp.c.
 */
#include <string.h>
#include "libqtest.h"

static void test_netdev_commands(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null -netdev user,id=n0");
    g_autofree char *info = NULL;

    qtest_qmp_ok(s, "{'execute': 'netdev_add', 'arguments': "
                 "{'type': 'hubport', 'id': 'p0', 'hubid': 1}}");
    qtest_qmp_ok(s, "{'execute': 'netdev_add', 'arguments': "
                 "{'type': 'stream', 'id': 's0', 'server': true, "
                 "'addr': {'type': 'inet', 'host': '127.0.0.1', "
                 "'port': '0'}}}");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "Duplicate ID 'n0' for netdev",
                              "{'execute': 'netdev_add', 'arguments': "
                              "{'type': 'user', 'id': 'n0'}}");
    info = qtest_hmp(s, "info network");
    g_assert_nonnull(strstr(info, "hub 1"));
    g_assert_nonnull(strstr(info, "n0: index=0,type=user,net=10.0.2.0"));
    g_assert_nonnull(strstr(info, "s0: index=0,type=stream,listening on"));

    qtest_qmp_ok(s, "{'execute': 'set_link', 'arguments': "
                 "{'name': 'n0', 'up': false}}");
    qtest_qmp_assert_error_is(s, "DeviceNotFound", "Device 'zz' not found",
                              "{'execute': 'set_link', 'arguments': "
                              "{'name': 'zz', 'up': true}}");
    qtest_qmp_ok(s, "{'execute': 'announce-self', 'arguments': "
                 "{'initial': 50, 'max': 550, 'rounds': 2, 'step': 50}}");
    qtest_qmp_ok(s, "{'execute': 'netdev_del', 'arguments': {'id': 's0'}}");
    qtest_qmp_ok(s, "{'execute': 'netdev_del', 'arguments': {'id': 'p0'}}");
    qtest_qmp_assert_error_is(s, "DeviceNotFound", "Device 'p0' not found",
                              "{'execute': 'netdev_del', 'arguments': "
                              "{'id': 'p0'}}");
    g_free(info);
    info = qtest_hmp(s, "info network");
    g_assert_null(strstr(info, "s0:"));
    g_assert_null(strstr(info, "hub 1"));
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/qtest/netdev-commands", test_netdev_commands);
    return g_test_run();
}
