/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the virtio-blk driver's interface (virtio-blk.c).
 *
 * A caller owns its requests (struct blk_req, anywhere in RAM: the
 * identity map makes every address a DMA address), fills type, sector,
 * buf and len, and blk_submit()s them; blk_poll() reaps what the device
 * returned and sets done and status.  Several requests may be in flight
 * (the queue depth is the caller's business); they are spread over the
 * device's queues.  Nothing here blocks except blk_wait().
 *
 * A device that misbehaves (an unknown used id, no status written, a
 * short read, DEVICE_NEEDS_RESET, no answer in time) is reported on the
 * serial line and turned into a status the caller sees, never followed.
 */
#ifndef TG_DISK_BLK_H
#define TG_DISK_BLK_H

#include "guest.h"

#define BLK_SECTOR          512

enum blk_type {
    BLK_T_IN = 0,
    BLK_T_OUT = 1,
    BLK_T_FLUSH = 4,
    BLK_T_GET_ID = 8,
    BLK_T_DISCARD = 11,
    BLK_T_WRITE_ZEROES = 13,
};

/* discard / write-zeroes segment flag: the device may deallocate */
#define BLK_WZ_F_UNMAP      1u

enum blk_status {
    BLK_S_OK = 0,               /* the device's three */
    BLK_S_IOERR = 1,
    BLK_S_UNSUPP = 2,
    BLK_S_NONE = 0xfd,          /* ours: the device wrote no status byte */
    BLK_S_SHORT = 0xfe,         /* ours: it wrote less than asked */
    BLK_S_PENDING = 0xff,       /* ours: in flight */
};

struct blk_req {
    /* the device-readable header, as the spec lays it out */
    struct {
        u32 type;
        u32 reserved;
        u64 sector;
    } hdr;
    /* discard / write-zeroes: one segment, device-readable */
    struct {
        u64 sector;
        u32 num_sectors;
        u32 flags;
    } seg;
    volatile u8 status;         /* device-writable, then enum blk_status */
    volatile bool done;
    u16 queue, head;
    void *buf;                  /* IN/OUT/GET_ID data */
    u32 len;
    u32 used_len;
    u64 t_submit, t_done;       /* TSC */
    u64 user;                   /* the caller's */
};

struct blk_info {
    u64 sectors;                /* capacity */
    u32 blk_size;               /* logical block size (512 if not offered) */
    u16 queues;                 /* queues we use */
    u16 qsize;
    bool flush, discard, write_zeroes, ro;
    bool write_zeroes_may_unmap;    /* the device may deallocate zeroed blocks */
    u32 max_discard_sectors, max_write_zeroes_sectors;
    char serial[21];            /* GET_ID, NUL-terminated, "" if none */
};
extern struct blk_info blkinfo;

/* Finds, negotiates and starts the device; prints "TG disk virtio-blk ...". */
bool blk_init(struct line *err);
/* False if every descriptor is busy (poll and try again). */
bool blk_submit(struct blk_req *r);
/* Notifies the queues submit touched; then reaps; returns how many completed. */
unsigned blk_poll(void);
u32 blk_inflight(void);
/* Submits r and polls until it completes or timeout_ms passes (BLK_S_PENDING). */
u8 blk_wait(struct blk_req *r, u64 timeout_ms);
/* Convenience for one synchronous request. */
u8 blk_sync(struct blk_req *r, u32 type, u64 sector, void *buf, u32 len);
/*
 * For callers that poll many requests: stops the guest with a message if
 * the device asked for a reset, or if nothing completed since since_tsc
 * for 30 s.
 */
void blk_watchdog(u64 since_tsc);
const char *blk_status_name(u8 status);
const char *blk_type_name(u32 type);

#endif
