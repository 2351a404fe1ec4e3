/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commit job (include/block/commit.h).
 *
 * Below the active layer the end is as a stream's (block/stream.c):
 * base flushed, then overlay's header, then the graph; a header that
 * cannot be written fails the job with the chain as it was (base holds
 * a copy of what top showed, which nobody reads through base yet).
 */
#include <errno.h>
#include <string.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "block/chain-copy.h"
#include "block/commit.h"
#include "block/mirror.h"
#include "block/permission.h"
#include "util/main-loop.h"
#include "trace.h"

typedef struct CommitJob {
    Job common;
    ChainCopy copy;
    BlockBackend *base_blk;     /* the job's writable user of base */
    BlockDriverState *top;      /* a reference each, until clean */
    BlockDriverState *base;
    BlockDriverState *overlay;
    char *backing_file;
    bool base_made_writable;
    bool overlay_made_writable;
} CommitJob;

static int commit_run(Job *job, Error **errp)
{
    return chain_copy_run(&((CommitJob *)job)->copy, errp);
}

static int commit_prepare(Job *job, Error **errp)
{
    CommitJob *s = (CommitJob *)job;
    const char *name = s->backing_file ? s->backing_file
                                       : bdrv_get_filename(s->base);
    int ret = blk_flush(s->base_blk, errp);

    if (ret < 0) {
        return ret;
    }
    if (!bdrv_change_backing_file(s->overlay, name,
                                  bdrv_get_format_name(s->base), errp)) {
        return -EIO;
    }
    bdrv_drain_all();
    trace_commit_drop_chain(job->id, s->overlay->node_name,
                            s->top->node_name, s->base->node_name);
    bdrv_child_set_bs(s->overlay->backing, s->base);
    bdrv_drop_perms(s->overlay);
    return 0;
}

/* A node made writable for the job goes back (a warning if it cannot). */
static void commit_restore_read_only(BlockDriverState *bs, bool *made)
{
    Error *err = NULL;

    if (*made && !bdrv_make_read_only(bs, &err)) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
    *made = false;
}

static void commit_clean(Job *job)
{
    CommitJob *s = (CommitJob *)job;

    blk_unref(s->base_blk);
    s->base_blk = NULL;
    commit_restore_read_only(s->base, &s->base_made_writable);
    commit_restore_read_only(s->overlay, &s->overlay_made_writable);
    bdrv_unref(s->overlay);
    s->overlay = NULL;
    bdrv_unref(s->base);
    s->base = NULL;
    bdrv_unref(s->top);
    s->top = NULL;
}

static void commit_free(Job *job)
{
    g_free(((CommitJob *)job)->backing_file);
}

static const JobDriver commit_driver = {
    .type = JOB_TYPE_COMMIT,
    .is_block_job = true,
    .run = commit_run,
    .prepare = commit_prepare,
    .clean = commit_clean,
    .free = commit_free,
};

/* Makes bs writable if it is not; *made says whether this did it. */
static bool commit_make_writable(BlockDriverState *bs, bool *made,
                                 Error **errp)
{
    *made = false;
    if (!bdrv_is_read_only(bs)) {
        return true;
    }
    if (!bdrv_make_writable(bs, errp)) {
        return false;
    }
    *made = true;
    return true;
}

/* The active layer: a mirror of top into base that shows as a commit. */
static Job *commit_active_start(const CommitParams *p, Error **errp)
{
    MirrorParams m = {
        .job_id = p->job_id,
        .source = p->top,
        .target = p->base,
        .sync = MIRROR_SYNC_MODE_TOP,
        .speed = p->speed,
        .on_source_error = p->on_error,
        .on_target_error = p->on_error,
        .unmap = true,
        .auto_finalize = p->auto_finalize,
        .auto_dismiss = p->auto_dismiss,
        .active_commit = true,
    };
    GSList *hold;
    Job *job;

    if (!commit_make_writable(p->base, &m.target_made_writable, errp)) {
        return NULL;
    }
    hold = bdrv_chain_rewrite_hold(p->top, p->base);
    job = mirror_start(&m, errp);
    if (!job) {
        bdrv_chain_rewrite_release(hold);
        commit_restore_read_only(p->base, &m.target_made_writable);
        return NULL;
    }
    job->chain_hold = hold;
    /* The mirror holds top and base; the images between are the job's
     * too (they leave the chain with top). */
    for (BlockDriverState *n = bdrv_backing_bs(p->top); n && n != p->base;
         n = bdrv_backing_bs(n)) {
        block_job_add_node(job, n);
    }
    return job;
}

/* The base grows to top's size if it is smaller, as QEMU's does. */
static bool commit_grow_base(BlockBackend *blk, int64_t size, Error **errp)
{
    int64_t len = blk_getlength(blk);

    if (len < 0) {
        g_autofree char *d = bdrv_describe(blk_bs(blk));

        error_setg_errno(errp, (int)-len, "%s: cannot get its size", d);
        return false;
    }
    return len >= size || blk_truncate(blk, (uint64_t)size, errp) == 0;
}

/* Below the active layer: one pass, then the overlay points at base. */
static Job *commit_pass_start(const CommitParams *p, int64_t size,
                              Error **errp)
{
    g_autofree char *user = g_strdup_printf("block job '%s'", p->job_id);
    bool base_made = false, overlay_made = false;
    BlockBackend *blk = NULL;
    CommitJob *s = NULL;
    GSList *hold;

    if (!p->backing_file && !*bdrv_get_filename(p->base)) {
        g_autofree char *d = bdrv_describe(p->base);

        error_setg(errp, "%s has no file name to record as the backing "
                   "file of '%s'", d, p->overlay->node_name);
        return NULL;
    }
    hold = bdrv_chain_rewrite_hold(p->overlay, p->base);
    if (commit_make_writable(p->base, &base_made, errp) &&
        commit_make_writable(p->overlay, &overlay_made, errp) &&
        (blk = blk_new(NULL, p->base, true, false, errp)) &&
        commit_grow_base(blk, size, errp)) {
        s = job_create(p->job_id, &commit_driver, sizeof(CommitJob),
                       p->auto_finalize, p->auto_dismiss, errp);
    }
    if (!s) {
        blk_unref(blk);
        bdrv_chain_rewrite_release(hold);
        commit_restore_read_only(p->overlay, &overlay_made);
        commit_restore_read_only(p->base, &base_made);
        return NULL;
    }
    blk_set_user(blk, user);
    s->common.chain_hold = hold;
    s->base_blk = blk;
    s->top = p->top;
    s->base = p->base;
    s->overlay = p->overlay;
    bdrv_ref(s->top);
    bdrv_ref(s->base);
    bdrv_ref(s->overlay);
    s->backing_file = g_strdup(p->backing_file);
    s->base_made_writable = base_made;
    s->overlay_made_writable = overlay_made;
    block_job_add_node(&s->common, p->overlay);
    for (BlockDriverState *n = p->top; n; n = bdrv_backing_bs(n)) {
        block_job_add_node(&s->common, n);
        if (n == p->base) {
            break;
        }
    }
    s->common.speed = p->speed;
    s->copy = (ChainCopy) {
        .job = &s->common,
        .top = p->top,
        .from = p->top,
        .base = p->base,
        .dest_blk = blk,
        .on_error = p->on_error,
        .size = (uint64_t)size,
    };
    /* query-block-jobs shows the work from the start. */
    job_progress_set_remaining(&s->common, s->copy.size);
    job_start(&s->common);
    return &s->common;
}

Job *commit_start(const CommitParams *p, Error **errp)
{
    int64_t size = bdrv_getlength(p->top);

    /* QEMU's order: the ID, then the speed. */
    if (!job_check_id(p->job_id, errp)) {
        return NULL;
    }
    if (p->speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return NULL;
    }
    if (size < 0) {
        g_autofree char *d = bdrv_describe(p->top);

        error_setg_errno(errp, (int)-size, "%s: cannot get its size", d);
        return NULL;
    }
    trace_commit_start(p->job_id, p->top->node_name, p->base->node_name,
                       p->overlay ? p->overlay->node_name : "");
    return p->overlay ? commit_pass_start(p, size, errp)
                      : commit_active_start(p, errp);
}

int commit_to_backing(BlockDriverState *bs, Error **errp)
{
    BlockDriverState *backing = bdrv_backing_bs(bs);
    int64_t size = bdrv_getlength(bs);
    bool made = false;
    BlockBackend *blk;
    GSList *hold;
    ChainCopy c;
    int ret;

    if (!backing) {
        error_setg_errno(errp, ENOTSUP, "%s has no backing file",
                         bdrv_get_node_name(bs));
        return -ENOTSUP;
    }
    if (!block_job_check_node(bs, errp) ||
        !block_job_check_node(backing, errp)) {
        return -EBUSY;
    }
    if (bdrv_is_read_only(bs)) {
        /* It is emptied at the end; QEMU's words. */
        error_setg(errp, "Block node is read-only");
        return -EPERM;
    }
    if (size < 0) {
        error_setg_errno(errp, (int)-size, "Could not get the size of '%s'",
                         bdrv_get_node_name(bs));
        return (int)size;
    }
    if (!commit_make_writable(backing, &made, errp)) {
        return -EACCES;
    }
    hold = bdrv_chain_rewrite_hold(bs, backing);
    blk = blk_new(NULL, backing, true, false, errp);
    if (!blk) {
        bdrv_chain_rewrite_release(hold);
        commit_restore_read_only(backing, &made);
        return -EBUSY;
    }
    blk_set_user(blk, "commit");
    /* The guest's requests in flight end first; new ones need the BQL. */
    bdrv_drain_all();
    c = (ChainCopy) {
        .top = bs, .from = bs, .base = backing, .dest_blk = blk,
        .size = (uint64_t)size,
    };
    ret = commit_grow_base(blk, size, errp) ? 0 : -EIO;
    if (ret == 0) {
        ret = chain_copy_run(&c, errp);
    }
    if (ret == 0) {
        ret = blk_flush(blk, errp);
    }
    /* Everything is in the backing file: the overlay shows it through. */
    if (ret == 0 && bs->drv->make_empty) {
        ret = bdrv_make_empty(bs, errp);
    }
    if (ret == 0) {
        ret = bdrv_flush(bs, errp);
    }
    trace_commit_to_backing(bs->node_name, backing->node_name, ret);
    blk_unref(blk);
    bdrv_chain_rewrite_release(hold);
    commit_restore_read_only(backing, &made);
    return ret;
}
