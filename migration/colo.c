/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO state common to both sides: the mode, the failover state machine
 * (drawn in colo-internal.h), checkpoint notifiers, the wake-up fd the
 * loops poll, checkpoint triggers and COLO_EXIT.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <glib.h>
#include "colo-internal.h"
#include "migration/colo-message.h"
#include "qapi/qapi-events.h"
#include "trace.h"

typedef struct ColoNotifier {
    ColoNotifyFn *fn;
    void *opaque;
} ColoNotifier;

static struct {
    GMutex lock;
    int mode;                   /* COLOMode, atomic */
    int last_mode;              /* (lock) */
    int reason;                 /* COLOExitReason of the last run (lock) */
    int failover;               /* FailoverStatus, atomic */
    bool unacked_peer_loss;     /* (lock) see colo_run_end */
    bool loop_failover;         /* (lock) this run's loop asked itself */
    bool loss_acked;            /* (lock) ...and a command acknowledged it */
    bool in_checkpoint;         /* (lock) secondary */
    ColoKickFn *kick;           /* (lock) */
    void *kick_opaque;
    unsigned triggers;          /* atomic: bit per ColoTrigger */
    bool quitting;              /* atomic */
    int wake_fd;
    GArray *notifiers;          /* ColoNotifier; BQL */
} colo = { .wake_fd = -1 };

static const char *const colo_event_names[] = {
    [COLO_EVENT_START] = "start",
    [COLO_EVENT_CHECKPOINT_STOP] = "checkpoint-stop",
    [COLO_EVENT_CHECKPOINT_RECEIVED] = "checkpoint-received",
    [COLO_EVENT_CHECKPOINT_LOADED] = "checkpoint-loaded",
    [COLO_EVENT_FAILOVER] = "failover",
};

const char *colo_event_name(ColoEvent ev)
{
    return (unsigned)ev < G_N_ELEMENTS(colo_event_names) ?
           colo_event_names[ev] : "unknown";
}

void colo_notifier_add(ColoNotifyFn *fn, void *opaque)
{
    ColoNotifier n = { fn, opaque };

    if (!colo.notifiers) {
        colo.notifiers = g_array_new(false, false, sizeof(ColoNotifier));
    }
    g_array_append_val(colo.notifiers, n);
}

void colo_notifier_remove(ColoNotifyFn *fn, void *opaque)
{
    for (guint i = 0; colo.notifiers && i < colo.notifiers->len; i++) {
        ColoNotifier *n = &g_array_index(colo.notifiers, ColoNotifier, i);

        if (n->fn == fn && n->opaque == opaque) {
            g_array_remove_index(colo.notifiers, i);
            return;
        }
    }
}

void colo_notify(ColoEvent ev, COLOMode mode)
{
    trace_colo_notify(colo_event_name(ev), COLOMode_str(mode));
    for (guint i = 0; colo.notifiers && i < colo.notifiers->len; i++) {
        ColoNotifier *n = &g_array_index(colo.notifiers, ColoNotifier, i);

        n->fn(ev, mode, n->opaque);
    }
}

COLOMode colo_mode(void)
{
    return __atomic_load_n(&colo.mode, __ATOMIC_SEQ_CST);
}

bool colo_send(QEMUFile *f, ColoMessage msg, Error **errp)
{
    colo_send_message(f, msg);
    trace_colo_send(colo_message_name(msg));
    if (qemu_file_get_error(f, errp)) {
        error_prepend(errp, "COLO: sending %s: ", colo_message_name(msg));
        return false;
    }
    return true;
}

/* ---- wake-up and triggers ---- */

int colo_wake_fd(void)
{
    g_mutex_lock(&colo.lock);
    if (colo.wake_fd < 0) {
        colo.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    g_mutex_unlock(&colo.lock);
    return colo.wake_fd;
}

void colo_wake(void)
{
    uint64_t one = 1;
    int fd = colo_wake_fd();

    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        trace_colo_wake_failed(errno);
    }
}

unsigned colo_take_triggers(void)
{
    uint64_t v;
    int fd = colo_wake_fd();

    while (fd >= 0 && read(fd, &v, sizeof(v)) == sizeof(v)) {
        /* drained */
    }
    return __atomic_exchange_n(&colo.triggers, 0, __ATOMIC_SEQ_CST);
}

bool colo_checkpoint_trigger(ColoTrigger why)
{
    if (colo_mode() != COLO_MODE_PRIMARY || why >= COLO_TRIGGER__MAX) {
        return false;
    }
    __atomic_fetch_or(&colo.triggers, 1u << why, __ATOMIC_SEQ_CST);
    colo_wake();
    return true;
}

bool colo_quitting(void)
{
    return __atomic_load_n(&colo.quitting, __ATOMIC_SEQ_CST);
}

void colo_begin_quit(void)
{
    ColoKickFn *kick;
    void *opaque;

    __atomic_store_n(&colo.quitting, true, __ATOMIC_SEQ_CST);
    g_mutex_lock(&colo.lock);
    kick = colo.kick;
    opaque = colo.kick_opaque;
    g_mutex_unlock(&colo.lock);
    if (kick) {
        kick(opaque);
    }
    colo_wake();
}

/* ---- the failover state machine ---- */

FailoverStatus colo_failover_state(void)
{
    return __atomic_load_n(&colo.failover, __ATOMIC_SEQ_CST);
}

bool colo_failover_move(FailoverStatus old, FailoverStatus next)
{
    int expected = old;

    if (!__atomic_compare_exchange_n(&colo.failover, &expected, next, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        return false;
    }
    trace_colo_failover_state(FailoverStatus_str(old),
                              FailoverStatus_str(next));
    return true;
}

bool colo_failover_request(bool by_command, Error **errp)
{
    ColoKickFn *kick = NULL;
    void *opaque = NULL;
    bool relaunch = false;

    g_mutex_lock(&colo.lock);
    if (colo_mode() == COLO_MODE_NONE) {
        /* The primary left COLO by itself when it lost the secondary;
         * the operator's (or fencing agent's) command acknowledges it. */
        if (by_command && colo.unacked_peer_loss) {
            colo.unacked_peer_loss = false;
            g_mutex_unlock(&colo.lock);
            trace_colo_failover_acknowledged();
            return true;
        }
        g_mutex_unlock(&colo.lock);
        error_setg(errp, "COLO is not active: there is nothing to fail "
                   "over");
        return false;
    }
    if (!colo_failover_move(FAILOVER_STATUS_NONE, FAILOVER_STATUS_REQUIRE)) {
        /* The primary is leaving COLO by itself (it lost the secondary)
         * but has not ended the run yet: acknowledged as after the end. */
        if (by_command && colo.loop_failover && !colo.loss_acked) {
            colo.loss_acked = true;
            g_mutex_unlock(&colo.lock);
            trace_colo_failover_acknowledged();
            return true;
        }
        g_mutex_unlock(&colo.lock);
        if (by_command) {
            error_setg(errp, "COLO failover is already activated");
        }
        return false;
    }
    colo.loop_failover = !by_command;
    if (colo.in_checkpoint &&
        colo_failover_move(FAILOVER_STATUS_REQUIRE,
                           FAILOVER_STATUS_RELAUNCH)) {
        relaunch = true;
    } else {
        kick = colo.kick;
        opaque = colo.kick_opaque;
    }
    g_mutex_unlock(&colo.lock);
    trace_colo_failover_request(by_command, relaunch);
    if (kick) {
        kick(opaque);
    }
    colo_wake();
    return true;
}

void colo_checkpoint_phase_enter(void)
{
    g_mutex_lock(&colo.lock);
    colo.in_checkpoint = true;
    g_mutex_unlock(&colo.lock);
}

bool colo_checkpoint_phase_leave(void)
{
    bool relaunch;

    g_mutex_lock(&colo.lock);
    colo.in_checkpoint = false;
    relaunch = colo_failover_state() == FAILOVER_STATUS_RELAUNCH;
    g_mutex_unlock(&colo.lock);
    return relaunch;
}

/* ---- runs ---- */

void colo_run_begin(COLOMode mode, ColoKickFn *kick, void *opaque)
{
    g_mutex_lock(&colo.lock);
    __atomic_store_n(&colo.failover, FAILOVER_STATUS_NONE, __ATOMIC_SEQ_CST);
    __atomic_store_n(&colo.triggers, 0, __ATOMIC_SEQ_CST);
    colo.reason = COLO_EXIT_REASON_NONE;
    colo.unacked_peer_loss = false;
    colo.loop_failover = false;
    colo.loss_acked = false;
    colo.in_checkpoint = false;
    colo.kick = kick;
    colo.kick_opaque = opaque;
    __atomic_store_n(&colo.mode, mode, __ATOMIC_SEQ_CST);
    g_mutex_unlock(&colo.lock);
    colo_wake_fd();
    colo_stats_reset(mode);
    trace_colo_run_begin(COLOMode_str(mode));
}

void colo_run_end(COLOExitReason reason, bool by_peer_loss)
{
    COLOMode mode = colo_mode();
    FailoverStatus st = colo_failover_state();

    /* Whatever path got here, the machine ends in completed. */
    if (st != FAILOVER_STATUS_ACTIVE) {
        colo_failover_move(st, FAILOVER_STATUS_ACTIVE);
    }
    colo_failover_move(FAILOVER_STATUS_ACTIVE, FAILOVER_STATUS_COMPLETED);
    g_mutex_lock(&colo.lock);
    colo.last_mode = mode;
    colo.reason = reason;
    colo.unacked_peer_loss = by_peer_loss && !colo.loss_acked;
    colo.in_checkpoint = false;
    colo.kick = NULL;
    colo.kick_opaque = NULL;
    __atomic_store_n(&colo.mode, COLO_MODE_NONE, __ATOMIC_SEQ_CST);
    g_mutex_unlock(&colo.lock);
    trace_colo_run_end(COLOMode_str(mode), COLOExitReason_str(reason));
    qapi_event_send_colo_exit(mode, reason);
}

const char *colo_error_reason(Error *err)
{
    const char *msg = err ? error_get_pretty(err) : "connection ended";

    return g_str_has_prefix(msg, "COLO: ") ? msg + 6 : msg;
}

COLOStatus *colo_query_status(void)
{
    COLOStatus *st = g_new0(COLOStatus, 1);

    g_mutex_lock(&colo.lock);
    st->mode = colo_mode();
    st->last_mode = colo.last_mode;
    if (st->mode != COLO_MODE_NONE) {
        /* As QEMU: none while it runs, processing once failing over. */
        st->reason = colo_failover_state() == FAILOVER_STATUS_NONE ?
                     COLO_EXIT_REASON_NONE : COLO_EXIT_REASON_PROCESSING;
    } else {
        st->reason = colo.reason;
    }
    g_mutex_unlock(&colo.lock);
    return st;
}
