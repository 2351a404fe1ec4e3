/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External snapshots (docs/block.md, "External snapshots"): QEMU's
 * blockdev-snapshot (an overlay node that exists) and
 * blockdev-snapshot-sync (an image created, or reused, and opened), as
 * transaction actions (block/transaction.c): prepare does every check,
 * creates and opens what it must and makes the swap (block/overlay.h);
 * commit makes the old node read-only; abort puts everything back. An
 * image the sync action created stays on disk after an abort, as QEMU
 * leaves it. The QMP commands of the same names are transactions of
 * one action.
 *
 * Main loop, BQL; the actions of one transaction run one after the other.
 */
#ifndef BLOCK_SNAPSHOT_H
#define BLOCK_SNAPSHOT_H

#include "qapi/qapi-types.h"
#include "util/error.h"

typedef struct ExternalSnapshot ExternalSnapshot;

ExternalSnapshot *external_snapshot_prepare(const BlockdevSnapshot *arg,
                                            Error **errp);
ExternalSnapshot *external_snapshot_sync_prepare(
    const BlockdevSnapshotSync *arg, Error **errp);
void external_snapshot_commit(ExternalSnapshot *s);
void external_snapshot_abort(ExternalSnapshot *s);
/* After commit or abort. */
void external_snapshot_free(ExternalSnapshot *s);

#endif
