/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: workload=iops, a small fio.  Keeps qd requests of bs
 * bytes in flight over the whole device (rw= chooses reads, writes or a
 * 50/50 mix, random or sequential offsets) and once a second prints the
 * completed reads and writes per second and their latency p50/p99, from
 * submit to the completion being seen, in TSC ticks turned into ns.
 * Writes overwrite whatever is on the device (no format is kept).
 *
 * Latencies go into the shared histogram (hist.h, 3% resolution), reset
 * every second.
 */
#include "disk.h"
#include "../dev/irq.h"
#include "hist.h"

#define IOPS_QD_MAX         64

struct slot {
    struct blk_req req;
    u8 *buf;
    bool busy;
};

static struct {
    struct slot s[IOPS_QD_MAX];
    struct hist h[2];           /* 0 read, 1 write */
    u64 blocks;                 /* device size in bs units */
    u64 seq_next;
    u64 rng;
} io;

static void print_second(u64 ticks)
{
    static const char *const names[2] = { "read", "write" };
    struct line l = { .len = 0 };
    int k;

    ln_str(&l, "TG iops");
    for (k = 0; k < 2; k++) {
        ln_str(&l, " ");
        ln_str(&l, names[k]);
        ln_str(&l, "=");
        ln_dec(&l, io.h[k].count * STATUS->tsc_khz * 1000 / (ticks ? ticks : 1));
        ln_str(&l, " ");
        ln_str(&l, names[k]);
        ln_str(&l, "_p50=");
        ln_us(&l, hist_percentile(&io.h[k], 50), 1);
        ln_str(&l, " ");
        ln_str(&l, names[k]);
        ln_str(&l, "_p99=");
        ln_us(&l, hist_percentile(&io.h[k], 99), 1);
    }
    ln_str(&l, " errors=");
    ln_dec(&l, STATUS->disk.io_errors);
    if (devcfg.irq) {
        irq_report();           /* first: exit-after= may end with the figures line */
    }
    tg_workload_line(&l);
    memset(io.h, 0, sizeof(io.h));
}

static void submit(struct slot *s)
{
    bool write;
    u64 blk;

    io.rng = mix64(io.rng);
    switch (diskcfg.rw) {
    case RW_RANDREAD:
    case RW_READ:
        write = false;
        break;
    case RW_RANDWRITE:
    case RW_WRITE:
        write = true;
        break;
    default:
        write = io.rng >> 63;
        break;
    }
    if (diskcfg.rw == RW_READ || diskcfg.rw == RW_WRITE) {
        blk = io.seq_next++ % io.blocks;
    } else {
        blk = (io.rng >> 1) % io.blocks;
    }
    memset(&s->req, 0, sizeof(s->req));
    s->req.hdr.type = write ? BLK_T_OUT : BLK_T_IN;
    s->req.hdr.sector = blk * (diskcfg.bs / BLK_SECTOR);
    s->req.buf = s->buf;
    s->req.len = diskcfg.bs;
    s->busy = blk_submit(&s->req);
}

static void print_start(void)
{
    static const char *const rw_names[] = {
        [RW_RANDRW] = "randrw", [RW_RANDREAD] = "randread",
        [RW_RANDWRITE] = "randwrite", [RW_READ] = "read", [RW_WRITE] = "write",
    };
    struct line l = { .len = 0 };

    ln_str(&l, "TG iops rw=");
    ln_str(&l, rw_names[diskcfg.rw]);
    ln_str(&l, " bs=");
    ln_dec(&l, diskcfg.bs);
    ln_str(&l, " qd=");
    ln_dec(&l, diskcfg.qd);
    ln_str(&l, " blocks=");
    ln_dec(&l, io.blocks);
    tg_print(&l);
}

void iops_run(void)
{
    u64 start, progress, ns_per_tick_num = 1000000, khz;
    u32 i;

    disk_start();
    io.blocks = blkinfo.sectors / (diskcfg.bs / BLK_SECTOR);
    if (!io.blocks) {
        struct line l = { .len = 0 };

        ln_str(&l, "TG error: disk: device has ");
        ln_dec(&l, blkinfo.sectors);
        ln_str(&l, " sectors, less than one bs=");
        ln_dec(&l, diskcfg.bs);
        tg_fatal(&l);
    }
    for (i = 0; i < diskcfg.qd; i++) {
        io.s[i].buf = tg_alloc(diskcfg.bs, 4096);
        if (!io.s[i].buf) {
            struct line l = { .len = 0 };

            ln_str(&l, "TG error: disk: out of memory for the iops buffers");
            tg_fatal(&l);
        }
        memset(io.s[i].buf, 0x5a, diskcfg.bs);
    }
    print_start();
    STATUS->disk.flags |= TG_DISK_RUNNING;
    khz = STATUS->tsc_khz;
    io.rng = rdtsc();
    start = progress = rdtsc();
    for (;;) {
        u64 now;

        for (i = 0; i < diskcfg.qd; i++) {
            if (!io.s[i].busy) {
                submit(&io.s[i]);
            }
        }
        if (blk_poll()) {
            progress = rdtsc();
        }
        for (i = 0; i < diskcfg.qd; i++) {
            struct slot *s = &io.s[i];
            struct hist *h;
            u64 ns;

            if (!s->busy || !s->req.done) {
                continue;
            }
            s->busy = false;
            if (s->req.status != BLK_S_OK) {
                disk_report(&s->req, "iops");
                continue;
            }
            h = &io.h[s->req.hdr.type == BLK_T_OUT];
            ns = (s->req.t_done - s->req.t_submit) * ns_per_tick_num / khz;
            hist_add(h, ns);
        }
        blk_watchdog(progress);
        now = rdtsc();
        if (now - start >= khz * 1000) {
            print_second(now - start);
            start = now;
        }
        STATUS->cpu[0].heartbeat++;
    }
}
