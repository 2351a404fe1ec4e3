/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy's switch under x-strict-downtime: downtime-limit bounds the
 * pause from stopping the guest here to the destination running it, as
 * for the strict precopy switchover (switchover.c), and an attempt that
 * cannot make it is taken back before any vCPU runs there.
 *
 *   source                                   destination
 *   stop guest, t_stop; deadline =
 *     t_stop + limit - reserve for the go (switchover-budget.c)
 *   last harvest, DISCARD, listen ------>    pages punched, userfaultfd
 *   FULL ... (devices, all subsections) ->   held
 *   postcopy-load(attempt) ------------->    mig/pc-load loads them
 *                                            (BQL), vCPUs parked; the
 *     <- req-pages (a post_load faults)      incoming thread places pages
 *     requested pages -------------------->
 *                  <--------------------     pong(attempt)   (loaded)
 *   pong before the deadline:
 *     postcopy-active, postcopy-run ---->    mig/pc-start starts vCPUs
 *                  <--------------------     resumed
 *     the background, as plain postcopy (migration-postcopy.c)
 *   deadline passed first:
 *     guest resumed here, abort counted (x-strict-aborts, the event)
 *     requests answered until  <--------     pong(attempt)   (loaded)
 *     switchover-abort ----------------->    joins mig/pc-load, leaves
 *     back to precopy, tries again           userfaultfd, status active
 *
 * Why switchover-abort waits for the pong: a device's post_load may wait
 * for a page, and only the source can send it; the destination must not
 * leave userfaultfd with its loader still waiting. The wait is bounded by
 * x-switchover-resume-timeout (past it the migration fails; the guest
 * runs here, the destination never ran it).
 *
 * What an aborted attempt left on the destination is harmless: the pages
 * sent for requests were taken off the source's bitmap and are there
 * (dirtied again, they go again in precopy); discarded pages are holes,
 * still marked here, sent in precopy; the next attempt's device state,
 * every subsection, is loaded on top of this one before any vCPU runs.
 *
 * The promise ends at "resumed": the guest then runs on the destination
 * and nothing can be taken back. A page it touches that has not arrived
 * stops that vCPU until the source sends it (postcopy-blocktime), which
 * downtime-limit does not bound. The BQL is not held while waiting: the
 * main loop (QMP, migrate_cancel) goes on.
 */
#include <inttypes.h>
#include "migration-internal.h"
#include "migration/postcopy.h"
#include "qapi/qapi-events.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "util/rt-window.h"
#include "trace.h"

/* How long one wait for a request may last before the deadline and the
 * pong are looked at again. */
#define SWITCHOVER_POSTCOPY_POLL_US     200

/* The checks of postcopy's loops: the listener, yank, the stream. */
static bool switchover_postcopy_ok(MigrationState *s, Error **errp)
{
    if (migration_rp_failed(s)) {
        return false;           /* the listener recorded why */
    }
    if (migration_was_cut(s)) {
        error_setg(errp, "migration connection shut down (yank)");
        return false;
    }
    if (migration_cancelled(s)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return !qemu_file_get_error(s->to_dst, errp);
}

typedef enum SwitchoverPostcopyWait {
    SWITCHOVER_POSTCOPY_DONE,       /* what was waited for came */
    SWITCHOVER_POSTCOPY_LATE,       /* the deadline passed first */
    SWITCHOVER_POSTCOPY_ERROR,      /* errp set (or the listener's) */
} SwitchoverPostcopyWait;

/* Whether the wait is over: the pong of this attempt, or "resumed". */
static bool switchover_postcopy_came(MigrationState *s, bool resumed)
{
    if (resumed) {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

        return s->postcopy_resumed;
    }
    return __atomic_load_n(&s->pc_strict_pong, __ATOMIC_SEQ_CST) ==
           s->strict_attempt;
}

/*
 * Until the pong (or "resumed") that the listener takes, or deadline_us:
 * page requests are answered meanwhile (a device's post_load on the
 * destination may wait for one).
 */
static SwitchoverPostcopyWait switchover_postcopy_wait(MigrationState *s,
                                                       bool resumed,
                                                       int64_t deadline_us,
                                                       Error **errp)
{
    for (;;) {
        int64_t now;

        if (switchover_postcopy_came(s, resumed)) {
            return SWITCHOVER_POSTCOPY_DONE;
        }
        if (!switchover_postcopy_ok(s, errp)) {
            return SWITCHOVER_POSTCOPY_ERROR;
        }
        now = migration_now_us();
        if (now >= deadline_us) {
            return SWITCHOVER_POSTCOPY_LATE;
        }
        if (postcopy_source_wait_request(
                s->vmstate, MIN(deadline_us,
                                now + SWITCHOVER_POSTCOPY_POLL_US)) &&
            !postcopy_source_send_urgent(s->vmstate, s->to_dst, errp)) {
            return SWITCHOVER_POSTCOPY_ERROR;
        }
    }
}

static void switchover_postcopy_set_overrun(MigrationState *s,
                                            int64_t needed_ms)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    s->strict_last_overrun_ms = needed_ms;
}

/*
 * The deadline passed before the destination had loaded: the guest runs
 * here again at once (that ends the downtime), the abort is counted; then
 * the destination's loader is let finish (its requests answered) before
 * switchover-abort takes the switch back.
 */
static MigrationSwitchoverResult switchover_postcopy_abort(MigrationState *s,
                                                           int64_t t_stop,
                                                           RtWindow *rt,
                                                           Error **errp)
{
    uint32_t timeout_ms = migrate_resume_timeout_ms(&s->opts);
    uint64_t limit = migrate_downtime_limit_ms(&s->opts);
    int64_t elapsed = migration_now_us() - t_stop;
    int64_t needed_ms = (elapsed + s->go_reserve_us + 999) / 1000;
    int64_t aborts;

    trace_migration_switchover_abort(s->strict_attempt, elapsed);
    {
        BQL_LOCK_GUARD();

        migration_block_reactivate(s);
        if (s->was_running) {
            vm_start();
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
    }
    /* The pause is over; waiting for the late pong is not urgent. */
    rt_window_leave(rt);
    g_mutex_lock(&s->lock);
    aborts = ++s->strict_aborts;
    s->strict_last_overrun_ms = needed_ms;
    g_mutex_unlock(&s->lock);
    /* This attempt's late pong is ours to wait for, with the listener
     * running: migration_strict_failure must not read the return path
     * for an earlier precopy attempt's. */
    s->strict_stop_us = 0;
    qapi_event_send_x_migration_switchover_aborted(aborts, limit, needed_ms);
    switch (switchover_postcopy_wait(s, false, migration_now_us() +
                                     timeout_ms * 1000ll, errp)) {
    case SWITCHOVER_POSTCOPY_DONE:
        /* What this attempt really needed to load. */
        switchover_postcopy_set_overrun(
            s, (migration_now_us() - t_stop + s->go_reserve_us + 999) /
               1000);
        break;
    case SWITCHOVER_POSTCOPY_LATE:
        error_setg(errp, "the destination did not finish loading the device "
                   "state of an aborted postcopy switch within %u ms "
                   "(x-switchover-resume-timeout)", timeout_ms);
        return MIGRATION_SWITCHOVER_FAILED;
    case SWITCHOVER_POSTCOPY_ERROR:
        return MIGRATION_SWITCHOVER_FAILED;
    }
    savevm_send_command(s->to_dst, SAVEVM_CMD_SWITCHOVER_ABORT, NULL, 0);
    qemu_fflush(s->to_dst);
    postcopy_source_unswitch(s->vmstate);
    return qemu_file_get_error(s->to_dst, errp) ? MIGRATION_SWITCHOVER_FAILED
                                                : MIGRATION_SWITCHOVER_ABORTED;
}

/*
 * After a timely pong: postcopy-active, postcopy-run, and "resumed"
 * awaited (answering requests) so that the go's duration feeds the
 * reserve. Past postcopy-run this guest never resumes.
 */
static MigrationSwitchoverResult switchover_postcopy_go(MigrationState *s,
                                                        int64_t t_stop,
                                                        Error **errp)
{
    uint32_t timeout_ms = migrate_resume_timeout_ms(&s->opts);
    int64_t t_go = migration_now_us();

    trace_migration_switchover_step("go", t_go - t_stop);
    if (!migration_try_status(s, MIGRATION_STATUS_ACTIVE,
                              MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        error_setg(errp, "migration cancelled");
        return MIGRATION_SWITCHOVER_FAILED;
    }
    postcopy_source_set_preempt(s->vmstate, s->to_dst_preempt);
    __atomic_store_n(&s->postcopy_run_sent, true, __ATOMIC_SEQ_CST);
    postcopy_send_run(s->to_dst);
    switch (switchover_postcopy_wait(s, true, t_go + timeout_ms * 1000ll,
                                     errp)) {
    case SWITCHOVER_POSTCOPY_DONE:
        switchover_budget_add_go(&s->go_budget, migration_now_us() - t_go);
        s->go_reserve_us = switchover_budget_go_us(&s->go_budget, 0);
        trace_migration_switchover_done(migration_now_us() - t_stop, 0);
        return MIGRATION_SWITCHOVER_DONE;
    case SWITCHOVER_POSTCOPY_LATE:
        /* The destination may run it anyway: postcopy goes on, the
         * downtime is taken when "resumed" comes. */
        trace_migration_switchover_step("go-unconfirmed",
                                        migration_now_us() - t_stop);
        return MIGRATION_SWITCHOVER_DONE;
    case SWITCHOVER_POSTCOPY_ERROR:
        break;
    }
    return MIGRATION_SWITCHOVER_FAILED;
}

static MigrationSwitchoverResult switchover_postcopy_attempt(
    MigrationState *s, RtWindow *rt, Error **errp)
{
    QEMUFile *f = s->to_dst;
    uint32_t attempt = ++s->strict_attempt;
    int64_t t_stop, limit_end, deadline;
    QEMUFile *devs;

    trace_migration_switchover(true, attempt);
    /* A pong of an earlier migration's attempt of the same number must
     * not count for this one. */
    __atomic_store_n(&s->pc_strict_pong, 0, __ATOMIC_SEQ_CST);
    devs = migration_stop_and_capture_devices(s, MIGRATION_STATUS_ACTIVE,
                                              true, &t_stop, errp);
    if (!devs) {
        return MIGRATION_SWITCHOVER_FAILED;
    }
    limit_end = t_stop + (int64_t)migrate_downtime_limit_ms(&s->opts) * 1000;
    /* The pong may use what the go leaves. */
    deadline = limit_end - switchover_budget_go_us(&s->go_budget, 0);
    s->postcopy_stop_us = t_stop;
    qemu_file_set_rate_limit(f, 0);
    /* Until postcopy-run the requests are answered on the main stream:
     * the destination's preempt reader takes pages only once its guest
     * runs, and an attempt may yet go back to precopy. */
    postcopy_source_set_preempt(s->vmstate, NULL);
    if (!postcopy_source_switch(s->vmstate, f, errp)) {
        qemu_fclose(devs);
        return MIGRATION_SWITCHOVER_FAILED;
    }
    migration_send_captured(f, devs);
    qemu_fclose(devs);
    postcopy_send_load(f, attempt);
    trace_migration_switchover_step("postcopy-load",
                                    migration_now_us() - t_stop);
    switch (switchover_postcopy_wait(s, false, deadline, errp)) {
    case SWITCHOVER_POSTCOPY_DONE:
        return switchover_postcopy_go(s, t_stop, errp);
    case SWITCHOVER_POSTCOPY_LATE:
        return switchover_postcopy_abort(s, t_stop, rt, errp);
    case SWITCHOVER_POSTCOPY_ERROR:
        break;
    }
    return MIGRATION_SWITCHOVER_FAILED;
}

MigrationSwitchoverResult migration_switchover_postcopy_strict(
    MigrationState *s)
{
    MigrationSwitchoverResult r;
    RtWindow rt = { 0 };
    Error *err = NULL;

    /* From the stop to "resumed": no waiting for a busy host's CPUs. */
    rt_window_enter(&rt, "strict postcopy switch");
    r = switchover_postcopy_attempt(s, &rt, &err);
    rt_window_leave(&rt);
    if (r == MIGRATION_SWITCHOVER_FAILED) {
        if (!err) {
            err = migration_take_first_error(s, NULL, "postcopy switch "
                                             "failed");
        }
        migration_set_error(s, err);
    }
    return r;
}
