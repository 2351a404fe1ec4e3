/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for the vCPU threads of system/cpus.c: pausing and resuming all
 * vCPUs (the primitive that stop, reset, migration and COLO build on),
 * fetching and restoring a paused vCPU's state (target/i386), an AP that
 * blocks in KVM_RUN waiting for a SIPI, and tearing the threads down.
 *
 * vCPU 0 runs the counter guest of unit-helpers.c in 32-bit flat
 * protected mode: it counts forever, each iteration incrementing a dword
 * in guest memory and ECX, and every 256 iterations it writes ECX to a
 * test port, so the vCPU keeps exiting to the port device (which runs
 * with the BQL, on the vCPU thread). "Paused" is checked by watching the
 * counter stand still with the BQL released; every wait is bounded, and a
 * watchdog aborts the program if a test hangs.
 */
#include <glib.h>
#include <string.h>
#include "kvm-skip.h"
#include "unit-helpers.h"
#include "watchdog.h"
#include "accel/kvm.h"
#include "system/cpus.h"
#include "system/ioport.h"
#include "system/memory.h"
#include "target/i386/cpu.h"
#include "util/bitmap.h"
#include "util/main-loop.h"

#define RAM_SIZE        (16 * 1024 * 1024ULL)
#define WAIT_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define PAUSE_MAX_US    (2 * G_USEC_PER_SEC)
#define TEST_TIMEOUT_S  60

/*
 * The guest is unit-helpers.c's counter; ESI (>= 1, from the boot state)
 * sets how long it spins after each store.
 *
 * KVM keeps only 64 spare dirty-ring entries past the point where it
 * makes a vCPU exit with KVM_EXIT_DIRTY_RING_FULL, and checks before each
 * guest entry. PVM hosts emulate guest CPL0 code in batches of up to 1024
 * instructions without that check, and log every emulated store (not only
 * the first one to a page), so a loop that stores every few instructions
 * overruns the ring (kernel WARN in kvm_dirty_ring_push; entries lost,
 * ring stuck full). Spinning 16 times per store keeps a batch well below
 * 64 stores.
 */
#define RING_SPIN 16

/* The test port: counts the guest's writes, keeps the last value. */
typedef struct TestPort {
    unsigned writes;
    uint32_t last;
    unsigned bad;       /* accesses that were not 4-byte writes */
} TestPort;

static uint64_t test_port_read(void *opaque, uint64_t offset, unsigned size)
{
    TestPort *p = opaque;

    g_assert(bql_locked());
    p->bad++;
    return 0;
}

static void test_port_write(void *opaque, uint64_t offset, uint64_t value,
                            unsigned size)
{
    TestPort *p = opaque;

    g_assert(bql_locked());
    g_assert(cpus_current() != NULL);
    if (size != 4 || offset != 0) {
        p->bad++;
    }
    p->writes++;
    p->last = value;
}

static const IoOps test_port_ops = {
    .read = test_port_read,
    .write = test_port_write,
};

typedef struct Fixture {
    KvmState kvm;
    GuestMemory mem;
    IoBus pio, mmio;
    TestPort port;
    volatile uint32_t *counter;     /* host view of the guest counter */
    unsigned nr_cpus;
} Fixture;

typedef struct TestConfig {
    unsigned nr_cpus;
    uint32_t dirty_ring_size;   /* 0: dirty bitmap */
    uint32_t spin;              /* guest ESI; 0 means 1 */
} TestConfig;

static const TestConfig one_cpu = { .nr_cpus = 1 };
static const TestConfig two_cpus = { .nr_cpus = 2 };
static const TestConfig one_cpu_ring = { .nr_cpus = 1,
                                         .dirty_ring_size = 1024,
                                         .spin = RING_SPIN };

static void fixture_setup(Fixture *f, gconstpointer data)
{
    const TestConfig *tc = data;
    X86BootState boot = {
        .mode = X86_BOOT_PROTECTED_FLAT32,
        .rip = TEST_GUEST_CODE_GPA,
        .rsi = MAX(tc->spin, 1),
    };
    CpusConfig cfg;
    Error *err = NULL;

    /* Aborts a test that hangs (a pause that never returns, say). */
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    memset(f, 0, sizeof(*f));
    f->nr_cpus = tc->nr_cpus;
    f->pio.name = "pio";
    f->mmio.name = "mmio";

    main_loop_init();
    bql_lock();
    test_vm_kvm_init(&f->kvm, tc->dirty_ring_size);
    if (!guest_memory_add_ram(&f->mem, "pc.ram", 0, RAM_SIZE, &err)) {
        g_error("setup: %s", error_get_pretty(err));
    }
    test_vm_load(&f->kvm, &f->mem, &test_guest_counter);
    if (!io_bus_register(&f->pio, "test-port", TEST_GUEST_PORT, 4,
                         &test_port_ops, &f->port, &err)) {
        g_error("setup: %s", error_get_pretty(err));
    }
    f->counter = guest_memory_host_ptr(&f->mem, TEST_GUEST_COUNTER_GPA, 4);
    g_assert_nonnull((void *)f->counter);

    cfg = (CpusConfig) {
        .kvm = &f->kvm, .pio = &f->pio, .mmio = &f->mmio,
        .nr_cpus = f->nr_cpus,
    };
    if (!cpus_create(&cfg, &err) ||
        !x86_cpu_set_boot_state(&cpus_get(0)->kvm, &boot, &err)) {
        g_error("cpus: %s", error_get_pretty(err));
    }
    g_assert_cmpuint(cpus_count(), ==, f->nr_cpus);
    g_assert_null(cpus_get(f->nr_cpus));
    g_assert_null(cpus_current());
    for (unsigned i = 0; i < f->nr_cpus; i++) {
        CPUState *cpu = cpus_get(i);
        g_assert_cmpuint(cpu->index, ==, i);
        g_assert_true(cpu->thread_started);
        g_assert_true(cpu->stopped);
        g_assert_nonnull(cpu->reset_state);
    }
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    if (cpus_count()) {
        cpus_destroy();
    }
    g_assert_cmpuint(cpus_count(), ==, 0);
    g_assert_null(cpus_get(0));
    kvm_destroy(&f->kvm);
    guest_memory_free(&f->mem);
    io_bus_free(&f->pio);
    io_bus_free(&f->mmio);
    g_assert_cmpuint(f->port.bad, ==, 0);
    bql_unlock();
    test_watchdog_disarm();
}

static uint32_t counter(Fixture *f)
{
    return __atomic_load_n(f->counter, __ATOMIC_ACQUIRE);
}

/* Waits (bounded) until the guest's counter exceeds `above`. */
static uint32_t wait_counter_above(Fixture *f, uint32_t above,
                                   const char *what)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_US;

    while (counter(f) <= above) {
        if (g_get_monotonic_time() > deadline) {
            g_error("%s: guest counter stuck at %u (port writes %u)", what,
                    counter(f), f->port.writes);
        }
        test_sleep_unlocked(1000);
    }
    return counter(f);
}

/* Waits (bounded) until the port saw more than `above` writes. */
static void wait_port_writes_above(Fixture *f, unsigned above,
                                   const char *what)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_US;

    while (f->port.writes <= above) {
        if (g_get_monotonic_time() > deadline) {
            g_error("%s: only %u port writes", what, f->port.writes);
        }
        test_sleep_unlocked(1000);
    }
}

/* cpus_pause_all() returns promptly and leaves every vCPU parked. */
static void pause_all_checked(Fixture *f)
{
    gint64 t0 = g_get_monotonic_time();

    cpus_pause_all();
    g_assert_cmpint(g_get_monotonic_time() - t0, <, PAUSE_MAX_US);
    for (unsigned i = 0; i < cpus_count(); i++) {
        g_assert_true(cpus_get(i)->stop);
        g_assert_true(cpus_get(i)->stopped);
    }
}

/* While paused, neither memory nor the port moves for 50 ms. */
static void assert_stands_still(Fixture *f)
{
    uint32_t c1 = counter(f);
    unsigned w1 = f->port.writes;

    test_sleep_unlocked(50 * 1000);
    g_assert_cmpuint(counter(f), ==, c1);
    g_assert_cmpuint(f->port.writes, ==, w1);
    for (unsigned i = 0; i < cpus_count(); i++) {
        g_assert_true(cpus_get(i)->stopped);
    }
}

/* Created vCPUs are parked; resumed they run; paused they stand still. */
static void test_pause(Fixture *f, gconstpointer data)
{
    uint32_t c;

    /* Not started yet: cpus_create leaves everything parked. */
    assert_stands_still(f);
    g_assert_cmpuint(counter(f), ==, 0);

    cpus_resume_all();
    for (unsigned i = 0; i < cpus_count(); i++) {
        g_assert_false(cpus_get(i)->stop);
    }
    c = wait_counter_above(f, 1000, "first resume");
    wait_port_writes_above(f, 2, "first resume");
    pause_all_checked(f);
    g_assert_cmpuint(counter(f), >=, c);
    assert_stands_still(f);
    /* The port saw ECX, which counts in step with the memory counter. */
    g_assert_cmpuint(f->port.last % 256, ==, 0);
    g_assert_cmpuint(f->port.last, >, 0);
    g_assert_cmpuint(f->port.last, <=, counter(f));

    /* Pausing again while paused returns at once. */
    pause_all_checked(f);
    assert_stands_still(f);
}

/* Resume after pause, then many quick pause/resume cycles. */
static void test_pause_resume_loop(Fixture *f, gconstpointer data)
{
    uint32_t c;

    cpus_resume_all();
    c = wait_counter_above(f, 0, "first resume");
    pause_all_checked(f);
    c = counter(f);
    assert_stands_still(f);

    cpus_resume_all();
    c = wait_counter_above(f, c, "resume after pause");
    for (unsigned i = 0; i < 50; i++) {
        pause_all_checked(f);
        cpus_resume_all();
        /* Odd rounds let the vCPU get into KVM_RUN before the kick. */
        if (i % 2) {
            test_sleep_unlocked(g_random_int_range(100, 3000));
        }
    }
    /* Still alive and still counting after all that. */
    c = wait_counter_above(f, c + 512, "after 50 cycles");
    pause_all_checked(f);
    assert_stands_still(f);
    /* A resume immediately followed by a pause, with no chance to run. */
    cpus_resume_all();
    pause_all_checked(f);
    assert_stands_still(f);
    g_assert_cmpuint(counter(f), >=, c);
}

static const struct kvm_msr_entry *find_msr(const X86CPUState *st,
                                            uint32_t index)
{
    for (uint32_t i = 0; i < st->nr_msrs; i++) {
        if (st->msrs[i].index == index) {
            return &st->msrs[i];
        }
    }
    return NULL;
}

static void assert_states_equal(const X86CPUState *a, const X86CPUState *b)
{
    g_assert_cmpmem(&a->regs, sizeof(a->regs), &b->regs, sizeof(b->regs));
    g_assert_cmpmem(&a->sregs, sizeof(a->sregs), &b->sregs,
                    sizeof(b->sregs));
    g_assert_cmpmem(&a->xcrs, sizeof(a->xcrs), &b->xcrs, sizeof(b->xcrs));
    g_assert_cmpuint(a->mp_state.mp_state, ==, b->mp_state.mp_state);
    g_assert_cmpmem(&a->debugregs, sizeof(a->debugregs), &b->debugregs,
                    sizeof(b->debugregs));
    g_assert_cmpuint(a->nr_msrs, ==, b->nr_msrs);
    g_assert_cmpuint(a->nr_msrs, >, 0);
    for (uint32_t i = 0; i < a->nr_msrs; i++) {
        g_assert_cmphex(a->msrs[i].index, ==, b->msrs[i].index);
        if (a->msrs[i].index == MSR_IA32_TSC) {
            /* Time goes on between the two reads. */
            g_assert_cmpuint(b->msrs[i].data, >=, a->msrs[i].data);
        } else {
            g_assert_cmphex(a->msrs[i].data, ==, b->msrs[i].data);
        }
    }
    g_assert_cmpuint(a->xsave_size, ==, b->xsave_size);
    /* The legacy area and XSAVE header: x87/SSE state and XSTATE_BV. */
    g_assert_cmpmem(a->xsave, 576, b->xsave, 576);
}

/* get/put/get of a paused vCPU is lossless; a put register takes effect. */
static void test_state_round_trip(Fixture *f, gconstpointer data)
{
    KvmVcpu *vcpu = &cpus_get(0)->kvm;
    g_autoptr(X86CPUState) st1 = x86_cpu_state_new(&f->kvm);
    g_autoptr(X86CPUState) st2 = x86_cpu_state_new(&f->kvm);
    const struct kvm_msr_entry *tsc;
    Error *err = NULL;
    uint32_t c;
    const uint32_t new_ecx = 0x40000000;

    cpus_resume_all();
    wait_port_writes_above(f, 3, "resume");
    pause_all_checked(f);
    c = counter(f);

    if (!x86_cpu_get_state(vcpu, st1, &err) ||
        !x86_cpu_put_state(vcpu, st1, &err) ||
        !x86_cpu_get_state(vcpu, st2, &err)) {
        g_error("state round trip: %s", error_get_pretty(err));
    }
    assert_states_equal(st1, st2);

    /* The state is the one the guest is really in. */
    g_assert_cmphex(st1->sregs.cr0 & 1, ==, 1);         /* protected mode */
    g_assert_cmphex(st1->sregs.cs.selector, ==, 0x10);
    g_assert_cmpuint(st1->sregs.cs.db, ==, 1);
    g_assert_cmphex(st1->regs.rip, >=, TEST_GUEST_CODE_GPA);
    g_assert_cmphex(st1->regs.rip, <,
                    TEST_GUEST_CODE_GPA + test_guest_counter.size);
    g_assert_cmpuint(st1->mp_state.mp_state, ==, KVM_MP_STATE_RUNNABLE);
    /* ECX and the memory counter advance in step (inc mem; inc ecx). */
    g_assert_cmpuint(c - (uint32_t)st1->regs.rcx, <=, 1);
    g_assert_cmpuint(st1->regs.rcx, <, new_ecx);
    tsc = find_msr(st1, MSR_IA32_TSC);
    g_assert_nonnull(tsc);
    g_assert_cmpuint(tsc->data, >, 0);

    /* Put didn't disturb the guest: it continues counting from c. */
    cpus_resume_all();
    wait_counter_above(f, c + 300, "resume after round trip");
    pause_all_checked(f);
    c = counter(f);
    g_assert_true(x86_cpu_get_state(vcpu, st1, &err));
    g_assert_cmpuint(c - (uint32_t)st1->regs.rcx, <=, 1);

    /* Now a real change: ECX jumps, and the guest's OUTs show it. */
    st1->regs.rcx = new_ecx;
    g_assert_true(x86_cpu_put_state(vcpu, st1, &err));
    g_assert_true(x86_cpu_get_state(vcpu, st2, &err));
    g_assert_cmphex(st2->regs.rcx, ==, new_ecx);
    g_assert_cmphex(f->port.last, <, new_ecx);
    cpus_resume_all();
    {
        gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_US;
        while (f->port.last < new_ecx) {
            if (g_get_monotonic_time() > deadline) {
                g_error("guest never reported the new ECX (last 0x%x)",
                        f->port.last);
            }
            test_sleep_unlocked(1000);
        }
    }
    pause_all_checked(f);
    /* It counted on from the new value, not from scratch or the old one. */
    g_assert_cmphex(f->port.last, >, new_ecx);
    g_assert_cmphex(f->port.last, <, new_ecx + 0x1000000);
    /* The memory counter did not jump: it is not ECX. */
    g_assert_cmpuint(counter(f), <, new_ecx);
    g_assert_null(err);
}

/* An AP waiting for SIPI blocks in KVM_RUN; pause must still return. */
static void test_smp2_pause(Fixture *f, gconstpointer data)
{
    g_autoptr(X86CPUState) ap = x86_cpu_state_new(&f->kvm);
    Error *err = NULL;
    uint32_t c;

    g_assert_cmpuint(cpus_count(), ==, 2);
    cpus_resume_all();
    c = wait_counter_above(f, 1000, "smp2 resume");
    /* Give the AP time to block inside KVM_RUN. */
    test_sleep_unlocked(20 * 1000);
    pause_all_checked(f);
    assert_stands_still(f);

    /*
     * The AP never ran: KVM keeps an AP of an in-kernel irqchip
     * uninitialized until INIT/SIPI, and it is still at its reset RIP.
     */
    g_assert_true(x86_cpu_get_state(&cpus_get(1)->kvm, ap, &err));
    g_assert_cmpuint(ap->mp_state.mp_state, ==, KVM_MP_STATE_UNINITIALIZED);
    g_assert_cmphex(ap->regs.rip, ==, cpus_get(1)->reset_state->regs.rip);
    g_assert_cmphex(ap->sregs.cs.base,
                    ==, cpus_get(1)->reset_state->sregs.cs.base);

    for (unsigned i = 0; i < 10; i++) {
        cpus_resume_all();
        test_sleep_unlocked(5 * 1000);
        pause_all_checked(f);
    }
    cpus_resume_all();
    wait_counter_above(f, c + 1000, "smp2 after cycles");
    pause_all_checked(f);
    assert_stands_still(f);
    g_assert_null(err);
}

/* cpus_destroy() on running vCPUs joins their threads without a hang. */
static void test_destroy_running(Fixture *f, gconstpointer data)
{
    uint32_t c;

    cpus_resume_all();
    wait_counter_above(f, 1000, "resume");
    cpus_destroy();
    g_assert_cmpuint(cpus_count(), ==, 0);
    g_assert_null(cpus_get(0));
    /* Threads joined and vCPUs gone: nothing runs the guest any more. */
    c = counter(f);
    test_sleep_unlocked(50 * 1000);
    g_assert_cmpuint(counter(f), ==, c);
}

/*
 * Pause/resume with dirty logging on, in ring mode. The vCPU thread
 * harvests its own ring on KVM_EXIT_DIRTY_RING_FULL (on PVM, where guest
 * CPL0 stores are emulated, every store of the counter is a ring entry,
 * so that happens every ~1000 iterations), and the pause kick can land
 * while it resets the ring. Whatever the interleaving, the guest must keep
 * running and the counter page must be reported.
 */
static void test_pause_resume_dirty(Fixture *f, gconstpointer data)
{
    g_autofree unsigned long *dirty = bitmap_new(RAM_SIZE / GUEST_PAGE_SIZE);
    RamBlock *ram = &f->mem.blocks[0];
    Error *err = NULL;
    uint32_t c;

    g_assert_true(kvm_dirty_log_start(&f->kvm, &err));
    g_assert_cmpint(kvm_dirty_mode(&f->kvm), ==, KVM_DIRTY_RING);
    /* Loading the code marked its page: start from a clean map. */
    bitmap_take_atomic(dirty, ram->dirty, RAM_SIZE / GUEST_PAGE_SIZE);
    g_assert_true(test_bit(TEST_GUEST_CODE_GPA / GUEST_PAGE_SIZE, dirty));
    cpus_resume_all();
    c = wait_counter_above(f, 2000, "resume with logging");
    for (unsigned i = 0; i < 50; i++) {
        bool check = i % 10 == 0;

        if (check) {
            /* The guest has surely stored to its counter since the last
             * sync. */
            wait_counter_above(f, counter(f) + 100, "logging cycle");
        } else {
            test_sleep_unlocked(g_random_int_range(200, 3000));
        }
        pause_all_checked(f);
        g_assert_true(kvm_dirty_sync(&f->kvm, &err));
        bitmap_take_atomic(dirty, ram->dirty, RAM_SIZE / GUEST_PAGE_SIZE);
        /* Paused and synced: the counter page, and only it. */
        g_assert_cmpuint(bitmap_count_one(dirty, RAM_SIZE / GUEST_PAGE_SIZE),
                         <=, 1);
        if (check) {
            g_assert_true(test_bit(TEST_GUEST_COUNTER_GPA / GUEST_PAGE_SIZE,
                                   dirty));
        }
        cpus_resume_all();
    }
    /* No livelock on a ring that never drains: the guest still counts. */
    g_assert_cmpuint(counter(f), >, c);
    wait_counter_above(f, counter(f) + 2000, "after cycles with logging");
    pause_all_checked(f);
    g_assert_true(kvm_dirty_log_stop(&f->kvm, &err));
    bitmap_take_atomic(dirty, ram->dirty, RAM_SIZE / GUEST_PAGE_SIZE);
    g_assert_true(test_bit(TEST_GUEST_COUNTER_GPA / GUEST_PAGE_SIZE, dirty));
    g_assert_null(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_add_kvm("/cpus/pause", Fixture, &one_cpu,
               fixture_setup, test_pause, fixture_teardown);
    test_add_kvm("/cpus/pause-resume-loop", Fixture, &one_cpu,
               fixture_setup, test_pause_resume_loop, fixture_teardown);
    test_add_kvm("/cpus/state-round-trip", Fixture, &one_cpu,
               fixture_setup, test_state_round_trip, fixture_teardown);
    test_add_kvm("/cpus/smp2-pause", Fixture, &two_cpus,
               fixture_setup, test_smp2_pause, fixture_teardown);
    test_add_kvm("/cpus/destroy-running", Fixture, &one_cpu,
               fixture_setup, test_destroy_running, fixture_teardown);
    test_add_kvm("/cpus/destroy-running-smp2", Fixture, &two_cpus,
               fixture_setup, test_destroy_running, fixture_teardown);
    test_add_kvm("/cpus/pause-resume-dirty-ring", Fixture, &one_cpu_ring,
               fixture_setup, test_pause_resume_dirty, fixture_teardown);
    return g_test_run();
}
