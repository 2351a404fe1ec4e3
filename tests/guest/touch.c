/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: workload=touch, memory latency as the guest feels it.
 *
 * The BSP reads or writes one random page of the working set at a time
 * (write-pct= sets the mix) and times each access with the TSC, fenced on
 * both sides so that the load or store, and any fault it takes, falls
 * inside the window.  Under postcopy migration a page the destination has
 * not received yet stalls the vCPU until it arrives, so the histogram is
 * the page-request latency seen from inside.  Once a second it prints
 * accesses, p50/p99/max in microseconds, the distinct pages touched since
 * the start and the content errors found.
 *
 * Every write stores the page's tag (its address xor TOUCH_MAGIC) at
 * offset 0 and the page's write count, kept in a table beside, at offset
 * 8; every read checks both: 0 and 0 for a page never written (RAM starts
 * zeroed), else the tag and the count.  A page lost, stale (a write the
 * VMM did not carry over), duplicated from elsewhere or placed at the
 * wrong address by a migration is counted in errors=.
 *
 * With bg-dirty=SIZE, CPU 1 rewrites a region of its own right after the
 * working set, every page once per pass, as fast as it can, checking the
 * previous pass first (as workload=dirty does): enough dirtying that
 * precopy cannot converge, so a migration needs postcopy.  APs never
 * print; the BSP reports the background passes and errors on its line.
 */
#include "touch.h"
#include "hist.h"

#define TOUCH_MAGIC     0x4843554f544754ULL    /* "TGTOUCH" */
#define BG_MAGIC        0x5954524947424754ULL  /* "TGBGIRTY" */
#define TOUCH_REPORTS   8                       /* content errors printed in full */

struct touch_config touchcfg = {
    .write_pct = 50,
};

/* Written by CPU 1, read by the BSP for its line. */
static struct {
    volatile u64 passes;
    volatile u64 errors;
} bg;

static bool is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && !memcmp(s, want, n);
}

bool touch_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok)
{
    u64 x = 0;

    if (is(key, kn, "write-pct")) {
        *ok = tg_parse_num(v, vn, &x) && x <= 100;
        touchcfg.write_pct = (u32)x;
    } else if (is(key, kn, "bg-dirty")) {
        *ok = tg_parse_num(v, vn, &x) && !(x & 4095);
        touchcfg.bg_wss = x;
    } else {
        return false;
    }
    return true;
}

/* xorshift64*: cheap, and good enough to spread accesses over the set. */
static u64 next_rand(u64 *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

/*
 * lfence before: earlier instructions are done before the TSC is read;
 * lfence after: the access that follows does not start before it.  Under
 * TCG lfence costs nothing, on hardware it keeps the window honest.
 */
static inline u64 rdtsc_fenced(void)
{
    u32 lo, hi;

    asm volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) :: "memory");
    return ((u64)hi << 32) | lo;
}

static void report_bad_page(u64 idx, u64 tag, u64 version, u64 want_tag, u64 want_version)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG error: touch page ");
    ln_dec(&l, idx);
    ln_str(&l, " holds ");
    ln_hex(&l, tag);
    ln_str(&l, " write ");
    ln_dec(&l, version);
    ln_str(&l, ", expected ");
    ln_hex(&l, want_tag);
    ln_str(&l, " write ");
    ln_dec(&l, want_version);
    tg_print(&l);
}

struct touch_state {
    struct hist h;              /* this second's accesses, in ns */
    u64 writes;                 /* this second */
    u64 pages;                  /* distinct pages touched since the start */
    u64 errors;
    u64 lines;
    u8 *seen;                   /* one bit per page of the working set */
    u64 *version;               /* per page: writes so far, stored at offset 8 */
};

static void print_second(struct touch_state *t)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG touch sec=");
    ln_dec(&l, ++t->lines);
    ln_str(&l, " accesses=");
    ln_dec(&l, t->h.count);
    ln_str(&l, " writes=");
    ln_dec(&l, t->writes);
    ln_str(&l, " p50=");
    ln_us(&l, hist_percentile(&t->h, 50), 3);
    ln_str(&l, " p99=");
    ln_us(&l, hist_percentile(&t->h, 99), 3);
    ln_str(&l, " max=");
    ln_us(&l, t->h.max, 3);
    ln_str(&l, " pages=");
    ln_dec(&l, t->pages);
    ln_str(&l, " errors=");
    ln_dec(&l, t->errors);
    ln_str(&l, " bg_passes=");
    ln_dec(&l, bg.passes);
    ln_str(&l, " bg_errors=");
    ln_dec(&l, bg.errors);
    memset(&t->h, 0, sizeof(t->h));
    t->writes = 0;
    tg_workload_line(&l);
}

static void print_start(u64 wss, u64 npages)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG touch wss=");
    ln_dec(&l, wss);
    ln_str(&l, " pages=");
    ln_dec(&l, npages);
    ln_str(&l, " write-pct=");
    ln_dec(&l, touchcfg.write_pct);
    ln_str(&l, " bg-dirty=");
    ln_dec(&l, touchcfg.bg_wss);
    tg_print(&l);
}

static void __attribute__((noreturn)) touch_error(const char *msg)
{
    struct line l = { .len = 0 };

    ln_str(&l, msg);
    tg_fatal(&l);
}

void touch_run(u64 wss)
{
    static struct touch_state t;
    u64 npages = wss >> 12, khz = STATUS->tsc_khz, rng, start;
    /* write-pct as a threshold on 32 random bits: no division per access */
    u64 write_below = ((u64)touchcfg.write_pct << 32) / 100;

    if (touchcfg.bg_wss && STATUS->cpus_online < 2) {
        touch_error("TG error: touch: bg-dirty needs smp and a second CPU");
    }
    t.seen = tg_alloc((npages + 7) / 8, 8);
    if (!t.seen) {
        touch_error("TG error: touch: out of memory for the pages-touched bitmap");
    }
    memset(t.seen, 0, (npages + 7) / 8);
    t.version = tg_alloc(npages * sizeof(u64), 8);
    if (!t.version) {
        touch_error("TG error: touch: out of memory for the per-page write counts");
    }
    memset(t.version, 0, npages * sizeof(u64));
    print_start(wss, npages);
    rng = rdtsc() | 1;
    start = rdtsc();
    for (;;) {
        u64 r = next_rand(&rng);
        u64 idx = (u64)(((unsigned __int128)r * npages) >> 64);
        volatile u64 *pg = (volatile u64 *)(TG_WSS_BASE + (idx << 12));
        u64 tag = TOUCH_MAGIC ^ (u64)pg;
        bool write = (r & 0xffffffffULL) < write_below;
        u64 t0, t1, ticks, v = 0, ver = t.version[idx] + write;

        t0 = rdtsc_fenced();
        if (write) {
            pg[0] = tag;
            pg[1] = ver;        /* same cache line: no second fault */
        } else {
            v = pg[0];
        }
        t1 = rdtsc_fenced();

        /* 2^40 ticks is minutes: a clamp that keeps the ns product in range */
        ticks = t1 - t0 < (1ULL << 40) ? t1 - t0 : 1ULL << 40;
        hist_add(&t.h, ticks * 1000000 / khz);
        t.writes += write;
        t.version[idx] = ver;
        if (!write) {
            u64 v1 = pg[1];     /* after the window: the page is here now */
            u64 want = ver ? tag : 0;

            if ((v != want || v1 != ver) && t.errors++ < TOUCH_REPORTS) {
                report_bad_page(idx, v, v1, want, ver);
            }
        }
        if (!(t.seen[idx >> 3] & (1u << (idx & 7)))) {
            t.seen[idx >> 3] |= (u8)(1u << (idx & 7));
            t.pages++;
        }
        STATUS->cpu[0].heartbeat++;
        if (t1 - start >= khz * 1000) {
            print_second(&t);
            start = rdtsc();    /* a paused VM gives a long window, not a burst */
        }
    }
}

void touch_bg_dirty(u64 base)
{
    u64 n = touchcfg.bg_wss >> 12, pass, i;

    for (pass = 0;; pass++) {
        for (i = 0; i < n; i++) {
            volatile u64 *pg = (volatile u64 *)(base + (i << 12));
            u64 tag = BG_MAGIC ^ (u64)pg;

            if (pass && (pg[0] != pass - 1 || pg[1] != tag || pg[511] != pass - 1)) {
                bg.errors++;
            }
            pg[0] = pass;
            pg[1] = tag;
            pg[511] = pass;
        }
        bg.passes = pass + 1;
        STATUS->cpu[1].heartbeat++;
    }
}
