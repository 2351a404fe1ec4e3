/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block jobs on the monitor: query-block-jobs, the block-job-* commands
 * (QEMU names a block job "device" in them, which is its job id), the
 * BLOCK_JOB_* events, and the error policy of a job's requests.
 */
#include <errno.h>
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "util/main-loop.h"
#include "trace.h"

static int64_t job_len(const Job *job)
{
    return (int64_t)__atomic_load_n(&job->progress_total, __ATOMIC_RELAXED);
}

static int64_t job_offset(const Job *job)
{
    return (int64_t)__atomic_load_n(&job->progress_current,
                                    __ATOMIC_RELAXED);
}

void block_job_event(Job *job, JobEventKind kind)
{
    JobType type = job->driver->type;

    if (!job->driver->is_block_job) {
        return;
    }
    switch (kind) {
    case JOB_EVENT_READY:
        qapi_event_send_block_job_ready(type, job->id, job_len(job),
                                        job_offset(job), job->speed);
        break;
    case JOB_EVENT_PENDING:
        qapi_event_send_block_job_pending(type, job->id);
        break;
    case JOB_EVENT_COMPLETED:
        qapi_event_send_block_job_completed(
            type, job->id, job_len(job), job_offset(job), job->speed,
            job->err ? error_get_pretty(job->err) : NULL);
        break;
    case JOB_EVENT_CANCELLED:
        qapi_event_send_block_job_cancelled(type, job->id, job_len(job),
                                            job_offset(job), job->speed);
        break;
    }
}

BlockErrorAction block_job_error_action(Job *job, BlockdevOnError policy,
                                        bool is_read, int ret)
{
    BlockErrorAction action;

    switch (policy) {
    case BLOCKDEV_ON_ERROR_IGNORE:
        action = BLOCK_ERROR_ACTION_IGNORE;
        break;
    case BLOCKDEV_ON_ERROR_STOP:
        action = BLOCK_ERROR_ACTION_STOP;
        break;
    case BLOCKDEV_ON_ERROR_ENOSPC:
    case BLOCKDEV_ON_ERROR_AUTO:
        action = ret == -ENOSPC ? BLOCK_ERROR_ACTION_STOP
                                : BLOCK_ERROR_ACTION_REPORT;
        break;
    case BLOCKDEV_ON_ERROR_REPORT:
    default:
        action = BLOCK_ERROR_ACTION_REPORT;
        break;
    }
    BQL_LOCK_GUARD();
    trace_block_job_error(job->id, is_read, ret,
                          BlockErrorAction_str(action));
    qapi_event_send_block_job_error(job->id, is_read ? IO_OPERATION_TYPE_READ
                                                     : IO_OPERATION_TYPE_WRITE,
                                    action);
    if (action == BLOCK_ERROR_ACTION_STOP) {
        job_pause_for_error(job, ret == -ENOSPC
                                 ? BLOCK_DEVICE_IO_STATUS_NOSPACE
                                 : BLOCK_DEVICE_IO_STATUS_FAILED);
    }
    return action;
}

void block_job_add_node(Job *job, BlockDriverState *bs)
{
    g_assert(!block_job_of_node(bs));
    bdrv_ref(bs);
    job->nodes = g_slist_append(job->nodes, bs);
}

Job *block_job_of_node(const BlockDriverState *bs)
{
    for (Job *job = job_next(NULL); job; job = job_next(job)) {
        if (g_slist_find(job->nodes, bs)) {
            return job;
        }
    }
    return NULL;
}

bool block_job_check_node(const BlockDriverState *bs, Error **errp)
{
    Job *job = block_job_of_node(bs);

    if (job) {
        error_setg(errp, "Node '%s' is busy: block device is in use by "
                   "block job: %s", bdrv_device_or_node_name(bs),
                   JobType_str(job->driver->type));
        return false;
    }
    return true;
}

/* The block job named id, or an error of QEMU's class and words. */
static Job *find_block_job(const char *id, Error **errp)
{
    Job *job = job_get(id);

    if (!job || !job->driver->is_block_job) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_ACTIVE,
                  "Block job '%s' not found", id);
        return NULL;
    }
    return job;
}

static BlockJobInfo *block_job_info(Job *job)
{
    BlockJobInfo *info = g_new0(BlockJobInfo, 1);

    info->type = g_strdup(JobType_str(job->driver->type));
    info->device = g_strdup(job->id);
    info->len = job_len(job);
    info->offset = job_offset(job);
    info->busy = job->busy;
    info->paused = job->pause_count > 0;
    info->speed = job->speed;
    info->io_status = job->iostatus;
    info->ready = job_is_ready(job);
    info->status = job->status;
    info->auto_finalize = job->auto_finalize;
    info->auto_dismiss = job->auto_dismiss;
    if (job->err) {
        info->error = g_strdup(error_get_pretty(job->err));
    }
    return info;
}

BlockJobInfoList *qmp_query_block_jobs(Error **errp)
{
    BlockJobInfoList *head = NULL, **tail = &head;

    for (Job *job = job_next(NULL); job; job = job_next(job)) {
        if (!job->driver->is_block_job) {
            continue;
        }
        *tail = g_new0(BlockJobInfoList, 1);
        (*tail)->value = block_job_info(job);
        tail = &(*tail)->next;
    }
    return head;
}

void qmp_block_job_set_speed(const char *device, int64_t speed, Error **errp)
{
    Job *job = find_block_job(device, errp);

    if (job) {
        job_set_speed(job, speed, errp);
    }
}

void qmp_block_job_cancel(const char *device, bool has_force, bool force,
                          Error **errp)
{
    Job *job = find_block_job(device, errp);

    if (job) {
        job_user_cancel(job, has_force && force, errp);
    }
}

void qmp_block_job_pause(const char *device, Error **errp)
{
    Job *job = find_block_job(device, errp);

    if (job) {
        job_user_pause(job, errp);
    }
}

void qmp_block_job_resume(const char *device, Error **errp)
{
    Job *job = find_block_job(device, errp);

    if (job) {
        job_user_resume(job, errp);
    }
}

void qmp_block_job_complete(const char *device, Error **errp)
{
    Job *job = find_block_job(device, errp);

    if (job) {
        job_complete(job, errp);
    }
}

void qmp_block_job_dismiss(const char *id, Error **errp)
{
    Job *job = find_block_job(id, errp);

    if (job) {
        job_dismiss(job, errp);
    }
}

void qmp_block_job_finalize(const char *id, Error **errp)
{
    Job *job = find_block_job(id, errp);

    if (job) {
        job_finalize(job, errp);
    }
}
