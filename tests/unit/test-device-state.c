/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device state of a real pc machine through the migration framing: each
 * test builds the machine in-process with pc_machine_new() on the test
 * guest (build/tests/guest/tandem-guest.elf, workload=count), lets it run,
 * pauses the vCPUs and saves the device blob (savevm_state_save_device_blob:
 * the "kvm-irqchip", "port61", "serial", "cpu" and "kvmclock" sections).
 * Then: loading the blob into the same machine lets the guest go on
 * counting; state changed after the save is put back field by field;
 * corrupt blobs (truncated, a wrong XSAVE size, an MSR count beyond the
 * bound, an MSR this KVM lacks) fail with an error naming the section and
 * field, and leave the vCPU as it was and the guest able to run; and the
 * UART's receive FIFO survives a reset in between. Needs /dev/kvm.
 *
 * A failed load is all-or-nothing per section only: sections before the
 * bad one have been applied (here they hold the same state, so it does
 * not show). All-or-nothing across sections is COLO's job (it loads a
 * complete checkpoint into buffers first).
 */
#include <glib.h>
#include <string.h>
#include <unistd.h>
#include "kvm-skip.h"
#include "unit-helpers.h"
#include "chardev/char.h"
#include "hw/i386/pc.h"
#include "migration/savevm.h"
#include "system/cpus.h"
#include "system/ioport.h"
#include "target/i386/machine.h"
#include "util/main-loop.h"

#define GUEST_ELF       TANDEM_BUILD_ROOT "/tests/guest/tandem-guest.elf"
#define STATUS_COUNTER  (0x200000 + 0x40)
#define WAIT_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define COM1            0x3f8

typedef struct Fixture {
    PCMachine *pcms;
    Chardev *chr;
} Fixture;

static uint64_t guest_counter(Fixture *f)
{
    uint64_t v = 0;

    g_assert_true(guest_memory_read(&f->pcms->mem, STATUS_COUNTER, &v,
                                    sizeof(v), &error_abort));
    return v;
}

/* Runs the guest until its counter passes `above`; returns the counter. */
static uint64_t run_until_counter_above(Fixture *f, uint64_t above)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_US;
    uint64_t v;

    cpus_resume_all();
    while ((v = guest_counter(f)) <= above) {
        if (g_get_monotonic_time() > deadline) {
            g_error("guest counter stuck at %" G_GUINT64_FORMAT, v);
        }
        test_sleep_unlocked(10 * 1000);
    }
    cpus_pause_all();
    return v;
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    PCMachineConfig cfg = {
        .ram_size = 128 * 1024 * 1024,
        .smp_cpus = 1,
        .kernel = GUEST_ELF,
        .append = "workload=count",
    };
    Error *err = NULL;

    if (!g_file_test(GUEST_ELF, G_FILE_TEST_EXISTS)) {
        g_error("test guest missing: %s", GUEST_ELF);
    }
    main_loop_init();
    bql_lock();
    f->chr = chardev_new_legacy("serial0", "null", &error_abort);
    cfg.serial[0] = f->chr;
    f->pcms = pc_machine_new(&cfg, &err);
    if (!f->pcms) {
        g_error("pc_machine_new: %s", error_get_pretty(err));
    }
    run_until_counter_above(f, 1000);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    pc_machine_free(f->pcms);
    chardev_close(f->chr);
    bql_unlock();
}

static GBytes *save_devices(void)
{
    QEMUFile *out = qemu_file_new_mem_output();
    const uint8_t *data;
    GBytes *blob;
    size_t len;

    g_assert_true(savevm_state_save_device_blob(savevm_default(), out,
                                                false, &error_abort));
    data = qemu_file_mem_output_data(out, &len);
    g_assert_cmpint(qemu_file_get_error(out, NULL), ==, 0);
    blob = g_bytes_new(data, len);
    g_assert_cmpint(qemu_fclose(out), ==, 0);
    return blob;
}

static bool load_devices(const void *data, size_t len, Error **errp)
{
    QEMUFile *in = qemu_file_new_mem_input(data, len, 0);
    bool ok = loadvm_load_device_blob(savevm_default(), in, errp);

    qemu_fclose(in);
    return ok;
}

static X86CPUState *cpu_state(Fixture *f)
{
    X86CPUState *st = x86_cpu_state_new(&f->pcms->kvm);

    g_assert_true(x86_cpu_get_state(&cpus_get(0)->kvm, st, &error_abort));
    return st;
}

/* Whether MSR index changes on its own or with the load's timing. */
static bool msr_is_timing(uint32_t index)
{
    return index == MSR_IA32_TSC || index == MSR_IA32_TSC_DEADLINE ||
           index == MSR_IA32_TSC_ADJUST;
}

/* Everything the "cpu" section carries, except the TSC (see above) and
 * the APIC timer's current count (computed from the clock on read). */
static void assert_cpu_state_equal(const X86CPUState *a, const X86CPUState *b)
{
    struct kvm_lapic_state la = a->lapic, lb = b->lapic;

    g_assert_cmpmem(&a->regs, sizeof(a->regs), &b->regs, sizeof(b->regs));
    g_assert_cmpuint(a->regs.rip, ==, b->regs.rip);
    g_assert_cmpmem(&a->sregs, sizeof(a->sregs), &b->sregs,
                    sizeof(b->sregs));
    g_assert_cmpmem(&a->xcrs, sizeof(a->xcrs), &b->xcrs, sizeof(b->xcrs));
    memset(&la.regs[0x390], 0, 4);
    memset(&lb.regs[0x390], 0, 4);
    g_assert_cmpmem(la.regs, sizeof(la.regs), lb.regs, sizeof(lb.regs));
    g_assert_cmpuint(a->mp_state.mp_state, ==, b->mp_state.mp_state);
    g_assert_cmpmem(&a->debugregs, sizeof(a->debugregs), &b->debugregs,
                    sizeof(b->debugregs));
    g_assert_cmpuint(a->events.flags, ==, b->events.flags);
    g_assert_cmpuint(a->events.interrupt.shadow, ==,
                     b->events.interrupt.shadow);
    g_assert_cmpuint(a->events.nmi.masked, ==, b->events.nmi.masked);
    g_assert_cmpuint(a->nr_msrs, ==, b->nr_msrs);
    for (uint32_t i = 0; i < a->nr_msrs; i++) {
        g_assert_cmphex(a->msrs[i].index, ==, b->msrs[i].index);
        if (!msr_is_timing(a->msrs[i].index)) {
            g_assert_cmphex(a->msrs[i].data, ==, b->msrs[i].data);
        }
    }
    g_assert_cmpuint(a->xsave_size, ==, b->xsave_size);
    g_assert_cmpmem(a->xsave, a->xsave_size, b->xsave, b->xsave_size);
}

/* (a) Save, load into the same machine, resume: the guest keeps going. */
static void test_load_and_resume(Fixture *f, gconstpointer data)
{
    g_autoptr(GBytes) blob = save_devices();
    uint64_t before;
    size_t len;
    const void *p = g_bytes_get_data(blob, &len);

    g_test_message("device blob: %zu bytes", len);
    g_assert_true(load_devices(p, len, &error_abort));
    before = guest_counter(f);
    run_until_counter_above(f, before + 1000);
    /* And a second round, from a blob taken after the load. */
    g_bytes_unref(g_steal_pointer(&blob));
    blob = save_devices();
    p = g_bytes_get_data(blob, &len);
    g_assert_true(load_devices(p, len, &error_abort));
    before = guest_counter(f);
    run_until_counter_above(f, before + 1000);
}

static uint32_t msr_slot(const X86CPUState *st, uint32_t index)
{
    for (uint32_t i = 0; i < st->nr_msrs; i++) {
        if (st->msrs[i].index == index) {
            return i;
        }
    }
    g_assert_not_reached();
}

/* (b) Change the vCPU (and port 0x61) after the save; the load puts back
 * what was saved. */
static void test_load_overwrites(Fixture *f, gconstpointer data)
{
    g_autoptr(X86CPUState) saved = cpu_state(f);
    g_autoptr(X86CPUState) changed = cpu_state(f);
    g_autoptr(X86CPUState) loaded = NULL;
    g_autoptr(GBytes) blob = save_devices();
    uint8_t port61_saved = f->pcms->port61->control;
    size_t len;
    const void *p = g_bytes_get_data(blob, &len);

    changed->regs.rip += 0x1000;
    changed->regs.rax = 0xdeadbeefcafe;
    changed->regs.r15 = 0x1515;
    changed->sregs.cr2 = 0x12345000;
    changed->msrs[msr_slot(changed, MSR_STAR)].data ^= 0x0023001000000000ull;
    changed->msrs[msr_slot(changed, MSR_KERNEL_GS_BASE)].data = 0xffff8000;
    changed->lapic.regs[0x80] = 0x20;               /* TPR */
    changed->debugregs.db[1] = 0x4000;
    g_assert_true(x86_cpu_put_state(&cpus_get(0)->kvm, changed,
                                    &error_abort));
    g_assert_true(io_bus_write(&f->pcms->pio, 0x61, 1,
                               port61_saved ^ 0x02));
    loaded = cpu_state(f);
    g_assert_cmpuint(loaded->regs.rip, ==, changed->regs.rip);
    g_assert_cmpuint(loaded->debugregs.db[1], ==, 0x4000);
    g_clear_pointer(&loaded, x86_cpu_state_free);

    g_assert_true(load_devices(p, len, &error_abort));
    loaded = cpu_state(f);
    assert_cpu_state_equal(saved, loaded);
    g_assert_cmphex(f->pcms->port61->control, ==, port61_saved);
    run_until_counter_above(f, guest_counter(f) + 1000);
}

/* Where the "cpu" section's body is in a device blob: the FULL record
 * header, then the payload in one chunk (savevm flushes per section and a
 * cpu section is smaller than the buffer). */
static void find_cpu_body(const uint8_t *blob, size_t len, size_t *off,
                          size_t *body_len)
{
    static const uint8_t hdr[] = { 3, 'c', 'p', 'u', 0, 0, 0, 0, 0, 0, 0, 1 };

    for (size_t i = 5; i + sizeof(hdr) + 4 <= len; i++) {
        if (blob[i - 5] == SAVEVM_REC_FULL &&
            !memcmp(blob + i, hdr, sizeof(hdr))) {
            const uint8_t *c = blob + i + sizeof(hdr);
            uint32_t n = (uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3];

            *off = i + sizeof(hdr) + 4;
            *body_len = n;
            g_assert_cmpuint(*off + n + 4, <=, len);
            g_assert_cmpmem(blob + *off + n, 4, "\0\0\0\0", 4);
            return;
        }
    }
    g_error("no cpu section in the blob");
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* Loads a corrupt blob: it must fail with an error containing `want`, and
 * leave the vCPU's registers alone. */
static void load_bad(Fixture *f, const uint8_t *blob, size_t len,
                     const char *want)
{
    g_autoptr(X86CPUState) before = cpu_state(f);
    g_autoptr(X86CPUState) after = NULL;
    Error *err = NULL;

    g_assert_false(load_devices(blob, len, &err));
    g_assert_nonnull(err);
    g_test_message("error: %s", error_get_pretty(err));
    if (want) {
        g_assert_nonnull(strstr(error_get_pretty(err), want));
    }
    error_free(err);
    after = cpu_state(f);
    g_assert_cmpmem(&before->regs, sizeof(before->regs), &after->regs,
                    sizeof(after->regs));
    g_assert_cmpmem(&before->sregs, sizeof(before->sregs), &after->sregs,
                    sizeof(after->sregs));
}

/* (c) Corrupt blobs fail cleanly. */
static void test_corrupt(Fixture *f, gconstpointer data)
{
    g_autoptr(GBytes) blob = save_devices();
    size_t len, off, body_len, xs_off, nr_off;
    const uint8_t *good = g_bytes_get_data(blob, &len);
    g_autofree uint8_t *bad = g_memdup2(good, len);
    g_autoptr(X86CPUState) host = x86_cpu_state_new(&f->pcms->kvm);
    uint32_t xsave_size = host->xsave_size, nr_msrs;

    find_cpu_body(good, len, &off, &body_len);
    /* The body ends with xsave_size, xsave, the subsection count. */
    xs_off = off + body_len - 1 - xsave_size - 4;
    g_assert_cmpuint(get_be32(good + xs_off), ==, xsave_size);
    /* Before it: nr_msrs and the MSRs (index, data, subsection count). */
    for (nr_msrs = 1; nr_msrs <= X86_MAX_SAVED_MSRS; nr_msrs++) {
        nr_off = xs_off - nr_msrs * 13 - 4;
        if (get_be32(good + nr_off) == nr_msrs) {
            break;
        }
    }
    g_assert_cmpuint(nr_msrs, <=, X86_MAX_SAVED_MSRS);
    g_test_message("xsave size %u, %u MSRs", xsave_size, nr_msrs);

    /* Truncations, including in the middle of the cpu section. */
    load_bad(f, good, off + body_len / 2, "truncated");
    load_bad(f, good, len - 1, NULL);
    load_bad(f, good, 7, NULL);

    /* An XSAVE size other than this host's. */
    put_be32(bad + xs_off, xsave_size - 64);
    load_bad(f, bad, len, "section 'cpu' instance 0");
    put_be32(bad + xs_off, xsave_size - 64);
    bad[xs_off + 4 + xsave_size - 64] = 0;  /* where the count is read */
    load_bad(f, bad, len, "xsave size");
    put_be32(bad + xs_off, 0x7fffffff);
    load_bad(f, bad, len, "vmstate 'cpu' field 'xsave_size': value "
             "2147483647 exceeds 65536");
    memcpy(bad, good, len);

    /* An MSR count beyond the bound, and a shifted one. */
    put_be32(bad + nr_off, 40);
    load_bad(f, bad, len, "vmstate 'cpu' field 'nr_msrs': value 40 exceeds "
             "32");
    put_be32(bad + nr_off, nr_msrs + 1);
    load_bad(f, bad, len, "section 'cpu' instance 0");
    memcpy(bad, good, len);

    /* An MSR this KVM does not have. */
    put_be32(bad + nr_off + 4, 0xdeadbeef);
    load_bad(f, bad, len, "MSR 0xdeadbeef is not supported");
    memcpy(bad, good, len);

    /* Unknown section and bad bounded fields elsewhere. */
    bad[off - 4 - 12 + 3] = 'x';                    /* "cpx" */
    load_bad(f, bad, len, "unknown section 'cpx'");
    memcpy(bad, good, len);

    /* Still a working machine: the intact blob loads and the guest runs. */
    g_assert_true(load_devices(good, len, &error_abort));
    run_until_counter_above(f, guest_counter(f) + 1000);
}

/* (d) The UART's receive FIFO survives a reset between save and load. */
static void test_serial_fifo(Fixture *f, gconstpointer data)
{
    SerialState *s = f->pcms->serial[0];
    static const char msg[] = "tandem!";
    g_autoptr(GBytes) blob = NULL;
    uint8_t fifo[SERIAL_FIFO_SIZE];
    uint8_t head, count, lcr, ier;
    uint64_t v;
    size_t len;
    const void *p;

    /* FIFO on, loopback: what the guest sends lands in its RX FIFO. */
    g_assert_true(io_bus_write(&f->pcms->pio, COM1 + 3, 1, 0x03));
    g_assert_true(io_bus_write(&f->pcms->pio, COM1 + 2, 1, 0x07));
    g_assert_true(io_bus_write(&f->pcms->pio, COM1 + 4, 1, 0x18));
    g_assert_true(io_bus_write(&f->pcms->pio, COM1 + 1, 1, 0x01));
    for (size_t i = 0; i < strlen(msg); i++) {
        g_assert_true(io_bus_write(&f->pcms->pio, COM1, 1, msg[i]));
    }
    g_assert_cmpuint(s->rx_count, ==, strlen(msg));
    memcpy(fifo, s->rx_fifo, sizeof(fifo));
    head = s->rx_head;
    count = s->rx_count;
    lcr = s->lcr;
    ier = s->ier;

    blob = save_devices();
    p = g_bytes_get_data(blob, &len);
    serial_reset(s);
    g_assert_cmpuint(s->rx_count, ==, 0);
    g_assert_true(load_devices(p, len, &error_abort));
    g_assert_cmpuint(s->rx_count, ==, count);
    g_assert_cmpuint(s->rx_head, ==, head);
    g_assert_cmpuint(s->lcr, ==, lcr);
    g_assert_cmpuint(s->ier, ==, ier);
    g_assert_cmpmem(s->rx_fifo, sizeof(fifo), fifo, sizeof(fifo));
    g_assert_true(io_bus_read(&f->pcms->pio, COM1 + 5, 1, &v));
    g_assert_cmphex(v & 0x01, ==, 0x01);            /* data ready */
    for (size_t i = 0; i < strlen(msg); i++) {
        g_assert_true(io_bus_read(&f->pcms->pio, COM1, 1, &v));
        g_assert_cmpint(v, ==, msg[i]);
    }
    g_assert_cmpuint(s->rx_count, ==, 0);
}

/* A serial section whose FIFO count exceeds what the FIFO mode allows is
 * refused and the UART keeps its state. */
static void test_serial_invalid(Fixture *f, gconstpointer data)
{
    SerialState *s = f->pcms->serial[0];
    g_autoptr(GBytes) blob = NULL;
    g_autofree uint8_t *bad = NULL;
    static const uint8_t hdr[] = { 6, 's', 'e', 'r', 'i', 'a', 'l',
                                   0, 0, 0, 0, 0, 0, 0, 1 };
    Error *err = NULL;
    const void *p;
    size_t len, off = 0;
    uint8_t scr;

    g_assert_true(io_bus_write(&f->pcms->pio, COM1 + 7, 1, 0x5a));
    blob = save_devices();
    p = g_bytes_get_data(blob, &len);
    bad = g_memdup2(p, len);
    for (size_t i = 0; i + sizeof(hdr) <= len; i++) {
        if (!memcmp(bad + i, hdr, sizeof(hdr))) {
            off = i + sizeof(hdr) + 4;      /* + chunk length */
            break;
        }
    }
    g_assert_cmpuint(off, !=, 0);
    /* divisor(2) ier lcr mcr lsr msr scr fcr fifo(16) head count thr */
    bad[off + 7] = 0x33;                        /* scr */
    bad[off + 8] = 0x00;                        /* fcr: FIFO off */
    bad[off + 8 + 16 + 2] = 5;                  /* rx_count */
    scr = s->scr;
    g_assert_false(load_devices(bad, len, &err));
    g_test_message("error: %s", error_get_pretty(err));
    g_assert_nonnull(strstr(error_get_pretty(err), "rx_count 5 exceeds"));
    g_clear_pointer(&err, error_free);
    g_assert_cmpuint(s->scr, ==, scr);          /* not half-loaded */
    bad[off + 8 + 16 + 2] = 17;
    g_assert_false(load_devices(bad, len, &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "vmstate 'serial' field 'rx_count': value 17 "
                            "exceeds 16"));
    error_free(err);
    g_assert_cmpuint(s->scr, ==, scr);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_add_kvm("/device-state/load-and-resume", Fixture, NULL,
               fixture_setup, test_load_and_resume, fixture_teardown);
    test_add_kvm("/device-state/load-overwrites", Fixture, NULL,
               fixture_setup, test_load_overwrites, fixture_teardown);
    test_add_kvm("/device-state/corrupt", Fixture, NULL,
               fixture_setup, test_corrupt, fixture_teardown);
    test_add_kvm("/device-state/serial-fifo", Fixture, NULL,
               fixture_setup, test_serial_fifo, fixture_teardown);
    test_add_kvm("/device-state/serial-invalid", Fixture, NULL,
               fixture_setup, test_serial_invalid, fixture_teardown);
    return g_test_run();
}
