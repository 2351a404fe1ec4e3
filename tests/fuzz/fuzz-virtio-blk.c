/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for virtio-blk (hw/block/virtio-blk.c): what a guest
 * driver can throw at it, on a disk that fails when the input says so,
 * under every error policy, with the VM stopped and resumed (`cont`) and
 * the device saved and loaded (into a fresh device, as a migration
 * does, or over itself, as a COLO checkpoint does) in between.
 *
 * The disk is a null-co node of 1 MiB (reads give zeroes) whose requests
 * fail with EIO or ENOSPC by operation and place (fuzz-block-fault.h:
 * the node request layer is wrapped at link time), so failures come back
 * through the block workers as real ones do. BLOCK_IO_ERROR is wrapped
 * too: each event must carry the action the policy gives.
 *
 * Two kinds of driver:
 *   - a modelled one (byte 0 bit 7 clear), which lays out well-formed
 *     request chains from the input's records and keeps a model of them.
 *     Whenever it harvests the used ring, and at the end of the input,
 *     it checks: every request it made available is answered exactly
 *     once, with the status the request and the policy call for (a
 *     parked request is never answered while its disk still fails),
 *     used.len covering the writable part, reads that succeeded hold the
 *     disk's zeroes, GET_ID the serial; guest memory outside the rings'
 *     used parts and the buffers the device may write is untouched, and
 *     every page the device changed is marked dirty (checked whenever no
 *     request is in flight). After a stop the VM must not run while
 *     requests are parked, and at the end nothing is parked, in flight
 *     or unanswered once the disk is healed and the VM runs.
 *   - a hostile one (bit 7 set): guest RAM comes from the input as is
 *     (rings, chains, headers of any shape), as in the first version of
 *     this target; only the sanitizers and the end-of-input checks on
 *     the device watch.
 * The guest acts only while the VM runs (a stopped guest neither kicks
 * nor resets); the host's actions (drain, cont, stop, migration, the
 * disk healing or failing) happen at any time. Each input realizes and
 * unrealizes its own device, so a request the device loses shows as a
 * leak.
 *
 * Input:
 *   byte 0      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 DISCARD and
 *               WRITE_ZEROES, bit 3 FLUSH, bit 4 two queues, bit 5
 *               logical_block_size 4096, bit 6 the policies are the
 *               drive's (blk_set_on_error) and the device's are auto,
 *               bit 7 hostile RAM
 *   byte 1      queue size: 1 << (byte % 7) (at most 64)
 *   byte 2      werror (byte % 5), rerror (byte / 5 % 5), BlockdevOnError
 *               order: report, ignore, enospc, stop, auto
 *   byte 3      the disk's failures: bits 0-4 which operations (read,
 *               write, flush, discard, write-zeroes), bit 5 ENOSPC (else
 *               EIO), bit 6 failing from the start, bit 7 regions of
 *               4 KiB (else 16 KiB)
 *   bytes 4-11  le64: the regions that fail
 *   bytes 12-43 steps, one byte each (see fuzz_step)
 *   the rest    modelled driver: request records of 4 bytes (see
 *               fuzz_add_request); hostile: guest RAM from address 0
 *               (128 KiB), queue q's rings at q * 0x3000 (descriptors,
 *               then avail at +0x1000, used at +0x2000)
 *
 * Seeds are written by the binary itself (FUZZ_VIRTIO_BLK_SEEDS=DIR).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "block/blockdev.h"
#include "hw/block/virtio-blk.h"
#include "migration/qemu-file.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "system/runstate.h"
#include "util/bitmap.h"
#include "util/main-loop.h"
#include "fuzz-block-fault.h"
#include "fuzz-virtio-driver.h"

#define RAM_SIZE        0x20000ULL
#define RAM_PAGES       (RAM_SIZE / GUEST_PAGE_SIZE)
#define DISK_SIZE       (1u << 20)
#define DISK_SECTORS    (DISK_SIZE / VIRTIO_BLK_SECTOR)
#define HEADER          44
#define STEPS           32
#define NODE            "fz-disk"
#define SERIAL          "fuzz-serial-0123456789"
#define QUEUES          2

/* The modelled driver's buffers; queue q's rings are at q * 0x3000. */
#define HDR_GPA         0x6000ULL       /* 16 bytes a slot */
#define STATUS_GPA      0x6400ULL       /* 1 byte a slot */
#define TABLE_GPA       0x6800ULL       /* indirect table, 0x80 a slot */
#define DATA_GPA        0x8000ULL       /* 4 KiB a slot */
#define SLOT_DATA       0x1000u
#define SLOTS           24
#define DATA_DESC_MAX   3
#define CHAIN_MAX       (DATA_DESC_MAX + 2)
#define RECORD          4
#define FILL            0xa5            /* in-buffers, before the device */
#define STATUS_UNSET    0xee

/* One request of the modelled driver: a slot of buffers. */
typedef struct FuzzReq {
    bool busy;                  /* made available, not yet used */
    unsigned queue;
    uint16_t avail_pos;         /* its place in the available ring */
    uint16_t head;
    unsigned nring;             /* ring descriptors it holds */
    uint16_t ring[CHAIN_MAX];
    uint32_t type;
    uint32_t data_len;          /* bytes of data (or segment) */
    bool data_in;               /* the device writes the data */
    uint32_t in_len;            /* every writable byte: used.len */
    /* The answer without a disk error; -1: the disk decides. */
    int status;
    unsigned op;                /* the disk request (BLOCK_FAULT_*) */
    uint64_t offset;
    uint64_t bytes;
} FuzzReq;

/* The driver's side of a queue. */
typedef struct FuzzQueue {
    uint16_t num;
    uint16_t avail_idx;
    uint16_t kicked;            /* avail_idx at the last kick taken */
    uint16_t last_used;
    uint64_t free_desc;         /* one bit a descriptor */
    int8_t slot_of[64];         /* head -> slot, -1 */
} FuzzQueue;

typedef struct FuzzBlk {
    GuestMemory mem;
    uint8_t *ram;               /* its host view */
    VirtIOBlock s;
    const uint8_t *h;
    bool model;
    BlockdevOnError werror;
    BlockdevOnError rerror;
    bool drive_policy;
    BlockFaultRule rule;
    bool failing;
    uint64_t faults_before;     /* block_fault_count() at the start */
    uint64_t events;            /* BLOCK_IO_ERROR sent */

    /* The modelled driver. */
    bool started;
    uint8_t *shadow;            /* RAM as the driver wrote it */
    uint8_t *seen;              /* RAM at the last dirty check */
    FuzzQueue q[QUEUES];
    FuzzReq req[SLOTS];
    const uint8_t *records;
    size_t nrecords;
    size_t next_record;
} FuzzBlk;

/* The input being run (the event wrapper has no other way to it). */
static FuzzBlk *fz;

static G_NORETURN void fuzz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static G_NORETURN void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "fuzz-virtio-blk: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* ---- the policy, as the model reads it ---- */

static BlockErrorAction fuzz_action(bool is_read, int err)
{
    BlockdevOnError p = is_read ? fz->rerror : fz->werror;

    if (p == BLOCKDEV_ON_ERROR_AUTO) {
        p = is_read ? BLOCKDEV_ON_ERROR_REPORT : BLOCKDEV_ON_ERROR_ENOSPC;
    }
    switch (p) {
    case BLOCKDEV_ON_ERROR_IGNORE:
        return BLOCK_ERROR_ACTION_IGNORE;
    case BLOCKDEV_ON_ERROR_STOP:
        return BLOCK_ERROR_ACTION_STOP;
    case BLOCKDEV_ON_ERROR_ENOSPC:
        return err == ENOSPC ? BLOCK_ERROR_ACTION_STOP
                             : BLOCK_ERROR_ACTION_REPORT;
    default:
        return BLOCK_ERROR_ACTION_REPORT;
    }
}

void __real_qapi_event_send_block_io_error(const char *device,
                                           const char *node_name,
                                           IoOperationType operation,
                                           BlockErrorAction action,
                                           bool has_nospace, bool nospace,
                                           const char *reason);
void __wrap_qapi_event_send_block_io_error(const char *device,
                                           const char *node_name,
                                           IoOperationType operation,
                                           BlockErrorAction action,
                                           bool has_nospace, bool nospace,
                                           const char *reason);

/* Every event: the action the policy gives, the errno the disk gave. */
void __wrap_qapi_event_send_block_io_error(const char *device,
                                           const char *node_name,
                                           IoOperationType operation,
                                           BlockErrorAction action,
                                           bool has_nospace, bool nospace,
                                           const char *reason)
{
    int err = fz->rule.err;
    BlockErrorAction want = fuzz_action(operation == IO_OPERATION_TYPE_READ,
                                        err);

    if (!fz->failing) {
        fuzz_fail("BLOCK_IO_ERROR while the disk does not fail");
    }
    if (action != want || g_strcmp0(node_name, NODE) ||
        !has_nospace || nospace != (err == ENOSPC) ||
        g_strcmp0(reason, g_strerror(err))) {
        fuzz_fail("BLOCK_IO_ERROR %s, action %s, node %s, nospace %d, "
                  "reason '%s'; want action %s for errno %d",
                  IoOperationType_str(operation),
                  BlockErrorAction_str(action), node_name, nospace, reason,
                  BlockErrorAction_str(want), err);
    }
    fz->events++;
    __real_qapi_event_send_block_io_error(device, node_name, operation,
                                          action, has_nospace, nospace,
                                          reason);
}

/* ---- the device ---- */

static void fuzz_notify(void *opaque, uint16_t vector)
{
}

static const VirtioTransport fuzz_transport = { .notify = fuzz_notify };

static void fuzz_blk_realize(FuzzBlk *f)
{
    VirtIOBlock *s = &f->s;
    BlockdevOnError dev_w = f->drive_policy ? BLOCKDEV_ON_ERROR_AUTO
                                            : f->werror;
    BlockdevOnError dev_r = f->drive_policy ? BLOCKDEV_ON_ERROR_AUTO
                                            : f->rerror;

    memset(s, 0, sizeof(*s));
    s->drive_id = g_strdup(NODE);
    s->num_queues = f->h[0] & 16 ? 2 : 1;
    s->queue_size = 64;
    s->werror = dev_w;
    s->rerror = dev_r;
    s->discard = true;
    s->write_zeroes = true;
    s->logical_block_size = f->h[0] & 32 ? 4096 : 512;
    s->max_discard_sectors = 0x3fffff;
    s->max_write_zeroes_sectors = 0x3fffff;
    s->serial = g_strdup(SERIAL);
    if (!virtio_blk_realize(s, &f->mem, "fz-blk", &error_abort)) {
        abort();
    }
    /* -drive werror=/rerror=: what a device left at auto follows. */
    blk_set_on_error(s->blk, f->drive_policy ? f->rerror
                                             : BLOCKDEV_ON_ERROR_AUTO,
                     f->drive_policy ? f->werror : BLOCKDEV_ON_ERROR_AUTO);
    virtio_set_transport(&s->vdev, &fuzz_transport, f);
}

static void fuzz_blk_unrealize(FuzzBlk *f)
{
    virtio_blk_unrealize(&f->s);
    g_free(f->s.drive_id);
    g_free(f->s.serial);
}

static uint64_t fuzz_features(const uint8_t *h)
{
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                        VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE);

    if (h[0] & 1) {
        features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    }
    if (h[0] & 2) {
        features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    }
    if (h[0] & 4) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    }
    if (h[0] & 8) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
    }
    if (h[0] & 16) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    }
    return features;
}

/* ---- guest memory: the driver's writes and the checks on the device's ---- */

/* A driver write: RAM, and what the driver knows RAM holds. */
static void drv_write(FuzzBlk *f, uint64_t gpa, const void *buf, size_t len)
{
    memcpy(f->ram + gpa, buf, len);
    if (f->model) {
        memcpy(f->shadow + gpa, buf, len);
        memcpy(f->seen + gpa, buf, len);
    }
}

static void drv_fill(FuzzBlk *f, uint64_t gpa, uint8_t byte, size_t len)
{
    memset(f->ram + gpa, byte, len);
    memset(f->shadow + gpa, byte, len);
    memset(f->seen + gpa, byte, len);
}

/* The driver takes what the device wrote into [gpa, gpa + len). */
static void drv_accept(FuzzBlk *f, uint64_t gpa, size_t len)
{
    memcpy(f->shadow + gpa, f->ram + gpa, len);
}

static uint16_t drv_load16(FuzzBlk *f, uint64_t gpa)
{
    uint16_t v;

    memcpy(&v, f->ram + gpa, 2);
    return GUINT16_FROM_LE(v);
}

static uint32_t drv_load32(FuzzBlk *f, uint64_t gpa)
{
    uint32_t v;

    memcpy(&v, f->ram + gpa, 4);
    return GUINT32_FROM_LE(v);
}

typedef struct Range {
    uint64_t start;
    uint64_t len;
} Range;

static int range_cmp(const void *a, const void *b)
{
    const Range *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The device wrote only where it may: the used rings, and the status
 * byte and in-buffers of requests in flight. Compared gap by gap: block
 * workers may be writing into the buffers meanwhile.
 */
static void check_untouched(FuzzBlk *f)
{
    Range r[QUEUES + 2 * SLOTS];
    unsigned n = 0;
    uint64_t at = 0;

    for (unsigned q = 0; q < QUEUES; q++) {
        r[n++] = (Range) { q * FUZZ_RING_STRIDE + 0x2000, 0x1000 };
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (!f->req[i].busy) {
            continue;
        }
        r[n++] = (Range) { STATUS_GPA + i, 1 };
        if (f->req[i].data_in && f->req[i].data_len) {
            r[n++] = (Range) { DATA_GPA + i * SLOT_DATA, f->req[i].data_len };
        }
    }
    qsort(r, n, sizeof(r[0]), range_cmp);
    for (unsigned i = 0; i <= n; i++) {
        uint64_t end = i < n ? r[i].start : RAM_SIZE;

        if (end > at && memcmp(f->ram + at, f->shadow + at, end - at)) {
            for (uint64_t b = at; b < end; b++) {
                if (f->ram[b] != f->shadow[b]) {
                    fuzz_fail("the device wrote 0x%02x over 0x%02x at 0x%"
                              PRIx64 ", outside every buffer it may write",
                              f->ram[b], f->shadow[b], b);
                }
            }
        }
        if (i < n) {
            at = MAX(at, r[i].start + r[i].len);
        }
    }
}

/*
 * Every page the device changed since the last check is dirty (the
 * dirty rule, include/hw/virtio/virtqueue.h). Only with no request in
 * flight: a read's data lands before its completion marks it.
 */
static void check_dirty(FuzzBlk *f)
{
    RamBlock *b = &f->mem.blocks[0];
    unsigned long dirty[BITS_TO_LONGS(RAM_PAGES)];

    if (blk_in_flight(f->s.blk)) {
        return;
    }
    bitmap_take_atomic(dirty, b->dirty, RAM_PAGES);
    for (unsigned p = 0; p < RAM_PAGES; p++) {
        uint64_t off = (uint64_t)p * GUEST_PAGE_SIZE;

        if (memcmp(f->ram + off, f->seen + off, GUEST_PAGE_SIZE) &&
            !test_bit(p, dirty)) {
            fuzz_fail("page 0x%" PRIx64 " changed and is not marked dirty",
                      off);
        }
    }
    memcpy(f->seen, f->ram, RAM_SIZE);
}

/* ---- the modelled driver ---- */

static bool fuzz_has(FuzzBlk *f, unsigned bit)
{
    return virtio_has_feature(&f->s.vdev, bit);
}

static bool fuzz_range_ok(FuzzBlk *f, uint64_t sector, uint64_t bytes)
{
    uint64_t lbs = f->s.logical_block_size;

    return !((sector * VIRTIO_BLK_SECTOR) % lbs) && !(bytes % lbs) &&
           sector <= DISK_SECTORS &&
           bytes / VIRTIO_BLK_SECTOR <= DISK_SECTORS - sector;
}

/*
 * What a request must get by the spec and the device's documented rules
 * (include/hw/block/virtio-blk.h) when its disk request, if any,
 * succeeds; r->status is -1 when it goes to the disk (r->op, r->offset,
 * r->bytes say which request).
 */
static void fuzz_expect(FuzzBlk *f, FuzzReq *r, uint64_t sector,
                        uint32_t out_data, const uint8_t *seg)
{
    uint32_t in_data = r->in_len - 1;
    bool discard = r->type == VIRTIO_BLK_T_DISCARD;
    uint64_t seg_sector, bytes;
    uint32_t num, flags;

    r->status = VIRTIO_BLK_S_OK;
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        bytes = r->type == VIRTIO_BLK_T_IN ? in_data : out_data;
        if (!fuzz_range_ok(f, sector, bytes)) {
            r->status = VIRTIO_BLK_S_IOERR;
        } else if (bytes) {
            r->status = -1;
            r->op = r->type == VIRTIO_BLK_T_IN ? BLOCK_FAULT_READ
                                               : BLOCK_FAULT_WRITE;
            r->offset = sector * VIRTIO_BLK_SECTOR;
            r->bytes = bytes;
        }
        break;
    case VIRTIO_BLK_T_FLUSH:
        r->status = -1;
        r->op = BLOCK_FAULT_FLUSH;
        break;
    case VIRTIO_BLK_T_GET_ID:
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (!fuzz_has(f, discard ? VIRTIO_BLK_F_DISCARD
                                 : VIRTIO_BLK_F_WRITE_ZEROES) ||
            out_data != VIRTIO_BLK_DWZ_SEG_LEN) {
            r->status = VIRTIO_BLK_S_UNSUPP;
            break;
        }
        memcpy(&seg_sector, seg, 8);
        memcpy(&num, seg + 8, 4);
        memcpy(&flags, seg + 12, 4);
        seg_sector = GUINT64_FROM_LE(seg_sector);
        num = GUINT32_FROM_LE(num);
        flags = GUINT32_FROM_LE(flags);
        bytes = (uint64_t)num * VIRTIO_BLK_SECTOR;
        if ((flags & ~(uint32_t)VIRTIO_BLK_DWZ_F_UNMAP) ||
            (discard && flags)) {
            r->status = VIRTIO_BLK_S_UNSUPP;
        } else if (num > 0x3fffff || !fuzz_range_ok(f, seg_sector, bytes)) {
            r->status = VIRTIO_BLK_S_IOERR;
        } else if (num) {
            r->status = -1;
            r->op = discard ? BLOCK_FAULT_DISCARD : BLOCK_FAULT_WRITE_ZEROES;
            r->offset = seg_sector * VIRTIO_BLK_SECTOR;
            r->bytes = bytes;
        }
        break;
    default:
        r->status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
}

/* Whether r's disk request fails now; the errno in *err. */
static bool fuzz_disk_fails(FuzzBlk *f, const FuzzReq *r, int *err)
{
    if (block_fault_matches(r->op, r->offset, r->bytes, err)) {
        return true;
    }
    /* Without a write cache a write is followed by a flush. */
    return (r->op == BLOCK_FAULT_WRITE || r->op == BLOCK_FAULT_WRITE_ZEROES) &&
           !blk_enable_write_cache(f->s.blk) &&
           block_fault_matches(BLOCK_FAULT_FLUSH, 0, 0, err);
}

/* The driver forgets slot i (answered, or given up by a reset). */
static void fuzz_release(FuzzBlk *f, unsigned i)
{
    FuzzReq *r = &f->req[i];
    FuzzQueue *q = &f->q[r->queue];

    drv_accept(f, STATUS_GPA + i, 1);
    if (r->data_in && r->data_len) {
        drv_accept(f, DATA_GPA + i * SLOT_DATA, r->data_len);
    }
    for (unsigned d = 0; d < r->nring; d++) {
        q->free_desc |= 1ULL << r->ring[d];
    }
    q->slot_of[r->head] = -1;
    r->busy = false;
}

/* A used entry for slot i, of used.len len: the answer checked. */
static void fuzz_check_answer(FuzzBlk *f, unsigned i, uint32_t len)
{
    FuzzReq *r = &f->req[i];
    uint8_t status = f->ram[STATUS_GPA + i];
    const uint8_t *data = f->ram + DATA_GPA + i * SLOT_DATA;
    bool failed = false;
    int want = r->status, err;

    if (want < 0) {
        want = VIRTIO_BLK_S_OK;
        failed = fuzz_disk_fails(f, r, &err);
        if (failed) {
            switch (fuzz_action(r->op == BLOCK_FAULT_READ, err)) {
            case BLOCK_ERROR_ACTION_STOP:
                fuzz_fail("slot %u (type %u) answered %u while its disk "
                          "still fails and the policy is stop", i, r->type,
                          status);
            case BLOCK_ERROR_ACTION_REPORT:
                want = VIRTIO_BLK_S_IOERR;
                break;
            default:
                break;
            }
        }
    }
    if (status != want) {
        fuzz_fail("slot %u (type %u, disk op %u at %" PRIu64 "+%" PRIu64
                  ", disk %s) answered %u, want %d", i, r->type, r->op,
                  r->offset, r->bytes, failed ? "failing" : "fine", status,
                  want);
    }
    if (len != r->in_len) {
        fuzz_fail("slot %u: used.len %u, its writable part is %u bytes", i,
                  len, r->in_len);
    }
    if (r->type == VIRTIO_BLK_T_IN && r->data_in && status == VIRTIO_BLK_S_OK &&
        !failed) {
        for (uint32_t b = 0; b < r->data_len; b++) {
            if (data[b]) {
                fuzz_fail("slot %u: a read of zeroes gave 0x%02x at %u", i,
                          data[b], b);
            }
        }
    }
    if (r->type == VIRTIO_BLK_T_GET_ID && r->data_in &&
        memcmp(data, SERIAL, MIN(r->data_len, VIRTIO_BLK_ID_BYTES))) {
        fuzz_fail("slot %u: GET_ID does not give the serial", i);
    }
}

/* Reads the used rings: each entry a request in flight, answered once. */
static void fuzz_harvest(FuzzBlk *f)
{
    if (!f->model || !f->started) {
        return;
    }
    for (unsigned qi = 0; qi < f->s.num_queues; qi++) {
        FuzzQueue *q = &f->q[qi];
        uint64_t used = qi * FUZZ_RING_STRIDE + 0x2000;
        uint16_t idx = drv_load16(f, used + 2);

        if ((uint16_t)(idx - q->last_used) > q->num) {
            fuzz_fail("queue %u: used.idx went from %u to %u, queue size "
                      "%u", qi, q->last_used, idx, q->num);
        }
        while (q->last_used != idx) {
            uint64_t e = used + 4 + 8 * (q->last_used % q->num);
            uint32_t id = drv_load32(f, e), len = drv_load32(f, e + 4);
            int slot = id < q->num ? q->slot_of[id] : -1;

            if (slot < 0) {
                fuzz_fail("queue %u: used entry %u names descriptor %u, "
                          "which is not in flight", qi, q->last_used, id);
            }
            fuzz_check_answer(f, slot, len);
            fuzz_release(f, slot);
            q->last_used++;
        }
        drv_accept(f, used, 0x1000);
    }
}

/* Forgets every request: the driver reset the device. */
static void fuzz_abandon_all(FuzzBlk *f)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        if (f->req[i].busy) {
            fuzz_release(f, i);
        }
    }
}

/* Fresh, zeroed rings for every queue, and the driver's side of them. */
static void fuzz_rings_clear(FuzzBlk *f, uint16_t num)
{
    for (unsigned qi = 0; qi < QUEUES; qi++) {
        FuzzQueue *q = &f->q[qi];

        drv_fill(f, qi * FUZZ_RING_STRIDE, 0, FUZZ_RING_STRIDE);
        memset(q, 0, sizeof(*q));
        q->num = num;
        q->free_desc = num == 64 ? ~0ULL : (1ULL << num) - 1;
        memset(q->slot_of, -1, sizeof(q->slot_of));
    }
}

static void fuzz_driver_start(FuzzBlk *f)
{
    if (f->model) {
        /* The device is reset first: nothing is answered after that. */
        virtio_set_status(&f->s.vdev, 0, NULL);
        fuzz_abandon_all(f);
        fuzz_rings_clear(f, MIN(1u << (f->h[1] % 7), 64));
    }
    fuzz_virtio_start(&f->s.vdev, fuzz_features(f->h), f->h[1]);
    f->started = f->s.vdev.status & VIRTIO_STATUS_DRIVER_OK;
}

/* The lowest free descriptor of q (one is known to be free). */
static uint16_t fuzz_take_desc(FuzzQueue *q)
{
    uint16_t d = __builtin_ctzll(q->free_desc);

    q->free_desc &= ~(1ULL << d);
    return d;
}

/*
 * The next record as a request, made available on its queue (not
 * kicked). A record is four bytes:
 *   byte 0  bits 0-2 what: IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES,
 *           type byte 1 with out data, type byte 1 with in data;
 *           bit 3 queue 1; bits 4-5 data descriptors (1 + v % 3); bit 6
 *           an indirect table (when negotiated); bit 7 IN / OUT: the
 *           length cut short of whole sectors, DISCARD / WRITE_ZEROES:
 *           the unmap flag
 *   bytes 1-2  le16 sector (% 2112: some past the end)
 *   byte 3  data: (byte % 9) sectors; DISCARD / WRITE_ZEROES: sectors
 *           (255: a reserved flag too)
 * Nothing is made when the driver has no free slot or descriptors.
 */
static void fuzz_add_request(FuzzBlk *f)
{
    const uint8_t *rec;
    unsigned kind, qi, ndata, nchain, i;
    bool indirect;
    FuzzQueue *q;
    FuzzReq *r;
    VirtqDesc chain[CHAIN_MAX];
    uint8_t hdr[VIRTIO_BLK_HDR_LEN] = { 0 };
    uint8_t seg[VIRTIO_BLK_DWZ_SEG_LEN] = { 0 };
    uint64_t sector, data_gpa;
    uint32_t type, out_data = 0;
    uint16_t v;

    if (!f->started || f->next_record >= f->nrecords) {
        return;
    }
    rec = f->records + RECORD * f->next_record++;
    kind = rec[0] & 7;
    qi = (rec[0] & 8) && f->s.num_queues > 1;
    q = &f->q[qi];
    indirect = (rec[0] & 64) && fuzz_has(f, VIRTIO_F_INDIRECT_DESC);
    v = rec[1] | rec[2] << 8;
    sector = v % (DISK_SECTORS + 64);
    for (i = 0; i < SLOTS && f->req[i].busy; i++) {
    }
    if (i == SLOTS) {
        return;
    }
    r = &f->req[i];
    memset(r, 0, sizeof(*r));
    r->queue = qi;
    data_gpa = DATA_GPA + i * SLOT_DATA;

    static const uint32_t types[] = {
        VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH,
        VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
    };
    type = kind < 6 ? types[kind] : rec[1];
    r->type = type;
    r->data_in = kind == 0 || kind == 3 || kind == 7;
    ndata = 0;
    switch (kind) {
    case 2:
        break;
    case 4:
    case 5: {
        uint64_t s = GUINT64_TO_LE(sector);
        uint32_t num = GUINT32_TO_LE(rec[3]);
        uint32_t flags = GUINT32_TO_LE((rec[0] & 128 ? 1 : 0) |
                                       (rec[3] == 255 ? 2 : 0));

        memcpy(seg, &s, 8);
        memcpy(seg + 8, &num, 4);
        memcpy(seg + 12, &flags, 4);
        r->data_len = sizeof(seg);
        ndata = 1;
        break;
    }
    default:
        r->data_len = (rec[3] % 9) * VIRTIO_BLK_SECTOR;
        if ((rec[0] & 128) && r->data_len && kind < 2) {
            r->data_len -= 1 + (rec[3] >> 4);
        }
        ndata = 1 + ((rec[0] >> 4) & 3) % DATA_DESC_MAX;
        break;
    }
    nchain = 2 + ndata;
    if (nchain > q->num ||
        (!indirect && (unsigned)__builtin_popcountll(q->free_desc) < nchain) ||
        (indirect && !q->free_desc)) {
        return;
    }

    /* The buffers. */
    if (kind > 5) {
        sector = rec[2] * 9u;
    }
    {
        uint32_t t = GUINT32_TO_LE(type);
        uint64_t s = GUINT64_TO_LE(kind == 4 || kind == 5 ? 0 : sector);

        memcpy(hdr, &t, 4);
        memcpy(hdr + 8, &s, 8);
    }
    drv_write(f, HDR_GPA + i * VIRTIO_BLK_HDR_LEN, hdr, sizeof(hdr));
    drv_fill(f, STATUS_GPA + i, STATUS_UNSET, 1);
    if (kind == 4 || kind == 5) {
        drv_write(f, data_gpa, seg, sizeof(seg));
    } else if (r->data_len) {
        drv_fill(f, data_gpa, r->data_in ? FILL : rec[3], r->data_len);
    }

    /* The chain: header, data in ndata pieces, status. */
    chain[0] = (VirtqDesc) { HDR_GPA + i * VIRTIO_BLK_HDR_LEN,
                             VIRTIO_BLK_HDR_LEN, 0, 0 };
    for (unsigned d = 0; d < ndata; d++) {
        uint32_t piece = r->data_len / ndata;
        uint32_t len = d == ndata - 1 ? r->data_len - piece * d : piece;

        chain[1 + d] = (VirtqDesc) {
            data_gpa + piece * d, len,
            r->data_in ? VIRTQ_DESC_F_WRITE : 0, 0 };
    }
    chain[nchain - 1] = (VirtqDesc) { STATUS_GPA + i, 1,
                                      VIRTQ_DESC_F_WRITE, 0 };
    r->in_len = 1 + (r->data_in ? r->data_len : 0);
    out_data = r->data_in ? 0 : r->data_len;
    fuzz_expect(f, r, sector, out_data, seg);

    if (indirect) {
        uint64_t table = TABLE_GPA + i * 0x80;

        for (unsigned d = 0; d < nchain; d++) {
            VirtqDesc le = {
                .addr = GUINT64_TO_LE(chain[d].addr),
                .len = GUINT32_TO_LE(chain[d].len),
                .flags = GUINT16_TO_LE(chain[d].flags |
                                       (d + 1 < nchain ? VIRTQ_DESC_F_NEXT
                                                       : 0)),
                .next = GUINT16_TO_LE(d + 1),
            };

            drv_write(f, table + d * 16, &le, sizeof(le));
        }
        r->ring[0] = fuzz_take_desc(q);
        r->nring = 1;
        chain[0] = (VirtqDesc) { table, nchain * 16, VIRTQ_DESC_F_INDIRECT,
                                 0 };
    } else {
        for (unsigned d = 0; d < nchain; d++) {
            r->ring[d] = fuzz_take_desc(q);
        }
        r->nring = nchain;
    }
    for (unsigned d = 0; d < r->nring; d++) {
        bool more = d + 1 < r->nring;
        VirtqDesc le = {
            .addr = GUINT64_TO_LE(chain[d].addr),
            .len = GUINT32_TO_LE(chain[d].len),
            .flags = GUINT16_TO_LE(chain[d].flags |
                                   (more ? VIRTQ_DESC_F_NEXT : 0)),
            .next = GUINT16_TO_LE(more ? r->ring[d + 1] : 0),
        };

        drv_write(f, qi * FUZZ_RING_STRIDE + r->ring[d] * 16, &le,
                  sizeof(le));
    }
    r->head = r->ring[0];
    r->busy = true;
    q->slot_of[r->head] = i;
    {
        uint64_t avail = qi * FUZZ_RING_STRIDE + 0x1000;
        uint16_t head = GUINT16_TO_LE(r->head);
        uint16_t idx;

        drv_write(f, avail + 4 + 2 * (q->avail_idx % q->num), &head, 2);
        r->avail_pos = q->avail_idx++;
        idx = GUINT16_TO_LE(q->avail_idx);
        drv_write(f, avail + 2, &idx, 2);
    }
}

/* ---- the host's side ---- */

/* The disk starts or stops failing, with nothing in flight. */
static void fuzz_set_failing(FuzzBlk *f, bool failing)
{
    blk_drain(f->s.blk);
    fuzz_harvest(f);
    f->failing = failing;
    block_fault_set(failing ? &f->rule : NULL);
}

/*
 * Saves the device and loads the state into a fresh device on the same
 * RAM and disk (fresh: a migration; the source goes away with what it
 * parked) or back into itself (a COLO checkpoint on the secondary). The
 * VM is stopped around it, as both do, and runs again if it ran.
 */
static void fuzz_migrate(FuzzBlk *f, bool fresh)
{
    bool was_running = runstate_is_running();
    g_autoptr(QEMUFile) out = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) in = NULL;
    g_autofree uint8_t *blob = NULL;
    const uint8_t *data;
    size_t len;
    int status;

    if (was_running) {
        runstate_set(fresh ? RUN_STATE_FINISH_MIGRATE : RUN_STATE_COLO);
    }
    if (!vmstate_save(out, &vmstate_virtio_blk, &f->s, NULL, &error_abort)) {
        abort();
    }
    data = qemu_file_mem_output_data(out, &len);
    blob = g_memdup2(data, len);
    if (fresh) {
        /* A stop the source asked for dies with it (a request the save's
         * drain parked travels as in flight). */
        main_loop_check_requests(&status);
        fuzz_blk_unrealize(f);
        fuzz_blk_realize(f);
    }
    in = qemu_file_new_mem_input(blob, len, 0);
    if (!vmstate_load(in, &vmstate_virtio_blk, &f->s, 1, &error_abort)) {
        abort();
    }
    if (was_running) {
        runstate_set(RUN_STATE_RUNNING);
    }
}

static void fuzz_kick(FuzzBlk *f, unsigned index)
{
    if (!runstate_is_running()) {
        return;
    }
    virtio_queue_notify(&f->s.vdev, index);
    if (f->model && f->started && index < f->s.num_queues) {
        /* What was available is the device's now: answered without
         * another kick, whatever stops, runs or migrates meanwhile. */
        f->q[index].kicked = f->q[index].avail_idx;
    }
}

/*
 * One step: bits 0-3 the action, bits 4-7 its argument.
 *   the guest's, only while the VM runs: 0 kick queue arg & 1; 1 make a
 *   request available (hostile driver: kick queue arg, any index); 2
 *   make two available and kick queue arg & 1; 5 read the
 *   configuration; 6 reset the device; 7 start the driver again; 14
 *   read the ISR
 *   the host's: 3 drain; 4 the main loop and its requests (a stop
 *   lands); 8 cont; 9 stop; 10 the disk heals; 11 the disk fails; 12
 *   migration into a fresh device; 13 save and load over itself (COLO);
 *   14 with arg bit 0 the machine's reset; 15 the main loop alone
 * After each step the modelled driver harvests and checks memory.
 */
static void fuzz_step(FuzzBlk *f, uint8_t b)
{
    VirtIODevice *vdev = &f->s.vdev;
    bool running = runstate_is_running();
    uint8_t cfg[VIRTIO_BLK_CFG_LEN];
    int status;

    switch (b & 15) {
    case 0:
        fuzz_kick(f, (b >> 4) & 1);
        break;
    case 1:
        if (!f->model) {
            fuzz_kick(f, b >> 4);               /* any index */
        } else if (running) {
            fuzz_add_request(f);
        }
        break;
    case 2:
        if (f->model && running) {
            fuzz_add_request(f);
            fuzz_add_request(f);
        }
        fuzz_kick(f, (b >> 4) & 1);
        break;
    case 3:
        blk_drain(f->s.blk);
        break;
    case 4:
        main_loop_wait(false);
        main_loop_check_requests(&status);
        /* A stop policy parked requests: the VM does not run on. */
        if (!g_queue_is_empty(&f->s.parked) && runstate_is_running()) {
            fuzz_fail("%u requests parked and the VM still runs",
                      g_queue_get_length(&f->s.parked));
        }
        break;
    case 5:
        if (running) {
            virtio_config_read(vdev, 0, cfg, sizeof(cfg), NULL);
        }
        break;
    case 6:
        if (running) {
            virtio_set_status(vdev, 0, NULL);   /* reset: drains */
            if (f->model) {
                fuzz_abandon_all(f);
                f->started = false;
            }
        }
        break;
    case 7:
        if (running) {
            fuzz_driver_start(f);
        }
        break;
    case 8:
        qmp_cont(&error_abort);
        break;
    case 9:
        qmp_stop(&error_abort);
        break;
    case 10:
        fuzz_set_failing(f, false);
        break;
    case 11:
        fuzz_set_failing(f, true);
        break;
    case 12:
        fuzz_migrate(f, true);
        break;
    case 13:
        fuzz_migrate(f, false);
        break;
    case 14:
        if (b & 16) {
            /* The machine's reset (system_reset): any run state. */
            virtio_reset(vdev);
            if (f->model) {
                fuzz_abandon_all(f);
                f->started = false;
            }
        } else if (running) {
            virtio_isr_take(vdev);
        }
        break;
    default:
        main_loop_wait(false);
        break;
    }
    if (f->model) {
        fuzz_harvest(f);
        check_untouched(f);
        check_dirty(f);
    }
}

/*
 * The end: the disk heals, the VM runs, and what the device was given
 * comes back without another kick; then every queue is kicked and
 * drained until nothing moves. Then nothing may be parked or in flight,
 * every failure was told once, and the modelled driver has every answer.
 */
static void fuzz_settle(FuzzBlk *f, bool kick)
{
    int status;

    for (unsigned round = 0; round < 3; round++) {
        main_loop_check_requests(&status);
        if (!runstate_is_running()) {
            qmp_cont(&error_abort);
        }
        for (unsigned qi = 0; kick && qi < f->s.num_queues; qi++) {
            fuzz_kick(f, qi);
        }
        blk_drain(f->s.blk);
        main_loop_wait(false);
        fuzz_harvest(f);
    }
}

static void fuzz_finish(FuzzBlk *f)
{
    fuzz_set_failing(f, false);
    /* First without a kick: what the device took must come back. */
    fuzz_settle(f, false);
    for (unsigned i = 0; f->model && f->started && i < SLOTS; i++) {
        FuzzReq *r = &f->req[i];

        if (r->busy && (int16_t)(f->q[r->queue].kicked - r->avail_pos) > 0) {
            fuzz_fail("slot %u (type %u, queue %u) was kicked and is not "
                      "answered until the driver kicks again", i, r->type,
                      r->queue);
        }
    }
    fuzz_settle(f, true);
    if (f->s.in_flight || !g_queue_is_empty(&f->s.parked)) {
        fuzz_fail("at the end %u requests in flight, %u parked",
                  f->s.in_flight, g_queue_get_length(&f->s.parked));
    }
    if (f->events != block_fault_count() - f->faults_before) {
        fuzz_fail("%" PRIu64 " disk errors, %" PRIu64 " BLOCK_IO_ERROR",
                  block_fault_count() - f->faults_before, f->events);
    }
    if (!f->model) {
        return;
    }
    if (f->s.vdev.status & VIRTIO_STATUS_NEEDS_RESET) {
        fuzz_fail("the device wants a reset from a well-behaved driver: %s",
                  f->s.vdev.error_msg ? f->s.vdev.error_msg : "");
    }
    check_untouched(f);
    check_dirty(f);
    for (unsigned i = 0; f->started && i < SLOTS; i++) {
        if (f->req[i].busy) {
            fuzz_fail("slot %u (type %u, queue %u) never answered", i,
                      f->req[i].type, f->req[i].queue);
        }
    }
}

static void fuzz_one(const uint8_t *data, size_t size)
{
    FuzzBlk *f = g_new0(FuzzBlk, 1);
    const uint8_t *h = data;
    uint64_t regions;
    int status;

    fz = f;
    f->h = h;
    f->model = !(h[0] & 128);
    f->werror = (BlockdevOnError)(h[2] % 5);
    f->rerror = (BlockdevOnError)(h[2] / 5 % 5);
    f->drive_policy = h[0] & 64;
    memcpy(&regions, h + 4, 8);
    f->rule = (BlockFaultRule) {
        .node = NODE, .ops = h[3] & 31,
        .err = h[3] & 32 ? ENOSPC : EIO,
        .regions = GUINT64_FROM_LE(regions),
        .region_size = h[3] & 128 ? 4096 : 16384,
    };
    f->faults_before = block_fault_count();

    guest_memory_add_ram(&f->mem, "ram", 0, RAM_SIZE, &error_abort);
    f->ram = f->mem.blocks[0].host;
    if (f->model) {
        f->shadow = g_malloc0(RAM_SIZE);
        f->seen = g_malloc0(RAM_SIZE);
        f->records = data + HEADER;
        f->nrecords = (size - HEADER) / RECORD;
    } else {
        drv_write(f, 0, data + HEADER, MIN(size - HEADER, RAM_SIZE));
    }
    fuzz_blk_realize(f);
    if (h[3] & 64) {
        fuzz_set_failing(f, true);
    }
    fuzz_driver_start(f);
    for (unsigned i = 0; i < STEPS; i++) {
        fuzz_step(f, h[12 + i]);
    }
    fuzz_finish(f);
    fuzz_blk_unrealize(f);
    /* The bottom halves of requests a drain already answered; the next
     * input starts with a running VM and no stop asked for. */
    main_loop_wait(false);
    main_loop_check_requests(&status);
    if (!runstate_is_running()) {
        runstate_set(RUN_STATE_RUNNING);
    }
    guest_memory_free(&f->mem);
    g_free(f->shadow);
    g_free(f->seen);
    g_free(f);
    fz = NULL;
}

/* ---- seeds ---- */

/* A request of type at sector in slot (3 descriptors from 3 * slot). */
static void seed_req(uint8_t *ram, unsigned slot, uint32_t type,
                     uint64_t sector, uint32_t len, bool data_in)
{
    uint8_t hdr[16] = { 0 };
    uint32_t t = GUINT32_TO_LE(type);
    uint64_t s = GUINT64_TO_LE(sector);
    uint64_t hdr_gpa = 0x9000 + slot * 32, data = 0xa000 + slot * 0x1000;

    memcpy(hdr, &t, 4);
    memcpy(hdr + 8, &s, 8);
    seed_put(ram, hdr_gpa, hdr, sizeof(hdr));
    seed_desc(ram, 0, slot * 3, hdr_gpa, 16, VIRTQ_DESC_F_NEXT,
              slot * 3 + 1);
    seed_desc(ram, 0, slot * 3 + 1, data, len,
              VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0),
              slot * 3 + 2);
    seed_desc(ram, 0, slot * 3 + 2, 0x9800 + slot, 1, VIRTQ_DESC_F_WRITE, 0);
}

static void seed_write(const char *dir, const char *name, const void *in,
                       size_t len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    if (!g_file_set_contents(path, in, len, NULL)) {
        fprintf(stderr, "fuzz-virtio-blk: cannot write %s\n", path);
        exit(1);
    }
}

/* The hostile driver's rings, as the first version of this target had
 * them, on a disk whose writes fail (werror=stop, then healed). */
static void seed_hostile(const char *dir)
{
    g_autofree uint8_t *in = g_malloc0(HEADER + 0x11000);
    uint8_t *ram = in + HEADER;
    static const uint8_t steps[] = { 0, 3, 4, 5, 10, 8, 0, 3, 6, 7, 0, 3 };
    uint8_t seg[16] = { 8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0 };
    uint16_t heads[6] = { 0, 3, 6, 9, 12, 15 };

    in[0] = 128 | 1 | 2 | 4 | 8;
    in[1] = 4;
    in[2] = BLOCKDEV_ON_ERROR_STOP;
    in[3] = BLOCK_FAULT_WRITE | 64;
    memset(in + 4, 0xff, 8);
    memcpy(in + 12, steps, sizeof(steps));
    seed_req(ram, 0, VIRTIO_BLK_T_OUT, 0, 4096, false);
    seed_req(ram, 1, VIRTIO_BLK_T_IN, 8, 4096, true);
    seed_req(ram, 2, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    seed_req(ram, 3, VIRTIO_BLK_T_GET_ID, 0, 20, true);
    seed_req(ram, 4, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
    seed_put(ram, 0xa000 + 4 * 0x1000, seg, sizeof(seg));
    seed_req(ram, 5, VIRTIO_BLK_T_IN, 4096, 4096, true);   /* past the end */
    seed_avail(ram, 0, 6, heads);
    seed_write(dir, "seed-blk-hostile", in, HEADER + 0x11000);
}

/* A record (see fuzz_add_request). */
static void seed_record(GByteArray *in, uint8_t what, uint16_t sector,
                        uint8_t len)
{
    uint8_t rec[RECORD] = { what, sector, sector >> 8, len };

    g_byte_array_append(in, rec, sizeof(rec));
}

/*
 * A modelled driver on a disk failing as fail says (byte 3), under the
 * policies, running steps; records of every kind: reads and writes
 * inside and past the end, flush, GET_ID, discard, write-zeroes.
 */
static void seed_model(const char *dir, const char *name, uint8_t policies,
                       uint8_t fail, const uint8_t *steps, size_t nsteps)
{
    g_autoptr(GByteArray) in = g_byte_array_new();
    uint8_t h[HEADER] = { 0 };

    h[0] = 1 | 2 | 4 | 16;      /* no FLUSH: writes are write-through */
    h[1] = 5;                   /* 32 entries */
    h[2] = policies;
    h[3] = fail;
    memset(h + 4, 0x55, 8);     /* every other region */
    for (size_t i = 0; i < STEPS; i++) {
        h[12 + i] = i < nsteps ? steps[i] : 4;
    }
    g_byte_array_append(in, h, sizeof(h));
    seed_record(in, 0x00, 0, 8);             /* IN, region 0 */
    seed_record(in, 0x11, 32, 8);            /* OUT, region 1, 2 pieces */
    seed_record(in, 0x48, 64, 4);            /* IN on queue 1, indirect */
    seed_record(in, 0x01, 2040, 8);          /* OUT past the end */
    seed_record(in, 0x02, 0, 0);             /* FLUSH */
    seed_record(in, 0x03, 0, 1);             /* GET_ID */
    seed_record(in, 0x04, 96, 16);           /* DISCARD */
    seed_record(in, 0x85, 128, 8);           /* WRITE_ZEROES, unmap */
    seed_record(in, 0x21, 160, 2);           /* OUT, 3 pieces */
    seed_record(in, 0x80, 192, 0x34);        /* IN cut short */
    seed_record(in, 0x06, 0x0a, 1);          /* type 10: unsupported */
    seed_record(in, 0x00, 0, 8);
    seed_write(dir, name, in->data, in->len);
}

static void write_seeds(const char *dir)
{
    /* Add-and-kick on both queues, main loop (the stop lands), heal,
     * cont, add more, migrate, run, and the same over itself. */
    static const uint8_t stop_cont[] = {
        2, 0x12, 2, 0x12, 3, 4, 10, 8, 2, 0x12, 3, 4, 12, 4, 2, 13, 3, 4,
    };
    /* Parked requests travel: migrate while stopped, heal, cont. */
    static const uint8_t parked_migrate[] = {
        2, 0x12, 2, 0x12, 3, 4, 12, 10, 8, 3, 4, 2, 3, 13, 8, 4,
    };
    /* The disk fails only in the middle of the run. */
    static const uint8_t fail_late[] = {
        2, 3, 11, 2, 0x12, 3, 4, 2, 3, 4, 10, 8, 2, 0x12, 3, 4,
    };
    const uint8_t all = BLOCK_FAULT_READ | BLOCK_FAULT_WRITE |
                        BLOCK_FAULT_FLUSH | BLOCK_FAULT_DISCARD |
                        BLOCK_FAULT_WRITE_ZEROES;

    seed_hostile(dir);
    /* werror=stop, rerror=stop; EIO. */
    seed_model(dir, "seed-blk-stop", BLOCKDEV_ON_ERROR_STOP +
               5 * BLOCKDEV_ON_ERROR_STOP, all | 64, stop_cont,
               sizeof(stop_cont));
    seed_model(dir, "seed-blk-stop-migrate", BLOCKDEV_ON_ERROR_STOP +
               5 * BLOCKDEV_ON_ERROR_STOP, all | 64, parked_migrate,
               sizeof(parked_migrate));
    /* werror=enospc with ENOSPC (stop) and the drive's policies. */
    seed_model(dir, "seed-blk-enospc", BLOCKDEV_ON_ERROR_ENOSPC +
               5 * BLOCKDEV_ON_ERROR_REPORT, all | 32 | 64, stop_cont,
               sizeof(stop_cont));
    /* werror=report, rerror=ignore; EIO in the middle. */
    seed_model(dir, "seed-blk-report", BLOCKDEV_ON_ERROR_REPORT +
               5 * BLOCKDEV_ON_ERROR_IGNORE, all, fail_late,
               sizeof(fail_late));
    /* Auto everywhere: enospc for writes, report for reads; ENOSPC. */
    seed_model(dir, "seed-blk-auto", BLOCKDEV_ON_ERROR_AUTO +
               5 * BLOCKDEV_ON_ERROR_AUTO, all | 32, fail_late,
               sizeof(fail_late));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_VIRTIO_BLK_SEEDS");

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    main_loop_init();
    bql_lock();
    if (!blockdev_add_cmdline("driver=null-co,node-name=" NODE
                              ",size=1048576,read-zeroes=on", &error_abort)) {
        exit(1);
    }
    /* Guests run: a stop policy has a VM to stop. */
    runstate_set(RUN_STATE_RUNNING);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER) {
        return 0;
    }
    fuzz_one(data, size);
    return 0;
}
