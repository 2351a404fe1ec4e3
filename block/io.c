/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node request layer: every read, write, discard and flush on a node
 * passes here on its way to the driver. It counts the request in flight
 * (for drains), fills in what a driver leaves out (write-zeroes as a
 * zeroed write, flush of the children), accounts it per node, tells the
 * node's write notifiers (dirty tracking, block/dirty-bitmap.c) of every
 * change, overlapping writes one at a time on such a node (block/
 * write-order.h), and turns a driver's -errno into an error that names
 * the node and its file.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "block/block_int.h"
#include "block/dirty-bitmap.h"
#include "block/write-order.h"
#include "util/main-loop.h"
#include "trace.h"

static void req_begin(BlockDriverState *bs)
{
    g_atomic_int_inc(&bs->in_flight);
}

static void req_end(BlockDriverState *bs)
{
    if (g_atomic_int_dec_and_test(&bs->in_flight)) {
        /* A drain may be waiting on the main loop. */
        main_loop_notify();
    }
}

static int req_fail(BlockDriverState *bs, const char *what, uint64_t offset,
                    uint64_t bytes, int ret, Error **errp)
{
    g_autofree char *d = bdrv_describe(bs);

    trace_bdrv_request_error(bs->node_name, what, offset, bytes, ret);
    if (what[0] == 'f') {
        error_setg_errno(errp, -ret, "%s: %s failed", d, what);
    } else {
        error_setg_errno(errp, -ret, "%s: %s at offset %" G_GUINT64_FORMAT
                         ", %" G_GUINT64_FORMAT " bytes failed", d, what,
                         offset, bytes);
    }
    return ret;
}

/*
 * A write of any kind to a node another process owns for now (block/
 * activation.h): refused before it reaches the driver, whose metadata
 * may be stale.
 */
static int req_inactive(BlockDriverState *bs, const char *what,
                        uint64_t offset, uint64_t bytes, Error **errp)
{
    g_autofree char *d = bdrv_describe(bs);

    trace_bdrv_request_error(bs->node_name, what, offset, bytes, -EPERM);
    error_setg(errp, "%s is inactive (its image is handed over to a "
               "migration peer): %s at offset %" G_GUINT64_FORMAT ", %"
               G_GUINT64_FORMAT " bytes refused", d, what, offset, bytes);
    return -EPERM;
}

int bdrv_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                int flags, Error **errp)
{
    int64_t start = block_acct_now_ns();
    int ret;

    if (!qiov->size) {
        return 0;
    }
    req_begin(bs);
    ret = bs->drv->preadv ? bs->drv->preadv(bs, offset, qiov, flags)
                          : -ENOTSUP;
    block_acct_done(&bs->stats, BLOCK_ACCT_READ, offset, qiov->size, start,
                    ret);
    req_end(bs);
    return ret < 0 ? req_fail(bs, "read", offset, qiov->size, ret, errp) : 0;
}

int bdrv_pwritev(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                 int flags, Error **errp)
{
    int64_t start = block_acct_now_ns();
    BdrvWriteOrder order;
    int ret;

    if (bs->read_only) {
        return req_fail(bs, "write", offset, qiov->size, -EPERM, errp);
    }
    if (bs->inactive) {
        return req_inactive(bs, "write", offset, qiov->size, errp);
    }
    if (!qiov->size) {
        return 0;
    }
    if ((flags & BDRV_REQ_ONLY_UNALLOCATED) && !bs->drv->supports_backing) {
        return req_fail(bs, "write", offset, qiov->size, -ENOTSUP, errp);
    }
    req_begin(bs);
    bdrv_write_order_begin(&order, bs, offset, qiov->size);
    ret = bs->drv->pwritev ? bs->drv->pwritev(bs, offset, qiov, flags)
                           : -ENOTSUP;
    bdrv_write_notify(bs, BDRV_WRITE_DATA, offset, qiov->size, qiov, flags,
                      ret);
    bdrv_write_order_end(&order);
    block_acct_done(&bs->stats, BLOCK_ACCT_WRITE, offset, qiov->size, start,
                    ret);
    req_end(bs);
    return ret < 0 ? req_fail(bs, "write", offset, qiov->size, ret, errp)
                   : 0;
}

int bdrv_pread(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
               void *buf, Error **errp)
{
    struct iovec one;
    BlockIov qiov;

    block_iov_init_buf(&qiov, &one, buf, bytes);
    return bdrv_preadv(bs, offset, &qiov, 0, errp);
}

int bdrv_pwrite(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                const void *buf, int flags, Error **errp)
{
    struct iovec one;
    BlockIov qiov;

    block_iov_init_buf(&qiov, &one, (void *)buf, bytes);
    return bdrv_pwritev(bs, offset, &qiov, flags, errp);
}

/* Writes zeroes in bounded chunks, for drivers without write-zeroes. */
static int write_zeroes_by_buffer(BlockDriverState *bs, uint64_t offset,
                                  uint64_t bytes, int flags)
{
    const uint64_t chunk = 1 << 20;
    g_autofree void *zeroes = g_malloc0(MIN(bytes, chunk));

    while (bytes) {
        uint64_t n = MIN(bytes, chunk);
        struct iovec one;
        BlockIov qiov;
        int ret;

        block_iov_init_buf(&qiov, &one, zeroes, n);
        ret = bs->drv->pwritev(bs, offset, &qiov, flags & BDRV_REQ_FUA);
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
    }
    return 0;
}

int bdrv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                       int flags, Error **errp)
{
    int64_t start = block_acct_now_ns();
    BdrvWriteOrder order;
    int ret = -ENOTSUP;

    if (bs->read_only) {
        return req_fail(bs, "write-zeroes", offset, bytes, -EPERM, errp);
    }
    if (bs->inactive) {
        return req_inactive(bs, "write-zeroes", offset, bytes, errp);
    }
    if (!bytes) {
        return 0;
    }
    if (!bs->discard_unmap && !bs->drv->is_format) {
        /* discard=ignore: zeroes are written, never unmapped. */
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    req_begin(bs);
    bdrv_write_order_begin(&order, bs, offset, bytes);
    if (bs->drv->pwrite_zeroes) {
        ret = bs->drv->pwrite_zeroes(bs, offset, bytes, flags);
    }
    if (ret == -ENOTSUP && !(flags & BDRV_REQ_NO_FALLBACK) &&
        bs->drv->pwritev) {
        ret = write_zeroes_by_buffer(bs, offset, bytes, flags);
    }
    bdrv_write_notify(bs, BDRV_WRITE_ZEROES, offset, bytes, NULL, flags, ret);
    bdrv_write_order_end(&order);
    block_acct_done(&bs->stats, BLOCK_ACCT_WRITE, offset, bytes, start, ret);
    req_end(bs);
    return ret < 0 ? req_fail(bs, "write-zeroes", offset, bytes, ret, errp)
                   : 0;
}

int bdrv_pdiscard(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                  Error **errp)
{
    int64_t start = block_acct_now_ns();
    BdrvWriteOrder order;
    int ret = 0;

    if (bs->read_only) {
        return req_fail(bs, "discard", offset, bytes, -EPERM, errp);
    }
    if (bs->inactive) {
        return req_inactive(bs, "discard", offset, bytes, errp);
    }
    /*
     * discard=ignore (the default) drops the request at the protocol
     * node; formats always see it, to free their clusters.
     */
    if (!bytes || (!bs->drv->is_format && !bs->discard_unmap)) {
        return 0;
    }
    req_begin(bs);
    bdrv_write_order_begin(&order, bs, offset, bytes);
    if (bs->drv->pdiscard) {
        ret = bs->drv->pdiscard(bs, offset, bytes);
        if (ret == -ENOTSUP) {
            ret = 0;    /* discard is advisory */
        }
    }
    bdrv_write_notify(bs, BDRV_WRITE_DISCARD, offset, bytes, NULL, 0, ret);
    bdrv_write_order_end(&order);
    block_acct_done(&bs->stats, BLOCK_ACCT_UNMAP, offset, bytes, start, ret);
    req_end(bs);
    return ret < 0 ? req_fail(bs, "discard", offset, bytes, ret, errp) : 0;
}

int bdrv_flush(BlockDriverState *bs, Error **errp)
{
    int64_t start = block_acct_now_ns();
    int ret = 0;

    /* An inactive node was flushed when it became inactive. */
    if (bs->read_only || bs->inactive) {
        return 0;
    }
    req_begin(bs);
    /* The format's metadata first, then the file underneath. */
    if (bs->drv->flush) {
        ret = bs->drv->flush(bs);
    }
    if (ret == 0 && bs->file) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    block_acct_done(&bs->stats, BLOCK_ACCT_FLUSH, 0, 0, start, ret);
    req_end(bs);
    return ret < 0 ? req_fail(bs, "flush", 0, 0, ret, errp) : 0;
}

int64_t bdrv_getlength(BlockDriverState *bs)
{
    return bs->drv->getlength ? bs->drv->getlength(bs) : -ENOMEDIUM;
}

int bdrv_truncate(BlockDriverState *bs, uint64_t size, Error **errp)
{
    ERRP_GUARD();
    int ret;

    if (bs->read_only) {
        g_autofree char *d = bdrv_describe(bs);
        error_setg(errp, "%s is read-only", d);
        return -EACCES;
    }
    if (bs->inactive) {
        g_autofree char *d = bdrv_describe(bs);
        error_setg(errp, "%s is inactive (its image is handed over to a "
                   "migration peer): cannot resize it", d);
        return -EPERM;
    }
    if (!bs->drv->truncate) {
        g_autofree char *d = bdrv_describe(bs);
        error_setg(errp, "%s: driver '%s' cannot resize", d,
                   bs->drv->format_name);
        return -ENOTSUP;
    }
    req_begin(bs);
    ret = bs->drv->truncate(bs, size, errp);
    req_end(bs);
    if (ret < 0) {
        g_autofree char *d = bdrv_describe(bs);
        error_prepend(errp, "%s: resize to %" G_GUINT64_FORMAT ": ", d,
                      size);
    }
    return ret;
}

int bdrv_block_status(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                      uint64_t *pnum, uint64_t *map, BlockDriverState **file)
{
    uint64_t dummy_map;
    BlockDriverState *dummy_file;
    int ret;

    if (!bytes) {
        *pnum = 0;
        return 0;
    }
    if (!bs->drv->block_status) {
        /* Everything is data, at the same offset in this node. */
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
    }
    req_begin(bs);
    ret = bs->drv->block_status(bs, offset, bytes, pnum,
                                map ? map : &dummy_map,
                                file ? file : &dummy_file);
    req_end(bs);
    return ret;
}

int bdrv_block_status_above(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, uint64_t *pnum)
{
    int ret = bdrv_block_status(bs, offset, bytes, pnum, NULL, NULL);
    BlockDriverState *backing = bdrv_backing_bs(bs);
    int64_t blen;

    if (ret < 0 || (ret & BDRV_BLOCK_ALLOCATED) || !backing) {
        return ret < 0 ? ret : ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO);
    }
    /* Unallocated here: the backing answers for this stretch. */
    blen = bdrv_getlength(backing);
    if (blen < 0) {
        return (int)blen;
    }
    if (offset >= (uint64_t)blen) {
        return BDRV_BLOCK_ZERO;
    }
    return bdrv_block_status_above(backing, offset,
                                   MIN(*pnum, (uint64_t)blen - offset), pnum);
}

bool bdrv_change_backing_file(BlockDriverState *bs, const char *file,
                              const char *fmt, Error **errp)
{
    bool ok;

    if (!bs->drv->change_backing_file) {
        g_autofree char *d = bdrv_describe(bs);
        error_setg(errp, "%s: driver '%s' does not record a backing file",
                   d, bs->drv->format_name);
        return false;
    }
    if (bs->read_only) {
        req_fail(bs, "backing file change", 0, 0, -EPERM, errp);
        return false;
    }
    if (bs->inactive) {
        req_inactive(bs, "backing file change", 0, 0, errp);
        return false;
    }
    req_begin(bs);
    ok = bs->drv->change_backing_file(bs, file, fmt, errp);
    req_end(bs);
    return ok;
}

int bdrv_make_empty(BlockDriverState *bs, Error **errp)
{
    int ret;

    if (!bs->drv->make_empty) {
        g_autofree char *d = bdrv_describe(bs);
        error_setg(errp, "%s: driver '%s' cannot be emptied", d,
                   bs->drv->format_name);
        return -ENOTSUP;
    }
    if (bs->read_only) {
        return req_fail(bs, "make-empty", 0, 0, -EPERM, errp);
    }
    if (bs->inactive) {
        return req_inactive(bs, "make-empty", 0, 0, errp);
    }
    req_begin(bs);
    ret = bs->drv->make_empty(bs);
    req_end(bs);
    return ret < 0 ? req_fail(bs, "make-empty", 0, 0, ret, errp) : 0;
}
