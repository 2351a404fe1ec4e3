/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The job core (include/block/job.h has the state machine and the lock
 * rules): the list of jobs, the status and verb tables, the job thread
 * with its pause points, sleeps and rate limit, and the end of a job's
 * life on the main loop (waiting, pending, finalize or abort, concluded,
 * dismissed).
 */
#include <errno.h>
#include <string.h>
#include "block/block.h"
#include "block/job.h"
#include "block/permission.h"
#include "qapi/qapi-events.h"
#include "qom/object.h"
#include "util/main-loop.h"
#include "trace.h"

#define JOB_SLICE_NS (100 * 1000 * 1000LL)

static GList *jobs;     /* BQL */

enum { U = JOB_STATUS_UNDEFINED, C = JOB_STATUS_CREATED,
       R = JOB_STATUS_RUNNING, P = JOB_STATUS_PAUSED, Y = JOB_STATUS_READY,
       S = JOB_STATUS_STANDBY, W = JOB_STATUS_WAITING,
       D = JOB_STATUS_PENDING, X = JOB_STATUS_ABORTING,
       E = JOB_STATUS_CONCLUDED, N = JOB_STATUS_NULL };

/* allowed_move[from][to]: the edges drawn in job.h. */
static const bool allowed_move[JOB_STATUS__MAX][JOB_STATUS__MAX] = {
    [U] = { [C] = true },
    [C] = { [R] = true, [X] = true, [N] = true },
    [R] = { [P] = true, [Y] = true, [W] = true, [X] = true },
    [P] = { [R] = true },
    [Y] = { [S] = true, [W] = true, [X] = true },
    [S] = { [Y] = true },
    [W] = { [D] = true, [X] = true },
    [D] = { [E] = true, [X] = true },
    [X] = { [E] = true },
    [E] = { [N] = true },
};

/* allowed_verb[verb][status]: which commands each status takes. */
static const bool allowed_verb[JOB_VERB__MAX][JOB_STATUS__MAX] = {
    [JOB_VERB_CANCEL] = { [C] = true, [R] = true, [P] = true, [Y] = true,
                          [S] = true, [W] = true, [D] = true },
    [JOB_VERB_PAUSE] = { [C] = true, [R] = true, [P] = true, [Y] = true,
                         [S] = true },
    [JOB_VERB_RESUME] = { [C] = true, [R] = true, [P] = true, [Y] = true,
                          [S] = true },
    [JOB_VERB_SET_SPEED] = { [C] = true, [R] = true, [P] = true,
                             [Y] = true, [S] = true },
    [JOB_VERB_COMPLETE] = { [Y] = true },
    [JOB_VERB_FINALIZE] = { [D] = true },
    [JOB_VERB_DISMISS] = { [E] = true },
};

static void job_set_status(Job *job, JobStatus to)
{
    JobStatus from = job->status;

    g_assert(bql_locked());
    /* A wrong edge is a bug in this file or a driver, not user input. */
    g_assert(allowed_move[from][to]);
    trace_job_status(job->id, JobStatus_str(from), JobStatus_str(to));
    job->status = to;
    qapi_event_send_job_status_change(job->id, to);
}

bool job_apply_verb(Job *job, JobVerb verb, Error **errp)
{
    if (allowed_verb[verb][job->status]) {
        return true;
    }
    error_setg(errp, "Job '%s' in state '%s' cannot accept command verb "
               "'%s'", job->id, JobStatus_str(job->status),
               JobVerb_str(verb));
    return false;
}

bool job_check_id(const char *id, Error **errp)
{
    if (!id || !object_id_valid(id)) {
        error_setg(errp, "Invalid job ID '%s'", id ? id : "");
        return false;
    }
    if (job_get(id)) {
        error_setg(errp, "Job ID '%s' already in use", id);
        return false;
    }
    return true;
}

void *job_create(const char *id, const JobDriver *driver, size_t size,
                 bool auto_finalize, bool auto_dismiss, Error **errp)
{
    Job *job;

    g_assert(size >= sizeof(Job));
    if (!job_check_id(id, errp)) {
        return NULL;
    }
    job = g_malloc0(size);
    job->id = g_strdup(id);
    job->driver = driver;
    job->status = JOB_STATUS_UNDEFINED;
    job->auto_finalize = auto_finalize;
    job->auto_dismiss = auto_dismiss;
    job->busy = true;
    job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    job->refcnt = 1;
    g_mutex_init(&job->wake_lock);
    g_cond_init(&job->wake_cond);
    jobs = g_list_append(jobs, job);
    job_set_status(job, JOB_STATUS_CREATED);
    return job;
}

static void job_unref(Job *job)
{
    if (--job->refcnt) {
        return;
    }
    if (job->driver->free) {
        job->driver->free(job);
    }
    bdrv_chain_rewrite_release(job->chain_hold);
    g_slist_free_full(job->nodes, (GDestroyNotify)bdrv_unref);
    error_free(job->err);
    g_mutex_clear(&job->wake_lock);
    g_cond_clear(&job->wake_cond);
    g_free(job->id);
    g_free(job);
}

Job *job_get(const char *id)
{
    for (GList *l = jobs; l; l = l->next) {
        Job *job = l->data;

        if (!strcmp(job->id, id)) {
            return job;
        }
    }
    return NULL;
}

Job *job_next(Job *job)
{
    GList *l = job ? g_list_find(jobs, job) : NULL;

    if (!job) {
        return jobs ? jobs->data : NULL;
    }
    return l && l->next ? l->next->data : NULL;
}

bool job_is_ready(const Job *job)
{
    return job->status == JOB_STATUS_READY ||
           job->status == JOB_STATUS_STANDBY;
}

bool job_is_completed(const Job *job)
{
    return job->status == JOB_STATUS_CONCLUDED ||
           job->status == JOB_STATUS_NULL ||
           job->status == JOB_STATUS_ABORTING;
}

void job_kick(Job *job)
{
    g_mutex_lock(&job->wake_lock);
    job->wake = true;
    g_cond_broadcast(&job->wake_cond);
    g_mutex_unlock(&job->wake_lock);
}

/* Job thread, without the BQL: until kicked, or deadline (-1: none). */
static void job_wait_kick(Job *job, int64_t deadline_us)
{
    g_mutex_lock(&job->wake_lock);
    while (!job->wake) {
        if (deadline_us < 0) {
            g_cond_wait(&job->wake_cond, &job->wake_lock);
        } else if (!g_cond_wait_until(&job->wake_cond, &job->wake_lock,
                                      deadline_us)) {
            break;
        }
    }
    job->wake = false;
    g_mutex_unlock(&job->wake_lock);
}

/* ---- the end of a job's life, main loop ---- */

static void job_conclude(Job *job)
{
    job_set_status(job, JOB_STATUS_CONCLUDED);
    if (job->auto_dismiss) {
        job_set_status(job, JOB_STATUS_NULL);
        jobs = g_list_remove(jobs, job);
        job_unref(job);
    }
}

static void job_clean(Job *job)
{
    if (job->driver->clean) {
        job->driver->clean(job);
    }
    /* The nodes are free for others from here (block_job_add_node). */
    bdrv_chain_rewrite_release(g_steal_pointer(&job->chain_hold));
    g_slist_free_full(g_steal_pointer(&job->nodes),
                      (GDestroyNotify)bdrv_unref);
}

/* Error, cancel, or a prepare() that failed: undo, tell, conclude. */
static void job_do_abort(Job *job)
{
    if (job->ret == 0) {
        job->ret = -ECANCELED;
    }
    if (!job->err && !job->cancelled) {
        error_setg_errno(&job->err, -job->ret, "Job '%s' failed", job->id);
    }
    job_set_status(job, JOB_STATUS_ABORTING);
    if (job->driver->abort) {
        job->driver->abort(job);
    }
    job_clean(job);
    block_job_event(job, job->cancelled ? JOB_EVENT_CANCELLED
                                        : JOB_EVENT_COMPLETED);
    job_conclude(job);
}

static void job_do_finalize(Job *job)
{
    Error *err = NULL;
    int ret = job->driver->prepare ? job->driver->prepare(job, &err) : 0;

    if (ret < 0) {
        job->ret = ret;
        job->err = err;
        job_do_abort(job);
        return;
    }
    if (job->driver->commit) {
        job->driver->commit(job);
    }
    job_clean(job);
    block_job_event(job, JOB_EVENT_COMPLETED);
    job_conclude(job);
}

/* The job's thread has returned: main loop, BQL. */
static void job_exit_bh(void *opaque)
{
    Job *job = opaque;

    g_thread_join(job->thread);
    job->thread = NULL;
    job->busy = false;
    trace_job_exit(job->id, job->ret, job->cancelled);
    if (job->ret == 0 && !job->cancelled) {
        job_set_status(job, JOB_STATUS_WAITING);
        job_set_status(job, JOB_STATUS_PENDING);
        if (job->auto_finalize) {
            job_do_finalize(job);
        } else {
            block_job_event(job, JOB_EVENT_PENDING);
        }
    } else {
        job_do_abort(job);
    }
    job_unref(job);     /* the thread's */
}

static gpointer job_thread_fn(gpointer opaque)
{
    Job *job = opaque;
    Error *err = NULL;
    int ret = job->driver->run(job, &err);

    BQL_LOCK_GUARD();
    job->ret = ret;
    if (ret < 0 && !job->cancelled) {
        job->err = err;
    } else {
        error_free(err);
    }
    job->deferred = true;
    main_loop_schedule_bh(job_exit_bh, job);
    return NULL;
}

void job_start(Job *job)
{
    g_autofree char *name = g_strdup_printf("job/%s", job->id);

    job_set_status(job, JOB_STATUS_RUNNING);
    job->refcnt++;
    job->thread = g_thread_new(name, job_thread_fn, job);
}

void job_cancel_sync_all(void)
{
    int64_t end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;

    for (Job *job = job_next(NULL); job; job = job_next(job)) {
        if (job->status == JOB_STATUS_CONCLUDED) {
            continue;
        }
        if (job->status == JOB_STATUS_CREATED ||
            job->status == JOB_STATUS_WAITING ||
            job->status == JOB_STATUS_PENDING) {
            /* No thread to stop; the list may change: start over. */
            job->cancelled = true;
            job_do_abort(job);
            job_cancel_sync_all();
            return;
        }
        job->cancelled = true;
        job->force_cancel = true;
        job_kick(job);
    }
    for (;;) {
        bool busy = false;

        for (Job *job = job_next(NULL); job; job = job_next(job)) {
            busy |= job->status != JOB_STATUS_CONCLUDED;
        }
        if (!busy) {
            return;
        }
        if (g_get_monotonic_time() > end) {
            /* A copy stuck in a dead peer: exit anyway, with a word. */
            warn_report("block jobs did not stop within 30 s of exit");
            return;
        }
        main_loop_wait(false);
        g_usleep(1000);
    }
}

/* ---- the user's verbs ---- */

bool job_user_pause(Job *job, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_PAUSE, errp)) {
        return false;
    }
    if (job->user_paused) {
        error_setg(errp, "Job '%s' is already paused", job->id);
        return false;
    }
    job->user_paused = true;
    job->pause_count++;
    job_kick(job);
    return true;
}

bool job_user_resume(Job *job, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_RESUME, errp)) {
        return false;
    }
    if (!job->user_paused) {
        error_setg(errp, "Can't resume job '%s': it was not paused",
                   job->id);
        return false;
    }
    job->user_paused = false;
    job->pause_count--;
    job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    job_kick(job);
    return true;
}

void job_pause_for_error(Job *job, BlockDeviceIoStatus st)
{
    job->iostatus = st;
    if (!job->user_paused) {
        job->user_paused = true;
        job->pause_count++;
    }
}

bool job_user_cancel(Job *job, bool force, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_CANCEL, errp)) {
        return false;
    }
    trace_job_cancel(job->id, force);
    if (job->status == JOB_STATUS_CREATED) {
        /* Never started: nothing to stop. */
        job->cancelled = true;
        job_do_abort(job);
        return true;
    }
    if (job->status == JOB_STATUS_PENDING ||
        job->status == JOB_STATUS_WAITING) {
        /* The work is done but nothing was switched yet: undo. */
        job->cancelled = true;
        job_do_abort(job);
        return true;
    }
    if (!job->deferred && job->driver->soft_cancel &&
        job->driver->soft_cancel(job, force)) {
        job_kick(job);
        return true;
    }
    job->cancelled = true;
    job->force_cancel |= force;
    job_kick(job);
    return true;
}

bool job_complete(Job *job, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_COMPLETE, errp)) {
        return false;
    }
    if (job->cancelled || !job->driver->complete) {
        error_setg(errp, "Job '%s' cannot be completed", job->id);
        return false;
    }
    if (!job->driver->complete(job, errp)) {
        return false;
    }
    job_kick(job);
    return true;
}

bool job_finalize(Job *job, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_FINALIZE, errp)) {
        return false;
    }
    job_do_finalize(job);
    return true;
}

bool job_dismiss(Job *job, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_DISMISS, errp)) {
        return false;
    }
    job_set_status(job, JOB_STATUS_NULL);
    jobs = g_list_remove(jobs, job);
    job_unref(job);
    return true;
}

bool job_set_speed(Job *job, int64_t speed, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_SET_SPEED, errp)) {
        return false;
    }
    if (speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    job->speed = speed;
    job_kick(job);
    return true;
}

/* ---- job thread ---- */

void job_pause_point(Job *job)
{
    BQL_LOCK_GUARD();

    if (job->pause_count == 0 || job->cancelled) {
        return;
    }
    job_set_status(job, job->status == JOB_STATUS_READY
                        ? JOB_STATUS_STANDBY : JOB_STATUS_PAUSED);
    job->paused = true;
    job->busy = false;
    while (job->pause_count > 0 && !job->cancelled) {
        bql_unlock();
        job_wait_kick(job, -1);
        bql_lock();
    }
    job->paused = false;
    job->busy = true;
    job_set_status(job, job->status == JOB_STATUS_STANDBY
                        ? JOB_STATUS_READY : JOB_STATUS_RUNNING);
}

void job_sleep_ns(Job *job, int64_t ns)
{
    if (!job_is_cancelled(job)) {
        bql_lock();
        job->busy = false;
        bql_unlock();
        job_wait_kick(job, g_get_monotonic_time() + ns / 1000);
        bql_lock();
        job->busy = true;
        bql_unlock();
    }
    job_pause_point(job);
}

bool job_is_cancelled(Job *job)
{
    BQL_LOCK_GUARD();
    return job->cancelled;
}

void job_transition_to_ready(Job *job)
{
    BQL_LOCK_GUARD();

    if (job->status != JOB_STATUS_RUNNING) {
        return;
    }
    /* As QEMU: JOB_STATUS_CHANGE ready, then BLOCK_JOB_READY. */
    job_set_status(job, JOB_STATUS_READY);
    block_job_event(job, JOB_EVENT_READY);
}

void job_progress_update(Job *job, uint64_t done)
{
    __atomic_fetch_add(&job->progress_current, done, __ATOMIC_RELAXED);
}

void job_progress_set_remaining(Job *job, uint64_t remaining)
{
    uint64_t cur = __atomic_load_n(&job->progress_current, __ATOMIC_RELAXED);

    __atomic_store_n(&job->progress_total, cur + remaining, __ATOMIC_RELAXED);
}

int64_t job_ratelimit_delay(Job *job, uint64_t bytes)
{
    int64_t now = g_get_monotonic_time() * 1000;
    uint64_t quota, slices;

    BQL_LOCK_GUARD();
    if (job->speed <= 0) {
        return 0;
    }
    quota = MAX(1, (uint64_t)job->speed * JOB_SLICE_NS / 1000000000LL);
    /* A request larger than a slice's quota pays with the next slices. */
    slices = MAX(1, (job->slice_bytes + quota - 1) / quota);
    if (now >= job->slice_start_ns + (int64_t)slices * JOB_SLICE_NS) {
        job->slice_start_ns = now;
        job->slice_bytes = 0;
    }
    if (job->slice_bytes >= quota) {
        return job->slice_start_ns + (int64_t)slices * JOB_SLICE_NS - now;
    }
    job->slice_bytes += bytes;
    return 0;
}
