/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Run-state events: STOP and RESUME when the VM leaves or enters the
 * running state, SHUTDOWN and RESET with their cause, as QEMU emits them.
 */
#include "monitor-internal.h"
#include "qapi/qapi-events.h"
#include "system/runstate.h"

static bool shutdown_cause_is_guest(ShutdownCause cause)
{
    return cause == SHUTDOWN_CAUSE_GUEST_SHUTDOWN ||
           cause == SHUTDOWN_CAUSE_GUEST_RESET ||
           cause == SHUTDOWN_CAUSE_GUEST_PANIC;
}

static void qmp_events_runstate_changed(RunState old_state,
                                        RunState new_state, void *opaque)
{
    if (new_state == RUN_STATE_RUNNING) {
        qapi_event_send_resume();
    } else if (old_state == RUN_STATE_RUNNING) {
        qapi_event_send_stop();
    }
}

static void qmp_events_shutdown(ShutdownCause cause, bool is_reset,
                                void *opaque)
{
    bool guest = shutdown_cause_is_guest(cause);

    if (is_reset) {
        qapi_event_send_reset(guest, cause);
    } else {
        qapi_event_send_shutdown(guest, cause);
    }
}

void monitor_register_events(void)
{
    runstate_add_change_notifier(qmp_events_runstate_changed, NULL);
    runstate_add_shutdown_notifier(qmp_events_shutdown, NULL);
}
