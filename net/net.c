/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network core: endpoints, pairing, sending with flow control and
 * link state; see include/net/net.h for the rules.
 *
 * Each endpoint has an incoming queue of frames its receive_iov refused
 * for now (returned 0). A sender whose frame lands there learns it from
 * the 0 return and, if it gave a sent callback, is called back once the
 * frame went out. Order is kept: while frames wait, new ones queue
 * behind them even if the receiver could take them.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "net/filter.h"
#include "net/net.h"
#include "trace.h"

typedef struct NetPacket {
    NetClientState *sender;
    NetSentFn *sent;
    size_t len;
    uint8_t data[];
} NetPacket;

typedef struct NetQueue {
    GQueue packets;             /* NetPacket, oldest first */
    bool flushing;              /* re-entrancy guard for flush */
} NetQueue;

/* Netdevs by creation order (NICs are owned by their devices). */
static GPtrArray *net_netdevs;
/* Every endpoint, to drop queued references to a freed sender. */
static GPtrArray *net_clients;

static size_t net_iov_size(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;

    for (int i = 0; i < iovcnt; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

NetClientState *net_find_netdev(const char *id)
{
    for (guint i = 0; net_netdevs && i < net_netdevs->len; i++) {
        NetClientState *nc = g_ptr_array_index(net_netdevs, i);

        if (!strcmp(nc->name, id)) {
            return nc;
        }
    }
    return NULL;
}

void net_foreach_netdev(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque)
{
    for (guint i = 0; net_netdevs && i < net_netdevs->len; i++) {
        fn(g_ptr_array_index(net_netdevs, i), opaque);
    }
}

void net_foreach_client(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque)
{
    for (guint i = 0; net_clients && i < net_clients->len; i++) {
        fn(g_ptr_array_index(net_clients, i), opaque);
    }
}

/* QEMU's name for a NIC without an id: its model and how many clients
 * of that model exist already ("virtio-net-pci.0", ".1", ...), which is
 * what `info network` and query-rx-filter show and scripts match. */
static char *net_client_auto_name(const char *model)
{
    unsigned same = 0;

    for (guint i = 0; net_clients && i < net_clients->len; i++) {
        NetClientState *nc = g_ptr_array_index(net_clients, i);

        same += !g_strcmp0(nc->model, model);
    }
    return g_strdup_printf("%s.%u", model, same);
}

NetClientState *net_client_new(const NetClientInfo *info,
                               NetClientState *peer, const char *model,
                               const char *name, void *opaque,
                               Error **errp)
{
    bool netdev = info->kind != NET_CLIENT_KIND_NIC;
    NetClientState *nc;

    g_assert(name || !netdev);

    if (netdev && net_find_netdev(name)) {
        error_setg(errp, "Duplicate ID '%s' for netdev", name);
        return NULL;
    }
    if (peer && peer->peer) {
        error_setg(errp, "netdev '%s' is already in use by '%s'", peer->name,
                   peer->peer->name);
        return NULL;
    }
    if (!net_netdevs) {
        net_netdevs = g_ptr_array_new();
        net_clients = g_ptr_array_new();
    }
    nc = g_new0(NetClientState, 1);
    nc->info = info;
    nc->name = name ? g_strdup(name) : net_client_auto_name(model);
    nc->model = g_strdup(model);
    nc->opaque = opaque;
    nc->incoming = g_new0(NetQueue, 1);
    g_queue_init(&nc->incoming->packets);
    if (peer) {
        nc->peer = peer;
        peer->peer = nc;
    }
    if (netdev) {
        g_ptr_array_add(net_netdevs, nc);
    }
    g_ptr_array_add(net_clients, nc);
    trace_net_client_new(model, nc->name, peer ? peer->name : "");
    return nc;
}

bool net_client_join(NetClientState *nic, const char *netdev_id,
                     Error **errp)
{
    NetClientState *nd = net_find_netdev(netdev_id);

    if (!nd) {
        error_setg(errp, "Property '%s.netdev' can't find value '%s'",
                   nic->model, netdev_id);
        return false;
    }
    if (nd->peer) {
        error_setg(errp, "Property '%s.netdev' can't take value '%s', it's "
                   "in use", nic->model, netdev_id);
        return false;
    }
    if (nic->peer) {
        nic->peer->peer = NULL;
    }
    nic->peer = nd;
    nd->peer = nic;
    /* A netdev whose link was set down before the NIC came keeps it. */
    nic->link_down = nd->link_down;
    return true;
}

/* The frame goes nowhere; the sender is told as if it had gone. */
static void net_packet_drop(NetClientState *receiver, NetPacket *p)
{
    receiver->rx_dropped++;
    if (p->sent && p->sender) {
        p->sent(p->sender, p->len);
    }
    g_free(p);
}

/* Offers one frame to nc now: bytes, 0 (not now) or -errno. */
static ssize_t net_deliver(NetClientState *nc, const struct iovec *iov,
                           int iovcnt)
{
    if (nc->info->can_receive && !nc->info->can_receive(nc)) {
        return 0;
    }
    return nc->info->receive_iov(nc, iov, iovcnt);
}

static void net_queue_append(NetClientState *receiver, NetClientState *sender,
                             const struct iovec *iov, int iovcnt,
                             size_t len, NetSentFn *sent)
{
    NetQueue *q = receiver->incoming;
    NetPacket *p = g_malloc(sizeof(*p) + len);
    size_t off = 0;

    p->sender = sender;
    p->sent = sent;
    p->len = len;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(p->data + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    g_queue_push_tail(&q->packets, p);
}

/*
 * The frame from sender, past the filters after `after` (NULL: all of
 * them), then to the peer with flow control.
 */
static ssize_t net_send_iov_from(NetClientState *sender, NetFilterState *after,
                                 const struct iovec *iov, int iovcnt,
                                 NetSentFn *sent)
{
    NetClientState *peer = sender->peer;
    size_t len = net_iov_size(iov, iovcnt);
    ssize_t ret;

    if (!peer || sender->link_down || peer->link_down) {
        trace_net_send_dropped(sender->name, len, "no peer or link down");
        return len;
    }
    if (len > NET_MAX_FRAME) {
        trace_net_send_dropped(sender->name, len, "frame too large");
        peer->rx_dropped++;
        return len;
    }
    /*
     * The filters: the sender's chain (tx) then the peer's (rx). One that
     * consumed the frame (dropped or holds it) answers for it; the
     * sender's sent callback is then never called, as in QEMU.
     */
    ret = netfilter_walk(sender, after, iov, iovcnt);
    if (ret != 0) {
        return ret;
    }
    if (g_queue_is_empty(&peer->incoming->packets)) {
        ret = net_deliver(peer, iov, iovcnt);
        if (ret != 0) {
            if (ret < 0) {
                peer->rx_dropped++;
                trace_net_send_dropped(sender->name, len, "receiver failed");
            }
            return len;
        }
    }
    if (g_queue_get_length(&peer->incoming->packets) >= NET_QUEUE_MAX_FRAMES) {
        peer->rx_dropped++;
        trace_net_send_dropped(sender->name, len, "receiver queue full");
        return len;
    }
    net_queue_append(peer, sender, iov, iovcnt, len, sent);
    return 0;
}

ssize_t net_send_iov(NetClientState *sender, const struct iovec *iov,
                     int iovcnt, NetSentFn *sent)
{
    return net_send_iov_from(sender, NULL, iov, iovcnt, sent);
}

ssize_t net_send_iov_after(NetClientState *sender, NetFilterState *after,
                           const struct iovec *iov, int iovcnt)
{
    return net_send_iov_from(sender, after, iov, iovcnt, NULL);
}

ssize_t net_send(NetClientState *sender, const void *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return net_send_iov(sender, &iov, 1, NULL);
}

void net_client_flush_queue(NetClientState *nc)
{
    NetQueue *q = nc->incoming;
    NetPacket *p;

    if (q->flushing) {
        return;     /* a sent callback sent again: the loop below goes on */
    }
    q->flushing = true;
    while ((p = g_queue_peek_head(&q->packets))) {
        struct iovec iov = { .iov_base = p->data, .iov_len = p->len };
        ssize_t ret = net_deliver(nc, &iov, 1);

        if (ret == 0) {
            break;
        }
        g_queue_pop_head(&q->packets);
        if (ret < 0) {
            net_packet_drop(nc, p);
            continue;
        }
        if (p->sent && p->sender) {
            p->sent(p->sender, ret);
        }
        g_free(p);
    }
    q->flushing = false;
}

void net_client_purge_queue(NetClientState *nc)
{
    NetPacket *p;

    while ((p = g_queue_pop_head(&nc->incoming->packets))) {
        net_packet_drop(nc, p);
    }
}

size_t net_client_queued(NetClientState *nc)
{
    return g_queue_get_length(&nc->incoming->packets);
}

void net_client_set_link(NetClientState *nc, bool up)
{
    NetClientState *ends[2] = { nc, nc->peer };

    for (int i = 0; i < 2; i++) {
        if (!ends[i] || ends[i]->link_down == !up) {
            continue;
        }
        ends[i]->link_down = !up;
        if (!up) {
            net_client_purge_queue(ends[i]);
        }
        if (ends[i]->info->link_status_changed) {
            ends[i]->info->link_status_changed(ends[i]);
        }
    }
}

bool net_client_has_vnet_hdr(NetClientState *nc)
{
    return nc->info->has_vnet_hdr && nc->info->has_vnet_hdr(nc);
}

bool net_client_set_vnet_hdr_len(NetClientState *nc, int len)
{
    if (len && !net_client_has_vnet_hdr(nc)) {
        return false;
    }
    if (nc->info->set_vnet_hdr_len && !nc->info->set_vnet_hdr_len(nc, len)) {
        return false;
    }
    nc->vnet_hdr_len = len;
    return true;
}

void net_client_set_offload(NetClientState *nc, const NetOffloads *o)
{
    if (nc->info->set_offload) {
        nc->info->set_offload(nc, o);
    }
}

void net_client_free(NetClientState *nc)
{
    /* Its filters go with it (as in QEMU); others forget its frames. */
    netfilter_client_gone(nc);
    net_client_purge_queue(nc);
    /* Frames nc sent that wait elsewhere must not call back into it. */
    for (guint i = 0; i < net_clients->len; i++) {
        NetClientState *other = g_ptr_array_index(net_clients, i);

        for (GList *l = other->incoming->packets.head; l; l = l->next) {
            NetPacket *p = l->data;

            if (p->sender == nc) {
                p->sender = NULL;
            }
        }
    }
    if (nc->peer) {
        nc->peer->peer = NULL;
    }
    if (nc->info->cleanup) {
        nc->info->cleanup(nc);
    }
    g_ptr_array_remove(net_netdevs, nc);
    g_ptr_array_remove(net_clients, nc);
    g_free(nc->incoming);
    g_free(nc->name);
    g_free(nc->model);
    g_free(nc->info_str);
    g_free(nc->qom_path);
    g_free(nc);
}

void net_cleanup(void)
{
    while (net_clients && net_clients->len) {
        net_client_free(g_ptr_array_index(net_clients,
                                          net_clients->len - 1));
    }
}
