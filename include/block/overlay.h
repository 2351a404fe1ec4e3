/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Putting an overlay on top of a node, as an external snapshot does
 * (QEMU's bdrv_append): the overlay gets the node as its backing child
 * and takes the node's place under every user, BlockBackends (devices,
 * NBD exports, drives) and parent nodes (a format whose file it was)
 * alike, so that writes land in the overlay from then on and reads of
 * what the overlay does not hold fall through to the node.
 *
 *   before:   device, export --> base
 *   prepared: device, export --> overlay --backing--> base (still
 *             writable: a transaction may still put everything back)
 *   committed: the same, base read-only (its image keeps only the
 *             shared-read lock of a backing file)
 *   aborted:  as before (the overlay lets go of base)
 *
 * The two steps are separate so that a transaction (block/snapshot.h)
 * can prepare several and undo all when one fails. Main loop, BQL; the
 * swap drains the users it moves.
 */
#ifndef BLOCK_OVERLAY_H
#define BLOCK_OVERLAY_H

#include <glib.h>
#include "block/block.h"

typedef struct BdrvAppend {
    BlockDriverState *overlay;      /* one reference each, until done */
    BlockDriverState *base;
    GSList *backends;               /* BlockBackend *: moved to overlay */
    GSList *children;               /* BdrvChild *: moved to overlay */
} BdrvAppend;

/*
 * Attaches base below overlay and moves base's users onto it. Fails
 * (nothing changed) when that would make a cycle, when a user that
 * writes would land on a read-only overlay ("Block node is read-only",
 * QEMU's words), or on an image lock another process holds.
 */
bool bdrv_append_prepare(BdrvAppend *a, BlockDriverState *overlay,
                         BlockDriverState *base, Error **errp);
/* Makes base read-only for good (a failed flush only warns, as QEMU). */
void bdrv_append_commit(BdrvAppend *a);
/* Moves the users back to base and detaches it from the overlay. */
void bdrv_append_abort(BdrvAppend *a);
/* Drops what prepare held; after commit or abort. */
void bdrv_append_clean(BdrvAppend *a);

/*
 * Who uses bs besides the monitor: a BlockBackend or a parent node. An
 * overlay must have none (QEMU's "The overlay is already in use").
 */
bool bdrv_has_users(const BlockDriverState *bs);
/* The node whose backing child bs is, or NULL. */
BlockDriverState *bdrv_backing_parent(const BlockDriverState *bs);

#endif
