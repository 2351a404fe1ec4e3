/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RAM migration: the live savevm entry "ram" (instance 0, version 1).
 *
 * Source: setup sends the block list, starts KVM dirty logging and marks
 * every page of a private per-block migration bitmap; each iteration
 * harvests dirty pages (KVM's log plus our own writes, both merged into
 * RamBlock.dirty) into that bitmap and streams the pages it names, zero
 * pages as a flag and the others by reference (no copy), until the
 * stream's rate limit says stop; completion (vCPUs paused) sends whatever
 * is left and stops logging. A cancelled migration only stops logging and
 * frees the bitmaps: the guest keeps running untouched.
 *
 * Destination: checks the block list against its own RAM layout, then
 * validates every page record (inside a block, aligned, known flags)
 * before writing it, and keeps a per-block bitmap of the pages received
 * (COLO's RAM cache needs it).
 *
 * Record format: docs/devel/migration-stream.md, "RAM records".
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "accel/kvm.h"
#include "migration/savevm.h"
#include "system/memory.h"
#include "util/error.h"

struct ColoRamCache;

#define RAM_MIGRATION_IDSTR     "ram"
#define RAM_MIGRATION_VERSION   1

/*
 * Every record starts with a be64: the guest-physical address of a page
 * (bits 0..51, low 12 bits zero) OR-ed with flags (bits 52..63).
 */
#define RAM_REC_ADDR_MASK   ((UINT64_C(1) << 52) - 1)
#define RAM_REC_FLAG_MASK   (~RAM_REC_ADDR_MASK)
#define RAM_REC_ZERO        (UINT64_C(1) << 52)  /* all zero; no data */
#define RAM_REC_PAGE        (UINT64_C(1) << 53)  /* 4096 data bytes follow */
#define RAM_REC_EOS         (UINT64_C(1) << 54)  /* end of the section */
#define RAM_REC_BLOCKS      (UINT64_C(1) << 55)  /* block list (START) */
/* Postcopy's discard list: be32 block index, be32 count, then count
 * (be64 offset, be64 length) runs (include/migration/postcopy.h). */
#define RAM_REC_DISCARD     (UINT64_C(1) << 56)

/* Most blocks the loader accepts in a block list. */
#define RAM_MIGRATION_MAX_BLOCKS 64

/*
 * Source-side statistics (query-migrate). Bytes are bytes of the RAM
 * entry's payload (record headers, block list, page data; not the savevm
 * framing around it).
 */
typedef struct RamMigrationStats {
    uint64_t transferred;       /* payload bytes written */
    uint64_t total;             /* guest RAM bytes */
    uint64_t remaining;         /* bytes still marked for sending */
    uint64_t duplicate;         /* zero pages sent as a flag */
    uint64_t normal;            /* pages sent with data */
    uint64_t normal_bytes;      /* normal * page size */
    uint64_t dirty_sync_count;  /* harvests of the dirty bitmaps */
    uint64_t dirty_pages_rate;  /* pages/s dirtied, over the last period */
    uint64_t pages_per_second;  /* pages/s sent, over the last period */
    uint64_t iterations;        /* save_iterate calls */
    uint64_t postcopy_requests; /* page requests received (postcopy) */
    /* transferred, split by phase as QEMU's query-migrate does: */
    uint64_t precopy_bytes;     /* guest running here */
    uint64_t downtime_bytes;    /* guest stopped (switchover, the
                                   postcopy switch, COLO checkpoints) */
    uint64_t postcopy_bytes;    /* after postcopy-run */
} RamMigrationStats;

/*
 * Registers the live entry "ram" in s for mem. kvm may be NULL (tests):
 * then only our own writes (guest_memory_mark_dirty) are tracked. The same
 * registration serves as source (save handlers) or destination (load
 * handlers). At most one registration per SaveVMState.
 */
bool ram_migration_register(SaveVMState *s, GuestMemory *mem, KvmState *kvm,
                            Error **errp);
/* Unregisters and frees the state (stops logging if a save was active). */
void ram_migration_unregister(SaveVMState *s);

/*
 * Pages of block received by the last (or current) load into s, one bit
 * per page of block, or NULL when block is not among the blocks of s's
 * RAM entry or no load has been set up yet. Valid until the next
 * load_setup or unregister. Cleared by ram_migration_received_reset().
 */
const unsigned long *ram_migration_received_bitmap(SaveVMState *s,
                                                   const RamBlock *block);
void ram_migration_received_reset(SaveVMState *s, const RamBlock *block);

/*
 * The statistics of the migration in progress (or the last one) of s's
 * RAM entry. The pointer (NULL without a RAM entry) is for tests; other
 * threads take a consistent copy with ram_migration_stats_snapshot()
 * (zeros without a RAM entry).
 */
const RamMigrationStats *ram_migration_stats(SaveVMState *s);
void ram_migration_stats_snapshot(SaveVMState *s, RamMigrationStats *out);
void ram_migration_stats_reset(SaveVMState *s);
/*
 * Whether the migration in progress of s's RAM entry has been over every
 * page once (its cursor reached the end of the last block, or nothing
 * was left): postcopy switches no earlier (any thread).
 */
bool ram_migration_first_pass_done(SaveVMState *s);

/*
 * COLO checkpoints' RAM (migration/ram-checkpoint.c, built on this file's
 * precopy code; the secondary's cache itself is colo-ram-cache.h). Record
 * format of a checkpoint's RAM: page records (ZERO or PAGE) up to an EOS
 * record, no framing around them; on a stream with checksums
 * (qemu_file_checksums) a be32 CRC32C of those records follows the EOS
 * record. Data pages are copied while the CRC runs unless the caller
 * marked the file's nocopy data stable (guest stopped).
 *
 * Primary: the initial migration's completion leaves dirty logging on
 * (it always does: logging stops at savevm_state_cleanup()); each
 * checkpoint then harvests and sends what the guest dirtied since the
 * previous one (guest stopped).
 */
bool ram_checkpoint_save(SaveVMState *s, QEMUFile *f, uint64_t *pages,
                         Error **errp);

/*
 * Secondary: attach() makes a RAM cache for the RAM registered in s,
 * filled from guest RAM (the end of the initial migration, when SVM RAM
 * equals PVM RAM), and from then on received pages land in it (marked
 * received there) instead of guest RAM. Blocks are those the initial
 * migration validated. detach() sends pages back to RAM; the caller
 * frees the cache (colo_ram_cache_free).
 */
struct ColoRamCache *ram_checkpoint_cache_attach(SaveVMState *s,
                                                 Error **errp);
void ram_checkpoint_cache_detach(SaveVMState *s);
bool ram_checkpoint_load(SaveVMState *s, QEMUFile *f, uint64_t *pages,
                         Error **errp);
/*
 * Secondary: KVM dirty logging of the SVM's own writes. take() harvests
 * them (SVM stopped) into per-block bitmaps in the order of the blocks,
 * owned by ram.c and valid until the next take or stop.
 */
bool ram_checkpoint_svm_log_start(SaveVMState *s, Error **errp);
bool ram_checkpoint_svm_dirty_take(SaveVMState *s,
                                   const unsigned long *const **bitmaps,
                                   Error **errp);
void ram_checkpoint_svm_log_stop(SaveVMState *s);

/* True if the len bytes at buf are all zero (any length and alignment;
 * fastest for whole aligned pages). Exposed for tests and COLO. */
bool ram_buffer_is_zero(const void *buf, size_t len);

#endif
