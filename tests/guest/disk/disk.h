/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the disk workloads' shared declarations: options
 * (config.c), the on-disk record format (record.c; README.md and
 * ../verify_disk.py hold the same layout), the workloads (disk.c,
 * iops.c) and the RESP server's log (kvlog.c).
 */
#ifndef TG_DISK_DISK_H
#define TG_DISK_DISK_H

#include "blk.h"

/* ---- options (config.c) ---------------------------------------------- */

enum disk_rw { RW_RANDRW, RW_RANDREAD, RW_RANDWRITE, RW_READ, RW_WRITE };

struct disk_config {
    u32 qd;                     /* qd=: requests in flight (1..64) */
    u32 flush_every;            /* flush-every=: records per flush (1..4096) */
    u32 pattern;                /* pattern=seq|rand: where record n goes */
    u64 area;                   /* disk-size=: bytes of records (0 = device, up to 64M) */
    u32 rw;                     /* rw=: the iops mix (enum disk_rw) */
    u32 bs;                     /* bs=: iops request size (512..64K, multiple of 512) */
    bool persist;               /* persist=on: the RESP server logs to the disk */
};
extern struct disk_config diskcfg;

bool disk_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok);

/* ---- records (record.c) ----------------------------------------------- */

/*
 * Block 0 is the superblock, record slot s is block 1 + s; blocks are
 * 4 KiB.  Record n (n >= 1, numbered across boots) lives in slot
 * disk_slot(n): lap = (n-1) / S and i = (n-1) % S; pattern seq puts it
 * at i, pattern rand at (A*i + B(lap)) mod S, a permutation of the S
 * slots (S is a power of two, A odd) that differs every lap.
 */
#define DISK_BLOCK          4096
#define DISK_SB_MAGIC       0x42534b5349444754ULL  /* "TGDISKSB" */
#define DISK_REC_MAGIC      0x44524f4345524754ULL  /* "TGRECORD" */
#define DISK_VERSION        1
#define DISK_SLOTS_MAX      16384                  /* 64 MiB of records */
enum { PATTERN_SEQ = 0, PATTERN_RAND = 1 };

struct disk_sb {                /* block 0, little-endian */
    u64 magic;                  /* 0x00 */
    u32 version;                /* 0x08 */
    u32 block;                  /* 0x0c: 4096 */
    u64 disk_id;                /* 0x10: random at format */
    u64 slots;                  /* 0x18: S */
    u32 pattern;                /* 0x20 */
    u32 window;                 /* 0x24: records beyond acked that may be on the disk */
    u64 boot;                   /* 0x28: boots that used this disk */
    u64 acked;                  /* 0x30: highest record acknowledged by a flush */
    u32 reserved;               /* 0x38 */
    u32 crc;                    /* 0x3c: CRC-32 of bytes 0x00..0x3b */
};

struct disk_rec {               /* one slot, little-endian */
    u64 magic;                  /* 0x000 */
    u64 n;                      /* 0x008 */
    u64 disk_id;                /* 0x010 */
    u64 boot;                   /* 0x018: the boot that wrote it */
    u32 slot;                   /* 0x020 */
    u32 reserved;               /* 0x024 */
    u8 payload[DISK_BLOCK - 0x30]; /* 0x028: pseudo-random, from n and disk_id */
    u32 n_tail;                 /* 0xff8: low 32 bits of n again (torn writes) */
    u32 crc;                    /* 0xffc: CRC-32 of bytes 0x000..0xffb */
};
_Static_assert(sizeof(struct disk_sb) == 0x40, "superblock layout");
_Static_assert(sizeof(struct disk_rec) == DISK_BLOCK, "record layout");

u32 crc32(const void *p, size_t n);
u64 mix64(u64 x);
u64 disk_slot(const struct disk_sb *sb, u64 n);
/* The record number lap `lap` puts in slot s. */
u64 disk_rec_for(const struct disk_sb *sb, u64 slot, u64 lap);
void disk_rec_fill(const struct disk_sb *sb, struct disk_rec *r, u64 n);
/* NULL if r is record n (0: any n) of this disk in slot s, else why not. */
const char *disk_rec_check(const struct disk_sb *sb, const struct disk_rec *r, u64 slot, u64 n);
void disk_sb_seal(struct disk_sb *sb);
bool disk_sb_valid(const struct disk_sb *sb);

/* ---- workloads -------------------------------------------------------- */

void disk_run(void) __attribute__((noreturn));      /* disk.c */
void iops_run(void) __attribute__((noreturn));      /* iops.c */
/* Brings the disk up for serve (or stops the guest with a message). */
void disk_start(void);
/* Prints "TG disk error: OP sector=S status=X" for the first few errors. */
void disk_report(const struct blk_req *r, const char *what);

/* ---- kvlog.c: serve persist=on --------------------------------------- */

/* Opens or creates the log, replays it into kv.c; prints one line. */
void kvlog_start(void);
/* Appends one change and flushes; false (reply -ERR) if it did not stick. */
enum kvlog_op { KVLOG_SET = 1, KVLOG_DEL = 2, KVLOG_CLEAR = 3 };
bool kvlog_append(enum kvlog_op op, const u8 *key, u32 klen, const u8 *val, u32 vlen);

#endif
