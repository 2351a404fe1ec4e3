/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vCPU threads: the KVM_RUN loop, exit dispatch, and parking. The pause
 * protocol is described in include/system/cpus.h. A vCPU that hits
 * something only the main loop can handle (a reset, an internal error, a
 * debug-exit) posts a request and parks itself, so it never runs guest
 * code past the event.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "system/cpus.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "trace.h"

#define SIG_IPI SIGUSR1

typedef struct Cpus {
    CpusConfig cfg;
    CPUState *cpu;          /* array of cfg.nr_cpus */
    pthread_cond_t parked;  /* broadcast when a vCPU parks */
    /* -accel qtest: vCPUs shown as objects only (no fd, no thread). */
    unsigned objects_only;
} Cpus;

static Cpus cpus;
static __thread CPUState *current_cpu;

CPUState *cpus_current(void)
{
    return current_cpu;
}

unsigned cpus_count(void)
{
    return cpus.cfg.nr_cpus;
}

CPUState *cpus_get(unsigned index)
{
    return index < cpus.cfg.nr_cpus ? &cpus.cpu[index] : NULL;
}

void cpus_set_objects_only(unsigned nr_cpus)
{
    cpus.objects_only = nr_cpus;
}

unsigned cpus_shown_count(void)
{
    return cpus.cfg.nr_cpus ? cpus.cfg.nr_cpus : cpus.objects_only;
}

int cpus_shown_thread_id(unsigned index)
{
    if (index < cpus.cfg.nr_cpus) {
        return cpus.cpu[index].thread_id;
    }
    return getpid();
}

static void sig_ipi_handler(int sig)
{
    /* Only here to interrupt KVM_RUN with EINTR. */
}

static void cpu_kick(CPUState *cpu)
{
    __atomic_store_n(&cpu->kvm.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (cpu->thread_started) {
        pthread_kill(cpu->thread, SIG_IPI);
    }
}

/* Waits with the BQL dropped until asked to run again. */
static void cpu_park(CPUState *cpu)
{
    cpu->stopped = true;
    trace_cpu_park(cpu->index);
    pthread_cond_broadcast(&cpus.parked);
    while (cpu->stop && !cpu->exit) {
        bql_cond_wait(&cpu->wake);
    }
    cpu->stopped = false;
    trace_cpu_unpark(cpu->index);
}

/* Stops this vCPU until the main loop has dealt with what it asked for. */
static void cpu_stop_self(CPUState *cpu)
{
    cpu->stop = true;
}

static void cpu_handle_io(CPUState *cpu)
{
    struct kvm_run *run = cpu->kvm.run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    unsigned size = run->io.size;

    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint64_t value = 0;

        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&value, data, size);
            io_bus_write(cpus.cfg.pio, run->io.port, size, value);
        } else {
            io_bus_read(cpus.cfg.pio, run->io.port, size, &value);
            memcpy(data, &value, size);
        }
    }
}

static void cpu_handle_mmio(CPUState *cpu)
{
    struct kvm_run *run = cpu->kvm.run;
    unsigned len = MIN(run->mmio.len, 8u);
    uint64_t value = 0;

    if (run->mmio.is_write) {
        memcpy(&value, run->mmio.data, len);
        io_bus_write(cpus.cfg.mmio, run->mmio.phys_addr, len, value);
    } else {
        io_bus_read(cpus.cfg.mmio, run->mmio.phys_addr, len, &value);
        memcpy(run->mmio.data, &value, len);
    }
}

static const char *kvm_internal_suberror_name(uint32_t suberror)
{
    switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "simultaneous exceptions";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failure";
    default: return "unknown";
    }
}

/* The guest cannot continue: say why, keep its state for inspection. */
static void cpu_internal_error(CPUState *cpu, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
static void cpu_internal_error(CPUState *cpu, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("%s", msg);
    x86_cpu_dump_state(&cpu->kvm);
    vm_stop_request(RUN_STATE_INTERNAL_ERROR);
    cpu_stop_self(cpu);
}

static void cpu_handle_internal_error(CPUState *cpu)
{
    struct kvm_run *run = cpu->kvm.run;
    GString *extra = g_string_new(NULL);

    for (uint32_t i = 0; i < run->internal.ndata && i < 16; i++) {
        g_string_append_printf(extra, " 0x%llx",
                               (unsigned long long)run->internal.data[i]);
    }
    cpu_internal_error(cpu, "KVM internal error. Suberror: %u (%s) on vCPU "
                       "%u; extra data:%s", run->internal.suberror,
                       kvm_internal_suberror_name(run->internal.suberror),
                       cpu->index, extra->len ? extra->str : " none");
    g_string_free(extra, TRUE);
}

static void cpu_handle_system_event(CPUState *cpu)
{
    switch (cpu->kvm.run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case KVM_SYSTEM_EVENT_CRASH:
        error_report("guest reported a crash on vCPU %u", cpu->index);
        vm_stop_request(RUN_STATE_GUEST_PANICKED);
        break;
    default:
        break;
    }
    cpu_stop_self(cpu);
}

static void cpu_handle_exit(CPUState *cpu)
{
    struct kvm_run *run = cpu->kvm.run;

    trace_cpu_exit(cpu->index, run->exit_reason);
    cpu->exit_incomplete = run->exit_reason == KVM_EXIT_IO ||
                           run->exit_reason == KVM_EXIT_MMIO;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        cpu_handle_io(cpu);
        break;
    case KVM_EXIT_MMIO:
        cpu_handle_mmio(cpu);
        break;
    case KVM_EXIT_INTR:
    case KVM_EXIT_HLT:      /* in-kernel irqchip: only on a kick */
        break;
    case KVM_EXIT_SHUTDOWN:
        /* A triple fault: a PC resets. */
        trace_cpu_triple_fault(cpu->index);
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        cpu_stop_self(cpu);
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        cpu_handle_system_event(cpu);
        break;
    case KVM_EXIT_DIRTY_RING_FULL:
        kvm_dirty_ring_harvest_vcpu(&cpu->kvm);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        cpu_handle_internal_error(cpu);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        cpu_internal_error(cpu, "KVM: entry failed on vCPU %u, hardware error "
                           "0x%llx", cpu->index, (unsigned long long)
                           run->fail_entry.hardware_entry_failure_reason);
        break;
    default:
        cpu_internal_error(cpu, "KVM: unhandled exit reason %u on vCPU %u",
                           run->exit_reason, cpu->index);
        break;
    }
}

/*
 * KVM finishes an I/O or MMIO exit (the instruction retired, IN data in
 * its register) only in the next KVM_RUN. A vCPU parked before that would
 * be saved (migration, COLO) with the instruction half done, and replay
 * its OUT on the destination; or have a COLO checkpoint loaded under the
 * leftover I/O. The KVM API's answer: KVM_RUN with immediate_exit set,
 * which completes what is pending and returns without running the guest.
 * BQL held; dropped around the ioctl.
 */
static void cpu_complete_exit(CPUState *cpu)
{
    int r;

    cpu->exit_incomplete = false;
    __atomic_store_n(&cpu->kvm.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    bql_unlock();
    r = ioctl(cpu->kvm.fd, KVM_RUN, 0);
    bql_lock();
    trace_cpu_complete_exit(cpu->index, r < 0 ? -errno : r);
    /* EINTR is the normal answer; a real exit is handled as any other. */
    if (r == 0) {
        cpu_handle_exit(cpu);
    }
}

static void *cpu_thread_fn(void *opaque)
{
    CPUState *cpu = opaque;
    sigset_t set;

    current_cpu = cpu;
    __atomic_store_n(&cpu->thread_id, (int)gettid(), __ATOMIC_RELEASE);
    if (cpus.cfg.debug_threads) {
        char name[16];
        snprintf(name, sizeof(name), "CPU %u/KVM", cpu->index);
        pthread_setname_np(pthread_self(), name);
    }
    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    bql_lock();
    while (!cpu->exit) {
        int r, err;

        if (cpu->stop && cpu->exit_incomplete) {
            cpu_complete_exit(cpu);
            continue;
        }
        if (cpu->stop) {
            cpu_park(cpu);
            continue;
        }
        /* No stop pending and we hold the BQL: nobody is kicking us. */
        cpu->kvm.run->immediate_exit = 0;
        cpu->exit_incomplete = false;   /* this KVM_RUN completes it */
        bql_unlock();
        r = ioctl(cpu->kvm.fd, KVM_RUN, 0);
        err = errno;
        bql_lock();
        if (r < 0) {
            if (err == EINTR || err == EAGAIN) {
                continue;
            }
            cpu_internal_error(cpu, "KVM_RUN failed on vCPU %u: %s",
                               cpu->index, g_strerror(err));
            continue;
        }
        cpu_handle_exit(cpu);
    }
    cpu->stopped = true;
    pthread_cond_broadcast(&cpus.parked);
    bql_unlock();
    return NULL;
}

static bool cpus_install_signal(Error **errp)
{
    struct sigaction sa = { .sa_handler = sig_ipi_handler };
    sigset_t set;

    sigemptyset(&sa.sa_mask);
    if (sigaction(SIG_IPI, &sa, NULL) < 0) {
        error_setg_errno(errp, errno, "cannot install the vCPU kick signal");
        return false;
    }
    /* Only vCPU threads take SIG_IPI; they unblock it themselves. */
    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return true;
}

static bool cpu_init_one(CPUState *cpu, unsigned index, Error **errp)
{
    cpu->index = index;
    cpu->stop = true;
    pthread_cond_init(&cpu->wake, NULL);
    if (!kvm_vcpu_create(cpus.cfg.kvm, index, &cpu->kvm, errp) ||
        !x86_cpu_setup_cpuid(&cpu->kvm, cpus.cfg.nr_cpus, errp)) {
        return false;
    }
    cpu->reset_state = x86_cpu_state_new(cpus.cfg.kvm);
    return x86_cpu_get_state(&cpu->kvm, cpu->reset_state, errp);
}

bool cpus_create(const CpusConfig *cfg, Error **errp)
{
    g_assert(bql_locked());
    if ((int)cfg->nr_cpus > cfg->kvm->max_vcpus) {
        error_setg(errp, "Number of SMP CPUs requested (%u) exceeds the "
                   "maximum supported by KVM (%d)", cfg->nr_cpus,
                   cfg->kvm->max_vcpus);
        return false;
    }
    if (!cpus_install_signal(errp)) {
        return false;
    }
    cpus.cfg = *cfg;
    cpus.cpu = g_new0(CPUState, cfg->nr_cpus);
    pthread_cond_init(&cpus.parked, NULL);
    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        if (!cpu_init_one(&cpus.cpu[i], i, errp)) {
            cpus.cfg.nr_cpus = i;   /* destroy only what exists */
            return false;
        }
    }
    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        CPUState *cpu = &cpus.cpu[i];
        int err = pthread_create(&cpu->thread, NULL, cpu_thread_fn, cpu);
        if (err) {
            error_setg_errno(errp, err, "cannot start the thread of vCPU %u",
                             i);
            return false;
        }
        cpu->thread_started = true;
    }
    /* Threads start parked; wait so that pause/resume see a settled state. */
    cpus_pause_all();
    return true;
}

void cpus_pause_all(void)
{
    bool all;

    g_assert(bql_locked() && !current_cpu);
    for (unsigned i = 0; i < cpus.cfg.nr_cpus; i++) {
        cpus.cpu[i].stop = true;
        cpu_kick(&cpus.cpu[i]);
    }
    do {
        all = true;
        for (unsigned i = 0; i < cpus.cfg.nr_cpus; i++) {
            all &= !cpus.cpu[i].thread_started || cpus.cpu[i].stopped;
        }
        if (!all) {
            bql_cond_wait(&cpus.parked);
        }
    } while (!all);
    trace_cpus_paused(cpus.cfg.nr_cpus);
}

void cpus_resume_all(void)
{
    g_assert(bql_locked());
    for (unsigned i = 0; i < cpus.cfg.nr_cpus; i++) {
        cpus.cpu[i].stop = false;
        pthread_cond_signal(&cpus.cpu[i].wake);
    }
    trace_cpus_resumed(cpus.cfg.nr_cpus);
}

bool cpus_reset_all(Error **errp)
{
    for (unsigned i = 0; i < cpus.cfg.nr_cpus; i++) {
        CPUState *cpu = &cpus.cpu[i];
        if (!x86_cpu_put_state(&cpu->kvm, cpu->reset_state, errp)) {
            return false;
        }
    }
    return true;
}

void cpus_destroy(void)
{
    g_assert(bql_locked());
    for (unsigned i = 0; i < cpus.cfg.nr_cpus; i++) {
        CPUState *cpu = &cpus.cpu[i];
        cpu->exit = true;
        cpu_kick(cpu);
        pthread_cond_signal(&cpu->wake);
    }
    for (unsigned i = 0; i < cpus.cfg.nr_cpus; i++) {
        CPUState *cpu = &cpus.cpu[i];
        if (cpu->thread_started) {
            bql_unlock();
            pthread_join(cpu->thread, NULL);
            bql_lock();
        }
        x86_cpu_state_free(cpu->reset_state);
        kvm_vcpu_destroy(&cpu->kvm);
    }
    g_free(cpus.cpu);
    cpus.cpu = NULL;
    cpus.cfg.nr_cpus = 0;
}
