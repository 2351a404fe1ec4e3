/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mirror job: copies a source node to a target node while the guest
 * keeps writing the source, then (block-job-complete) switches every user
 * of the source to the target. block/mirror.c has how; the commands that
 * start it (drive-mirror, blockdev-mirror) are in block/mirror-qmp.c.
 * An active commit (block-commit of the active image) is this job too,
 * with the source's own base as its target.
 */
#ifndef BLOCK_MIRROR_H
#define BLOCK_MIRROR_H

#include "block/job.h"
#include "block/block.h"

typedef struct MirrorParams {
    const char *job_id;
    BlockDriverState *source;
    BlockDriverState *target;   /* the job takes its own reference */
    MirrorSyncMode sync;
    int64_t speed;
    uint32_t granularity;       /* 0: the default */
    int64_t buf_size;           /* 0: the default */
    BlockdevOnError on_source_error;
    BlockdevOnError on_target_error;
    bool unmap;
    /* The target reads zeroes wherever nothing is copied (a new image
     * without backing), so zero stretches of the source need no write. */
    bool target_is_zero;
    bool auto_finalize;
    bool auto_dismiss;
    /* copy-mode=write-blocking: every guest write reaches the target
     * before it completes, from the start, so a busy source converges. */
    bool write_blocking;
    /*
     * An active commit (block/commit.c): the target is a node below the
     * source in its backing chain. Only what the chain holds above it is
     * copied, the job is a 'commit' job, the target only ever grows to
     * the source's size, and block-job-complete moves the source's users
     * onto it. target_made_writable: the target was read-only and was
     * made writable for the job; it goes back to read-only when the job
     * ends without that switch.
     */
    bool active_commit;
    bool target_made_writable;
} MirrorParams;

/* Checks the parameters and starts the job. BQL. */
Job *mirror_start(const MirrorParams *p, Error **errp);

#endif
