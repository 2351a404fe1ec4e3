/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Monitors: QMP (JSON, for programs) and HMP (text, for people) on
 * chardevs. Any number of each may exist (-qmp, -monitor, -mon, and
 * chardev-add'ed ones are not monitors).
 *
 * QMP monitors read and parse on the monitor I/O thread. Out-of-band
 * commands (exec-oob, for commands that allow it) run right there, without
 * the BQL, so they work while the main loop is stuck; in-band commands are
 * queued and run one at a time on the main loop with the BQL, in order.
 * HMP monitors live on the main loop.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include <stdbool.h>
#include "chardev/char.h"
#include "util/error.h"

/* Starts the monitor I/O thread; call once before creating QMP monitors. */
void monitor_init_globals(void);
/* Stops the I/O thread and frees every monitor (at exit, BQL held). */
void monitor_cleanup(void);

bool monitor_new_qmp(Chardev *chr, bool pretty, Error **errp);
bool monitor_new_hmp(Chardev *chr, Error **errp);

/*
 * -mon [chardev=]ID[,mode=control|readline][,pretty=on|off]
 * -qmp DEV / -qmp-pretty DEV / -monitor DEV (DEV in -serial's spelling)
 */
bool monitor_parse_mon_option(const char *optarg, Error **errp);
bool monitor_parse_legacy(const char *dev, bool qmp, bool pretty,
                          Error **errp);

/* Emits STOP/RESUME/SHUTDOWN/RESET from run-state changes. */
void monitor_register_events(void);

/*
 * Takes the fd a client named with getfd on the QMP monitor running the
 * current command (fd:NAME URIs); the caller owns it. -1 with errp set
 * when there is no such name (or no QMP command is running).
 */
int monitor_take_named_fd(const char *fdname, Error **errp);

/* Runs one HMP command line, capturing its output (human-monitor-command). */
char *hmp_run_command(const char *cmdline, Error **errp);

#endif
