/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block side of the job core (include/block/job.h): what
 * query-block-jobs shows, the BLOCK_JOB_* events, and the error policy
 * of a job's requests (on-source-error / on-target-error).
 */
#ifndef BLOCK_BLOCKJOB_H
#define BLOCK_BLOCKJOB_H

#include "block/block.h"
#include "block/job.h"

/*
 * A job's request failed with -errno ret: decides what to do by policy
 * (report, ignore, stop, enospc; auto is enospc), sends BLOCK_JOB_ERROR,
 * and for stop pauses the job with its I/O status set (block-job-resume
 * clears it). Job thread; takes the BQL.
 */
BlockErrorAction block_job_error_action(Job *job, BlockdevOnError policy,
                                        bool is_read, int ret);

/*
 * The nodes a job works on (QEMU's op blockers, as one list): a source,
 * a target, every node of a chain a stream or commit changes. A node
 * belongs to one job at a time. BQL.
 */
void block_job_add_node(Job *job, BlockDriverState *bs);
/* The job that holds bs, or NULL. */
Job *block_job_of_node(const BlockDriverState *bs);
/*
 * Whether bs is free of jobs; else QEMU's "Node 'NAME' is busy: block
 * device is in use by block job: TYPE" (NAME: the drive bs is the root
 * of, else the node).
 */
bool block_job_check_node(const BlockDriverState *bs, Error **errp);

#endif
