/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The generic job commands: job-pause, job-resume, job-cancel (always a
 * forced cancel, as in QEMU), job-complete, job-finalize, job-dismiss,
 * and query-jobs, over every kind of job.
 */
#include "block/job.h"
#include "qapi/qapi-commands.h"

static Job *find_job(const char *id, Error **errp)
{
    Job *job = job_get(id);

    if (!job) {
        error_setg(errp, "Job not found");
    }
    return job;
}

void qmp_job_pause(const char *id, Error **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_pause(job, errp);
    }
}

void qmp_job_resume(const char *id, Error **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_resume(job, errp);
    }
}

void qmp_job_cancel(const char *id, Error **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_cancel(job, true, errp);
    }
}

void qmp_job_complete(const char *id, Error **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_complete(job, errp);
    }
}

void qmp_job_finalize(const char *id, Error **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_finalize(job, errp);
    }
}

void qmp_job_dismiss(const char *id, Error **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_dismiss(job, errp);
    }
}

JobInfoList *qmp_query_jobs(Error **errp)
{
    JobInfoList *head = NULL, **tail = &head;

    for (Job *job = job_next(NULL); job; job = job_next(job)) {
        JobInfo *info = g_new0(JobInfo, 1);

        info->id = g_strdup(job->id);
        info->type = job->driver->type;
        info->status = job->status;
        info->current_progress =
            (int64_t)__atomic_load_n(&job->progress_current,
                                     __ATOMIC_RELAXED);
        info->total_progress =
            (int64_t)__atomic_load_n(&job->progress_total, __ATOMIC_RELAXED);
        if (job->err) {
            info->error = g_strdup(error_get_pretty(job->err));
        }
        *tail = g_new0(JobInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}
