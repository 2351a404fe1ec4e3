/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev tap against the real kernel: the tap is created by the netdev,
 * moved into a network namespace this test makes, given an address
 * there, and a pretend NIC (net-test-nic.h) talks to the kernel through
 * it: ARP both ways with and without a virtio-net header, flow control
 * (a NIC with no room stops the tap being read, and reading resumes
 * after the flush), hostile frames from the NIC, and the option errors.
 * Cases needing root and `ip netns` skip with the reason.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include "net-test-nic.h"
#include "net/netdev.h"
#include "util/main-loop.h"

#define NS_IP   0x0a630001      /* 10.99.0.1, the kernel's end */
#define NIC_IP  0x0a630002      /* 10.99.0.2, the pretend NIC */

static const uint8_t nic_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

typedef struct Fixture {
    char ns[32];
    char ifname[16];
    NetClientState *tap;
    TestNic *nic;
} Fixture;

/* A tap netdev (extra options appended), its interface in a fresh netns
 * as 10.99.0.1/24 with IPv6 off (no stray ND traffic). */
static void fixture_up(Fixture *f, const char *extra)
{
    g_autofree char *arg = NULL;

    snprintf(f->ns, sizeof(f->ns), "tnd-ns-%d", getpid());
    snprintf(f->ifname, sizeof(f->ifname), "tnd%d", getpid());
    arg = g_strdup_printf("tap,id=t0,ifname=%s,script=no,downscript=no%s",
                          f->ifname, extra);
    f->tap = net_netdev_add_cmdline(arg, &error_abort);
    f->nic = test_nic_new("nic0", "t0");
    test_sh("ip netns add %s", f->ns);
    test_sh("ip link set %s netns %s", f->ifname, f->ns);
    test_sh("ip netns exec %s sysctl -qw net.ipv6.conf.%s.disable_ipv6=1",
            f->ns, f->ifname);
    test_sh("ip -n %s addr add 10.99.0.1/24 dev %s", f->ns, f->ifname);
    test_sh("ip -n %s link set %s up", f->ns, f->ifname);
}

static void fixture_down(Fixture *f)
{
    test_nic_free(f->nic);
    g_assert_true(net_netdev_del("t0", &error_abort));
    test_sh("ip netns del %s", f->ns);
}

typedef struct Want {
    TestNic *nic;
    size_t off;
    uint16_t ethertype;
} Want;

static bool got_ethertype(void *opaque)
{
    Want *w = opaque;

    return test_nic_find(w->nic, 0, w->off, w->ethertype) >= 0;
}

/* ARP from the NIC; the kernel's reply must come back through the tap. */
static void check_arp_round_trip(Fixture *f, size_t hdr_len)
{
    uint8_t frame[64 + 12] = { 0 };
    size_t len = test_arp_request(frame + hdr_len, nic_mac, NIC_IP, NS_IP);
    Want w = { f->nic, hdr_len, 0x0806 };
    const uint8_t *d;
    gsize n;
    int i;

    g_assert_cmpint(test_nic_send(f->nic, frame, hdr_len + len), ==,
                    hdr_len + len);
    g_assert_true(test_net_spin_until(got_ethertype, &w, 5000));
    i = test_nic_find(f->nic, 0, hdr_len, 0x0806);
    d = g_bytes_get_data(g_ptr_array_index(f->nic->got, i), &n);
    /* The reply: to our MAC, opcode 2, sender 10.99.0.1. */
    g_assert_cmpuint(n, >=, hdr_len + 42);
    g_assert_cmpmem(d + hdr_len, 6, nic_mac, 6);
    g_assert_cmpint(d[hdr_len + 21], ==, 2);
    g_assert_cmphex(ntohl(*(uint32_t *)(d + hdr_len + 28)), ==, NS_IP);
}

static void test_tap_arp(void)
{
    Fixture f;

    fixture_up(&f, "");
    /* vnet_hdr is on when the kernel has it; a NIC that negotiated no
     * header gets plain frames (the tap strips the kernel's). */
    g_assert_true(net_client_has_vnet_hdr(f.tap));
    check_arp_round_trip(&f, 0);
    fixture_down(&f);
}

/* With a 12-byte header negotiated (TUNSETVNETHDRSZ), frames carry it
 * both ways. */
static void test_tap_vnet_hdr(void)
{
    NetOffloads o = { .csum = true, .tso4 = true, .tso6 = true };
    Fixture f;

    fixture_up(&f, ",vnet_hdr=on");
    g_assert_true(net_client_set_vnet_hdr_len(f.tap, 12));
    net_client_set_offload(f.tap, &o);
    check_arp_round_trip(&f, 12);
    fixture_down(&f);

    fixture_up(&f, ",vnet_hdr=off");
    g_assert_false(net_client_has_vnet_hdr(f.tap));
    g_assert_false(net_client_set_vnet_hdr_len(f.tap, 12));
    check_arp_round_trip(&f, 0);
    fixture_down(&f);
}

static int count_udp(TestNic *n)
{
    int c = 0;

    for (int i = 0; (i = test_nic_find(n, i, 0, 0x0800)) >= 0; i++) {
        gsize len;
        const uint8_t *d = g_bytes_get_data(g_ptr_array_index(n->got, i),
                                            &len);

        c += len > 14 + 20 && d[14 + 9] == 17;
    }
    return c;
}

static bool got_20_udp(void *opaque)
{
    return count_udp(opaque) >= 20;
}

/*
 * A NIC with no room: the first frame waits in its queue and the tap
 * stops reading (the kernel keeps the rest); after the NIC flushes,
 * reading resumes and every frame arrives.
 */
static void test_tap_flow_control(void)
{
    Fixture f;

    fixture_up(&f, "");
    test_sh("ip -n %s neigh add 10.99.0.2 lladdr 52:54:00:12:34:56 dev %s",
            f.ns, f.ifname);
    f.nic->room = 0;
    test_sh("ip netns exec %s python3 -c \"import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for i in range(20): s.sendto(b'x' * 100, ('10.99.0.2', 9))\"",
            f.ns);
    test_net_spin(300);
    g_assert_cmpuint(f.nic->got->len, ==, 0);
    /* One frame waits; the other 19 are still in the kernel. */
    g_assert_cmpuint(net_client_queued(f.nic->nc), ==, 1);

    f.nic->room = -1;
    net_client_flush_queue(f.nic->nc);
    g_assert_true(test_net_spin_until(got_20_udp, f.nic, 5000));
    g_assert_cmpint(count_udp(f.nic), ==, 20);
    g_assert_cmpuint(net_client_queued(f.nic->nc), ==, 0);
    fixture_down(&f);
}

/* Empty, tiny and huge frames from the NIC: dropped or carried, never a
 * crash, and the tap still works afterwards. */
static void test_tap_hostile_frames(void)
{
    g_autofree uint8_t *big = g_malloc0(NET_MAX_FRAME + 100);
    Fixture f;

    fixture_up(&f, "");
    test_nic_send(f.nic, big, 0);
    test_nic_send(f.nic, big, 1);
    test_nic_send(f.nic, big, 13);
    test_nic_send(f.nic, big, 65535);
    test_nic_send(f.nic, big, NET_MAX_FRAME + 100);
    test_net_spin(50);
    check_arp_round_trip(&f, 0);
    fixture_down(&f);
}

static gboolean tick(gpointer opaque)
{
    return G_SOURCE_CONTINUE;
}

/* The interface is deleted under the netdev: its fd then reports errors
 * for ever; the tap must stop watching it rather than spin. */
static void test_tap_interface_gone(void)
{
    guint t = g_timeout_add(50, tick, NULL);
    gint64 end;
    int iterations = 0;
    Fixture f;

    fixture_up(&f, "");
    test_sh("ip -n %s link del %s", f.ns, f.ifname);
    end = g_get_monotonic_time() + 300 * 1000;
    while (g_get_monotonic_time() < end) {
        main_loop_wait(true);
        iterations++;
    }
    g_source_remove(t);
    /* The 50 ms tick wakes it ~6 times; a spinning fd, thousands. */
    g_assert_cmpint(iterations, <, 50);
    test_nic_free(f.nic);
    g_assert_true(net_netdev_del("t0", &error_abort));
    test_sh("ip netns del %s", f.ns);
}

static int open_tun(const char *name, short flags)
{
    struct ifreq ifr = { .ifr_flags = flags };
    int fd = open("/dev/net/tun", O_RDWR);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
    g_assert_cmpint(ioctl(fd, TUNSETIFF, &ifr), ==, 0);
    return fd;
}

/* fd=N: a tap the caller opened (as libvirt does); a tun is refused, and
 * vnet_hdr=on for an fd opened without IFF_VNET_HDR. */
static void test_tap_fd(void)
{
    g_autofree char *name = g_strdup_printf("tndfd%d", getpid());
    g_autofree char *arg = NULL;
    g_autofree char *want = NULL;
    NetClientState *nc;
    Error *err = NULL;
    int fd = open_tun(name, IFF_TAP | IFF_NO_PI);
    int tun = open_tun("tndtun0", IFF_TUN | IFF_NO_PI);

    arg = g_strdup_printf("tap,id=f0,fd=%d,vnet_hdr=on", fd);
    g_assert_null(net_netdev_add_cmdline(arg, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "without IFF_VNET_HDR"));
    error_free(err);
    err = NULL;
    g_free(arg);
    arg = g_strdup_printf("tap,id=f0,fd=%d", tun);
    g_assert_null(net_netdev_add_cmdline(arg, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "tun device, not a tap"));
    error_free(err);
    close(tun);

    g_free(arg);
    arg = g_strdup_printf("tap,id=f0,fd=%d", fd);
    nc = net_netdev_add_cmdline(arg, &error_abort);
    want = g_strdup_printf("fd=%d", fd);
    g_assert_cmpstr(nc->info_str, ==, want);
    g_assert_false(net_client_has_vnet_hdr(nc));
    net_netdev_del("f0", &error_abort);     /* closes fd, as QEMU does */
    g_assert_cmpint(fcntl(fd, F_GETFD), <, 0);
}

static void test_tap_errors(void)
{
    static const struct {
        const char *arg, *error;
    } cases[] = {
        { "tap,id=e0,vhost=on", "vhost=on: vhost-net is not supported" },
        { "tap,id=e0,script=/etc/qemu-ifup", "does not run interface "
          "scripts" },
        { "tap,id=e0,downscript=/bin/true", "use downscript=no" },
        { "tap,id=e0,queues=4", "multiqueue tap is not supported" },
        { "tap,id=e0,fds=3:4", "multiqueue tap is not supported" },
        { "tap,id=e0,fd=999", "fd=999 is not an open file descriptor" },
        { "tap,id=e0,fd=0", "fd=0 is not a tap device" },
        { "tap,id=e0,br=br0", "Invalid parameter 'br'" },
        { "tap,id=e0,vnet_hdr=maybe", "vnet_hdr" },
        { "tap,id=e0,ifname=a,fd=3", "ifname= cannot be used with fd=" },
        { "tap,id=9", "Parameter 'id' expects an identifier" },
        { "tap", "Parameter 'id' is missing" },
        { "vde,id=v", "Parameter 'type' does not accept value 'vde'" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Error *err = NULL;

        g_assert_null(net_netdev_add_cmdline(cases[i].arg, &err));
        g_assert_nonnull(err);
        if (!strstr(error_get_pretty(err), cases[i].error)) {
            g_error("%s: got '%s', expected '%s'", cases[i].arg,
                    error_get_pretty(err), cases[i].error);
        }
        error_free(err);
        g_assert_null(net_find_netdev("e0"));
    }
}

static void add_netns_test(const char *path, GTestFunc fn)
{
    const char *why = test_netns_unusable_reason();

    if (why) {
        g_test_add_data_func(path, why, (GTestDataFunc)g_test_skip);
    } else {
        g_test_add_func(path, fn);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    add_netns_test("/net/tap/arp", test_tap_arp);
    add_netns_test("/net/tap/vnet-hdr", test_tap_vnet_hdr);
    add_netns_test("/net/tap/flow-control", test_tap_flow_control);
    add_netns_test("/net/tap/hostile-frames", test_tap_hostile_frames);
    add_netns_test("/net/tap/fd", test_tap_fd);
    add_netns_test("/net/tap/interface-gone", test_tap_interface_gone);
    g_test_add_func("/net/tap/errors", test_tap_errors);
    return g_test_run();
}
