/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: a polled virtio-net driver (virtio 1.x, PCI modern
 * transport, split virtqueues; with irq= the device interrupts too, counted).
 *
 * The transport (PCI capabilities, feature negotiation, split rings,
 * notify) is ../dev/virtio-pci.c, shared with the virtio-blk driver; this
 * file is what is particular to the network device: its buffers and
 * the frame paths.
 *
 * RX: every descriptor i owns a fixed 2 KiB buffer and is always posted;
 * a used entry is handed to eth_input() and reposted at once.  TX: the
 * same, but descriptors sit on a free stack until a frame is queued; used
 * entries return them.  Queued frames are announced with one notify per
 * poll-loop round (virtio_net_kick), skipped while the device says
 * VIRTQ_USED_F_NO_NOTIFY.  Negotiated: VERSION_1 and MAC only, so frames
 * carry complete checksums both ways and a 12-byte header with no flags.
 */
#include "net.h"
#include "../dev/virtio-pci.h"

#define VIRTIO_NET_LEGACY_ID    0x1000  /* transitional device */
#define VIRTIO_NET_F_MAC        5

#define VNET_HDR_LEN            12      /* virtio_net_hdr with num_buffers */
#define VNET_BUF_SIZE           2048
#define VNET_QUEUE_MAX          256
#define RXQ                     0
#define TXQ                     1

struct vq {
    struct vring r;
    u8 *bufs;                   /* r.size * VNET_BUF_SIZE */
};

static struct {
    struct vpci dev;
    struct vq rx, tx;
    u16 tx_free[VNET_QUEUE_MAX];
    u16 tx_nfree;
} vn;

/* Every descriptor i owns buffer i for good; RX ones are all posted. */
static bool setup_queue(struct vq *q, u16 index, bool rx, struct line *err)
{
    u16 i;

    if (!vring_setup(&vn.dev, &q->r, index, VNET_QUEUE_MAX, err)) {
        return false;
    }
    q->bufs = tg_alloc((size_t)q->r.size * VNET_BUF_SIZE, 4096);
    if (!q->bufs) {
        ln_str(err, "out of buffer memory");
        return false;
    }
    for (i = 0; i < q->r.size; i++) {
        q->r.desc[i].addr = (u64)(q->bufs + (size_t)i * VNET_BUF_SIZE);
        q->r.desc[i].len = VNET_BUF_SIZE;
        q->r.desc[i].flags = rx ? VRING_DESC_F_WRITE : 0;
        if (rx) {
            vring_push(&q->r, i);
        } else {
            vn.tx_free[vn.tx_nfree++] = i;
        }
    }
    return true;
}

bool virtio_net_init(struct line *err)
{
    struct line l = { .len = 0 };
    u32 i;

    if (!vpci_find(VIRTIO_ID_NET, VIRTIO_NET_LEGACY_ID, "virtio-net", &vn.dev, err) ||
        !vpci_negotiate(&vn.dev, 1ULL << VIRTIO_NET_F_MAC, err) ||
        !vpci_irq_setup(&vn.dev, err)) {
        return false;
    }
    if (vpci_num_queues(&vn.dev) < 2) {
        vpci_fail(&vn.dev);
        ln_str(err, "device has fewer than 2 virtqueues");
        return false;
    }
    if (!setup_queue(&vn.rx, RXQ, true, err) || !setup_queue(&vn.tx, TXQ, false, err)) {
        vpci_fail(&vn.dev);
        return false;
    }
    if (vn.dev.features & (1ULL << VIRTIO_NET_F_MAC)) {
        for (i = 0; i < ETH_ALEN; i++) {
            netcfg.mac[i] = vp_rd8(vn.dev.device, i);
        }
    } else {
        static const u8 fallback[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
        memcpy(netcfg.mac, fallback, ETH_ALEN);
    }
    vpci_driver_ok(&vn.dev);
    virtio_net_kick();

    memcpy(STATUS->net.mac, netcfg.mac, ETH_ALEN);
    ln_str(&l, "TG net virtio-net pci=");
    ln_bdf(&l, &vn.dev.pci);
    ln_str(&l, " id=");
    ln_hex(&l, vn.dev.pci.device);
    ln_str(&l, " mac=");
    ln_mac(&l, netcfg.mac);
    ln_str(&l, " rxq=");
    ln_dec(&l, vn.rx.r.size);
    ln_str(&l, " txq=");
    ln_dec(&l, vn.tx.r.size);
    ln_str(&l, " common=");
    ln_hex(&l, (u64)vn.dev.common);
    if (devcfg.mmio_svc) {
        ln_str(&l, " mmio=svc");
    }
    tg_print(&l);
    return true;
}

void virtio_net_kick(void)
{
    vring_notify(&vn.rx.r);
    vring_notify(&vn.tx.r);
}

void virtio_net_check(void)
{
    if (vpci_needs_reset(&vn.dev)) {
        struct line l = { .len = 0 };

        ln_str(&l, "TG error: virtio-net device needs reset (it saw a bad ring)");
        tg_fatal(&l);
    }
}

/* Take back TX buffers the device is done with. */
static void tx_reap(void)
{
    u32 id, len;

    while (vring_pop(&vn.tx.r, &id, &len)) {
        if (id < vn.tx.r.size && vn.tx_nfree < vn.tx.r.size) {
            vn.tx_free[vn.tx_nfree++] = (u16)id;
        }
    }
}

unsigned virtio_net_poll(unsigned budget)
{
    struct vq *q = &vn.rx;
    unsigned n = 0;
    u32 id, len;

    while (n < budget && vring_pop(&q->r, &id, &len)) {
        if (id >= q->r.size) {
            virtio_net_check();
            NET_STAT(rx_dropped);
            continue;       /* a device bug: nothing to repost */
        }
        if (len > VNET_HDR_LEN && len <= VNET_BUF_SIZE) {
            NET_STAT(rx_frames);
            eth_input(q->bufs + (size_t)id * VNET_BUF_SIZE + VNET_HDR_LEN,
                      len - VNET_HDR_LEN);
        } else {
            NET_STAT(rx_dropped);
        }
        vring_push(&q->r, (u16)id);
        n++;
    }
    tx_reap();
    return n;
}

bool net_tx_get(struct txbuf *t)
{
    u64 start = rdtsc(), limit = STATUS->tsc_khz * 100;     /* 100 ms */

    while (!vn.tx_nfree) {
        /* Ring full: make sure the device knows, reap, give up after a while. */
        vn.tx.r.kick = true;
        vring_notify(&vn.tx.r);
        tx_reap();
        if (rdtsc() - start > limit) {
            NET_STAT(tx_dropped);
            return false;
        }
        cpu_relax();
    }
    t->id = vn.tx_free[--vn.tx_nfree];
    t->frame = vn.tx.bufs + (size_t)t->id * VNET_BUF_SIZE + VNET_HDR_LEN;
    return true;
}

void net_tx_put(struct txbuf *t)
{
    vn.tx_free[vn.tx_nfree++] = t->id;
}

void net_tx_queue(struct txbuf *t, size_t frame_len)
{
    struct vq *q = &vn.tx;

    memset(q->bufs + (size_t)t->id * VNET_BUF_SIZE, 0, VNET_HDR_LEN);
    q->r.desc[t->id].len = (u32)(VNET_HDR_LEN + frame_len);
    vring_push(&q->r, t->id);
    NET_STAT(tx_frames);
}
