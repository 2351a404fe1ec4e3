/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub: -netdev hubport,id=P,hubid=N[,netdev=ND]. Every port of hub N
 * is a netdev; a frame that reaches one port (from its peer: a NIC, or
 * the netdev given with netdev=) goes out of every other port. That is
 * how one backend feeds several NICs, or several NICs share a segment.
 *
 * A hub keeps no frames: a port's peer that has no room queues the frame
 * in its own incoming queue (net.h's flow control), and the frame is
 * reported as taken to the sender. A slow NIC on a hub therefore delays
 * nobody else, and a full queue drops (and counts) as a real hub would.
 */
#include <string.h>
#include "net/clients.h"
#include "trace.h"

typedef struct NetHub {
    int id;
    GPtrArray *ports;           /* NetClientState, in creation order */
} NetHub;

/* The hubs, by creation order (a hub exists while it has a port). */
static GPtrArray *net_hubs;

static NetHub *net_hub_find(int id, bool create)
{
    NetHub *hub;

    for (guint i = 0; net_hubs && i < net_hubs->len; i++) {
        hub = g_ptr_array_index(net_hubs, i);
        if (hub->id == id) {
            return hub;
        }
    }
    if (!create) {
        return NULL;
    }
    if (!net_hubs) {
        net_hubs = g_ptr_array_new();
    }
    hub = g_new0(NetHub, 1);
    hub->id = id;
    hub->ports = g_ptr_array_new();
    g_ptr_array_add(net_hubs, hub);
    return hub;
}

static ssize_t net_hub_receive_iov(NetClientState *nc, const struct iovec *iov,
                                   int iovcnt)
{
    NetHub *hub = nc->opaque;
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    for (guint i = 0; i < hub->ports->len; i++) {
        NetClientState *port = g_ptr_array_index(hub->ports, i);

        if (port != nc) {
            net_send_iov(port, iov, iovcnt, NULL);
        }
    }
    trace_net_hub_forward(hub->id, nc->name, len);
    return len;
}

static void net_hub_port_cleanup(NetClientState *nc)
{
    NetHub *hub = nc->opaque;

    g_ptr_array_remove(hub->ports, nc);
    if (!hub->ports->len) {
        g_ptr_array_remove(net_hubs, hub);
        g_ptr_array_free(hub->ports, TRUE);
        g_free(hub);
    }
}

static const NetClientInfo net_hub_port_info = {
    .kind = NET_CLIENT_KIND_HUBPORT,
    .receive_iov = net_hub_receive_iov,
    .cleanup = net_hub_port_cleanup,
};

NetClientState *net_init_hubport(const KeyvalList *opts, const char *id,
                                 Error **errp)
{
    static const char *const known[] = { "hubid", "netdev", NULL };
    const char *netdev = keyval_get(opts, "netdev");
    NetClientState *peer = NULL;
    NetClientState *nc;
    uint64_t hubid;
    NetHub *hub;

    if (!net_opts_check(opts, known, errp)) {
        return NULL;
    }
    if (!keyval_get(opts, "hubid")) {
        error_setg(errp, "Parameter 'hubid' is missing");
        return NULL;
    }
    if (!keyval_get_u64(opts, "hubid", 0, &hubid, errp)) {
        return NULL;
    }
    if (hubid > INT32_MAX) {
        error_setg(errp, "Parameter 'hubid' expects int32");
        return NULL;
    }
    if (netdev) {
        peer = net_find_netdev(netdev);
        if (!peer) {
            error_setg(errp, "netdev '%s' not found", netdev);
            return NULL;
        }
    }
    hub = net_hub_find(hubid, true);
    nc = net_client_new(&net_hub_port_info, peer, "hub", id, hub, errp);
    if (!nc) {
        if (!hub->ports->len) {
            g_ptr_array_remove(net_hubs, hub);
            g_ptr_array_free(hub->ports, TRUE);
            g_free(hub);
        }
        return NULL;
    }
    g_ptr_array_add(hub->ports, nc);
    nc->info_str = g_strdup_printf("hubid=%d", hub->id);
    return nc;
}

int net_hub_id_of(const NetClientState *nc)
{
    if (nc->info->kind != NET_CLIENT_KIND_HUBPORT) {
        return -1;
    }
    return ((NetHub *)nc->opaque)->id;
}

void net_hub_info(GString *out)
{
    for (guint h = 0; net_hubs && h < net_hubs->len; h++) {
        NetHub *hub = g_ptr_array_index(net_hubs, h);

        g_string_append_printf(out, "hub %d\n", hub->id);
        for (guint i = 0; i < hub->ports->len; i++) {
            NetClientState *port = g_ptr_array_index(hub->ports, i);

            g_string_append(out, " \\ ");
            net_info_client(out, port);
            if (port->peer) {
                g_string_append(out, "    \\ ");
                net_info_client(out, port->peer);
            }
        }
    }
}
