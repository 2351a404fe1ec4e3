/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: a polled virtio-blk driver (virtio 1.x over the
 * shared transport in ../dev/virtio-pci.c, split rings; with irq= the
 * device interrupts too, counted).
 *
 * Every request is a chain of three descriptors at a fixed place: queue
 * slot k owns descriptors 3k (header, device-readable), 3k+1 (data, or
 * the discard/write-zeroes segment) and 3k+2 (status byte,
 * device-writable); a flush links 3k straight to 3k+2.  So a queue of
 * 256 entries carries 85 requests at once, and a used id names its slot
 * directly: an id that is not the head of a slot in flight is a device
 * bug, reported and dropped.
 *
 * Negotiated when offered: FLUSH, BLK_SIZE, MQ (up to BLK_MAX_QUEUES
 * queues, requests spread round-robin), DISCARD, WRITE_ZEROES, RO (so we
 * know).  Without FLUSH the device writes through and a flush request is
 * answered here as done.
 */
#include "blk.h"
#include "../dev/virtio-pci.h"

#define VIRTIO_BLK_LEGACY_ID    0x1001  /* transitional device */

#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9
#define VIRTIO_BLK_F_MQ         12
#define VIRTIO_BLK_F_DISCARD    13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* device configuration */
#define VB_CAPACITY             0x00
#define VB_BLK_SIZE             0x14
#define VB_NUM_QUEUES           0x22
#define VB_MAX_DISCARD_SECTORS  0x24
#define VB_MAX_WZ_SECTORS       0x30
#define VB_WZ_MAY_UNMAP         0x38

#define BLK_MAX_QUEUES          4
#define BLK_QUEUE_MAX           256
#define BLK_SLOTS_MAX           (BLK_QUEUE_MAX / 3)
#define BLK_ID_LEN              20
#define BLK_ERR_LINES           8       /* device-bug lines printed at most */

struct bq {
    struct vring r;
    u16 nslots;
    u16 nfree;
    u16 free[BLK_SLOTS_MAX];
    struct blk_req *inflight[BLK_SLOTS_MAX];
};

static struct {
    struct vpci dev;
    struct bq q[BLK_MAX_QUEUES];
    u16 nq;
    u16 next_q;
    u32 inflight;
    u32 bug_lines;
} vb;

struct blk_info blkinfo;

static const char *const type_names[] = {
    [BLK_T_IN] = "read", [BLK_T_OUT] = "write", [BLK_T_FLUSH] = "flush",
    [BLK_T_GET_ID] = "get-id", [BLK_T_DISCARD] = "discard",
    [BLK_T_WRITE_ZEROES] = "write-zeroes",
};

const char *blk_type_name(u32 type)
{
    if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type]) {
        return type_names[type];
    }
    return "?";
}

const char *blk_status_name(u8 status)
{
    switch (status) {
    case BLK_S_OK: return "OK";
    case BLK_S_IOERR: return "IOERR";
    case BLK_S_UNSUPP: return "UNSUPP";
    case BLK_S_NONE: return "NO-STATUS";
    case BLK_S_SHORT: return "SHORT";
    case BLK_S_PENDING: return "TIMEOUT";
    default: return "BAD-STATUS";
    }
}

/* A device bug: one line each for the first few, then only counted. */
static void device_bug(const char *what, u64 value)
{
    STATUS->disk.device_bugs++;
    if (vb.bug_lines++ < BLK_ERR_LINES) {
        struct line l = { .len = 0 };

        ln_str(&l, "TG disk error: device ");
        ln_str(&l, what);
        ln_str(&l, " ");
        ln_dec(&l, value);
        tg_print(&l);
    }
}

static bool setup_queue(struct bq *q, u16 index, struct line *err)
{
    u16 k;

    if (!vring_setup(&vb.dev, &q->r, index, BLK_QUEUE_MAX, err)) {
        return false;
    }
    if (q->r.size < 4) {
        ln_str(err, "virtqueue too small for a request");
        return false;
    }
    q->nslots = q->r.size / 3;
    q->nfree = 0;
    for (k = q->nslots; k-- > 0;) {
        u16 h = (u16)(3 * k);

        q->free[q->nfree++] = k;
        q->inflight[k] = NULL;
        q->r.desc[h].flags = VRING_DESC_F_NEXT;
        q->r.desc[h].next = (u16)(h + 1);
        q->r.desc[h + 1].next = (u16)(h + 2);
        q->r.desc[h + 2].len = 1;
        q->r.desc[h + 2].flags = VRING_DESC_F_WRITE;
    }
    return true;
}

static void read_id(void)
{
    static char id[BLK_ID_LEN];
    struct blk_req r;
    u32 i;

    memset(id, 0, sizeof(id));
    if (blk_sync(&r, BLK_T_GET_ID, 0, id, BLK_ID_LEN) != BLK_S_OK) {
        return;                 /* optional: UNSUPP is fine */
    }
    for (i = 0; i < BLK_ID_LEN && id[i]; i++) {
        blkinfo.serial[i] = id[i] >= 0x20 && id[i] < 0x7f ? id[i] : '?';
    }
    blkinfo.serial[i] = 0;
}

static void print_info(void)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG disk virtio-blk pci=");
    ln_bdf(&l, &vb.dev.pci);
    ln_str(&l, " id=");
    ln_hex(&l, vb.dev.pci.device);
    ln_str(&l, " sectors=");
    ln_dec(&l, blkinfo.sectors);
    ln_str(&l, " blk_size=");
    ln_dec(&l, blkinfo.blk_size);
    ln_str(&l, " queues=");
    ln_dec(&l, vb.nq);
    ln_str(&l, " qsize=");
    ln_dec(&l, blkinfo.qsize);
    ln_str(&l, " flush=");
    ln_str(&l, blkinfo.flush ? "yes" : "no");
    ln_str(&l, " discard=");
    ln_str(&l, blkinfo.discard ? "yes" : "no");
    ln_str(&l, " write-zeroes=");
    ln_str(&l, blkinfo.write_zeroes ? "yes" : "no");
    if (blkinfo.ro) {
        ln_str(&l, " ro");
    }
    if (blkinfo.serial[0]) {
        ln_str(&l, " serial=");
        ln_str(&l, blkinfo.serial);
    }
    if (devcfg.mmio_svc) {
        ln_str(&l, " mmio=svc");
    }
    tg_print(&l);
}

bool blk_init(struct line *err)
{
    const u64 wanted = 1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
                       1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_MQ |
                       1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    u64 f;
    u16 i, nq = 1;

    if (!vpci_find(VIRTIO_ID_BLOCK, VIRTIO_BLK_LEGACY_ID, "virtio-blk", &vb.dev, err) ||
        !vpci_negotiate(&vb.dev, wanted, err) ||
        !vpci_irq_setup(&vb.dev, err)) {
        return false;
    }
    f = vb.dev.features;
    if (f & (1ULL << VIRTIO_BLK_F_MQ)) {
        nq = vp_rd16(vb.dev.device, VB_NUM_QUEUES);
        if (!nq) {
            vpci_fail(&vb.dev);
            ln_str(err, "device offers MQ with num_queues=0");
            return false;
        }
        nq = nq > BLK_MAX_QUEUES ? BLK_MAX_QUEUES : nq;
    }
    vb.nq = nq;
    for (i = 0; i < nq; i++) {
        if (!setup_queue(&vb.q[i], i, err)) {
            vpci_fail(&vb.dev);
            return false;
        }
    }
    blkinfo.sectors = vp_rd64(vb.dev.device, VB_CAPACITY);
    blkinfo.blk_size = f & (1ULL << VIRTIO_BLK_F_BLK_SIZE) ?
                       vp_rd32(vb.dev.device, VB_BLK_SIZE) : BLK_SECTOR;
    blkinfo.queues = nq;
    blkinfo.qsize = vb.q[0].r.size;
    blkinfo.flush = f & (1ULL << VIRTIO_BLK_F_FLUSH);
    blkinfo.ro = f & (1ULL << VIRTIO_BLK_F_RO);
    blkinfo.discard = f & (1ULL << VIRTIO_BLK_F_DISCARD);
    blkinfo.write_zeroes = f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
    if (blkinfo.discard) {
        blkinfo.max_discard_sectors = vp_rd32(vb.dev.device, VB_MAX_DISCARD_SECTORS);
    }
    if (blkinfo.write_zeroes) {
        blkinfo.max_write_zeroes_sectors = vp_rd32(vb.dev.device, VB_MAX_WZ_SECTORS);
        blkinfo.write_zeroes_may_unmap = vp_rd8(vb.dev.device, VB_WZ_MAY_UNMAP) != 0;
    }
    vpci_driver_ok(&vb.dev);
    STATUS->disk.sectors = blkinfo.sectors;
    STATUS->disk.flags |= TG_DISK_UP;
    read_id();
    print_info();
    return true;
}

bool blk_submit(struct blk_req *r)
{
    struct bq *q = NULL;
    u16 i, k, h;

    for (i = 0; i < vb.nq; i++) {
        struct bq *c = &vb.q[(vb.next_q + i) % vb.nq];

        if (c->nfree) {
            q = c;
            vb.next_q = (u16)((vb.next_q + i + 1) % vb.nq);
            break;
        }
    }
    if (!q) {
        return false;
    }
    if (r->hdr.type == BLK_T_FLUSH && !blkinfo.flush) {
        r->status = BLK_S_OK;   /* write-through device: nothing to flush */
        r->t_submit = r->t_done = rdtsc();
        STATUS->disk.flushes++;
        r->done = true;
        return true;
    }
    k = q->free[--q->nfree];
    h = (u16)(3 * k);
    q->inflight[k] = r;
    r->queue = (u16)(q - vb.q);
    r->head = h;
    r->hdr.reserved = 0;
    r->status = BLK_S_PENDING;  /* stays so if the device writes none */
    r->done = false;
    r->used_len = 0;
    q->r.desc[h].addr = (u64)&r->hdr;
    q->r.desc[h].len = sizeof(r->hdr);
    switch (r->hdr.type) {
    case BLK_T_FLUSH:
        q->r.desc[h].next = (u16)(h + 2);
        break;
    case BLK_T_DISCARD:
    case BLK_T_WRITE_ZEROES:
        q->r.desc[h].next = (u16)(h + 1);
        q->r.desc[h + 1].addr = (u64)&r->seg;
        q->r.desc[h + 1].len = sizeof(r->seg);
        q->r.desc[h + 1].flags = VRING_DESC_F_NEXT;
        break;
    default:
        q->r.desc[h].next = (u16)(h + 1);
        q->r.desc[h + 1].addr = (u64)r->buf;
        q->r.desc[h + 1].len = r->len;
        q->r.desc[h + 1].flags = VRING_DESC_F_NEXT |
            (r->hdr.type == BLK_T_OUT ? 0 : VRING_DESC_F_WRITE);
        break;
    }
    q->r.desc[h + 2].addr = (u64)&r->status;
    r->t_submit = rdtsc();
    vring_push(&q->r, h);
    vb.inflight++;
    return true;
}

static void complete(struct bq *q, u32 id, u32 len)
{
    struct blk_req *r;
    u16 k = (u16)(id / 3);

    if (id >= q->r.size || id % 3 || k >= q->nslots || !q->inflight[k]) {
        device_bug("returned a descriptor id that is not in flight:", id);
        return;
    }
    r = q->inflight[k];
    q->inflight[k] = NULL;
    q->free[q->nfree++] = k;
    vb.inflight--;
    r->t_done = rdtsc();
    r->used_len = len;
    barrier();
    if (r->status == BLK_S_PENDING) {
        device_bug("wrote no status byte for sector", r->hdr.sector);
        r->status = BLK_S_NONE;
    } else if (r->status > BLK_S_UNSUPP) {
        device_bug("wrote an undefined status for sector", r->hdr.sector);
        r->status = BLK_S_NONE;
    } else if (r->status == BLK_S_OK && r->hdr.type == BLK_T_IN && len < r->len + 1) {
        device_bug("returned a short read (bytes) of", len);
        r->status = BLK_S_SHORT;
    }
    if (r->status != BLK_S_OK) {
        STATUS->disk.io_errors++;
    } else if (r->hdr.type == BLK_T_IN) {
        STATUS->disk.reads++;
    } else if (r->hdr.type == BLK_T_OUT) {
        STATUS->disk.writes++;
    } else if (r->hdr.type == BLK_T_FLUSH) {
        STATUS->disk.flushes++;
    }
    r->done = true;
}

unsigned blk_poll(void)
{
    unsigned n = 0;
    u16 i;
    u32 id, len;

    for (i = 0; i < vb.nq; i++) {
        vring_notify(&vb.q[i].r);
    }
    for (i = 0; i < vb.nq; i++) {
        while (vring_pop(&vb.q[i].r, &id, &len)) {
            complete(&vb.q[i], id, len);
            n++;
        }
    }
    return n;
}

u32 blk_inflight(void)
{
    return vb.inflight;
}

/* A device that stopped answering or asked for a reset: the guest stops here. */
static void __attribute__((noreturn)) device_dead(struct blk_req *r, const char *why)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG error: disk: ");
    ln_str(&l, why);
    ln_str(&l, " (");
    ln_str(&l, blk_type_name(r->hdr.type));
    ln_str(&l, " sector=");
    ln_dec(&l, r->hdr.sector);
    ln_str(&l, ")");
    tg_fatal(&l);
}

void blk_watchdog(u64 since_tsc)
{
    struct line l = { .len = 0 };

    if (vpci_needs_reset(&vb.dev)) {
        ln_str(&l, "TG error: disk: device needs reset (it saw a bad ring)");
        tg_fatal(&l);
    }
    if (vb.inflight && rdtsc() - since_tsc > STATUS->tsc_khz * 30000) {
        ln_str(&l, "TG error: disk: ");
        ln_dec(&l, vb.inflight);
        ln_str(&l, " requests in flight, none completed for 30 s");
        tg_fatal(&l);
    }
}

u8 blk_wait(struct blk_req *r, u64 timeout_ms)
{
    u64 start = rdtsc(), limit = STATUS->tsc_khz * timeout_ms;
    u32 spins = 0;

    while (!blk_submit(r)) {
        blk_poll();
        if (rdtsc() - start > limit) {
            device_dead(r, "no free descriptors: the device returns nothing");
        }
    }
    while (!r->done) {
        blk_poll();
        if (!r->done && ++spins % 4096 == 0) {
            if (vpci_needs_reset(&vb.dev)) {
                device_dead(r, "device needs reset (it saw a bad ring)");
            }
            if (rdtsc() - start > limit) {
                device_dead(r, "request timed out");
            }
        }
    }
    return r->status;
}

u8 blk_sync(struct blk_req *r, u32 type, u64 sector, void *buf, u32 len)
{
    memset(r, 0, sizeof(*r));
    r->hdr.type = type;
    r->hdr.sector = sector;
    r->buf = buf;
    r->len = len;
    return blk_wait(r, 30000);
}
