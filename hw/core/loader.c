/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the files a user names for the guest to boot: the rules are in
 * include/hw/core/loader.h. The file is read in two steps, header then
 * the rest, each bounded by the size fstat() reported when it was opened,
 * so a file that grows while we read cannot make us read without end.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include "hw/core/loader.h"
#include "util/fdset.h"
#include "trace.h"

/* Reads exactly len bytes at off, or fails: short files are an error. */
static bool loader_pread_all(int fd, uint8_t *buf, size_t len, off_t off,
                             const char *path, const LoaderImageSpec *spec,
                             Error **errp)
{
    while (len) {
        ssize_t n = pread(fd, buf, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "could not load %s '%s'",
                             spec->what, path);
            return false;
        }
        if (n == 0) {
            error_setg(errp, "could not load %s '%s': the file shrank while "
                       "it was read", spec->what, path);
            return false;
        }
        buf += n;
        len -= n;
        off += n;
    }
    return true;
}

/* Opens without blocking (a FIFO's open waits for a writer otherwise). */
static int loader_open_regular(const char *path, const LoaderImageSpec *spec,
                               uint64_t *size, Error **errp)
{
    struct stat st;
    int fd = fdset_open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not load %s '%s'", spec->what,
                         path);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "could not load %s '%s'", spec->what,
                         path);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        error_setg(errp, "could not load %s '%s': not a regular file",
                   spec->what, path);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > spec->max_size) {
        error_setg(errp, "could not load %s '%s': its %" G_GUINT64_FORMAT
                   " bytes do not fit in the guest's %" G_GUINT64_FORMAT
                   " bytes of RAM", spec->what, path,
                   (uint64_t)st.st_size, spec->max_size);
        close(fd);
        return -1;
    }
    *size = st.st_size;
    return fd;
}

bool loader_read_image(const char *path, const LoaderImageSpec *spec,
                       uint8_t **data, size_t *size, Error **errp)
{
    g_autofree uint8_t *buf = NULL;
    uint64_t len;
    size_t head;
    int fd = loader_open_regular(path, spec, &len, errp);
    bool ok;

    if (fd < 0) {
        return false;
    }
    trace_loader_read_image(spec->what, path, len);
    buf = g_malloc(len ? len : 1);
    head = MIN(len, spec->check ? spec->header_size : len);
    ok = loader_pread_all(fd, buf, head, 0, path, spec, errp);
    if (ok && spec->check) {
        ok = spec->check(buf, head, spec->opaque, errp);
    }
    if (ok) {
        ok = loader_pread_all(fd, buf + head, len - head, head, path, spec,
                              errp);
    }
    close(fd);
    if (!ok) {
        return false;
    }
    *data = g_steal_pointer(&buf);
    *size = len;
    return true;
}
