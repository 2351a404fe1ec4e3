/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mirror job (include/block/mirror.h).
 *
 * Dirty tracking: a write notifier on the source node (block/io.c calls
 * it after every write, zero-write and discard, on the request's thread)
 * marks what changed in a dirty bitmap of the job's granularity. The copy
 * takes a run of dirty granules (clearing their bits first), reads it
 * from the source and writes it to the target; a guest write that ends
 * after the bits were cleared sets them again, so the run is copied again
 * later. Nothing the guest wrote is lost whatever the interleaving.
 *
 * The copy runs off the main loop: the job's thread picks runs and hands
 * them to a pool of copy threads, with at most MIRROR_MAX_OPS operations
 * and buf-size bytes in flight; speed is enforced by the job core's rate
 * limit before each operation.
 *
 *   sync=full  everything dirty at the start (stretches that read as
 *              zeroes become write-zeroes, or nothing on a new target)
 *   sync=top   what the source node allocates itself
 *   sync=none  nothing: only what is written from now on
 *
 * When nothing is dirty and nothing in flight the job is ready
 * (BLOCK_JOB_READY) and keeps copying what the guest writes. Completion
 * (block-job-complete, or block-job-cancel of a ready job without force)
 * converges: with the BQL held the source's users are drained (no new
 * request can start without the BQL), and if nothing is dirty then, the
 * notifier switches to writing every change through to the target as
 * well, and the job's work is over. Finalize (main loop) drains again,
 * removes the notifier, copies what a failed write-through or a discard
 * left dirty, flushes the target and, after block-job-complete, moves
 * every user of the source to the target (blk_replace_node).
 *
 * copy-mode=write-blocking writes every change through from the start,
 * so a source written faster than the copy still converges: a guest
 * write completes once it is on both. The background copy goes on for
 * what was there before. A copy of an overlapping stretch that is in
 * flight when the write is done may have read the source before it and
 * reach the target after it; the write then also marks the stretch
 * dirty, to be copied again. A copy that starts later reads the write.
 */
#include <errno.h>
#include <string.h>
#include "block/backing-chain.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "block/dirty-bitmap.h"
#include "block/mirror.h"
#include "block/permission.h"
#include "util/main-loop.h"
#include "trace.h"

#define MIRROR_MAX_OPS          16
#define MIRROR_DEFAULT_BUF      (16 << 20)
#define MIRROR_OP_BYTES         (1 << 20)   /* per operation, at most */
#define MIRROR_DEFAULT_GRAN     (64 << 10)
#define MIRROR_IDLE_NS          (20 * 1000 * 1000LL)
#define MIRROR_OP_WAIT_US       (50 * 1000)

typedef struct MirrorJob {
    Job common;
    BlockBackend *src;          /* read-only, anonymous */
    BlockBackend *tgt;          /* the target's only writer until the switch */
    BlockDriverState *source;   /* a reference each */
    BlockDriverState *target;
    MirrorSyncMode sync;
    BlockdevOnError on_source_error;
    BlockdevOnError on_target_error;
    bool unmap;
    /*
     * Granules of a new, zero target that nothing has written yet: a
     * stretch of the source that reads as zeroes needs no write there.
     * Anything written to the target (a copy, a write-through) clears
     * its granules first, so a stretch the guest zeroes after its data
     * was copied is written. NULL when the target is not known zero.
     */
    BdrvDirtyBitmap *untouched;
    uint64_t size;
    uint64_t buf_size;
    uint64_t op_bytes;
    BdrvDirtyBitmap *dirty;
    BdrvWriteNotifier notifier;
    bool notifier_added;        /* BQL */
    GThreadPool *pool;

    /* BQL */
    bool should_complete;       /* block-job-complete: switch at the end */
    bool soft_cancelled;        /* cancel of a ready job: no switch */
    bool switched;              /* the source's users are on the target */

    /* An active commit (include/block/mirror.h); BQL. */
    bool active_commit;
    bool target_made_writable;

    /* After convergence: the notifier writes changes through (atomic). */
    int write_through;
    bool write_blocking;        /* copy-mode=write-blocking: from the start */

    /* Copy operations in flight, and the first failure not yet handled. */
    GMutex op_lock;
    GCond op_cond;
    GQueue ops;                 /* MirrorOp *, the copies in flight */
    uint64_t bytes_in_flight;
    Error *op_err;
    int op_ret;
    bool op_err_read;
} MirrorJob;

typedef struct MirrorOp {
    MirrorJob *s;
    uint64_t offset;
    uint64_t bytes;
} MirrorOp;

static const JobDriver mirror_driver;

/* ---- the write notifier (request threads) ---- */

/* Whether a copy in flight covers part of [offset, offset + bytes). */
static bool mirror_copy_in_flight(MirrorJob *s, uint64_t offset,
                                  uint64_t bytes)
{
    bool found = false;

    g_mutex_lock(&s->op_lock);
    for (GList *l = s->ops.head; l && !found; l = l->next) {
        const MirrorOp *op = l->data;

        found = op->offset < offset + bytes && offset < op->offset + op->bytes;
    }
    g_mutex_unlock(&s->op_lock);
    return found;
}

static void mirror_write_notify(void *opaque, BdrvWriteKind kind,
                                uint64_t offset, uint64_t bytes,
                                BlockIov *qiov, int flags, int ret)
{
    MirrorJob *s = opaque;

    if (ret == 0 && kind != BDRV_WRITE_DISCARD &&
        (s->write_blocking || g_atomic_int_get(&s->write_through))) {
        /* Looked at before the write-through (see the header). */
        bool racing = mirror_copy_in_flight(s, offset, bytes);
        int r;

        if (s->untouched) {
            bdrv_dirty_bitmap_clear(s->untouched, offset, bytes);
        }
        r = kind == BDRV_WRITE_DATA
                ? blk_pwritev(s->tgt, offset, qiov, flags & BDRV_REQ_FUA,
                              NULL)
                : blk_pwrite_zeroes(s->tgt, offset, bytes,
                                    flags & BDRV_REQ_MAY_UNMAP, NULL);

        if (r == 0 && !racing) {
            return;
        }
        if (r < 0) {
            /* Copied again, or finalize fails naming the target. */
            trace_mirror_write_through_failed(s->common.id, offset, bytes, r);
        }
    }
    bdrv_dirty_bitmap_set(s->dirty, offset, bytes);
}

/* ---- copying ---- */

/*
 * Copies [offset, offset + bytes) as a reader of the source sees it:
 * stretches that read as zeroes become write-zeroes (or nothing on a
 * target known to be zero), the rest is read and written. Any thread.
 */
static int mirror_copy(MirrorJob *s, uint64_t offset, uint64_t bytes,
                       bool *is_read, Error **errp)
{
    g_autofree void *buf = NULL;
    uint64_t done = 0;

    while (done < bytes) {
        uint64_t off = offset + done, pnum = 0;
        int st = bdrv_block_status_above(s->source, off, bytes - done,
                                         &pnum);
        int ret;

        if (st < 0 || pnum == 0) {
            st = BDRV_BLOCK_DATA;   /* unknown: copy the bytes */
            pnum = bytes - done;
        }
        pnum = MIN(pnum, bytes - done);
        if (!(st & BDRV_BLOCK_DATA) && s->untouched &&
            bdrv_dirty_bitmap_all_set(s->untouched, off, pnum)) {
            ret = 0;    /* zeroes onto zeroes */
        } else if (!(st & BDRV_BLOCK_DATA)) {
            *is_read = false;
            if (s->untouched) {
                bdrv_dirty_bitmap_clear(s->untouched, off, pnum);
            }
            ret = blk_pwrite_zeroes(s->tgt, off, pnum,
                                    s->unmap ? BDRV_REQ_MAY_UNMAP : 0, errp);
        } else {
            if (!buf) {
                buf = g_malloc(bytes);
            }
            *is_read = true;
            ret = blk_pread(s->src, off, pnum, buf, errp);
            if (ret == 0) {
                *is_read = false;
                if (s->untouched) {
                    bdrv_dirty_bitmap_clear(s->untouched, off, pnum);
                }
                ret = blk_pwrite(s->tgt, off, pnum, buf, 0, errp);
            }
        }
        if (ret < 0) {
            return ret;
        }
        done += pnum;
    }
    return 0;
}

/* A copy thread: one operation, then its accounting. */
static void mirror_op_fn(gpointer data, gpointer unused)
{
    MirrorOp *op = data;
    MirrorJob *s = op->s;
    Error *err = NULL;
    bool is_read = false;
    int ret = mirror_copy(s, op->offset, op->bytes, &is_read, &err);

    trace_mirror_op_done(s->common.id, op->offset, op->bytes, ret);
    g_mutex_lock(&s->op_lock);
    if (ret < 0) {
        /* Not copied: dirty again, for a retry or for the record. */
        bdrv_dirty_bitmap_set(s->dirty, op->offset, op->bytes);
        if (!s->op_err) {
            s->op_err = err;
            s->op_ret = ret;
            s->op_err_read = is_read;
            err = NULL;
        }
    } else {
        job_progress_update(&s->common, op->bytes);
    }
    s->bytes_in_flight -= op->bytes;
    g_queue_remove(&s->ops, op);
    g_cond_broadcast(&s->op_cond);
    g_mutex_unlock(&s->op_lock);
    error_free(err);
    g_free(op);
}

/* Job thread: waits a little for an operation to end. */
static void mirror_wait_op(MirrorJob *s)
{
    g_mutex_lock(&s->op_lock);
    if (!g_queue_is_empty(&s->ops)) {
        g_cond_wait_until(&s->op_cond, &s->op_lock,
                          g_get_monotonic_time() + MIRROR_OP_WAIT_US);
    }
    g_mutex_unlock(&s->op_lock);
}

static void mirror_wait_all(MirrorJob *s)
{
    g_mutex_lock(&s->op_lock);
    while (!g_queue_is_empty(&s->ops)) {
        g_cond_wait(&s->op_cond, &s->op_lock);
    }
    g_mutex_unlock(&s->op_lock);
}

/*
 * A failed operation: applies the error policy. Returns the error to end
 * the job with (report), or 0 to carry on (ignore, or stop: the job parks
 * at its next pause point and retries when resumed).
 */
static int mirror_handle_error(MirrorJob *s, Error **errp)
{
    Error *err;
    int ret;
    bool is_read;

    g_mutex_lock(&s->op_lock);
    err = s->op_err;
    ret = s->op_ret;
    is_read = s->op_err_read;
    s->op_err = NULL;
    g_mutex_unlock(&s->op_lock);
    if (!err) {
        return 0;
    }
    if (block_job_error_action(&s->common, is_read ? s->on_source_error
                                                   : s->on_target_error,
                               is_read, ret) == BLOCK_ERROR_ACTION_REPORT) {
        error_propagate(errp, err);
        return ret;
    }
    error_free(err);
    /* Ignored: do not spin on an error that repeats. */
    job_sleep_ns(&s->common, MIRROR_IDLE_NS);
    return 0;
}

/* What sync= says to copy first. Job thread. */
static void mirror_dirty_init(MirrorJob *s)
{
    if (s->sync == MIRROR_SYNC_MODE_FULL ||
        (s->sync == MIRROR_SYNC_MODE_TOP && !bdrv_backing_bs(s->source))) {
        bdrv_dirty_bitmap_set(s->dirty, 0, s->size);
        return;
    }
    if (s->sync == MIRROR_SYNC_MODE_NONE) {
        return;
    }
    /* sync=top: what the source holds above its backing file; an
     * active commit: what the chain holds above the target. */
    for (uint64_t off = 0; off < s->size;) {
        uint64_t pnum = 0;
        int st = bdrv_is_allocated_above(s->source,
                                         s->active_commit
                                         ? s->target
                                         : bdrv_backing_bs(s->source),
                                         off, s->size - off, &pnum);

        if (st < 0 || pnum == 0) {
            /* Unknown: copying too much is safe, too little is not. */
            st = 1;
            pnum = s->size - off;
        }
        if (st) {
            bdrv_dirty_bitmap_set(s->dirty, off, pnum);
        }
        off += pnum;
    }
}

/* Job thread: a completion or a soft cancel is asked. */
static bool mirror_should_finish(MirrorJob *s)
{
    BQL_LOCK_GUARD();
    return s->should_complete || s->soft_cancelled;
}

/*
 * Job thread, nothing in flight, nothing dirty a moment ago: stops the
 * source's users (BQL, drained) and, if still nothing is dirty, turns on
 * write-through; the target is then in sync for good.
 */
static bool mirror_converge(MirrorJob *s)
{
    bool ok;

    BQL_LOCK_GUARD();
    blk_drain_node(s->source);
    g_mutex_lock(&s->op_lock);
    ok = !s->op_err && bdrv_dirty_bitmap_count(s->dirty) == 0;
    g_mutex_unlock(&s->op_lock);
    if (ok) {
        g_atomic_int_set(&s->write_through, 1);
    }
    trace_mirror_converge(s->common.id, ok);
    return ok;
}

static int mirror_run(Job *job, Error **errp)
{
    MirrorJob *s = (MirrorJob *)job;
    uint64_t cursor = 0;
    bool ready = false;
    int ret = 0;

    mirror_dirty_init(s);
    job_progress_set_remaining(job, bdrv_dirty_bitmap_count(s->dirty));
    for (;;) {
        uint64_t dirty, in_flight, off, n;
        int ops;
        int64_t delay;
        MirrorOp *op;

        job_pause_point(job);
        if (job_is_cancelled(job)) {
            ret = -ECANCELED;
            break;
        }
        ret = mirror_handle_error(s, errp);
        if (ret < 0) {
            break;
        }
        dirty = bdrv_dirty_bitmap_count(s->dirty);
        g_mutex_lock(&s->op_lock);
        ops = g_queue_get_length(&s->ops);
        in_flight = s->bytes_in_flight;
        g_mutex_unlock(&s->op_lock);
        job_progress_set_remaining(job, dirty + in_flight);

        if (!dirty) {
            if (ops) {
                mirror_wait_op(s);
                continue;
            }
            if (!ready) {
                job_transition_to_ready(job);
                ready = true;
            }
            if (mirror_should_finish(s) && mirror_converge(s)) {
                break;
            }
            job_sleep_ns(job, MIRROR_IDLE_NS);
            continue;
        }
        if (ops >= MIRROR_MAX_OPS ||
            in_flight + s->op_bytes > s->buf_size) {
            mirror_wait_op(s);
            continue;
        }
        off = cursor;
        n = bdrv_dirty_bitmap_take_run(s->dirty, &off, s->op_bytes);
        if (!n) {
            continue;
        }
        cursor = off + n;
        delay = job_ratelimit_delay(job, n);
        if (delay > 0) {
            /* Taken and not copied yet: a write meanwhile re-dirties
             * it, a cancel drops it (the job ends anyway). */
            job_sleep_ns(job, delay);
        }
        op = g_new0(MirrorOp, 1);
        op->s = s;
        op->offset = off;
        op->bytes = n;
        g_mutex_lock(&s->op_lock);
        s->bytes_in_flight += n;
        g_queue_push_tail(&s->ops, op);
        g_mutex_unlock(&s->op_lock);
        trace_mirror_op_start(job->id, off, n);
        g_thread_pool_push(s->pool, op, NULL);
    }
    mirror_wait_all(s);
    return ret;
}

/* ---- the end, main loop ---- */

static bool mirror_complete(Job *job, Error **errp)
{
    MirrorJob *s = (MirrorJob *)job;

    s->should_complete = true;
    return true;
}

static bool mirror_soft_cancel(Job *job, bool force)
{
    MirrorJob *s = (MirrorJob *)job;

    if (force || !job_is_ready(job)) {
        return false;
    }
    s->soft_cancelled = true;
    return true;
}

static void mirror_remove_notifier(MirrorJob *s)
{
    if (s->notifier_added) {
        bdrv_remove_write_notifier(s->source, &s->notifier);
        s->notifier_added = false;
    }
}

static int mirror_prepare(Job *job, Error **errp)
{
    MirrorJob *s = (MirrorJob *)job;
    uint64_t off = 0, n;
    int ret;

    /* No request on the source from here to the switch (BQL held). */
    blk_drain_node(s->source);
    mirror_remove_notifier(s);
    while ((n = bdrv_dirty_bitmap_take_run(s->dirty, &off, s->op_bytes))) {
        bool is_read;

        ret = mirror_copy(s, off, n, &is_read, errp);
        if (ret < 0) {
            return ret;
        }
        job_progress_update(job, n);
    }
    ret = blk_flush(s->tgt, errp);
    if (ret < 0) {
        return ret;
    }
    /* BLOCK_JOB_COMPLETED: len == offset, the leftovers counted. */
    job_progress_set_remaining(job, 0);
    if (s->should_complete && !s->soft_cancelled) {
        trace_mirror_switch(job->id, s->source->node_name,
                            s->target->node_name);
        /* The mirror's own source user goes first (blk_replace_node
         * moves every user of the source). Its target user stays until
         * the devices are on the target: it holds the target's write
         * lock, so that lock never lapses and no other process can take
         * the image between the two. The devices' consistent read is
         * new there: only a process that lets others write the image but
         * not read it could refuse that, and blk_replace_node then
         * warns. */
        blk_unref(s->src);
        s->src = NULL;
        blk_replace_node(s->source, s->target);
        blk_unref(s->tgt);
        s->tgt = NULL;
        s->switched = true;
    }
    return 0;
}

static void mirror_abort(Job *job)
{
    mirror_remove_notifier((MirrorJob *)job);
}

static void mirror_clean(Job *job)
{
    MirrorJob *s = (MirrorJob *)job;

    mirror_remove_notifier(s);
    if (s->pool) {
        g_thread_pool_free(s->pool, FALSE, TRUE);
        s->pool = NULL;
    }
    blk_unref(s->tgt);
    s->tgt = NULL;
    blk_unref(s->src);
    s->src = NULL;
    if (s->target_made_writable && !s->switched) {
        /* A commit's base that stays a backing file: read-only again. */
        Error *err = NULL;

        if (!bdrv_make_read_only(s->target, &err)) {
            warn_report("%s", error_get_pretty(err));
            error_free(err);
        }
    }
    bdrv_unref(s->target);
    s->target = NULL;
    bdrv_unref(s->source);
    s->source = NULL;
}

static void mirror_free(Job *job)
{
    MirrorJob *s = (MirrorJob *)job;

    bdrv_dirty_bitmap_free(s->dirty);
    bdrv_dirty_bitmap_free(s->untouched);
    error_free(s->op_err);
    g_mutex_clear(&s->op_lock);
    g_cond_clear(&s->op_cond);
}

static const JobDriver mirror_driver = {
    .type = JOB_TYPE_MIRROR,
    .is_block_job = true,
    .run = mirror_run,
    .complete = mirror_complete,
    .soft_cancel = mirror_soft_cancel,
    .prepare = mirror_prepare,
    .abort = mirror_abort,
    .clean = mirror_clean,
    .free = mirror_free,
};

/* The same job, shown to the user as the commit it is. */
static const JobDriver active_commit_driver = {
    .type = JOB_TYPE_COMMIT,
    .is_block_job = true,
    .run = mirror_run,
    .complete = mirror_complete,
    .soft_cancel = mirror_soft_cancel,
    .prepare = mirror_prepare,
    .abort = mirror_abort,
    .clean = mirror_clean,
    .free = mirror_free,
};

/* ---- start ---- */

static uint32_t mirror_default_granularity(BlockDriverState *target)
{
    int cs = target->drv->cluster_size ? target->drv->cluster_size(target)
                                       : 0;

    if (cs >= 4096 && !(cs & (cs - 1))) {
        return MIN((uint32_t)cs, MIRROR_DEFAULT_GRAN);
    }
    return MIRROR_DEFAULT_GRAN;
}

static bool mirror_check_params(const MirrorParams *p, uint32_t *gran,
                                uint64_t *buf, Error **errp)
{
    *gran = p->granularity ? p->granularity
                           : mirror_default_granularity(p->target);
    if (*gran < 512 || *gran > (64u << 20) || (*gran & (*gran - 1))) {
        error_setg(errp, "Parameter 'granularity' must be a power of 2 "
                   "from 512 to 64M");
        return false;
    }
    if (p->buf_size < 0) {
        error_setg(errp, "Parameter 'buf-size' must not be negative");
        return false;
    }
    *buf = p->buf_size ? (uint64_t)p->buf_size : MIRROR_DEFAULT_BUF;
    if (*buf < *gran) {
        error_setg(errp, "Parameter 'buf-size' (%" G_GUINT64_FORMAT ") "
                   "must be at least the granularity (%u)", *buf, *gran);
        return false;
    }
    if (p->speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    if (p->source == p->target) {
        error_setg(errp, "Can't mirror node '%s' into itself",
                   p->source->node_name);
        return false;
    }
    return block_job_check_node(p->source, errp) &&
           block_job_check_node(p->target, errp);
}

/* The target's size must be the source's; a target that can be resized
 * (a file) is. A commit's base only grows (it may be longer than top). */
static bool mirror_match_size(BlockBackend *tgt, int64_t size,
                              bool grow_only, Error **errp)
{
    ERRP_GUARD();
    int64_t tlen = blk_getlength(tgt);

    if (tlen == size || (grow_only && tlen > size)) {
        return true;
    }
    if (tlen >= 0 && blk_truncate(tgt, (uint64_t)size, errp) == 0) {
        return true;
    }
    if (*errp) {
        error_prepend(errp, "target size %" G_GINT64_FORMAT " differs from "
                      "the source's (%" G_GINT64_FORMAT "): ", tlen, size);
    } else {
        g_autofree char *d = bdrv_describe(blk_bs(tgt));

        error_setg(errp, "%s: cannot get the target's size", d);
    }
    return false;
}

Job *mirror_start(const MirrorParams *p, Error **errp)
{
    g_autofree char *user = NULL;
    BlockBackend *src = NULL, *tgt = NULL;
    MirrorJob *s;
    uint32_t gran;
    uint64_t buf, tgt_shared;
    int64_t size;

    if (!mirror_check_params(p, &gran, &buf, errp)) {
        return NULL;
    }
    size = bdrv_getlength(p->source);
    if (size < 0) {
        g_autofree char *d = bdrv_describe(p->source);

        error_setg_errno(errp, (int)-size, "%s: cannot get its size", d);
        return NULL;
    }
    /* As QEMU's: the source's other users may write it, not resize it. */
    src = blk_new_perm(NULL, p->source, BLK_PERM_CONSISTENT_READ,
                       BLK_PERM_ALL & ~(uint64_t)BLK_PERM_RESIZE, errp);
    /*
     * And the target's: written by the job alone, and neither read nor
     * resized by anyone else until the pivot, since it is not yet a copy.
     * An active commit's target is the source's own backing file: the
     * chain above reads it throughout (the job only adds what it reads
     * through anyway), so reading is shared there, and writing too, as
     * QEMU shares it (another share-rw writer of the base is the user's
     * choice, as beside any writer).
     */
    tgt_shared = BLK_PERM_ALL & ~(uint64_t)(BLK_PERM_CONSISTENT_READ |
                                            BLK_PERM_WRITE |
                                            BLK_PERM_RESIZE);
    if (p->active_commit) {
        tgt_shared |= BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE;
    }
    tgt = src ? blk_new_perm(NULL, p->target, BLK_PERM_WRITE, tgt_shared,
                             errp) : NULL;
    if (!tgt || !mirror_match_size(tgt, size, p->active_commit, errp)) {
        blk_unref(tgt);
        blk_unref(src);
        return NULL;
    }
    s = job_create(p->job_id, p->active_commit ? &active_commit_driver
                                               : &mirror_driver,
                   sizeof(MirrorJob), p->auto_finalize, p->auto_dismiss,
                   errp);
    if (!s) {
        blk_unref(tgt);
        blk_unref(src);
        return NULL;
    }
    user = g_strdup_printf("block job '%s'", p->job_id);
    blk_set_user(src, user);
    blk_set_user(tgt, user);
    /* An active commit's target is the guest's base: that one goes over. */
    blk_set_outlives_handover(tgt, !p->active_commit);
    s->src = src;
    s->tgt = tgt;
    s->source = p->source;
    s->target = p->target;
    bdrv_ref(s->source);
    bdrv_ref(s->target);
    block_job_add_node(&s->common, s->source);
    block_job_add_node(&s->common, s->target);
    s->sync = p->sync;
    s->on_source_error = p->on_source_error;
    s->on_target_error = p->on_target_error;
    s->unmap = p->unmap;
    s->write_blocking = p->write_blocking;
    s->active_commit = p->active_commit;
    s->target_made_writable = p->target_made_writable;
    s->size = (uint64_t)size;
    s->buf_size = buf;
    s->op_bytes = MIN(MAX((uint64_t)gran, MIRROR_OP_BYTES), buf);
    s->op_bytes -= s->op_bytes % gran;
    s->common.speed = p->speed;
    s->dirty = bdrv_dirty_bitmap_new(s->size, gran);
    if (p->sync == MIRROR_SYNC_MODE_FULL) {
        /* query-block-jobs shows the work from the start. */
        job_progress_set_remaining(&s->common, s->size);
    }
    if (p->target_is_zero) {
        s->untouched = bdrv_dirty_bitmap_new(s->size, gran);
        bdrv_dirty_bitmap_set(s->untouched, 0, s->size);
    }
    g_mutex_init(&s->op_lock);
    g_cond_init(&s->op_cond);
    s->pool = g_thread_pool_new(mirror_op_fn, NULL, MIRROR_MAX_OPS, FALSE,
                                NULL);
    /* Tracking starts before the first copy, so no write is missed. */
    s->notifier.fn = mirror_write_notify;
    s->notifier.opaque = s;
    bdrv_add_write_notifier(s->source, &s->notifier);
    s->notifier_added = true;
    trace_mirror_start(p->job_id, p->source->node_name,
                       p->target->node_name, MirrorSyncMode_str(p->sync),
                       gran, buf);
    job_start(&s->common);
    return &s->common;
}
