/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network monitor commands on the real binary: netdev_add (user,
 * hubport, stream with a nested address), set_link, netdev_del and their
 * QEMU errors, announce-self, and info network agreeing with what was
 * added, query-rx-filter on a virtio-net NIC, and info usernet in
 * QEMU 7.2's layout. The binary runs its pc
 * under -accel qtest: no guest, no KVM. The same commands run
 * in-process in tests/unit/test-net-qmp.c and test-virtio-net.c.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
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

/* query-rx-filter on a virtio-net NIC the guest has not touched: the
 * device's reset filter (promiscuous, its own MAC, no tables). */
static void test_rx_filter(void)
{
    QTestState *s = qtest_init_accel_qtest(
        "-serial null -netdev user,id=n0 "
        "-device virtio-net-pci,netdev=n0,id=nic0,mac=52:54:00:12:34:99");
    json_object *ret, *info;

    ret = qtest_qmp_assert_success(s, "{'execute': 'query-rx-filter'}");
    g_assert_cmpuint(json_object_array_length(ret), ==, 1);
    info = json_object_array_get_idx(ret, 0);
    g_assert_cmpstr(json_object_get_string(qt_json_get(info, "name")), ==,
                    "nic0");
    g_assert_cmpstr(json_object_get_string(qt_json_get(info, "main-mac")),
                    ==, "52:54:00:12:34:99");
    g_assert_true(json_object_get_boolean(qt_json_get(info,
                                                      "promiscuous")));
    json_object_put(ret);
    qtest_qmp_assert_error_is(s, "GenericError",
                              "net client(n0) isn't a NIC",
                              "{'execute': 'query-rx-filter', 'arguments': "
                              "{'name': 'n0'}}");
    qtest_quit(s);
}

/* NICs without an id get QEMU's names: the model and how many NICs of
 * that model came before (named ones count too); an id is the name.
 * query-rx-filter by such a name finds the NIC. */
static void test_nic_names(void)
{
    static const char *const want[] = {
        "virtio-net-pci.0", "nic1", "virtio-net-pci.2",
    };
    QTestState *s = qtest_init_accel_qtest(
        "-netdev user,id=n0 -device virtio-net-pci,netdev=n0 "
        "-netdev user,id=n1 -device virtio-net-pci,netdev=n1,id=nic1 "
        "-netdev user,id=n2 -device virtio-net-pci,netdev=n2");
    g_autofree char *info = qtest_hmp(s, "info network");
    json_object *ret;

    ret = qtest_qmp_assert_success(s, "{'execute': 'query-rx-filter'}");
    g_assert_cmpuint(json_object_array_length(ret), ==, G_N_ELEMENTS(want));
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *line = g_strdup_printf("%s: index=0,type=nic,",
                                                want[i]);

        g_assert_cmpstr(qt_json_str(json_object_array_get_idx(ret, i),
                                    "name"), ==, want[i]);
        g_assert_nonnull(strstr(info, line));
    }
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'query-rx-filter', "
                                   "'arguments': {'name': "
                                   "'virtio-net-pci.2'}}");
    g_assert_cmpuint(json_object_array_length(ret), ==, 1);
    json_object_put(ret);
    qtest_quit(s);
}

/* A loopback TCP port nothing listens on now, for a host forward. */
static int unused_loopback_port(void)
{
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&addr, &len), ==, 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* info usernet prints what QEMU 7.2 prints for the same netdevs: a
 * "Hub -1 (ID):" heading per user netdev (not on a hub), libslirp's
 * table header, and a HOST_FORWARD row per forward. The FD column is
 * ours and not compared. Lines end "\r\n", as QEMU's monitor output
 * does. hostfwd_remove says the rule went, as QEMU's does, and the
 * forward leaves the table. */
static void test_info_usernet(void)
{
    static const char header[] =
        "  Protocol[State]    FD  Source Address  Port   Dest. Address  "
        "Port RecvQ SendQ\r\n";
    QTestState *s = qtest_init_accel_qtest(
        "-serial null -netdev user,id=n0 -netdev user,id=n1 "
        "-netdev hubport,id=p0,hubid=2");
    int port = unused_loopback_port();
    g_autofree char *fwd = g_strdup_printf("tcp:127.0.0.1:%d-:22", port);
    g_autofree char *add = g_strdup_printf("hostfwd_add n0 %s", fwd);
    g_autofree char *del = g_strdup_printf(
        "hostfwd_remove n0 tcp:127.0.0.1:%d", port);
    g_autofree char *want_removed = g_strdup_printf(
        "host forwarding rule for tcp:127.0.0.1:%d removed\r\n", port);
    g_autofree char *row_tail = g_strdup_printf(
        "       127.0.0.1 %5d       10.0.2.15    22     0     0\r\n", port);
    g_autofree char *want_n0 = g_strdup_printf("Hub -1 (n0):\r\n%s", header);
    g_autofree char *want_n1 = g_strdup_printf("Hub -1 (n1):\r\n%s", header);
    g_autofree char *added = NULL, *info = NULL, *removed = NULL;
    g_autofree char *after = NULL;
    const char *row;

    added = qtest_hmp(s, "%s", add);
    g_assert_cmpstr(added, ==, "");
    info = qtest_hmp(s, "info usernet");
    g_assert_true(g_str_has_prefix(info, want_n0));
    row = info + strlen(want_n0);
    g_assert_true(g_str_has_prefix(row, "  TCP[HOST_FORWARD] "));
    g_assert_nonnull(strstr(row, row_tail));
    /* n1 has no forwards: its heading and header, nothing else; the
     * hubport is not a user netdev and is not listed. */
    g_assert_true(g_str_has_suffix(info, want_n1));
    g_assert_null(strstr(info, "p0"));

    removed = qtest_hmp(s, "%s", del);
    g_assert_cmpstr(removed, ==, want_removed);
    after = qtest_hmp(s, "info usernet");
    g_assert_null(strstr(after, "HOST_FORWARD"));
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/qtest/netdev-commands", test_netdev_commands);
    g_test_add_func("/net/qtest/rx-filter", test_rx_filter);
    g_test_add_func("/net/qtest/nic-names", test_nic_names);
    g_test_add_func("/net/qtest/info-usernet", test_info_usernet);
    return g_test_run();
}
