/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * null-co: a node of a given size that discards writes and, with
 * read-zeroes=on, reads zeroes (otherwise reads leave the buffer alone, as
 * in QEMU: the point is to measure the layers above). latency-ns delays
 * every request, to model a slow disk in tests.
 */
#include <errno.h>
#include <glib.h>
#include "block/block_int.h"

typedef struct BDRVNullState {
    int64_t size;
    uint64_t latency_ns;
    bool read_zeroes;
} BDRVNullState;

static bool null_open(BlockDriverState *bs, const BlockdevOptions *opts,
                      Error **errp)
{
    BDRVNullState *s = bs->opaque;
    const BlockdevOptionsNull *o = &opts->u.null_co;

    s->size = o->has_size ? o->size : (int64_t)1 << 30;
    if (s->size < 0) {
        error_setg(errp, "size must be non-negative");
        return false;
    }
    s->latency_ns = o->has_latency_ns ? o->latency_ns : 0;
    s->read_zeroes = o->has_read_zeroes && o->read_zeroes;
    bs->filename = g_strdup("");
    return true;
}

static void null_delay(BDRVNullState *s)
{
    if (s->latency_ns) {
        g_usleep(s->latency_ns / 1000);
    }
}

static int null_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                       int flags)
{
    BDRVNullState *s = bs->opaque;

    null_delay(s);
    if (s->read_zeroes) {
        block_iov_memset(qiov, 0, 0, qiov->size);
    }
    return 0;
}

static int null_pwritev(BlockDriverState *bs, uint64_t offset,
                        BlockIov *qiov, int flags)
{
    null_delay(bs->opaque);
    return 0;
}

static int null_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, int flags)
{
    null_delay(bs->opaque);
    return 0;
}

static int null_flush(BlockDriverState *bs)
{
    null_delay(bs->opaque);
    return 0;
}

static int64_t null_getlength(BlockDriverState *bs)
{
    return ((BDRVNullState *)bs->opaque)->size;
}

static int null_block_status(BlockDriverState *bs, uint64_t offset,
                             uint64_t bytes, uint64_t *pnum, uint64_t *map,
                             BlockDriverState **file)
{
    BDRVNullState *s = bs->opaque;

    *pnum = bytes;
    *map = offset;
    *file = bs;
    return BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED |
           (s->read_zeroes ? BDRV_BLOCK_ZERO : 0);
}

const BlockDriver bdrv_null_co = {
    .format_name = "null-co",
    .instance_size = sizeof(BDRVNullState),
    .open = null_open,
    .preadv = null_preadv,
    .pwritev = null_pwritev,
    .pwrite_zeroes = null_pwrite_zeroes,
    .flush = null_flush,
    .getlength = null_getlength,
    .block_status = null_block_status,
};
