/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block-stream: QEMU 7.2's arguments, checks (in its order) and error
 * texts turned into a stream job (block/stream.c).
 *
 *   device      a drive or a node: the image to copy into (any node of
 *               a chain, not only the active one)
 *   base        the node that stays (by file name, base-node by node
 *               name), or bottom: the lowest node copied, whose backing
 *               file is the base; none of them: the whole chain
 *   job-id      default: device, when device is a drive (QEMU insists
 *               on an ID for a node: "Invalid job ID ''")
 */
#include "block/backing-chain.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "block/stream.h"
#include "qapi/qapi-commands.h"

/* QEMU's bdrv_lookup_bs: a drive's root, else a node of that name. */
static BlockDriverState *stream_lookup(const char *device,
                                       const char *node_name, Error **errp)
{
    BlockBackend *blk = device ? blk_by_name(device) : NULL;
    BlockDriverState *bs = blk ? blk_bs(blk) : NULL;

    if (!bs && node_name) {
        bs = bdrv_find_node(node_name);
    }
    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device ? device : "", node_name ? node_name : "");
    }
    return bs;
}

/* The base the arguments name, or NULL for the whole chain. */
static bool stream_find_base(BlockDriverState *top, const char *base,
                             const char *base_node, const char *bottom,
                             BlockDriverState **out, Error **errp)
{
    BlockDriverState *bs;

    *out = NULL;
    if (base) {
        *out = bdrv_find_backing_image(top, base);
        if (!*out) {
            error_setg(errp, "Can't find '%s' in the backing chain", base);
            return false;
        }
    }
    if (base_node) {
        bs = stream_lookup(NULL, base_node, errp);
        if (!bs) {
            return false;
        }
        if (bs == top || !bdrv_chain_contains(top, bs)) {
            error_setg(errp, "Node '%s' is not a backing image of '%s'",
                       base_node, bdrv_get_node_name(top));
            return false;
        }
        *out = bs;
    }
    if (bottom) {
        bs = stream_lookup(NULL, bottom, errp);
        if (!bs) {
            return false;
        }
        if (!bdrv_chain_contains(top, bs)) {
            error_setg(errp, "Node '%s' is not in a chain starting from "
                       "'%s'", bottom, bdrv_get_node_name(top));
            return false;
        }
        *out = bdrv_backing_bs(bs);
    }
    return true;
}

void qmp_block_stream(const char *job_id, const char *device,
                      const char *base, const char *base_node,
                      const char *backing_file, const char *bottom,
                      bool has_speed, int64_t speed, bool has_on_error,
                      BlockdevOnError on_error,
                      const char *filter_node_name,
                      bool has_auto_finalize, bool auto_finalize,
                      bool has_auto_dismiss, bool auto_dismiss,
                      Error **errp)
{
    BlockDriverState *top, *base_bs;
    StreamParams p = { 0 };

    if (base && base_node) {
        error_setg(errp, "'base' and 'base-node' cannot be specified at the "
                   "same time");
        return;
    }
    if (base && bottom) {
        error_setg(errp, "'base' and 'bottom' cannot be specified at the "
                   "same time");
        return;
    }
    if (bottom && base_node) {
        error_setg(errp, "'bottom' and 'base-node' cannot be specified at "
                   "the same time");
        return;
    }
    if (filter_node_name) {
        error_setg(errp, "Parameter 'filter-node-name' is not supported: "
                   "Tandem puts no filter node above the image");
        return;
    }
    top = stream_lookup(device, device, errp);
    if (!top || !stream_find_base(top, base, base_node, bottom, &base_bs,
                                  errp)) {
        return;
    }
    if (backing_file && !base && !base_node) {
        error_setg(errp, "backing file specified, but streaming the entire "
                   "chain");
        return;
    }
    for (BlockDriverState *n = top; n && n != base_bs;
         n = bdrv_backing_bs(n)) {
        if (!block_job_check_node(n, errp)) {
            return;
        }
    }
    p.job_id = job_id ? job_id : blk_by_name(device) ? device : NULL;
    p.top = top;
    p.base = base_bs;
    p.backing_file = backing_file;
    p.speed = has_speed ? speed : 0;
    p.on_error = has_on_error ? on_error : BLOCKDEV_ON_ERROR_REPORT;
    p.auto_finalize = has_auto_finalize ? auto_finalize : true;
    p.auto_dismiss = has_auto_dismiss ? auto_dismiss : true;
    stream_start(&p, errp);
}
