/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal (disk-only) snapshots kept inside an image by its format
 * driver (qcow2: block/qcow2-snapshot.c), as QEMU's
 * blockdev-snapshot-internal-sync and blockdev-snapshot-delete-internal-sync
 * make them (docs/block.md, "Internal snapshots"). A driver without the
 * hooks in BlockDriver has none.
 *
 * Main loop, BQL; the driver takes its own node lock around the work.
 */
#ifndef BLOCK_INTERNAL_SNAPSHOT_H
#define BLOCK_INTERNAL_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include "qapi/qapi-types.h"
#include "util/error.h"

typedef struct BlockDriverState BlockDriverState;

/* One snapshot as the format records it. */
typedef struct BdrvSnapshot {
    char *id;                   /* unique, chosen by the driver ("1") */
    char *name;
    uint64_t date_sec;          /* wall clock when taken */
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;     /* guest clock when taken */
    uint64_t vm_state_size;     /* 0: disk only */
    int64_t icount;             /* -1: not recorded */
} BdrvSnapshot;

void bdrv_snapshot_clear(BdrvSnapshot *sn);
void bdrv_snapshot_list_free(BdrvSnapshot *list, int n);

/* Whether the node's driver keeps internal snapshots. */
bool bdrv_can_snapshot(BlockDriverState *bs);

/* The node's snapshots (*list freed by bdrv_snapshot_list_free): their
 * number, or -ENOTSUP without snapshot support. */
int bdrv_snapshot_list(BlockDriverState *bs, BdrvSnapshot **list);

/*
 * The snapshot matching id and name (either may be NULL, not both; with
 * both, both must match), copied into *out. false when there is none.
 */
bool bdrv_snapshot_find(BlockDriverState *bs, const char *id,
                        const char *name, BdrvSnapshot *out);

/* Takes a snapshot; sn's id is chosen by the driver and filled in. */
bool bdrv_snapshot_create(BlockDriverState *bs, BdrvSnapshot *sn,
                          Error **errp);

/* Deletes the snapshot with that id (ids are unique). */
bool bdrv_snapshot_delete(BlockDriverState *bs, const char *id,
                          Error **errp);

/* The node's snapshots as query-block's ImageInfo lists them (NULL:
 * none, or no support). */
SnapshotInfoList *bdrv_snapshot_info_list(BlockDriverState *bs);
SnapshotInfo *bdrv_snapshot_info(const BdrvSnapshot *sn);

/*
 * blockdev-snapshot-internal-sync as a transaction action
 * (block/transaction.c): prepare does every check and takes the
 * snapshot; abort deletes it again; commit has nothing left to do.
 */
typedef struct InternalSnapshot InternalSnapshot;

InternalSnapshot *internal_snapshot_prepare(
    const BlockdevSnapshotInternal *arg, Error **errp);
void internal_snapshot_abort(InternalSnapshot *st);
/* After commit or abort. */
void internal_snapshot_free(InternalSnapshot *st);

#endif
