/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writing a new, empty qcow2 image (block/qcow2-create.h): its header,
 * refcount table and blocks, and an all-zero L1 table, laid out as
 *   cluster 0            header [, backing format extension], backing name
 *   clusters 1 ..        refcount table (rt clusters)
 *   then                 refcount blocks (rb clusters), every cluster of
 *                        the image at refcount 1
 *   then                 L1 table (at least one cluster), zero: nothing
 *                        allocated, every read goes to the backing file
 * The metadata (all but the L1 table) is built in memory; the L1 table is
 * the zeroes of a file grown to the image's length. Offsets and fields
 * follow the qcow2 specification (block/qcow2.h sums it up).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "block/block-backend.h"
#include "block/permission.h"
#include "file-create.h"
#include "qcow2.h"
#include "qcow2-create.h"

#define QCOW2_DEFAULT_CLUSTER_BITS 16
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

/* The metadata in memory and where the image ends. */
typedef struct Qcow2NewImage {
    uint8_t *meta;          /* header, refcount table and blocks */
    uint64_t meta_len;
    uint64_t len;           /* the whole image, L1 table included */
} Qcow2NewImage;

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

void qcow2_create_defaults(Qcow2CreateParams *p, uint64_t size)
{
    *p = (Qcow2CreateParams) {
        .size = size,
        .version = 3,
        .cluster_bits = QCOW2_DEFAULT_CLUSTER_BITS,
        .refcount_order = 4,
    };
}

bool qcow2_create_params_from_qapi(const BlockdevCreateOptionsQcow2 *o,
                                   Qcow2CreateParams *p, Error **errp)
{
    uint64_t cs = o->has_cluster_size ? o->cluster_size
                                      : 1ull << QCOW2_DEFAULT_CLUSTER_BITS;
    int64_t rb = o->has_refcount_bits ? o->refcount_bits : 16;

    qcow2_create_defaults(p, o->size);
    if (o->size % 512) {
        error_setg(errp, "Image size must be a multiple of 512 bytes");
        return false;
    }
    if (o->has_version && o->version == BLOCKDEV_QCOW2_VERSION_V2) {
        p->version = 2;
    }
    if (cs < (1u << QCOW2_MIN_CLUSTER_BITS) ||
        cs > (1u << QCOW2_MAX_CLUSTER_BITS) || (cs & (cs - 1))) {
        error_setg(errp, "Cluster size must be a power of two between 512 "
                   "and 2048k");
        return false;
    }
    p->cluster_bits = __builtin_ctzll(cs);
    if (o->has_preallocation && o->preallocation != PREALLOC_MODE_OFF) {
        error_setg(errp, "Unsupported preallocation mode: %s (Tandem "
                   "creates qcow2 images with preallocation=off only)",
                   PreallocMode_str(o->preallocation));
        return false;
    }
    if (o->has_backing_fmt && !o->backing_file) {
        error_setg(errp, "Backing format cannot be used without backing "
                   "file");
        return false;
    }
    p->backing_file = o->backing_file;
    p->backing_fmt = o->has_backing_fmt ? BlockdevDriver_str(o->backing_fmt)
                                        : NULL;
    p->lazy_refcounts = o->has_lazy_refcounts && o->lazy_refcounts;
    if (p->lazy_refcounts && p->version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use version=v3 or greater)");
        return false;
    }
    if (rb < 1 || rb > 64 || (rb & (rb - 1))) {
        error_setg(errp, "Refcount width must be a power of two and may not "
                   "exceed 64 bits");
        return false;
    }
    if (rb != 16 && p->version < 3) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use version=v3 or "
                   "greater)");
        return false;
    }
    p->refcount_order = __builtin_ctzll(rb);
    return true;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

/* The header cluster: fields, extension, backing file name. */
static bool put_header(uint8_t *h, const Qcow2CreateParams *p,
                       uint64_t l1_size, uint64_t l1_offset, uint64_t rt,
                       Error **errp)
{
    const uint64_t cs = 1ull << p->cluster_bits;
    uint32_t hdr_len = p->version >= 3 ? QCOW2_V3_HEADER_LEN
                                       : QCOW2_V2_HEADER_LEN;
    size_t fmt_len = p->backing_fmt ? strlen(p->backing_fmt) : 0;
    size_t name_len = p->backing_file ? strlen(p->backing_file) : 0;
    /* The extensions, then their 8-byte end marker (zero): a reader
     * that looks for extensions up to the name finds none it misreads. */
    uint64_t ext_end = hdr_len + (fmt_len ? 8 + ((fmt_len + 7) & ~7ul) : 0)
                       + 8;

    if (name_len > 1023 || ext_end + name_len > cs) {
        error_setg(errp, "Backing file name too long: '%s'",
                   p->backing_file);
        return false;
    }
    put32(h + 0, QCOW2_MAGIC);
    put32(h + 4, p->version);
    put64(h + 8, name_len ? ext_end : 0);
    put32(h + 16, name_len);
    put32(h + 20, p->cluster_bits);
    put64(h + QCOW2_HDR_SIZE, p->size);
    put32(h + QCOW2_HDR_L1_SIZE, l1_size);
    put64(h + QCOW2_HDR_L1_OFFSET, l1_offset);
    put64(h + QCOW2_HDR_REFTABLE_OFFSET, cs);
    put32(h + QCOW2_HDR_REFTABLE_OFFSET + 8, rt);
    if (p->version >= 3) {
        put64(h + 80, p->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
        put32(h + 96, p->refcount_order);
        put32(h + 100, hdr_len);
    }
    if (fmt_len) {
        put32(h + hdr_len, QCOW2_EXT_BACKING_FORMAT);
        put32(h + hdr_len + 4, fmt_len);
        memcpy(h + hdr_len + 8, p->backing_fmt, fmt_len);
        /* The end-of-extensions marker is already zero. */
    }
    memcpy(h + ext_end, p->backing_file, name_len);
    return true;
}

static bool qcow2_build_image(const Qcow2CreateParams *p, Qcow2NewImage *img,
                              Error **errp)
{
    const uint64_t cs = 1ull << p->cluster_bits;
    /* Guest bytes one L1 entry maps: a cluster of 8-byte L2 entries. */
    const uint64_t l1_span = cs * (cs / 8);
    /* Clusters one refcount block counts. */
    const uint64_t rb_span = cs * 8 >> p->refcount_order;
    uint64_t l1_size = div_up(p->size, l1_span);
    uint64_t l1c = MAX(1, div_up(l1_size * 8, cs));
    uint64_t rt = 1, rb = 1, total;

    if (l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        error_setg(errp, "Image size %" G_GUINT64_FORMAT " is too large for "
                   "a cluster size of %" G_GUINT64_FORMAT, p->size, cs);
        return false;
    }
    /* The refcount blocks count themselves and the table: settle both. */
    for (;;) {
        uint64_t need_rb, need_rt;

        total = 1 + rt + rb + l1c;
        need_rb = div_up(total, rb_span);
        need_rt = div_up(need_rb * 8, cs);
        if (need_rb <= rb && need_rt <= rt) {
            break;
        }
        rb = MAX(rb, need_rb);
        rt = MAX(rt, need_rt);
    }
    if (rt * cs > QCOW2_MAX_REFTABLE_BYTES) {
        error_setg(errp, "Image size %" G_GUINT64_FORMAT " is too large for "
                   "a cluster size of %" G_GUINT64_FORMAT, p->size, cs);
        return false;
    }
    img->meta_len = (1 + rt + rb) * cs;
    img->len = total * cs;
    img->meta = g_malloc0(img->meta_len);
    if (!put_header(img->meta, p, l1_size, (1 + rt + rb) * cs, rt, errp)) {
        g_clear_pointer(&img->meta, g_free);
        return false;
    }
    for (uint64_t i = 0; i < rb; i++) {
        put64(img->meta + cs + 8 * i, (1 + rt + i) * cs);
    }
    for (uint64_t c = 0; c < total; c++) {
        qcow2_refblock_set(img->meta + (1 + rt) * cs, p->refcount_order, c,
                           1);
    }
    return true;
}

/* The metadata at 0, the L1 table as the zeroes up to the end. */
static bool qcow2_write_image_fd(int fd, const char *path,
                                 const Qcow2NewImage *img, Error **errp)
{
    if (pwrite(fd, img->meta, img->meta_len, 0) != (ssize_t)img->meta_len) {
        error_setg_errno(errp, errno, "Could not write '%s'", path);
        return false;
    }
    if (ftruncate(fd, img->len) < 0) {
        error_setg_errno(errp, errno, "Could not resize '%s'", path);
        return false;
    }
    return true;
}

static bool qcow2_build_overlay(uint64_t size, const char *backing,
                                const char *backing_fmt, Qcow2NewImage *img,
                                Error **errp)
{
    Qcow2CreateParams p;

    qcow2_create_defaults(&p, size);
    /* No backing (a mirror's sync=full target): no extension, no name. */
    p.backing_file = backing;
    p.backing_fmt = backing ? backing_fmt : NULL;
    return qcow2_build_image(&p, img, errp);
}

bool qcow2_create_overlay(const char *path, uint64_t size,
                          const char *backing, const char *backing_fmt,
                          Error **errp)
{
    Qcow2NewImage img = { 0 };
    int fd;

    if (!qcow2_build_overlay(size, backing, backing_fmt, &img, errp)) {
        return false;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", path);
        g_free(img.meta);
        return false;
    }
    if (!qcow2_write_image_fd(fd, path, &img, errp)) {
        close(fd);
        unlink(path);
        g_free(img.meta);
        return false;
    }
    close(fd);
    g_free(img.meta);
    return true;
}

bool qcow2_format_overlay(const char *path, uint64_t size,
                          const char *backing, const char *backing_fmt,
                          const char *user, Error **errp)
{
    Qcow2NewImage img = { 0 };
    FileLock lock = { 0 };
    bool ok;
    int fd;

    if (!qcow2_build_overlay(size, backing, backing_fmt, &img, errp)) {
        return false;
    }
    fd = file_create_open(path, user, &lock, errp);
    ok = fd >= 0 && qcow2_write_image_fd(fd, path, &img, errp);
    if (fd >= 0) {
        file_lock_destroy(&lock);
        close(fd);
    }
    g_free(img.meta);
    return ok;
}

bool qcow2_create_on_node(BlockDriverState *file, const Qcow2CreateParams *p,
                          Error **errp)
{
    Qcow2NewImage img = { 0 };
    BlockBackend *blk;
    bool ok;

    if (!qcow2_build_image(p, &img, errp)) {
        return false;
    }
    blk = blk_new_perm(NULL, file, BLK_PERM_WRITE | BLK_PERM_RESIZE,
                       BLK_PERM_ALL, errp);
    /* Emptied first, so nothing of an older image shows through. */
    ok = blk && blk_truncate(blk, 0, errp) == 0 &&
         blk_truncate(blk, img.len, errp) == 0 &&
         blk_pwrite(blk, 0, img.meta_len, img.meta, 0, errp) == 0 &&
         blk_flush(blk, errp) == 0;
    if (blk) {
        blk_unref(blk);
    }
    g_free(img.meta);
    return ok;
}
