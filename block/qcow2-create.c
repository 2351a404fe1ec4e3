/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Creating a qcow2 v3 overlay over a backing file: what -drive snapshot=on
 * needs (a temporary image that takes the writes), a mirror's new target
 * and blockdev-snapshot-sync's new image. Layout, 64 KiB
 * clusters, 16-bit refcounts:
 *   cluster 0  header, backing-format extension, backing file name
 *   cluster 1  refcount table (one entry: cluster 2)
 *   cluster 2  refcount block (clusters 0 .. 3 + L1 clusters have 1)
 *   cluster 3+ L1 table, all zero
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "block/permission.h"
#include "file-lock.h"
#include "qcow2.h"

#define CREATE_CLUSTER_BITS 16

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

/* The whole image in memory; *len its length. */
static uint8_t *qcow2_build_overlay(uint64_t size, const char *backing,
                                   const char *backing_fmt, uint64_t *len,
                                   Error **errp)
{
    const uint64_t cs = 1ull << CREATE_CLUSTER_BITS;
    uint64_t l1_size = (size + (cs << (CREATE_CLUSTER_BITS - 3)) - 1) /
                       (cs << (CREATE_CLUSTER_BITS - 3));
    uint64_t l1_clusters = MAX(1, (l1_size * 8 + cs - 1) / cs);
    uint64_t total = 3 + l1_clusters;
    /* No backing (a mirror's new target): no extension, no name. */
    size_t fmt_len = backing ? strlen(backing_fmt) : 0;
    size_t name_len = backing ? strlen(backing) : 0;
    uint64_t ext_end = backing ? QCOW2_V3_HEADER_LEN + 8 +
                                 ((fmt_len + 7) & ~7ul) + 8 : 0;
    uint8_t *img;

    if (name_len > 1023 || ext_end + name_len > cs) {
        error_setg(errp, "Backing file name too long: '%s'", backing);
        return NULL;
    }
    if (total > (cs * 8) / 16 || l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        error_setg(errp, "Image size %" G_GUINT64_FORMAT " is too large",
                   size);
        return NULL;
    }
    img = g_malloc0(total * cs);
    put32(img + 0, QCOW2_MAGIC);
    put32(img + 4, 3);
    put64(img + 8, ext_end);
    put32(img + 16, name_len);
    put32(img + 20, CREATE_CLUSTER_BITS);
    put64(img + 24, size);
    put32(img + 36, l1_size);
    put64(img + 40, 3 * cs);
    put64(img + 48, cs);
    put32(img + 56, 1);
    put32(img + 96, 4);
    put32(img + 100, QCOW2_V3_HEADER_LEN);
    if (backing) {
        put32(img + QCOW2_V3_HEADER_LEN, QCOW2_EXT_BACKING_FORMAT);
        put32(img + QCOW2_V3_HEADER_LEN + 4, fmt_len);
        memcpy(img + QCOW2_V3_HEADER_LEN + 8, backing_fmt, fmt_len);
        /* The end-of-extensions marker is already zero. */
        memcpy(img + ext_end, backing, name_len);
    }
    put64(img + cs, 2 * cs);
    for (uint64_t i = 0; i < total; i++) {
        img[2 * cs + 2 * i + 1] = 1;   /* big-endian 16-bit 1 */
    }
    *len = total * cs;
    return img;
}

static bool qcow2_write_overlay(int fd, const char *path, const uint8_t *img,
                                uint64_t len, Error **errp)
{
    if (pwrite(fd, img, len, 0) != (ssize_t)len) {
        error_setg_errno(errp, errno, "Could not write '%s'", path);
        return false;
    }
    return true;
}

bool qcow2_create_overlay(const char *path, uint64_t size,
                          const char *backing, const char *backing_fmt,
                          Error **errp)
{
    uint64_t len;
    g_autofree uint8_t *img = qcow2_build_overlay(size, backing,
                                                  backing_fmt, &len, errp);
    int fd;

    if (!img) {
        return false;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", path);
        return false;
    }
    if (!qcow2_write_overlay(fd, path, img, len, errp)) {
        close(fd);
        unlink(path);
        return false;
    }
    close(fd);
    return true;
}

bool qcow2_format_overlay(const char *path, uint64_t size,
                          const char *backing, const char *backing_fmt,
                          const char *user, Error **errp)
{
    uint64_t len;
    g_autofree uint8_t *img = qcow2_build_overlay(size, backing,
                                                  backing_fmt, &len, errp);
    FileLock lock = { 0 };
    bool ok;
    int fd;

    if (!img) {
        return false;
    }
    /* Not truncated at open: an image someone holds must stay whole. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", path);
        return false;
    }
    /* What QEMU's image creation takes: writing and resizing, sharing
     * all but resizing; a writer of the image (even a node of ours, on
     * its own open file description) refuses it. */
    ok = file_lock_init(&lock, fd, path, ON_OFF_AUTO_AUTO, errp) &&
         file_lock_set(&lock, BLK_PERM_WRITE | BLK_PERM_RESIZE,
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
    ok = ok && qcow2_write_overlay(fd, path, img, len, errp);
    file_lock_destroy(&lock);
    close(fd);
    return ok;
}
