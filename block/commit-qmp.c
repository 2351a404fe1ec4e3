/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block-commit: QEMU 7.2's arguments, checks (in its order) and error
 * texts turned into a commit job (block/commit.c).
 *
 *   device      a drive, or the node-name of a drive's top image: it
 *               must be a root (no node above it, no job on it: QEMU's
 *               "Need a root block node")
 *   top         the image to commit (top-node by node name; default the
 *               device's image itself, which makes an active commit)
 *   base        the image to commit into (base-node; default the bottom
 *               of the chain)
 *   job-id      default: device, when device is a drive
 */
#include <string.h>
#include "block/backing-chain.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "block/commit.h"
#include "qapi/qapi-commands.h"

static BlockDriverState *commit_find_node(const char *name, Error **errp)
{
    BlockDriverState *bs = bdrv_find_node(name);

    if (!bs) {
        error_setg(errp, "Cannot find device='' nor node-name='%s'", name);
    }
    return bs;
}

/* The image to commit, below (or at) the device's image bs. */
static BlockDriverState *commit_find_top(BlockDriverState *bs,
                                         const char *top,
                                         const char *top_node, Error **errp)
{
    BlockDriverState *t;

    if (top_node) {
        return commit_find_node(top_node, errp);
    }
    if (!top) {
        return bs;
    }
    t = !strcmp(top, bdrv_get_filename(bs)) ? bs
                                             : bdrv_find_backing_image(bs, top);
    if (!t) {
        error_setg(errp, "Top image file %s not found", top);
    }
    return t;
}

/* The image to commit into, below top. */
static BlockDriverState *commit_find_base(BlockDriverState *top,
                                          const char *base,
                                          const char *base_node,
                                          Error **errp)
{
    BlockDriverState *b = top;

    if (base_node) {
        return commit_find_node(base_node, errp);
    }
    if (base) {
        b = bdrv_find_backing_image(top, base);
        if (!b) {
            error_setg(errp, "Can't find '%s' in the backing chain", base);
        }
        return b;
    }
    while (bdrv_backing_bs(b)) {
        b = bdrv_backing_bs(b);
    }
    return b;
}

/* QEMU's root: nothing above the node, and no job's filter on it. */
static bool commit_is_root(BlockDriverState *bs)
{
    for (BlockDriverState *p = bdrv_next_node(NULL); p;
         p = bdrv_next_node(p)) {
        if (bdrv_file_bs(p) == bs || bdrv_backing_bs(p) == bs) {
            return false;
        }
    }
    return !block_job_of_node(bs);
}

void qmp_block_commit(const char *job_id, const char *device,
                      const char *base_node, const char *base,
                      const char *top_node, const char *top,
                      const char *backing_file, bool has_speed,
                      int64_t speed, bool has_on_error,
                      BlockdevOnError on_error,
                      const char *filter_node_name,
                      bool has_auto_finalize, bool auto_finalize,
                      bool has_auto_dismiss, bool auto_dismiss,
                      Error **errp)
{
    BlockBackend *blk = blk_by_name(device);
    BlockDriverState *bs = blk ? blk_bs(blk) : bdrv_find_node(device);
    BlockDriverState *top_bs, *base_bs;
    CommitParams p = { 0 };

    if (!bs) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                  "Device '%s' not found", device);
        return;
    }
    if (!commit_is_root(bs)) {
        error_setg(errp, "Need a root block node");
        return;
    }
    if (filter_node_name) {
        error_setg(errp, "Parameter 'filter-node-name' is not supported: "
                   "Tandem puts no filter node above the image");
        return;
    }
    if (top && top_node) {
        error_setg(errp, "'top-node' and 'top' are mutually exclusive");
        return;
    }
    if (base && base_node) {
        error_setg(errp, "'base-node' and 'base' are mutually exclusive");
        return;
    }
    top_bs = commit_find_top(bs, top, top_node, errp);
    if (!top_bs) {
        return;
    }
    base_bs = commit_find_base(top_bs, base, base_node, errp);
    if (!base_bs) {
        return;
    }
    if (top_bs == base_bs) {
        error_setg(errp, "cannot commit an image into itself");
        return;
    }
    if (!bdrv_chain_contains(bs, top_bs)) {
        error_setg(errp, "'%s' is not in this backing file chain",
                   bdrv_get_node_name(top_bs));
        return;
    }
    if (!bdrv_chain_contains(top_bs, base_bs)) {
        error_setg(errp, "'%s' is not in this backing file chain",
                   bdrv_get_node_name(base_bs));
        return;
    }
    p.overlay = top_bs == bs ? NULL : bdrv_overlay_of(bs, top_bs);
    if (p.overlay && !block_job_check_node(p.overlay, errp)) {
        return;
    }
    /* base is below top: the walk reaches it. */
    for (BlockDriverState *n = top_bs;; n = bdrv_backing_bs(n)) {
        if (!block_job_check_node(n, errp)) {
            return;
        }
        if (n == base_bs) {
            break;
        }
    }
    if (!p.overlay && backing_file) {
        error_setg(errp, "'backing-file' specified, but 'top' is the "
                   "active layer");
        return;
    }
    p.job_id = job_id ? job_id : blk ? device : NULL;
    p.top = top_bs;
    p.base = base_bs;
    p.backing_file = backing_file;
    p.speed = has_speed ? speed : 0;
    p.on_error = has_on_error ? on_error : BLOCKDEV_ON_ERROR_REPORT;
    p.auto_finalize = has_auto_finalize ? auto_finalize : true;
    p.auto_dismiss = has_auto_dismiss ? auto_dismiss : true;
    commit_start(&p, errp);
}
