/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netdev_add, netdev_del, set_link and announce-self through the QMP
 * server in-process (qmp-test-client.h), and HMP's info network,
 * netdev_add/netdev_del, set_link and hostfwd_add/remove, with a
 * pretend NIC (net-test-nic.h).
 */
#include <string.h>
#include "monitor/monitor.h"
#include "net-test-nic.h"
#include "net/netdev.h"
#include "qmp-test-client.h"

static void test_netdev_add_del(void)
{
    Client *c = client_new();

    negotiate(c, false);
    expect_return(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                  "{\"type\": \"user\", \"id\": \"u0\", \"restrict\": true, "
                  "\"hostfwd\": [{\"str\": \"tcp:127.0.0.1:0-:80\"}]}}",
                  NULL);
    g_assert_cmpstr(net_find_netdev("u0")->info_str, ==,
                    "net=10.0.2.0,restrict=on");
    /* Nested SocketAddress: dotted keys inside. */
    expect_return(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                  "{\"type\": \"stream\", \"id\": \"s0\", \"server\": true, "
                  "\"addr\": {\"type\": \"inet\", \"host\": \"127.0.0.1\", "
                  "\"port\": \"0\"}}}", NULL);
    g_assert_nonnull(strstr(net_find_netdev("s0")->info_str,
                            "listening on tcp:127.0.0.1:"));
    expect_return(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                  "{\"type\": \"hubport\", \"id\": \"h0\", \"hubid\": 3}}",
                  NULL);

    expect_error(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"user\", \"id\": \"u0\"}}", "GenericError",
                 "Duplicate ID 'u0' for netdev", NULL);
    expect_error(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"vde\", \"id\": \"v\"}}", "GenericError",
                 "Parameter 'type' does not accept value 'vde'", NULL);
    expect_error(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"user\"}}", "GenericError",
                 "Parameter 'id' is missing", NULL);
    expect_error(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"tap\", \"id\": \"t\", \"vhost\": true}}",
                 "GenericError", "vhost=on: vhost-net is not supported",
                 NULL);
    expect_error(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"user\", \"id\": \"x\", \"hostfwd\": [1]}}",
                 "GenericError", "Invalid parameter type for 'hostfwd'",
                 NULL);
    expect_error(c, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"user\", \"id\": \"x\", \"bogus\": 1}}",
                 "GenericError", "Invalid parameter 'bogus'", NULL);
    g_assert_null(net_find_netdev("x"));

    for (int i = 0; i < 3; i++) {
        static const char *const ids[] = { "u0", "s0", "h0" };
        g_autofree char *cmd = g_strdup_printf(
            "{\"execute\": \"netdev_del\", \"arguments\": {\"id\": \"%s\"}}",
            ids[i]);

        expect_return(c, cmd, NULL);
        g_assert_null(net_find_netdev(ids[i]));
    }
    expect_error(c, "{\"execute\": \"netdev_del\", \"arguments\": "
                 "{\"id\": \"u0\"}}", "DeviceNotFound",
                 "Device 'u0' not found", NULL);
    client_free(c);
}

static void test_set_link(void)
{
    Client *c = client_new();
    TestNic *nic;

    negotiate(c, false);
    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=p0,hubid=0",
                                            &error_abort));
    nic = test_nic_new("nic0", "p0");
    expect_return(c, "{\"execute\": \"set_link\", \"arguments\": "
                  "{\"name\": \"nic0\", \"up\": false}}", NULL);
    g_assert_true(nic->nc->link_down);
    g_assert_true(net_find_netdev("p0")->link_down);
    expect_return(c, "{\"execute\": \"set_link\", \"arguments\": "
                  "{\"name\": \"p0\", \"up\": true}}", NULL);
    g_assert_false(nic->nc->link_down);
    g_assert_false(net_find_netdev("p0")->link_down);
    expect_error(c, "{\"execute\": \"set_link\", \"arguments\": "
                 "{\"name\": \"nope\", \"up\": true}}", "DeviceNotFound",
                 "Device 'nope' not found", NULL);
    test_nic_free(nic);
    net_netdev_del("p0", &error_abort);
    client_free(c);
}

static int announced;

static void count_announce(NetClientState *nc)
{
    announced++;
}

static ssize_t take_all(NetClientState *nc, const struct iovec *iov,
                        int iovcnt)
{
    return iov[0].iov_len;
}

static const NetClientInfo announcing_nic = {
    .kind = NET_CLIENT_KIND_NIC,
    .receive_iov = take_all,
    .announce = count_announce,
};

static bool three(void *opaque)
{
    return announced >= 3;
}

static void test_announce_self(void)
{
    Client *c = client_new();
    NetClientState *a = net_client_new(&announcing_nic, NULL, "x", "nicA",
                                       NULL, &error_abort);
    NetClientState *b = net_client_new(&announcing_nic, NULL, "x", "nicB",
                                       NULL, &error_abort);

    negotiate(c, false);
    announced = 0;
    expect_return(c, "{\"execute\": \"announce-self\", \"arguments\": "
                  "{\"initial\": 5, \"max\": 20, \"rounds\": 3, \"step\": 5, "
                  "\"interfaces\": [\"nicB\"]}}", NULL);
    g_assert_cmpint(announced, ==, 1);      /* the first round at once */
    g_assert_true(test_net_spin_until(three, NULL, 2000));
    test_net_spin(100);
    g_assert_cmpint(announced, ==, 3);      /* nicB only, 3 rounds */
    expect_error(c, "{\"execute\": \"announce-self\", \"arguments\": "
                 "{\"initial\": 0, \"max\": 20, \"rounds\": 3, \"step\": 5}}",
                 "GenericError", "out of range", NULL);
    net_client_free(a);
    net_client_free(b);
    client_free(c);
}

/* HMP output without the CRs the monitor writes. */
static char *hmp(const char *cmd)
{
    g_autofree char *out = hmp_run_command(cmd, &error_abort);
    g_auto(GStrv) parts = g_strsplit(out, "\r", -1);

    return g_strjoinv("", parts);
}

static void test_hmp(void)
{
    g_autofree char *out = NULL;
    g_autofree char *err_out = NULL;
    TestNic *nic;

    g_free(hmp_run_command("netdev_add user,id=hu,net=10.5.0.0/16",
                           &error_abort));
    g_free(hmp_run_command("netdev_add hubport,id=hp0,hubid=1,netdev=hu",
                           &error_abort));
    g_free(hmp_run_command("netdev_add hubport,id=hp1,hubid=1",
                           &error_abort));
    g_free(hmp_run_command("netdev_add hubport,id=lone,hubid=2",
                           &error_abort));
    nic = test_nic_new("nic9", "hp1");
    g_free(hmp_run_command("set_link nic9 off", &error_abort));
    out = hmp("info network");
    g_assert_cmpstr(out, ==,
        "hub 1\n"
        " \\ hp0: index=0,type=hubport,hubid=1\n"
        "    \\ hu: index=0,type=user,net=10.5.0.0,restrict=off\n"
        " \\ hp1: index=0,type=hubport,hubid=1\n"
        "    \\ nic9: index=0,type=nic,model=test-nic,"
        "macaddr=52:54:00:12:34:56\n"
        "hub 2\n"
        " \\ lone: index=0,type=hubport,hubid=2\n");
    g_free(hmp_run_command("hostfwd_add hu tcp:127.0.0.1:0-:22",
                           &error_abort));
    /* A user netdev behind a hubport is listed under that hub's id. */
    g_free(out);
    out = hmp("info usernet");
    g_assert_true(g_str_has_prefix(out, "Hub 1 (hu):\n  Protocol[State]"));
    err_out = hmp_run_command("hostfwd_remove hu tcp:127.0.0.1:1",
                              &error_abort);
    g_assert_nonnull(strstr(err_out, "not found"));
    g_free(err_out);
    err_out = hmp_run_command("netdev_del nope", &error_abort);
    g_assert_nonnull(strstr(err_out, "Device 'nope' not found"));
    test_nic_free(nic);
    for (int i = 0; i < 4; i++) {
        static const char *const ids[] = { "hp0", "hp1", "lone", "hu" };
        g_autofree char *cmd = g_strdup_printf("netdev_del %s", ids[i]);

        g_free(hmp_run_command(cmd, &error_abort));
        g_assert_null(net_find_netdev(ids[i]));
    }
    g_free(out);
    out = hmp("info network");
    g_assert_cmpstr(out, ==, "");

    /* A NIC and its netdev, and a netdev on its own. */
    g_free(hmp_run_command("netdev_add user,id=solo", &error_abort));
    g_free(hmp_run_command("netdev_add user,id=mine", &error_abort));
    nic = test_nic_new("nic8", "mine");
    g_free(out);
    out = hmp("info network");
    g_assert_cmpstr(out, ==,
        "solo: index=0,type=user,net=10.0.2.0,restrict=off\n"
        "nic8: index=0,type=nic,model=test-nic,macaddr=52:54:00:12:34:56\n"
        " \\ mine: index=0,type=user,net=10.0.2.0,restrict=off\n");
    test_nic_free(nic);
    net_netdev_del("solo", &error_abort);
    net_netdev_del("mine", &error_abort);
}

/* Cases that create user netdevs need libslirp. */
static void add_slirp_test(const char *path, GTestFunc fn)
{
    const char *why = test_slirp_unusable_reason();

    if (why) {
        g_test_add_data_func(path, why, (GTestDataFunc)g_test_skip);
    } else {
        g_test_add_func(path, fn);
    }
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    add_slirp_test("/net/qmp/netdev-add-del", test_netdev_add_del);
    g_test_add_func("/net/qmp/set-link", test_set_link);
    g_test_add_func("/net/qmp/announce-self", test_announce_self);
    add_slirp_test("/net/hmp", test_hmp);
    return qmp_test_run();
}
