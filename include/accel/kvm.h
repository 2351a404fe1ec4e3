/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM accelerator: one VM, its memory slots, the in-kernel irqchip and
 * PIT, vCPU file descriptors, and dirty tracking.
 *
 * Dirty tracking has two interchangeable back ends:
 *   - the dirty log with manual protect (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2):
 *     kvm_dirty_sync() fetches each slot's bitmap with KVM_GET_DIRTY_LOG,
 *     ORs it into RamBlock.dirty, then re-protects exactly those pages with
 *     KVM_CLEAR_DIRTY_LOG;
 *   - the dirty ring (KVM_CAP_DIRTY_LOG_RING, -accel kvm,dirty-ring-size=N):
 *     each vCPU publishes dirty GFNs in a ring shared with us;
 *     kvm_dirty_sync() walks the rings, sets bits, and resets them with
 *     KVM_RESET_DIRTY_RINGS. A vCPU whose ring fills exits with
 *     KVM_EXIT_DIRTY_RING_FULL and harvests its own ring.
 * Either way the result lands in the same per-block bitmap next to the
 * pages our own code dirtied (system/memory.h). Logging starts with no page
 * dirty; a consumer that wants everything (migration's first pass) marks it.
 *
 * Lock rule: dirty_lock serialises ring harvesting between the main thread
 * and vCPU threads. The slot table (logging on/off) is changed by one
 * thread at a time with the vCPUs paused or not yet running: under the
 * BQL, or by the migration thread at switchover, when it owns the stopped
 * guest (run state finish-migrate) and holds no lock.
 */
#ifndef ACCEL_KVM_H
#define ACCEL_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "system/ioport.h"
#include "system/memory.h"
#include "util/error.h"

typedef enum KvmDirtyMode {
    KVM_DIRTY_NONE,     /* logging off */
    KVM_DIRTY_LOG,      /* bitmap with manual protect */
    KVM_DIRTY_RING,
} KvmDirtyMode;

typedef struct KvmOptions {
    uint32_t dirty_ring_size;   /* entries per vCPU, 0 = use the bitmap */
} KvmOptions;

typedef struct KvmState {
    int kvm_fd;             /* /dev/kvm */
    int vm_fd;
    size_t vcpu_mmap_size;
    int max_vcpus;
    int nr_slots;
    bool manual_protect;    /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled */
    uint32_t dirty_ring_entries;    /* 0 unless the ring is in use */
    bool dirty_logging;     /* KVM_MEM_LOG_DIRTY_PAGES set on the slots */
    GuestMemory *mem;       /* blocks registered as slots */
    struct kvm_cpuid2 *supported_cpuid;
    struct kvm_msr_list *msr_list;  /* MSRs this KVM can save/restore */
    pthread_mutex_t dirty_lock;
    /* vCPU dirty rings, indexed by vCPU, for harvesting from any thread */
    struct KvmVcpu **vcpus;
    unsigned nr_vcpus;
} KvmState;

typedef struct KvmVcpu {
    KvmState *kvm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    struct kvm_dirty_gfn *dirty_gfns;   /* NULL without the ring */
    uint32_t dirty_gfn_next;            /* next ring slot to look at */
    uint64_t dirty_gfns_harvested;      /* ring entries taken, ever
                                           (dirty_lock): calc-dirty-rate */
} KvmVcpu;

/* Opens /dev/kvm, creates the VM, checks the capabilities we rely on. */
bool kvm_init(KvmState *s, const KvmOptions *opts, Error **errp);
void kvm_destroy(KvmState *s);
/* In-kernel PIC + IOAPIC + LAPIC, and the PIT. */
bool kvm_create_irqchip(KvmState *s, Error **errp);
bool kvm_set_irq_line(KvmState *s, unsigned gsi, bool level);
/* Registers every block of mem as a slot; remembers mem for syncing. */
bool kvm_register_memory(KvmState *s, GuestMemory *mem, Error **errp);

bool kvm_vcpu_create(KvmState *s, unsigned index, KvmVcpu *vcpu,
                     Error **errp);
void kvm_vcpu_destroy(KvmVcpu *vcpu);

/* Dirty tracking (accel/kvm/kvm-dirty.c). */
bool kvm_dirty_log_start(KvmState *s, Error **errp);
bool kvm_dirty_log_stop(KvmState *s, Error **errp);
/* Merges everything KVM knows into RamBlock.dirty and re-arms tracking. */
bool kvm_dirty_sync(KvmState *s, Error **errp);
/* Called by a vCPU thread on KVM_EXIT_DIRTY_RING_FULL. */
void kvm_dirty_ring_harvest_vcpu(KvmVcpu *vcpu);
KvmDirtyMode kvm_dirty_mode(const KvmState *s);
/* Ring entries harvested from vCPU index so far (0 without a ring or
 * such a vCPU): calc-dirty-rate's per-vCPU figures. Any thread. */
uint64_t kvm_dirty_ring_vcpu_harvested(KvmState *s, unsigned index);

/* kvmclock (VM-wide), for migration. */
bool kvm_get_clock(KvmState *s, struct kvm_clock_data *data, Error **errp);
bool kvm_set_clock(KvmState *s, const struct kvm_clock_data *data,
                   Error **errp);

int kvm_check_extension(KvmState *s, unsigned cap);

#endif
