/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Process set-up that is POSIX plumbing rather than VM logic:
 * -daemonize (the parent exits only once the child reports the VM is set
 * up, so whoever started us can connect at once), -pidfile (written and
 * locked by the process that stays), the process name, and the
 * termination signals with their sender.
 */
#ifndef SYSTEM_OS_POSIX_H
#define SYSTEM_OS_POSIX_H

#include <stdbool.h>
#include <sys/types.h>
#include "util/error.h"

/* Forks; only the child returns. The parent waits for os_daemonize_done
 * and exits 0 if set-up succeeded, 1 if the child failed or died. */
void os_daemonize_start(void);
/* In the child: tell the parent we are up, detach stdio. */
void os_daemonize_done(bool keep_stderr);

bool os_pidfile_create(const char *path, Error **errp);
void os_pidfile_remove(void);
void os_set_process_name(const char *name);
/* -overcommit mem-lock=on: all current and future memory stays in RAM. */
bool os_mlock(Error **errp);

/* SIGINT, SIGTERM and SIGHUP call fn(sig, pid) from the main loop; pid
 * is the sender's, or 0 when the kernel or a terminal sent it. The signal
 * handler itself only records them (async-signal-safe). */
void os_setup_termination_signals(void (*fn)(int sig, pid_t pid));
/* The sender's command name (argv[0] from /proc), or NULL; g_free it. */
char *os_get_pid_name(pid_t pid);

#endif
