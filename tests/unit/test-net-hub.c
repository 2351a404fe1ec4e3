/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub (-netdev hubport): a frame from one port's NIC reaches every
 * other port's NIC and never its sender; a slow NIC keeps its frames
 * queued without holding the others; netdev= puts a netdev behind a
 * port; -nic with a model that does not exist is the registry's error.
 */
#include <string.h>
#include "net-test-nic.h"
#include "net/netdev.h"
#include "util/main-loop.h"

static void test_hub_forward(void)
{
    TestNic *n[3];
    uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1 };

    for (int i = 0; i < 3; i++) {
        g_autofree char *arg = g_strdup_printf("hubport,id=p%d,hubid=7", i);
        g_autofree char *name = g_strdup_printf("nic%d", i);
        g_autofree char *id = g_strdup_printf("p%d", i);

        g_assert_nonnull(net_netdev_add_cmdline(arg, &error_abort));
        n[i] = test_nic_new(name, id);
    }
    n[2]->room = 0;                 /* a NIC whose guest posted nothing */
    g_assert_cmpint(test_nic_send(n[0], frame, sizeof(frame)), ==,
                    sizeof(frame));
    g_assert_cmpuint(n[0]->got->len, ==, 0);
    g_assert_cmpuint(n[1]->got->len, ==, 1);
    g_assert_cmpuint(n[2]->got->len, ==, 0);
    g_assert_cmpuint(net_client_queued(n[2]->nc), ==, 1);
    /* n1's traffic is not held up behind n2's queue. */
    frame[6] = 2;
    test_nic_send(n[1], frame, sizeof(frame));
    g_assert_cmpuint(n[0]->got->len, ==, 1);
    g_assert_cmpuint(net_client_queued(n[2]->nc), ==, 2);
    n[2]->room = -1;
    net_client_flush_queue(n[2]->nc);
    g_assert_cmpuint(n[2]->got->len, ==, 2);
    for (int i = 0; i < 3; i++) {
        g_autofree char *id = g_strdup_printf("p%d", i);

        test_nic_free(n[i]);
        g_assert_true(net_netdev_del(id, &error_abort));
    }
}

/* hubport,netdev=: a backend behind a port; it cannot be taken twice. */
static void test_hub_netdev(void)
{
    Error *err = NULL;

    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=a,hubid=1",
                                            &error_abort));
    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=b,hubid=2,netdev=a",
                                            &error_abort));
    g_assert_true(net_find_netdev("a")->peer == net_find_netdev("b"));
    g_assert_null(net_netdev_add_cmdline("hubport,id=c,hubid=2,netdev=a",
                                         &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "already in use"));
    error_free(err);
    err = NULL;
    g_assert_null(net_netdev_add_cmdline("hubport,id=c,hubid=2,netdev=zz",
                                         &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "'zz' not found"));
    error_free(err);
    net_netdev_del("b", &error_abort);
    net_netdev_del("a", &error_abort);
}

static void test_nic_option(void)
{
    Error *err = NULL;

    g_assert_false(net_nic_add_cmdline("hubport,hubid=0,model=no-such-nic",
                                       &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "'no-such-nic' is not a valid device model"));
    error_free(err);
    /* The netdev made for it is gone again. */
    g_assert_null(net_find_netdev("__org.qemu.nic0"));
    g_assert_true(net_nic_add_cmdline("none", &error_abort));
}

/* -net: netdevs and NICs meet on hub 0. */
static void test_legacy_net(void)
{
    NetClientState *port, *user;
    Error *err = NULL;

    g_assert_true(net_legacy_add_cmdline("user,net=10.9.0.0/24",
                                         &error_abort));
    port = net_find_netdev("hub0port0");
    user = net_find_netdev("__org.qemu.net0");
    g_assert_nonnull(port);
    g_assert_nonnull(user);
    g_assert_true(port->peer == user);
    g_assert_cmpstr(user->info_str, ==, "net=10.9.0.0,restrict=off");
    /* A NIC model that does not exist: the registry's error, and the
     * port made for it is gone again. */
    g_assert_false(net_legacy_add_cmdline("nic,model=no-such-nic", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "no-such-nic"));
    error_free(err);
    g_assert_null(net_find_netdev("hub0port1"));
    err = NULL;
    g_assert_false(net_legacy_add_cmdline("nic,vlan=1", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Invalid parameter 'vlan'"));
    error_free(err);
    g_assert_true(net_legacy_add_cmdline("none", &error_abort));
    net_netdev_del("hub0port0", &error_abort);
    net_netdev_del("__org.qemu.net0", &error_abort);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    g_test_add_func("/net/hub/forward", test_hub_forward);
    g_test_add_func("/net/hub/netdev", test_hub_netdev);
    g_test_add_func("/net/nic-option", test_nic_option);
    if (test_slirp_unusable_reason()) {
        g_test_add_data_func("/net/legacy-net", test_slirp_unusable_reason(),
                             (GTestDataFunc)g_test_skip);
    } else {
        g_test_add_func("/net/legacy-net", test_legacy_net);
    }
    return g_test_run();
}
