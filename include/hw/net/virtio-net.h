/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net (virtio 1.x section 5.1), the device model: transport
 * independent, on the virtio core (include/hw/virtio/virtio.h) and the
 * network core (include/net/net.h). virtio-net-pci puts it on PCI.
 *
 * Queues: 0 receive, 1 transmit, 2 control. Every frame between the
 * driver and the device starts with a 12-byte virtio-net header
 * (VirtioNetHdr). The backend (the NIC's peer) takes that header too
 * when it can (net_client_has_vnet_hdr: a tap with vnet_hdr=on); then
 * checksum and TSO offloads are offered to the driver and the header
 * passes through both ways. A backend without it gets bare frames: the
 * header is stripped on transmit and a plain one (no offloads) is made
 * up on receive, and no offload is offered.
 *
 * Receive: a frame the filters accept goes into the receive queue's
 * buffers, across several with VIRTIO_NET_F_MRG_RXBUF (num_buffers in
 * the header says how many), through virtqueue_elem_to_guest so every
 * byte is marked dirty. With no buffer the frame is refused for now
 * (receive_iov returns 0, the network core queues it) and the driver's
 * next kick of the receive queue flushes that queue. A frame that can
 * never fit (one buffer too small without MRG_RXBUF) is dropped.
 *
 * Filters (control queue, VIRTIO_NET_F_CTRL_RX/CTRL_VLAN): promiscuous
 * (on after reset, so a driver without a control queue receives
 * everything), all-multicast, all-unicast, a MAC table of at most
 * VIRTIO_NET_MAC_TABLE_MAX unicast plus multicast addresses (a longer
 * list turns into all-unicast / all-multicast for that kind), and with
 * CTRL_VLAN a VLAN filter: tagged frames pass only for VLAN ids added.
 * Broadcast always passes.
 *
 * Transmit: each chain is one frame, sent to the peer with
 * net_send_iov. When the peer's queue takes the frame instead of the
 * peer (0 returned) the device keeps the chain, stops transmitting, and
 * goes on when the network core's sent callback says the frame left.
 *
 * Link and announce: the status field's LINK_UP follows the pair's link
 * (set_link on either end), with a configuration interrupt; announce
 * sends a gratuitous RARP from the device's MAC and, when the driver
 * negotiated GUEST_ANNOUNCE, sets the ANNOUNCE status bit so the guest
 * sends its own gratuitous ARPs and acknowledges on the control queue.
 *
 * Migration: vmstate_virtio_net (virtio core state with in-flight
 * buffers, MAC, filters, announce). A transmit chain held waiting for
 * the peer is in flight in the core's state and is sent again on the
 * destination.
 */
#ifndef HW_NET_VIRTIO_NET_H
#define HW_NET_VIRTIO_NET_H

#include "hw/virtio/virtio.h"
#include "net/net.h"

#define VIRTIO_ID_NET               1
#define TYPE_VIRTIO_NET_PCI         "virtio-net-pci"

/* Feature bits (spec 5.1.3). */
#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_GUEST_CSUM     1
#define VIRTIO_NET_F_MTU            3
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_GUEST_TSO4     7
#define VIRTIO_NET_F_GUEST_TSO6     8
#define VIRTIO_NET_F_GUEST_ECN      9
#define VIRTIO_NET_F_GUEST_UFO      10
#define VIRTIO_NET_F_HOST_TSO4      11
#define VIRTIO_NET_F_HOST_TSO6      12
#define VIRTIO_NET_F_HOST_ECN       13
#define VIRTIO_NET_F_HOST_UFO       14
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17
#define VIRTIO_NET_F_CTRL_RX        18
#define VIRTIO_NET_F_CTRL_VLAN      19
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ             22
#define VIRTIO_NET_F_CTRL_MAC_ADDR  23

/* Device configuration (little-endian). */
#define VIRTIO_NET_CFG_MAC          0       /* 6 bytes */
#define VIRTIO_NET_CFG_STATUS       6       /* le16 */
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS 8       /* le16 */
#define VIRTIO_NET_CFG_LEN          10
#define VIRTIO_NET_S_LINK_UP        1
#define VIRTIO_NET_S_ANNOUNCE       2

/* The header in front of every frame (VERSION_1: always 12 bytes). */
typedef struct VirtioNetHdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
} __attribute__((packed)) VirtioNetHdr;

#define VIRTIO_NET_HDR_LEN          12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0

/* Control queue: class, command, data, then one ack byte written back. */
enum {
    VIRTIO_NET_CTRL_RX          = 0,
    VIRTIO_NET_CTRL_MAC         = 1,
    VIRTIO_NET_CTRL_VLAN        = 2,
    VIRTIO_NET_CTRL_ANNOUNCE    = 3,
};
enum {
    VIRTIO_NET_CTRL_RX_PROMISC  = 0,
    VIRTIO_NET_CTRL_RX_ALLMULTI = 1,
    VIRTIO_NET_CTRL_RX_ALLUNI   = 2,
};
enum {
    VIRTIO_NET_CTRL_MAC_TABLE_SET = 0,
    VIRTIO_NET_CTRL_MAC_ADDR_SET  = 1,
};
enum {
    VIRTIO_NET_CTRL_VLAN_ADD    = 0,
    VIRTIO_NET_CTRL_VLAN_DEL    = 1,
};
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0
#define VIRTIO_NET_OK               0
#define VIRTIO_NET_ERR              1

#define VIRTIO_NET_RXQ              0
#define VIRTIO_NET_TXQ              1
#define VIRTIO_NET_CTRLQ            2
#define VIRTIO_NET_QUEUE_SIZE       256
#define VIRTIO_NET_CTRL_QUEUE_SIZE  64
#define VIRTIO_NET_MAC_TABLE_MAX    64
#define VIRTIO_NET_VLAN_MAX         4096
/* A control command's data past this is refused (ERR). */
#define VIRTIO_NET_CTRL_DATA_MAX    \
    (8 + 2 * 6 * VIRTIO_NET_MAC_TABLE_MAX * 4)

typedef struct VirtIONet {
    VirtIODevice vdev;          /* first */
    /* Properties. */
    char *netdev_id;
    char *mac_str;
    bool mrg_rxbuf;
    bool mq;
    /* The NIC end of the network pair. */
    NetClientState *nic;
    VirtQueue *rx_vq;
    VirtQueue *tx_vq;
    VirtQueue *ctrl_vq;
    uint8_t perm_mac[6];        /* mac= (reset goes back to it) */

    /* Guest-set state; migrated. */
    uint8_t mac[6];
    bool promisc;
    bool allmulti;
    bool alluni;
    bool uni_overflow;          /* table too long: all unicast passes */
    bool multi_overflow;
    uint32_t mac_uni_count;     /* first entries of mac_table */
    uint32_t mac_multi_count;   /* the entries after them */
    uint8_t mac_table[VIRTIO_NET_MAC_TABLE_MAX * 6];
    uint8_t vlans[VIRTIO_NET_VLAN_MAX / 8];
    bool announce_pending;      /* ANNOUNCE status bit */

    /* Transmit backpressure: sent, waiting in the peer's queue. */
    VirtQueueElement *tx_waiting;
    /* The peer took tx_waiting while the VM was stopped: it is pushed
     * to the used ring when the VM runs again (not while stopped). */
    bool tx_waiting_sent;
    uint8_t *rx_buf;            /* one frame, linearized */
    /*
     * Whether the driver is asked to kick the receive queue: only while
     * it has run out of buffers (virtio_net_rx_out_of_buffers), not for
     * every buffer it posts.
     */
    bool rx_kicks_wanted;

    /* Counters (tests, traces). */
    uint64_t rx_frames;
    uint64_t rx_filtered;
    uint64_t rx_dropped;
    uint64_t tx_frames;
} VirtIONet;

/*
 * Properties set, realize: parses mac=, joins the netdev (netdev_id may
 * be NULL: a NIC without a backend), offers the features the backend
 * allows, initializes vdev on mem. nic_name names the NIC end.
 */
bool virtio_net_realize(VirtIONet *n, GuestMemory *mem, const char *nic_name,
                        Error **errp);
void virtio_net_unrealize(VirtIONet *n);

/* announce-self, migration and COLO failover: see the header comment. */
void virtio_net_announce(VirtIONet *n);
/* The same for the virtio-net NIC at the end nc, false if nc is none. */
bool virtio_net_announce_nic(NetClientState *nc);

extern const VMStateDescription vmstate_virtio_net;

#endif
