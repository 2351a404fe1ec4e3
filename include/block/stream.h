/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The stream job (QEMU's block-stream): copies into an image what its
 * backing chain holds above a base, then makes the base its backing
 * file, in its header and in the graph, so the nodes in between leave
 * the chain:
 *
 *   before:  device --> top --> n1 --> n2 --> base
 *   after:   device --> top -----------------> base   (n1, n2 dropped;
 *            closed unless someone else holds them, e.g. the monitor)
 *
 * The guest keeps reading and writing top; the copy writes only the
 * clusters top does not hold (BDRV_REQ_ONLY_UNALLOCATED), so a guest
 * write is never undone. The pass is block/chain-copy.c's; the command
 * is block/stream-qmp.c.
 */
#ifndef BLOCK_STREAM_H
#define BLOCK_STREAM_H

#include "block/job.h"
#include "block/block.h"

typedef struct StreamParams {
    const char *job_id;
    BlockDriverState *top;
    BlockDriverState *base;     /* NULL: the whole chain */
    /* The name to record in top's header (NULL: base's file name). */
    const char *backing_file;
    int64_t speed;
    BlockdevOnError on_error;
    bool auto_finalize;
    bool auto_dismiss;
} StreamParams;

/*
 * Starts the job: the nodes from top down to base (excluded) become
 * the job's, and a read-only top is made writable for it (read-only
 * again at the end). BQL; the caller checked the nodes are free.
 */
Job *stream_start(const StreamParams *p, Error **errp);

#endif
