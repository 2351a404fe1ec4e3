/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fd sets: file descriptors a manager opened for Tandem, grouped under a
 * numeric set id (-add-fd fd=N,set=S on the command line, QMP add-fd
 * with an fd passed over the socket). Wherever Tandem opens a path (the
 * kernel and initrd, file chardevs, file: migration), "/dev/fdset/S"
 * stands for "a duplicate of the fd in set S whose access mode (read,
 * write or both) matches": libvirt opens files with its own privileges
 * and hands them over this way, so Tandem never needs access to them.
 *
 * A set holds fds with optional opaque strings; removing the last fd of
 * a set removes the set. A duplicate handed out by fdset_open() is the
 * opener's own and stays valid after its fd leaves the set. Under the
 * BQL (the command line runs before any thread).
 */
#ifndef UTIL_FDSET_H
#define UTIL_FDSET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/error.h"

#define FDSET_PATH_PREFIX "/dev/fdset/"

/* Takes fd into set set_id (created if needed); opaque may be NULL. */
void fdset_add_fd(int64_t set_id, int fd, const char *opaque);
/* The lowest set id not in use (QMP add-fd without fdset-id). */
int64_t fdset_free_id(void);
bool fdset_exists(int64_t set_id);
/* Closes one fd of a set, or (fd < 0) the whole set; errors as QEMU's
 * remove-fd words them. */
bool fdset_remove(int64_t set_id, int64_t fd, Error **errp);
/* Calls fn for each fd of each set, by set id then in order added. */
typedef void FdsetFdFn(int64_t set_id, int fd, const char *opaque,
                       void *data);
void fdset_foreach(FdsetFdFn *fn, void *data);
/* Every set closed (at exit, and between tests). */
void fdset_clear(void);

/*
 * open(2) for paths that may be "/dev/fdset/S": then a new duplicate
 * (close-on-exec) of the set's fd whose access mode matches flags, with
 * O_APPEND / O_NONBLOCK as asked, truncated for O_TRUNC, positioned at
 * the start; -1 with errno ENOENT (no such set), EACCES (no fd of that
 * mode) or EINVAL (not a set number). Any other path: open(path, flags
 * | O_CLOEXEC, mode).
 */
int fdset_open(const char *path, int flags, mode_t mode);

#endif
