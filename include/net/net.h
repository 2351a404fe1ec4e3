/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network core: endpoints (NetClientState) joined in pairs, a guest
 * NIC on one side and its netdev backend (tap, user, socket, a hub port)
 * on the other. What travels between them is one Ethernet frame per
 * send, as an iovec; when both ends agreed on a virtio-net header
 * (net_client_set_vnet_hdr_len), every frame starts with one.
 *
 *   guest NIC  --net_send_iov-->  [netdev's filters: rx]  -->  peer receive_iov
 *   (virtio-net)  <--receive_iov--  [netdev's filters: tx]  <--net_send_iov  (tap)
 *
 * Every frame passes the netfilters (include/net/filter.h) first: the
 * sender's chain as tx, then the receiver's as rx. A filter that consumes
 * the frame ends the send there (the sender is told it went).
 *
 * Flow control: a receiver that cannot take a frame now (a NIC whose
 * guest posted no RX buffers, a tap whose kernel queue is full) returns 0
 * from receive_iov. The frame then waits in the receiver's incoming
 * queue (bounded: NET_QUEUE_MAX_FRAMES; beyond it frames are dropped and
 * counted, as a real link drops) and the sender is told 0 bytes were
 * sent; the receiver calls net_client_flush_queue() once it has room, and
 * each queued frame's sent callback (if any) then runs, so a backend that
 * stopped reading its fd can start again. A receiver that fails a frame
 * for good returns -errno: the frame is dropped and counted.
 *
 * A link that is down (set_link, or the peer's) drops everything sent
 * across it, both ways, silently, as a cable pulled out would.
 *
 * Threads: everything here runs on the main loop with the BQL held
 * (backends' fd watches are main-loop sources; NICs send from vCPU exits
 * and bottom halves that hold the BQL).
 */
#ifndef NET_NET_H
#define NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <glib.h>
#include "util/error.h"

#define NET_QUEUE_MAX_FRAMES   256     /* per receiver, waiting */
#define NET_MAX_FRAME          (64 * 1024 + 64)   /* TSO frame + header */

typedef struct NetClientState NetClientState;
typedef struct NetFilterState NetFilterState;

typedef enum NetClientKind {
    NET_CLIENT_KIND_NIC,        /* a guest device's end */
    NET_CLIENT_KIND_TAP,
    NET_CLIENT_KIND_USER,
    NET_CLIENT_KIND_SOCKET,
    NET_CLIENT_KIND_STREAM,
    NET_CLIENT_KIND_DGRAM,
    NET_CLIENT_KIND_HUBPORT,
} NetClientKind;

/*
 * A NIC's receive filter as its guest set it (query-rx-filter): a view
 * into the device, valid until the guest's next change.
 */
typedef struct NetRxFilter {
    const uint8_t *mac;             /* the current MAC, 6 bytes */
    bool promisc;
    bool allmulti;
    bool alluni;
    bool uni_overflow;              /* all unicast passes */
    bool multi_overflow;            /* all multicast passes */
    bool vlan_filtering;            /* else every VLAN passes */
    unsigned uni_count;
    const uint8_t *uni_table;       /* uni_count * 6 bytes */
    unsigned multi_count;
    const uint8_t *multi_table;
    const uint8_t *vlans;           /* NET_RX_FILTER_VLANS bits */
} NetRxFilter;

#define NET_RX_FILTER_VLANS     4096

/* Offloads a NIC asks its backend to accept (virtio-net's guest features). */
typedef struct NetOffloads {
    bool csum;      /* frames may carry a partial checksum */
    bool tso4;
    bool tso6;
    bool ecn;
    bool ufo;
} NetOffloads;

typedef struct NetClientInfo {
    NetClientKind kind;
    /*
     * Takes one frame. Returns the bytes taken (the whole frame), 0 when
     * it cannot now (the frame is queued, see the header comment), or
     * -errno when the frame is dropped for good.
     */
    ssize_t (*receive_iov)(NetClientState *nc, const struct iovec *iov,
                           int iovcnt);
    /* Optional: false while receive_iov would return 0 (saves a try). */
    bool (*can_receive)(NetClientState *nc);
    /* Optional: the link went up or down (nc->link_down). */
    void (*link_status_changed)(NetClientState *nc);
    /* Optional: backends that can carry a virtio-net header. */
    bool (*has_vnet_hdr)(NetClientState *nc);
    bool (*set_vnet_hdr_len)(NetClientState *nc, int len);
    void (*set_offload)(NetClientState *nc, const NetOffloads *o);
    /* Optional: frees what the kind allocated (nc itself is freed after). */
    void (*cleanup)(NetClientState *nc);
    /*
     * Optional, NICs: send the gratuitous ARP/RARP that tells switches
     * where the guest's MAC now is (announce-self). Default: nothing.
     */
    void (*announce)(NetClientState *nc);
    /* Optional, NICs with a receive filter: fills *f (query-rx-filter). */
    void (*get_rx_filter)(NetClientState *nc, NetRxFilter *f);
} NetClientInfo;

/* Called when a frame that waited in the peer's queue went out (or was
 * dropped with the queue). */
typedef void NetSentFn(NetClientState *sender, ssize_t ret);

struct NetClientState {
    const NetClientInfo *info;
    char *name;             /* the netdev id, or the NIC's id */
    char *model;            /* "tap", "user", "virtio-net-pci", ... */
    char *info_str;         /* one line for `info network` */
    NetClientState *peer;
    bool link_down;
    int vnet_hdr_len;       /* 0: frames carry no virtio-net header */
    void *opaque;           /* the owner's (device or backend) */
    char *qom_path;         /* NICs: the device's QOM path, or NULL */
    bool rx_filter_event_sent;  /* NIC_RX_FILTER_CHANGED awaits a query */

    /* The receiver's side of flow control (see the header comment). */
    struct NetQueue *incoming;
    uint64_t rx_dropped;    /* frames dropped: queue full, -errno, no peer */

    /* Netdevs: the netfilters on it, in chain order (NULL: none yet). */
    GPtrArray *filters;
};

/*
 * A new endpoint of info->kind, joined to peer (may be NULL: a netdev
 * created before its NIC; the NIC joins it with peer = the netdev).
 * A netdev is registered under name (unique among netdevs: an error
 * otherwise); NICs are not, and a NIC's name may be NULL: it is then
 * QEMU's "MODEL.N".
 */
NetClientState *net_client_new(const NetClientInfo *info,
                               NetClientState *peer, const char *model,
                               const char *name, void *opaque,
                               Error **errp);
/* Unjoins and frees nc (its queue's frames dropped, sent callbacks run). */
void net_client_free(NetClientState *nc);

/* A netdev by id, or NULL. */
NetClientState *net_find_netdev(const char *id);
/* Joins nic to the netdev id: errors if there is none or it is taken. */
bool net_client_join(NetClientState *nic, const char *netdev_id,
                     Error **errp);
/* Calls fn for every netdev, in creation order. */
void net_foreach_netdev(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque);
/* Calls fn for every endpoint, NICs included, in creation order. */
void net_foreach_client(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque);

/*
 * Sends one frame from sender to its peer. Returns the frame's length
 * when delivered or dropped (no peer, link down, a full queue: the
 * frame is gone either way), 0 when it waits in the peer's queue, in
 * which case sent (if not NULL) runs once it went out. A sender that
 * passes sent should stop producing until then.
 */
ssize_t net_send_iov(NetClientState *sender, const struct iovec *iov,
                     int iovcnt, NetSentFn *sent);
ssize_t net_send(NetClientState *sender, const void *buf, size_t len);
/*
 * For netfilters (netfilter_pass_to_next): the same send, but the frame
 * meets only the filters after `after` on its way.
 */
ssize_t net_send_iov_after(NetClientState *sender, NetFilterState *after,
                           const struct iovec *iov, int iovcnt);

/* The receiver has room again: delivers what its queue holds, in order. */
void net_client_flush_queue(NetClientState *nc);
/* Drops everything queued for nc (a reset NIC). */
void net_client_purge_queue(NetClientState *nc);
size_t net_client_queued(NetClientState *nc);

/* set_link: both ends of the pair see the change. */
void net_client_set_link(NetClientState *nc, bool up);

/* virtio-net header negotiation between a NIC and its backend. */
bool net_client_has_vnet_hdr(NetClientState *nc);
bool net_client_set_vnet_hdr_len(NetClientState *nc, int len);
void net_client_set_offload(NetClientState *nc, const NetOffloads *o);

/* A NIC's guest changed its receive filter: NIC_RX_FILTER_CHANGED, sent
 * once until the next query-rx-filter about that NIC (net/net-qmp.c). */
void net_rx_filter_changed(NetClientState *nc);

/* Frees every endpoint (at exit). */
void net_cleanup(void);

#endif
