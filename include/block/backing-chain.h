/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Walking a backing chain, for the jobs that shorten one (block-stream,
 * block-commit): which nodes lie between two, finding a node by the
 * file name a user gives (QEMU's 'base' and 'top' arguments), and where
 * a stretch of the chain holds data of its own.
 *
 *   top --backing--> n1 --backing--> ... --backing--> base
 *
 * "Above base" is top and every node down to base, base excluded; base
 * NULL means the whole chain. Main loop, BQL, except where marked.
 */
#ifndef BLOCK_BACKING_CHAIN_H
#define BLOCK_BACKING_CHAIN_H

#include "block/block.h"

/* Whether bs is top or below it through backing links. */
bool bdrv_chain_contains(BlockDriverState *top, const BlockDriverState *bs);
/*
 * The node below top whose image is filename, as QEMU finds a 'base' or
 * 'top' given by name: the node's file name, or the name its overlay's
 * header gives it; a relative name is taken from the overlay's
 * directory. NULL when none is.
 */
BlockDriverState *bdrv_find_backing_image(BlockDriverState *top,
                                          const char *filename);
/* The node just above base in top's chain (whose backing base is). */
BlockDriverState *bdrv_overlay_of(BlockDriverState *top,
                                  const BlockDriverState *base);
/*
 * Whether a node above base allocates [offset, offset + bytes) (data or
 * zeroes of its own; past the end of a shorter node the zeroes it reads
 * count as its own): 1 or 0 for the first *pnum bytes (> 0), or -errno.
 * Any thread.
 */
int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            uint64_t offset, uint64_t bytes, uint64_t *pnum);

#endif
