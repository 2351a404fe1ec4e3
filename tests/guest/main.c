/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: everything that runs at CPL3.
 *
 * boot.S drops the BSP into bsp_main() and each AP into ap_main() at CPL3
 * with interrupts off.  CPL3 runs natively on the PVM host, so all logic
 * (command line, TSC calibration, AP start-up, workloads) lives here and
 * only port I/O and LAPIC accesses go through the ud2 services.
 */
#include "guest.h"
#include "net/net.h"
#include "dev/pci.h"
#include "disk/disk.h"
#include "touch.h"

#define APIC_BASE       0xfee00000ULL
#define APIC_SVR        0x0f0
#define APIC_ICR_LO     0x300
#define APIC_ICR_HI     0x310
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_ASSERT      (1u << 14)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)

#define PIT_HZ          1193182ULL
#define PIT_CAL_COUNT   59659ULL        /* ~50 ms */

struct opts {
    u32 workload;
    bool smp;
    u64 wss;
    u64 rate;                   /* dirty pages per second, 0 = unlimited */
    u64 exit_after;             /* workload lines, 0 = never */
    u64 exit_code;
    u64 interval_ms;            /* count line period */
};

static struct opts opt = {
    .workload = WL_COUNT,
    .wss = 64ULL << 20,
    .interval_ms = 250,
};
static const char *bad_opt;     /* first unparsable token, reported after boot line */
static u64 tsc_khz;

static const char *const wl_names[] = {
    [WL_COUNT] = "count", [WL_DIRTY] = "dirty", [WL_IDLE] = "idle",
    [WL_FAULT] = "fault", [WL_SERVE] = "serve", [WL_DISK] = "disk", [WL_IOPS] = "iops",
    [WL_TOUCH] = "touch",
};

/* ---- output ---------------------------------------------------------- */

static void emit(struct line *l)
{
    ln_str(l, "\r\n");
    svc(SVC_WRITE, (u64)l->buf, l->len);
}

static void say(const char *s)
{
    struct line l = { .len = 0 };

    ln_str(&l, s);
    emit(&l);
}

static void __attribute__((noreturn)) tg_exit(u64 code)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG exit code=");
    ln_dec(&l, code);
    emit(&l);
    svc(SVC_EXIT, code, 0);     /* does not return */
    for (;;) {
        cpu_relax();
    }
}

/* Print one workload line (count/pass/idle) and honour exit-after=. */
static void emit_workload(struct line *l)
{
    emit(l);
    STATUS->lines++;
    if (opt.exit_after && STATUS->lines >= opt.exit_after) {
        tg_exit(opt.exit_code);
    }
}

static void __attribute__((noreturn)) config_error(struct line *l)
{
    emit(l);
    tg_exit(TG_EXIT_CONFIG);
}

void tg_print(struct line *l)
{
    emit(l);
}

void tg_workload_line(struct line *l)
{
    emit_workload(l);
}

void tg_fatal(struct line *l)
{
    config_error(l);
}

static void serial_init(void)
{
    outb(COM1_BASE + 1, 0x00);  /* no interrupts */
    outb(COM1_BASE + 3, 0x80);  /* DLAB */
    outb(COM1_BASE + 0, 0x01);  /* 115200 baud */
    outb(COM1_BASE + 1, 0x00);
    outb(COM1_BASE + 3, 0x03);  /* 8N1 */
    outb(COM1_BASE + 2, 0x07);  /* FIFO on, cleared */
    outb(COM1_BASE + 4, 0x03);  /* DTR, RTS */
}

/* ---- command line ---------------------------------------------------- */

static bool streq_n(const char *a, size_t n, const char *b)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return b[n] == 0;
}

static void parse_token(const char *t, size_t n)
{
    size_t k = 0;
    const char *v;
    size_t vn;
    bool ok = true;

    while (k < n && t[k] != '=') {
        k++;
    }
    if (k == n) {
        /* Bare words: "smp" is a flag; anything else (kernel path) is ignored. */
        if (streq_n(t, n, "smp")) {
            opt.smp = true;
        } else if (net_option(t, n, NULL, 0, &ok) && !ok && !bad_opt) {
            bad_opt = t;
        }
        return;
    }
    v = t + k + 1;
    vn = n - k - 1;
    if (streq_n(t, k, "workload")) {
        if (streq_n(v, vn, "count")) {
            opt.workload = WL_COUNT;
        } else if (streq_n(v, vn, "dirty")) {
            opt.workload = WL_DIRTY;
        } else if (streq_n(v, vn, "idle")) {
            opt.workload = WL_IDLE;
        } else if (streq_n(v, vn, "fault")) {
            opt.workload = WL_FAULT;
        } else if (streq_n(v, vn, "serve")) {
            opt.workload = WL_SERVE;
        } else if (streq_n(v, vn, "disk")) {
            opt.workload = WL_DISK;
        } else if (streq_n(v, vn, "iops")) {
            opt.workload = WL_IOPS;
        } else if (streq_n(v, vn, "touch")) {
            opt.workload = WL_TOUCH;
        } else {
            ok = false;
        }
    } else if (streq_n(t, k, "wss")) {
        ok = tg_parse_num(v, vn, &opt.wss);
    } else if (streq_n(t, k, "rate")) {
        ok = tg_parse_num(v, vn, &opt.rate);
    } else if (streq_n(t, k, "exit-after")) {
        ok = tg_parse_num(v, vn, &opt.exit_after);
    } else if (streq_n(t, k, "exit")) {
        ok = tg_parse_num(v, vn, &opt.exit_code) && opt.exit_code <= 0x7fffffff;
    } else if (streq_n(t, k, "interval")) {
        ok = tg_parse_num(v, vn, &opt.interval_ms) && opt.interval_ms;
    } else if (streq_n(t, k, "smp")) {
        opt.smp = !streq_n(v, vn, "0") && !streq_n(v, vn, "off");
    } else if (dev_option(t, k, v, vn, &ok)) {
        /* pci=, mmio= (dev/pci.c) */
    } else if (net_option(t, k, v, vn, &ok)) {
        /* ip=, gw=, ip6=, gw6=, dhcp, netlog= (net/config.c) */
    } else if (disk_option(t, k, v, vn, &ok)) {
        /* qd=, flush-every=, pattern=, disk-size=, rw=, bs=, persist= (disk/config.c) */
    } else if (touch_option(t, k, v, vn, &ok)) {
        /* write-pct=, bg-dirty= (touch.c) */
    } else {
        ok = false;
    }
    if (!ok && !bad_opt) {
        bad_opt = t;
    }
}

static void parse_cmdline(const char *s)
{
    while (*s) {
        size_t n = 0;

        while (*s == ' ' || *s == '\t') {
            s++;
        }
        while (s[n] && s[n] != ' ' && s[n] != '\t') {
            n++;
        }
        if (n) {
            parse_token(s, n);
        }
        s += n;
    }
}

/* ---- TSC ------------------------------------------------------------- */

/*
 * Measure the TSC against PIT channel 2 in mode 0 over ~50 ms: the OUT2
 * pin (port 0x61 bit 5) goes high at terminal count.  Each poll is a
 * ~35 us service round trip, so both ends use the midpoint of the TSC
 * readings around the port access; the error is well below 0.1%.
 * Returns 0 if the PIT does not behave (e.g. no PIT in the VMM).
 */
static u64 tsc_khz_from_pit(void)
{
    u64 t0, t1, a, b;
    u8 v;
    u32 i;

    v = inb(0x61);
    outb(0x61, (u8)((v & ~0x02) | 0x01));   /* gate 2 on, speaker off */
    outb(0x43, 0xb0);                       /* ch2, lo/hi byte, mode 0 */
    outb(0x42, PIT_CAL_COUNT & 0xff);
    a = rdtsc();
    outb(0x42, PIT_CAL_COUNT >> 8);         /* counting starts now */
    b = rdtsc();
    t0 = a + (b - a) / 2;
    if (inb(0x61) & 0x20) {
        return 0;                           /* OUT2 should be low */
    }
    /*
     * Give up after 20000 polls *and* 2e9 TSC ticks (about a second): a
     * poll costs ~35 us on PVM but well under 1 us under QEMU's TCG, where
     * 20000 polls alone end before the 50 ms count does.
     */
    for (i = 0; i < 20000 || rdtsc() - t0 < 2000000000ULL; i++) {
        a = rdtsc();
        v = inb(0x61);
        b = rdtsc();
        if (v & 0x20) {
            t1 = a + (b - a) / 2;
            return (t1 - t0) * PIT_HZ / (PIT_CAL_COUNT * 1000);
        }
    }
    return 0;
}

static const char *calibrate_tsc(void)
{
    u32 r[4];
    u64 khz = tsc_khz_from_pit();

    if (khz >= 100000 && khz <= 20000000) {
        tsc_khz = khz;
        return "pit";
    }
    cpuid(0, 0, r);
    if (r[0] >= 0x15) {
        cpuid(0x15, 0, r);
        if (r[0] && r[1] && r[2]) {
            tsc_khz = (u64)r[2] * r[1] / r[0] / 1000;
            return "cpuid15";
        }
        cpuid(0x16, 0, r);
        if (r[0]) {
            tsc_khz = (u64)r[0] * 1000;
            return "cpuid16";
        }
    }
    tsc_khz = 2000000;
    return "default";
}

static void delay_us(u64 us)
{
    u64 end = rdtsc() + tsc_khz * us / 1000;

    while ((int64_t)(rdtsc() - end) < 0) {
        cpu_relax();
    }
}

/* ---- SMP ------------------------------------------------------------- */

static void start_aps(void)
{
    u64 apic = APIC_BASE;

    memcpy((void *)TG_TRAMP_ADDR, tramp_start, (size_t)(tramp_end - tramp_start));
    mmio_wr32(apic + APIC_SVR, mmio_rd32(apic + APIC_SVR) | 0x1ff);
    mmio_wr32(apic + APIC_ICR_HI, 0);
    mmio_wr32(apic + APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
    delay_us(10000);
    mmio_wr32(apic + APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP |
              TG_SIPI_VECTOR);
    delay_us(200);
    mmio_wr32(apic + APIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP |
              TG_SIPI_VECTOR);
    /* The CPU count is unknown, so give APs a fixed window to check in. */
    delay_us(200000);
}

void ap_main(u32 cpu)
{
    struct tg_percpu *me = &STATUS->cpu[cpu];

    me->online = 1;
    __atomic_fetch_add(&STATUS->cpus_online, 1, __ATOMIC_SEQ_CST);
    if (cpu == 1 && opt.workload == WL_TOUCH && touchcfg.bg_wss) {
        touch_bg_dirty(TG_WSS_BASE + opt.wss);  /* right after touch's working set */
    }
    for (;;) {
        me->heartbeat++;
    }
}

/* ---- workloads ------------------------------------------------------- */

static void __attribute__((noreturn)) run_count(void)
{
    u64 ticks = tsc_khz * opt.interval_ms;
    u64 next = rdtsc() + ticks, seq = 0;
    int j;

    for (;;) {
        for (j = 0; j < 4096; j++) {
            STATUS->counter++;
        }
        STATUS->cpu[0].heartbeat++;
        u64 now = rdtsc();
        if ((int64_t)(now - next) >= 0) {
            struct line l = { .len = 0 };

            ln_str(&l, "TG count=");
            ln_dec(&l, ++seq);
            ln_str(&l, " counter=");
            ln_dec(&l, STATUS->counter);
            emit_workload(&l);
            next += ticks;
            if ((int64_t)(now - next) >= 0) {
                next = now + ticks;     /* VM was paused: no burst */
            }
        }
    }
}

static void report_mismatch(u64 i, volatile u64 *pg, u64 pass)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG error: page ");
    ln_dec(&l, i);
    ln_str(&l, " pass=");
    ln_dec(&l, pg[0]);
    ln_str(&l, " index=");
    ln_dec(&l, pg[1]);
    ln_str(&l, " magic=");
    ln_hex(&l, pg[2]);
    ln_str(&l, " tail=");
    ln_dec(&l, pg[511]);
    ln_str(&l, " expected pass=");
    ln_dec(&l, pass - 1);
    emit(&l);
}

static void __attribute__((noreturn)) run_dirty(void)
{
    u64 n = opt.wss >> 12, pass, i;
    u64 tpp = opt.rate ? tsc_khz * 1000 / opt.rate : 0;
    u64 next = rdtsc();

    for (pass = 0;; pass++) {
        STATUS->pass = pass;
        STATUS->cursor = 0;
        STATUS->dirty_seq = pass << 32;
        for (i = 0; i < n; i++) {
            volatile u64 *pg = (volatile u64 *)(TG_WSS_BASE + (i << 12));

            if (pass && (pg[0] != pass - 1 || pg[1] != i ||
                         pg[2] != TG_DIRTY_MAGIC || pg[511] != pass - 1)) {
                if (STATUS->errors++ < 8) {
                    report_mismatch(i, pg, pass);
                }
            }
            pg[0] = pass;
            pg[1] = i;
            pg[2] = TG_DIRTY_MAGIC;
            pg[511] = pass;
            barrier();          /* x86 keeps store order; stop the compiler */
            STATUS->cursor = i + 1;
            STATUS->dirty_seq = (pass << 32) | (i + 1);
            STATUS->cpu[0].heartbeat++;
            if (tpp) {
                next += tpp;
                u64 now = rdtsc();
                if ((int64_t)(now - next) > (int64_t)(tsc_khz * 20)) {
                    next = now;         /* >20 ms behind (VM paused): no burst */
                }
                while ((int64_t)(rdtsc() - next) < 0) {
                    cpu_relax();
                }
            }
        }
        struct line l = { .len = 0 };
        ln_str(&l, "TG pass=");
        ln_dec(&l, pass);
        ln_str(&l, " errors=");
        ln_dec(&l, STATUS->errors);
        emit_workload(&l);
    }
}

static void __attribute__((noreturn)) run_idle(void)
{
    struct line l = { .len = 0 };

    ln_str(&l, "TG idle");
    emit_workload(&l);
    for (;;) {
        cpu_relax();
        STATUS->cpu[0].heartbeat++;
    }
}

/* ---- BSP entry ------------------------------------------------------- */

/*
 * Check the working set, plus `extra` bytes after it (touch's bg-dirty
 * region), against multiboot mem_upper (RAM above 1 MiB).
 */
static void check_wss(u64 extra)
{
    struct line l = { .len = 0 };
    u64 end = TG_WSS_BASE + opt.wss + extra;

    if (opt.wss < 4096 || (opt.wss & 4095)) {
        ln_str(&l, "TG error: wss ");
        ln_hex(&l, opt.wss);
        ln_str(&l, " must be a non-zero multiple of 4K");
        config_error(&l);
    }
    /* each term below 4G first, so that the sum cannot wrap */
    if (opt.wss > (4ULL << 30) || extra > (4ULL << 30) || end > (4ULL << 30) ||
        (STATUS->ram_end && end > STATUS->ram_end)) {
        ln_str(&l, "TG error: wss ");
        ln_hex(&l, opt.wss);
        if (extra) {
            ln_str(&l, " + bg-dirty ");
            ln_hex(&l, extra);
        }
        ln_str(&l, " at ");
        ln_hex(&l, TG_WSS_BASE);
        ln_str(&l, " exceeds RAM (ram_end=");
        ln_hex(&l, STATUS->ram_end);
        ln_str(&l, ", 4G identity map)");
        config_error(&l);
    }
    if (!STATUS->ram_end) {
        say("TG warning: no multiboot memory info, wss not checked");
    }
}

void bsp_main(u32 cpu)
{
    struct tg_status *st = STATUS;
    const u32 *mbi = (const u32 *)(u64)mb_info;
    struct line l = { .len = 0 };
    const char *src;

    (void)cpu;
    memset(st, 0, 4096);
    st->version = TG_STATUS_VERSION;
    st->boot_tsc = rdtsc();
    st->cpus_online = 1;
    st->cpu[0].online = 1;
    st->fault_vec = 0xffffffff;
    if (mb_magic == MB_BOOT_MAGIC) {
        st->flags |= TG_FLAG_MB_OK;
        if (mbi[0] & 1) {
            st->ram_end = 0x100000 + ((u64)mbi[2] << 10);
        }
        if ((mbi[0] & 4) && mbi[4]) {
            const char *c = (const char *)(u64)mbi[4];
            size_t n = strlen(c);

            memcpy(st->cmdline, c, n < 255 ? n : 255);
        }
    }
    parse_cmdline(st->cmdline);
    st->workload = opt.workload;
    st->exit_after = opt.exit_after;
    st->flags |= opt.smp ? TG_FLAG_SMP : 0;
    barrier();
    st->magic = TG_STATUS_MAGIC;

    serial_init();
    ln_str(&l, "TG boot workload=");
    ln_str(&l, wl_names[opt.workload]);
    ln_str(&l, " layout=");
    ln_dec(&l, TG_STATUS_VERSION);
    emit(&l);
    if (!(st->flags & TG_FLAG_MB_OK)) {
        say("TG warning: not booted via multiboot, using defaults");
    }
    if (bad_opt) {
        size_t n = 0;

        l.len = 0;
        ln_str(&l, "TG error: bad option '");
        while (bad_opt[n] && bad_opt[n] != ' ' && l.len < 100) {
            l.buf[l.len++] = bad_opt[n++];
        }
        ln_str(&l, "'");
        config_error(&l);
    }
    if (opt.workload == WL_DIRTY || opt.workload == WL_TOUCH) {
        st->wss_base = TG_WSS_BASE;
        st->wss_size = opt.wss;
        check_wss(opt.workload == WL_TOUCH ? touchcfg.bg_wss : 0);
    }

    src = calibrate_tsc();
    st->tsc_khz = tsc_khz;
    l.len = 0;
    ln_str(&l, "TG tsc_khz=");
    ln_dec(&l, tsc_khz);
    ln_str(&l, " src=");
    ln_str(&l, src);
    emit(&l);

    if (opt.smp) {
        start_aps();
    }
    l.len = 0;
    ln_str(&l, "TG cpus=");
    ln_dec(&l, st->cpus_online);
    emit(&l);

    st->flags |= TG_FLAG_RUNNING;
    switch (opt.workload) {
    case WL_DIRTY:
        run_dirty();
    case WL_IDLE:
        run_idle();
    case WL_SERVE:
        net_serve();
    case WL_DISK:
        disk_run();
    case WL_IOPS:
        iops_run();
    case WL_TOUCH:
        touch_run(opt.wss);
    case WL_FAULT:
        /* Self-test of the fault path: 256 GiB is not mapped -> #PF. */
        say("TG fault test: reading 0x4000000000");
        (void)*(volatile u64 *)0x4000000000ULL;
        tg_exit(0);
    default:
        run_count();
    }
}
