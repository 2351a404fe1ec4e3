/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fd sets and the open() that understands /dev/fdset/N (util/fdset.h). */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>
#include "util/fdset.h"
#include "util/keyval.h"
#include "trace.h"

typedef struct FdsetFd {
    int fd;
    char *opaque;
} FdsetFd;

typedef struct Fdset {
    int64_t id;
    GArray *fds;            /* FdsetFd, in order added */
} Fdset;

static GPtrArray *fdsets;   /* Fdset *, sorted by id */

static Fdset *fdset_find(int64_t id)
{
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *s = g_ptr_array_index(fdsets, i);

        if (s->id == id) {
            return s;
        }
    }
    return NULL;
}

bool fdset_exists(int64_t set_id)
{
    return fdset_find(set_id) != NULL;
}

static gint fdset_cmp(gconstpointer a, gconstpointer b)
{
    int64_t x = (*(Fdset *const *)a)->id, y = (*(Fdset *const *)b)->id;

    return x < y ? -1 : x > y;
}

void fdset_add_fd(int64_t set_id, int fd, const char *opaque)
{
    Fdset *s = fdset_find(set_id);
    FdsetFd f = { .fd = fd, .opaque = g_strdup(opaque) };

    if (!s) {
        s = g_new0(Fdset, 1);
        s->id = set_id;
        s->fds = g_array_new(FALSE, FALSE, sizeof(FdsetFd));
        if (!fdsets) {
            fdsets = g_ptr_array_new();
        }
        g_ptr_array_add(fdsets, s);
        g_ptr_array_sort(fdsets, fdset_cmp);
    }
    g_array_append_val(s->fds, f);
    trace_fdset_add_fd(set_id, fd);
}

int64_t fdset_free_id(void)
{
    int64_t id = 0;

    while (fdset_find(id)) {
        id++;
    }
    return id;
}

static void fdset_close_at(Fdset *s, guint i)
{
    FdsetFd *f = &g_array_index(s->fds, FdsetFd, i);

    trace_fdset_remove_fd(s->id, f->fd);
    close(f->fd);
    g_free(f->opaque);
    g_array_remove_index(s->fds, i);
}

static void fdset_drop_if_empty(Fdset *s)
{
    if (!s->fds->len) {
        g_ptr_array_remove(fdsets, s);
        g_array_free(s->fds, TRUE);
        g_free(s);
    }
}

bool fdset_remove(int64_t set_id, int64_t fd, Error **errp)
{
    Fdset *s = fdset_find(set_id);
    bool found = false;

    for (guint i = 0; s && i < s->fds->len; i++) {
        if (fd < 0 || g_array_index(s->fds, FdsetFd, i).fd == fd) {
            fdset_close_at(s, i--);
            found = true;
            if (fd >= 0) {
                break;
            }
        }
    }
    if (found) {
        fdset_drop_if_empty(s);
        return true;
    }
    /* QEMU's text names what was asked for. */
    if (fd >= 0) {
        error_setg(errp, "File descriptor named 'fdset-id:%" G_GINT64_FORMAT
                   ", fd:%" G_GINT64_FORMAT "' not found", set_id, fd);
    } else {
        error_setg(errp, "File descriptor named 'fdset-id:%" G_GINT64_FORMAT
                   "' not found", set_id);
    }
    return false;
}

void fdset_foreach(FdsetFdFn *fn, void *data)
{
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *s = g_ptr_array_index(fdsets, i);

        for (guint j = 0; j < s->fds->len; j++) {
            FdsetFd *f = &g_array_index(s->fds, FdsetFd, j);

            fn(s->id, f->fd, f->opaque, data);
        }
    }
}

void fdset_clear(void)
{
    while (fdsets && fdsets->len) {
        Fdset *s = g_ptr_array_index(fdsets, 0);

        while (s->fds->len) {
            fdset_close_at(s, 0);
        }
        fdset_drop_if_empty(s);
    }
}

static int fdset_dup(const char *id_text, int flags)
{
    uint64_t id;
    Fdset *s;
    int fd = -1, dup;

    if (!parse_uint(id_text, &id, NULL) || id > INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    s = fdset_find(id);
    if (!s) {
        errno = ENOENT;
        return -1;
    }
    for (guint i = 0; i < s->fds->len && fd < 0; i++) {
        int cand = g_array_index(s->fds, FdsetFd, i).fd;
        int fl = fcntl(cand, F_GETFL);

        if (fl >= 0 && (fl & O_ACCMODE) == (flags & O_ACCMODE)) {
            fd = cand;
        }
    }
    if (fd < 0) {
        errno = EACCES;
        return -1;
    }
    dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        return -1;
    }
    /* What open() would have done with these flags; the file status
     * flags and the offset are shared with the set's fd, as in QEMU. */
    if (fcntl(dup, F_SETFL, (fcntl(dup, F_GETFL) & ~(O_APPEND | O_NONBLOCK)) |
                            (flags & (O_APPEND | O_NONBLOCK))) < 0 ||
        ((flags & O_TRUNC) && ftruncate(dup, 0) < 0)) {
        int e = errno;

        close(dup);
        errno = e;
        return -1;
    }
    if (!(flags & O_APPEND)) {
        lseek(dup, 0, SEEK_SET);    /* ESPIPE for pipes: nothing to do */
    }
    trace_fdset_open(id, fd, dup);
    return dup;
}

int fdset_open(const char *path, int flags, mode_t mode)
{
    if (g_str_has_prefix(path, FDSET_PATH_PREFIX)) {
        return fdset_dup(path + strlen(FDSET_PATH_PREFIX), flags);
    }
    return open(path, flags | O_CLOEXEC, mode);
}
