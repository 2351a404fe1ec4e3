/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev user (libslirp) with a pretend NIC: slirp answers a crafted
 * DHCP DISCOVER with an OFFER for 10.0.2.15 and an ARP request for the
 * gateway; a hostfwd connection from the host reaches the NIC as a TCP
 * SYN to the guest port; hostile frames do no harm; option errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net-test-nic.h"
#include "net/netdev.h"
#include "util/main-loop.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < len; i += 2) {
        sum += p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);   /* odd: pad 0 */
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

/* Ethernet + IPv4 + UDP 68->67 + BOOTP DISCOVER. */
static size_t dhcp_discover(uint8_t *b)
{
    uint8_t *ip = b + 14, *udp = ip + 20, *bootp = udp + 8;
    size_t blen = 240 + 4, ulen = 8 + blen, iplen = 20 + ulen;
    uint16_t c;

    memset(b, 0, 14 + iplen);
    memset(b, 0xff, 6);
    memcpy(b + 6, mac, 6);
    b[12] = 0x08;
    ip[0] = 0x45;
    ip[2] = iplen >> 8; ip[3] = iplen;
    ip[8] = 64; ip[9] = 17;
    memset(ip + 16, 0xff, 4);
    c = ip_csum(ip, 20);
    ip[10] = c >> 8; ip[11] = c;
    udp[1] = 68; udp[3] = 67;
    udp[4] = ulen >> 8; udp[5] = ulen;
    bootp[0] = 1; bootp[1] = 1; bootp[2] = 6;
    bootp[4] = 0x12; bootp[5] = 0x34; bootp[6] = 0x56; bootp[7] = 0x78;
    memcpy(bootp + 28, mac, 6);
    bootp[236] = 99; bootp[237] = 130; bootp[238] = 83; bootp[239] = 99;
    bootp[240] = 53; bootp[241] = 1; bootp[242] = 1;     /* DISCOVER */
    bootp[243] = 255;
    return 14 + iplen;
}

typedef struct Match {
    TestNic *nic;
    bool (*fn)(const uint8_t *d, size_t len, void *arg);
    void *arg;
    int found;
} Match;

static bool match_any(void *opaque)
{
    Match *m = opaque;

    for (guint i = 0; i < m->nic->got->len; i++) {
        gsize len;
        const uint8_t *d = g_bytes_get_data(g_ptr_array_index(m->nic->got, i),
                                            &len);

        if (m->fn(d, len, m->arg)) {
            m->found = i;
            return true;
        }
    }
    return false;
}

static bool is_dhcp_offer(const uint8_t *d, size_t len, void *arg)
{
    const uint8_t *bootp = d + 14 + 20 + 8;

    return len > 14 + 20 + 8 + 243 && d[12] == 0x08 && d[13] == 0 &&
           d[14 + 9] == 17 && d[14 + 20 + 1] == 67 &&
           bootp[0] == 2 && !memcmp(bootp + 28, mac, 6);
}

static bool is_arp_reply(const uint8_t *d, size_t len, void *arg)
{
    return len >= 42 && d[12] == 0x08 && d[13] == 0x06 && d[21] == 2;
}

static bool is_syn_to(const uint8_t *d, size_t len, void *arg)
{
    int port = GPOINTER_TO_INT(arg);
    const uint8_t *tcp = d + 14 + 20;

    return len >= 14 + 20 + 20 && d[12] == 0x08 && d[13] == 0 &&
           d[14 + 9] == 6 && (tcp[2] << 8 | tcp[3]) == port &&
           (tcp[13] & 0x12) == 0x02;
}

static bool is_arp_request_for_guest(const uint8_t *d, size_t len, void *arg)
{
    return len >= 42 && d[12] == 0x08 && d[13] == 0x06 && d[21] == 1;
}

static void test_slirp_dhcp_arp(void)
{
    uint8_t frame[600];
    NetClientState *u = net_netdev_add_cmdline("user,id=u0", &error_abort);
    TestNic *nic = test_nic_new("nic0", "u0");
    Match m = { nic, is_dhcp_offer };
    const uint8_t *d;
    gsize len;

    g_assert_nonnull(u);
    g_assert_cmpstr(u->info_str, ==, "net=10.0.2.0,restrict=off");
    test_nic_send(nic, frame, dhcp_discover(frame));
    g_assert_true(test_net_spin_until(match_any, &m, 5000));
    d = g_bytes_get_data(g_ptr_array_index(nic->got, m.found), &len);
    /* yiaddr: the first DHCP address, 10.0.2.15. */
    g_assert_cmphex(ntohl(*(uint32_t *)(d + 14 + 28 + 16)), ==, 0x0a00020f);

    m.fn = is_arp_reply;
    test_nic_send(nic, frame, test_arp_request(frame, mac, 0x0a00020f,
                                               0x0a000202));
    g_assert_true(test_net_spin_until(match_any, &m, 5000));
    d = g_bytes_get_data(g_ptr_array_index(nic->got, m.found), &len);
    g_assert_cmphex(ntohl(*(uint32_t *)(d + 28)), ==, 0x0a000202);
    g_assert_cmpmem(d, 6, mac, 6);
    test_nic_free(nic);
    g_assert_true(net_netdev_del("u0", &error_abort));
}

static int free_tcp_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sl), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &sl), ==, 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* A host connection to hostfwd's port reaches the guest as a SYN. */
static void test_slirp_hostfwd(void)
{
    int port = free_tcp_port();
    g_autofree char *arg = g_strdup_printf(
        "user,id=u1,hostfwd=tcp:127.0.0.1:%d-:7,hostfwd=udp::%d-:7", port,
        port);
    uint8_t frame[64];
    struct sockaddr_in sa = { .sin_family = AF_INET };
    TestNic *nic;
    Match m;
    int fd;

    g_assert_nonnull(net_netdev_add_cmdline(arg, &error_abort));
    nic = test_nic_new("nic1", "u1");
    /* The guest says who it is, so slirp knows its MAC. */
    test_nic_send(nic, frame, test_arp_request(frame, mac, 0x0a00020f,
                                               0x0a000202));
    test_net_spin(50);

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, (struct sockaddr *)&sa, sizeof(sa));

    m = (Match){ nic, is_syn_to, GINT_TO_POINTER(7) };
    if (!test_net_spin_until(match_any, &m, 3000)) {
        /* slirp asked for the guest's MAC first: it got it above, but
         * answer once more in case the cache was not filled. */
        Match a = { nic, is_arp_request_for_guest };

        g_assert_true(match_any(&a));
        g_assert_true(test_net_spin_until(match_any, &m, 3000));
    }
    close(fd);

    /* hostfwd_remove, then the port is free again; a second remove
     * fails. */
    g_autofree char *rule = g_strdup_printf("tcp:127.0.0.1:%d", port);
    g_assert_true(net_slirp_hostfwd_remove("u1", rule, &error_abort));
    {
        Error *err = NULL;

        g_assert_false(net_slirp_hostfwd_remove("u1", rule, &err));
        g_assert_nonnull(strstr(error_get_pretty(err), "not found"));
        error_free(err);
    }
    test_nic_free(nic);
    g_assert_true(net_netdev_del("u1", &error_abort));
}

/* Garbage, empty and truncated frames into slirp: nothing breaks, and it
 * still answers ARP afterwards. */
static void test_slirp_hostile(void)
{
    g_autofree uint8_t *big = g_malloc(NET_MAX_FRAME);
    uint8_t frame[600];
    size_t n = dhcp_discover(frame);
    TestNic *nic;
    Match m;

    g_assert_nonnull(net_netdev_add_cmdline("user,id=u2", &error_abort));
    nic = test_nic_new("nic2", "u2");
    for (size_t i = 0; i < NET_MAX_FRAME; i++) {
        big[i] = g_test_rand_int();
    }
    test_nic_send(nic, big, 0);
    for (size_t len = 1; len < n; len += 7) {
        test_nic_send(nic, frame, len);    /* truncated DISCOVERs */
    }
    memcpy(big, frame, 14);
    test_nic_send(nic, big, NET_MAX_FRAME);
    test_nic_send(nic, big, 60);
    test_net_spin(50);
    m = (Match){ nic, is_arp_reply };
    test_nic_send(nic, frame, test_arp_request(frame, mac, 0x0a00020f,
                                               0x0a000202));
    g_assert_true(test_net_spin_until(match_any, &m, 5000));
    test_nic_free(nic);
    g_assert_true(net_netdev_del("u2", &error_abort));
}

/* Ethernet + IPv4 + TCP from 10.0.2.15:40000 to dst:dport. */
static size_t tcp_frame(uint8_t *b, uint32_t dst, int dport, uint32_t seq,
                        uint32_t ack, uint8_t flags, const char *data)
{
    size_t dlen = data ? strlen(data) : 0;
    uint8_t *ip = b + 14, *tcp = ip + 20;
    size_t iplen = 20 + 20 + dlen;
    uint8_t pseudo[12 + 20 + 64];
    uint32_t v;
    uint16_t c;

    memset(b, 0, 14 + iplen);
    memset(b, 0x52, 6);             /* slirp's MAC is 52:55:...: any */
    memcpy(b + 6, mac, 6);
    b[12] = 0x08;
    ip[0] = 0x45;
    ip[2] = iplen >> 8; ip[3] = iplen;
    ip[8] = 64; ip[9] = 6;
    v = htonl(0x0a00020f); memcpy(ip + 12, &v, 4);
    v = htonl(dst); memcpy(ip + 16, &v, 4);
    c = ip_csum(ip, 20);
    ip[10] = c >> 8; ip[11] = c;
    tcp[0] = 40000 >> 8; tcp[1] = 40000 & 0xff;
    tcp[2] = dport >> 8; tcp[3] = dport;
    v = htonl(seq); memcpy(tcp + 4, &v, 4);
    v = htonl(ack); memcpy(tcp + 8, &v, 4);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14] = 0xff; tcp[15] = 0xff;
    memcpy(tcp + 20, data ? data : "", dlen);
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0; pseudo[9] = 6;
    pseudo[10] = (20 + dlen) >> 8; pseudo[11] = 20 + dlen;
    memcpy(pseudo + 12, tcp, 20 + dlen);
    c = ip_csum(pseudo, 12 + 20 + dlen);
    tcp[16] = c >> 8; tcp[17] = c;
    return 14 + iplen;
}

static bool is_tcp_from_fwd(const uint8_t *d, size_t len, void *arg)
{
    int want = GPOINTER_TO_INT(arg);    /* flags that must be set */
    const uint8_t *tcp = d + 14 + 20;

    return len >= 14 + 40 && d[12] == 0x08 && d[13] == 0 && d[14 + 9] == 6 &&
           (tcp[0] << 8 | tcp[1]) == 1234 && (tcp[13] & want) == want;
}

static bool has_payload(const uint8_t *d, size_t len, void *arg)
{
    return is_tcp_from_fwd(d, len, GINT_TO_POINTER(0)) &&
           len >= 14 + 40 + 5 && !memcmp(d + 14 + 40, arg, 5);
}

typedef struct HostRead {
    int fd;
    char buf[16];
    size_t got;
} HostRead;

static bool host_read_5(void *opaque)
{
    HostRead *h = opaque;
    ssize_t n = recv(h->fd, h->buf + h->got, sizeof(h->buf) - 1 - h->got,
                     MSG_DONTWAIT);

    if (n > 0) {
        h->got += n;
    }
    return h->got >= 5;
}

/*
 * guestfwd: the guest's TCP connection to 10.0.2.100:1234 reaches a host
 * listener through a tcp: chardev, and bytes go both ways.
 */
static void test_slirp_guestfwd(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    g_autofree char *arg = NULL;
    uint8_t frame[600];
    HostRead h = { -1 };
    TestNic *nic;
    Match m;
    const uint8_t *d;
    gsize len;
    uint32_t their;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sl), ==, 0);
    g_assert_cmpint(listen(lfd, 1), ==, 0);
    g_assert_cmpint(getsockname(lfd, (struct sockaddr *)&sa, &sl), ==, 0);
    arg = g_strdup_printf("user,id=g0,guestfwd=tcp:10.0.2.100:1234-"
                          "tcp:127.0.0.1:%d", ntohs(sa.sin_port));
    g_assert_nonnull(net_netdev_add_cmdline(arg, &error_abort));
    h.fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(h.fd, >=, 0);
    nic = test_nic_new("nicg", "g0");
    test_nic_send(nic, frame, test_arp_request(frame, mac, 0x0a00020f,
                                               0x0a000202));
    test_nic_send(nic, frame, tcp_frame(frame, 0x0a000264, 1234, 1000, 0,
                                        0x02, NULL));
    m = (Match){ nic, is_tcp_from_fwd, GINT_TO_POINTER(0x12) };
    g_assert_true(test_net_spin_until(match_any, &m, 5000));
    d = g_bytes_get_data(g_ptr_array_index(nic->got, m.found), &len);
    memcpy(&their, d + 14 + 20 + 4, 4);
    their = ntohl(their);
    test_nic_send(nic, frame, tcp_frame(frame, 0x0a000264, 1234, 1001,
                                        their + 1, 0x18, "hello"));
    g_assert_true(test_net_spin_until(host_read_5, &h, 5000));
    g_assert_cmpmem(h.buf, 5, "hello", 5);

    g_assert_cmpint(write(h.fd, "world", 5), ==, 5);
    m = (Match){ nic, has_payload, "world" };
    g_assert_true(test_net_spin_until(match_any, &m, 5000));

    test_nic_free(nic);
    g_assert_true(net_netdev_del("g0", &error_abort));
    close(h.fd);
    close(lfd);
}

static void test_slirp_errors(void)
{
    static const struct {
        const char *arg, *error;
    } cases[] = {
        { "user,id=e,hostfwd=tcp::80", "Invalid host forwarding rule" },
        { "user,id=e,hostfwd=tcp::99999-:80", "Invalid host forwarding" },
        { "user,id=e,net=10.0.2.0/33", "Parameter 'net' expects" },
        { "user,id=e,host=10.9.9.9", "not in the guest network" },
        { "user,id=e,dhcpstart=1.2.3.x", "expects an IPv4 address" },
        { "user,id=e,ipv4=off,ipv6=off", "IPv4 and IPv6 disabled" },
        { "user,id=e,smb=/tmp", "Invalid parameter 'smb'" },
        { "user,id=e,guestfwd=tcp:10.0.2.100:1-cmd:true", "cmd: is not "
          "supported" },
        { "user,id=e,guestfwd=tcp:10.0.2.100-tcp:1.2.3.4:5",
          "Invalid guest forwarding rule" },
        { "user,id=e,guestfwd=tcp:10.0.2.100:1-bogus:x", "guestfwd=" },
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

static void add_slirp_test(const char *path, GTestFunc fn)
{
    const char *why = test_slirp_unusable_reason();

    if (why) {
        g_test_add_data_func(path, why, (GTestDataFunc)g_test_skip);
    } else {
        g_test_add_func(path, fn);
    }
}

/* Without libslirp, -netdev user fails with the stub's clear error. */
static void test_slirp_stub_or_real(void)
{
    const char *why = test_slirp_unusable_reason();

    if (why) {
        g_assert_nonnull(strstr(why, "-netdev user is not available: "
                                "Tandem was built without libslirp"));
    }
    g_assert_null(net_find_netdev("slirp-probe"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    add_slirp_test("/net/slirp/dhcp-arp", test_slirp_dhcp_arp);
    add_slirp_test("/net/slirp/hostfwd", test_slirp_hostfwd);
    add_slirp_test("/net/slirp/hostile", test_slirp_hostile);
    add_slirp_test("/net/slirp/guestfwd", test_slirp_guestfwd);
    add_slirp_test("/net/slirp/errors", test_slirp_errors);
    g_test_add_func("/net/slirp/stub-or-real", test_slirp_stub_or_real);
    return g_test_run();
}
