/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty bitmaps over a disk: one bit per granularity bytes, set by the
 * request layer's write notifiers (any thread) and taken by a job that
 * copies what is dirty. Every function takes the bitmap's own lock, so
 * all are safe from any thread.
 *
 * Write notifiers: the request layer (block/io.c) calls each notifier of
 * a node after every write, write-zeroes and discard on that node, on
 * the thread that ran the request, whether it succeeded or not (ret), so
 * a region read by a copy before the write ended is always seen dirty
 * again afterwards.
 */
#ifndef BLOCK_DIRTY_BITMAP_H
#define BLOCK_DIRTY_BITMAP_H

#include "block/block.h"

typedef struct BdrvDirtyBitmap BdrvDirtyBitmap;

/* size in bytes; granularity a power of two. */
BdrvDirtyBitmap *bdrv_dirty_bitmap_new(uint64_t size, uint32_t granularity);
void bdrv_dirty_bitmap_free(BdrvDirtyBitmap *bm);
uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bm);
/* Marks (clears) every granule [offset, offset + bytes) touches. */
void bdrv_dirty_bitmap_set(BdrvDirtyBitmap *bm, uint64_t offset,
                           uint64_t bytes);
void bdrv_dirty_bitmap_clear(BdrvDirtyBitmap *bm, uint64_t offset,
                             uint64_t bytes);
/* Whether every granule [offset, offset + bytes) touches is set. */
bool bdrv_dirty_bitmap_all_set(BdrvDirtyBitmap *bm, uint64_t offset,
                               uint64_t bytes);
/* Dirty bytes (granules times granularity, the last one cut at size). */
uint64_t bdrv_dirty_bitmap_count(BdrvDirtyBitmap *bm);
/*
 * Finds the first dirty granule at or after *offset (wrapping around to
 * 0 once), takes the run of dirty granules from there (at most
 * max_bytes, at least one granule), clears it, and returns its bytes
 * (0: nothing is dirty) with its start in *offset.
 */
uint64_t bdrv_dirty_bitmap_take_run(BdrvDirtyBitmap *bm, uint64_t *offset,
                                    uint64_t max_bytes);

typedef enum BdrvWriteKind {
    BDRV_WRITE_DATA,        /* qiov holds the data */
    BDRV_WRITE_ZEROES,      /* flags: BDRV_REQ_MAY_UNMAP */
    BDRV_WRITE_DISCARD,
} BdrvWriteKind;

typedef void BdrvWriteNotifyFunc(void *opaque, BdrvWriteKind kind,
                                 uint64_t offset, uint64_t bytes,
                                 BlockIov *qiov, int flags, int ret);

typedef struct BdrvWriteNotifier {
    BdrvWriteNotifyFunc *fn;
    void *opaque;
} BdrvWriteNotifier;

/* BQL. The notifier must live until removed. */
void bdrv_add_write_notifier(BlockDriverState *bs, BdrvWriteNotifier *n);
/* BQL. On return no call of n runs or will run. */
void bdrv_remove_write_notifier(BlockDriverState *bs, BdrvWriteNotifier *n);
/* The request layer, after the driver ran the request (any thread). */
void bdrv_write_notify(BlockDriverState *bs, BdrvWriteKind kind,
                       uint64_t offset, uint64_t bytes, BlockIov *qiov,
                       int flags, int ret);

#endif
