/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source's side of the return path (destination -> source; the wire
 * format and the buffered reader are in channel-socket.c): which message
 * is expected when, and the listener thread that reads it while RAM is
 * being sent.
 *
 * Who reads the return path:
 *
 *   setup + iterations   the listener thread (migration_rp_listen_start):
 *                        every message is read as it arrives and checked;
 *                        the only one expected is a late pong of an
 *                        aborted strict switchover
 *   switchover           the migration thread itself, with a deadline
 *                        (the pong of its ping, then "resumed"); the
 *                        listener was stopped first
 *   COLO                 colo-primary.c, on its own QEMUFile
 *   postcopy             the listener keeps running through the switch:
 *                        req-pages (after the switch) are queued for the
 *                        RAM sender, "resumed" (once postcopy-run went
 *                        out) ends the downtime; after the stream's end
 *                        the migration thread reads until "shut",
 *                        answering late requests the same way
 *   postcopy recovery    the migration thread, listener stopped: the
 *                        received bitmap (migration.c), then the
 *                        listener again
 *
 * After postcopy-run a return path that breaks (read error, closed) is
 * a pause, not a failure: the listener cuts the connection and the
 * migration thread pauses (migration.c, migration_postcopy_pause).
 *
 * A message that is malformed, of an unknown type, or not expected at
 * that point fails the migration at once: the listener records the
 * error (first error wins) and then shuts the outgoing stream down, so a
 * migration thread blocked writing RAM to a destination that stopped
 * reading is released too. Before the listener existed, the return path
 * was polled between iterations with its errors dropped: garbage was
 * noticed only when the switchover read "resumed", after the guest had
 * been stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "migration-internal.h"
#include "migration/postcopy.h"
#include "trace.h"

/*
 * A pong is expected only for a ping that was sent: values 1 to the
 * current strict attempt (earlier ones arrive late, after an abort).
 */
static bool migration_rp_pong_expected(MigrationState *s, const MigRpMsg *msg)
{
    uint32_t v = mig_be32(msg->data);

    return v >= 1 && v <= s->strict_attempt;
}

/*
 * The pong of an aborted attempt, arriving late, tells what that
 * switchover really needed: recorded as the last overrun.
 */
static void migration_rp_note_late_pong(MigrationState *s,
                                        const MigRpMsg *msg, uint32_t attempt)
{
    if (!s->strict_stop_us || mig_be32(msg->data) != attempt) {
        return;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    s->strict_last_overrun_ms = (migration_now_us() - s->strict_stop_us +
                                 s->go_reserve_us) / 1000;
    s->strict_stop_us = 0;
}

/* Postcopy: the destination runs the guest; the downtime ends here. */
static void migration_rp_note_resumed(MigrationState *s)
{
    int64_t downtime_us = migration_now_us() - s->postcopy_stop_us;

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (!s->postcopy_resumed) {
        s->postcopy_resumed = true;
        /* Rounded up, as for precopy (switchover.c). */
        s->downtime_ms = (downtime_us + 999) / 1000;
    }
}

/* A message nobody waits for: a late pong, postcopy's requests and
 * "resumed", or an error. */
static bool migration_rp_unsolicited(MigrationState *s, const MigRpMsg *msg,
                                     uint32_t late_attempt, Error **errp)
{
    if (msg->type == MIG_RP_PONG && migration_rp_pong_expected(s, msg)) {
        /* The strict postcopy switch waits for it with the listener
         * running (switchover-postcopy.c). */
        if (mig_be32(msg->data) == s->strict_attempt) {
            __atomic_store_n(&s->pc_strict_pong, s->strict_attempt,
                             __ATOMIC_SEQ_CST);
        }
        migration_rp_note_late_pong(s, msg, late_attempt);
        return true;
    }
    /* postcopy_source_request() refuses one before the switch. */
    if (msg->type == MIG_RP_REQ_PAGES) {
        return postcopy_source_request(s->vmstate, msg->data, msg->len,
                                       errp);
    }
    if (msg->type == MIG_RP_RESUMED &&
        __atomic_load_n(&s->postcopy_run_sent, __ATOMIC_SEQ_CST)) {
        migration_rp_note_resumed(s);
        return true;
    }
    /* The listener may read it before the migration thread stops it. */
    if (msg->type == MIG_RP_SHUT &&
        __atomic_load_n(&s->postcopy_run_sent, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&s->postcopy_shut,
                         (int64_t)mig_be32(msg->data) + 1, __ATOMIC_SEQ_CST);
        return true;
    }
    error_setg(errp, "return path: unexpected '%s' message%s",
               mig_rp_info(msg->type)->name,
               migration_status(s) == MIGRATION_STATUS_ACTIVE ?
               " while RAM is being sent" : "");
    trace_migration_rp_unexpected(mig_rp_info(msg->type)->name);
    return false;
}

bool migration_rp_wait(MigrationState *s, MigRpType want,
                       uint32_t pong_value, int64_t deadline_us,
                       MigRpMsg *msg, bool *timed_out, Error **errp)
{
    *timed_out = false;
    for (;;) {
        int r = mig_rp_read(&s->rp, deadline_us, msg, errp);

        if (r < 0) {
            return false;
        }
        if (r == 0) {
            *timed_out = true;
            return false;
        }
        if (msg->type == want &&
            (want != MIG_RP_PONG || mig_be32(msg->data) == pong_value)) {
            return true;
        }
        if (!migration_rp_unsolicited(s, msg, s->strict_attempt - 1, errp)) {
            return false;
        }
    }
}

void migration_rp_wait_late_pong(MigrationState *s, int64_t deadline_us)
{
    MigRpMsg msg;

    while (s->strict_stop_us &&
           mig_rp_read(&s->rp, deadline_us, &msg, NULL) > 0) {
        if (!migration_rp_unsolicited(s, &msg, s->strict_attempt, NULL)) {
            return;
        }
    }
}

/* ---- the listener thread ---- */

static bool migration_rp_stopping(MigrationState *s)
{
    return __atomic_load_n(&s->rp_stopping, __ATOMIC_SEQ_CST);
}

/* The listener found the return path broken: fail the migration now. */
static void migration_rp_fail(MigrationState *s, Error *err)
{
    trace_migration_rp_failed(error_get_pretty(err));
    /* Recorded before the cut, so it is the error the user sees, not the
     * write error the cut causes in the migration thread. */
    migration_set_error(s, err);
    __atomic_store_n(&s->rp_failed, true, __ATOMIC_SEQ_CST);
    migration_cut(s);
}

/*
 * After postcopy-run, a connection that broke (the return path read
 * failed, r == -2, or a requested page could not be written to the
 * preempt channel) pauses postcopy; garbage from the destination still
 * fails it.
 */
static bool migration_rp_broken_in_postcopy(MigrationState *s, int r)
{
    if (!__atomic_load_n(&s->postcopy_run_sent, __ATOMIC_SEQ_CST)) {
        return false;
    }
    return r == -2 ||
           (s->to_dst_preempt &&
            qemu_file_transport_failed(s->to_dst_preempt));
}

void migration_rp_serve(MigrationState *s)
{
    for (;;) {
        Error *err = NULL;
        MigRpMsg msg;
        int r = mig_rp_read(&s->rp, -1, &msg, &err);

        if (r == 0 || (r < 0 && (migration_rp_stopping(s) ||
                                 __atomic_load_n(&s->cancel,
                                                 __ATOMIC_SEQ_CST) ||
                                 __atomic_load_n(&s->cut,
                                                 __ATOMIC_SEQ_CST) ||
                                 __atomic_load_n(&s->postcopy_shut,
                                                 __ATOMIC_SEQ_CST)))) {
            /* Stopped (the wake fd), or a cancel or a yank shut the
             * socket: the migration thread reports that, not us. After
             * postcopy's "shut" the destination may close at once: its
             * end, not a failure. */
            error_free(err);
            return;
        }
        if (r > 0 &&
            migration_rp_unsolicited(s, &msg, s->strict_attempt, &err)) {
            continue;
        }
        if (migration_rp_broken_in_postcopy(s, r)) {
            /* A pause, not a failure: the migration thread recovers,
             * saying why. */
            trace_migration_rp_failed(error_get_pretty(err));
            migration_set_error(s, err);
            migration_cut(s);
            return;
        }
        migration_rp_fail(s, err);
        return;
    }
}

static void *migration_rp_thread(void *opaque)
{
    pthread_setname_np(pthread_self(), "mig_return_path");
    migration_rp_serve(opaque);
    return NULL;
}

bool migration_rp_listen_start(MigrationState *s, Error **errp)
{
    int fd;

    g_assert(!s->rp_listening);
    if (!s->has_rp) {
        return true;
    }
    fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        error_setg_errno(errp, errno, "return path: eventfd");
        return false;
    }
    s->rp.wake_fd = fd;
    s->rp_stopping = false;
    if (pthread_create(&s->rp_thread, NULL, migration_rp_thread, s)) {
        error_setg(errp, "cannot start the return-path thread");
        close(fd);
        s->rp.wake_fd = -1;
        return false;
    }
    s->rp_listening = true;
    trace_migration_rp_listen(true);
    return true;
}

void migration_rp_listen_stop(MigrationState *s)
{
    uint64_t one = 1;

    if (!s->rp_listening) {
        return;
    }
    __atomic_store_n(&s->rp_stopping, true, __ATOMIC_SEQ_CST);
    if (write(s->rp.wake_fd, &one, sizeof(one)) < 0) {
        /* An eventfd write fails only on overflow: it is readable. */
    }
    pthread_join(s->rp_thread, NULL);
    close(s->rp.wake_fd);
    s->rp.wake_fd = -1;
    s->rp_listening = false;
    trace_migration_rp_listen(false);
}

bool migration_postcopy_wait_shut(MigrationState *s, Error **errp)
{
    uint32_t timeout_ms = migrate_resume_timeout_ms(&s->opts);
    int64_t shut = __atomic_load_n(&s->postcopy_shut, __ATOMIC_SEQ_CST);
    uint32_t status;
    MigRpMsg msg;
    bool timed_out;

    if (!s->has_rp) {
        return true;
    }
    if (shut) {
        status = shut - 1;
    } else if (migration_rp_wait(s, MIG_RP_SHUT, 0,
                                 migration_now_us() + timeout_ms * 1000ll,
                                 &msg, &timed_out, errp)) {
        status = mig_be32(msg.data);
    } else {
        if (timed_out) {
            error_setg(errp, "postcopy: the destination did not confirm the "
                       "end of the stream within %u ms "
                       "(x-switchover-resume-timeout)", timeout_ms);
        }
        return false;
    }
    if (status) {
        error_setg(errp, "postcopy: the destination failed to load the end "
                   "of the stream (status %u)", status);
        return false;
    }
    return true;
}

bool migration_rp_failed(MigrationState *s)
{
    return __atomic_load_n(&s->rp_failed, __ATOMIC_SEQ_CST);
}
