/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network core (include/net/net.h) between two pretend endpoints: a
 * "NIC" whose receive room the test sets, and a "backend" netdev that
 * records what it got. Pairing and its errors, delivery, flow control
 * with sent callbacks and order, the queue bound, link state, vnet
 * header negotiation, and freeing an endpoint with frames in flight.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "net/net.h"

typedef struct Fake {
    int room;               /* frames it takes now; -1: unlimited */
    bool fail;              /* receive_iov fails for good */
    bool vnet_hdr;
    GPtrArray *got;         /* GBytes */
    int link_changes;
    int sent_calls;
    ssize_t last_sent;
} Fake;

static ssize_t fake_receive(NetClientState *nc, const struct iovec *iov,
                            int iovcnt)
{
    Fake *f = nc->opaque;
    GByteArray *b = g_byte_array_new();
    ssize_t len;

    if (f->fail) {
        g_byte_array_free(b, TRUE);
        return -EIO;
    }
    if (f->room == 0) {
        g_byte_array_free(b, TRUE);
        return 0;
    }
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
    }
    if (f->room > 0) {
        f->room--;
    }
    len = b->len;
    g_ptr_array_add(f->got, g_byte_array_free_to_bytes(b));
    return len;
}

static void fake_link(NetClientState *nc)
{
    ((Fake *)nc->opaque)->link_changes++;
}

static bool fake_has_vnet_hdr(NetClientState *nc)
{
    return ((Fake *)nc->opaque)->vnet_hdr;
}

static const NetClientInfo nic_info = {
    .kind = NET_CLIENT_KIND_NIC,
    .receive_iov = fake_receive,
    .link_status_changed = fake_link,
};

static const NetClientInfo tap_info = {
    .kind = NET_CLIENT_KIND_TAP,
    .receive_iov = fake_receive,
    .link_status_changed = fake_link,
    .has_vnet_hdr = fake_has_vnet_hdr,
};

static void fake_sent(NetClientState *sender, ssize_t ret)
{
    Fake *f = sender->opaque;

    f->sent_calls++;
    f->last_sent = ret;
}

static Fake *fake_new(void)
{
    Fake *f = g_new0(Fake, 1);

    f->room = -1;
    f->got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    return f;
}

static void fake_free(Fake *f)
{
    g_ptr_array_free(f->got, TRUE);
    g_free(f);
}

static const char *got_str(Fake *f, guint i)
{
    static char buf[64];
    gsize n;
    const char *d = g_bytes_get_data(g_ptr_array_index(f->got, i), &n);

    g_assert_cmpuint(n, <, sizeof(buf));
    memcpy(buf, d, n);
    buf[n] = 0;
    return buf;
}

typedef struct Pair {
    Fake *nicf, *tapf;
    NetClientState *nic, *tap;
} Pair;

static void pair_new(Pair *p)
{
    p->nicf = fake_new();
    p->tapf = fake_new();
    p->tap = net_client_new(&tap_info, NULL, "tap", "n0", p->tapf,
                            &error_abort);
    p->nic = net_client_new(&nic_info, NULL, "virtio-net-pci", "nic0",
                            p->nicf, &error_abort);
    g_assert_true(net_client_join(p->nic, "n0", &error_abort));
}

static void pair_free(Pair *p)
{
    net_client_free(p->nic);
    net_client_free(p->tap);
    fake_free(p->nicf);
    fake_free(p->tapf);
}

static void test_pairing(void)
{
    Fake *f = fake_new();
    NetClientState *a = net_client_new(&tap_info, NULL, "tap", "a", f,
                                       &error_abort);
    NetClientState *n1 = net_client_new(&nic_info, NULL, "nic", "x", f,
                                        &error_abort);
    NetClientState *n2 = net_client_new(&nic_info, NULL, "nic", "y", f,
                                        &error_abort);
    Error *err = NULL;

    g_assert_null(net_client_new(&tap_info, NULL, "tap", "a", f, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Duplicate ID 'a' for netdev");
    error_free(err);
    err = NULL;
    g_assert_true(net_find_netdev("a") == a);
    g_assert_null(net_find_netdev("x"));    /* NICs are not netdevs */
    g_assert_false(net_client_join(n1, "nope", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "can't find value 'nope'"));
    error_free(err);
    err = NULL;
    g_assert_true(net_client_join(n1, "a", &error_abort));
    g_assert_true(a->peer == n1 && n1->peer == a);
    g_assert_false(net_client_join(n2, "a", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "it's in use"));
    error_free(err);
    net_client_free(n1);
    g_assert_null(a->peer);
    g_assert_true(net_client_join(n2, "a", &error_abort));
    net_client_free(n2);
    net_client_free(a);
    g_assert_null(net_find_netdev("a"));
    fake_free(f);
}

static void test_delivery_and_flow_control(void)
{
    Pair p;

    pair_new(&p);
    g_assert_cmpint(net_send(p.tap, "one", 3), ==, 3);
    g_assert_cmpuint(p.nicf->got->len, ==, 1);
    g_assert_cmpstr(got_str(p.nicf, 0), ==, "one");

    /* The NIC has no room: frames wait, in order, and say so. */
    p.nicf->room = 0;
    for (int i = 0; i < 3; i++) {
        g_autofree char *s = g_strdup_printf("q%d", i);
        struct iovec iov = { .iov_base = s, .iov_len = strlen(s) };

        g_assert_cmpint(net_send_iov(p.tap, &iov, 1, fake_sent), ==, 0);
    }
    g_assert_cmpuint(net_client_queued(p.nic), ==, 3);
    /* Room for one more frame only: a new send queues behind the others
     * rather than overtaking them. */
    p.nicf->room = 1;
    g_assert_cmpint(net_send_iov(p.tap, &(struct iovec){ "late", 4 }, 1,
                                 fake_sent), ==, 0);
    g_assert_cmpuint(p.nicf->got->len, ==, 1);
    net_client_flush_queue(p.nic);
    g_assert_cmpuint(p.nicf->got->len, ==, 2);
    g_assert_cmpstr(got_str(p.nicf, 1), ==, "q0");
    g_assert_cmpint(p.tapf->sent_calls, ==, 1);
    g_assert_cmpint(p.tapf->last_sent, ==, 2);
    p.nicf->room = -1;
    net_client_flush_queue(p.nic);
    g_assert_cmpuint(p.nicf->got->len, ==, 5);
    g_assert_cmpstr(got_str(p.nicf, 2), ==, "q1");
    g_assert_cmpstr(got_str(p.nicf, 3), ==, "q2");
    g_assert_cmpstr(got_str(p.nicf, 4), ==, "late");
    g_assert_cmpint(p.tapf->sent_calls, ==, 4);
    g_assert_cmpuint(net_client_queued(p.nic), ==, 0);

    /* The other direction is independent. */
    g_assert_cmpint(net_send(p.nic, "up", 2), ==, 2);
    g_assert_cmpstr(got_str(p.tapf, 0), ==, "up");
    pair_free(&p);
}

static void test_queue_bound_and_failures(void)
{
    Pair p;

    pair_new(&p);
    p.nicf->room = 0;
    for (int i = 0; i < NET_QUEUE_MAX_FRAMES; i++) {
        g_assert_cmpint(net_send(p.tap, "x", 1), ==, 0);
    }
    /* Full: dropped, counted, and reported as gone. */
    g_assert_cmpint(net_send(p.tap, "y", 1), ==, 1);
    g_assert_cmpuint(p.nic->rx_dropped, ==, 1);
    g_assert_cmpuint(net_client_queued(p.nic), ==, NET_QUEUE_MAX_FRAMES);
    net_client_purge_queue(p.nic);
    g_assert_cmpuint(net_client_queued(p.nic), ==, 0);
    g_assert_cmpuint(p.nic->rx_dropped, ==, 1 + NET_QUEUE_MAX_FRAMES);

    /* A receiver that fails drops the frame for good. */
    p.nicf->room = -1;
    p.nicf->fail = true;
    g_assert_cmpint(net_send(p.tap, "z", 1), ==, 1);
    g_assert_cmpuint(net_client_queued(p.nic), ==, 0);
    p.nicf->fail = false;

    /* An oversized frame never reaches the receiver. */
    {
        g_autofree char *big = g_malloc0(NET_MAX_FRAME + 1);

        g_assert_cmpint(net_send(p.tap, big, NET_MAX_FRAME + 1), ==,
                        NET_MAX_FRAME + 1);
        g_assert_cmpuint(p.nicf->got->len, ==, 0);
    }
    pair_free(&p);
}

static void test_link_down(void)
{
    Pair p;

    pair_new(&p);
    p.nicf->room = 0;
    g_assert_cmpint(net_send(p.tap, "queued", 6), ==, 0);
    net_client_set_link(p.tap, false);
    /* Both ends down and told; what waited is gone. */
    g_assert_true(p.tap->link_down && p.nic->link_down);
    g_assert_cmpint(p.nicf->link_changes, ==, 1);
    g_assert_cmpint(p.tapf->link_changes, ==, 1);
    g_assert_cmpuint(net_client_queued(p.nic), ==, 0);
    p.nicf->room = -1;
    g_assert_cmpint(net_send(p.tap, "lost", 4), ==, 4);
    g_assert_cmpint(net_send(p.nic, "lost", 4), ==, 4);
    g_assert_cmpuint(p.nicf->got->len + p.tapf->got->len, ==, 0);
    net_client_set_link(p.nic, false);      /* already down: no news */
    g_assert_cmpint(p.nicf->link_changes, ==, 1);
    net_client_set_link(p.nic, true);
    g_assert_false(p.tap->link_down || p.nic->link_down);
    g_assert_cmpint(net_send(p.tap, "back", 4), ==, 4);
    g_assert_cmpstr(got_str(p.nicf, 0), ==, "back");
    pair_free(&p);
}

static void test_vnet_hdr(void)
{
    Pair p;

    pair_new(&p);
    g_assert_false(net_client_set_vnet_hdr_len(p.tap, 12));
    g_assert_cmpint(p.tap->vnet_hdr_len, ==, 0);
    p.tapf->vnet_hdr = true;
    g_assert_true(net_client_set_vnet_hdr_len(p.tap, 12));
    g_assert_cmpint(p.tap->vnet_hdr_len, ==, 12);
    g_assert_true(net_client_set_vnet_hdr_len(p.tap, 0));
    pair_free(&p);
}

/* A sender freed while its frame waits: no callback into freed memory. */
static void test_free_sender_with_frames_queued(void)
{
    Pair p;

    pair_new(&p);
    p.nicf->room = 0;
    g_assert_cmpint(net_send_iov(p.tap, &(struct iovec){ "a", 1 }, 1,
                                 fake_sent), ==, 0);
    net_client_free(p.tap);
    p.tap = NULL;
    p.nicf->room = -1;
    net_client_flush_queue(p.nic);
    g_assert_cmpstr(got_str(p.nicf, 0), ==, "a");
    g_assert_cmpint(p.tapf->sent_calls, ==, 0);
    net_client_free(p.nic);
    fake_free(p.nicf);
    fake_free(p.tapf);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/pairing", test_pairing);
    g_test_add_func("/net/delivery-flow-control",
                    test_delivery_and_flow_control);
    g_test_add_func("/net/queue-bound-failures",
                    test_queue_bound_and_failures);
    g_test_add_func("/net/link-down", test_link_down);
    g_test_add_func("/net/vnet-hdr", test_vnet_hdr);
    g_test_add_func("/net/free-sender-with-frames-queued",
                    test_free_sender_with_frames_queued);
    return g_test_run();
}
