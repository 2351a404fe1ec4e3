/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Creating a host file for an image, as QEMU's file driver creates one:
 * opened (created if missing) without truncating, locked as QEMU's
 * creation locks it (holding write and resize, sharing all but resize,
 * so a writer of the image elsewhere refuses it), then emptied.
 */
#ifndef BLOCK_FILE_CREATE_H
#define BLOCK_FILE_CREATE_H

#include <stdbool.h>
#include <stdint.h>
#include "file-lock.h"
#include "qapi/qapi-types.h"

/*
 * The emptied, locked file's fd (mode 0644 less umask), or -1 with
 * *errp set. user: the name of a node of ours that has the image open
 * (a file opened with locking=off takes no lock to refuse us), refused
 * with its name; NULL when the caller let locks decide. The caller
 * calls file_lock_destroy(lock) and closes the fd.
 */
int file_create_open(const char *path, const char *user, FileLock *lock,
                     Error **errp);

/*
 * blockdev-create's file driver: the file at path, size bytes long,
 * preallocated as asked (off, falloc, full; metadata is refused with
 * QEMU's words). Any thread.
 */
bool file_create(const char *path, uint64_t size, PreallocMode prealloc,
                 Error **errp);

#endif
