/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO RAM cache (secondary side). The secondary keeps, next to the SVM's
 * own RAM, a private copy of the PVM's memory as of the last complete
 * checkpoint: one anonymous MAP_NORESERVE buffer per RamBlock, in the same
 * order and of the same size as the blocks of the GuestMemory it was made
 * for. While a checkpoint is being received, RAM pages from the primary
 * land in the cache (never in SVM RAM) and are marked "received"; SVM RAM
 * is only touched at commit, once the whole checkpoint is held
 * (ARCHITECTURE.md §5, "All or nothing").
 *
 * Commit copies from the cache into SVM RAM exactly the pages in
 *     received  ∪  svm_dirty
 * where svm_dirty is what the SVM itself wrote since the last checkpoint
 * (KVM's dirty log plus device writes, as harvested from RamBlock.dirty).
 * Every other page is equal in SVM RAM and in the cache already, so it is
 * neither read nor written. The walk goes a bitmap word at a time and
 * skips zero words, so a commit costs O(RAM / 64 pages) plus the copies.
 *
 * Invariant: after colo_ram_cache_fill_from_ram() (the end of the initial
 * migration, when SVM RAM == PVM RAM) and after every successful commit,
 *     SVM RAM == cache == PVM RAM at that checkpoint,
 * and every received bitmap is empty. Between checkpoints the cache changes
 * only through pages written via colo_ram_cache_page() and marked with
 * colo_ram_cache_mark_received(); a page written into the cache but not
 * marked breaks the invariant.
 *
 * Threading: one owner (the COLO incoming thread); nothing is locked.
 * The cache refers to blocks by index into mem->blocks, so the RAM layout
 * must not change while the cache exists (commit checks it).
 */
#ifndef MIGRATION_COLO_RAM_CACHE_H
#define MIGRATION_COLO_RAM_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "system/memory.h"
#include "util/error.h"

typedef struct ColoRamCache ColoRamCache;

typedef struct ColoRamCommitStats {
    uint64_t pages;     /* pages copied cache -> SVM RAM */
    uint64_t bytes;     /* pages * GUEST_PAGE_SIZE */
    uint64_t time_us;   /* wall time of the commit */
} ColoRamCommitStats;

/* One cache buffer per block of mem (contents zero until filled). */
ColoRamCache *colo_ram_cache_new(GuestMemory *mem, Error **errp);
void colo_ram_cache_free(ColoRamCache *cache);

/*
 * Copies SVM RAM into the cache (end of the initial migration) and clears
 * the received bitmaps. Holes of the memfd are skipped: the cache reads as
 * zero there already and stays unallocated.
 */
void colo_ram_cache_fill_from_ram(ColoRamCache *cache);

unsigned colo_ram_cache_nr_blocks(const ColoRamCache *cache);
/* Pages in block block_index. */
size_t colo_ram_cache_block_pages(const ColoRamCache *cache,
                                  unsigned block_index);

/*
 * The cache copy of one page, GUEST_PAGE_SIZE bytes, for the loader to
 * write a received page into; NULL if block_index or page is out of range.
 * The writer must then call colo_ram_cache_mark_received().
 */
uint8_t *colo_ram_cache_page(ColoRamCache *cache, unsigned block_index,
                             size_t page);
/* The same by guest-physical address (page aligned or not); NULL outside
 * RAM. *block_index and *page are set when non-NULL is returned. */
uint8_t *colo_ram_cache_page_at(ColoRamCache *cache, uint64_t gpa,
                                unsigned *block_index, size_t *page);
void colo_ram_cache_mark_received(ColoRamCache *cache, unsigned block_index,
                                  size_t page);
/* Pages received since the last commit, one bit per page of the block. */
const unsigned long *colo_ram_cache_received(const ColoRamCache *cache,
                                             unsigned block_index);
/* Number of pages marked received, over all blocks. */
uint64_t colo_ram_cache_received_count(const ColoRamCache *cache);

/*
 * Applies the checkpoint: copies the pages in (received ∪ svm_dirty) from
 * the cache into SVM RAM, then clears the received bitmaps. svm_dirty is
 * an array of colo_ram_cache_nr_blocks() bitmaps (one bit per page, taken
 * by the caller from RamBlock.dirty with the SVM stopped); it, or any of
 * its entries, may be NULL for "nothing dirty". The caller clears its own
 * dirty bitmaps. stats may be NULL. Fails (touching nothing) only if the
 * RAM layout no longer matches the one the cache was made for.
 */
bool colo_ram_cache_commit(ColoRamCache *cache,
                           const unsigned long *const *svm_dirty,
                           ColoRamCommitStats *stats, Error **errp);

#endif
