/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Socket netdevs connected to each other in one process, each with a
 * pretend NIC: frames pass both ways over -netdev stream (unix), dgram
 * (UDP on loopback) and socket listen=/connect=; a peer that sends a
 * broken length loses its connection and the server listens again.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "net-test-nic.h"
#include "net/netdev.h"
#include "util/main-loop.h"

static bool got_one(void *opaque)
{
    return ((TestNic *)opaque)->got->len > 0;
}

/* A frame from a reaches b intact, and one from b reaches a. */
static void check_both_ways(TestNic *a, TestNic *b)
{
    uint8_t frame[1514];
    gsize len;
    const uint8_t *d;

    for (size_t i = 0; i < sizeof(frame); i++) {
        frame[i] = i * 7;
    }
    test_net_spin(50);      /* a server accepts its client */
    test_nic_send(a, frame, sizeof(frame));
    g_assert_true(test_net_spin_until(got_one, b, 5000));
    d = g_bytes_get_data(g_ptr_array_index(b->got, 0), &len);
    g_assert_cmpmem(d, len, frame, sizeof(frame));
    test_nic_send(b, frame, 60);
    g_assert_true(test_net_spin_until(got_one, a, 5000));
    d = g_bytes_get_data(g_ptr_array_index(a->got, 0), &len);
    g_assert_cmpmem(d, len, frame, 60);
}

static void test_stream_unix(void)
{
    g_autofree char *dir = g_dir_make_tmp("tnd-sock-XXXXXX", NULL);
    g_autofree char *srv = g_strdup_printf(
        "stream,id=s0,server=on,addr.type=unix,addr.path=%s/s", dir);
    g_autofree char *cli = g_strdup_printf(
        "stream,id=s1,addr.type=unix,addr.path=%s/s", dir);
    TestNic *a, *b;

    g_assert_nonnull(net_netdev_add_cmdline(srv, &error_abort));
    g_assert_nonnull(net_netdev_add_cmdline(cli, &error_abort));
    a = test_nic_new("a", "s0");
    b = test_nic_new("b", "s1");
    test_net_spin(50);      /* the server accepts */
    g_assert_nonnull(strstr(net_find_netdev("s0")->info_str,
                            "connection from"));
    check_both_ways(a, b);
    test_nic_free(a);
    test_nic_free(b);
    net_netdev_del("s1", &error_abort);
    net_netdev_del("s0", &error_abort);
    rmdir(dir);
}

static void test_dgram_udp(void)
{
    TestNic *a, *b;

    g_assert_nonnull(net_netdev_add_cmdline(
        "dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=47311,"
        "remote.type=inet,remote.host=127.0.0.1,remote.port=47312",
        &error_abort));
    g_assert_nonnull(net_netdev_add_cmdline(
        "dgram,id=d1,local.type=inet,local.host=127.0.0.1,local.port=47312,"
        "remote.type=inet,remote.host=127.0.0.1,remote.port=47311",
        &error_abort));
    a = test_nic_new("a", "d0");
    b = test_nic_new("b", "d1");
    check_both_ways(a, b);
    test_nic_free(a);
    test_nic_free(b);
    net_netdev_del("d0", &error_abort);
    net_netdev_del("d1", &error_abort);
}

/* -netdev socket,listen= / connect=, then a broken peer. */
static void test_socket_tcp(void)
{
    TestNic *a, *b;
    NetClientState *srv;
    g_autofree char *cli = NULL;
    int port, fd;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    uint32_t bad = htonl(0x7fffffff);

    srv = net_netdev_add_cmdline("socket,id=t0,listen=127.0.0.1:0",
                                 &error_abort);
    g_assert_nonnull(strstr(srv->info_str, "listening on tcp:127.0.0.1:"));
    port = atoi(strrchr(srv->info_str, ':') + 1);
    g_assert_cmpint(port, >, 0);
    cli = g_strdup_printf("socket,id=t1,connect=127.0.0.1:%d", port);
    g_assert_nonnull(net_netdev_add_cmdline(cli, &error_abort));
    a = test_nic_new("a", "t0");
    b = test_nic_new("b", "t1");
    check_both_ways(a, b);

    /* The client goes; the server listens again; a hostile client
     * announcing a 2 GiB frame is dropped, and a good one works. */
    test_nic_free(b);
    net_netdev_del("t1", &error_abort);
    test_net_spin(100);
    g_assert_nonnull(strstr(srv->info_str, "listening on"));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(write(fd, &bad, 4), ==, 4);
    test_net_spin(100);
    g_assert_nonnull(strstr(srv->info_str, "listening on"));
    close(fd);
    g_assert_nonnull(net_netdev_add_cmdline(cli, &error_abort));
    b = test_nic_new("b", "t1");
    g_ptr_array_set_size(a->got, 0);
    check_both_ways(a, b);
    test_nic_free(a);
    test_nic_free(b);
    net_netdev_del("t1", &error_abort);
    net_netdev_del("t0", &error_abort);
}

static void test_socket_errors(void)
{
    static const struct {
        const char *arg, *error;
    } cases[] = {
        { "socket,id=e", "exactly one of listen=" },
        { "socket,id=e,listen=:1,connect=:2", "exactly one of" },
        { "socket,id=e,connect=127.0.0.1:1", "Failed to connect" },
        { "socket,id=e,udp=127.0.0.1:5", "localaddr= is mandatory" },
        { "socket,id=e,mcast=127.0.0.1:5", "not an IPv4 multicast" },
        { "stream,id=e", "Parameter 'addr.type' is missing" },
        { "stream,id=e,addr.type=vsock", "does not accept value 'vsock'" },
        { "dgram,id=e,local.type=inet,local.host=127.0.0.1,local.port=1",
          "needs both local" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Error *err = NULL;

        g_assert_null(net_netdev_add_cmdline(cases[i].arg, &err));
        if (!strstr(error_get_pretty(err), cases[i].error)) {
            g_error("%s: got '%s', expected '%s'", cases[i].arg,
                    error_get_pretty(err), cases[i].error);
        }
        error_free(err);
        g_assert_null(net_find_netdev("e"));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    g_test_add_func("/net/socket/stream-unix", test_stream_unix);
    g_test_add_func("/net/socket/dgram-udp", test_dgram_udp);
    g_test_add_func("/net/socket/tcp-listen-connect", test_socket_tcp);
    g_test_add_func("/net/socket/errors", test_socket_errors);
    return g_test_run();
}
