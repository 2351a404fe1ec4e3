/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: workload=disk, numbered and checksummed records
 * that survive the VMM being killed (format and rules in disk.h and
 * README.md "Disk workload").
 *
 * Boot: read the superblock (or format the disk), read every slot and
 * check it against the rule for the acknowledged record number A the
 * superblock holds, then continue numbering after the last record that
 * follows A without a gap.  Then rounds, forever:
 *
 *   write flush-every records, qd in flight  ->  FLUSH  ->  acked = last
 *   ->  superblock(acked) written (made durable by the next round's flush)
 *   ->  read the round back (qd in flight) and one older record, check
 *
 * and once a second a line with the figures.  An I/O error stops the
 * workload with a line on the serial port (the guest stays up); a device
 * that stops answering stops the guest (blk_watchdog).
 */
#include "disk.h"
#include "../dev/irq.h"

#define DISK_QD_MAX         64
#define DISK_BAD_LINES      8
#define SECTORS_PER_BLOCK   (DISK_BLOCK / BLK_SECTOR)

struct io {
    struct blk_req req;
    struct disk_rec *buf;
    bool busy;
};

typedef u64 (*prep_fn)(u64 item, struct disk_rec *buf);    /* -> block number */
typedef bool (*done_fn)(u64 item, struct blk_req *r, struct disk_rec *buf);

static struct {
    struct disk_sb sb;          /* what the disk says, then what we write */
    struct disk_sb *sbbuf;      /* one block for superblock I/O */
    struct io io[DISK_QD_MAX];
    u64 *rec_at;                /* boot scan: slot -> record found (0 none) */
    u64 next;                   /* next record number to write */
    u64 scan_acked, scan_window;
    u64 next_line;              /* TSC of the next figures line */
    u64 rng;
    u32 report_lines, bad_lines;
} dk;

void disk_report(const struct blk_req *r, const char *what)
{
    struct line l = { .len = 0 };

    if (dk.report_lines++ >= DISK_BAD_LINES) {
        return;
    }
    ln_str(&l, "TG disk error: ");
    ln_str(&l, what);
    ln_str(&l, " ");
    ln_str(&l, blk_type_name(r->hdr.type));
    ln_str(&l, " sector=");
    ln_dec(&l, r->hdr.sector);
    ln_str(&l, " status=");
    ln_str(&l, blk_status_name(r->status));
    tg_print(&l);
}

/* The guest stays up (a test reads why from the serial line); only disk work stops. */
static void __attribute__((noreturn)) disk_stop(const char *why)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG disk stopped: ");
    ln_str(&l, why);
    ln_str(&l, " acked=");
    ln_dec(&l, STATUS->disk.acked);
    tg_print(&l);
    STATUS->disk.flags = (STATUS->disk.flags & ~TG_DISK_RUNNING) | TG_DISK_STOPPED;
    for (;;) {
        cpu_relax();
        STATUS->cpu[0].heartbeat++;
    }
}

static void __attribute__((noreturn)) disk_fatal(const char *what, u64 a, const char *more,
                                                 u64 b)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG error: disk: ");
    ln_str(&l, what);
    ln_dec(&l, a);
    ln_str(&l, more);
    ln_dec(&l, b);
    tg_fatal(&l);
}

static void bad_record(u64 slot, u64 expected, const char *why, u64 found)
{
    struct line l = { .len = 0 };

    STATUS->disk.bad++;
    if (dk.bad_lines++ >= DISK_BAD_LINES) {
        return;
    }
    ln_str(&l, "TG disk bad slot=");
    ln_dec(&l, slot);
    ln_str(&l, " expected=");
    ln_dec(&l, expected);
    ln_str(&l, " found=");
    ln_dec(&l, found);
    ln_str(&l, ": ");
    ln_str(&l, why);
    tg_print(&l);
}

/*
 * Runs count items through the device with up to qd in flight.  False if
 * a request failed or done() said so; everything in flight is drained
 * first, so the buffers are free again either way.
 */
static bool pipeline(u64 first, u64 count, u32 type, prep_fn prep, done_fn done)
{
    u64 issued = 0, completed = 0, progress = rdtsc();
    bool ok = true;
    u32 i;

    while (completed < issued || (ok && issued < count)) {
        for (i = 0; ok && issued < count && i < diskcfg.qd; i++) {
            struct io *io = &dk.io[i];

            if (io->busy) {
                continue;
            }
            memset(&io->req, 0, sizeof(io->req));
            io->req.hdr.type = type;
            io->req.hdr.sector = prep(first + issued, io->buf) * SECTORS_PER_BLOCK;
            io->req.buf = io->buf;
            io->req.len = DISK_BLOCK;
            io->req.user = first + issued;
            if (!blk_submit(&io->req)) {
                break;
            }
            io->busy = true;
            issued++;
        }
        if (blk_poll()) {
            progress = rdtsc();
        }
        for (i = 0; i < diskcfg.qd; i++) {
            struct io *io = &dk.io[i];

            if (io->busy && io->req.done) {
                io->busy = false;
                completed++;
                if (io->req.status != BLK_S_OK) {
                    disk_report(&io->req, "record");
                    ok = false;
                } else if (!done(io->req.user, &io->req, io->buf)) {
                    ok = false;
                }
            }
        }
        blk_watchdog(progress);
    }
    return ok;
}

static bool sync_ok(u32 type, u64 sector, void *buf, u32 len, const char *what)
{
    struct blk_req r;

    if (blk_sync(&r, type, sector, buf, len) != BLK_S_OK) {
        disk_report(&r, what);
        return false;
    }
    return true;
}

/* ---- the boot scan ----------------------------------------------------- */

/* Highest record <= f that lands in slot s (0 if none). */
static u64 expected_in(u64 s, u64 f)
{
    u64 lap, e;

    if (!f) {
        return 0;
    }
    lap = (f - 1) / dk.sb.slots;
    e = disk_rec_for(&dk.sb, s, lap);
    if (e <= f) {
        return e;
    }
    return lap ? disk_rec_for(&dk.sb, s, lap - 1) : 0;
}

static u64 scan_prep(u64 s, struct disk_rec *buf)
{
    (void)buf;
    return 1 + s;
}

/*
 * The rule (verify_disk.py applies the same one).  With A acknowledged and
 * W the window, slot s must hold a good record n >= e, the last record
 * <= A that belongs in s, and n <= A + W.  A slot whose content is not a
 * good record is fine only if no record <= A belongs there, or if the one
 * after e may have been in flight (<= A + W) when the VMM died.
 */
static bool scan_done(u64 s, struct blk_req *r, struct disk_rec *buf)
{
    u64 a = dk.scan_acked, w = dk.scan_window, e = expected_in(s, a);
    const char *why = disk_rec_check(&dk.sb, buf, s, 0);

    (void)r;
    if (!why) {
        dk.rec_at[s] = buf->n;
        if (buf->n < e) {
            bad_record(s, e, "an older record than the acknowledged one", buf->n);
        } else if (buf->n > a + w) {
            bad_record(s, e, "a record beyond acked + window", buf->n);
        }
        return true;
    }
    dk.rec_at[s] = 0;
    if (e && disk_rec_for(&dk.sb, s, (e - 1) / dk.sb.slots + 1) > a + w) {
        bad_record(s, e, why, buf->magic == DISK_REC_MAGIC ? buf->n : 0);
    }
    return true;
}

/* ---- format ------------------------------------------------------------ */

/* Discards, then zeroes, the record area in requests the device accepts. */
static void clear_area(u64 sectors)
{
    u32 types[2] = { BLK_T_DISCARD, BLK_T_WRITE_ZEROES };
    u32 max[2] = { blkinfo.max_discard_sectors, blkinfo.max_write_zeroes_sectors };
    bool offered[2] = { blkinfo.discard, blkinfo.write_zeroes };
    u64 s;
    int t;

    for (t = 0; t < 2; t++) {
        u32 chunk = max[t] ? (max[t] > 65536 ? 65536 : max[t]) : 8;

        for (s = SECTORS_PER_BLOCK; offered[t] && s < sectors; s += chunk) {
            struct blk_req r;

            memset(&r, 0, sizeof(r));
            r.hdr.type = types[t];
            r.hdr.sector = s;
            r.seg.sector = s;
            r.seg.num_sectors = (u32)(sectors - s < chunk ? sectors - s : chunk);
            /*
             * The area only has to read as zeroes: letting the device
             * deallocate keeps a sparse image sparse (a device that may
             * not unmap would write every zero onto the host's disk).
             */
            if (types[t] == BLK_T_WRITE_ZEROES && blkinfo.write_zeroes_may_unmap) {
                r.seg.flags = BLK_WZ_F_UNMAP;
            }
            if (blk_wait(&r, 30000) != BLK_S_OK) {
                disk_report(&r, "format");
                if (r.status != BLK_S_UNSUPP) {
                    disk_stop("I/O error while formatting");
                }
                break;
            }
        }
    }
}

static void format(void)
{
    u64 blocks = blkinfo.sectors / SECTORS_PER_BLOCK, want, slots = 1;

    want = diskcfg.area ? diskcfg.area / DISK_BLOCK : DISK_SLOTS_MAX + 1;
    if (blocks < 3) {
        disk_fatal("device has ", blkinfo.sectors, " sectors, the disk workload needs at least ",
                   3 * SECTORS_PER_BLOCK);
    }
    if (diskcfg.area && want > blocks) {
        disk_fatal("disk-size= needs ", want * SECTORS_PER_BLOCK,
                   " sectors, the device has ", blkinfo.sectors);
    }
    if (want > blocks) {
        want = blocks;
    }
    while (slots * 2 <= want - 1 && slots * 2 <= DISK_SLOTS_MAX) {
        slots *= 2;
    }
    memset(&dk.sb, 0, sizeof(dk.sb));
    dk.sb.disk_id = mix64(rdtsc() ^ STATUS->boot_tsc << 17) | 1;
    dk.sb.slots = slots;
    dk.sb.pattern = diskcfg.pattern;
    clear_area((1 + slots) * SECTORS_PER_BLOCK);
}

static void write_sb(void)
{
    disk_sb_seal(&dk.sb);
    memset(dk.sbbuf, 0, DISK_BLOCK);
    memcpy(dk.sbbuf, &dk.sb, sizeof(dk.sb));
    if (!sync_ok(BLK_T_OUT, 0, dk.sbbuf, DISK_BLOCK, "superblock")) {
        disk_stop("I/O error writing the superblock");
    }
}

static void flush_or_stop(void)
{
    if (!sync_ok(BLK_T_FLUSH, 0, NULL, 0, "flush")) {
        disk_stop("flush failed");
    }
}

static void print_sb(const char *what)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG disk ");
    ln_str(&l, what);
    ln_str(&l, " id=");
    ln_hex(&l, dk.sb.disk_id);
    ln_str(&l, " slots=");
    ln_dec(&l, dk.sb.slots);
    ln_str(&l, " pattern=");
    ln_str(&l, dk.sb.pattern == PATTERN_RAND ? "rand" : "seq");
    ln_str(&l, " boot=");
    ln_dec(&l, dk.sb.boot);
    ln_str(&l, " acked=");
    ln_dec(&l, dk.sb.acked);
    tg_print(&l);
}

static void alloc_buffers(void)
{
    u32 i;

    dk.sbbuf = tg_alloc(DISK_BLOCK, DISK_BLOCK);
    dk.rec_at = tg_alloc(DISK_SLOTS_MAX * sizeof(u64), 64);
    for (i = 0; i < diskcfg.qd; i++) {
        dk.io[i].buf = tg_alloc(DISK_BLOCK, DISK_BLOCK);
        if (!dk.io[i].buf) {
            break;
        }
    }
    if (!dk.sbbuf || !dk.rec_at || i < diskcfg.qd) {
        disk_fatal("out of memory for ", diskcfg.qd, " buffers, RAM end ", STATUS->ram_end);
    }
}

void disk_start(void)
{
    struct line err = { .len = 0 };

    if (!STATUS->ram_end || STATUS->ram_end < TG_HEAP_END) {
        disk_fatal("needs RAM up to ", TG_HEAP_END, ", RAM ends at ", STATUS->ram_end);
    }
    ln_str(&err, "TG error: disk: ");
    if (!blk_init(&err)) {
        tg_fatal(&err);
    }
    if (blkinfo.ro) {
        ln_str(&err, "the device is read-only");
        tg_fatal(&err);
    }
}

/* Superblock, scan, and where to continue. */
static void open_disk(void)
{
    struct line l = { .len = 0 };
    u64 s, window;

    if (!sync_ok(BLK_T_IN, 0, dk.sbbuf, DISK_BLOCK, "superblock")) {
        disk_stop("cannot read the superblock");
    }
    memcpy(&dk.sb, dk.sbbuf, sizeof(dk.sb));
    if (!disk_sb_valid(&dk.sb)) {
        format();
        print_sb("format");
    } else {
        if ((1 + dk.sb.slots) * SECTORS_PER_BLOCK > blkinfo.sectors) {
            disk_fatal("the superblock has slots for ", (1 + dk.sb.slots) * SECTORS_PER_BLOCK,
                       " sectors, the device only ", blkinfo.sectors);
        }
        print_sb("found");
    }
    if (dk.sb.pattern != diskcfg.pattern) {
        ln_str(&l, "TG disk note: pattern= is the disk's, not the command line's");
        tg_print(&l);
        l.len = 0;
    }
    STATUS->disk.disk_id = dk.sb.disk_id;

    /* Check every slot against what the previous boots acknowledged. */
    dk.scan_acked = dk.sb.acked;
    dk.scan_window = dk.sb.window;
    if (!pipeline(0, dk.sb.slots, BLK_T_IN, scan_prep, scan_done)) {
        disk_stop("I/O error in the boot check");
    }
    dk.next = dk.sb.acked + 1;
    while (dk.rec_at[disk_slot(&dk.sb, dk.next)] == dk.next) {
        dk.next++;
    }
    for (s = 0; s < dk.sb.slots; s++) {
        dk.rec_at[s] = 0;
    }

    /* This boot's number and window, durable before the first record. */
    window = 2ULL * diskcfg.flush_every + diskcfg.qd;
    dk.sb.boot++;
    dk.sb.window = (u32)(window > dk.sb.window ? window : dk.sb.window);
    STATUS->disk.boot = (u32)dk.sb.boot;
    STATUS->disk.acked = dk.sb.acked;
    write_sb();
    flush_or_stop();

    ln_str(&l, "TG disk verified slots=");
    ln_dec(&l, dk.sb.slots);
    ln_str(&l, " acked=");
    ln_dec(&l, dk.sb.acked);
    ln_str(&l, " next=");
    ln_dec(&l, dk.next);
    ln_str(&l, " bad=");
    ln_dec(&l, STATUS->disk.bad);
    ln_str(&l, " boot=");
    ln_dec(&l, dk.sb.boot);
    tg_print(&l);
    if (STATUS->disk.bad) {
        disk_stop("records acknowledged by a flush are missing or bad");
    }
}

/* ---- rounds ------------------------------------------------------------ */

static u64 write_prep(u64 n, struct disk_rec *buf)
{
    disk_rec_fill(&dk.sb, buf, n);
    return 1 + buf->slot;
}

static bool write_done(u64 n, struct blk_req *r, struct disk_rec *buf)
{
    (void)n; (void)r; (void)buf;
    STATUS->disk.written++;
    return true;
}

static u64 read_prep(u64 n, struct disk_rec *buf)
{
    (void)buf;
    return 1 + disk_slot(&dk.sb, n);
}

static bool read_done(u64 n, struct blk_req *r, struct disk_rec *buf)
{
    u64 s = disk_slot(&dk.sb, n);
    const char *why = disk_rec_check(&dk.sb, buf, s, n);

    (void)r;
    if (why) {
        bad_record(s, n, why, buf->magic == DISK_REC_MAGIC ? buf->n : 0);
        return false;
    }
    STATUS->disk.verified++;
    return true;
}

static void figures_line(void)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG disk acked=");
    ln_dec(&l, STATUS->disk.acked);
    ln_str(&l, " written=");
    ln_dec(&l, STATUS->disk.written);
    ln_str(&l, " verified=");
    ln_dec(&l, STATUS->disk.verified);
    ln_str(&l, " bad=");
    ln_dec(&l, STATUS->disk.bad);
    ln_str(&l, " io_errors=");
    ln_dec(&l, STATUS->disk.io_errors);
    if (devcfg.irq) {
        irq_report();           /* first: exit-after= may end with the figures line */
    }
    tg_workload_line(&l);
}

static void round_once(void)
{
    u64 first = dk.next, count = diskcfg.flush_every, acked = first + count - 1, old;

    if (!pipeline(first, count, BLK_T_OUT, write_prep, write_done)) {
        disk_stop("write failed");
    }
    flush_or_stop();
    STATUS->disk.acked = acked;
    dk.next = acked + 1;
    dk.sb.acked = acked;
    write_sb();
    if (!pipeline(first, count, BLK_T_IN, read_prep, read_done)) {
        disk_stop("read-back failed");
    }
    /*
     * One older acknowledged record, in a slot picked at random: the last
     * record <= acked that belongs there (with pattern=rand that is not
     * simply one of the last S: each lap permutes the slots anew).
     */
    dk.rng = mix64(dk.rng + acked);
    old = expected_in(dk.rng & (dk.sb.slots - 1), acked);
    if (old && !pipeline(old, 1, BLK_T_IN, read_prep, read_done)) {
        disk_stop("read of an older record failed");
    }
}

void disk_run(void)
{
    disk_start();
    alloc_buffers();
    dk.rng = rdtsc();
    open_disk();
    STATUS->disk.flags |= TG_DISK_RUNNING;
    dk.next_line = rdtsc() + STATUS->tsc_khz * 1000;
    for (;;) {
        round_once();
        STATUS->cpu[0].heartbeat++;
        if ((int64_t)(rdtsc() - dk.next_line) >= 0) {
            figures_line();
            dk.next_line = rdtsc() + STATUS->tsc_khz * 1000;
        }
    }
}
