/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The raw format: the guest sees its file's bytes, or a window of them
 * (offset/size, e.g. one partition of a disk image). Requests are shifted
 * by the offset and passed to the file child; the request layer has
 * already checked them against the window's size.
 */
#include <errno.h>
#include <glib.h>
#include "block/block_int.h"

typedef struct BDRVRawState {
    uint64_t offset;
    bool has_size;
    uint64_t size;
} BDRVRawState;

static bool raw_open(BlockDriverState *bs, const BlockdevOptions *opts,
                     Error **errp)
{
    BDRVRawState *s = bs->opaque;
    const BlockdevOptionsRaw *o = &opts->u.raw;
    int64_t file_len = bdrv_getlength(bs->file->bs);

    if ((o->has_offset && o->offset < 0) || (o->has_size && o->size < 0)) {
        error_setg(errp, "offset and size must be non-negative");
        return false;
    }
    s->offset = o->has_offset ? o->offset : 0;
    s->has_size = o->has_size;
    s->size = o->has_size ? o->size : 0;
    if (file_len < 0) {
        error_setg_errno(errp, (int)-file_len, "Could not get the size of "
                         "'%s'", bdrv_get_filename(bs));
        return false;
    }
    if (s->offset > (uint64_t)file_len) {
        error_setg(errp, "The sum of offset (%" G_GUINT64_FORMAT ") and size "
                   "(0) has to be smaller or equal to the  actual size of the "
                   "containing file (%" G_GINT64_FORMAT ")", s->offset,
                   file_len);
        return false;
    }
    if (s->has_size && s->offset + s->size > (uint64_t)file_len) {
        error_setg(errp, "The sum of offset (%" G_GUINT64_FORMAT ") and size "
                   "(%" G_GUINT64_FORMAT ") has to be smaller or equal to the "
                   " actual size of the containing file (%" G_GINT64_FORMAT
                   ")", s->offset, s->size, file_len);
        return false;
    }
    return true;
}

static int raw_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                      int flags)
{
    BDRVRawState *s = bs->opaque;

    return bdrv_preadv(bs->file->bs, s->offset + offset, qiov, flags, NULL);
}

static int raw_pwritev(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                       int flags)
{
    BDRVRawState *s = bs->opaque;

    return bdrv_pwritev(bs->file->bs, s->offset + offset, qiov, flags, NULL);
}

static int raw_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                             uint64_t bytes, int flags)
{
    BDRVRawState *s = bs->opaque;

    return bdrv_pwrite_zeroes(bs->file->bs, s->offset + offset, bytes, flags,
                              NULL);
}

static int raw_pdiscard(BlockDriverState *bs, uint64_t offset, uint64_t bytes)
{
    BDRVRawState *s = bs->opaque;

    return bdrv_pdiscard(bs->file->bs, s->offset + offset, bytes, NULL);
}

static int64_t raw_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int64_t len;

    if (s->has_size) {
        return s->size;
    }
    len = bdrv_getlength(bs->file->bs);
    if (len < 0) {
        return len;
    }
    return len > (int64_t)s->offset ? len - (int64_t)s->offset : 0;
}

static int raw_truncate(BlockDriverState *bs, uint64_t size, Error **errp)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size) {
        error_setg(errp, "Cannot resize fixed-size raw disks");
        return -ENOTSUP;
    }
    return bdrv_truncate(bs->file->bs, s->offset + size, errp);
}

static int raw_block_status(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, uint64_t *pnum, uint64_t *map,
                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;
    int ret = bdrv_block_status(bs->file->bs, s->offset + offset, bytes,
                                pnum, NULL, NULL);

    if (ret < 0) {
        return ret;
    }
    *map = s->offset + offset;
    *file = bs->file->bs;
    return (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) |
           BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
}

static int64_t raw_get_allocated_size(BlockDriverState *bs)
{
    const BlockDriver *d = bs->file->bs->drv;

    return d->get_allocated_size ? d->get_allocated_size(bs->file->bs)
                                 : -ENOTSUP;
}

const BlockDriver bdrv_raw = {
    .format_name = "raw",
    .instance_size = sizeof(BDRVRawState),
    .is_format = true,
    .passes_perms = true,
    .open = raw_open,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .pwrite_zeroes = raw_pwrite_zeroes,
    .pdiscard = raw_pdiscard,
    .getlength = raw_getlength,
    .truncate = raw_truncate,
    .block_status = raw_block_status,
    .get_allocated_size = raw_get_allocated_size,
};
