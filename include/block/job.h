/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The job core: long-running operations (a mirror) that run on a thread
 * of their own while the monitor watches and steers them with QEMU's job
 * commands (job-*, block-job-*) and events (JOB_STATUS_CHANGE, BLOCK_JOB_*).
 *
 * A job's status moves only along these edges (job_set_status() checks
 * each against a table, traces it and sends JOB_STATUS_CHANGE):
 *
 *   created --start--> running <--pause/resume--> paused
 *      |                 |   \
 *      |                 |    +--caught up--> ready <--pause/resume--> standby
 *      |                 |                      |
 *      |                 +--work done-----------+--> waiting --> pending
 *      |                 |                      |                  |
 *      +--cancel---------+--error or cancel-----+----> aborting    | finalize
 *                                                        |         |
 *                                                        v         v
 *                                         null <--dismiss-- concluded
 *
 * Which commands (JobVerb) a status accepts is a second table; a refused
 * one fails with "Job 'ID' in state 'S' cannot accept command verb 'V'".
 *
 * Threads and locks: every field below is guarded by the BQL. The
 * driver's run() works on the job's own thread without the BQL and
 * reaches the job only through the functions marked "job thread", which
 * take the BQL for the moment they need it. Everything else (the
 * commands, finalize, the events) runs on the main loop with the BQL.
 * The job thread sleeps on the job's wake condition (wake_lock), never
 * with the BQL held; job_kick() wakes it.
 */
#ifndef BLOCK_JOB_H
#define BLOCK_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "util/error.h"
#include "qapi/qapi-types.h"

typedef struct Job Job;

typedef struct JobDriver {
    JobType type;
    /* Block jobs appear in query-block-jobs and send BLOCK_JOB_* events. */
    bool is_block_job;
    /*
     * The work, on the job's thread: 0, or -errno with *errp set. It calls
     * job_pause_point() often and returns soon after job_is_cancelled().
     */
    int (*run)(Job *job, Error **errp);
    /* BQL. block-job-complete / job-complete on a ready job. */
    bool (*complete)(Job *job, Error **errp);
    /*
     * BQL. A cancel was asked. Returns true when the job takes it as a
     * request to end cleanly instead (a ready mirror without force):
     * the job is then not "cancelled" and ends as completed.
     */
    bool (*soft_cancel)(Job *job, bool force);
    /* BQL, finalize of a job whose work succeeded: 0 or -errno. A
     * failure sends the job to aborting with *errp as its error. */
    int (*prepare)(Job *job, Error **errp);
    /* BQL: the job succeeded / failed or was cancelled. */
    void (*commit)(Job *job);
    void (*abort)(Job *job);
    /* BQL, at the end either way, after commit or abort. */
    void (*clean)(Job *job);
    /* BQL: frees what the driver added to the job (not the job). */
    void (*free)(Job *job);
} JobDriver;

struct Job {
    char *id;
    const JobDriver *driver;
    JobStatus status;
    bool auto_finalize;
    bool auto_dismiss;

    /* Pausing: pause_count > 0 parks the job at its next pause point. */
    int pause_count;
    bool user_paused;
    bool paused;            /* parked now (status paused or standby) */
    bool busy;              /* not sleeping, not parked */
    bool cancelled;
    bool force_cancel;
    /* A run that ended (job thread's return) is being wrapped up. */
    bool deferred;

    /* Progress, bytes for a mirror. */
    uint64_t progress_current;
    uint64_t progress_total;

    /* Rate limit (block-job-set-speed), bytes per second; 0: none. */
    int64_t speed;
    int64_t slice_start_ns;
    uint64_t slice_bytes;

    BlockDeviceIoStatus iostatus;

    int ret;                /* of run(), or of prepare() */
    Error *err;             /* why the job failed, or NULL */

    GThread *thread;
    GMutex wake_lock;
    GCond wake_cond;
    bool wake;              /* a kick not yet seen (wake_lock) */
    /* Refs: the list's, plus the thread's while it runs. */
    int refcnt;

    /*
     * The nodes a block job works on (BlockDriverState *, a reference
     * each): no other job, snapshot or resize may touch them until the
     * job has finished (block/blockjob.h). Released after clean().
     */
    GSList *nodes;
    /* A commit's chain, held from before its claims (bdrv_chain_rewrite_hold
     * in block/permission.h); released with the nodes. */
    GSList *chain_hold;
};

/*
 * Creates a job (status created) of the driver's type, driver-owned
 * state after the Job: size bytes, Job first. id must be well formed and
 * not taken. BQL.
 */
void *job_create(const char *id, const JobDriver *driver, size_t size,
                 bool auto_finalize, bool auto_dismiss, Error **errp);
/* Whether id would do for a new job (job_create's first check). */
bool job_check_id(const char *id, Error **errp);
/* created -> running, and the thread calls run(). BQL. */
void job_start(Job *job);

Job *job_get(const char *id);
/* Iterates over the jobs in creation order; NULL starts. */
Job *job_next(Job *job);
bool job_is_ready(const Job *job);
bool job_is_completed(const Job *job);

/* The user's verbs (BQL); each checks the status table first. */
bool job_user_pause(Job *job, Error **errp);
bool job_user_resume(Job *job, Error **errp);
bool job_user_cancel(Job *job, bool force, Error **errp);
bool job_complete(Job *job, Error **errp);
bool job_finalize(Job *job, Error **errp);
bool job_dismiss(Job *job, Error **errp);
bool job_set_speed(Job *job, int64_t speed, Error **errp);
/* "Job 'ID' in state 'S' cannot accept command verb 'V'". */
bool job_apply_verb(Job *job, JobVerb verb, Error **errp);

/*
 * Internal pause (an error with the stop policy: the job stays paused
 * until block-job-resume, which also clears the I/O status). BQL.
 */
void job_pause_for_error(Job *job, BlockDeviceIoStatus st);

/*
 * At exit (main loop, BQL): cancels every job (a ready mirror too, with
 * no switch) and waits until each has concluded, so no copy thread runs
 * on while the process ends and every target is left consistent.
 */
void job_cancel_sync_all(void);

/* Wakes the job thread from a sleep or a park. Any thread. */
void job_kick(Job *job);

/* ---- job thread ---- */
/* Parks while a pause is asked (and not cancelled). Takes the BQL. */
void job_pause_point(Job *job);
/* Sleeps up to ns (or until kicked), then passes a pause point. */
void job_sleep_ns(Job *job, int64_t ns);
bool job_is_cancelled(Job *job);
/* running -> ready, then BLOCK_JOB_READY. Takes the BQL. */
void job_transition_to_ready(Job *job);
/* Counts bytes copied / expected (atomic enough under the BQL). */
void job_progress_update(Job *job, uint64_t done);
void job_progress_set_remaining(Job *job, uint64_t remaining);
/*
 * Rate limit: accounts bytes about to be sent and returns how long to
 * wait first, in ns (0 when under the speed limit). Takes the BQL.
 */
int64_t job_ratelimit_delay(Job *job, uint64_t bytes);

/* ---- listeners: the block job layer (blockjob.c) ---- */
typedef enum JobEventKind {
    JOB_EVENT_READY,
    JOB_EVENT_PENDING,
    JOB_EVENT_COMPLETED,    /* err may be set */
    JOB_EVENT_CANCELLED,
} JobEventKind;
void block_job_event(Job *job, JobEventKind kind);

#endif
