/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blockdev-create: image creation as a job of type "create", as QEMU
 * runs it. The command checks the driver and makes the job; the job's
 * thread creates the image: a host file (block/file-create.c), or a
 * qcow2 image written onto a node (block/qcow2-create.c). The job
 * finalizes itself and stays concluded until job-dismiss, so the client
 * reads its error in query-jobs; progress is 0/1, then 1/1 either way.
 *
 * The node a qcow2 image goes onto is looked up (or, given inline,
 * opened for the creation alone) by the job, not the command: a missing
 * node is the job's error, as in QEMU.
 */
#include <errno.h>
#include "block/block_int.h"
#include "block/job.h"
#include "file-create.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "qcow2-create.h"
#include "util/main-loop.h"
#include "trace.h"

typedef struct CreateJob {
    Job job;
    BlockdevCreateOptions *opts;    /* the job's own copy */
} CreateJob;

/* The node to write on, with a reference for the caller. BQL. */
static BlockDriverState *create_open_file(const BlockdevRef *ref,
                                          Error **errp)
{
    BlockDriverState *bs;

    if (ref->type != QTYPE_QSTRING) {
        return bdrv_open_blockdev(ref->u.definition, errp);
    }
    bs = bdrv_find_node(ref->u.reference);
    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   ref->u.reference, ref->u.reference);
        return NULL;
    }
    bdrv_ref(bs);
    return bs;
}

/* Job thread. The BQL is held throughout: the node is claimed and let
 * go under it, and the writes are a few clusters of metadata. */
static bool create_qcow2(const BlockdevCreateOptionsQcow2 *o, Error **errp)
{
    BlockDriverState *file;
    Qcow2CreateParams p;
    bool ok;

    BQL_LOCK_GUARD();
    file = create_open_file(o->file, errp);
    if (!file) {
        return false;
    }
    /* Checked before the claim, for QEMU's words. */
    if (bdrv_is_read_only(file)) {
        error_setg(errp, "Block node is read-only");
        bdrv_unref(file);
        return false;
    }
    ok = qcow2_create_params_from_qapi(o, &p, errp) &&
         qcow2_create_on_node(file, &p, errp);
    bdrv_unref(file);
    return ok;
}

static int create_run(Job *job, Error **errp)
{
    CreateJob *c = (CreateJob *)job;
    const BlockdevCreateOptions *o = c->opts;
    bool ok = false;

    job_progress_set_remaining(job, 1);
    switch (o->driver) {
    case BLOCKDEV_DRIVER_FILE:
        ok = file_create(o->u.file.filename, o->u.file.size,
                         o->u.file.has_preallocation
                         ? o->u.file.preallocation : PREALLOC_MODE_OFF,
                         errp);
        break;
    case BLOCKDEV_DRIVER_QCOW2:
        ok = create_qcow2(&o->u.qcow2, errp);
        break;
    default:
        g_assert_not_reached();     /* refused by the command */
    }
    job_progress_update(job, 1);
    trace_create_done(job->id, BlockdevDriver_str(o->driver), ok);
    return ok ? 0 : -EIO;
}

static void create_free(Job *job)
{
    qapi_free_BlockdevCreateOptions(((CreateJob *)job)->opts);
}

static const JobDriver create_job_driver = {
    .type = JOB_TYPE_CREATE,
    .run = create_run,
    .free = create_free,
};

/* A deep copy: the command's arguments are freed when it returns. */
static BlockdevCreateOptions *create_opts_copy(const BlockdevCreateOptions *o)
{
    json_object *obj = qapi_to_json_BlockdevCreateOptions(o);
    BlockdevCreateOptions *copy = NULL;

    /* What was parsed once parses again. */
    qapi_from_json_BlockdevCreateOptions(obj, &copy, "options",
                                         &error_abort);
    json_object_put(obj);
    return copy;
}

void qmp_blockdev_create(const char *job_id, BlockdevCreateOptions *options,
                         Error **errp)
{
    CreateJob *c;

    if (options->driver != BLOCKDEV_DRIVER_FILE &&
        options->driver != BLOCKDEV_DRIVER_QCOW2) {
        error_setg(errp, "Driver does not support blockdev-create");
        return;
    }
    /* Finalizes itself; dismissed by the user, who reads its error. */
    c = job_create(job_id, &create_job_driver, sizeof(*c), true, false,
                   errp);
    if (!c) {
        return;
    }
    c->opts = create_opts_copy(options);
    trace_create_start(job_id, BlockdevDriver_str(options->driver));
    job_start(&c->job);
}
