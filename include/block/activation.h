/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Active and inactive nodes: the hand-over of an image between two
 * processes that open the same file, the source and the destination of a
 * migration with shared storage (docs/block.md, "Migration with shared
 * storage").
 *
 * An inactive node belongs to someone else for now. It may be read (a
 * format driver reads its header at open), but nothing it cached of the
 * image is trusted, and every write, write-zeroes, discard, resize or
 * make-empty is refused with an error naming the node. Flushing it does
 * nothing: it has nothing to write.
 *
 *   open under -incoming ----> inactive --(bdrv_activate: children first,
 *                                 ^        then the driver re-reads the
 *                                 |        image, e.g. qcow2's L1 and
 *                                 |        refcount tables)--> active
 *                                 +--(bdrv_inactivate: flush, the driver
 *                                     drops its caches, then the children
 *                                     no active parent still uses)--+
 *
 * Who moves nodes:
 * - the destination opens every node inactive from -incoming on
 *   (bdrv_set_open_inactive) and activates them before its guest runs,
 *   or at `cont` with the capability late-block-activate and -S;
 * - the source inactivates them at switchover, guest stopped and devices
 *   drained, and activates them again if its guest resumes (failed or
 *   cancelled migration, strict abort, `cont` after completion);
 * - the user, with blockdev-set-active (QEMU 10.0's command), and
 *   blockdev-add's "active" option.
 *
 * Graph changes rule (block/block.h): main loop, BQL held. Activation and
 * inactivation wait until no request is in flight on any node.
 */
#ifndef BLOCK_ACTIVATION_H
#define BLOCK_ACTIVATION_H

#include <stdbool.h>
#include "block/block.h"

bool bdrv_is_active(const BlockDriverState *bs);

/*
 * Activates bs and, first, its children. Errors name the node; a node
 * whose driver could not re-read its image stays inactive.
 */
bool bdrv_activate(BlockDriverState *bs, Error **errp);
/*
 * Flushes bs and makes it inactive, then its children that no active
 * parent uses. Refused while an active parent uses bs.
 */
bool bdrv_inactivate(BlockDriverState *bs, Error **errp);

/*
 * Every node, roots down (QEMU's bdrv_inactivate_all). On failure some
 * nodes may be inactive already: bdrv_activate_all() takes them back.
 */
bool bdrv_inactivate_all(Error **errp);
/*
 * Every node, and nodes opened from now on are active: the process owns
 * its images (migration completed here, or `cont`).
 */
bool bdrv_activate_all(Error **errp);

/*
 * Whether nodes opened from now on start inactive (blockdev-add without
 * "active", -blockdev, -drive): on while an incoming migration is
 * expected, as QEMU opens nodes in runstate inmigrate.
 */
void bdrv_set_open_inactive(bool inactive);
bool bdrv_get_open_inactive(void);

#endif
