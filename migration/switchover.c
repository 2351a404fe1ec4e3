/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The switchover: stop the guest, send what is left, hand the guest to
 * the destination. Two flavours:
 *
 * Plain (QEMU's behaviour): stop; the devices' state captured; the disks
 * flushed and inactivated (block-handover.c); switchover-start; END for
 * RAM (the last dirty pages, dirty logging off); FULL for each device;
 * EOF. With a
 * return path, wait for the destination's "resumed" message, at most
 * x-switchover-resume-timeout: past it the migration fails and the
 * guest resumes here.
 *
 * Strict (capability x-strict-downtime): downtime-limit is a promise.
 *
 *   source                                   destination
 *   stop guest, t_stop; deadline =
 *     t_stop + limit - reserve for the go (switchover-budget.c)
 *     - reserve for the disks' flush (block-handover.c)
 *   switchover-start ------------------->    takes the BQL, vCPUs parked
 *   PART ... (drain RAM, unthrottled)  -->   pages written
 *   FULL ... (devices, all subsections) ->   device state loaded
 *   disks flushed and inactivated
 *   ping(attempt) --------------------->
 *                  <--------------------     pong(attempt)  (return path)
 *   pong before the deadline (and the reserve also covers twice the
 *   round trip just measured):
 *     END + EOF (the go) -------------->     load ends, vCPUs start
 *                  <--------------------     resumed
 *     completed; downtime = t_stop -> resumed received
 *   deadline passed first:
 *     switchover-abort ---------------->     drops the BQL, waits on
 *     disks taken back, guest resumed, event, iterate on
 *
 * The destination never starts its vCPUs before EOF, which the source
 * sends only after a timely pong. What an aborted attempt wrote is
 * harmless: RAM pages are resent when the guest dirties them again, and
 * the next attempt's FULL sections (sent with every subsection,
 * vmstate_save_all) overwrite all device state before any vCPU runs.
 * Deadlines are checked between sections and while waiting for the pong;
 * after MIGRATION_STRICT_MAX_ABORTS aborts the migration fails.
 *
 * Postcopy (capability postcopy-ram, after migrate-start-postcopy and a
 * first full pass): stop; status postcopy-active; the last harvest and
 * the discard list, postcopy-listen (postcopy.c); the devices; postcopy-
 * run. The guest then runs on the destination while migration.c sends
 * the rest, requested pages first. The return-path listener keeps
 * running throughout: it queues page requests and takes "resumed",
 * which ends the downtime. Once postcopy-run is out the source's guest
 * never resumes, whatever fails: the destination may be running it.
 * Under x-strict-downtime postcopy's switch has a deadline too, and can
 * be aborted before postcopy-run: switchover-postcopy.c.
 *
 * Downtime reported in query-migrate is measured on the source from
 * stopping the guest to receiving "resumed", which the destination sends
 * after its vCPUs run: an upper bound of the real downtime. Without a
 * return path (exec:, file:, pipes) it ends when the stream is flushed.
 */
#include <inttypes.h>
#include "migration-internal.h"
#include "migration/postcopy.h"
#include "qapi/qapi-events.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "util/rt-window.h"
#include "trace.h"

/*
 * Guest stopped and everything sent: wait until the destination runs,
 * at most x-switchover-resume-timeout. A destination that took the whole
 * stream and went silent must not keep the source's guest stopped: on
 * expiry the switchover fails and migration_finish resumes the guest.
 */
static bool migration_wait_resumed(MigrationState *s, int64_t *dst_us,
                                   Error **errp)
{
    uint32_t timeout_ms = migrate_resume_timeout_ms(&s->opts);
    MigRpMsg msg;
    bool timed_out;

    *dst_us = 0;
    if (!s->has_rp) {
        return true;
    }
    if (!migration_rp_wait(s, MIG_RP_RESUMED, 0,
                           migration_now_us() + timeout_ms * 1000ll,
                           &msg, &timed_out, errp)) {
        if (timed_out) {
            error_setg(errp, "the destination did not report its guest "
                       "running within %u ms (x-switchover-resume-timeout)",
                       timeout_ms);
        } else {
            error_prepend(errp, "destination failed to load the state: ");
        }
        return false;
    }
    *dst_us = mig_be64(msg.data);
    return true;
}

static void migration_record_downtime(MigrationState *s, int64_t t_stop)
{
    int64_t downtime_us = migration_now_us() - t_stop;

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    /* Rounded up: the reported figure is never below the measured one. */
    s->downtime_ms = (downtime_us + 999) / 1000;
}

static MigrationSwitchoverResult migration_switchover_failed(
    MigrationState *s, Error *err)
{
    migration_set_error(s, err);
    return MIGRATION_SWITCHOVER_FAILED;
}

/*
 * Stops the guest and captures every device's state in memory, under the
 * BQL; the caller sends it without the BQL. Holding the BQL across network
 * writes would let a peer that stops reading freeze the main loop, and
 * with it migrate_cancel.
 */
QEMUFile *migration_stop_and_capture_devices(MigrationState *s,
                                             MigrationStatus next,
                                             bool all_subsections,
                                             int64_t *t_stop, Error **errp)
{
    QEMUFile *devs;

    migration_block_preflush(s);    /* without the BQL: may take long */
    bql_lock();
    *t_stop = migration_now_us();
    vm_stop(RUN_STATE_FINISH_MIGRATE);
    bql_unlock();
    /* pause-before-switchover: the guest is stopped, nothing is handed
     * over yet, the disks are still ours (switchover-pause.c). */
    if (!migration_pause_before_switchover(s, next, errp)) {
        return NULL;
    }
    BQL_LOCK_GUARD();
    devs = qemu_file_new_mem_output();
    qemu_file_set_checksums(devs, qemu_file_checksums(s->to_dst));
    /* Devices drained their requests (pre_save); then the disks, before
     * the EOF or postcopy-run that lets the destination take them. */
    if (!savevm_state_complete_devices(s->vmstate, devs, all_subsections,
                                       errp) ||
        !migration_block_inactivate(s, errp)) {
        qemu_fclose(devs);
        return NULL;
    }
    return devs;
}

void migration_send_captured(QEMUFile *f, QEMUFile *devs)
{
    size_t len;
    const uint8_t *data = qemu_file_mem_output_data(devs, &len);

    qemu_put_buffer(f, data, len);
}

MigrationSwitchoverResult migration_switchover(MigrationState *s)
{
    QEMUFile *f = s->to_dst;
    uint64_t pending = savevm_state_pending(s->vmstate);
    Error *err = NULL;
    int64_t t_stop, dst_us, fixed;
    QEMUFile *devs;

    trace_migration_switchover(false, 0);
    devs = migration_stop_and_capture_devices(s, MIGRATION_STATUS_DEVICE,
                                              false, &t_stop, &err);
    if (!devs) {
        return migration_switchover_failed(s, err);
    }
    /*
     * Guest stopped (finish-migrate: cont and system_reset refuse), so RAM
     * is still; the final pages, the devices and the end of the stream go
     * out without the BQL. Device sections first, then RAM's END: the
     * destination applies them in that order too (as strict mode does).
     */
    qemu_file_set_rate_limit(f, 0);
    savevm_send_command(f, SAVEVM_CMD_SWITCHOVER_START, NULL, 0);
    migration_send_captured(f, devs);
    qemu_fclose(devs);
    if (!savevm_state_complete_live(s->vmstate, f, &err)) {
        return migration_switchover_failed(s, err);
    }
    trace_migration_switchover_step("sent", migration_now_us() - t_stop);
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_COLO)) {
        /* The guest stays stopped; COLO starts it once the secondary is
         * ready (colo-primary.c). */
        qemu_fflush(f);
        migration_record_downtime(s, t_stop);
        return qemu_file_get_error(f, &err) ?
               migration_switchover_failed(s, err) :
               MIGRATION_SWITCHOVER_DONE;
    }
    if (!migration_wait_resumed(s, &dst_us, &err)) {
        return migration_switchover_failed(s, err);
    }
    migration_record_downtime(s, t_stop);
    trace_migration_switchover_done(migration_now_us() - t_stop, dst_us);
    /* What the switchover cost beyond moving the pending bytes. */
    fixed = migration_now_us() - t_stop -
            (s->bandwidth ? (int64_t)(pending * 1000000 / s->bandwidth) : 0);
    s->learned_fixed_us = MAX(fixed, 500);
    bql_lock();
    runstate_set(RUN_STATE_POSTMIGRATE);
    bql_unlock();
    return MIGRATION_SWITCHOVER_DONE;
}

MigrationSwitchoverResult migration_switchover_postcopy(MigrationState *s)
{
    QEMUFile *f = s->to_dst;
    Error *err = NULL;
    int64_t t_stop;
    QEMUFile *devs;

    trace_migration_switchover(false, 0);
    devs = migration_stop_and_capture_devices(
        s, MIGRATION_STATUS_POSTCOPY_ACTIVE, false, &t_stop, &err);
    if (!devs) {
        return migration_switchover_failed(s, err);
    }
    s->postcopy_stop_us = t_stop;
    /* After a pause-before-switchover the pause already moved it. */
    if (migration_status(s) != MIGRATION_STATUS_POSTCOPY_ACTIVE &&
        !migration_try_status(s, MIGRATION_STATUS_ACTIVE,
                              MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        /* migrate_cancel came first: nothing went out, the guest
         * resumes here. */
        qemu_fclose(devs);
        error_setg(&err, "migration cancelled");
        return migration_switchover_failed(s, err);
    }
    qemu_file_set_rate_limit(f, 0);
    if (!postcopy_source_switch(s->vmstate, f, &err)) {
        qemu_fclose(devs);
        return migration_switchover_failed(s, err);
    }
    migration_send_captured(f, devs);
    qemu_fclose(devs);
    /* From here the destination may run the guest: never resume it. */
    __atomic_store_n(&s->postcopy_run_sent, true, __ATOMIC_SEQ_CST);
    postcopy_send_run(f);
    trace_migration_switchover_step("postcopy-run",
                                    migration_now_us() - t_stop);
    if (qemu_file_get_error(f, &err)) {
        return migration_switchover_failed(s, err);
    }
    return MIGRATION_SWITCHOVER_DONE;
}

/* Strict: sends the rest of RAM with the guest stopped, until done or
 * the deadline. */
static bool migration_drain(MigrationState *s, int64_t deadline,
                            Error **errp)
{
    for (;;) {
        bool done;

        if (!savevm_state_iterate(s->vmstate, s->to_dst, &done, errp)) {
            return false;
        }
        if ((done && !savevm_state_pending(s->vmstate)) ||
            migration_now_us() >= deadline) {
            return true;
        }
    }
}

static MigrationSwitchoverResult migration_strict_abort(MigrationState *s,
                                                        int64_t t_stop,
                                                        bool pinged,
                                                        Error **errp)
{
    int64_t elapsed = migration_now_us() - t_stop;
    uint64_t pending = savevm_state_pending(s->vmstate);
    uint64_t bw = s->bandwidth ?: 1;
    int64_t needed_ms;
    uint64_t limit = migrate_downtime_limit_ms(&s->opts);

    trace_migration_switchover_abort(s->strict_attempt, elapsed);
    savevm_send_command(s->to_dst, SAVEVM_CMD_SWITCHOVER_ABORT, NULL, 0);
    qemu_fflush(s->to_dst);
    migration_block_reactivate(s);
    if (s->was_running) {
        vm_start();
    } else {
        runstate_set(RUN_STATE_PAUSED);
    }
    /* At least what passed; a late pong refines it (return-path.c).
     * Aborted before the disks' flush: it is still to come. */
    needed_ms = (elapsed + (int64_t)(pending * 1000000 / bw) +
                 s->go_reserve_us +
                 (pinged ? 0 : migration_block_flush_reserve_us(s)) +
                 999) / 1000;
    s->strict_stop_us = pinged ? t_stop : 0;
    g_mutex_lock(&s->lock);
    s->strict_aborts++;
    s->strict_last_overrun_ms = needed_ms;
    g_mutex_unlock(&s->lock);
    qapi_event_send_x_migration_switchover_aborted(s->strict_aborts, limit,
                                                   needed_ms);
    return qemu_file_get_error(s->to_dst, errp) ? MIGRATION_SWITCHOVER_FAILED
                                                : MIGRATION_SWITCHOVER_ABORTED;
}

/* After a timely pong: the go (END + EOF), then wait for "resumed". */
static MigrationSwitchoverResult migration_strict_go(MigrationState *s,
                                                     int64_t t_stop,
                                                     int64_t device_us,
                                                     Error **errp)
{
    int64_t t_go = migration_now_us(), dst_us;

    trace_migration_switchover_step("go", t_go - t_stop);
    if (!savevm_state_complete_live(s->vmstate, s->to_dst, errp) ||
        !migration_wait_resumed(s, &dst_us, errp)) {
        return MIGRATION_SWITCHOVER_FAILED;
    }
    migration_record_downtime(s, t_stop);
    trace_migration_switchover_done(migration_now_us() - t_stop, dst_us);
    switchover_budget_add_go(&s->go_budget, migration_now_us() - t_go);
    s->go_reserve_us = switchover_budget_go_us(&s->go_budget, 0);
    s->learned_fixed_us = device_us + (migration_now_us() - t_go);
    runstate_set(RUN_STATE_POSTMIGRATE);
    return MIGRATION_SWITCHOVER_DONE;
}

static MigrationSwitchoverResult migration_strict_attempt(MigrationState *s,
                                                          Error **errp)
{
    QEMUFile *f = s->to_dst;
    int64_t t_stop, t_ram, t_ping, deadline, limit_end, rtt;
    uint32_t attempt = ++s->strict_attempt;
    MigRpMsg msg;
    bool timed_out = false;

    trace_migration_switchover(true, attempt);
    t_stop = migration_now_us();
    vm_stop(RUN_STATE_FINISH_MIGRATE);
    limit_end = t_stop + (int64_t)migrate_downtime_limit_ms(&s->opts) * 1000;
    /* RAM may use what the go and the disks' flush leave. */
    deadline = limit_end - switchover_budget_go_us(&s->go_budget, 0) -
               migration_block_flush_reserve_us(s);
    qemu_file_set_rate_limit(f, 0);
    savevm_send_command(f, SAVEVM_CMD_SWITCHOVER_START, NULL, 0);
    if (!migration_drain(s, deadline, errp)) {
        return MIGRATION_SWITCHOVER_FAILED;
    }
    t_ram = migration_now_us();
    trace_migration_switchover_step("ram", t_ram - t_stop);
    if (t_ram >= deadline) {
        return migration_strict_abort(s, t_stop, false, errp);
    }
    /* Every subsection: a retry loads on top of this attempt. */
    if (!savevm_state_complete_devices(s->vmstate, f, true, errp)) {
        return MIGRATION_SWITCHOVER_FAILED;
    }
    trace_migration_switchover_step("devices", migration_now_us() - t_stop);
    /* Before the ping: a flush that ran long makes the pong late, and the
     * attempt aborts (disks taken back) rather than overrun. */
    if (!migration_block_inactivate(s, errp)) {
        return MIGRATION_SWITCHOVER_FAILED;
    }
    trace_migration_switchover_step("disks", migration_now_us() - t_stop);
    savevm_send_ping(f, attempt);
    qemu_fflush(f);
    t_ping = migration_now_us();
    if (qemu_file_get_error(f, errp)) {
        return MIGRATION_SWITCHOVER_FAILED;
    }
    if (!migration_rp_wait(s, MIG_RP_PONG, attempt, deadline, &msg,
                           &timed_out, errp)) {
        return timed_out ? migration_strict_abort(s, t_stop, true, errp)
                         : MIGRATION_SWITCHOVER_FAILED;
    }
    /* The pong came in time for the history's reserve; the go also needs
     * a round trip at least, and this one was just measured. */
    rtt = migration_now_us() - t_ping;
    if (migration_now_us() + switchover_budget_go_us(&s->go_budget, rtt) >
        limit_end) {
        trace_migration_switchover_slow_link(attempt, rtt);
        return migration_strict_abort(s, t_stop, true, errp);
    }
    return migration_strict_go(s, t_stop, migration_now_us() - t_ram, errp);
}

MigrationSwitchoverResult migration_switchover_strict(MigrationState *s)
{
    migration_block_preflush(s);    /* without the BQL: may take long */
    BQL_LOCK_GUARD();
    MigrationSwitchoverResult r;
    RtWindow rt = { 0 };
    Error *err = NULL;

    /* From the stop to "resumed": no waiting for a busy host's CPUs. */
    rt_window_enter(&rt, "strict switchover");
    r = migration_strict_attempt(s, &err);
    rt_window_leave(&rt);
    if (r == MIGRATION_SWITCHOVER_FAILED) {
        if (!err) {
            error_setg(&err, "switchover failed");
        }
        migration_set_error(s, err);
    }
    return r;
}
