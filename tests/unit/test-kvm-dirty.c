/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for KVM dirty page tracking (accel/kvm/kvm-dirty.c) and for the
 * dirty marking of Tandem's own writes into guest RAM (system/memory.c).
 *
 * The writer guest of unit-helpers.c runs in 32-bit flat protected mode on
 * one vCPU that this test drives itself with KVM_RUN (no vCPU threads). It
 * reads a table of guest-physical addresses and stores one dword to each,
 * then signals "done" with an OUT to port 0xf4 and jumps back to its
 * start, so every KVM_RUN cycle up to that OUT is one "round" of writes. Each case
 * runs for both back ends: the dirty bitmap with manual protect, and the
 * per-vCPU dirty ring. The assertions check that exactly the pages the
 * guest (or the device model) wrote are reported, no more and no fewer,
 * and that tracking is re-armed after every harvest.
 */
#include <glib.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include "kvm-skip.h"
#include "unit-helpers.h"
#include "watchdog.h"
#include "accel/kvm.h"
#include "system/memory.h"
#include "target/i386/cpu.h"
#include "util/bitmap.h"

#define RAM_SIZE        (16 * 1024 * 1024ULL)
#define RAM_PAGES       (RAM_SIZE / GUEST_PAGE_SIZE)
#define TABLE_MAX       TEST_GUEST_TABLE_MAX
#define FIRST_FREE_PAGE 8           /* pages below hold code and table */
#define TEST_TIMEOUT_S  60

/*
 * The guest only reads the code and the table, so the only pages it
 * dirties are those named in the table. After each store it spins
 * `delay` times, because:
 *
 * KVM keeps only 64 spare ring entries past the point where it asks the
 * vCPU to exit with KVM_EXIT_DIRTY_RING_FULL, and checks that request
 * before each guest entry. On PVM hosts guest CPL0 code is emulated in
 * batches of up to 1024 instructions ("emul_batch" in the kvm-pvm boot
 * message) without that check, so a tight store loop (~8 instructions per
 * new page) overruns the ring: the kernel WARNs in kvm_dirty_ring_push()
 * and entries are overwritten and lost. Spinning 16 times per store
 * (40 instructions) keeps a batch below 64 new pages.
 */
#define RING_FULL_DELAY 16

typedef struct Fixture {
    KvmState kvm;
    GuestMemory mem;
    RamBlock *ram;
    KvmVcpu vcpu;
    unsigned long *scratch;     /* what the last take_dirty() returned */
    unsigned ring_full_exits;   /* KVM_EXIT_DIRTY_RING_FULL seen so far */
    uint32_t round;             /* value the guest stores in this round */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    uint32_t ring_size = GPOINTER_TO_UINT(data);
    Error *err = NULL;

    /* A test that hangs (a KVM_RUN that never returns, say) aborts the
     * whole program with a message instead of blocking forever. */
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    memset(f, 0, sizeof(*f));
    test_vm_kvm_init(&f->kvm, ring_size);
    f->ram = guest_memory_add_ram(&f->mem, "pc.ram", 0, RAM_SIZE, &err);
    g_assert_nonnull(f->ram);
    test_vm_load(&f->kvm, &f->mem, &test_guest_writer);
    test_vm_vcpu_create(&f->kvm, &f->vcpu);
    g_assert_cmpint(kvm_dirty_mode(&f->kvm), ==, KVM_DIRTY_NONE);
    if (ring_size) {
        g_assert_cmpuint(f->kvm.dirty_ring_entries, ==, ring_size);
        g_assert_nonnull(f->vcpu.dirty_gfns);
    } else {
        g_assert_true(f->kvm.manual_protect);
        g_assert_null(f->vcpu.dirty_gfns);
    }
    f->scratch = bitmap_new(RAM_PAGES);
    /* Loading the code marked its page; start every case from clean. */
    bitmap_zero(f->ram->dirty, RAM_PAGES);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    kvm_vcpu_destroy(&f->vcpu);
    kvm_destroy(&f->kvm);
    guest_memory_free(&f->mem);
    g_free(f->scratch);
    test_watchdog_disarm();
}

/*
 * Fills the table so that the next round writes `value` to the first dword
 * of each listed page. Through the host pointer without marking: the table
 * is test scaffolding, not a device write, and it must not show up in the
 * bitmap (nor does the guest dirty it by reading it).
 */
static void set_guest_round_delay(Fixture *f, const unsigned *pages,
                                  unsigned n, uint32_t delay)
{
    uint32_t *table = guest_memory_host_ptr(&f->mem, TEST_GUEST_TABLE_GPA,
                                            (3 + TABLE_MAX) * 4);

    g_assert_nonnull(table);
    g_assert_cmpuint(n, <=, TABLE_MAX);
    f->round++;
    table[0] = n;
    table[1] = 0xd1270000 | f->round;
    table[2] = delay;
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmpuint(pages[i], >=, FIRST_FREE_PAGE);
        g_assert_cmpuint(pages[i], <, RAM_PAGES);
        table[3 + i] = pages[i] * GUEST_PAGE_SIZE;
    }
}

static void set_guest_round(Fixture *f, const unsigned *pages, unsigned n)
{
    set_guest_round_delay(f, pages, n, 1);
}

/* Runs the vCPU until the guest reports the round done. */
static void run_guest_round(Fixture *f)
{
    test_vm_run_until_port(&f->vcpu, &f->ring_full_exits);
}

/* Moves the block's dirty bitmap into f->scratch (and clears it). */
static void take_dirty(Fixture *f)
{
    bitmap_take_atomic(f->scratch, f->ram->dirty, RAM_PAGES);
    g_assert_true(bitmap_empty(f->ram->dirty, RAM_PAGES));
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* f->scratch must hold exactly the pages listed (in any order). */
static void assert_dirty_exactly(Fixture *f, const unsigned *pages,
                                 unsigned n)
{
    g_autofree unsigned *want = g_memdup2(pages, n * sizeof(*pages));
    g_autoptr(GString) got = g_string_new(NULL);
    g_autoptr(GString) exp = g_string_new(NULL);
    size_t count = bitmap_count_one(f->scratch, RAM_PAGES);
    bool ok = true;
    unsigned i = 0;

    qsort(want, n, sizeof(*want), cmp_uint);
    for (size_t p = find_next_bit(f->scratch, RAM_PAGES, 0); p < RAM_PAGES;
         p = find_next_bit(f->scratch, RAM_PAGES, p + 1), i++) {
        if (i >= n || want[i] != p) {
            ok = false;
        }
        if (got->len < 400) {
            g_string_append_printf(got, " %zu", p);
        }
    }
    if (!ok || count != n) {
        for (unsigned j = 0; j < n && exp->len < 400; j++) {
            g_string_append_printf(exp, " %u", want[j]);
        }
        g_test_message("dirty pages:%s", got->str);
        g_test_message("expected:%s", exp->str);
    }
    g_assert_cmpuint(count, ==, n);
    g_assert_true(ok);
}

/* The guest really stored this round's value at each page. */
static void assert_guest_wrote(Fixture *f, const unsigned *pages, unsigned n)
{
    uint32_t expect = 0xd1270000 | f->round;

    for (unsigned i = 0; i < n; i++) {
        uint32_t v;
        Error *err = NULL;

        g_assert_true(guest_memory_read(&f->mem, pages[i] * GUEST_PAGE_SIZE,
                                        &v, 4, &err));
        g_assert_cmphex(v, ==, expect);
    }
}

static void start_logging(Fixture *f)
{
    Error *err = NULL;

    g_assert_true(kvm_dirty_log_start(&f->kvm, &err));
    g_assert_null(err);
    g_assert_cmpint(kvm_dirty_mode(&f->kvm), ==,
                    f->kvm.dirty_ring_entries ? KVM_DIRTY_RING
                                              : KVM_DIRTY_LOG);
}

static void sync_dirty(Fixture *f)
{
    Error *err = NULL;

    g_assert_true(kvm_dirty_sync(&f->kvm, &err));
    g_assert_null(err);
}

static const unsigned round1[] = { 100, 101, 300, 4095 };
/* Shares 101 with round 1 (written again) but not 100, 300, 4095. */
static const unsigned round2[] = { 8, 101, 2048, 4094, 63, 64 };

/* Guest writes are reported exactly; logging starts with nothing dirty. */
static void test_guest_writes(Fixture *f, gconstpointer data)
{
    start_logging(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);

    set_guest_round(f, round1, G_N_ELEMENTS(round1));
    run_guest_round(f);
    assert_guest_wrote(f, round1, G_N_ELEMENTS(round1));
    /* Nothing reaches the block's bitmap before a sync. */
    g_assert_true(bitmap_empty(f->ram->dirty, RAM_PAGES));
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, round1, G_N_ELEMENTS(round1));

    /* A second sync without guest activity finds nothing new. */
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);
}

/* After a harvest the pages are write-protected again. */
static void test_rearm(Fixture *f, gconstpointer data)
{
    start_logging(f);
    set_guest_round(f, round1, G_N_ELEMENTS(round1));
    run_guest_round(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, round1, G_N_ELEMENTS(round1));

    set_guest_round(f, round2, G_N_ELEMENTS(round2));
    run_guest_round(f);
    assert_guest_wrote(f, round2, G_N_ELEMENTS(round2));
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, round2, G_N_ELEMENTS(round2));

    /* And once more with round 1: pages from round 2 must not linger. */
    set_guest_round(f, round1, G_N_ELEMENTS(round1));
    run_guest_round(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, round1, G_N_ELEMENTS(round1));

    /* A round with no writes at all reports nothing. */
    set_guest_round(f, NULL, 0);
    run_guest_round(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);
}

/* Tandem's own writes land in the bitmap at once, and survive a sync. */
static void test_device_writes(Fixture *f, gconstpointer data)
{
    static const unsigned guest_pages[] = { 500, 501 };
    uint8_t buf[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    uint8_t back[sizeof(buf)];
    Error *err = NULL;
    uint8_t *p;

    start_logging(f);

    /* guest_memory_write: marked immediately, no KVM sync needed. */
    g_assert_true(guest_memory_write(&f->mem, 200 * GUEST_PAGE_SIZE + 8, buf,
                                     sizeof(buf), &err));
    take_dirty(f);
    assert_dirty_exactly(f, (const unsigned[]){ 200 }, 1);

    /* A write straddling a page boundary marks both pages. */
    g_assert_true(guest_memory_write(&f->mem, 203 * GUEST_PAGE_SIZE - 4, buf,
                                     sizeof(buf), &err));
    take_dirty(f);
    assert_dirty_exactly(f, (const unsigned[]){ 202, 203 }, 2);

    /* Host pointer plus explicit marking. */
    p = guest_memory_host_ptr(&f->mem, 210 * GUEST_PAGE_SIZE, 64);
    g_assert_nonnull(p);
    memcpy(p, buf, sizeof(buf));
    g_assert_true(bitmap_empty(f->ram->dirty, RAM_PAGES));
    guest_memory_mark_dirty(&f->mem, 210 * GUEST_PAGE_SIZE, sizeof(buf));
    take_dirty(f);
    assert_dirty_exactly(f, (const unsigned[]){ 210 }, 1);
    guest_memory_mark_dirty(&f->mem, 220 * GUEST_PAGE_SIZE + 100,
                            3 * GUEST_PAGE_SIZE);
    take_dirty(f);
    assert_dirty_exactly(f, (const unsigned[]){ 220, 221, 222, 223 }, 4);

    /* guest_memory_fill marks too. */
    g_assert_true(guest_memory_fill(&f->mem, 230 * GUEST_PAGE_SIZE, 0xaa,
                                    GUEST_PAGE_SIZE, &err));
    take_dirty(f);
    assert_dirty_exactly(f, (const unsigned[]){ 230 }, 1);

    /* Reads do not mark; they return what was written. */
    g_assert_true(guest_memory_read(&f->mem, 200 * GUEST_PAGE_SIZE + 8, back,
                                    sizeof(back), &err));
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_true(guest_memory_read(&f->mem, 0, back, sizeof(back), &err));
    g_assert_true(bitmap_empty(f->ram->dirty, RAM_PAGES));

    /*
     * KVM only sees guest writes: a host-pointer write without marking is
     * invisible even after a sync. That is why callers must mark.
     */
    p = guest_memory_host_ptr(&f->mem, 240 * GUEST_PAGE_SIZE, 4);
    g_assert_nonnull(p);
    p[0] = 0x55;
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);

    /* Device and guest writes in one interval: the sync ORs, never
     * overwrites what devices marked. */
    g_assert_true(guest_memory_write(&f->mem, 250 * GUEST_PAGE_SIZE, buf, 4,
                                     &err));
    set_guest_round(f, guest_pages, G_N_ELEMENTS(guest_pages));
    run_guest_round(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, (const unsigned[]){ 250, 500, 501 }, 3);
    g_assert_null(err);
}

/* Stopping flushes what was pending, then KVM reports nothing more. */
static void test_log_stop(Fixture *f, gconstpointer data)
{
    static const unsigned round3[] = { 700, 701, 702 };
    Error *err = NULL;

    start_logging(f);
    set_guest_round(f, round1, G_N_ELEMENTS(round1));
    run_guest_round(f);

    /* No explicit sync: stop must not lose round 1. */
    g_assert_true(kvm_dirty_log_stop(&f->kvm, &err));
    g_assert_cmpint(kvm_dirty_mode(&f->kvm), ==, KVM_DIRTY_NONE);
    take_dirty(f);
    assert_dirty_exactly(f, round1, G_N_ELEMENTS(round1));
    /* Stopping twice is harmless. */
    g_assert_true(kvm_dirty_log_stop(&f->kvm, &err));

    /* Guest writes with logging off: sync is a no-op, nothing appears. */
    set_guest_round(f, round2, G_N_ELEMENTS(round2));
    run_guest_round(f);
    assert_guest_wrote(f, round2, G_N_ELEMENTS(round2));
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);

    /* Device writes are still marked: that does not depend on KVM. */
    g_assert_true(guest_memory_write(&f->mem, 600 * GUEST_PAGE_SIZE, &err,
                                     sizeof(err), &err));
    take_dirty(f);
    assert_dirty_exactly(f, (const unsigned[]){ 600 }, 1);

    /* Restarting begins clean: round 2's writes are not reported. */
    start_logging(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);
    set_guest_round(f, round3, G_N_ELEMENTS(round3));
    run_guest_round(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, round3, G_N_ELEMENTS(round3));
    g_assert_null(err);
}

/* Bad ranges fail as a whole, name the range, and write nothing. */
static void test_bad_input(Fixture *f, gconstpointer data)
{
    uint8_t buf[2 * GUEST_PAGE_SIZE];
    uint8_t back[GUEST_PAGE_SIZE];
    Error *err = NULL;

    start_logging(f);
    memset(buf, 0x5a, sizeof(buf));

    /* Entirely outside RAM. */
    g_assert_false(guest_memory_write(&f->mem, 0x40000000, buf, 16, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "0x40000000-0x4000000f"));
    error_free(err);
    err = NULL;

    /* Straddling the end of RAM: the valid first page stays untouched. */
    g_assert_false(guest_memory_write(&f->mem, RAM_SIZE - GUEST_PAGE_SIZE,
                                      buf, sizeof(buf), &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "0xfff000-0x1000fff"));
    g_assert_nonnull(strstr(error_get_pretty(err), "0x1000000"));
    error_free(err);
    err = NULL;
    g_assert_true(guest_memory_read(&f->mem, RAM_SIZE - GUEST_PAGE_SIZE,
                                    back, sizeof(back), &err));
    for (size_t i = 0; i < sizeof(back); i++) {
        g_assert_cmpuint(back[i], ==, 0);
    }

    /* Same for fill, and a read of such a range fails too. */
    g_assert_false(guest_memory_fill(&f->mem, RAM_SIZE - 8, 0xff, 16, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_false(guest_memory_read(&f->mem, RAM_SIZE - 8, back, 16, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_true(guest_memory_read(&f->mem, RAM_SIZE - 8, back, 8, &err));
    for (size_t i = 0; i < 8; i++) {
        g_assert_cmpuint(back[i], ==, 0);
    }

    /* A range that wraps around the address space. */
    g_assert_false(guest_memory_write(&f->mem, UINT64_MAX - 3, buf, 16,
                                      &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;

    /* A host pointer is refused for ranges not wholly in one block. */
    g_assert_null(guest_memory_host_ptr(&f->mem, RAM_SIZE - 8, 16));
    g_assert_null(guest_memory_host_ptr(&f->mem, RAM_SIZE, 1));
    g_assert_nonnull(guest_memory_host_ptr(&f->mem, RAM_SIZE - 8, 8));

    /* Marking outside RAM is ignored; nothing was marked above. */
    guest_memory_mark_dirty(&f->mem, RAM_SIZE, GUEST_PAGE_SIZE);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, NULL, 0);
}

/* The guest dirties three times more pages than the ring holds. */
static void test_ring_full(Fixture *f, gconstpointer data)
{
    g_autofree unsigned *pages = g_new(unsigned, TABLE_MAX);

    g_assert_cmpuint(f->kvm.dirty_ring_entries, ==, 1024);
    for (unsigned i = 0; i < TABLE_MAX; i++) {
        pages[i] = 1000 + i;
    }
    start_logging(f);
    set_guest_round_delay(f, pages, TABLE_MAX, RING_FULL_DELAY);
    run_guest_round(f);
    g_test_message("%u ring-full exits", f->ring_full_exits);
    g_assert_cmpuint(f->ring_full_exits, >=, 2);
    assert_guest_wrote(f, pages, TABLE_MAX);
    /* What the full-ring exits harvested is already in the bitmap. */
    g_assert_cmpuint(bitmap_count_one(f->ram->dirty, RAM_PAGES), >=, 1024);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, pages, TABLE_MAX);

    /* And the ring keeps working after that: a small second round. */
    set_guest_round(f, round2, G_N_ELEMENTS(round2));
    run_guest_round(f);
    sync_dirty(f);
    take_dirty(f);
    assert_dirty_exactly(f, round2, G_N_ELEMENTS(round2));
}

static void sigalrm_handler(int sig)
{
}

/*
 * The same, with a signal arriving every 50 us: every ioctl may now fail
 * with EINTR, including KVM_RESET_DIRTY_RINGS, which the kernel abandons
 * when a signal is pending. (On the vCPU threads that signal is the pause
 * kick.) An abandoned reset must not leave the ring stuck full.
 */
static void test_ring_full_signals(Fixture *f, gconstpointer data)
{
    struct sigaction sa = { .sa_handler = sigalrm_handler };
    struct itimerval every = {
        .it_interval = { .tv_usec = 50 }, .it_value = { .tv_usec = 50 },
    };
    struct itimerval off = { { 0, 0 }, { 0, 0 } };

    sigemptyset(&sa.sa_mask);
    g_assert_cmpint(sigaction(SIGALRM, &sa, NULL), ==, 0);
    g_assert_cmpint(setitimer(ITIMER_REAL, &every, NULL), ==, 0);
    test_ring_full(f, data);
    g_assert_cmpint(setitimer(ITIMER_REAL, &off, NULL), ==, 0);
}

static void add_mode_tests(const char *mode, unsigned ring_size)
{
    static const struct {
        const char *name;
        void (*fn)(Fixture *, gconstpointer);
    } cases[] = {
        { "guest-writes", test_guest_writes },
        { "rearm", test_rearm },
        { "device-writes", test_device_writes },
        { "log-stop", test_log_stop },
        { "bad-input", test_bad_input },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/kvm-dirty/%s/%s", mode,
                                                cases[i].name);
        test_add_kvm(path, Fixture, GUINT_TO_POINTER(ring_size),
                   fixture_setup, cases[i].fn, fixture_teardown);
    }
}

int main(int argc, char **argv)
{
    /* (SIGALRM reaches only this, the test's, thread: the watchdog's
     * blocks every signal.) */
    g_test_init(&argc, &argv, NULL);
    add_mode_tests("bitmap", 0);
    add_mode_tests("ring", 4096);
    test_add_kvm("/kvm-dirty/ring/ring-full", Fixture, GUINT_TO_POINTER(1024),
               fixture_setup, test_ring_full, fixture_teardown);
    test_add_kvm("/kvm-dirty/ring/ring-full-signals", Fixture,
               GUINT_TO_POINTER(1024), fixture_setup, test_ring_full_signals,
               fixture_teardown);
    return g_test_run();
}
