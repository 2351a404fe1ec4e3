/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * query-block, query-named-block-nodes and query-blockstats: the graph
 * and its statistics in QEMU 7.2's shapes. Members Tandem cannot fill
 * truthfully are omitted when optional; the required throttling limits
 * are 0 (there is no throttling) and timed_stats is empty.
 */
#include <string.h>
#include "block/activation.h"
#include "block/block_int.h"
#include "block/blockdev.h"
#include "qapi/qapi-commands.h"

static ImageInfo *image_info(BlockDriverState *bs, bool with_backing)
{
    ImageInfo *info = g_new0(ImageInfo, 1);
    int64_t len = bdrv_getlength(bs);
    int64_t actual = bs->drv->get_allocated_size
                     ? bs->drv->get_allocated_size(bs) : -1;
    const char *bname = bs->drv->backing_filename
                        ? bs->drv->backing_filename(bs) : NULL;
    BlockDriverState *backing = bdrv_backing_bs(bs);

    info->filename = g_strdup(bdrv_get_filename(bs));
    info->format = g_strdup(bdrv_get_format_name(bs));
    info->virtual_size = len < 0 ? 0 : len;
    if (actual >= 0) {
        info->has_actual_size = true;
        info->actual_size = actual;
    }
    if (bs->drv->cluster_size) {
        info->has_cluster_size = true;
        info->cluster_size = bs->drv->cluster_size(bs);
    }
    if (!strcmp(bdrv_get_format_name(bs), "qcow2")) {
        info->has_dirty_flag = true;
        info->dirty_flag = false;
    }
    if (bname) {
        info->backing_filename = g_strdup(bname);
    }
    info->snapshots = bdrv_snapshot_info_list(bs);
    if (backing) {
        info->full_backing_filename = g_strdup(bdrv_get_filename(backing));
        info->backing_filename_format =
            g_strdup(bdrv_get_format_name(backing));
        if (with_backing) {
            info->backing_image = image_info(backing, true);
        }
    }
    return info;
}

static BlockDeviceInfo *device_info(BlockDriverState *bs, bool writeback,
                                    bool with_backing)
{
    BlockDeviceInfo *info = g_new0(BlockDeviceInfo, 1);
    BlockDriverState *b;
    int depth = 0;

    info->file = g_strdup(bdrv_get_filename(bs));
    info->node_name = g_strdup(bdrv_get_node_name(bs));
    info->ro = bdrv_is_read_only(bs);
    info->drv = g_strdup(bdrv_get_format_name(bs));
    if ((b = bdrv_backing_bs(bs))) {
        info->backing_file = g_strdup(bdrv_get_filename(b));
    }
    for (b = bdrv_backing_bs(bs); b; b = bdrv_backing_bs(b)) {
        depth++;
    }
    info->backing_file_depth = depth;
    info->encrypted = false;
    info->detect_zeroes = BLOCKDEV_DETECT_ZEROES_OPTIONS_OFF;
    info->image = image_info(bs, with_backing);
    info->cache = g_new0(BlockdevCacheInfo, 1);
    info->cache->writeback = writeback;
    info->cache->direct = bs->cache_direct;
    info->cache->no_flush = bs->cache_no_flush;
    info->write_threshold = 0;
    info->active = bdrv_is_active(bs);
    return info;
}

BlockInfoList *qmp_query_block(Error **errp)
{
    BlockInfoList *head = NULL, **tail = &head;

    for (BlockBackend *blk = blk_next_listed(NULL); blk;
         blk = blk_next_listed(blk)) {
        BlockInfo *info = g_new0(BlockInfo, 1);

        info->device = g_strdup(blk_name(blk));
        info->qdev = g_strdup(blk_get_attached_dev_path(blk));
        info->type = g_strdup("unknown");
        info->removable = false;
        info->locked = false;
        info->inserted = device_info(blk_bs(blk),
                                     blk_enable_write_cache(blk), true);
        *tail = g_new0(BlockInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}

BlockDeviceInfoList *qmp_query_named_block_nodes(bool has_flat, bool flat,
                                                 Error **errp)
{
    BlockDeviceInfoList *head = NULL, **tail = &head;

    for (BlockDriverState *bs = bdrv_next_node(NULL); bs;
         bs = bdrv_next_node(bs)) {
        *tail = g_new0(BlockDeviceInfoList, 1);
        (*tail)->value = device_info(bs, true, !(has_flat && flat));
        tail = &(*tail)->next;
    }
    return head;
}

static BlockDeviceStats *device_stats(BlockAcctStats *live)
{
    BlockDeviceStats *ds = g_new0(BlockDeviceStats, 1);
    BlockAcctStats s;

    block_acct_snapshot(live, &s);
    ds->rd_bytes = s.nr_bytes[BLOCK_ACCT_READ];
    ds->wr_bytes = s.nr_bytes[BLOCK_ACCT_WRITE];
    ds->unmap_bytes = s.nr_bytes[BLOCK_ACCT_UNMAP];
    ds->rd_operations = s.nr_ops[BLOCK_ACCT_READ];
    ds->wr_operations = s.nr_ops[BLOCK_ACCT_WRITE];
    ds->flush_operations = s.nr_ops[BLOCK_ACCT_FLUSH];
    ds->unmap_operations = s.nr_ops[BLOCK_ACCT_UNMAP];
    ds->rd_total_time_ns = s.total_time_ns[BLOCK_ACCT_READ];
    ds->wr_total_time_ns = s.total_time_ns[BLOCK_ACCT_WRITE];
    ds->flush_total_time_ns = s.total_time_ns[BLOCK_ACCT_FLUSH];
    ds->unmap_total_time_ns = s.total_time_ns[BLOCK_ACCT_UNMAP];
    ds->wr_highest_offset = s.wr_highest_offset;
    if (s.last_access_ns) {
        ds->has_idle_time_ns = true;
        ds->idle_time_ns = block_acct_now_ns() - s.last_access_ns;
    }
    ds->failed_rd_operations = s.failed_ops[BLOCK_ACCT_READ];
    ds->failed_wr_operations = s.failed_ops[BLOCK_ACCT_WRITE];
    ds->failed_flush_operations = s.failed_ops[BLOCK_ACCT_FLUSH];
    ds->failed_unmap_operations = s.failed_ops[BLOCK_ACCT_UNMAP];
    ds->invalid_rd_operations = s.invalid_ops[BLOCK_ACCT_READ];
    ds->invalid_wr_operations = s.invalid_ops[BLOCK_ACCT_WRITE];
    ds->invalid_flush_operations = s.invalid_ops[BLOCK_ACCT_FLUSH];
    ds->invalid_unmap_operations = s.invalid_ops[BLOCK_ACCT_UNMAP];
    ds->account_invalid = true;
    ds->account_failed = true;
    ds->timed_stats = NULL;
    return ds;
}

/* A node's stats with its file child as parent and backing as backing. */
static BlockStats *node_stats(BlockDriverState *bs, bool recurse)
{
    BlockStats *st = g_new0(BlockStats, 1);

    st->node_name = g_strdup(bdrv_get_node_name(bs));
    st->stats = device_stats(&bs->stats);
    if (recurse && bdrv_file_bs(bs)) {
        st->parent = node_stats(bdrv_file_bs(bs), true);
    }
    if (recurse && bdrv_backing_bs(bs)) {
        st->backing = node_stats(bdrv_backing_bs(bs), true);
    }
    return st;
}

BlockStatsList *qmp_query_blockstats(bool has_query_nodes, bool query_nodes,
                                     Error **errp)
{
    BlockStatsList *head = NULL, **tail = &head;

    if (has_query_nodes && query_nodes) {
        for (BlockDriverState *bs = bdrv_next_node(NULL); bs;
             bs = bdrv_next_node(bs)) {
            *tail = g_new0(BlockStatsList, 1);
            (*tail)->value = node_stats(bs, false);
            tail = &(*tail)->next;
        }
        return head;
    }
    for (BlockBackend *blk = blk_next_listed(NULL); blk;
         blk = blk_next_listed(blk)) {
        BlockStats *st = g_new0(BlockStats, 1);
        BlockDriverState *bs = blk_bs(blk);

        st->device = g_strdup(blk_name(blk));
        st->qdev = g_strdup(blk_get_attached_dev_path(blk));
        st->node_name = g_strdup(bdrv_get_node_name(bs));
        st->stats = device_stats(blk_get_stats(blk));
        if (bdrv_file_bs(bs)) {
            st->parent = node_stats(bdrv_file_bs(bs), true);
        }
        if (bdrv_backing_bs(bs)) {
            st->backing = node_stats(bdrv_backing_bs(bs), true);
        }
        *tail = g_new0(BlockStatsList, 1);
        (*tail)->value = st;
        tail = &(*tail)->next;
    }
    return head;
}
