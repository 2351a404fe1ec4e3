/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump-guest-memory's job: the guest's RAM and vCPU registers written
 * to a file as an ELF core (include/dump/elf-core.h), in the monitor's
 * thread or, detached, on a thread of its own while the monitor keeps
 * answering (docs/monitor.md, "Guest memory dumps").
 *
 * Status (DumpStatus from qapi/dump.json), one dump at a time:
 *
 *   none, completed, failed
 *     --dump_start--> active --header and RAM written--> completed
 *                       |  \--write error, cancel------> failed
 *                       \--bad range, no RAM, paging,
 *                          vCPU state unreadable-------> failed
 *
 * Every end that follows a start sends DUMP_COMPLETED, except the
 * checks on the last line (QEMU sends none for those either; the
 * command's error says why). A dump_start refused before that (a dump
 * already active, a migration running) changes nothing.
 *
 * While active: a running guest is stopped (run state save-vm) and
 * resumed at the end; stop and cont are refused (dump_in_progress);
 * migrate is refused through a migration blocker. The writer reads
 * guest RAM from the blocks' memfds without the BQL: the guest does
 * not run, and RAM stays mapped until dump_shutdown() returned.
 *
 * Locks: everything is main loop + BQL except `completed` (atomic, the
 * writer adds to it) and `cancel` (atomic).
 */
#ifndef DUMP_DUMP_H
#define DUMP_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include "accel/kvm.h"
#include "qapi/qapi-types.h"
#include "system/memory.h"
#include "util/error.h"

/* What migrate and query-migrate say while a dump runs (QEMU's words). */
#define DUMP_MIGRATION_BLOCKER \
    "Live migration disabled: dump-guest-memory in progress"

typedef struct DumpState DumpState;

DumpState *dump_new(void);
void dump_free(DumpState *ds);
/* The process's, created on first use; the QMP commands act on it. */
DumpState *dump_current(void);

/*
 * The machine ds dumps: its RAM (NULL: none, as with -machine none)
 * and, when its vCPUs run under KVM, the KvmState their registers are
 * read through (NULL under -accel qtest: the vCPUs have no registers,
 * and the dump has no CPU notes). main() sets it.
 */
void dump_set_machine(DumpState *ds, GuestMemory *mem, KvmState *kvm);

typedef struct DumpRequest {
    bool paging;
    bool detach;
    bool filter;                /* begin and length given */
    int64_t begin, length;      /* as QMP gave them */
    DumpGuestMemoryFormat format;
} DumpRequest;

/* True while a dump is active. */
bool dump_in_progress(DumpState *ds);

/*
 * Starts a dump into fd, which ds owns from now on (closed at the end,
 * or here on failure). Detached, returns once the writer runs; else
 * when the dump has ended. False with errp set when it was refused or
 * (not detached) failed. BQL, main loop.
 */
bool dump_start(DumpState *ds, int fd, const DumpRequest *req, Error **errp);

/* query-dump's answer. */
DumpQueryResult *dump_query(DumpState *ds);

/* At exit, BQL held: an active dump stops writing and is joined. */
void dump_shutdown(DumpState *ds);

#endif
