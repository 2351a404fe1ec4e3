/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The COLO primary: after the initial precopy the migration thread stays
 * here, checkpointing into the secondary until a failover.
 *
 *   wait   x-checkpoint-delay after the last checkpoint began, or a trigger;
 *          meanwhile read the last checkpoint's vmstate-loaded and notice
 *          a secondary that went away
 *   checkpoint-request -> <- checkpoint-reply       (SVM stopped)
 *   stop the guest (runstate colo), CHECKPOINT_STOP, capture devices
 *   vmstate-send, dirty RAM pages, vmstate-size + device blob ->
 *   <- vmstate-received: CHECKPOINT_RECEIVED (held output released),
 *      guest resumed; vmstate-loaded is read before the next request
 *
 * Every wait on the secondary is bounded: the socket carries receive and
 * send timeouts of x-colo-peer-timeout (set again at every checkpoint, so
 * a change applies from the next one), so a secondary that stops
 * answering without closing the connection is lost after that long. A
 * lost secondary (error, timeout, EOF, yank) ends COLO here: the guest
 * carries on unprotected, COLO_EXIT(primary, error). x-colo-lost-heartbeat
 * ends it the same way with reason request.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "colo-internal.h"
#include "migration-internal.h"
#include "migration/colo-message.h"
#include "migration/ram.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "trace.h"

typedef struct ColoPrimary {
    MigrationState *s;
    ColoState *colo;            /* s->colo */
    QEMUFile *to_svm;           /* the migration stream */
    QEMUFile *from_svm;         /* the return path */
    bool loaded_pending;        /* vmstate-loaded of the last checkpoint */
    bool guest_held;            /* we stopped the guest */
    bool guest_was_running;     /* ...and it ran before */
    int64_t last_start_us;      /* when the last checkpoint was triggered */
    int64_t last_presend_us;    /* when the last pre-send pass ran */
    uint32_t peer_timeout_ms;   /* x-colo-peer-timeout, as last applied */
} ColoPrimary;

/* Pre-send passes run at most this often while the guest runs. */
#define COLO_PRESEND_INTERVAL_US    10000

/*
 * Both directions of the connection time out instead of hanging. Called
 * at the start and before every checkpoint; the sockets are touched only
 * when x-colo-peer-timeout changed (peer_timeout_ms starts at 0, which
 * the parameter never is).
 */
static void colo_set_socket_timeouts(ColoPrimary *p)
{
    uint32_t ms = migrate_colo_peer_timeout_ms(&p->s->opts);
    struct timeval tv;

    if (ms == p->peer_timeout_ms) {
        return;
    }
    p->peer_timeout_ms = ms;
    tv = colo_timeval(ms);
    setsockopt(p->s->ch.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(p->s->ch.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Called by a failover request or quit, after it dropped the COLO state
 * lock (a kick may block on the transport's lock). */
static void colo_primary_kick(void *opaque)
{
    ColoPrimary *p = opaque;

    qemu_file_shutdown(p->from_svm);
    migration_cut(p->s);
}

/* A receive that failed: say what the secondary did. */
static void colo_primary_explain(ColoPrimary *p, Error **errp)
{
    int ret = qemu_file_get_error(p->from_svm, NULL);

    if (ret == -ETIMEDOUT) {
        error_prepend(errp, "the secondary did not answer within %u ms: ",
                      p->peer_timeout_ms);
    }
}

static bool colo_primary_receive(ColoPrimary *p, ColoMessage msg,
                                 Error **errp)
{
    if (!colo_receive_message(p->from_svm, msg, NULL, errp)) {
        colo_primary_explain(p, errp);
        return false;
    }
    trace_colo_receive(colo_message_name(msg));
    return true;
}

static bool colo_primary_stop_requested(ColoPrimary *p)
{
    return colo_failover_state(p->colo) != FAILOVER_STATUS_NONE ||
           colo_quitting(p->colo);
}

/*
 * Sends what the guest dirtied since the last harvest while it runs, so
 * that the checkpoint (guest stopped) only carries what it dirties after
 * this. The secondary keeps the pages in its cache: nothing is applied
 * before the checkpoint, so all or nothing still holds.
 */
static bool colo_primary_presend(ColoPrimary *p, Error **errp)
{
    uint64_t pages;

    p->last_presend_us = migration_now_us();
    if (!colo_send_message(p->to_svm, COLO_MESSAGE_X_RAM_PRESEND, errp)) {
        return false;
    }
    if (!ram_checkpoint_save(p->s->vmstate, p->to_svm, &pages, errp)) {
        error_prepend(errp, "COLO: pre-sending RAM: ");
        return false;
    }
    qemu_fflush(p->to_svm);
    trace_colo_presend(pages, migration_now_us() - p->last_presend_us);
    return !qemu_file_get_error(p->to_svm, errp);
}

/*
 * Waits for the next checkpoint's trigger. Returns false when COLO must
 * end (failover, quit: *errp untouched; secondary lost: *errp set).
 */
static bool colo_primary_wait(ColoPrimary *p, ColoTrigger *why, Error **errp)
{
    int rp_fd = p->s->ch.rp_fd;

    for (;;) {
        unsigned triggers;
        int64_t now, due, timeout_ms;
        struct pollfd fds[2];

        if (colo_primary_stop_requested(p)) {
            return false;
        }
        triggers = colo_take_triggers(p->colo);
        if (triggers) {
            *why = (triggers & (1u << COLO_TRIGGER_COMPARE)) ?
                   COLO_TRIGGER_COMPARE : COLO_TRIGGER_REQUEST;
            return true;
        }
        now = migration_now_us();
        /* As QEMU: every delay ms, counted from the last trigger. */
        due = p->last_start_us +
              (int64_t)migrate_checkpoint_delay_ms(&p->s->opts) * 1000;
        if (now >= due) {
            *why = COLO_TRIGGER_PERIODIC;
            return true;
        }
        if (now - p->last_presend_us >= COLO_PRESEND_INTERVAL_US) {
            if (!colo_primary_presend(p, errp)) {
                return false;
            }
            continue;
        }
        timeout_ms = MIN(due - now,
                         p->last_presend_us + COLO_PRESEND_INTERVAL_US - now);
        timeout_ms = (timeout_ms + 999) / 1000;
        fds[0] = (struct pollfd) { .fd = colo_wake_fd(p->colo),
                                   .events = POLLIN };
        fds[1] = (struct pollfd) { .fd = rp_fd, .events = POLLIN };
        if (poll(fds, 2, MIN(timeout_ms, 1000)) < 0 && errno != EINTR) {
            error_setg_errno(errp, errno, "COLO: poll");
            return false;
        }
        /* The secondary speaks only to say vmstate-loaded; anything else
         * (end of stream, an error) is read here and reported. */
        if (fds[1].revents) {
            if (!colo_primary_receive(p, COLO_MESSAGE_VMSTATE_LOADED,
                                      errp)) {
                return false;
            }
            if (!p->loaded_pending) {
                error_setg(errp, "COLO: vmstate-loaded without a checkpoint");
                return false;
            }
            p->loaded_pending = false;
        }
    }
}

/* BQL: stops the guest and captures every device's state. */
static QEMUFile *colo_primary_stop_and_capture(ColoPrimary *p,
                                               int64_t *t_stop, Error **errp)
{
    BQL_LOCK_GUARD();
    QEMUFile *devs = qemu_file_new_mem_output();

    /* x-stream-checksum: each device section carries its CRC32C. */
    qemu_file_set_checksums(devs, qemu_file_checksums(p->to_svm));
    *t_stop = migration_now_us();
    p->guest_was_running = runstate_is_running();
    p->guest_held = true;
    vm_stop(RUN_STATE_COLO);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    /* The secondary loads on top of its running state with no reset:
     * every subsection must be in the blob. */
    if (!savevm_state_save_device_blob(p->s->vmstate, devs, true, errp)) {
        qemu_fclose(devs);
        return NULL;
    }
    return devs;
}

/* BQL: the guest runs again (unless it was paused before). */
static void colo_primary_resume(ColoPrimary *p)
{
    if (!p->guest_held) {
        return;
    }
    p->guest_held = false;
    if (p->guest_was_running) {
        vm_start();
    } else if (runstate_get() == RUN_STATE_COLO ||
               runstate_get() == RUN_STATE_FINISH_MIGRATE) {
        runstate_set(RUN_STATE_PAUSED);
    }
}

static bool colo_primary_checkpoint(ColoPrimary *p, ColoTrigger why,
                                    Error **errp)
{
    uint64_t pages = 0, start;
    int64_t t_stop, pause_us;
    const uint8_t *blob;
    size_t len;
    QEMUFile *devs;

    p->last_start_us = migration_now_us();
    colo_set_socket_timeouts(p);
    trace_colo_checkpoint_begin(why);
    if (p->loaded_pending) {
        if (!colo_primary_receive(p, COLO_MESSAGE_VMSTATE_LOADED, errp)) {
            return false;
        }
        p->loaded_pending = false;
    }
    /* A last pass right before stopping leaves the least for the pause. */
    if (migration_now_us() - p->last_presend_us > 1000 &&
        !colo_primary_presend(p, errp)) {
        return false;
    }
    if (!colo_send_message(p->to_svm, COLO_MESSAGE_CHECKPOINT_REQUEST, errp) ||
        !colo_primary_receive(p, COLO_MESSAGE_CHECKPOINT_REPLY, errp)) {
        return false;
    }
    if (colo_primary_stop_requested(p)) {
        return false;
    }
    devs = colo_primary_stop_and_capture(p, &t_stop, errp);
    if (!devs) {
        return false;
    }
    start = qemu_file_transferred(p->to_svm);
    blob = qemu_file_mem_output_data(devs, &len);
    /* The guest is stopped: its pages can be checksummed in place. */
    qemu_file_set_nocopy_stable(p->to_svm, true);
    if (!colo_send_message(p->to_svm, COLO_MESSAGE_VMSTATE_SEND, errp) ||
        !ram_checkpoint_save(p->s->vmstate, p->to_svm, &pages, errp)) {
        qemu_file_set_nocopy_stable(p->to_svm, false);
        qemu_fclose(devs);
        return false;
    }
    qemu_file_set_nocopy_stable(p->to_svm, false);
    if (!colo_send_message_value(p->to_svm, COLO_MESSAGE_VMSTATE_SIZE, len,
                                 errp)) {
        qemu_fclose(devs);
        return false;
    }
    qemu_put_buffer(p->to_svm, blob, len);
    qemu_fflush(p->to_svm);
    qemu_fclose(devs);
    if (qemu_file_get_error(p->to_svm, errp)) {
        error_prepend(errp, "COLO: sending the checkpoint: ");
        return false;
    }
    if (!colo_primary_receive(p, COLO_MESSAGE_VMSTATE_RECEIVED, errp)) {
        return false;
    }
    {
        BQL_LOCK_GUARD();
        colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
        colo_primary_resume(p);
    }
    pause_us = migration_now_us() - t_stop;
    p->loaded_pending = true;
    colo_stats_record(&p->colo->stats, pause_us, pages,
                      qemu_file_transferred(p->to_svm) - start, why);
    trace_colo_checkpoint_end(pause_us, pages, len);
    return true;
}

static void colo_primary_failover(ColoPrimary *p, Error *err)
{
    /* A failover the command asked for, or one we start ourselves. */
    bool requested = colo_failover_state(p->colo) != FAILOVER_STATUS_NONE;

    if (!requested) {
        colo_failover_request(p->colo, false, NULL);
    }
    colo_failover_move(p->colo, FAILOVER_STATUS_REQUIRE,
                       FAILOVER_STATUS_ACTIVE);
    colo_failover_move(p->colo, FAILOVER_STATUS_RELAUNCH,
                       FAILOVER_STATUS_ACTIVE);
    /* The secondary must notice at once that it is on its own. */
    migration_cut(p->s);
    if (err && !requested && !colo_quitting(p->colo)) {
        error_report("COLO: lost the secondary (%s); the guest carries on "
                     "unprotected", colo_error_reason(err));
        colo_peer_lost(p->colo, colo_error_reason(err));
    }
    error_free(err);
    {
        BQL_LOCK_GUARD();
        colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
        if (!colo_quitting(p->colo)) {
            colo_primary_resume(p);
        }
    }
    colo_run_end(p->colo,
                 requested ? COLO_EXIT_REASON_REQUEST : COLO_EXIT_REASON_ERROR,
                 !requested);
}

void colo_primary_run(MigrationState *s)
{
    ColoPrimary p = {
        .s = s,
        .colo = s->colo,
        .to_svm = s->to_dst,
        /* Stopped by the initial switchover (finish-migrate). */
        .guest_held = true,
        .guest_was_running = s->was_running,
    };
    Error *err = NULL;
    ColoTrigger why;

    colo_set_socket_timeouts(&p);
    p.from_svm = qemu_file_new_fd_input(s->ch.rp_fd, false);
    /* Mode first: whoever sees status colo sees COLO running. */
    colo_run_begin(p.colo, COLO_MODE_PRIMARY, colo_primary_kick, &p);
    migration_set_status(s, MIGRATION_STATUS_ACTIVE, MIGRATION_STATUS_COLO);
    if (colo_primary_receive(&p, COLO_MESSAGE_CHECKPOINT_READY, &err)) {
        bql_lock();
        colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
        colo_primary_resume(&p);
        bql_unlock();
        p.last_start_us = migration_now_us();
        while (colo_primary_wait(&p, &why, &err) &&
               colo_primary_checkpoint(&p, why, &err)) {
            /* one checkpoint per iteration */
        }
    }
    colo_primary_failover(&p, err);
    qemu_fclose(p.from_svm);
}
