/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Overlapping writes on a node with write notifiers, one at a time.
 *
 * The request layer (block/io.c) tells a node's write notifiers of a
 * write after the driver ran it. A notifier that repeats the write
 * elsewhere (the mirror's write-through, block/mirror.c) must see two
 * overlapping writes in the order the node applied them, or the copy
 * ends with the other one's bytes. So on such a node a write waits, from
 * before its driver call to after its notifiers, while an overlapping
 * write is in that stretch. Writes that do not overlap, and writes on
 * nodes without notifiers, never wait. (A guest has no right to a
 * particular result of overlapping writes in flight at once, but the
 * source and the copy must agree on one.)
 */
#ifndef BLOCK_WRITE_ORDER_H
#define BLOCK_WRITE_ORDER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct BlockDriverState BlockDriverState;

/* One write's place in the order; lives on the writer's stack. */
typedef struct BdrvWriteOrder {
    const BlockDriverState *bs;
    uint64_t start, end;
    bool tracked;       /* the node had notifiers at begin */
} BdrvWriteOrder;

/* Before the driver call (any thread): waits for overlapping writes. */
void bdrv_write_order_begin(BdrvWriteOrder *w, BlockDriverState *bs,
                            uint64_t offset, uint64_t bytes);
/* After the notifiers ran: lets the waiting overlapping writes go. */
void bdrv_write_order_end(BdrvWriteOrder *w);
/* How many times a write had to wait, ever (tests). */
uint64_t bdrv_write_order_waits(void);

#endif
