/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The RAM of a COLO checkpoint (include/migration/ram.h, "COLO
 * checkpoints' RAM"): per-checkpoint transfer on the primary, and on the
 * secondary the hook that points the loader at the RAM cache
 * (colo-ram-cache.c) and the SVM's own dirty log. Built on ram.c: the
 * primary reuses precopy's harvest and sender unthrottled (the guest is
 * stopped, so what one harvest returns is the checkpoint's whole dirty
 * set); the secondary reuses precopy's validating page loader, pointed at
 * the cache. ram.c never calls into this file: the dependency runs one
 * way.
 */
#include <inttypes.h>
#include <string.h>
#include "ram-internal.h"
#include "util/bitmap.h"
#include "trace.h"

static RamMigrationState *ram_checkpoint_state(SaveVMState *s, Error **errp)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs) {
        error_setg(errp, "ram: no RAM registered for migration");
    }
    return rs;
}

bool ram_checkpoint_save(SaveVMState *s, QEMUFile *f, uint64_t *pages,
                         Error **errp)
{
    RamMigrationState *rs = ram_checkpoint_state(s, errp);
    uint64_t start, zero;

    *pages = 0;
    if (!rs) {
        return false;
    }
    if (!rs->saving) {
        error_setg(errp, "ram: COLO checkpoint without dirty tracking");
        return false;
    }
    start = qemu_file_transferred(f);
    zero = rs->st.duplicate;
    if (!ram_dirty_sync(rs, errp)) {
        return false;
    }
    if (qemu_file_checksums(f)) {
        qemu_file_crc_begin(f);
    }
    *pages = ram_send_dirty(rs, f, false);
    qemu_put_be64(f, RAM_REC_EOS);
    if (qemu_file_checksums(f)) {
        qemu_put_be32(f, qemu_file_crc_end(f));
    }
    ram_account(rs, qemu_file_transferred(f) - start);
    trace_ram_checkpoint_save(*pages, rs->st.duplicate - zero);
    return !qemu_file_get_error(f, errp);
}

ColoRamCache *ram_checkpoint_cache_attach(SaveVMState *s, Error **errp)
{
    RamMigrationState *rs = ram_checkpoint_state(s, errp);
    ColoRamCache *cache;

    if (!rs) {
        return NULL;
    }
    cache = colo_ram_cache_new(rs->mem, errp);
    if (!cache) {
        return NULL;
    }
    colo_ram_cache_fill_from_ram(cache);
    rs->colo_cache = cache;
    /* The initial migration validated the block list. */
    rs->have_block_list = rs->load_blocks != NULL;
    return cache;
}

void ram_checkpoint_cache_detach(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        rs->colo_cache = NULL;
        rs->have_block_list = false;
    }
}

/* Checksums: the CRC32C of the records just read. The pages are in the
 * cache already, which a dropped checkpoint never commits. */
static bool ram_checkpoint_load_trailer(QEMUFile *f, Error **errp)
{
    uint32_t computed, sent;

    if (!qemu_file_checksums(f)) {
        return true;
    }
    computed = qemu_file_crc_end(f);
    sent = qemu_get_be32(f);
    if (!ram_load_stream_ok(f, errp)) {
        return false;
    }
    if (sent != computed) {
        error_setg(errp, "ram: checksum mismatch (stream 0x%08" PRIx32
                   ", computed 0x%08" PRIx32 "): the stream is corrupted",
                   sent, computed);
        return false;
    }
    return true;
}

bool ram_checkpoint_load(SaveVMState *s, QEMUFile *f, uint64_t *pages,
                         Error **errp)
{
    RamMigrationState *rs = ram_checkpoint_state(s, errp);
    uint64_t before;

    *pages = 0;
    if (!rs) {
        return false;
    }
    if (!rs->colo_cache || !rs->load_blocks) {
        error_setg(errp, "ram: COLO checkpoint before the RAM cache exists");
        return false;
    }
    before = rs->load_pages;
    if (qemu_file_checksums(f)) {
        qemu_file_crc_begin(f);
    }
    for (;;) {
        uint64_t rec = qemu_get_be64(f);
        uint64_t flags = rec & RAM_REC_FLAG_MASK;
        uint64_t addr = rec & RAM_REC_ADDR_MASK;

        if (!ram_load_stream_ok(f, errp)) {
            return false;
        }
        if (flags == RAM_REC_EOS && !addr) {
            break;
        }
        if (flags != RAM_REC_ZERO && flags != RAM_REC_PAGE) {
            error_setg(errp, "ram: COLO checkpoint record 0x%016" PRIx64
                       " is neither a page nor the end", rec);
            return false;
        }
        if (!ram_load_page(rs, f, addr, flags == RAM_REC_ZERO, errp)) {
            return false;
        }
    }
    *pages = rs->load_pages - before;
    trace_ram_checkpoint_load(*pages);
    return ram_checkpoint_load_trailer(f, errp);
}

/* KVM's log and our own writes since the last harvest -> svm_dirty. */
static bool ram_checkpoint_svm_harvest(RamMigrationState *rs, Error **errp)
{
    if (rs->kvm && !kvm_dirty_sync(rs->kvm, errp)) {
        error_prepend(errp, "ram: COLO secondary: dirty sync: ");
        return false;
    }
    for (unsigned i = 0; i < rs->mem->nr_blocks; i++) {
        RamBlock *rb = &rs->mem->blocks[i];

        bitmap_take_atomic(rs->svm_dirty[i], rb->dirty,
                           rb->size >> GUEST_PAGE_SHIFT);
    }
    return true;
}

bool ram_checkpoint_svm_log_start(SaveVMState *s, Error **errp)
{
    RamMigrationState *rs = ram_checkpoint_state(s, errp);

    if (!rs) {
        return false;
    }
    if (!rs->svm_dirty) {
        rs->svm_dirty = g_new0(unsigned long *, rs->mem->nr_blocks + 1);
        for (unsigned i = 0; i < rs->mem->nr_blocks; i++) {
            rs->svm_dirty[i] = bitmap_new(rs->mem->blocks[i].size >>
                                          GUEST_PAGE_SHIFT);
        }
    }
    if (rs->kvm && !rs->kvm->dirty_logging) {
        if (!kvm_dirty_log_start(rs->kvm, errp)) {
            error_prepend(errp, "ram: COLO secondary: ");
            return false;
        }
        rs->svm_logging = true;
    }
    /* What was dirty before now is in the cache already (it was filled
     * from RAM): start from a clean log. */
    return ram_checkpoint_svm_harvest(rs, errp);
}

bool ram_checkpoint_svm_dirty_take(SaveVMState *s,
                                   const unsigned long *const **bitmaps,
                                   Error **errp)
{
    RamMigrationState *rs = ram_checkpoint_state(s, errp);

    if (!rs) {
        return false;
    }
    if (!rs->svm_dirty) {
        error_setg(errp, "ram: COLO secondary dirty log not started");
        return false;
    }
    if (!ram_checkpoint_svm_harvest(rs, errp)) {
        return false;
    }
    *bitmaps = (const unsigned long *const *)rs->svm_dirty;
    return true;
}

void ram_checkpoint_svm_log_stop(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        ram_svm_log_release(rs);
    }
}
