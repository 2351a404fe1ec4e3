/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net, the device model: receive with mergeable buffers and
 * filters, transmit with backpressure, the control queue, link status
 * and announce, migration. The rules are in include/hw/net/virtio-net.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "hw/net/virtio-net.h"
#include "system/runstate.h"
#include "trace.h"

#define ETH_ALEN        6
#define ETH_HLEN        14
#define ETH_P_VLAN      0x8100
#define ETH_P_RARP      0x8035
#define ETH_ZLEN        60

static const uint8_t virtio_net_bcast[ETH_ALEN] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};

static VirtIONet *virtio_net_of(VirtIODevice *vdev)
{
    return (VirtIONet *)vdev;
}

static bool virtio_net_has(VirtIONet *n, unsigned bit)
{
    return virtio_has_feature(&n->vdev, bit);
}

/* ---- filters ---- */

static bool virtio_net_vlan_allowed(VirtIONet *n, unsigned vid)
{
    return n->vlans[vid / 8] & (1u << (vid % 8));
}

static bool virtio_net_in_table(VirtIONet *n, const uint8_t *mac,
                                unsigned first, unsigned count)
{
    for (unsigned i = first; i < first + count; i++) {
        if (!memcmp(n->mac_table + i * ETH_ALEN, mac, ETH_ALEN)) {
            return true;
        }
    }
    return false;
}

/* Whether the guest wants frame (at least ETH_HLEN bytes). */
static bool virtio_net_filter(VirtIONet *n, const uint8_t *frame)
{
    const uint8_t *dst = frame;

    if (virtio_net_has(n, VIRTIO_NET_F_CTRL_VLAN) &&
        (frame[12] << 8 | frame[13]) == ETH_P_VLAN &&
        !virtio_net_vlan_allowed(n, (frame[14] << 8 | frame[15]) & 0xfff)) {
        return false;
    }
    if (n->promisc) {
        return true;
    }
    if (!memcmp(dst, virtio_net_bcast, ETH_ALEN)) {
        return true;
    }
    if (dst[0] & 1) {
        return n->allmulti || n->multi_overflow ||
               virtio_net_in_table(n, dst, n->mac_uni_count,
                                   n->mac_multi_count);
    }
    return n->alluni || n->uni_overflow || !memcmp(dst, n->mac, ETH_ALEN) ||
           virtio_net_in_table(n, dst, 0, n->mac_uni_count);
}

/* ---- receive ---- */

static bool virtio_net_driver_ok(VirtIONet *n)
{
    return n->vdev.status & VIRTIO_STATUS_DRIVER_OK;
}

static void virtio_net_linearize(uint8_t *buf, const struct iovec *iov,
                                   int iovcnt)
{
    size_t off = 0;

    for (int i = 0; i < iovcnt; i++) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
}

/* Gives back the elements popped for a frame that did not fit. */
static void virtio_net_rx_unpop(VirtIONet *n, GPtrArray *elems)
{
    for (guint i = elems->len; i > 0; i--) {
        VirtQueueElement *elem = g_ptr_array_index(elems, i - 1);

        virtqueue_unpop(n->rx_vq, elem);
        g_free(elem);
    }
    g_ptr_array_set_size(elems, 0);
}

/*
 * Pops buffers until total bytes fit: 1 if they do, 0 when the queue
 * ran out (everything given back), -1 when the frame can never fit.
 */
static int virtio_net_rx_pop(VirtIONet *n, size_t total, GPtrArray *elems)
{
    bool mergeable = virtio_net_has(n, VIRTIO_NET_F_MRG_RXBUF);
    uint64_t room = 0;

    while (room < total) {
        VirtQueueElement *elem = virtqueue_pop(n->rx_vq);

        if (!elem) {
            virtio_net_rx_unpop(n, elems);
            return 0;
        }
        g_ptr_array_add(elems, elem);
        if (elems->len == 1 && elem->in_len < VIRTIO_NET_HDR_LEN) {
            virtio_error(&n->vdev, n->rx_vq, "receive buffer of %" PRIu64
                         " bytes is shorter than the %u-byte header",
                         elem->in_len, VIRTIO_NET_HDR_LEN);
            g_ptr_array_set_size(elems, 0);
            g_free(elem);
            return -1;
        }
        room += elem->in_len;
        if (!mergeable && room < total) {
            virtio_net_rx_unpop(n, elems);
            return -1;
        }
    }
    return 1;
}

/*
 * Out of receive buffers: the driver is asked to kick when it posts more
 * (the kick flushes the frames held for us, virtio_net_handle_rx), then
 * the queue is looked at once more, since buffers posted before the
 * request was visible came without a kick. As rx_pop.
 */
static int virtio_net_rx_out_of_buffers(VirtIONet *n, size_t total,
                                        GPtrArray *elems)
{
    virtqueue_set_notification(n->rx_vq, true);
    n->rx_kicks_wanted = true;
    return virtqueue_empty(n->rx_vq) ? 0
                                     : virtio_net_rx_pop(n, total, elems);
}

/* Buffers are there again: a kick per posted buffer would be an exit each. */
static void virtio_net_rx_has_buffers(VirtIONet *n)
{
    if (n->rx_kicks_wanted) {
        virtqueue_set_notification(n->rx_vq, false);
        n->rx_kicks_wanted = false;
    }
}

static ssize_t virtio_net_receive(NetClientState *nc, const struct iovec *iov,
                                  int iovcnt)
{
    VirtIONet *n = nc->opaque;
    size_t hdr_in = nc->vnet_hdr_len;
    size_t size, payload, total, off = 0;
    g_autoptr(GPtrArray) elems = g_ptr_array_new();
    VirtioNetHdr hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
    const uint8_t *frame;
    int ret;

    size = 0;
    for (int i = 0; i < iovcnt; i++) {
        size += iov[i].iov_len;
    }
    if (size > NET_MAX_FRAME) {
        /* The network core never passes one; a backend bug must not
         * overrun rx_buf. */
        n->rx_dropped++;
        trace_virtio_net_rx_drop(nc->name, size, "frame too large");
        return size;
    }
    virtio_net_linearize(n->rx_buf, iov, iovcnt);
    if (!virtio_net_driver_ok(n) || !virtqueue_ready(n->rx_vq)) {
        /* No driver: the frame goes nowhere, as on a NIC that is down. */
        n->rx_dropped++;
        trace_virtio_net_rx_drop(nc->name, size, "driver not ready");
        return size;
    }
    if (size < hdr_in + ETH_HLEN) {
        n->rx_dropped++;
        trace_virtio_net_rx_drop(nc->name, size, "runt frame");
        return size;
    }
    frame = n->rx_buf + hdr_in;
    payload = size - hdr_in;
    if (!virtio_net_filter(n, frame)) {
        n->rx_filtered++;
        trace_virtio_net_rx_drop(nc->name, size, "filtered");
        return size;
    }
    if (hdr_in) {
        memcpy(&hdr, n->rx_buf, VIRTIO_NET_HDR_LEN);
    }
    total = VIRTIO_NET_HDR_LEN + payload;
    ret = virtio_net_rx_pop(n, total, elems);
    if (ret == 0) {
        ret = virtio_net_rx_out_of_buffers(n, total, elems);
    }
    if (ret == 0) {
        trace_virtio_net_rx_no_buffers(nc->name, size);
        return 0;
    }
    virtio_net_rx_has_buffers(n);
    if (ret < 0) {
        n->rx_dropped++;
        trace_virtio_net_rx_drop(nc->name, size, "receive buffers too small");
        return size;
    }
    hdr.num_buffers = GUINT16_TO_LE(elems->len);
    for (guint i = 0; i < elems->len; i++) {
        VirtQueueElement *elem = g_ptr_array_index(elems, i);
        size_t done = 0;

        if (i == 0) {
            done = virtqueue_elem_to_guest(n->rx_vq, elem, 0, &hdr,
                                           VIRTIO_NET_HDR_LEN);
        }
        done += virtqueue_elem_to_guest(n->rx_vq, elem, done, frame + off,
                                        payload - off);
        off += done - (i == 0 ? VIRTIO_NET_HDR_LEN : 0);
        virtqueue_fill(n->rx_vq, elem, done);
        g_free(elem);
    }
    virtqueue_flush(n->rx_vq);
    virtio_notify(&n->vdev, n->rx_vq);
    n->rx_frames++;
    trace_virtio_net_rx(nc->name, size, elems->len);
    return size;
}

/*
 * Nothing reaches guest RAM while the VM is stopped (paused, a migration's
 * switchover, a COLO checkpoint): device state captured then must agree
 * with RAM. Frames wait in the network core's queue (which drops past its
 * bound) and come in when the VM runs (virtio_net_runstate_changed).
 */
static bool virtio_net_can_receive(NetClientState *nc)
{
    return runstate_is_running();
}

static void virtio_net_handle_rx(VirtIODevice *vdev, VirtQueue *vq)
{
    /* New buffers: frames the network core held for us can come in. */
    net_client_flush_queue(virtio_net_of(vdev)->nic);
}

/* ---- transmit ---- */

static void virtio_net_tx_flush(VirtIONet *n);

static void virtio_net_tx_sent(NetClientState *nc, ssize_t ret)
{
    VirtIONet *n = nc->opaque;

    if (n->tx_waiting && !runstate_is_running()) {
        /* The used ring is guest RAM: completed when the VM runs. */
        n->tx_waiting_sent = true;
        return;
    }
    if (n->tx_waiting) {
        virtqueue_push(n->tx_vq, n->tx_waiting, 0);
        g_free(n->tx_waiting);
        n->tx_waiting = NULL;
        virtio_notify(&n->vdev, n->tx_vq);
    }
    virtqueue_set_notification(n->tx_vq, true);
    virtio_net_tx_flush(n);
}

/*
 * Sends one chain's frame: true when it is done with (sent or dropped),
 * false when it waits in the peer's queue (the chain is kept).
 */
static bool virtio_net_tx_one(VirtIONet *n, VirtQueueElement *elem)
{
    g_autofree struct iovec *iov = g_new(struct iovec, elem->out_num + 1);
    size_t skip = n->nic->vnet_hdr_len ? 0 : VIRTIO_NET_HDR_LEN;
    VirtioNetHdr hdr;
    int cnt = 0;

    virtqueue_elem_from_guest(elem, 0, &hdr, sizeof(hdr));
    if (!n->nic->vnet_hdr_len && hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        /* Not offered without a backend header: the driver broke the
         * rules; the frame cannot go out whole. */
        trace_virtio_net_tx_drop(n->nic->name, elem->out_len,
                                 "segmentation offload not negotiated");
        return true;
    }
    for (unsigned i = 0; i < elem->out_num; i++) {
        size_t len = elem->out_sg[i].iov_len;

        if (skip >= len) {
            skip -= len;
            continue;
        }
        iov[cnt].iov_base = (uint8_t *)elem->out_sg[i].iov_base + skip;
        iov[cnt].iov_len = len - skip;
        skip = 0;
        cnt++;
    }
    n->tx_frames++;
    trace_virtio_net_tx(n->nic->name, elem->out_len);
    return net_send_iov(n->nic, iov, cnt, virtio_net_tx_sent) != 0;
}

static void virtio_net_tx_flush(VirtIONet *n)
{
    VirtQueueElement *elem;
    bool pushed = false;

    if (n->tx_waiting) {
        return;         /* the sent callback comes back here */
    }
    if (!runstate_is_running()) {
        return;         /* virtio_net_runstate_changed comes back here */
    }
    for (;;) {
        virtqueue_set_notification(n->tx_vq, false);
        while ((elem = virtqueue_pop(n->tx_vq))) {
            if (elem->out_len < VIRTIO_NET_HDR_LEN) {
                virtio_error(&n->vdev, n->tx_vq, "transmit chain of %"
                             PRIu64 " bytes is shorter than the %u-byte "
                             "header", elem->out_len, VIRTIO_NET_HDR_LEN);
                g_free(elem);
                return;
            }
            if (!virtio_net_tx_one(n, elem)) {
                n->tx_waiting = elem;
                if (pushed) {
                    virtio_notify(&n->vdev, n->tx_vq);
                }
                return;
            }
            virtqueue_push(n->tx_vq, elem, 0);
            g_free(elem);
            pushed = true;
        }
        virtqueue_set_notification(n->tx_vq, true);
        if (virtqueue_empty(n->tx_vq)) {
            break;
        }
    }
    if (pushed) {
        virtio_notify(&n->vdev, n->tx_vq);
    }
}

static void virtio_net_handle_tx(VirtIODevice *vdev, VirtQueue *vq)
{
    virtio_net_tx_flush(virtio_net_of(vdev));
}

static void virtio_net_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq);

/*
 * The VM runs again: what the stop held back goes on. A chain the peer
 * took meanwhile is completed, the transmit and control queues are run
 * (after a load the transmit queue holds the source's chains in flight,
 * and the driver, waiting for them, may not kick), and frames queued for
 * the guest come in.
 */
static void virtio_net_runstate_changed(RunState old_state,
                                        RunState new_state, void *opaque)
{
    VirtIONet *n = opaque;

    if (new_state != RUN_STATE_RUNNING) {
        return;
    }
    if (n->tx_waiting_sent) {
        n->tx_waiting_sent = false;
        virtio_net_tx_sent(n->nic, 0);
    } else if (virtqueue_ready(n->tx_vq)) {
        virtio_net_tx_flush(n);
    }
    if (virtqueue_ready(n->ctrl_vq)) {
        virtio_net_handle_ctrl(&n->vdev, n->ctrl_vq);
    }
    net_client_flush_queue(n->nic);
}

/* ---- control queue ---- */

static uint8_t virtio_net_ctrl_rx(VirtIONet *n, uint8_t cmd,
                                  const uint8_t *data, size_t len)
{
    bool on;

    if (len != 1) {
        return VIRTIO_NET_ERR;
    }
    on = data[0];
    switch (cmd) {
    case VIRTIO_NET_CTRL_RX_PROMISC:
        n->promisc = on;
        break;
    case VIRTIO_NET_CTRL_RX_ALLMULTI:
        n->allmulti = on;
        break;
    case VIRTIO_NET_CTRL_RX_ALLUNI:
        n->alluni = on;
        break;
    default:
        return VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_OK;
}

/* One MAC table (le32 entries, then entries * 6 bytes) at *off. */
static bool virtio_net_mac_list(const uint8_t *data, size_t len, size_t *off,
                                uint32_t *entries, const uint8_t **macs)
{
    uint32_t le;

    if (len - *off < 4) {
        return false;
    }
    memcpy(&le, data + *off, 4);
    *entries = GUINT32_FROM_LE(le);
    *off += 4;
    if (*entries > (len - *off) / ETH_ALEN) {
        return false;
    }
    *macs = data + *off;
    *off += (size_t)*entries * ETH_ALEN;
    return true;
}

static uint8_t virtio_net_ctrl_mac(VirtIONet *n, uint8_t cmd,
                                   const uint8_t *data, size_t len)
{
    const uint8_t *uni, *multi;
    uint32_t nuni, nmulti;
    size_t off = 0;

    if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
        if (len != ETH_ALEN) {
            return VIRTIO_NET_ERR;
        }
        memcpy(n->mac, data, ETH_ALEN);
        return VIRTIO_NET_OK;
    }
    if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET ||
        !virtio_net_mac_list(data, len, &off, &nuni, &uni) ||
        !virtio_net_mac_list(data, len, &off, &nmulti, &multi) ||
        off != len) {
        return VIRTIO_NET_ERR;
    }
    n->mac_uni_count = n->mac_multi_count = 0;
    n->uni_overflow = nuni > VIRTIO_NET_MAC_TABLE_MAX;
    if (!n->uni_overflow) {
        memcpy(n->mac_table, uni, nuni * ETH_ALEN);
        n->mac_uni_count = nuni;
    }
    n->multi_overflow =
        nmulti > VIRTIO_NET_MAC_TABLE_MAX - n->mac_uni_count;
    if (!n->multi_overflow) {
        memcpy(n->mac_table + n->mac_uni_count * ETH_ALEN, multi,
               nmulti * ETH_ALEN);
        n->mac_multi_count = nmulti;
    }
    return VIRTIO_NET_OK;
}

static uint8_t virtio_net_ctrl_vlan(VirtIONet *n, uint8_t cmd,
                                    const uint8_t *data, size_t len)
{
    uint16_t vid;

    if (len != 2) {
        return VIRTIO_NET_ERR;
    }
    vid = (data[0] | data[1] << 8);
    if (vid >= VIRTIO_NET_VLAN_MAX) {
        return VIRTIO_NET_ERR;
    }
    switch (cmd) {
    case VIRTIO_NET_CTRL_VLAN_ADD:
        n->vlans[vid / 8] |= 1u << (vid % 8);
        return VIRTIO_NET_OK;
    case VIRTIO_NET_CTRL_VLAN_DEL:
        n->vlans[vid / 8] &= ~(1u << (vid % 8));
        return VIRTIO_NET_OK;
    default:
        return VIRTIO_NET_ERR;
    }
}

static uint8_t virtio_net_ctrl_announce(VirtIONet *n, uint8_t cmd,
                                        size_t len)
{
    if (cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK || len != 0 ||
        !virtio_net_has(n, VIRTIO_NET_F_GUEST_ANNOUNCE)) {
        return VIRTIO_NET_ERR;
    }
    n->announce_pending = false;
    return VIRTIO_NET_OK;
}

/* Each class and the feature the driver needs for it. */
static const struct {
    unsigned feature;
    const char *name;
} virtio_net_ctrl_classes[] = {
    [VIRTIO_NET_CTRL_RX] = { VIRTIO_NET_F_CTRL_RX, "rx" },
    [VIRTIO_NET_CTRL_MAC] = { VIRTIO_NET_F_CTRL_RX, "mac" },
    [VIRTIO_NET_CTRL_VLAN] = { VIRTIO_NET_F_CTRL_VLAN, "vlan" },
    [VIRTIO_NET_CTRL_ANNOUNCE] = { VIRTIO_NET_F_GUEST_ANNOUNCE, "announce" },
};

static uint8_t virtio_net_ctrl(VirtIONet *n, uint8_t cls, uint8_t cmd,
                               const uint8_t *data, size_t len)
{
    if (cls >= G_N_ELEMENTS(virtio_net_ctrl_classes) ||
        !virtio_net_has(n, virtio_net_ctrl_classes[cls].feature)) {
        return VIRTIO_NET_ERR;
    }
    switch (cls) {
    case VIRTIO_NET_CTRL_RX:
        return virtio_net_ctrl_rx(n, cmd, data, len);
    case VIRTIO_NET_CTRL_MAC:
        if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
            !virtio_net_has(n, VIRTIO_NET_F_CTRL_MAC_ADDR)) {
            return VIRTIO_NET_ERR;
        }
        return virtio_net_ctrl_mac(n, cmd, data, len);
    case VIRTIO_NET_CTRL_VLAN:
        return virtio_net_ctrl_vlan(n, cmd, data, len);
    case VIRTIO_NET_CTRL_ANNOUNCE:
        return virtio_net_ctrl_announce(n, cmd, len);
    }
    return VIRTIO_NET_ERR;
}

static void virtio_net_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIONet *n = virtio_net_of(vdev);
    VirtQueueElement *elem;
    bool pushed = false;

    if (!runstate_is_running()) {
        return;     /* a kick left over from before the stop: on resume */
    }
    while ((elem = virtqueue_pop(vq))) {
        uint8_t head[2], ack = VIRTIO_NET_ERR;
        g_autofree uint8_t *data = NULL;
        size_t len;

        if (elem->out_len < 2 || elem->in_len < 1) {
            virtio_error(vdev, vq, "control command with %" PRIu64
                         " readable and %" PRIu64 " writable bytes (needs "
                         "2 and 1)", elem->out_len, elem->in_len);
            g_free(elem);
            return;
        }
        virtqueue_elem_from_guest(elem, 0, head, 2);
        len = elem->out_len - 2;
        if (len <= VIRTIO_NET_CTRL_DATA_MAX) {
            data = g_malloc(len ? len : 1);
            virtqueue_elem_from_guest(elem, 2, data, len);
            ack = virtio_net_ctrl(n, head[0], head[1], data, len);
        }
        if (ack == VIRTIO_NET_OK && head[0] != VIRTIO_NET_CTRL_ANNOUNCE) {
            net_rx_filter_changed(n->nic);  /* rx mode, MAC or VLANs */
        }
        trace_virtio_net_ctrl(n->nic->name,
                              head[0] < G_N_ELEMENTS(virtio_net_ctrl_classes)
                              ? virtio_net_ctrl_classes[head[0]].name : "?",
                              head[1], ack);
        virtqueue_elem_to_guest(vq, elem, 0, &ack, 1);
        virtqueue_push(vq, elem, 1);
        g_free(elem);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
}

/* ---- device operations ---- */

static bool virtio_net_validate_features(VirtIODevice *vdev,
                                         uint64_t features, Error **errp)
{
    static const struct {
        unsigned bit, needs;
        const char *name, *needs_name;
    } deps[] = {
        { VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_CSUM,
          "GUEST_TSO4", "GUEST_CSUM" },
        { VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_CSUM,
          "GUEST_TSO6", "GUEST_CSUM" },
        { VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CSUM, "HOST_TSO4", "CSUM" },
        { VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_CSUM, "HOST_TSO6", "CSUM" },
        { VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VQ, "CTRL_RX", "CTRL_VQ" },
        { VIRTIO_NET_F_CTRL_VLAN, VIRTIO_NET_F_CTRL_VQ,
          "CTRL_VLAN", "CTRL_VQ" },
        { VIRTIO_NET_F_GUEST_ANNOUNCE, VIRTIO_NET_F_CTRL_VQ,
          "GUEST_ANNOUNCE", "CTRL_VQ" },
        { VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_NET_F_CTRL_VQ,
          "CTRL_MAC_ADDR", "CTRL_VQ" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(deps); i++) {
        if ((features & VIRTIO_BIT(deps[i].bit)) &&
            !(features & VIRTIO_BIT(deps[i].needs))) {
            error_setg(errp, "virtio-net feature %s needs %s",
                       deps[i].name, deps[i].needs_name);
            return false;
        }
    }
    return true;
}

static void virtio_net_status_changed(VirtIODevice *vdev, uint8_t old,
                                      uint8_t status)
{
    VirtIONet *n = virtio_net_of(vdev);
    uint8_t set = status & ~old;

    if ((set & VIRTIO_STATUS_FEATURES_OK) && n->nic->vnet_hdr_len &&
        n->nic->peer) {
        NetOffloads o = {
            .csum = virtio_net_has(n, VIRTIO_NET_F_GUEST_CSUM),
            .tso4 = virtio_net_has(n, VIRTIO_NET_F_GUEST_TSO4),
            .tso6 = virtio_net_has(n, VIRTIO_NET_F_GUEST_TSO6),
        };

        net_client_set_offload(n->nic->peer, &o);
    }
    if (set & VIRTIO_STATUS_DRIVER_OK) {
        net_client_flush_queue(n->nic);
    }
}

/* Filters as after power-on: everything passes until the driver says. */
static void virtio_net_filters_reset(VirtIONet *n)
{
    n->promisc = true;
    n->allmulti = n->alluni = false;
    n->uni_overflow = n->multi_overflow = false;
    n->mac_uni_count = n->mac_multi_count = 0;
    memset(n->mac_table, 0, sizeof(n->mac_table));
    memset(n->vlans, 0, sizeof(n->vlans));
}

static void virtio_net_reset(VirtIODevice *vdev)
{
    VirtIONet *n = virtio_net_of(vdev);

    g_free(n->tx_waiting);
    n->tx_waiting = NULL;
    n->tx_waiting_sent = false;
    n->rx_kicks_wanted = true;      /* the queues' reset default */
    net_client_purge_queue(n->nic);
    virtio_net_filters_reset(n);
    memcpy(n->mac, n->perm_mac, ETH_ALEN);
    n->announce_pending = false;
}

static void virtio_net_config_read(VirtIODevice *vdev)
{
    VirtIONet *n = virtio_net_of(vdev);
    uint16_t status = 0;

    if (!n->nic->link_down) {
        status |= VIRTIO_NET_S_LINK_UP;
    }
    if (n->announce_pending) {
        status |= VIRTIO_NET_S_ANNOUNCE;
    }
    memcpy(vdev->config + VIRTIO_NET_CFG_MAC, n->mac, ETH_ALEN);
    vdev->config[VIRTIO_NET_CFG_STATUS] = status;
    vdev->config[VIRTIO_NET_CFG_STATUS + 1] = status >> 8;
    vdev->config[VIRTIO_NET_CFG_MAX_VQ_PAIRS] = 1;
    vdev->config[VIRTIO_NET_CFG_MAX_VQ_PAIRS + 1] = 0;
}

static const VirtioDeviceOps virtio_net_ops = {
    .validate_features = virtio_net_validate_features,
    .status_changed = virtio_net_status_changed,
    .reset = virtio_net_reset,
    .config_read = virtio_net_config_read,
};

/* ---- the NIC end ---- */

static void virtio_net_link_changed(NetClientState *nc)
{
    VirtIONet *n = nc->opaque;

    trace_virtio_net_link(nc->name, !nc->link_down);
    virtio_net_config_read(&n->vdev);
    virtio_config_changed(&n->vdev);
}

static void virtio_net_announce_cb(NetClientState *nc);
static void virtio_net_get_rx_filter(NetClientState *nc, NetRxFilter *f);

static const NetClientInfo virtio_net_info = {
    .kind = NET_CLIENT_KIND_NIC,
    .can_receive = virtio_net_can_receive,
    .receive_iov = virtio_net_receive,
    .link_status_changed = virtio_net_link_changed,
    .announce = virtio_net_announce_cb,
    .get_rx_filter = virtio_net_get_rx_filter,
};

/* ---- announce ---- */

static void virtio_net_send_rarp(VirtIONet *n)
{
    uint8_t buf[VIRTIO_NET_HDR_LEN + ETH_ZLEN] = { 0 };
    uint8_t *f = buf + VIRTIO_NET_HDR_LEN;
    size_t hdr = n->nic->vnet_hdr_len;

    memcpy(f, virtio_net_bcast, ETH_ALEN);
    memcpy(f + 6, n->mac, ETH_ALEN);
    f[12] = ETH_P_RARP >> 8;
    f[13] = ETH_P_RARP & 0xff;
    /* RARP: Ethernet / IPv4, 6 + 4 byte addresses, request reverse. */
    f[14] = 0; f[15] = 1;
    f[16] = 0x08; f[17] = 0x00;
    f[18] = ETH_ALEN; f[19] = 4;
    f[20] = 0; f[21] = 3;
    memcpy(f + 22, n->mac, ETH_ALEN);
    memcpy(f + 32, n->mac, ETH_ALEN);
    net_send(n->nic, buf + VIRTIO_NET_HDR_LEN - hdr, hdr + ETH_ZLEN);
}

void virtio_net_announce(VirtIONet *n)
{
    trace_virtio_net_announce(n->nic->name);
    virtio_net_send_rarp(n);
    if (virtio_net_driver_ok(n) &&
        virtio_net_has(n, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
        virtio_net_has(n, VIRTIO_NET_F_CTRL_VQ)) {
        n->announce_pending = true;
        virtio_net_config_read(&n->vdev);
        virtio_config_changed(&n->vdev);
    }
}

/* announce-self reaches the NIC through the net core. */
static void virtio_net_announce_cb(NetClientState *nc)
{
    virtio_net_announce(nc->opaque);
}

bool virtio_net_announce_nic(NetClientState *nc)
{
    if (!nc || nc->info != &virtio_net_info) {
        return false;
    }
    virtio_net_announce(nc->opaque);
    return true;
}

G_STATIC_ASSERT(VIRTIO_NET_VLAN_MAX == NET_RX_FILTER_VLANS);

/* query-rx-filter's view (NetClientInfo.get_rx_filter). */
static void virtio_net_get_rx_filter(NetClientState *nc, NetRxFilter *f)
{
    VirtIONet *n = nc->opaque;

    *f = (NetRxFilter) {
        .mac = n->mac,
        .promisc = n->promisc,
        .allmulti = n->allmulti,
        .alluni = n->alluni,
        .uni_overflow = n->uni_overflow,
        .multi_overflow = n->multi_overflow,
        .vlan_filtering = virtio_net_has(n, VIRTIO_NET_F_CTRL_VLAN),
        .uni_count = n->mac_uni_count,
        .uni_table = n->mac_table,
        .multi_count = n->mac_multi_count,
        .multi_table = n->mac_table + n->mac_uni_count * ETH_ALEN,
        .vlans = n->vlans,
    };
}

/* ---- realize ---- */

static bool virtio_net_parse_mac(const char *s, uint8_t mac[ETH_ALEN],
                                 Error **errp)
{
    unsigned v[ETH_ALEN];
    char end;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &end) != ETH_ALEN || strlen(s) != 17) {
        error_setg(errp, "Property 'virtio-net-pci.mac' doesn't take value "
                   "'%s'", s);
        return false;
    }
    for (unsigned i = 0; i < ETH_ALEN; i++) {
        mac[i] = v[i];
    }
    if (mac[0] & 1) {
        error_setg(errp, "mac=%s is a multicast address", s);
        return false;
    }
    return true;
}

bool virtio_net_realize(VirtIONet *n, GuestMemory *mem, const char *nic_name,
                        Error **errp)
{
    /* QEMU's default: 52:54:00:12:34:56, the last byte counting NICs. */
    static unsigned virtio_net_default_macs;
    uint64_t features = VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                        VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
                        VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
                        VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) |
                        VIRTIO_BIT(VIRTIO_NET_F_CTRL_VLAN) |
                        VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
                        VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |
                        VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                        VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);

    if (n->mq) {
        error_setg(errp, "virtio-net-pci: mq=on is not supported (one "
                   "queue pair)");
        return false;
    }
    if (n->mac_str) {
        if (!virtio_net_parse_mac(n->mac_str, n->perm_mac, errp)) {
            return false;
        }
    } else {
        static const uint8_t base[ETH_ALEN] = {
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56
        };

        memcpy(n->perm_mac, base, ETH_ALEN);
        n->perm_mac[5] += virtio_net_default_macs++;
    }
    n->nic = net_client_new(&virtio_net_info, NULL, TYPE_VIRTIO_NET_PCI,
                            nic_name, n, errp);
    if (!n->nic) {
        return false;
    }
    if (n->netdev_id && !net_client_join(n->nic, n->netdev_id, errp)) {
        net_client_free(n->nic);
        n->nic = NULL;
        return false;
    }
    if (n->mrg_rxbuf) {
        features |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    }
    /* A backend with the header: it passes through, offloads with it. */
    if (n->nic->peer && net_client_has_vnet_hdr(n->nic->peer) &&
        net_client_set_vnet_hdr_len(n->nic->peer, VIRTIO_NET_HDR_LEN)) {
        n->nic->vnet_hdr_len = VIRTIO_NET_HDR_LEN;
        features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
    }
    n->nic->info_str = g_strdup_printf(
        "model=virtio-net-pci,macaddr=%02x:%02x:%02x:%02x:%02x:%02x",
        n->perm_mac[0], n->perm_mac[1], n->perm_mac[2], n->perm_mac[3],
        n->perm_mac[4], n->perm_mac[5]);
    n->rx_buf = g_malloc(NET_MAX_FRAME);
    n->rx_kicks_wanted = true;
    virtio_init(&n->vdev, "virtio-net", VIRTIO_ID_NET, &virtio_net_ops, mem,
                features, VIRTIO_NET_CFG_LEN);
    n->rx_vq = virtio_add_queue(&n->vdev, VIRTIO_NET_QUEUE_SIZE,
                                virtio_net_handle_rx);
    n->tx_vq = virtio_add_queue(&n->vdev, VIRTIO_NET_QUEUE_SIZE,
                                virtio_net_handle_tx);
    n->ctrl_vq = virtio_add_queue(&n->vdev, VIRTIO_NET_CTRL_QUEUE_SIZE,
                                  virtio_net_handle_ctrl);
    virtio_reset(&n->vdev);
    virtio_net_config_read(&n->vdev);
    runstate_add_change_notifier(virtio_net_runstate_changed, n);
    return true;
}

void virtio_net_unrealize(VirtIONet *n)
{
    /* A no-op when realize failed before adding it. */
    runstate_remove_change_notifier(virtio_net_runstate_changed, n);
    g_free(n->tx_waiting);
    n->tx_waiting = NULL;
    virtio_cleanup(&n->vdev);
    if (n->nic) {
        net_client_free(n->nic);
        n->nic = NULL;
    }
    g_free(n->rx_buf);
    n->rx_buf = NULL;
}

/* ---- migration ---- */

static bool virtio_net_post_load(void *opaque, int version_id, Error **errp)
{
    VirtIONet *n = opaque;

    if (n->mac_uni_count + n->mac_multi_count > VIRTIO_NET_MAC_TABLE_MAX) {
        error_setg(errp, "virtio-net: MAC table of %u + %u entries (at "
                   "most %u)", n->mac_uni_count, n->mac_multi_count,
                   VIRTIO_NET_MAC_TABLE_MAX);
        return false;
    }
    /*
     * A chain held for the peer is in flight in the core's state and is
     * popped (and sent) again: what this side held is stale. The driver
     * kicks the transmit queue again once notifications are on.
     */
    g_free(n->tx_waiting);
    n->tx_waiting = NULL;
    n->tx_waiting_sent = false;
    if (virtqueue_ready(n->tx_vq)) {
        virtqueue_set_notification(n->tx_vq, true);
    }
    /* Kicks asked for until a frame finds buffers, whatever the source did. */
    if (virtqueue_ready(n->rx_vq)) {
        virtqueue_set_notification(n->rx_vq, true);
    }
    n->rx_kicks_wanted = true;
    virtio_net_config_read(&n->vdev);
    return true;
}

const VMStateDescription vmstate_virtio_net = {
    .name = "virtio-net",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = virtio_net_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(vdev, VirtIONet, vmstate_virtio_device,
                       VirtIODevice),
        VMSTATE_BUFFER(mac, VirtIONet),
        VMSTATE_BOOL(promisc, VirtIONet),
        VMSTATE_BOOL(allmulti, VirtIONet),
        VMSTATE_BOOL(alluni, VirtIONet),
        VMSTATE_BOOL(uni_overflow, VirtIONet),
        VMSTATE_BOOL(multi_overflow, VirtIONet),
        VMSTATE_UINT32_LE(mac_uni_count, VirtIONet,
                          VIRTIO_NET_MAC_TABLE_MAX),
        VMSTATE_UINT32_LE(mac_multi_count, VirtIONet,
                          VIRTIO_NET_MAC_TABLE_MAX),
        VMSTATE_BUFFER(mac_table, VirtIONet),
        VMSTATE_BUFFER(vlans, VirtIONet),
        VMSTATE_BOOL(announce_pending, VirtIONet),
        VMSTATE_END_OF_LIST()
    },
};
