/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file backend: output appended to a file, truncated at open unless
 * append=on (QEMU's rule). Optional input from another file (path_in=) is
 * not supported yet and is refused rather than ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "chardev/char.h"
#include "util/fdset.h"

typedef struct FileChardev {
    Chardev parent;
    int fd;
} FileChardev;

static bool file_open(Chardev *chr, const KeyvalList *opts, Error **errp)
{
    FileChardev *f = (FileChardev *)chr;
    const char *path = keyval_get(opts, "path");
    bool append;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC;

    if (!path || !*path) {
        error_setg(errp, "chardev: file: no filename given");
        return false;
    }
    if (!keyval_get_bool(opts, "append", false, &append, errp)) {
        return false;
    }
    flags |= append ? O_APPEND : O_TRUNC;
    f->fd = fdset_open(path, flags, 0666);
    if (f->fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
        return false;
    }
    chr->label = g_strdup_printf("file:%s", path);
    chr->connected = true;
    return true;
}

static ssize_t file_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    FileChardev *f = (FileChardev *)chr;
    ssize_t n = write(f->fd, buf, len);

    return n < 0 ? -errno : n;
}

static void file_close(Chardev *chr)
{
    close(((FileChardev *)chr)->fd);
}

static const char *const file_options[] = { "path", "append", NULL };

const ChardevClass chardev_file_class = {
    .name = "file",
    .instance_size = sizeof(FileChardev),
    .options = file_options,
    .open = file_open,
    .write = file_write,
    .close = file_close,
};
