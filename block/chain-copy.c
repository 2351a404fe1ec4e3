/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pass of block-stream and block-commit (include/block/chain-copy.h).
 */
#include <errno.h>
#include <string.h>
#include "block/backing-chain.h"
#include "block/blockjob.h"
#include "block/chain-copy.h"
#include "trace.h"

/* The most one step reads and writes. */
#define CHAIN_COPY_CHUNK    (1 << 20)

static bool buf_is_zero(const uint8_t *buf, uint64_t len)
{
    return len == 0 || (buf[0] == 0 && !memcmp(buf, buf + 1, len - 1));
}

/* Copies one stretch; *is_read tells which side failed. */
static int chain_copy_stretch(ChainCopy *c, uint64_t off, uint64_t n,
                              uint8_t *buf, bool *is_read, Error **errp)
{
    int ret;

    *is_read = true;
    ret = bdrv_pread(c->top, off, n, buf, errp);
    if (ret < 0) {
        return ret;
    }
    *is_read = false;
    if (!c->dest_blk) {
        return bdrv_pwrite(c->dest, off, n, buf, BDRV_REQ_ONLY_UNALLOCATED,
                           errp);
    }
    /* Zeroes of the chain become zeroes of the base, not data. */
    if (buf_is_zero(buf, n)) {
        return blk_pwrite_zeroes(c->dest_blk, off, n, 0, errp);
    }
    return blk_pwrite(c->dest_blk, off, n, buf, 0, errp);
}

/*
 * How much from off needs no copy: a stream's top holds it already.
 * 0 when the stretch at off must be looked at further.
 */
static int chain_copy_held_by_dest(ChainCopy *c, uint64_t off, uint64_t n,
                                   uint64_t *held)
{
    uint64_t pnum = 0;
    int st;

    *held = 0;
    if (c->dest_blk) {
        return 0;
    }
    st = bdrv_block_status(c->top, off, n, &pnum, NULL, NULL);
    if (st < 0) {
        return st;
    }
    if (st & BDRV_BLOCK_ALLOCATED) {
        *held = pnum;
    }
    return 0;
}

/* Job thread: whether the job is cancelled, after its pause point. */
static bool chain_copy_stop(ChainCopy *c)
{
    if (!c->job) {
        return false;
    }
    job_pause_point(c->job);
    return job_is_cancelled(c->job);
}

/* Waits as the job's speed says before copying bytes. */
static bool chain_copy_ratelimit(ChainCopy *c, uint64_t bytes)
{
    int64_t delay = c->job ? job_ratelimit_delay(c->job, bytes) : 0;

    if (delay > 0) {
        job_sleep_ns(c->job, delay);
        return !job_is_cancelled(c->job);
    }
    return true;
}

int chain_copy_run(ChainCopy *c, Error **errp)
{
    Job *job = c->job;
    g_autofree uint8_t *buf = g_malloc(CHAIN_COPY_CHUNK);
    Error *ignored = NULL;
    int ignored_ret = 0;
    uint64_t off = 0;

    if (job) {
        job_progress_set_remaining(job, c->size);
    }
    while (off < c->size) {
        uint64_t n = MIN(CHAIN_COPY_CHUNK, c->size - off), held;
        Error *err = NULL;
        bool is_read = true;
        int ret;

        if (chain_copy_stop(c)) {
            error_free(ignored);
            return -ECANCELED;
        }
        ret = chain_copy_held_by_dest(c, off, n, &held);
        if (ret == 0 && held) {
            n = held;
        } else if (ret == 0) {
            ret = bdrv_is_allocated_above(c->from, c->base, off, n, &n);
            if (ret == 1) {
                if (!chain_copy_ratelimit(c, n)) {
                    error_free(ignored);
                    return -ECANCELED;
                }
                trace_chain_copy(job ? job->id : "", off, n);
                ret = chain_copy_stretch(c, off, n, buf, &is_read, &err);
            }
        }
        if (ret < 0) {
            BlockErrorAction action = BLOCK_ERROR_ACTION_REPORT;

            if (!err) {
                error_setg_errno(&err, -ret, "Could not tell what the "
                                 "backing chain holds at offset %"
                                 G_GUINT64_FORMAT, off);
            }
            if (job) {
                action = block_job_error_action(job, c->on_error, is_read,
                                                ret);
            }
            if (action == BLOCK_ERROR_ACTION_REPORT) {
                error_free(ignored);
                error_propagate(errp, err);
                return ret;
            }
            if (action == BLOCK_ERROR_ACTION_STOP) {
                /* Parked at the next pause point; then this again. */
                error_free(err);
                continue;
            }
            if (!ignored) {
                ignored = err;
                ignored_ret = ret;
            } else {
                error_free(err);
            }
        }
        off += n;
        if (job) {
            job_progress_update(job, n);
        }
    }
    if (ignored) {
        error_propagate(errp, ignored);
        return ignored_ret;
    }
    return 0;
}
