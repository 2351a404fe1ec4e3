/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty page tracking: turning KVM's log on and off for every slot, and
 * harvesting it into RamBlock.dirty, from the bitmap (manual protect) or
 * from the per-vCPU dirty rings. See accel/kvm.h for the two modes.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"
#include "util/bitmap.h"
#include "trace.h"

KvmDirtyMode kvm_dirty_mode(const KvmState *s)
{
    if (!s->dirty_logging) {
        return KVM_DIRTY_NONE;
    }
    return s->dirty_ring_entries ? KVM_DIRTY_RING : KVM_DIRTY_LOG;
}

static bool kvm_dirty_set_flags(KvmState *s, uint32_t flags, Error **errp)
{
    for (unsigned i = 0; s->mem && i < s->mem->nr_blocks; i++) {
        if (!kvm_set_slot(s, &s->mem->blocks[i], flags, errp)) {
            return false;
        }
    }
    return true;
}

bool kvm_dirty_log_start(KvmState *s, Error **errp)
{
    if (s->dirty_logging) {
        return true;
    }
    if (!kvm_dirty_set_flags(s, KVM_MEM_LOG_DIRTY_PAGES, errp)) {
        kvm_dirty_set_flags(s, 0, NULL);
        return false;
    }
    s->dirty_logging = true;
    trace_kvm_dirty_log_start(s->dirty_ring_entries ? "ring" : "bitmap");
    return true;
}

bool kvm_dirty_log_stop(KvmState *s, Error **errp)
{
    if (!s->dirty_logging) {
        return true;
    }
    /* Pages dirtied since the last sync must not be lost by stopping. */
    if (!kvm_dirty_sync(s, errp)) {
        return false;
    }
    if (!kvm_dirty_set_flags(s, 0, errp)) {
        return false;
    }
    s->dirty_logging = false;
    trace_kvm_dirty_log_stop();
    return true;
}

/*
 * Bitmap mode: fetch the slot's log, merge it, and write-protect again only
 * the pages that were dirty. KVM_CLEAR_DIRTY_LOG wants 64-page aligned
 * ranges, so clear the whole slot's bitmap in one call (bits that are 0
 * are no-ops), which also keeps it to two ioctls per slot.
 */
static bool kvm_dirty_sync_slot(KvmState *s, RamBlock *b,
                                unsigned long *scratch, Error **errp)
{
    size_t npages = b->size >> GUEST_PAGE_SHIFT;
    struct kvm_dirty_log log = {
        .slot = b->kvm_slot,
        .dirty_bitmap = scratch,
    };
    struct kvm_clear_dirty_log clear = {
        .slot = b->kvm_slot,
        .first_page = 0,
        .num_pages = npages,
        .dirty_bitmap = scratch,
    };
    size_t count;

    if (ioctl(s->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
        error_setg_errno(errp, errno, "KVM_GET_DIRTY_LOG failed for %s",
                         b->name);
        return false;
    }
    if (bitmap_empty(scratch, npages)) {
        return true;
    }
    count = bitmap_count_one(scratch, npages);
    if (ioctl(s->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0) {
        error_setg_errno(errp, errno, "KVM_CLEAR_DIRTY_LOG failed for %s",
                         b->name);
        return false;
    }
    /* Atomic OR: device writes may set bits in b->dirty concurrently. */
    for (size_t w = 0; w < BITS_TO_LONGS(npages); w++) {
        if (scratch[w]) {
            __atomic_fetch_or(&b->dirty[w], scratch[w], __ATOMIC_RELAXED);
        }
    }
    trace_kvm_dirty_sync_slot(b->name, count);
    return true;
}

static bool kvm_dirty_mark_gfn(KvmState *s, uint32_t slot, uint64_t offset)
{
    RamBlock *b;

    if (!s->mem || slot >= s->mem->nr_blocks) {
        return false;
    }
    b = &s->mem->blocks[slot];
    if (offset >= (b->size >> GUEST_PAGE_SHIFT)) {
        return false;
    }
    set_bit_atomic(offset, b->dirty);
    return true;
}

/*
 * Ring mode: entries the kernel published have KVM_DIRTY_GFN_F_DIRTY; we
 * record them and flag them for reset. The acquire load pairs with the
 * kernel's release store of the flags. Call with dirty_lock held.
 */
static uint32_t kvm_dirty_ring_harvest_locked(KvmVcpu *vcpu)
{
    KvmState *s = vcpu->kvm;
    uint32_t harvested = 0;

    for (;;) {
        struct kvm_dirty_gfn *e =
            &vcpu->dirty_gfns[vcpu->dirty_gfn_next % s->dirty_ring_entries];
        uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

        if (!(flags & KVM_DIRTY_GFN_F_DIRTY)) {
            break;
        }
        if (!kvm_dirty_mark_gfn(s, e->slot, e->offset)) {
            trace_kvm_dirty_ring_bad_entry(vcpu->index, e->slot, e->offset);
        }
        __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
        vcpu->dirty_gfn_next++;
        harvested++;
    }
    vcpu->dirty_gfns_harvested += harvested;
    return harvested;
}

uint64_t kvm_dirty_ring_vcpu_harvested(KvmState *s, unsigned index)
{
    uint64_t n = 0;

    pthread_mutex_lock(&s->dirty_lock);
    if (s->dirty_ring_entries && index < s->nr_vcpus && s->vcpus[index]) {
        n = s->vcpus[index]->dirty_gfns_harvested;
    }
    pthread_mutex_unlock(&s->dirty_lock);
    return n;
}

/*
 * The kernel abandons a reset when a signal is pending (a vCPU kick, say)
 * and returns EINTR with only part of the flagged entries reset. The rest
 * keep the ring full, and no later harvest would find anything new to
 * trigger another reset: the vCPU would exit with DIRTY_RING_FULL forever.
 * So retry until the kernel has taken them all.
 */
static void kvm_dirty_ring_reset_locked(KvmState *s, bool needed)
{
    int r;

    if (!needed) {
        return;
    }
    do {
        r = ioctl(s->vm_fd, KVM_RESET_DIRTY_RINGS, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        trace_kvm_optional_ioctl_failed("KVM_RESET_DIRTY_RINGS", errno);
    }
}

void kvm_dirty_ring_harvest_vcpu(KvmVcpu *vcpu)
{
    KvmState *s = vcpu->kvm;
    uint32_t n;

    pthread_mutex_lock(&s->dirty_lock);
    n = kvm_dirty_ring_harvest_locked(vcpu);
    /* The ring is full: reset even if nothing new was harvested, in case
     * entries flagged earlier were never reset (the ioctl failed). */
    kvm_dirty_ring_reset_locked(s, true);
    pthread_mutex_unlock(&s->dirty_lock);
    trace_kvm_dirty_ring_full(vcpu->index, n);
}

/*
 * Ring entries are published when the vCPU writes; a running vCPU may add
 * more right after we look. Callers that need a complete picture (a
 * checkpoint, migration's last pass) sync with the vCPUs paused: a paused
 * vCPU has flushed its PML/dirty state to the ring on exit.
 */
static void kvm_dirty_sync_rings(KvmState *s)
{
    uint32_t harvested = 0;

    pthread_mutex_lock(&s->dirty_lock);
    for (unsigned i = 0; i < s->nr_vcpus; i++) {
        if (s->vcpus[i]) {
            harvested += kvm_dirty_ring_harvest_locked(s->vcpus[i]);
        }
    }
    kvm_dirty_ring_reset_locked(s, harvested > 0);
    pthread_mutex_unlock(&s->dirty_lock);
    trace_kvm_dirty_sync_rings(harvested);
}

bool kvm_dirty_sync(KvmState *s, Error **errp)
{
    size_t max_pages = 0;
    g_autofree unsigned long *scratch = NULL;

    if (!s->dirty_logging) {
        return true;
    }
    if (s->dirty_ring_entries) {
        kvm_dirty_sync_rings(s);
        return true;
    }
    for (unsigned i = 0; i < s->mem->nr_blocks; i++) {
        max_pages = MAX(max_pages, s->mem->blocks[i].size >> GUEST_PAGE_SHIFT);
    }
    scratch = bitmap_new(max_pages);
    for (unsigned i = 0; i < s->mem->nr_blocks; i++) {
        if (!kvm_dirty_sync_slot(s, &s->mem->blocks[i], scratch, errp)) {
            return false;
        }
    }
    return true;
}
