/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Socket netdevs connected to each other in one process, each with a
 * pretend NIC: frames pass both ways over -netdev stream (unix), dgram
 * (UDP on loopback) and socket listen=/connect=; a peer that sends a
 * broken length loses its connection and the server listens again.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
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

/*
 * A peer that does not read: the socket fills, a frame is cut by a
 * partial write (its tail kept), the next frames wait in the netdev's
 * queue; once the peer reads, every frame arrives whole and in order.
 */
static void test_stream_backpressure(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    NetClientState *nd;
    TestNic *nic;
    uint8_t frame[1500];
    int fd, sent = 0, got = 0;
    int sndbuf = 4096;
    GByteArray *in = g_byte_array_new();
    gint64 deadline;

    /* TCP: unlike a unix stream, it takes part of a write when full. */
    nd = net_netdev_add_cmdline("socket,id=bp,listen=127.0.0.1:0",
                                &error_abort);
    nic = test_nic_new("bpn", "bp");
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(atoi(strrchr(nd->info_str, ':') + 1));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    test_net_spin(50);
    g_assert_nonnull(strstr(nd->info_str, "connection from"));

    /* Send until frames wait in the netdev's queue. */
    while (net_client_queued(nd) < 20 && sent < 100000) {
        memset(frame, sent & 0xff, sizeof(frame));
        memcpy(frame, &sent, sizeof(sent));
        test_nic_send(nic, frame, sizeof(frame));
        sent++;
    }
    g_assert_cmpuint(net_client_queued(nd), ==, 20);

    /* Now read everything, spinning so the netdev flushes. */
    deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (got < sent && g_get_monotonic_time() < deadline) {
        uint8_t buf[65536];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0) {
            g_byte_array_append(in, buf, n);
        }
        while (in->len >= 4) {
            uint32_t len = ntohl(*(uint32_t *)in->data);
            int seq;

            if (in->len < 4 + len) {
                break;
            }
            g_assert_cmpuint(len, ==, sizeof(frame));
            memcpy(&seq, in->data + 4, sizeof(seq));
            g_assert_cmpint(seq, ==, got);
            g_assert_cmpint(in->data[4 + len - 1], ==, got & 0xff);
            g_byte_array_remove_range(in, 0, 4 + len);
            got++;
        }
        test_net_spin(1);
    }
    g_assert_cmpint(got, ==, sent);
    g_assert_cmpuint(net_client_queued(nd), ==, 0);
    close(fd);
    g_byte_array_unref(in);
    test_nic_free(nic);
    net_netdev_del("bp", &error_abort);
}

#define QEMU "/usr/bin/qemu-system-x86_64"

static char *guest_elf;

static const char *qemu_peer_unusable_reason(void)
{
    if (access(QEMU, X_OK) < 0) {
        return "qemu-system-x86 not installed";
    }
    if (!guest_elf || access(guest_elf, R_OK) < 0) {
        return "the test guest (tests/guest/tandem-guest.elf) is not built";
    }
    return NULL;
}

static bool arp_reply_from_guest(void *opaque)
{
    TestNic *n = opaque;

    for (int i = 0; (i = test_nic_find(n, i, 0, 0x0806)) >= 0; i++) {
        gsize len;
        const uint8_t *d = g_bytes_get_data(g_ptr_array_index(n->got, i),
                                            &len);

        if (len >= 42 && d[21] == 2 &&
            ntohl(*(uint32_t *)(d + 28)) == 0x0a00020f) {
            return true;
        }
    }
    return false;
}

/*
 * Interop: Debian's QEMU (TCG, no KVM needed) runs the test guest with
 * its -netdev stream as the server; our stream netdev connects to it and
 * the pretend NIC asks the guest's ARP. A reply means both ends agree on
 * the framing, both ways.
 */
static void test_qemu_peer(void)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
    g_autofree char *dir = g_dir_make_tmp("tnd-qemu-XXXXXX", NULL);
    g_autofree char *path = g_strdup_printf("%s/net", dir);
    g_autofree char *netdev = g_strdup_printf(
        "stream,id=n0,server=on,addr.type=unix,addr.path=%s", path);
    g_autofree char *ours = g_strdup_printf(
        "stream,id=q0,addr.type=unix,addr.path=%s", path);
    const char *argv[] = {
        QEMU, "-accel", "tcg", "-m", "256", "-display", "none",
        "-serial", "null", "-monitor", "none", "-no-reboot",
        "-kernel", guest_elf, "-append",
        "workload=serve ip=10.0.2.15/24 gw=10.0.2.2",
        "-netdev", netdev,
        "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56", NULL
    };
    g_autoptr(GError) gerr = NULL;
    gint64 deadline;
    GPid pid;
    TestNic *nic;
    uint8_t frame[64];
    bool ok = false;

    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                &pid, &gerr));
    deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (access(path, F_OK) < 0 && g_get_monotonic_time() < deadline) {
        g_usleep(20000);
    }
    g_assert_nonnull(net_netdev_add_cmdline(ours, &error_abort));
    nic = test_nic_new("nic", "q0");
    /* The guest boots under TCG: ask once a second for up to 120 s. */
    deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    while (!ok && g_get_monotonic_time() < deadline) {
        test_nic_send(nic, frame, test_arp_request(frame, mac, 0x0a000202,
                                                   0x0a00020f));
        ok = test_net_spin_until(arp_reply_from_guest, nic, 1000);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    g_spawn_close_pid(pid);
    test_nic_free(nic);
    net_netdev_del("q0", &error_abort);
    unlink(path);
    rmdir(dir);
    g_assert_true(ok);
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
    g_test_add_func("/net/socket/backpressure", test_stream_backpressure);
    /* The guest ELF sits in build/tests/guest, beside this directory. */
    guest_elf = g_build_filename(g_path_get_dirname(argv[0]), "..", "guest",
                                 "tandem-guest.elf", NULL);
    if (qemu_peer_unusable_reason()) {
        g_test_add_data_func("/net/socket/qemu-peer",
                             qemu_peer_unusable_reason(),
                             (GTestDataFunc)g_test_skip);
    } else {
        g_test_add_func("/net/socket/qemu-peer", test_qemu_peer);
    }
    return g_test_run();
}
