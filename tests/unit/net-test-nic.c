/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pretend NIC and helpers of net-test-nic.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "net-test-nic.h"
#include "net/netdev.h"
#include "util/main-loop.h"

static ssize_t test_nic_receive(NetClientState *nc, const struct iovec *iov,
                                int iovcnt)
{
    TestNic *n = nc->opaque;
    GByteArray *b;

    if (n->room == 0) {
        return 0;
    }
    b = g_byte_array_new();
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
    }
    if (n->room > 0) {
        n->room--;
    }
    g_ptr_array_add(n->got, g_byte_array_free_to_bytes(b));
    return g_bytes_get_size(g_ptr_array_index(n->got, n->got->len - 1));
}

static const NetClientInfo test_nic_info = {
    .kind = NET_CLIENT_KIND_NIC,
    .receive_iov = test_nic_receive,
};

TestNic *test_nic_new(const char *name, const char *netdev_id)
{
    TestNic *n = g_new0(TestNic, 1);

    n->room = -1;
    n->got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    n->nc = net_client_new(&test_nic_info, NULL, "test-nic", name, n,
                           &error_abort);
    n->nc->info_str = g_strdup("model=test-nic,macaddr=52:54:00:12:34:56");
    g_assert_true(net_client_join(n->nc, netdev_id, &error_abort));
    return n;
}

void test_nic_free(TestNic *n)
{
    net_client_free(n->nc);
    g_ptr_array_free(n->got, TRUE);
    g_free(n);
}

ssize_t test_nic_send(TestNic *n, const void *frame, size_t len)
{
    return net_send(n->nc, frame, len);
}

bool test_net_spin_until(bool (*pred)(void *opaque), void *opaque, int ms)
{
    gint64 deadline = g_get_monotonic_time() + ms * 1000LL;

    while (!(pred && pred(opaque))) {
        if (g_get_monotonic_time() >= deadline) {
            return pred && pred(opaque);
        }
        /* Non-blocking iterations with a short sleep: the netdevs' fds
         * are on the default context, which main_loop_wait polls. */
        main_loop_wait(false);
        g_usleep(1000);
    }
    return true;
}

void test_net_spin(int ms)
{
    test_net_spin_until(NULL, NULL, ms);
}

int test_nic_find(TestNic *n, guint from, size_t off, uint16_t ethertype)
{
    for (guint i = from; i < n->got->len; i++) {
        gsize len;
        const uint8_t *d = g_bytes_get_data(g_ptr_array_index(n->got, i),
                                            &len);

        if (len >= off + 14 && (d[off + 12] << 8 | d[off + 13]) == ethertype) {
            return i;
        }
    }
    return -1;
}

size_t test_arp_request(uint8_t *b, const uint8_t mac[6], uint32_t ip,
                        uint32_t target_ip)
{
    uint32_t sip = htonl(ip), tip = htonl(target_ip);

    memset(b, 0xff, 6);                 /* broadcast */
    memcpy(b + 6, mac, 6);
    b[12] = 0x08; b[13] = 0x06;         /* ARP */
    b[14] = 0; b[15] = 1;               /* Ethernet */
    b[16] = 0x08; b[17] = 0x00;         /* IPv4 */
    b[18] = 6; b[19] = 4;
    b[20] = 0; b[21] = 1;               /* request */
    memcpy(b + 22, mac, 6);
    memcpy(b + 28, &sip, 4);
    memset(b + 32, 0, 6);
    memcpy(b + 38, &tip, 4);
    return 42;
}

void test_sh(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) gerr = NULL;
    const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
    int status;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    argv[2] = cmd;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                      &out, &err, &status, &gerr)) {
        g_error("%s: %s", cmd, gerr->message);
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_error("%s failed: %s%s", cmd, out, err);
    }
}

const char *test_slirp_unusable_reason(void)
{
    static char *reason;
    static bool checked;
    Error *err = NULL;

    if (!checked) {
        checked = true;
        if (!net_netdev_add_cmdline("user,id=slirp-probe", &err)) {
            reason = g_strdup(error_get_pretty(err));
            error_free(err);
        } else {
            net_netdev_del("slirp-probe", &error_abort);
        }
    }
    return reason;
}

const char *test_netns_unusable_reason(void)
{
    static const char *reason;
    static bool checked;
    g_autofree char *name = NULL;
    g_autofree char *cmd = NULL;
    int status = -1;

    if (checked) {
        return reason;
    }
    checked = true;
    if (geteuid() != 0) {
        return reason = "network namespaces and taps need root";
    }
    if (access("/dev/net/tun", R_OK | W_OK) < 0) {
        return reason = "/dev/net/tun is not usable here";
    }
    name = g_strdup_printf("tnd-probe-%d", getpid());
    cmd = g_strdup_printf("/bin/sh -c 'ip netns add %s && ip netns del %s'",
                          name, name);
    if (!g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL)) {
        return reason = "`ip netns add` fails here (no iproute2 or no "
                        "CAP_SYS_ADMIN)";
    }
    return NULL;
}
