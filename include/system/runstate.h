/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM run state machine and the requests that drive it.
 *
 *                 +-----------+   cont    +---------+
 *   start -S ---> | prelaunch | --------> | running | <-------+
 *                 +-----------+           +---------+         |
 *                       |                 |  stop  |          | cont
 *                       |                 v        v          |
 *                       |          +----------+  +--------+   |
 *                       |          | shutdown |  | paused | --+
 *                       |          +----------+  +--------+
 *                       |              (exit, or pause with -no-shutdown)
 *                       +--> inmigrate (-incoming), see below
 *
 * Migration and COLO:
 *   source       running|paused|prelaunch --switchover--> finish-migrate
 *                finish-migrate --completed--> postmigrate
 *                finish-migrate --failed, cancelled, strict abort-->
 *                    running (paused if it was not running)
 *   destination  prelaunch --(-incoming)--> inmigrate
 *                inmigrate --loaded--> running (paused with -S)
 *   COLO         after the initial migration each side's guest runs
 *                (from finish-migrate, from inmigrate); then, every
 *                checkpoint, running --guest stopped--> colo --> running
 *                (a primary whose guest was paused stays paused). After
 *                a failover the guest runs, except on a secondary whose
 *                state a failed checkpoint tore: it stays paused
 * system_reset in shutdown, internal-error or guest-panicked leaves a
 * fresh guest in prelaunch (cont starts it), as in QEMU.
 * Errors (internal-error, guest-panicked, io-error, watchdog), debug and
 * save-vm have their edges in the table too. Every edge a QMP or HMP
 * command can take is in the table (tests/qtest/test-runstate walks
 * them): a command is refused with an error, never an abort.
 *
 * Every transition goes through runstate_set(), which checks it against
 * the table in runstate.c and traces it. Names and order match QEMU's
 * RunState enum so QMP reports the same strings.
 *
 * Threads other than the main loop never change the state directly: they
 * post a request (shutdown, reset, stop, debug-exit) that the main loop
 * carries out, because pausing all vCPUs from a vCPU would deadlock.
 */
#ifndef SYSTEM_RUNSTATE_H
#define SYSTEM_RUNSTATE_H

#include <stdbool.h>

/* RunState and ShutdownCause come from qapi/run-state.json. */
#include "qapi/qapi-types.h"

RunState runstate_get(void);
bool runstate_is_running(void);
/* Aborts on a transition the table does not allow: that is a bug. */
void runstate_set(RunState new_state);
bool runstate_transition_allowed(RunState from, RunState to);

/* Observers of state changes (QMP events hook in here). */
typedef void RunstateChangeFn(RunState old_state, RunState new_state,
                              void *opaque);
void runstate_add_change_notifier(RunstateChangeFn *fn, void *opaque);
/* A device that goes away (device_del) takes its notifier with it. */
void runstate_remove_change_notifier(RunstateChangeFn *fn, void *opaque);

/* Main loop only, BQL held. */
void vm_start(void);                    /* resume vCPUs, state running */
void vm_stop(RunState state);           /* pause vCPUs, state as given */

/* Any thread. The main loop acts on them in main_loop_check_requests(). */
void system_shutdown_request(ShutdownCause cause);
void system_reset_request(ShutdownCause cause);
void system_debug_exit_request(int status);
void vm_stop_request(RunState state);

/* Policy from the command line. */
void runstate_set_no_reboot(bool no_reboot);     /* -no-reboot */
void runstate_set_no_shutdown(bool no_shutdown); /* -no-shutdown */

/* Observers of shutdown and reset (QMP SHUTDOWN/RESET events). */
typedef void ShutdownNotifyFn(ShutdownCause cause, bool is_reset,
                              void *opaque);
void runstate_add_shutdown_notifier(ShutdownNotifyFn *fn, void *opaque);

/*
 * Handles pending requests. Returns true when the process should exit,
 * with *status set to its exit status.
 */
bool main_loop_check_requests(int *status);

/* The machine's reset, called by the main loop with vCPUs paused; false
 * when it failed (it said why): the VM then stops in internal-error. */
void runstate_set_reset_handler(bool (*fn)(void *opaque), void *opaque);

#endif
