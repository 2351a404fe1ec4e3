/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty bitmaps and the write notifiers that feed them (the rules are in
 * include/block/dirty-bitmap.h).
 *
 * The notifier lists of all nodes share one reader-writer lock: every
 * notified request holds it for reading while it calls the notifiers (a
 * mirror's notifier may write to the target meanwhile), and adding or
 * removing a notifier takes it for writing, which is what makes "no call
 * runs after removal" true. A node without notifiers costs one atomic
 * load per write.
 */
#include <string.h>
#include <glib.h>
#include "block/block_int.h"
#include "block/dirty-bitmap.h"
#include "util/bitmap.h"

struct BdrvDirtyBitmap {
    GMutex lock;
    uint64_t size;
    uint32_t granularity;
    unsigned gran_bits;
    size_t nbits;
    unsigned long *bits;        /* lock */
};

static GRWLock notifier_lock;

BdrvDirtyBitmap *bdrv_dirty_bitmap_new(uint64_t size, uint32_t granularity)
{
    BdrvDirtyBitmap *bm = g_new0(BdrvDirtyBitmap, 1);

    g_assert(granularity && !(granularity & (granularity - 1)));
    g_mutex_init(&bm->lock);
    bm->size = size;
    bm->granularity = granularity;
    bm->gran_bits = (unsigned)__builtin_ctz(granularity);
    bm->nbits = (size + granularity - 1) >> bm->gran_bits;
    bm->bits = bitmap_new(MAX(bm->nbits, 1));
    return bm;
}

void bdrv_dirty_bitmap_free(BdrvDirtyBitmap *bm)
{
    if (!bm) {
        return;
    }
    g_mutex_clear(&bm->lock);
    g_free(bm->bits);
    g_free(bm);
}

uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bm)
{
    return bm->granularity;
}

/* The granules [*first, *first + *n) that [offset, +bytes) touches. */
static bool granules(const BdrvDirtyBitmap *bm, uint64_t offset,
                     uint64_t bytes, size_t *first, size_t *n)
{
    uint64_t end;

    if (!bytes || offset >= bm->size) {
        return false;
    }
    end = MIN(offset + bytes, bm->size);
    *first = offset >> bm->gran_bits;
    *n = ((end - 1) >> bm->gran_bits) - *first + 1;
    return true;
}

void bdrv_dirty_bitmap_set(BdrvDirtyBitmap *bm, uint64_t offset,
                           uint64_t bytes)
{
    size_t first, n;

    if (granules(bm, offset, bytes, &first, &n)) {
        g_mutex_lock(&bm->lock);
        bitmap_set(bm->bits, first, n);
        g_mutex_unlock(&bm->lock);
    }
}

void bdrv_dirty_bitmap_clear(BdrvDirtyBitmap *bm, uint64_t offset,
                             uint64_t bytes)
{
    size_t first, n;

    if (granules(bm, offset, bytes, &first, &n)) {
        g_mutex_lock(&bm->lock);
        bitmap_clear(bm->bits, first, n);
        g_mutex_unlock(&bm->lock);
    }
}

bool bdrv_dirty_bitmap_all_set(BdrvDirtyBitmap *bm, uint64_t offset,
                               uint64_t bytes)
{
    size_t first, n;
    bool all;

    if (!granules(bm, offset, bytes, &first, &n)) {
        return false;
    }
    g_mutex_lock(&bm->lock);
    all = find_next_zero_bit(bm->bits, first + n, first) >= first + n;
    g_mutex_unlock(&bm->lock);
    return all;
}

/* Bytes of granule i (the last one may be short). */
static uint64_t granule_bytes(const BdrvDirtyBitmap *bm, size_t i)
{
    uint64_t start = (uint64_t)i << bm->gran_bits;

    return MIN((uint64_t)bm->granularity, bm->size - start);
}

uint64_t bdrv_dirty_bitmap_count(BdrvDirtyBitmap *bm)
{
    uint64_t bytes;
    size_t n;

    g_mutex_lock(&bm->lock);
    n = bitmap_count_one(bm->bits, bm->nbits);
    bytes = (uint64_t)n << bm->gran_bits;
    if (n && test_bit(bm->nbits - 1, bm->bits)) {
        bytes -= bm->granularity - granule_bytes(bm, bm->nbits - 1);
    }
    g_mutex_unlock(&bm->lock);
    return bytes;
}

uint64_t bdrv_dirty_bitmap_take_run(BdrvDirtyBitmap *bm, uint64_t *offset,
                                    uint64_t max_bytes)
{
    size_t start = MIN(*offset >> bm->gran_bits, bm->nbits);
    size_t i, end, limit;
    uint64_t bytes = 0;

    g_mutex_lock(&bm->lock);
    i = find_next_bit(bm->bits, bm->nbits, start);
    if (i >= bm->nbits) {
        i = find_next_bit(bm->bits, bm->nbits, 0);
    }
    if (i < bm->nbits) {
        limit = MAX(max_bytes >> bm->gran_bits, 1);
        end = find_next_zero_bit(bm->bits, bm->nbits, i);
        end = MIN(end, i + limit);
        bitmap_clear(bm->bits, i, end - i);
        *offset = (uint64_t)i << bm->gran_bits;
        bytes = MIN((uint64_t)(end - i) << bm->gran_bits,
                    bm->size - *offset);
    }
    g_mutex_unlock(&bm->lock);
    return bytes;
}

void bdrv_add_write_notifier(BlockDriverState *bs, BdrvWriteNotifier *n)
{
    g_rw_lock_writer_lock(&notifier_lock);
    g_atomic_pointer_set(&bs->write_notifiers,
                         g_slist_append(bs->write_notifiers, n));
    g_rw_lock_writer_unlock(&notifier_lock);
}

void bdrv_remove_write_notifier(BlockDriverState *bs, BdrvWriteNotifier *n)
{
    g_rw_lock_writer_lock(&notifier_lock);
    g_atomic_pointer_set(&bs->write_notifiers,
                         g_slist_remove(bs->write_notifiers, n));
    g_rw_lock_writer_unlock(&notifier_lock);
}

void bdrv_write_notify(BlockDriverState *bs, BdrvWriteKind kind,
                       uint64_t offset, uint64_t bytes, BlockIov *qiov,
                       int flags, int ret)
{
    if (!g_atomic_pointer_get(&bs->write_notifiers)) {
        return;
    }
    g_rw_lock_reader_lock(&notifier_lock);
    for (GSList *l = bs->write_notifiers; l; l = l->next) {
        BdrvWriteNotifier *n = l->data;

        n->fn(n->opaque, kind, offset, bytes, qiov, flags, ret);
    }
    g_rw_lock_reader_unlock(&notifier_lock);
}
