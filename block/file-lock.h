/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Image locking for the file driver: the node's permissions
 * (block/permission.h) as open file description locks on bytes of the
 * image, in the layout QEMU uses, so QEMU, qemu-img, qemu-io and qemu-nbd
 * see our locks and we see theirs.
 *
 * For permission bit b (0 consistent read, 1 write, 2 write unchanged,
 * 3 resize, 4 graph modification):
 *   byte 100 + b  read-locked while we hold the permission
 *   byte 200 + b  read-locked while we do not share it
 * Everybody takes only read (shared) locks, so taking never conflicts;
 * a conflict is found by asking (F_OFD_GETLK) whether a write lock could
 * be taken, which it cannot while another open file description holds a
 * read lock there:
 *   we want to hold b         but someone locks 200 + b  -> "b" refused
 *   we do not want to share b but someone locks 100 + b  -> shared "b"
 * We lock first and check after, so two processes racing to the same
 * bytes cannot both pass the check; on a conflict the previous locks are
 * restored.
 *
 * OFD locks belong to the open file description, not the process: two
 * opens of one image in one process conflict as two processes do, and
 * closing the fd drops them (no other fd of the process can).
 *
 *   disabled (locking=off, or auto where OFD locks do not work)
 *   enabled: held/unshared = the bytes locked now, changed only by
 *            file_lock_set (all or nothing) and file_lock_release
 */
#ifndef BLOCK_FILE_LOCK_H
#define BLOCK_FILE_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "qapi/qapi-types.h"
#include "util/error.h"

typedef struct FileLock {
    int fd;
    bool enabled;
    char *path;             /* for the error hint */
    uint64_t held;          /* permissions whose 100 + b byte we lock */
    uint64_t unshared;      /* permissions whose 200 + b byte we lock */
} FileLock;

/*
 * Decides whether fd's image gets locks: off never, on always (failing
 * where OFD locks do not work), auto where they work.
 */
bool file_lock_init(FileLock *l, int fd, const char *path, OnOffAuto mode,
                    Error **errp);
/*
 * Locks for holding perm and sharing shared (both BLK_PERM_* masks).
 * Fails with QEMU's 'Failed to get "write" lock' when another open file
 * description stands in the way, leaving the locks as they were.
 */
bool file_lock_set(FileLock *l, uint64_t perm, uint64_t shared,
                   Error **errp);
/* Drops every lock (inactivation does it through file_lock_set too). */
void file_lock_release(FileLock *l);
void file_lock_destroy(FileLock *l);

#endif
