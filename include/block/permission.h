/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the users of a node need from it and what they let others do: the
 * small permission model behind image locking (block/file-lock.h,
 * docs/block.md "Image locking").
 *
 * Every parent of a node (a BlockBackend on it, a format node whose
 * "file" or "backing" child it is) holds some permissions and shares
 * some. A BlockBackend claims for its user (block/block-backend.h): a
 * -drive next to nothing until a device attaches to it. A node's
 * cumulative permissions are the union of what its parents
 * hold and the intersection of what they share. The file driver acts on
 * them (it locks bytes of the image so other processes see them); inside
 * one process bdrv_check_perms() holds every user of a node to what the
 * others share, whenever a user attaches or changes its claim.
 *
 * The bits are QEMU's, in QEMU's order, because their position is the lock
 * byte other processes look at.
 *
 *   user                                   holds         does not share
 *   guest device, writable                 cr, write     write (unless share-rw)
 *   guest device, read-only                cr            write (unless share-rw)
 *   -drive without a device                cr            nothing
 *   NBD export                             cr[, write]   resize
 *   mirror job: source                     cr            resize
 *               target                     write         cr, write, resize
 *   block_resize, while it runs            resize        nothing
 *   qcow2 on its file, writable            cr, write,    write, resize
 *                                          resize
 *   qcow2 on its file, read-only           cr            write, resize
 *   a backing child                        cr if the     write, resize if
 *                                          overlay's     they do not share
 *                                          users read    write
 *   a backing child while a commit         cr if the     nothing
 *   rewrites the chain (held overlay)      users read
 *   raw on its file                        what raw's own parents want
 *   an inactive node, on anything          nothing       (shares all)
 *
 * force-share=on (read-only nodes only) shares everything. An inactive
 * node itself holds nothing and shares everything: its image belongs to
 * the migration peer (block/activation.h).
 *
 * Graph changes rule (block/block.h): main loop, BQL held.
 */
#ifndef BLOCK_PERMISSION_H
#define BLOCK_PERMISSION_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "block/block.h"

enum {
    BLK_PERM_CONSISTENT_READ = 1 << 0,
    BLK_PERM_WRITE = 1 << 1,
    BLK_PERM_WRITE_UNCHANGED = 1 << 2,
    BLK_PERM_RESIZE = 1 << 3,
    BLK_PERM_GRAPH_MOD = 1 << 4,
    BLK_PERM_ALL = (1 << 5) - 1,
};
#define BLK_PERM_BITS 5

/* "consistent read", "write", ... as QEMU's lock errors spell them. */
const char *bdrv_perm_name(unsigned bit);

/* What bs's parents hold (*perm) and share (*shared), cumulated. */
void bdrv_get_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                              uint64_t *shared);

/*
 * Hands bs's cumulative permissions to its driver (the file driver locks
 * them), then does the same for its children. Call it after any change to
 * a node's parents or activity. Gaining a permission can fail (another
 * process holds it); the caller then undoes its change and calls this
 * again, which only gives permissions up and does not fail.
 */
bool bdrv_refresh_perms(BlockDriverState *bs, Error **errp);
/*
 * Whether a user of bs holds write: a BlockBackend that claimed it, or a
 * writable format over bs as its file. bs's own read-only flag aside.
 */
bool bdrv_has_writer(BlockDriverState *bs);

/* bdrv_refresh_perms after a user went away: only gives up permissions. */
void bdrv_drop_perms(BlockDriverState *bs);

/*
 * A commit writes into a backing file what the layers above it hold
 * already, so every layer keeps showing the same bytes: the users above
 * (a guest that does not share write) lose nothing by it. While it runs,
 * the backing edges of the layers it rewrites share everything, which
 * lets it claim write on the base; a user of the base outside the chain
 * still refuses it. QEMU gets the same from a filter node above the
 * chain that shares everything.
 *
 * bdrv_chain_rewrite_hold marks the nodes from top down to, not
 * including, base (base NULL: the whole chain below top) and returns
 * them, referenced; bdrv_chain_rewrite_release unmarks and unreferences
 * them and gives up what their backing edges no longer share.
 */
GSList *bdrv_chain_rewrite_hold(BlockDriverState *top,
                                BlockDriverState *base);
void bdrv_chain_rewrite_release(GSList *held);

/*
 * One user of a node as the check between users sees it: QEMU's words for
 * it, so that refusals read as QEMU's.
 */
typedef struct BdrvPermUser {
    char *desc;         /* "block device 'd0'", "node 'ov'", ... */
    const char *role;   /* the child role it uses the node in: "root", ... */
    uint64_t perm;
    uint64_t shared;
} BdrvPermUser;

/*
 * Whether every user of bs holds only what all its other users share,
 * and then the same of bs's children (their claims follow bs's users).
 * Call it after a user attached or changed its claim, and undo the change
 * when it fails; it checks pairs, so it names the two users in conflict.
 */
bool bdrv_check_perms(BlockDriverState *bs, Error **errp);

/* Appends a BdrvPermUser for each BlockBackend on bs (block-backend.c). */
void blk_list_perm_users(BlockDriverState *bs, GArray *users);

#endif
