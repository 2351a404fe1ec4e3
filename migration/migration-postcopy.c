/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source's migration thread after the postcopy switch
 * (migration.c hands over once migration_postcopy_due): the switch
 * itself (switchover.c), the rest of RAM in the background under
 * max-postcopy-bandwidth with requested pages first, the preempt
 * channel's end, and the destination's "shut". A connection that breaks
 * after postcopy-run is a pause, not the end:
 *
 *   postcopy-active --break/yank/migrate-pause--> postcopy-paused
 *   postcopy-paused --migrate resume=true--> postcopy-recover-setup
 *     (connect) --> postcopy-recover (the destination's received bitmap
 *     rebuilds what is left to send) --> postcopy-active
 *   a recovery that fails again pauses again
 *
 * The wire messages of the recovery are in include/migration/postcopy.h.
 */
#include <inttypes.h>
#include "migration-internal.h"
#include "migration/postcopy.h"
#include "migration/ram.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "trace.h"

/*
 * Postcopy is due once it was asked for (migrate-start-postcopy, before
 * or during the migration) and every page went once: what is left is
 * what the guest dirtied since, and the switch is cheapest then.
 */
bool migration_postcopy_due(MigrationState *s)
{
    return migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM) &&
           __atomic_load_n(&s->start_postcopy, __ATOMIC_SEQ_CST) &&
           ram_migration_first_pass_done(s->vmstate);
}

/* The thread's own checks between postcopy's steps. */
static bool migration_postcopy_check(MigrationState *s, Error **errp)
{
    if (migration_rp_failed(s)) {
        return false;           /* the listener recorded why */
    }
    if (migration_was_cut(s)) {
        error_setg(errp, "migration connection shut down (yank)");
        return false;
    }
    return !qemu_file_get_error(s->to_dst, errp);
}

/*
 * After the switch: the rest of RAM under max-postcopy-bandwidth (0:
 * unlimited, as QEMU), and whenever a
 * page request is queued it goes first (ram_send_dirty checks between
 * pages; while the rate limit holds the background back the thread
 * waits for requests instead of sleeping).
 */
static bool migration_postcopy_send_rest(MigrationState *s, Error **errp)
{
    QEMUFile *f = s->to_dst;
    uint64_t limit = UINT64_MAX;
    bool done = false;

    while (!done) {
        uint64_t sync_count;

        if (!migration_postcopy_check(s, errp)) {
            return false;
        }
        /* Only on a change: setting it starts a new rate window, and a
         * request answered mid-window must not earn the background a
         * fresh budget. */
        if (limit != migrate_max_postcopy_bandwidth(&s->opts)) {
            limit = migrate_max_postcopy_bandwidth(&s->opts);
            qemu_file_set_rate_limit(f, limit);
        }
        if (qemu_file_rate_limit(f)) {
            int64_t delay = qemu_file_rate_limit_delay_us(f);
            int64_t until = migration_now_us() + CLAMP(delay, 1000, 20000);

            if (postcopy_source_wait_request(s->vmstate, until) &&
                !postcopy_source_send_urgent(s->vmstate, f, errp)) {
                return false;
            }
            continue;
        }
        if (!savevm_state_iterate(s->vmstate, f, &done, errp)) {
            return false;
        }
        g_autoptr(MigrationStats) st = migration_ram_stats(s, &sync_count);
        migration_emit_pass(s, sync_count);
    }
    return migration_postcopy_check(s, errp);
}

/* The preempt channel's end: the destination reads it all before the
 * main stream's end. */
static bool migration_postcopy_end_preempt(MigrationState *s, Error **errp)
{
    if (!s->to_dst_preempt) {
        return true;
    }
    if (!postcopy_source_preempt_end(s->vmstate, errp)) {
        return false;
    }
    savevm_send_command(s->to_dst, SAVEVM_CMD_POSTCOPY_PREEMPT_DONE, NULL, 0);
    return true;
}

/*
 * Whether a failure in postcopy's background is a pause (recoverable)
 * rather than the end: the guest may run on the destination
 * (postcopy-run went out), and what failed is a connection (a yank,
 * migrate-pause, a read or write error, the destination gone), not
 * something the destination said (the listener's errors fail).
 */
static bool migration_postcopy_pausable(MigrationState *s)
{
    if (!__atomic_load_n(&s->postcopy_run_sent, __ATOMIC_SEQ_CST) ||
        migration_rp_failed(s) || migration_cancelled(s)) {
        return false;
    }
    return migration_was_cut(s) || qemu_file_transport_failed(s->to_dst) ||
           (s->to_dst_preempt &&
            qemu_file_transport_failed(s->to_dst_preempt));
}

/* Recovery's handshake, its middle: the received bitmap, word by word,
 * to its end message. */
bool migration_postcopy_read_bitmap(MigrationState *s, int64_t deadline,
                                    uint32_t timeout_ms, Error **errp)
{
    postcopy_source_recover_begin(s->vmstate);
    for (;;) {
        MigRpMsg msg;
        int r = mig_rp_read(&s->rp, deadline, &msg, errp);

        if (r == 0) {
            error_setg(errp, "postcopy recovery: the destination sent no "
                       "received bitmap within %u ms "
                       "(x-switchover-resume-timeout)", timeout_ms);
            return false;
        }
        if (r < 0) {
            return false;
        }
        if (msg.type == MIG_RP_RECV_BITMAP) {
            if (!postcopy_source_recover_word(s->vmstate,
                                              mig_be32(msg.data),
                                              mig_be32(msg.data + 4),
                                              mig_be64(msg.data + 8),
                                              errp)) {
                return false;
            }
        } else if (msg.type == MIG_RP_RECV_BITMAP_END) {
            if (!postcopy_source_recover_end(s->vmstate, mig_be32(msg.data),
                                             mig_be32(msg.data + 4),
                                             errp)) {
                return false;
            }
            break;
        } else if (msg.type != MIG_RP_REQ_PAGES) {
            /* A fault's request before the resume is asked again after
             * it; anything else is a confused destination. */
            error_setg(errp, "postcopy recovery: unexpected '%s' message "
                       "before the received bitmap ended",
                       mig_rp_info(msg.type)->name);
            return false;
        }
    }
    return true;
}

/*
 * Recovery's handshake on the new connection (postcopy.h, "Recovery"):
 * ask for the destination's received bitmap, rebuild what is left to
 * send from it, tell it to go on, and listen again. false with *fatal
 * unset: pause again. A peer that breaks the handshake (garbage, a bad
 * bitmap) is no reason to lose the guest either: it may be the wrong
 * address, and each attempt rebuilds the bitmap from scratch. Only a
 * listener that cannot start is fatal.
 */
static bool migration_postcopy_handshake(MigrationState *s, bool *fatal,
                                         Error **errp)
{
    uint32_t timeout_ms = migrate_resume_timeout_ms(&s->opts);
    int64_t deadline = migration_now_us() + timeout_ms * 1000ll;
    QEMUFile *f = s->to_dst;

    *fatal = false;
    migration_try_status(s, MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP,
                         MIGRATION_STATUS_POSTCOPY_RECOVER);
    qemu_file_set_checksums(f, migrate_cap(
        &s->opts, MIGRATION_CAPABILITY_X_STREAM_CHECKSUM));
    savevm_state_header(f);
    savevm_send_command(f, SAVEVM_CMD_POSTCOPY_RECOVER, NULL, 0);
    qemu_fflush(f);
    if (qemu_file_get_error(f, errp)) {
        return false;
    }
    if (!migration_postcopy_read_bitmap(s, deadline, timeout_ms, errp)) {
        return false;
    }
    postcopy_source_set_preempt(s->vmstate, s->to_dst_preempt);
    savevm_send_command(f, SAVEVM_CMD_POSTCOPY_RESUME, NULL, 0);
    qemu_fflush(f);
    if (qemu_file_get_error(f, errp)) {
        return false;
    }
    if (!migration_rp_listen_start(s, errp)) {
        *fatal = true;
        return false;
    }
    return true;
}

/* postcopy-paused until migrate resume=true; false: the process quits. */
static bool migration_postcopy_wait_resume(MigrationState *s, Error **errp)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    while (!s->resume && !s->pause_quit) {
        g_cond_wait(&s->resume_cond, &s->lock);
    }
    if (s->pause_quit) {
        error_setg(errp, "the process quit while postcopy was paused");
        return false;
    }
    s->resume = false;
    return true;
}

/* Records why postcopy paused (query-migrate shows it), replacing the
 * last pause's reason. */
static void migration_set_pause_error(MigrationState *s, Error *why)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    error_free(s->error);
    s->error = why;
}

/*
 * The connection broke after postcopy-run (why): postcopy-paused, all
 * state kept, the guest stopped here and running on what it has there.
 * Then, at each migrate resume=true: connect (postcopy-recover-setup),
 * handshake (postcopy-recover), back to postcopy-active; a connection
 * that fails again pauses again. false: failed for good (errp set).
 */
static bool migration_postcopy_pause(MigrationState *s, Error *why,
                                     Error **errp)
{
    MigrationStatus st = migration_status(s);

    for (;;) {
        Error *err = NULL;
        bool fatal = false;

        migration_rp_listen_stop(s);
        warn_report("postcopy paused, waiting for migrate with resume: %s",
                    error_get_pretty(why));
        migration_set_pause_error(s, why);
        postcopy_source_set_preempt(s->vmstate, NULL);
        migration_close_channels(s);
        __atomic_store_n(&s->cut, false, __ATOMIC_SEQ_CST);
        migration_try_status(s, st, MIGRATION_STATUS_POSTCOPY_PAUSED);
        trace_migration_postcopy_step("paused");
        if (!migration_postcopy_wait_resume(s, errp)) {
            return false;
        }
        trace_migration_postcopy_step("recover");
        if (migration_open(s, &err) &&
            migration_postcopy_handshake(s, &fatal, &err)) {
            migration_set_pause_error(s, NULL);
            migration_try_status(s, MIGRATION_STATUS_POSTCOPY_RECOVER,
                                 MIGRATION_STATUS_POSTCOPY_ACTIVE);
            return true;
        }
        if (fatal) {
            error_propagate(errp, err);
            return false;
        }
        error_prepend(&err, "postcopy recovery failed: ");
        why = err;
        st = migration_status(s);
    }
}

/*
 * Postcopy from the switch to the end: the switch (switchover.c), the
 * rest of RAM (through pauses and recoveries), the stream's end, then
 * the destination's "shut" (it read everything; closing earlier could
 * drop what is still in flight).
 */
bool migration_postcopy(MigrationState *s, Error **errp)
{
    trace_migration_postcopy_step("switch");
    if (migration_switchover_postcopy(s) == MIGRATION_SWITCHOVER_FAILED) {
        return false;           /* switchover.c recorded the error */
    }
    return migration_postcopy_after_switch(s, errp);
}

bool migration_postcopy_after_switch(MigrationState *s, Error **errp)
{
    for (;;) {
        Error *err = NULL;

        trace_migration_postcopy_step("background");
        if (migration_postcopy_send_rest(s, &err) &&
            migration_postcopy_end_preempt(s, &err)) {
            break;
        }
        if (!migration_postcopy_pausable(s)) {
            error_propagate(errp, err);
            return false;
        }
        /* Whoever cut it said why first (yank, migrate-pause, the
         * listener); the write error here is only the consequence. */
        err = migration_take_first_error(s, err,
                                         "migration connection shut down");
        if (!migration_postcopy_pause(s, err, errp)) {
            return false;
        }
    }
    if (!savevm_state_complete_live(s->vmstate, s->to_dst, errp)) {
        return false;
    }
    trace_migration_postcopy_step("wait-shut");
    migration_rp_listen_stop(s);
    if (!migration_postcopy_check(s, errp) ||
        !migration_postcopy_wait_shut(s, errp)) {
        return false;
    }
    g_mutex_lock(&s->lock);
    if (!s->postcopy_resumed) {
        /* No "resumed" (no return path): what the source knows. */
        s->downtime_ms = (migration_now_us() - s->postcopy_stop_us + 999) /
                         1000;
    }
    g_mutex_unlock(&s->lock);
    bql_lock();
    runstate_set(RUN_STATE_POSTMIGRATE);
    bql_unlock();
    migration_record_throughput(s);
    return true;
}

/* ---- QMP: migrate resume=true ---- */

bool migration_resume(MigrationState *s, const char *uri, int owned_fd,
                      Error **errp)
{
    if (migration_status(s) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return false;
    }
    /* Pages already handed to the destination's socket were dropped
     * here: those lost in flight could not be sent again. */
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_RELEASE_RAM)) {
        error_setg(errp, "Postcopy recovery cannot work when release-ram "
                   "capability is set");
        return false;
    }
    if (g_str_has_prefix(uri, "exec:") || g_str_has_prefix(uri, "file:")) {
        error_setg(errp, "postcopy-ram needs a return path: use a tcp:, "
                   "unix: or socket fd: transport");
        return false;
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) &&
        !g_str_has_prefix(uri, "tcp:") && !g_str_has_prefix(uri, "unix:")) {
        error_setg(errp, "postcopy-preempt opens a second connection: use a "
                   "tcp: or unix: transport");
        return false;
    }
    if (!migration_uri_check(uri, errp)) {
        return false;
    }
    if (!migration_try_status(s, MIGRATION_STATUS_POSTCOPY_PAUSED,
                              MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP)) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return false;
    }
    trace_migration_postcopy_step("resume");
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    g_free(s->uri);
    s->uri = g_strdup(uri);
    s->uri_owned_fd = owned_fd;
    s->resume = true;
    g_cond_broadcast(&s->resume_cond);
    return true;
}
