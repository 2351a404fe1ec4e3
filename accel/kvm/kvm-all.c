/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VM-level KVM: opening the device, creating the VM, the irqchip and PIT,
 * memory slots and vCPU file descriptors. Every ioctl failure becomes an
 * Error that names the operation, because "KVM said EINVAL" alone tells an
 * operator nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvm-internal.h"
#include "trace.h"

/* Where KVM keeps its real-mode TSS and identity page table on Intel
 * hosts: just below the BIOS, reserved in the e820 map. */
#define KVM_TSS_ADDR            0xfeffd000ULL
#define KVM_IDENTITY_MAP_ADDR   0xfeffc000ULL

int kvm_check_extension(KvmState *s, unsigned cap)
{
    int r = ioctl(s->vm_fd >= 0 ? s->vm_fd : s->kvm_fd,
                  KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

static bool kvm_require_cap(KvmState *s, unsigned cap, const char *name,
                            Error **errp)
{
    if (!kvm_check_extension(s, cap)) {
        error_set(errp, ERROR_CLASS_KVM_MISSING_CAP,
                  "KVM lacks capability %s, which Tandem needs", name);
        return false;
    }
    return true;
}

static struct kvm_cpuid2 *kvm_fetch_supported_cpuid(KvmState *s,
                                                    Error **errp)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) +
                                         n * sizeof(struct kvm_cpuid_entry2));
        c->nent = n;
        if (ioctl(s->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            return c;
        }
        g_free(c);
        if (errno != E2BIG) {
            break;
        }
    }
    error_setg_errno(errp, errno, "KVM_GET_SUPPORTED_CPUID failed");
    return NULL;
}

static struct kvm_msr_list *kvm_fetch_msr_list(KvmState *s, Error **errp)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    struct kvm_msr_list *list;

    if (ioctl(s->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 &&
        errno != E2BIG) {
        error_setg_errno(errp, errno, "KVM_GET_MSR_INDEX_LIST failed");
        return NULL;
    }
    list = g_malloc0(sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
    list->nmsrs = probe.nmsrs;
    if (ioctl(s->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_MSR_INDEX_LIST failed");
        g_free(list);
        return NULL;
    }
    return list;
}

static bool kvm_enable_cap(KvmState *s, unsigned cap, uint64_t arg0,
                           Error **errp)
{
    struct kvm_enable_cap ec = { .cap = cap, .args = { arg0 } };

    if (ioctl(s->vm_fd, KVM_ENABLE_CAP, &ec) < 0) {
        error_setg_errno(errp, errno, "cannot enable KVM capability %u", cap);
        return false;
    }
    return true;
}

static bool kvm_setup_dirty_tracking(KvmState *s, const KvmOptions *opts,
                                     Error **errp)
{
    if (opts->dirty_ring_size) {
        uint32_t bytes = opts->dirty_ring_size * sizeof(struct kvm_dirty_gfn);
        int max_bytes = kvm_check_extension(s, KVM_CAP_DIRTY_LOG_RING);

        if (!max_bytes) {
            error_set(errp, ERROR_CLASS_KVM_MISSING_CAP,
                      "dirty-ring-size: this KVM has no dirty ring");
            return false;
        }
        if (opts->dirty_ring_size & (opts->dirty_ring_size - 1) ||
            bytes > (uint32_t)max_bytes || opts->dirty_ring_size < 1024) {
            error_setg(errp, "dirty-ring-size must be a power of two between "
                       "1024 and %u", max_bytes / (int)sizeof(struct kvm_dirty_gfn));
            return false;
        }
        if (!kvm_enable_cap(s, KVM_CAP_DIRTY_LOG_RING, bytes, errp)) {
            return false;
        }
        s->dirty_ring_entries = opts->dirty_ring_size;
        return true;
    }

    int modes = kvm_check_extension(s, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    if (!(modes & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
        error_set(errp, ERROR_CLASS_KVM_MISSING_CAP,
                  "KVM lacks KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
        return false;
    }
    /* Not INITIALLY_SET: starting to log means "nothing dirty yet". */
    if (!kvm_enable_cap(s, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
                        KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, errp)) {
        return false;
    }
    s->manual_protect = true;
    return true;
}

bool kvm_init(KvmState *s, const KvmOptions *opts, Error **errp)
{
    int version;

    memset(s, 0, sizeof(*s));
    s->vm_fd = -1;
    pthread_mutex_init(&s->dirty_lock, NULL);

    s->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (s->kvm_fd < 0) {
        error_setg_errno(errp, errno, "Could not access KVM kernel module "
                         "(/dev/kvm)");
        return false;
    }
    version = ioctl(s->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        error_setg(errp, "KVM API version %d, expected %d", version,
                   KVM_API_VERSION);
        goto fail;
    }
    do {
        s->vm_fd = ioctl(s->kvm_fd, KVM_CREATE_VM, 0);
    } while (s->vm_fd < 0 && errno == EINTR);
    if (s->vm_fd < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_VM failed");
        goto fail;
    }
    if (!kvm_require_cap(s, KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT", errp) ||
        !kvm_require_cap(s, KVM_CAP_IRQCHIP, "IRQCHIP", errp) ||
        !kvm_require_cap(s, KVM_CAP_PIT2, "PIT2", errp) ||
        !kvm_require_cap(s, KVM_CAP_USER_MEMORY, "USER_MEMORY", errp) ||
        !kvm_require_cap(s, KVM_CAP_VCPU_EVENTS, "VCPU_EVENTS", errp) ||
        !kvm_require_cap(s, KVM_CAP_XSAVE, "XSAVE", errp) ||
        !kvm_require_cap(s, KVM_CAP_XCRS, "XCRS", errp) ||
        !kvm_require_cap(s, KVM_CAP_DEBUGREGS, "DEBUGREGS", errp) ||
        !kvm_require_cap(s, KVM_CAP_ADJUST_CLOCK, "ADJUST_CLOCK", errp)) {
        goto fail;
    }
    s->vcpu_mmap_size = ioctl(s->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    s->max_vcpus = kvm_check_extension(s, KVM_CAP_MAX_VCPUS);
    if (s->max_vcpus <= 0) {
        s->max_vcpus = kvm_check_extension(s, KVM_CAP_NR_VCPUS);
    }
    s->nr_slots = kvm_check_extension(s, KVM_CAP_NR_MEMSLOTS);
    if (s->nr_slots <= 0) {
        s->nr_slots = 32;
    }
    s->supported_cpuid = kvm_fetch_supported_cpuid(s, errp);
    if (!s->supported_cpuid) {
        goto fail;
    }
    s->msr_list = kvm_fetch_msr_list(s, errp);
    if (!s->msr_list) {
        goto fail;
    }
    /* Only VMX needs these; PVM and SVM may refuse them harmlessly. */
    if (ioctl(s->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
        trace_kvm_optional_ioctl_failed("KVM_SET_TSS_ADDR", errno);
    }
    uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
    if (kvm_check_extension(s, KVM_CAP_SET_IDENTITY_MAP_ADDR) &&
        ioctl(s->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
        trace_kvm_optional_ioctl_failed("KVM_SET_IDENTITY_MAP_ADDR", errno);
    }
    if (!kvm_setup_dirty_tracking(s, opts, errp)) {
        goto fail;
    }
    trace_kvm_init(s->max_vcpus, s->nr_slots, s->dirty_ring_entries);
    return true;

fail:
    kvm_destroy(s);
    return false;
}

void kvm_destroy(KvmState *s)
{
    if (s->vm_fd >= 0) {
        close(s->vm_fd);
    }
    if (s->kvm_fd >= 0) {
        close(s->kvm_fd);
    }
    g_free(s->supported_cpuid);
    g_free(s->msr_list);
    g_free(s->vcpus);
    s->vm_fd = s->kvm_fd = -1;
    s->supported_cpuid = NULL;
    s->msr_list = NULL;
    s->vcpus = NULL;
}

bool kvm_create_irqchip(KvmState *s, Error **errp)
{
    struct kvm_pit_config pit = { .flags = 0 };

    if (ioctl(s->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_IRQCHIP failed");
        return false;
    }
    if (ioctl(s->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        error_setg_errno(errp, errno, "KVM_CREATE_PIT2 failed");
        return false;
    }
    return true;
}

bool kvm_set_irq_line(KvmState *s, unsigned gsi, bool level)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level };

    trace_kvm_set_irq_line(gsi, level);
    return ioctl(s->vm_fd, KVM_IRQ_LINE, &irq) == 0;
}

bool kvm_set_slot(KvmState *s, RamBlock *b, uint32_t flags, Error **errp)
{
    struct kvm_userspace_memory_region region = {
        .slot = b->kvm_slot,
        .flags = flags,
        .guest_phys_addr = b->gpa,
        .memory_size = b->size,
        .userspace_addr = (uintptr_t)b->host,
    };

    if (ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        error_setg_errno(errp, errno, "cannot map %s (slot %d) into the VM",
                         b->name, b->kvm_slot);
        return false;
    }
    trace_kvm_set_slot(b->kvm_slot, b->gpa, b->size, flags);
    return true;
}

bool kvm_register_memory(KvmState *s, GuestMemory *mem, Error **errp)
{
    if ((int)mem->nr_blocks > s->nr_slots) {
        error_setg(errp, "%u RAM blocks exceed KVM's %d memory slots",
                   mem->nr_blocks, s->nr_slots);
        return false;
    }
    s->mem = mem;
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        mem->blocks[i].kvm_slot = i;
        if (!kvm_set_slot(s, &mem->blocks[i], 0, errp)) {
            return false;
        }
    }
    return true;
}

bool kvm_vcpu_create(KvmState *s, unsigned index, KvmVcpu *vcpu,
                     Error **errp)
{
    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->kvm = s;
    vcpu->index = index;
    vcpu->fd = ioctl(s->vm_fd, KVM_CREATE_VCPU, index);
    if (vcpu->fd < 0) {
        error_setg_errno(errp, errno, "cannot create vCPU %u", index);
        return false;
    }
    vcpu->run = mmap(NULL, s->vcpu_mmap_size, PROT_READ | PROT_WRITE,
                     MAP_SHARED, vcpu->fd, 0);
    if (vcpu->run == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot map kvm_run of vCPU %u", index);
        close(vcpu->fd);
        return false;
    }
    if (s->dirty_ring_entries) {
        size_t bytes = s->dirty_ring_entries * sizeof(struct kvm_dirty_gfn);
        vcpu->dirty_gfns = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                MAP_SHARED, vcpu->fd,
                                KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
        if (vcpu->dirty_gfns == MAP_FAILED) {
            error_setg_errno(errp, errno, "cannot map the dirty ring of "
                             "vCPU %u", index);
            munmap(vcpu->run, s->vcpu_mmap_size);
            close(vcpu->fd);
            return false;
        }
    }
    pthread_mutex_lock(&s->dirty_lock);
    if (index >= s->nr_vcpus) {
        s->vcpus = g_renew(KvmVcpu *, s->vcpus, index + 1);
        for (unsigned i = s->nr_vcpus; i <= index; i++) {
            s->vcpus[i] = NULL;
        }
        s->nr_vcpus = index + 1;
    }
    s->vcpus[index] = vcpu;
    pthread_mutex_unlock(&s->dirty_lock);
    trace_kvm_vcpu_create(index, vcpu->fd);
    return true;
}

void kvm_vcpu_destroy(KvmVcpu *vcpu)
{
    KvmState *s = vcpu->kvm;

    pthread_mutex_lock(&s->dirty_lock);
    s->vcpus[vcpu->index] = NULL;
    pthread_mutex_unlock(&s->dirty_lock);
    if (vcpu->dirty_gfns) {
        munmap(vcpu->dirty_gfns,
               s->dirty_ring_entries * sizeof(struct kvm_dirty_gfn));
    }
    munmap(vcpu->run, s->vcpu_mmap_size);
    close(vcpu->fd);
}

bool kvm_get_clock(KvmState *s, struct kvm_clock_data *data, Error **errp)
{
    memset(data, 0, sizeof(*data));
    if (ioctl(s->vm_fd, KVM_GET_CLOCK, data) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_CLOCK failed");
        return false;
    }
    return true;
}

bool kvm_set_clock(KvmState *s, const struct kvm_clock_data *data,
                   Error **errp)
{
    struct kvm_clock_data d = { .clock = data->clock };

    if (ioctl(s->vm_fd, KVM_SET_CLOCK, &d) < 0) {
        error_setg_errno(errp, errno, "KVM_SET_CLOCK failed");
        return false;
    }
    return true;
}
