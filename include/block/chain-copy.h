/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one pass over a disk that block-stream and block-commit (below the
 * active layer) make: every stretch that a run of backing-chain nodes
 * allocates is read as the chain's top shows it and written to another
 * node.
 *
 *   stream:  top  <- copy --  from = top's backing ... (base)
 *            written into top with BDRV_REQ_ONLY_UNALLOCATED, so a
 *            cluster the guest writes meanwhile keeps the guest's data
 *   commit:  from = top ... --copy-> base, through the job's writable
 *            user of base; nothing writes top meanwhile (it is a
 *            read-only backing file), so what top shows is stable
 *
 * The pass runs on the job's thread (include/block/job.h): it passes a
 * pause point between stretches, honours the job's speed, counts the
 * whole disk as the job's work (as QEMU's stream and commit report it)
 * and applies the on-error policy:
 *   report  the job fails with the error
 *   stop    the job pauses (io-status failed or nospace); resumed, it
 *           tries the stretch again
 *   enospc  stop on ENOSPC, report otherwise
 *   ignore  the stretch is left, the pass goes on, and the job fails at
 *           the end with the first such error (the chain must not lose
 *           the data a stretch was missing)
 * The active commit is not a pass but a mirror (block/mirror.h).
 *
 * Without a job (HMP's commit, which holds the BQL throughout) the pass
 * runs on the caller's thread, unpaced, and stops at the first error.
 */
#ifndef BLOCK_CHAIN_COPY_H
#define BLOCK_CHAIN_COPY_H

#include "block/block-backend.h"
#include "block/job.h"

typedef struct ChainCopy {
    Job *job;                   /* NULL: a synchronous pass */
    BlockDriverState *top;      /* read through, as the guest sees it */
    BlockDriverState *from;     /* the highest node whose data is copied */
    BlockDriverState *base;     /* it and below stay; NULL: whole chain */
    /* Where to: a stream's top (node level, copy-up writes) ... */
    BlockDriverState *dest;
    /* ... or a commit's base, through the job's user of it. */
    BlockBackend *dest_blk;
    BlockdevOnError on_error;
    uint64_t size;              /* of top */
} ChainCopy;

/* Job thread (or the caller's): 0 when every stretch was copied, else
 * -errno and *errp. */
int chain_copy_run(ChainCopy *c, Error **errp);

#endif
