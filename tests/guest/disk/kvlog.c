/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: serve persist=on, the RESP store's log on the disk.
 *
 * Every change (SET, and INCR as the SET of its result; DEL; FLUSHDB) is
 * appended as one entry, written and flushed before the store changes and
 * before the client gets its reply: a reply means the change is on stable
 * storage.  At boot the log is read from the start and replayed into the
 * store until the first entry that is not the next good one.
 *
 * Layout, little-endian: block 0 (sectors 0-7) is the log header
 *   0x00 u64 magic "TGKVLOG1"  0x08 u64 log id (random at creation)
 *   0x3c u32 CRC-32 of 0x00..0x3b
 * and entries follow from sector 8, each starting on a sector:
 *   0x00 u32 magic "TGKV"  0x04 u8 op (1 SET, 2 DEL, 3 CLEAR)  0x05 u8 0
 *   0x06 u16 sectors in the entry  0x08 u64 seq (1, 2, ...)
 *   0x10 u64 log id  0x18 u16 key length  0x1a u16 value length  0x1c u32 0
 *   0x20 key, value, zero padding; the entry's last 4 bytes: CRC-32 of
 *   everything before them.
 * The seq and log id stop a replay at stale entries of an older log.
 * A synchronous write and flush per change keeps this simple; it costs a
 * round trip to the disk per SET (what "acknowledged after the flush"
 * costs without group commit).
 */
#include "disk.h"
#include "../net/services.h"

#define KVLOG_MAGIC         0x31474f4c564b4754ULL  /* "TGKVLOG1" */
#define KVLOG_ENTRY_MAGIC   0x564b4754u            /* "TGKV" */
#define KVLOG_FIRST         8                      /* first entry sector */
#define KVLOG_HDR           0x20
#define KVLOG_MAX_SECT      ((KVLOG_HDR + KV_KEY_MAX + KV_VAL_MAX + 4 + BLK_SECTOR - 1) / BLK_SECTOR)
#define KVLOG_CHUNK         128                    /* sectors read at a time at replay */

static struct {
    u8 *buf;                    /* one entry, or the header block */
    u8 *chunk;                  /* replay reads */
    u64 log_id;
    u64 next_sector;
    u64 next_seq;
} lg;

static void put16(u8 *p, u16 v) { memcpy(p, &v, 2); }
static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void put64(u8 *p, u64 v) { memcpy(p, &v, 8); }
static u16 get16(const u8 *p) { u16 v; memcpy(&v, p, 2); return v; }
static u32 get32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 get64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }

static bool io_ok(u32 type, u64 sector, void *buf, u32 len, const char *what)
{
    struct blk_req r;

    if (blk_sync(&r, type, sector, buf, len) != BLK_S_OK) {
        disk_report(&r, what);
        return false;
    }
    return true;
}

static void __attribute__((noreturn)) kvlog_fatal(const char *why)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG error: kvlog: ");
    ln_str(&l, why);
    tg_fatal(&l);
}

static void create(void)
{
    memset(lg.buf, 0, DISK_BLOCK);
    lg.log_id = mix64(rdtsc() ^ STATUS->boot_tsc << 13) | 1;
    put64(lg.buf, KVLOG_MAGIC);
    put64(lg.buf + 8, lg.log_id);
    put32(lg.buf + 0x3c, crc32(lg.buf, 0x3c));
    /* The old first entry goes too, so no stale log can follow the new header. */
    if (!io_ok(BLK_T_OUT, 0, lg.buf, DISK_BLOCK, "log header") ||
        !io_ok(BLK_T_OUT, KVLOG_FIRST, lg.buf + DISK_BLOCK - BLK_SECTOR, BLK_SECTOR,
               "log start") ||
        !io_ok(BLK_T_FLUSH, 0, NULL, 0, "log flush")) {
        kvlog_fatal("cannot create the log");
    }
}

/* The entry at p (n sectors available), or 0 if it is not the next good one. */
static u32 entry_ok(const u8 *p, u32 avail)
{
    u32 nsect = get16(p + 6), klen = get16(p + 0x18), vlen = get16(p + 0x1a);

    if (get32(p) != KVLOG_ENTRY_MAGIC || !nsect || nsect > KVLOG_MAX_SECT ||
        get64(p + 8) != lg.next_seq || get64(p + 0x10) != lg.log_id ||
        klen > KV_KEY_MAX || vlen > KV_VAL_MAX ||
        KVLOG_HDR + klen + vlen + 4 > nsect * BLK_SECTOR) {
        return 0;
    }
    if (nsect > avail) {
        return 0xffffffffu;     /* read more first */
    }
    if (get32(p + nsect * BLK_SECTOR - 4) != crc32(p, nsect * BLK_SECTOR - 4)) {
        return 0;
    }
    return nsect;
}

static void apply(const u8 *p)
{
    u32 klen = get16(p + 0x18), vlen = get16(p + 0x1a);
    const u8 *key = p + KVLOG_HDR;

    switch (p[4]) {
    case KVLOG_SET:
        kv_set(key, klen, key + klen, vlen);    /* a full store was full live too */
        break;
    case KVLOG_DEL:
        kv_del(key, klen);
        break;
    case KVLOG_CLEAR:
        kv_clear();
        break;
    }
}

static u64 replay(void)
{
    u64 chunk_at = 0, chunk_len = 0, entries = 0;

    lg.next_sector = KVLOG_FIRST;
    lg.next_seq = 1;
    for (;;) {
        u64 off = lg.next_sector - chunk_at;
        u32 n = 0;

        if (lg.next_sector < chunk_at || off >= chunk_len ||
            (n = entry_ok(lg.chunk + off * BLK_SECTOR, (u32)(chunk_len - off))) == 0xffffffffu) {
            chunk_at = lg.next_sector;
            chunk_len = blkinfo.sectors - chunk_at < KVLOG_CHUNK ? blkinfo.sectors - chunk_at
                                                                 : KVLOG_CHUNK;
            if (!chunk_len) {
                break;
            }
            if (!io_ok(BLK_T_IN, chunk_at, lg.chunk, (u32)chunk_len * BLK_SECTOR, "log replay")) {
                kvlog_fatal("cannot read the log");
            }
            n = entry_ok(lg.chunk, (u32)chunk_len);
            off = 0;
        }
        if (!n || n == 0xffffffffu) {
            break;
        }
        apply(lg.chunk + off * BLK_SECTOR);
        lg.next_sector += n;
        lg.next_seq++;
        entries++;
    }
    return entries;
}

void kvlog_start(void)
{
    struct line l = { .len = 0 };
    u64 entries = 0;
    bool fresh;

    disk_start();
    lg.buf = tg_alloc(DISK_BLOCK, DISK_BLOCK);
    lg.chunk = tg_alloc(KVLOG_CHUNK * BLK_SECTOR, DISK_BLOCK);
    if (!lg.buf || !lg.chunk) {
        kvlog_fatal("out of memory");
    }
    if (blkinfo.sectors < KVLOG_FIRST + KVLOG_MAX_SECT) {
        kvlog_fatal("the disk is too small for a log");
    }
    if (!io_ok(BLK_T_IN, 0, lg.buf, DISK_BLOCK, "log header")) {
        kvlog_fatal("cannot read the log header");
    }
    fresh = get64(lg.buf) != KVLOG_MAGIC || get32(lg.buf + 0x3c) != crc32(lg.buf, 0x3c);
    if (fresh) {
        create();
        lg.next_sector = KVLOG_FIRST;
        lg.next_seq = 1;
    } else {
        lg.log_id = get64(lg.buf + 8);
        entries = replay();
    }
    STATUS->disk.disk_id = lg.log_id;
    STATUS->disk.acked = lg.next_seq - 1;
    STATUS->disk.flags |= TG_DISK_RUNNING;
    ln_str(&l, fresh ? "TG kvlog created id=" : "TG kvlog replayed id=");
    ln_hex(&l, lg.log_id);
    ln_str(&l, " entries=");
    ln_dec(&l, entries);
    ln_str(&l, " keys=");
    ln_dec(&l, kv_count());
    ln_str(&l, " next_sector=");
    ln_dec(&l, lg.next_sector);
    tg_print(&l);
}

bool kvlog_append(enum kvlog_op op, const u8 *key, u32 klen, const u8 *val, u32 vlen)
{
    u32 bytes = KVLOG_HDR + klen + vlen + 4;
    u32 nsect = (bytes + BLK_SECTOR - 1) / BLK_SECTOR;

    if (klen > KV_KEY_MAX || vlen > KV_VAL_MAX ||
        lg.next_sector + nsect > blkinfo.sectors) {
        return false;
    }
    memset(lg.buf, 0, nsect * BLK_SECTOR);
    put32(lg.buf, KVLOG_ENTRY_MAGIC);
    lg.buf[4] = (u8)op;
    put16(lg.buf + 6, (u16)nsect);
    put64(lg.buf + 8, lg.next_seq);
    put64(lg.buf + 0x10, lg.log_id);
    put16(lg.buf + 0x18, (u16)klen);
    put16(lg.buf + 0x1a, (u16)vlen);
    memcpy(lg.buf + KVLOG_HDR, key, klen);
    memcpy(lg.buf + KVLOG_HDR + klen, val, vlen);
    put32(lg.buf + nsect * BLK_SECTOR - 4, crc32(lg.buf, nsect * BLK_SECTOR - 4));
    if (!io_ok(BLK_T_OUT, lg.next_sector, lg.buf, nsect * BLK_SECTOR, "log append") ||
        !io_ok(BLK_T_FLUSH, 0, NULL, 0, "log flush")) {
        return false;
    }
    lg.next_sector += nsect;
    lg.next_seq++;
    STATUS->disk.acked = lg.next_seq - 1;
    return true;
}
