/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO RAM cache on the secondary: a private copy of the PVM's memory as of
 * the last checkpoint, the per-block bitmaps of pages received into it
 * since then, and the commit that makes SVM RAM equal to it by copying only
 * the pages either side dirtied. Rules and invariant:
 * include/migration/colo-ram-cache.h and ARCHITECTURE.md §5.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>
#include "migration/colo-ram-cache.h"
#include "util/bitmap.h"
#include "trace.h"

typedef struct ColoRamCacheBlock {
    uint64_t gpa;               /* layout the cache was made for */
    uint64_t size;
    size_t pages;
    uint8_t *cache;             /* anonymous, MAP_NORESERVE, size bytes */
    unsigned long *received;    /* pages written into cache since commit */
} ColoRamCacheBlock;

struct ColoRamCache {
    GuestMemory *mem;
    ColoRamCacheBlock *blocks;
    unsigned nr_blocks;
};

ColoRamCache *colo_ram_cache_new(GuestMemory *mem, Error **errp)
{
    ColoRamCache *cache = g_new0(ColoRamCache, 1);

    cache->mem = mem;
    cache->blocks = g_new0(ColoRamCacheBlock, mem->nr_blocks);
    cache->nr_blocks = mem->nr_blocks;
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        RamBlock *rb = &mem->blocks[i];
        ColoRamCacheBlock *cb = &cache->blocks[i];
        void *p = mmap(NULL, rb->size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

        if (p == MAP_FAILED) {
            error_setg_errno(errp, errno,
                             "COLO: cannot allocate the RAM cache of %s "
                             "(%" PRIu64 " bytes)", rb->name, rb->size);
            colo_ram_cache_free(cache);
            return NULL;
        }
        cb->cache = p;
        cb->gpa = rb->gpa;
        cb->size = rb->size;
        cb->pages = rb->size >> GUEST_PAGE_SHIFT;
        cb->received = bitmap_new(cb->pages);
        trace_colo_ram_cache_block(rb->name, rb->gpa, rb->size);
    }
    return cache;
}

void colo_ram_cache_free(ColoRamCache *cache)
{
    if (!cache) {
        return;
    }
    for (unsigned i = 0; i < cache->nr_blocks; i++) {
        ColoRamCacheBlock *cb = &cache->blocks[i];

        if (cb->cache) {
            munmap(cb->cache, cb->size);
        }
        g_free(cb->received);
    }
    g_free(cache->blocks);
    g_free(cache);
}

/*
 * Copies [off, end) of rb into the cache, skipping the memfd's holes: they
 * read as zero, and so does the untouched cache. Reading them through the
 * shared mapping would allocate them.
 */
static void colo_ram_cache_fill_block(const RamBlock *rb, ColoRamCacheBlock *cb)
{
    off_t off = 0;
    off_t end = (off_t)rb->size;

    while (off < end) {
        off_t data = rb->memfd >= 0 ? lseek(rb->memfd, off, SEEK_DATA) : -1;
        off_t hole;

        if (data < 0) {
            if (rb->memfd >= 0 && errno == ENXIO) {
                return;                 /* only holes from off on */
            }
            /* No hole information: copy everything that is left. */
            memcpy(cb->cache + off, rb->host + off, end - off);
            return;
        }
        if (data >= end) {
            return;
        }
        hole = lseek(rb->memfd, data, SEEK_HOLE);
        if (hole < 0 || hole > end) {
            hole = end;
        }
        memcpy(cb->cache + data, rb->host + data, hole - data);
        off = hole;
    }
}

void colo_ram_cache_fill_from_ram(ColoRamCache *cache)
{
    for (unsigned i = 0; i < cache->nr_blocks; i++) {
        ColoRamCacheBlock *cb = &cache->blocks[i];

        /* A page zero in RAM but not in the cache (a refill) must be
         * cleared: drop the old contents first. */
        madvise(cb->cache, cb->size, MADV_DONTNEED);
        colo_ram_cache_fill_block(&cache->mem->blocks[i], cb);
        bitmap_zero(cb->received, cb->pages);
    }
    trace_colo_ram_cache_fill(cache->nr_blocks);
}

unsigned colo_ram_cache_nr_blocks(const ColoRamCache *cache)
{
    return cache->nr_blocks;
}

size_t colo_ram_cache_block_pages(const ColoRamCache *cache,
                                  unsigned block_index)
{
    return block_index < cache->nr_blocks ? cache->blocks[block_index].pages
                                          : 0;
}

uint8_t *colo_ram_cache_page(ColoRamCache *cache, unsigned block_index,
                             size_t page)
{
    ColoRamCacheBlock *cb;

    if (block_index >= cache->nr_blocks) {
        return NULL;
    }
    cb = &cache->blocks[block_index];
    if (page >= cb->pages) {
        return NULL;
    }
    return cb->cache + ((uint64_t)page << GUEST_PAGE_SHIFT);
}

uint8_t *colo_ram_cache_page_at(ColoRamCache *cache, uint64_t gpa,
                                unsigned *block_index, size_t *page)
{
    for (unsigned i = 0; i < cache->nr_blocks; i++) {
        ColoRamCacheBlock *cb = &cache->blocks[i];

        if (gpa >= cb->gpa && gpa - cb->gpa < cb->size) {
            *block_index = i;
            *page = (gpa - cb->gpa) >> GUEST_PAGE_SHIFT;
            return cb->cache + ((uint64_t)*page << GUEST_PAGE_SHIFT);
        }
    }
    return NULL;
}

void colo_ram_cache_mark_received(ColoRamCache *cache, unsigned block_index,
                                  size_t page)
{
    g_assert(block_index < cache->nr_blocks);
    g_assert(page < cache->blocks[block_index].pages);
    set_bit(page, cache->blocks[block_index].received);
}

const unsigned long *colo_ram_cache_received(const ColoRamCache *cache,
                                             unsigned block_index)
{
    return block_index < cache->nr_blocks
           ? cache->blocks[block_index].received : NULL;
}

uint64_t colo_ram_cache_received_count(const ColoRamCache *cache)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < cache->nr_blocks; i++) {
        n += bitmap_count_one(cache->blocks[i].received,
                              cache->blocks[i].pages);
    }
    return n;
}

static bool colo_ram_cache_layout_ok(ColoRamCache *cache, Error **errp)
{
    GuestMemory *mem = cache->mem;

    if (mem->nr_blocks != cache->nr_blocks) {
        error_setg(errp, "COLO: RAM has %u blocks, the cache %u",
                   mem->nr_blocks, cache->nr_blocks);
        return false;
    }
    for (unsigned i = 0; i < cache->nr_blocks; i++) {
        if (mem->blocks[i].gpa != cache->blocks[i].gpa ||
            mem->blocks[i].size != cache->blocks[i].size) {
            error_setg(errp, "COLO: RAM block %s changed since the cache "
                       "was made", mem->blocks[i].name);
            return false;
        }
    }
    return true;
}

/*
 * Copies the pages of one block named by received | dirty, a word at a
 * time; each run of consecutive set bits inside a word is one memcpy.
 * Returns the pages copied.
 */
static uint64_t colo_ram_cache_commit_block(const RamBlock *rb,
                                      ColoRamCacheBlock *cb,
                                      const unsigned long *dirty)
{
    size_t nwords = BITS_TO_LONGS(cb->pages);
    unsigned tail = cb->pages % BITS_PER_LONG;
    uint64_t copied = 0;

    for (size_t w = 0; w < nwords; w++) {
        unsigned long bits = cb->received[w] | (dirty ? dirty[w] : 0);
        size_t base = w * BITS_PER_LONG;

        if (w == nwords - 1 && tail) {
            bits &= (1UL << tail) - 1;      /* bits past the block */
        }
        while (bits) {
            unsigned start = __builtin_ctzl(bits);
            unsigned long rest = bits >> start;
            unsigned len = ~rest ? (unsigned)__builtin_ctzl(~rest)
                                 : (unsigned)(BITS_PER_LONG - start);
            uint64_t off = (uint64_t)(base + start) << GUEST_PAGE_SHIFT;

            memcpy(rb->host + off, cb->cache + off,
                   (uint64_t)len << GUEST_PAGE_SHIFT);
            copied += len;
            bits = (start + len < BITS_PER_LONG)
                   ? bits & ~(((1UL << len) - 1) << start) : 0;
        }
        cb->received[w] = 0;
    }
    return copied;
}

bool colo_ram_cache_commit(ColoRamCache *cache,
                           const unsigned long *const *svm_dirty,
                           ColoRamCommitStats *stats, Error **errp)
{
    gint64 start = g_get_monotonic_time();
    uint64_t pages = 0;
    uint64_t us;

    if (!colo_ram_cache_layout_ok(cache, errp)) {
        return false;
    }
    for (unsigned i = 0; i < cache->nr_blocks; i++) {
        pages += colo_ram_cache_commit_block(&cache->mem->blocks[i],
                                       &cache->blocks[i],
                                       svm_dirty ? svm_dirty[i] : NULL);
    }
    us = g_get_monotonic_time() - start;
    trace_colo_ram_commit(pages, us);
    if (stats) {
        stats->pages = pages;
        stats->bytes = pages * GUEST_PAGE_SIZE;
        stats->time_us = us;
    }
    return true;
}
