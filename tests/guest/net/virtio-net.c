/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: a polled virtio-net driver (virtio 1.x, PCI modern
 * transport, split virtqueues, no interrupts).
 *
 * Start-up reads PCI config space once through the port services: find
 * the device, walk its vendor capabilities for the common, notify and
 * device-config structures, map their BAR.  From then on everything is
 * MMIO and ring memory touched from CPL3: the rings live in guest RAM
 * (TG_NET_BASE region), notifications are 16-bit writes to the notify
 * area, and the device is told not to interrupt (avail flags).
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
#include "pci.h"

#define VIRTIO_VENDOR           0x1af4
#define VIRTIO_NET_LEGACY_ID    0x1000  /* transitional device */
#define VIRTIO_NET_MODERN_ID    0x1041  /* 0x1040 + device type 1 */

/* virtio PCI capability (cap id 0x09) */
#define PCI_CAP_VENDOR          0x09
#define VCAP_CFG_TYPE           3
#define VCAP_BAR                4
#define VCAP_OFFSET             8
#define VCAP_LENGTH             12
#define VCAP_NOTIFY_MULT        16
enum { VCAP_COMMON = 1, VCAP_NOTIFY = 2, VCAP_ISR = 3, VCAP_DEVICE = 4 };

/* common configuration structure */
#define VC_DEV_FEAT_SEL         0x00
#define VC_DEV_FEAT             0x04
#define VC_DRV_FEAT_SEL         0x08
#define VC_DRV_FEAT             0x0c
#define VC_NUM_QUEUES           0x12
#define VC_STATUS               0x14
#define VC_Q_SELECT             0x16
#define VC_Q_SIZE               0x18
#define VC_Q_MSIX               0x1a
#define VC_Q_ENABLE             0x1c
#define VC_Q_NOTIFY_OFF         0x1e
#define VC_Q_DESC               0x20
#define VC_Q_DRIVER             0x28
#define VC_Q_DEVICE             0x30

#define VS_ACKNOWLEDGE          1
#define VS_DRIVER               2
#define VS_DRIVER_OK            4
#define VS_FEATURES_OK          8
#define VS_NEEDS_RESET          64
#define VS_FAILED               128

#define VIRTIO_NET_F_MAC        5
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_NO_VECTOR        0xffff

#define VRING_DESC_F_WRITE      2
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY  1

#define VNET_HDR_LEN            12      /* virtio_net_hdr with num_buffers */
#define VNET_BUF_SIZE           2048
#define VNET_QUEUE_MAX          256
#define RXQ                     0
#define TXQ                     1

struct vring_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

struct vring_avail {
    u16 flags;
    u16 idx;
    u16 ring[];
};

struct vring_used_elem {
    u32 id;
    u32 len;
};

struct vring_used {
    u16 flags;
    u16 idx;
    struct vring_used_elem ring[];
};

struct vq {
    u16 size;
    u16 avail_idx;              /* next avail slot we fill (free-running) */
    u16 used_seen;              /* next used slot we read (free-running) */
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
    volatile u8 *notify;        /* this queue's 16-bit notify register */
    u8 *bufs;                   /* size * VNET_BUF_SIZE */
    bool kick;                  /* avail idx moved since the last notify */
};

static struct {
    volatile u8 *common;
    volatile u8 *device;
    volatile u8 *notify_base;
    u32 notify_mult;
    struct vq rx, tx;
    u16 tx_free[VNET_QUEUE_MAX];
    u16 tx_nfree;
} vn;

/*
 * Register access: straight from CPL3, or with mmio=svc through the CPL0
 * services (a fallback for a host where CPL3 MMIO does not reach the VMM;
 * each access then costs a service round trip).
 */
#define MMIO_RD(width, svcnr)                                               \
    static inline u##width rd##width(volatile u8 *b, u32 off)               \
    {                                                                       \
        if (netcfg.mmio_svc) {                                              \
            return (u##width)svc(svcnr, (u64)(b + off), 0);                 \
        }                                                                   \
        return *(volatile u##width *)(b + off);                             \
    }
#define MMIO_WR(width, svcnr)                                               \
    static inline void wr##width(volatile u8 *b, u32 off, u##width v)       \
    {                                                                       \
        if (netcfg.mmio_svc) {                                              \
            svc(svcnr, (u64)(b + off), v);                                  \
        } else {                                                            \
            *(volatile u##width *)(b + off) = v;                            \
        }                                                                   \
    }
MMIO_RD(8, SVC_MMIO_RD8)
MMIO_RD(16, SVC_MMIO_RD16)
MMIO_RD(32, SVC_MMIO_RD32)
MMIO_WR(8, SVC_MMIO_WR8)
MMIO_WR(16, SVC_MMIO_WR16)
MMIO_WR(32, SVC_MMIO_WR32)
static inline void wr64(volatile u8 *b, u32 off, u64 v)
{
    wr32(b, off, (u32)v);       /* two halves: the spec allows it */
    wr32(b, off + 4, (u32)(v >> 32));
}
static inline void mfence(void) { asm volatile("mfence" ::: "memory"); }

/* One capability of each type: the first the device lists, as the spec asks. */
static bool find_caps(const struct pci_dev *d, struct line *err)
{
    u64 bar_addr[6] = { 0 };
    u8 ptr;
    int guard;
    bool have_common = false, have_notify = false, have_device = false;

    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        ln_str(err, "device has no capability list (legacy-only virtio?)");
        return false;
    }
    ptr = pci_read8(d, PCI_CAP_PTR) & 0xfc;
    for (guard = 0; ptr >= 0x40 && guard < 48; guard++) {
        u32 w0 = pci_read32(d, ptr);
        u8 type = (u8)(w0 >> 24), bar = pci_read8(d, ptr + VCAP_BAR);
        u32 off = pci_read32(d, ptr + VCAP_OFFSET);
        volatile u8 *p;

        if ((w0 & 0xff) != PCI_CAP_VENDOR ||
            (type != VCAP_COMMON && type != VCAP_NOTIFY && type != VCAP_DEVICE) ||
            (type == VCAP_COMMON && have_common) ||
            (type == VCAP_NOTIFY && have_notify) ||
            (type == VCAP_DEVICE && have_device)) {
            ptr = (u8)(w0 >> 8) & 0xfc;
            continue;
        }
        if (bar > 5) {
            ln_str(err, "virtio capability names BAR ");
            ln_dec(err, bar);
            return false;
        }
        if (!bar_addr[bar] && !pci_map_bar(d, bar, &bar_addr[bar], err)) {
            return false;
        }
        p = (volatile u8 *)(bar_addr[bar] + off);
        if (type == VCAP_COMMON) {
            vn.common = p;
            have_common = true;
        } else if (type == VCAP_NOTIFY) {
            vn.notify_base = p;
            vn.notify_mult = pci_read32(d, ptr + VCAP_NOTIFY_MULT);
            have_notify = true;
        } else {
            vn.device = p;
            have_device = true;
        }
        ptr = (u8)(w0 >> 8) & 0xfc;
    }
    if (!have_common || !have_notify || !have_device) {
        ln_str(err, "virtio-pci modern capabilities missing (common/notify/device)");
        return false;
    }
    return true;
}

static bool setup_queue(struct vq *q, u16 index, bool rx, struct line *err)
{
    u16 max, i;
    size_t avail_sz, used_sz;

    wr16(vn.common, VC_Q_SELECT, index);
    max = rd16(vn.common, VC_Q_SIZE);
    if (!max) {
        ln_str(err, "virtqueue ");
        ln_dec(err, index);
        ln_str(err, " does not exist");
        return false;
    }
    /* Split rings need a power of two; take the largest one that fits. */
    q->size = VNET_QUEUE_MAX;
    while (q->size > max) {
        q->size >>= 1;
    }
    avail_sz = 6 + 2u * q->size;
    used_sz = 6 + 8u * q->size;
    q->desc = net_alloc(16u * q->size, 4096);
    q->avail = net_alloc(avail_sz, 4096);
    q->used = net_alloc(used_sz, 4096);
    q->bufs = net_alloc((size_t)q->size * VNET_BUF_SIZE, 4096);
    if (!q->desc || !q->avail || !q->used || !q->bufs) {
        ln_str(err, "out of ring memory");
        return false;
    }
    memset((void *)q->desc, 0, 16u * q->size);
    memset((void *)q->avail, 0, avail_sz);
    memset((void *)q->used, 0, used_sz);
    q->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;   /* we poll */
    for (i = 0; i < q->size; i++) {
        q->desc[i].addr = (u64)(q->bufs + (size_t)i * VNET_BUF_SIZE);
        q->desc[i].len = VNET_BUF_SIZE;
        q->desc[i].flags = rx ? VRING_DESC_F_WRITE : 0;
        if (rx) {
            q->avail->ring[i] = i;      /* post every RX buffer */
        } else {
            vn.tx_free[vn.tx_nfree++] = i;
        }
    }
    if (rx) {
        q->avail_idx = q->size;
        q->avail->idx = q->avail_idx;
        q->kick = true;
    }
    wr16(vn.common, VC_Q_SIZE, q->size);
    wr16(vn.common, VC_Q_MSIX, VIRTIO_NO_VECTOR);
    wr64(vn.common, VC_Q_DESC, (u64)q->desc);
    wr64(vn.common, VC_Q_DRIVER, (u64)q->avail);
    wr64(vn.common, VC_Q_DEVICE, (u64)q->used);
    q->notify = vn.notify_base + (u32)rd16(vn.common, VC_Q_NOTIFY_OFF) * vn.notify_mult;
    wr16(vn.common, VC_Q_ENABLE, 1);
    return true;
}

static void set_status(u8 bits)
{
    wr8(vn.common, VC_STATUS, (u8)(rd8(vn.common, VC_STATUS) | bits));
}

bool virtio_net_init(struct line *err)
{
    static const u16 ids[] = { VIRTIO_NET_MODERN_ID, VIRTIO_NET_LEGACY_ID };
    struct pci_dev d;
    u32 feat_hi, feat_lo, i;
    struct line l = { .len = 0 };

    if (!pci_find(VIRTIO_VENDOR, ids, 2, &d)) {
        ln_str(err, "no virtio-net PCI device on bus 0");
        return false;
    }
    if (d.device == VIRTIO_NET_LEGACY_ID && pci_read16(&d, PCI_SUBSYSTEM_ID) != 1) {
        ln_str(err, "virtio device 1af4:1000 is not a network device");
        return false;
    }
    if (!find_caps(&d, err)) {
        return false;
    }

    /* Reset, then ACKNOWLEDGE, DRIVER, features, FEATURES_OK (spec 3.1.1). */
    wr8(vn.common, VC_STATUS, 0);
    for (i = 0; rd8(vn.common, VC_STATUS) && i < 1000000; i++) {
        cpu_relax();
    }
    set_status(VS_ACKNOWLEDGE);
    set_status(VS_DRIVER);
    wr32(vn.common, VC_DEV_FEAT_SEL, 0);
    feat_lo = rd32(vn.common, VC_DEV_FEAT);
    wr32(vn.common, VC_DEV_FEAT_SEL, 1);
    feat_hi = rd32(vn.common, VC_DEV_FEAT);
    if (!(feat_hi & (1u << (VIRTIO_F_VERSION_1 - 32)))) {
        set_status(VS_FAILED);
        ln_str(err, "device does not offer VIRTIO_F_VERSION_1");
        return false;
    }
    wr32(vn.common, VC_DRV_FEAT_SEL, 0);
    wr32(vn.common, VC_DRV_FEAT, feat_lo & (1u << VIRTIO_NET_F_MAC));
    wr32(vn.common, VC_DRV_FEAT_SEL, 1);
    wr32(vn.common, VC_DRV_FEAT, 1u << (VIRTIO_F_VERSION_1 - 32));
    set_status(VS_FEATURES_OK);
    if (!(rd8(vn.common, VC_STATUS) & VS_FEATURES_OK)) {
        set_status(VS_FAILED);
        ln_str(err, "device refused our features");
        return false;
    }
    if (rd16(vn.common, VC_NUM_QUEUES) < 2) {
        set_status(VS_FAILED);
        ln_str(err, "device has fewer than 2 virtqueues");
        return false;
    }
    if (!setup_queue(&vn.rx, RXQ, true, err) || !setup_queue(&vn.tx, TXQ, false, err)) {
        set_status(VS_FAILED);
        return false;
    }
    if (feat_lo & (1u << VIRTIO_NET_F_MAC)) {
        for (i = 0; i < ETH_ALEN; i++) {
            netcfg.mac[i] = rd8(vn.device, i);
        }
    } else {
        static const u8 fallback[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
        memcpy(netcfg.mac, fallback, ETH_ALEN);
    }
    set_status(VS_DRIVER_OK);
    virtio_net_kick();

    memcpy(STATUS->net.mac, netcfg.mac, ETH_ALEN);
    ln_str(&l, "TG net virtio-net pci=00:");
    ln_dec(&l, (d.bdf >> 3) / 10);      /* slot as two decimal digits */
    ln_dec(&l, (d.bdf >> 3) % 10);
    ln_str(&l, ".");
    ln_dec(&l, d.bdf & 7);
    ln_str(&l, " id=");
    ln_hex(&l, d.device);
    ln_str(&l, " mac=");
    ln_mac(&l, netcfg.mac);
    ln_str(&l, " rxq=");
    ln_dec(&l, vn.rx.size);
    ln_str(&l, " txq=");
    ln_dec(&l, vn.tx.size);
    ln_str(&l, " common=");
    ln_hex(&l, (u64)vn.common);
    if (netcfg.mmio_svc) {
        ln_str(&l, " mmio=svc");
    }
    tg_print(&l);
    return true;
}

static void notify(struct vq *q, u16 index)
{
    if (!q->kick) {
        return;
    }
    q->kick = false;
    mfence();               /* avail idx visible before we read used flags */
    if (!(q->used->flags & VRING_USED_F_NO_NOTIFY)) {
        wr16(q->notify, 0, index);
    }
}

void virtio_net_kick(void)
{
    notify(&vn.rx, RXQ);
    notify(&vn.tx, TXQ);
}

void virtio_net_check(void)
{
    if (rd8(vn.common, VC_STATUS) & VS_NEEDS_RESET) {
        struct line l = { .len = 0 };

        ln_str(&l, "TG error: virtio-net device needs reset (it saw a bad ring)");
        tg_fatal(&l);
    }
}

/* Take back TX buffers the device is done with. */
static void tx_reap(void)
{
    while (vn.tx.used_seen != vn.tx.used->idx) {
        u32 id;

        barrier();          /* read the entry after seeing the index */
        id = vn.tx.used->ring[vn.tx.used_seen % vn.tx.size].id;
        vn.tx.used_seen++;
        if (id < vn.tx.size && vn.tx_nfree < vn.tx.size) {
            vn.tx_free[vn.tx_nfree++] = (u16)id;
        }
    }
}

unsigned virtio_net_poll(unsigned budget)
{
    struct vq *q = &vn.rx;
    unsigned n = 0;

    while (n < budget && q->used_seen != q->used->idx) {
        u16 slot = q->used_seen % q->size;
        u32 id, len;

        barrier();          /* read the entry after seeing the index */
        id = q->used->ring[slot].id;
        len = q->used->ring[slot].len;
        q->used_seen++;
        if (id >= q->size) {
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
        q->avail->ring[q->avail_idx % q->size] = (u16)id;
        barrier();
        q->avail->idx = ++q->avail_idx;
        q->kick = true;
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
        vn.tx.kick = true;
        notify(&vn.tx, TXQ);
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
    q->desc[t->id].len = (u32)(VNET_HDR_LEN + frame_len);
    q->avail->ring[q->avail_idx % q->size] = t->id;
    barrier();
    q->avail->idx = ++q->avail_idx;
    q->kick = true;
    NET_STAT(tx_frames);
}
