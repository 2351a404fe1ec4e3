/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commit job (QEMU's block-commit): the data of the images from top
 * down to (not including) base goes into base, and the images leave the
 * chain.
 *
 * Below the active layer (overlay is the image above top):
 *
 *   before:  device --> active ... overlay --> top --> n1 --> base
 *   after:   device --> active ... overlay ------------------> base
 *
 * one pass (block/chain-copy.c) copies what top shows above base into
 * base, then overlay's header and backing link are changed to base and
 * the job completes by itself. Nothing writes top or n1 meanwhile (they
 * are read-only backing files), and what overlay reads does not change:
 * base gets exactly what top showed there.
 *
 * Of the active layer (top is the device's image): a mirror of top into
 * base (block/mirror.h, active_commit), ready once base has caught up;
 * block-job-complete moves top's users onto base, block-job-cancel
 * leaves them on top.
 *
 * In both, a base (and an overlay) found read-only is made writable for
 * the job and read-only again after, unless the active commit switched
 * to it. The command is block/commit-qmp.c.
 */
#ifndef BLOCK_COMMIT_H
#define BLOCK_COMMIT_H

#include "block/job.h"
#include "block/block.h"

typedef struct CommitParams {
    const char *job_id;
    BlockDriverState *top;
    BlockDriverState *base;
    /* The image above top, whose backing file changes; NULL: active. */
    BlockDriverState *overlay;
    /* The name to record in overlay's header (NULL: base's file name). */
    const char *backing_file;
    int64_t speed;
    BlockdevOnError on_error;
    bool auto_finalize;
    bool auto_dismiss;
} CommitParams;

/*
 * Starts the job; every node from overlay (or top) down to base becomes
 * the job's. BQL; the caller checked the nodes are free.
 */
Job *commit_start(const CommitParams *p, Error **errp);

/*
 * HMP's commit: what bs holds itself goes into its backing file (one
 * level, as QEMU's HMP commit), then bs is emptied, all while the BQL
 * is held (devices wait). -errno (QEMU reports it by its strerror()):
 * -ENOTSUP without a backing file, -EBUSY in a job, -EPERM when bs is
 * read-only, -EACCES when the backing file cannot be written.
 */
int commit_to_backing(BlockDriverState *bs, Error **errp);

#endif
