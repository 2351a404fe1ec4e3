/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO state common to both sides: the mode, the failover state machine
 * (drawn in colo-internal.h), checkpoint notifiers, the wake-up fd the
 * loops poll, checkpoint triggers, a lost peer (X_COLO_PEER_LOST) and
 * COLO_EXIT.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <glib.h>
#include "colo-internal.h"
#include "migration-internal.h"
#include "migration/colo-message.h"
#include "qapi/qapi-events.h"
#include "trace.h"

ColoState *colo_state_new(void)
{
    ColoState *c = g_new0(ColoState, 1);

    g_mutex_init(&c->lock);
    c->wake_fd = -1;
    c->notifiers = g_array_new(false, false, sizeof(ColoNotifier));
    c->stats_providers = g_array_new(false, false,
                                     sizeof(ColoStatsProvider));
    colo_stats_init(&c->stats);
    return c;
}

void colo_state_free(ColoState *c)
{
    if (!c) {
        return;
    }
    if (c->wake_fd >= 0) {
        close(c->wake_fd);
    }
    g_array_unref(c->notifiers);
    g_array_unref(c->stats_providers);
    g_free(c->peer_lost_error);
    colo_stats_destroy(&c->stats);
    g_mutex_clear(&c->lock);
    g_free(c);
}

ColoState *colo_current(void)
{
    return migration_current()->colo;
}

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
    ColoState *c = colo_current();
    ColoNotifier n = { fn, opaque };

    g_array_append_val(c->notifiers, n);
}

void colo_notifier_remove(ColoNotifyFn *fn, void *opaque)
{
    ColoState *c = colo_current();

    for (guint i = 0; i < c->notifiers->len; i++) {
        ColoNotifier *n = &g_array_index(c->notifiers, ColoNotifier, i);

        if (n->fn == fn && n->opaque == opaque) {
            g_array_remove_index(c->notifiers, i);
            return;
        }
    }
}

void colo_notify(ColoEvent ev, COLOMode mode)
{
    ColoState *c = colo_current();

    trace_colo_notify(colo_event_name(ev), COLOMode_str(mode));
    for (guint i = 0; i < c->notifiers->len; i++) {
        ColoNotifier *n = &g_array_index(c->notifiers, ColoNotifier, i);

        n->fn(ev, mode, n->opaque);
    }
}

void colo_stats_provider_add(ColoStatsFn *fn, void *opaque)
{
    ColoStatsProvider p = { fn, opaque };

    g_array_append_val(colo_current()->stats_providers, p);
}

void colo_stats_provider_remove(ColoStatsFn *fn, void *opaque)
{
    GArray *a = colo_current()->stats_providers;

    for (guint i = 0; i < a->len; i++) {
        ColoStatsProvider *p = &g_array_index(a, ColoStatsProvider, i);

        if (p->fn == fn && p->opaque == opaque) {
            g_array_remove_index(a, i);
            return;
        }
    }
}

ColoStats *colo_query_stats(ColoState *c)
{
    ColoStats *st = colo_stats_query(&c->stats, colo_state_mode(c));

    for (guint i = 0; i < c->stats_providers->len; i++) {
        ColoStatsProvider *p = &g_array_index(c->stats_providers,
                                              ColoStatsProvider, i);

        p->fn(st, p->opaque);
    }
    return st;
}

COLOMode colo_state_mode(ColoState *c)
{
    return __atomic_load_n(&c->mode, __ATOMIC_SEQ_CST);
}

COLOMode colo_mode(void)
{
    return colo_state_mode(colo_current());
}

/* ---- wake-up and triggers ---- */

int colo_wake_fd(ColoState *c)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    if (c->wake_fd < 0) {
        c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    return c->wake_fd;
}

void colo_wake(ColoState *c)
{
    uint64_t one = 1;
    int fd = colo_wake_fd(c);

    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        trace_colo_wake_failed(errno);
    }
}

unsigned colo_take_triggers(ColoState *c)
{
    uint64_t v;
    int fd = colo_wake_fd(c);

    while (fd >= 0 && read(fd, &v, sizeof(v)) == sizeof(v)) {
        /* drained */
    }
    return __atomic_exchange_n(&c->triggers, 0, __ATOMIC_SEQ_CST);
}

bool colo_checkpoint_trigger(ColoTrigger why)
{
    ColoState *c = colo_current();

    if (colo_state_mode(c) != COLO_MODE_PRIMARY || why >= COLO_TRIGGER__MAX) {
        return false;
    }
    __atomic_fetch_or(&c->triggers, 1u << why, __ATOMIC_SEQ_CST);
    colo_wake(c);
    return true;
}

bool colo_quitting(ColoState *c)
{
    return __atomic_load_n(&c->quitting, __ATOMIC_SEQ_CST);
}

/* The side's kick and its opaque, read together under the lock. */
static ColoKickFn *colo_get_kick(ColoState *c, void **opaque)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    *opaque = c->kick_opaque;
    return c->kick;
}

void colo_begin_quit(ColoState *c)
{
    ColoKickFn *kick;
    void *opaque;

    __atomic_store_n(&c->quitting, true, __ATOMIC_SEQ_CST);
    kick = colo_get_kick(c, &opaque);
    if (kick) {
        kick(opaque);
    }
    colo_wake(c);
}

/* ---- the failover state machine ---- */

FailoverStatus colo_failover_state(ColoState *c)
{
    return __atomic_load_n(&c->failover, __ATOMIC_SEQ_CST);
}

bool colo_failover_move(ColoState *c, FailoverStatus old,
                        FailoverStatus next)
{
    int expected = old;

    if (!__atomic_compare_exchange_n(&c->failover, &expected, next, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        return false;
    }
    trace_colo_failover_state(FailoverStatus_str(old),
                              FailoverStatus_str(next));
    return true;
}

/* What the locked half of a failover request decided. */
typedef enum ColoFailoverAsk {
    COLO_ASK_REFUSED,           /* *errp set when by_command */
    COLO_ASK_ACKNOWLEDGED,      /* a loss the primary noticed itself */
    COLO_ASK_KICK,              /* require: kick the COLO thread */
    COLO_ASK_RELAUNCH,          /* relaunch: the checkpoint's end runs it */
} ColoFailoverAsk;

/* COLO_ASK_KICK: *kick and *opaque are the kick to run, read in the
 * same locked section as the move to require. */
static ColoFailoverAsk colo_failover_ask(ColoState *c, bool by_command,
                                         ColoKickFn **kick, void **opaque,
                                         Error **errp)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    if (colo_state_mode(c) == COLO_MODE_NONE) {
        /* The primary left COLO by itself when it lost the secondary;
         * the operator's (or fencing agent's) command acknowledges it. */
        if (by_command && c->unacked_peer_loss) {
            c->unacked_peer_loss = false;
            return COLO_ASK_ACKNOWLEDGED;
        }
        error_setg(errp, "COLO is not active: there is nothing to fail "
                   "over");
        return COLO_ASK_REFUSED;
    }
    if (!colo_failover_move(c, FAILOVER_STATUS_NONE, FAILOVER_STATUS_REQUIRE)) {
        /* The primary is leaving COLO by itself (it lost the secondary)
         * but has not ended the run yet: acknowledged as after the end. */
        if (by_command && c->loop_failover && !c->loss_acked) {
            c->loss_acked = true;
            return COLO_ASK_ACKNOWLEDGED;
        }
        if (by_command) {
            error_setg(errp, "COLO failover is already activated");
        }
        return COLO_ASK_REFUSED;
    }
    c->loop_failover = !by_command;
    if (c->in_checkpoint &&
        colo_failover_move(c, FAILOVER_STATUS_REQUIRE,
                           FAILOVER_STATUS_RELAUNCH)) {
        return COLO_ASK_RELAUNCH;
    }
    *kick = c->kick;
    *opaque = c->kick_opaque;
    return COLO_ASK_KICK;
}

bool colo_failover_request(ColoState *c, bool by_command, Error **errp)
{
    ColoKickFn *kick = NULL;
    void *opaque = NULL;

    switch (colo_failover_ask(c, by_command, &kick, &opaque, errp)) {
    case COLO_ASK_REFUSED:
        return false;
    case COLO_ASK_ACKNOWLEDGED:
        trace_colo_failover_acknowledged();
        return true;
    case COLO_ASK_RELAUNCH:
        trace_colo_failover_request(by_command, true);
        break;
    case COLO_ASK_KICK:
        trace_colo_failover_request(by_command, false);
        if (kick) {
            kick(opaque);
        }
        break;
    }
    colo_wake(c);
    return true;
}

void colo_checkpoint_phase_enter(ColoState *c)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    c->in_checkpoint = true;
}

bool colo_checkpoint_phase_leave(ColoState *c)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    c->in_checkpoint = false;
    return colo_failover_state(c) == FAILOVER_STATUS_RELAUNCH;
}

/* ---- runs ---- */

/* A new run's state; the mode last, so a reader seeing it sees the rest. */
static void colo_run_reset(ColoState *c, COLOMode mode, ColoKickFn *kick,
                           void *opaque)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    __atomic_store_n(&c->failover, FAILOVER_STATUS_NONE, __ATOMIC_SEQ_CST);
    __atomic_store_n(&c->triggers, 0, __ATOMIC_SEQ_CST);
    c->reason = COLO_EXIT_REASON_NONE;
    c->unacked_peer_loss = false;
    c->loop_failover = false;
    c->loss_acked = false;
    c->in_checkpoint = false;
    c->peer_lost = false;
    g_clear_pointer(&c->peer_lost_error, g_free);
    c->kick = kick;
    c->kick_opaque = opaque;
    __atomic_store_n(&c->mode, mode, __ATOMIC_SEQ_CST);
}

void colo_run_begin(ColoState *c, COLOMode mode, ColoKickFn *kick,
                    void *opaque)
{
    colo_run_reset(c, mode, kick, opaque);
    colo_wake_fd(c);
    colo_stats_reset(&c->stats, mode);
    trace_colo_run_begin(COLOMode_str(mode));
}

static void colo_run_record_end(ColoState *c, COLOMode mode,
                                COLOExitReason reason, bool by_peer_loss)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    c->last_mode = mode;
    c->reason = reason;
    c->unacked_peer_loss = by_peer_loss && !c->loss_acked;
    c->in_checkpoint = false;
    c->kick = NULL;
    c->kick_opaque = NULL;
    __atomic_store_n(&c->mode, COLO_MODE_NONE, __ATOMIC_SEQ_CST);
}

void colo_run_end(ColoState *c, COLOExitReason reason, bool by_peer_loss)
{
    COLOMode mode = colo_state_mode(c);
    FailoverStatus st = colo_failover_state(c);

    /* Whatever path got here, the machine ends in completed. */
    if (st != FAILOVER_STATUS_ACTIVE) {
        colo_failover_move(c, st, FAILOVER_STATUS_ACTIVE);
    }
    colo_failover_move(c, FAILOVER_STATUS_ACTIVE, FAILOVER_STATUS_COMPLETED);
    colo_run_record_end(c, mode, reason, by_peer_loss);
    trace_colo_run_end(COLOMode_str(mode), COLOExitReason_str(reason));
    qapi_event_send_colo_exit(mode, reason);
}

void colo_peer_lost(ColoState *c, const char *why)
{
    COLOMode mode = colo_state_mode(c);

    {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

        c->peer_lost = true;
        g_free(c->peer_lost_error);
        c->peer_lost_error = g_strdup(why);
    }
    trace_colo_peer_lost(COLOMode_str(mode), why);
    qapi_event_send_x_colo_peer_lost(mode, why);
}

COLOExitReason colo_failover_exit_reason(ColoState *c)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    return c->peer_lost || colo_quitting(c) ? COLO_EXIT_REASON_ERROR
                                            : COLO_EXIT_REASON_REQUEST;
}

const char *colo_error_reason(Error *err)
{
    const char *msg = err ? error_get_pretty(err) : "connection ended";

    return g_str_has_prefix(msg, "COLO: ") ? msg + 6 : msg;
}

COLOStatus *colo_query_status(ColoState *c)
{
    COLOStatus *st = g_new0(COLOStatus, 1);
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&c->lock);

    st->mode = colo_state_mode(c);
    st->last_mode = c->last_mode;
    if (st->mode == COLO_MODE_NONE) {
        st->reason = c->reason;
    } else if (colo_failover_state(c) != FAILOVER_STATUS_NONE) {
        /* As QEMU: processing once failing over. */
        st->reason = COLO_EXIT_REASON_PROCESSING;
    } else {
        /* As QEMU, none while it runs; but a secondary that lost its
         * primary waits in COLO for the command, and QEMU's loop has
         * reported error by then (its COLO_EXIT): so do we. */
        st->reason = c->peer_lost ? COLO_EXIT_REASON_ERROR
                                  : COLO_EXIT_REASON_NONE;
    }
    if (c->peer_lost) {
        st->x_peer_lost = g_strdup(c->peer_lost_error);
    }
    return st;
}
