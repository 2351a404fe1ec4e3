/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Image locking with open file description locks (block/file-lock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <glib.h>
#include "block/file-lock.h"
#include "block/permission.h"
#include "trace.h"

/* Where QEMU's scheme puts the two bytes of each permission. */
#define LOCK_HELD_BASE      100
#define LOCK_UNSHARED_BASE  200

static int lock_byte(int fd, off_t offset, short type)
{
    struct flock fl = {
        .l_type = type,
        .l_whence = SEEK_SET,
        .l_start = offset,
        .l_len = 1,
        .l_pid = 0,             /* OFD locks require it */
    };

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/*
 * Whether another open file description read- or write-locks the byte:
 * 1 yes, 0 no, -errno when the kernel cannot say.
 */
static int byte_taken(int fd, off_t offset)
{
    struct flock fl = {
        .l_type = F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = offset,
        .l_len = 1,
        .l_pid = 0,
    };

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return -errno;
    }
    return fl.l_type != F_UNLCK;
}

bool file_lock_init(FileLock *l, int fd, const char *path, OnOffAuto mode,
                    Error **errp)
{
    int ret;

    memset(l, 0, sizeof(*l));
    l->fd = fd;
    l->path = g_strdup(path);
    if (mode == ON_OFF_AUTO_OFF) {
        return true;
    }
    ret = byte_taken(fd, LOCK_HELD_BASE);
    if (ret < 0 && mode == ON_OFF_AUTO_ON) {
        error_setg_errno(errp, -ret, "Could not use OFD locks on '%s' "
                         "(locking=on); locking=off opens it unlocked", path);
        return false;
    }
    l->enabled = ret >= 0;
    return true;
}

/* Takes (F_RDLCK) or drops (F_UNLCK) the bytes of the bits in mask. */
static int lock_bits(FileLock *l, int base, uint64_t mask, short type)
{
    for (unsigned b = 0; b < BLK_PERM_BITS; b++) {
        int ret;

        if (!(mask & (1ull << b))) {
            continue;
        }
        ret = lock_byte(l->fd, base + b, type);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* The first conflict with other processes, as QEMU words it, or none. */
static bool check_conflicts(FileLock *l, uint64_t held, uint64_t unshared,
                            Error **errp)
{
    for (unsigned b = 0; b < BLK_PERM_BITS; b++) {
        static const struct {
            int base;           /* the byte the other side would lock */
            const char *word;
        } tests[] = {
            { LOCK_UNSHARED_BASE, "" },     /* we hold, they don't share */
            { LOCK_HELD_BASE, "shared " },  /* they hold, we don't share */
        };
        uint64_t masks[] = { held, unshared };

        for (size_t t = 0; t < G_N_ELEMENTS(tests); t++) {
            int ret;

            if (!(masks[t] & (1ull << b))) {
                continue;
            }
            ret = byte_taken(l->fd, tests[t].base + b);
            if (ret == 0) {
                continue;
            }
            trace_file_lock_conflict(l->path, bdrv_perm_name(b), t == 1);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to get %s\"%s\" lock "
                                 "on '%s'", tests[t].word, bdrv_perm_name(b),
                                 l->path);
            } else {
                error_setg(errp, "Failed to get %s\"%s\" lock. Is another "
                           "process using the image [%s]?", tests[t].word,
                           bdrv_perm_name(b), l->path);
            }
            return false;
        }
    }
    return true;
}

bool file_lock_set(FileLock *l, uint64_t perm, uint64_t shared,
                   Error **errp)
{
    uint64_t held = perm & BLK_PERM_ALL;
    uint64_t unshared = ~shared & BLK_PERM_ALL;
    uint64_t add_held = held & ~l->held;
    uint64_t add_unshared = unshared & ~l->unshared;
    int ret;

    if (!l->enabled) {
        return true;
    }
    /* Lock first, then look: see the race in block/file-lock.h. */
    ret = lock_bits(l, LOCK_HELD_BASE, add_held, F_RDLCK);
    if (ret == 0) {
        ret = lock_bits(l, LOCK_UNSHARED_BASE, add_unshared, F_RDLCK);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to lock '%s'", l->path);
    }
    /* Giving up permissions cannot conflict: then nothing to look at. */
    if (ret < 0 || ((add_held | add_unshared) &&
                    !check_conflicts(l, held, unshared, errp))) {
        /* Back to what we had: drop only what this call added. */
        lock_bits(l, LOCK_HELD_BASE, add_held, F_UNLCK);
        lock_bits(l, LOCK_UNSHARED_BASE, add_unshared, F_UNLCK);
        return false;
    }
    lock_bits(l, LOCK_HELD_BASE, l->held & ~held, F_UNLCK);
    lock_bits(l, LOCK_UNSHARED_BASE, l->unshared & ~unshared, F_UNLCK);
    l->held = held;
    l->unshared = unshared;
    trace_file_lock_set(l->path, held, unshared);
    return true;
}

void file_lock_release(FileLock *l)
{
    if (l->enabled) {
        lock_bits(l, LOCK_HELD_BASE, l->held, F_UNLCK);
        lock_bits(l, LOCK_UNSHARED_BASE, l->unshared, F_UNLCK);
    }
    l->held = 0;
    l->unshared = 0;
}

void file_lock_destroy(FileLock *l)
{
    file_lock_release(l);
    g_free(l->path);
    l->path = NULL;
}
