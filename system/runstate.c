/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The run state machine (see the drawing in system/runstate.h) and the
 * request mailbox through which vCPU threads, signal handlers and devices
 * ask the main loop to shut down, reset, stop or exit.
 */
#include <stdlib.h>
#include "system/cpus.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "trace.h"

typedef struct RunStateTransition {
    RunState from, to;
} RunStateTransition;

/*
 * Every allowed transition; anything else is a bug. Every transition a
 * QMP or HMP command can cause from any state must be here (test-runstate
 * walks them): a command may be refused with an error, never abort.
 */
static const RunStateTransition runstate_transitions[] = {
    { RUN_STATE_PRELAUNCH, RUN_STATE_RUNNING },
    { RUN_STATE_PRELAUNCH, RUN_STATE_FINISH_MIGRATE }, /* migrate with -S */
    { RUN_STATE_PRELAUNCH, RUN_STATE_PAUSED },
    { RUN_STATE_PRELAUNCH, RUN_STATE_INMIGRATE },
    { RUN_STATE_PRELAUNCH, RUN_STATE_SHUTDOWN },
    { RUN_STATE_PRELAUNCH, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_RUNNING, RUN_STATE_PAUSED },
    { RUN_STATE_RUNNING, RUN_STATE_SHUTDOWN },
    { RUN_STATE_RUNNING, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_RUNNING, RUN_STATE_GUEST_PANICKED },
    { RUN_STATE_RUNNING, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_RUNNING, RUN_STATE_SAVE_VM },
    { RUN_STATE_RUNNING, RUN_STATE_COLO },
    { RUN_STATE_RUNNING, RUN_STATE_DEBUG },
    { RUN_STATE_RUNNING, RUN_STATE_IO_ERROR },
    { RUN_STATE_RUNNING, RUN_STATE_WATCHDOG },
    { RUN_STATE_PAUSED, RUN_STATE_RUNNING },
    { RUN_STATE_PAUSED, RUN_STATE_SHUTDOWN },
    { RUN_STATE_PAUSED, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_PAUSED, RUN_STATE_POSTMIGRATE },
    { RUN_STATE_PAUSED, RUN_STATE_PRELAUNCH },
    { RUN_STATE_SHUTDOWN, RUN_STATE_PAUSED },
    { RUN_STATE_SHUTDOWN, RUN_STATE_RUNNING },
    { RUN_STATE_SHUTDOWN, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_SHUTDOWN, RUN_STATE_PRELAUNCH },        /* system_reset */
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_PAUSED },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_RUNNING },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_SHUTDOWN },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_INTERNAL_ERROR, RUN_STATE_PRELAUNCH },  /* system_reset */
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_RUNNING },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_PAUSED },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_SHUTDOWN },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_PRELAUNCH },  /* system_reset */
    { RUN_STATE_INMIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_INMIGRATE, RUN_STATE_PAUSED },
    { RUN_STATE_INMIGRATE, RUN_STATE_SHUTDOWN },
    { RUN_STATE_INMIGRATE, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_INMIGRATE, RUN_STATE_COLO },
    { RUN_STATE_INMIGRATE, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_INMIGRATE, RUN_STATE_PRELAUNCH },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_PAUSED },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_POSTMIGRATE },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_SHUTDOWN },
    { RUN_STATE_FINISH_MIGRATE, RUN_STATE_COLO },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_RUNNING },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_PAUSED },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_SHUTDOWN },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_FINISH_MIGRATE },
    { RUN_STATE_COLO, RUN_STATE_RUNNING },
    { RUN_STATE_COLO, RUN_STATE_PAUSED },
    { RUN_STATE_COLO, RUN_STATE_SHUTDOWN },
    { RUN_STATE_SAVE_VM, RUN_STATE_RUNNING },
    { RUN_STATE_SAVE_VM, RUN_STATE_PAUSED },
    { RUN_STATE_RESTORE_VM, RUN_STATE_RUNNING },
    { RUN_STATE_RESTORE_VM, RUN_STATE_PAUSED },
    { RUN_STATE_DEBUG, RUN_STATE_RUNNING },
    { RUN_STATE_DEBUG, RUN_STATE_PAUSED },
    { RUN_STATE_IO_ERROR, RUN_STATE_RUNNING },
    { RUN_STATE_IO_ERROR, RUN_STATE_PAUSED },
    { RUN_STATE_IO_ERROR, RUN_STATE_SHUTDOWN },
    { RUN_STATE_WATCHDOG, RUN_STATE_RUNNING },
    { RUN_STATE_WATCHDOG, RUN_STATE_PAUSED },
    { RUN_STATE_SUSPENDED, RUN_STATE_RUNNING },
    { RUN_STATE_SUSPENDED, RUN_STATE_PAUSED },
    /*
     * A failed reset stops the guest in internal-error, and the host may
     * ask for a reset in any state a guest can sit in (main_loop_do_reset).
     */
    { RUN_STATE_PAUSED, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_SHUTDOWN, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_POSTMIGRATE, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_GUEST_PANICKED, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_IO_ERROR, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_DEBUG, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_WATCHDOG, RUN_STATE_INTERNAL_ERROR },
    { RUN_STATE_SUSPENDED, RUN_STATE_INTERNAL_ERROR },
};

typedef struct RunstateNotifier {
    RunstateChangeFn *fn;
    void *opaque;
} RunstateNotifier;

typedef struct ShutdownNotifier {
    ShutdownNotifyFn *fn;
    void *opaque;
} ShutdownNotifier;

/*
 * The machine's life-cycle state. One per process, like the machine it
 * describes; the request flags are written from any thread with atomics.
 */
static struct {
    RunState state;
    bool no_reboot;
    bool no_shutdown;
    GArray *change_notifiers;
    GArray *shutdown_notifiers;
    bool (*reset_fn)(void *opaque);
    void *reset_opaque;
    /* requests, set from any thread */
    int shutdown_requested;     /* ShutdownCause, 0 = none */
    int reset_requested;        /* ShutdownCause, 0 = none */
    int stop_requested;         /* RunState + 1, 0 = none */
    int debug_exit_status;      /* status + 1, 0 = none */
} rs = { .state = RUN_STATE_PRELAUNCH };

RunState runstate_get(void)
{
    return rs.state;
}

bool runstate_is_running(void)
{
    return rs.state == RUN_STATE_RUNNING;
}

bool runstate_transition_allowed(RunState from, RunState to)
{
    for (size_t i = 0; i < G_N_ELEMENTS(runstate_transitions); i++) {
        if (runstate_transitions[i].from == from &&
            runstate_transitions[i].to == to) {
            return true;
        }
    }
    return false;
}

void runstate_set(RunState new_state)
{
    RunState old = rs.state;

    if (old == new_state) {
        return;
    }
    if (!runstate_transition_allowed(old, new_state)) {
        g_error("invalid runstate transition: '%s' -> '%s'",
                RunState_str(old), RunState_str(new_state));
    }
    trace_runstate_set(RunState_str(old), RunState_str(new_state));
    rs.state = new_state;
    for (guint i = 0; rs.change_notifiers && i < rs.change_notifiers->len; i++) {
        RunstateNotifier *n = &g_array_index(rs.change_notifiers,
                                             RunstateNotifier, i);
        n->fn(old, new_state, n->opaque);
    }
}

void runstate_add_change_notifier(RunstateChangeFn *fn, void *opaque)
{
    RunstateNotifier n = { fn, opaque };

    if (!rs.change_notifiers) {
        rs.change_notifiers = g_array_new(FALSE, FALSE, sizeof(n));
    }
    g_array_append_val(rs.change_notifiers, n);
}

void runstate_remove_change_notifier(RunstateChangeFn *fn, void *opaque)
{
    for (guint i = 0; rs.change_notifiers && i < rs.change_notifiers->len;
         i++) {
        RunstateNotifier *n = &g_array_index(rs.change_notifiers,
                                             RunstateNotifier, i);

        if (n->fn == fn && n->opaque == opaque) {
            g_array_remove_index(rs.change_notifiers, i);
            return;
        }
    }
}

void runstate_add_shutdown_notifier(ShutdownNotifyFn *fn, void *opaque)
{
    ShutdownNotifier n = { fn, opaque };

    if (!rs.shutdown_notifiers) {
        rs.shutdown_notifiers = g_array_new(FALSE, FALSE, sizeof(n));
    }
    g_array_append_val(rs.shutdown_notifiers, n);
}

static void runstate_notify_shutdown(ShutdownCause cause, bool is_reset)
{
    for (guint i = 0; rs.shutdown_notifiers && i < rs.shutdown_notifiers->len;
         i++) {
        ShutdownNotifier *n = &g_array_index(rs.shutdown_notifiers,
                                             ShutdownNotifier, i);
        n->fn(cause, is_reset, n->opaque);
    }
}

void runstate_set_no_reboot(bool no_reboot)
{
    rs.no_reboot = no_reboot;
}

void runstate_set_no_shutdown(bool no_shutdown)
{
    rs.no_shutdown = no_shutdown;
}

void runstate_set_reset_handler(bool (*fn)(void *opaque), void *opaque)
{
    rs.reset_fn = fn;
    rs.reset_opaque = opaque;
}

void vm_start(void)
{
    g_assert(bql_locked());
    if (runstate_is_running()) {
        return;
    }
    runstate_set(RUN_STATE_RUNNING);
    cpus_resume_all();
}

void vm_stop(RunState state)
{
    g_assert(bql_locked() && !cpus_current());
    cpus_pause_all();
    runstate_set(state);
}

static void request_set(int *slot, int value)
{
    __atomic_store_n(slot, value, __ATOMIC_SEQ_CST);
    main_loop_notify();
}

static int request_take(int *slot)
{
    return __atomic_exchange_n(slot, 0, __ATOMIC_SEQ_CST);
}

void system_shutdown_request(ShutdownCause cause)
{
    trace_system_shutdown_request(ShutdownCause_str(cause));
    request_set(&rs.shutdown_requested, cause);
}

void system_reset_request(ShutdownCause cause)
{
    trace_system_reset_request(ShutdownCause_str(cause));
    if (rs.no_reboot && cause == SHUTDOWN_CAUSE_GUEST_RESET) {
        /* -no-reboot: a guest reset ends the process instead. */
        request_set(&rs.shutdown_requested, cause);
    } else {
        request_set(&rs.reset_requested, cause);
    }
}

void system_debug_exit_request(int status)
{
    trace_system_debug_exit_request(status);
    request_set(&rs.debug_exit_status, status + 1);
}

void vm_stop_request(RunState state)
{
    request_set(&rs.stop_requested, state + 1);
}

static void main_loop_do_reset(ShutdownCause cause)
{
    bool was_running = runstate_is_running();

    cpus_pause_all();
    if (rs.reset_fn && !rs.reset_fn(rs.reset_opaque)) {
        /* The handler said why; the guest must not run on un-reset. */
        vm_stop(RUN_STATE_INTERNAL_ERROR);
        return;
    }
    runstate_notify_shutdown(cause, true);
    /*
     * A guest that had stopped for good (shut down with -no-shutdown,
     * crashed, panicked) is a fresh, not yet started one after the reset,
     * as in QEMU: cont then starts it, where it used to be refused with
     * "Resetting the Virtual Machine is required" after the reset.
     */
    switch (rs.state) {
    case RUN_STATE_SHUTDOWN:
    case RUN_STATE_INTERNAL_ERROR:
    case RUN_STATE_GUEST_PANICKED:
        runstate_set(RUN_STATE_PRELAUNCH);
        break;
    default:
        break;
    }
    /*
     * A guest-initiated reset restarts the guest; a stopped VM reset by
     * the host stays stopped until cont, as in QEMU.
     */
    if (was_running || cause == SHUTDOWN_CAUSE_GUEST_RESET) {
        if (!runstate_is_running()) {
            runstate_set(RUN_STATE_RUNNING);
        }
        cpus_resume_all();
    }
}

bool main_loop_check_requests(int *status)
{
    int value;

    g_assert(bql_locked());
    value = request_take(&rs.debug_exit_status);
    if (value) {
        cpus_pause_all();
        *status = value - 1;
        return true;
    }
    value = request_take(&rs.shutdown_requested);
    if (value) {
        runstate_notify_shutdown((ShutdownCause)value, false);
        if (rs.no_shutdown && value != SHUTDOWN_CAUSE_HOST_SIGNAL &&
            value != SHUTDOWN_CAUSE_HOST_QMP_QUIT &&
            value != SHUTDOWN_CAUSE_HOST_UI) {
            vm_stop(RUN_STATE_SHUTDOWN);
        } else {
            cpus_pause_all();
            *status = 0;
            return true;
        }
    }
    value = request_take(&rs.reset_requested);
    if (value) {
        main_loop_do_reset((ShutdownCause)value);
    }
    value = request_take(&rs.stop_requested);
    if (value) {
        RunState target = (RunState)(value - 1);
        if (runstate_is_running() ||
            runstate_transition_allowed(rs.state, target)) {
            vm_stop(target);
        }
    }
    return false;
}
