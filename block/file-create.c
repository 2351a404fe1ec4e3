/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host files for new images (block/file-create.h): blockdev-create's
 * file driver, and the open-lock-empty step the qcow2 creation over a
 * path shares with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "block/permission.h"
#include "file-create.h"

#define FILE_CREATE_ZERO_CHUNK (1u << 20)

int file_create_open(const char *path, const char *user, FileLock *lock,
                     Error **errp)
{
    bool ok;
    int fd;

    /* Not truncated at open: an image someone holds must stay whole. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", path);
        return -1;
    }
    *lock = (FileLock) { 0 };
    /* What QEMU's image creation takes: writing and resizing, sharing
     * all but resizing; a writer of the image (even a node of ours, on
     * its own open file description) refuses it. */
    ok = file_lock_init(lock, fd, path, ON_OFF_AUTO_AUTO, errp) &&
         file_lock_set(lock, BLK_PERM_WRITE | BLK_PERM_RESIZE,
                       BLK_PERM_ALL & ~(uint64_t)BLK_PERM_RESIZE, errp);
    /* Not locked against us (locking=off), and still in use. */
    if (ok && user) {
        error_setg(errp, "Could not create '%s': the image is in use by "
                   "node '%s'", path, user);
        ok = false;
    }
    if (ok && ftruncate(fd, 0) < 0) {
        error_setg_errno(errp, errno, "Could not truncate '%s'", path);
        ok = false;
    }
    if (!ok) {
        file_lock_destroy(lock);
        close(fd);
        return -1;
    }
    return fd;
}

/* preallocation=full: every byte written, so the blocks are the file's. */
static bool file_write_zeroes(int fd, uint64_t size, Error **errp)
{
    g_autofree uint8_t *zero = g_malloc0(FILE_CREATE_ZERO_CHUNK);

    for (uint64_t off = 0; off < size;) {
        size_t n = MIN(size - off, FILE_CREATE_ZERO_CHUNK);
        ssize_t r = pwrite(fd, zero, n, off);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            error_setg_errno(errp, r < 0 ? errno : EIO,
                             "Could not write zeros for preallocation");
            return false;
        }
        off += r;
    }
    return true;
}

static bool file_resize(int fd, uint64_t size, PreallocMode prealloc,
                        Error **errp)
{
    int ret;

    if (size > INT64_MAX) {
        error_setg_errno(errp, EINVAL, "Could not resize file");
        return false;
    }
    switch (prealloc) {
    case PREALLOC_MODE_FULL:
        return file_write_zeroes(fd, size, errp);
    case PREALLOC_MODE_FALLOC:
        ret = size ? posix_fallocate(fd, 0, size) : 0;
        if (ret) {
            error_setg_errno(errp, ret, "Could not preallocate data for "
                             "the new file");
            return false;
        }
        return true;
    default:
        if (ftruncate(fd, (off_t)size) < 0) {
            error_setg_errno(errp, errno, "Could not resize file");
            return false;
        }
        return true;
    }
}

bool file_create(const char *path, uint64_t size, PreallocMode prealloc,
                 Error **errp)
{
    FileLock lock;
    bool ok;
    int fd;

    if (prealloc == PREALLOC_MODE_METADATA) {
        error_setg(errp, "Unsupported preallocation mode: %s",
                   PreallocMode_str(prealloc));
        return false;
    }
    fd = file_create_open(path, NULL, &lock, errp);
    if (fd < 0) {
        return false;
    }
    ok = file_resize(fd, size, prealloc, errp);
    file_lock_destroy(&lock);
    close(fd);
    return ok;
}
