/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The stream job (include/block/stream.h).
 *
 * Its end, on the main loop: the header first, then the graph. If the
 * header cannot be written the job fails and the graph stays as it was
 * (the data copied into top is what its backing files showed anyway);
 * once the header names the base, the graph follows it, which cannot
 * fail. A node the chain drops closes, releasing its image's locks,
 * unless someone else (the monitor, for -blockdev nodes) still holds it.
 */
#include <errno.h>
#include "block/block_int.h"
#include "block/blockjob.h"
#include "block/chain-copy.h"
#include "block/permission.h"
#include "block/stream.h"
#include "util/main-loop.h"
#include "trace.h"

typedef struct StreamJob {
    Job common;
    ChainCopy copy;
    BlockDriverState *top;      /* a reference each, until clean */
    BlockDriverState *base;
    char *backing_file;
    bool had_backing;           /* top had a backing file at the start */
    bool made_writable;         /* top was read-only: back at the end */
} StreamJob;

static int stream_run(Job *job, Error **errp)
{
    return chain_copy_run(&((StreamJob *)job)->copy, errp);
}

static int stream_prepare(Job *job, Error **errp)
{
    StreamJob *s = (StreamJob *)job;
    const char *name = s->backing_file;
    const char *fmt = s->base ? bdrv_get_format_name(s->base) : NULL;

    if (!s->had_backing) {
        return 0;       /* nothing below top: nothing to change */
    }
    if (!name && s->base) {
        name = bdrv_get_filename(s->base);
    }
    if (!bdrv_change_backing_file(s->top, name, fmt, errp)) {
        return -EIO;
    }
    bdrv_drain_all();
    trace_stream_drop_chain(job->id, s->top->node_name,
                            s->base ? s->base->node_name : "");
    if (s->base) {
        bdrv_child_set_bs(s->top->backing, s->base);
    } else {
        bdrv_clear_backing(s->top);
    }
    /* The base has one reader less or the same: nothing to take. */
    bdrv_drop_perms(s->top);
    return 0;
}

static void stream_clean(Job *job)
{
    StreamJob *s = (StreamJob *)job;
    Error *err = NULL;

    if (s->made_writable && !bdrv_make_read_only(s->top, &err)) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
    s->made_writable = false;
    bdrv_unref(s->base);
    s->base = NULL;
    bdrv_unref(s->top);
    s->top = NULL;
}

static void stream_free(Job *job)
{
    g_free(((StreamJob *)job)->backing_file);
}

static const JobDriver stream_driver = {
    .type = JOB_TYPE_STREAM,
    .is_block_job = true,
    .run = stream_run,
    .prepare = stream_prepare,
    .clean = stream_clean,
    .free = stream_free,
};

Job *stream_start(const StreamParams *p, Error **errp)
{
    int64_t size = bdrv_getlength(p->top);
    bool made_writable = false;
    StreamJob *s;

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
    if (p->base && !p->backing_file && !*bdrv_get_filename(p->base)) {
        g_autofree char *d = bdrv_describe(p->base);

        error_setg(errp, "%s has no file name to record as the backing "
                   "file of '%s'", d, p->top->node_name);
        return NULL;
    }
    /* Writes (copy-up, the header) go to top, even a read-only one. */
    if (bdrv_is_read_only(p->top)) {
        if (!bdrv_make_writable(p->top, errp)) {
            return NULL;
        }
        made_writable = true;
    }
    s = job_create(p->job_id, &stream_driver, sizeof(StreamJob),
                   p->auto_finalize, p->auto_dismiss, errp);
    if (!s) {
        if (made_writable) {
            bdrv_make_read_only(p->top, NULL);
        }
        return NULL;
    }
    s->top = p->top;
    s->base = p->base;
    bdrv_ref(s->top);
    if (s->base) {
        bdrv_ref(s->base);
    }
    s->backing_file = g_strdup(p->backing_file);
    s->had_backing = bdrv_backing_bs(p->top) != NULL;
    s->made_writable = made_writable;
    for (BlockDriverState *n = p->top; n && n != p->base;
         n = bdrv_backing_bs(n)) {
        block_job_add_node(&s->common, n);
    }
    s->common.speed = p->speed;
    s->copy = (ChainCopy) {
        .job = &s->common,
        .top = p->top,
        .from = bdrv_backing_bs(p->top),
        .base = p->base,
        .dest = p->top,
        .on_error = p->on_error,
        /* Nothing between top and base: no work at all (len 0, as
         * QEMU reports it). */
        .size = bdrv_backing_bs(p->top) == p->base ? 0 : (uint64_t)size,
    };
    /* query-block-jobs shows the work from the start. */
    job_progress_set_remaining(&s->common, s->copy.size);
    trace_stream_start(p->job_id, p->top->node_name,
                       p->base ? p->base->node_name : "");
    job_start(&s->common);
    return &s->common;
}
