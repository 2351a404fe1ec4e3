/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP block commands: "info block" and "info blockstats" print
 * query-block and query-blockstats in QEMU's layout; drive_add adds a
 * -drive (or, with -n, a node in -blockdev syntax, as the block
 * replication recipe uses it); drive_del deletes a drive; snapshot_blkdev
 * takes an external snapshot of a drive; nbd_server_start,
 * nbd_server_add, nbd_server_remove and nbd_server_stop drive the NBD
 * server as QEMU's HMP does.
 */
#include <inttypes.h>
#include <string.h>
#include "monitor-internal.h"
#include "util/keyval.h"
#include "block/blockdev.h"
#include "qapi/qapi-commands.h"
#include "nbd/nbd.h"
#include "util/sockets.h"

static void hmp_block_entry(HmpContext *hmp, const BlockInfo *b)
{
    const BlockDeviceInfo *in = b->inserted;

    if (!*b->device && in && in->node_name) {
        /* A device's backend on a -blockdev node: named by the node,
         * as QEMU does ("Attached to" follows). */
        hmp_printf(hmp, "%s", in->node_name);
    } else {
        hmp_printf(hmp, "%s", b->device);
        if (!in) {
            hmp_printf(hmp, ": [not inserted]\n");
            return;
        }
        if (in->node_name) {
            hmp_printf(hmp, " (%s)", in->node_name);
        }
    }
    hmp_printf(hmp, ": %s (%s%s)\n", in->file, in->drv,
               in->ro ? ", read-only" : "");
    if (b->qdev) {
        hmp_printf(hmp, "    Attached to:      %s\n", b->qdev);
    }
    hmp_printf(hmp, "    Cache mode:       %s%s%s\n",
               in->cache->writeback ? "writeback" : "writethrough",
               in->cache->direct ? ", direct" : "",
               in->cache->no_flush ? ", ignore flushes" : "");
    if (in->backing_file) {
        hmp_printf(hmp, "    Backing file:     %s (chain depth: %" PRId64
                   ")\n", in->backing_file, in->backing_file_depth);
    }
}

void hmp_info_block(HmpContext *hmp, const char *args)
{
    Error *err = NULL;
    g_autoptr(BlockInfoList) list = qmp_query_block(&err);
    bool first = true;

    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    for (BlockInfoList *l = list; l; l = l->next) {
        if (!first) {
            hmp_printf(hmp, "\n");
        }
        first = false;
        hmp_block_entry(hmp, l->value);
    }
}

void hmp_info_blockstats(HmpContext *hmp, const char *args)
{
    Error *err = NULL;
    g_autoptr(BlockStatsList) list = qmp_query_blockstats(false, false, &err);

    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    for (BlockStatsList *l = list; l; l = l->next) {
        const BlockDeviceStats *s = l->value->stats;

        hmp_printf(hmp, "%s:", l->value->device ? l->value->device : "");
        hmp_printf(hmp, " rd_bytes=%" PRId64 " wr_bytes=%" PRId64
                   " rd_operations=%" PRId64 " wr_operations=%" PRId64
                   " flush_operations=%" PRId64 " wr_total_time_ns=%" PRId64
                   " rd_total_time_ns=%" PRId64
                   " flush_total_time_ns=%" PRId64 " rd_merged=%" PRId64
                   " wr_merged=%" PRId64 " idle_time_ns=%" PRId64 "\n",
                   s->rd_bytes, s->wr_bytes, s->rd_operations,
                   s->wr_operations, s->flush_operations,
                   s->wr_total_time_ns, s->rd_total_time_ns,
                   s->flush_total_time_ns, s->rd_merged, s->wr_merged,
                   s->has_idle_time_ns ? s->idle_time_ns : 0);
    }
}

/* drive_add [-n] ADDR OPTS: the address is accepted and ignored (no
 * controller models yet). */
void hmp_drive_add(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "drive_add [-n] ADDR OPTIONS", .flags = "n", .min = 2,
        .max = 2, .rest = true,
    };
    bool node = false;
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, &node);
    Error *err = NULL;

    if (!w) {
        return;
    }
    if (node) {
        if (blockdev_add_cmdline(w[1], &err)) {
            hmp_printf(hmp, "OK\n");
        }
    } else if (drive_new(w[1], &err)) {
        hmp_printf(hmp, "OK\n");
    }
    hmp_handle_error(hmp, err);
}

void hmp_drive_del(HmpContext *hmp, const char *args)
{
    Error *err = NULL;
    g_autofree char *id = g_strstrip(g_strdup(args ? args : ""));

    drive_del(id, &err);
    hmp_handle_error(hmp, err);
}

/* block_resize DEVICE SIZE: SIZE in bytes, or with a k/M/G/T suffix. */
void hmp_block_resize(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "block_resize DEVICE SIZE", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;
    uint64_t size;

    if (!w) {
        return;
    }
    if (!parse_size(w[1], 1, &size, &err) || size > INT64_MAX) {
        hmp_printf(hmp, "Error: invalid size '%s'\n", w[1]);
        error_free(err);
        return;
    }
    qmp_block_resize(w[0], NULL, (int64_t)size, &err);
    hmp_handle_error(hmp, err);
}

/*
 * snapshot_blkdev [-n] DEVICE [NEW-IMAGE-FILE] [FORMAT]: QEMU's HMP
 * spelling of blockdev-snapshot-sync on a drive (-n: the image exists).
 * The file is optional to the parser and required by the command, so
 * its absence gets the QMP error, as in QEMU.
 */
void hmp_snapshot_blkdev(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "snapshot_blkdev [-n] device [new-image-file] [format]",
        .flags = "n", .min = 1, .max = 3,
    };
    bool reuse = false;
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, &reuse);
    Error *err = NULL;

    if (!w) {
        return;
    }
    if (!w[1]) {
        hmp_printf(hmp, "Error: Parameter 'snapshot-file' is missing\n");
        return;
    }
    qmp_blockdev_snapshot_sync(w[0], NULL, w[1], NULL,
                               w[2] ? w[2] : "qcow2", true,
                               reuse ? NEW_IMAGE_MODE_EXISTING
                                     : NEW_IMAGE_MODE_ABSOLUTE_PATHS, &err);
    hmp_handle_error(hmp, err);
}

/* snapshot_blkdev_internal device name: blockdev-snapshot-internal-sync. */
void hmp_snapshot_blkdev_internal(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "snapshot_blkdev_internal device name", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;

    if (!w) {
        return;
    }
    qmp_blockdev_snapshot_internal_sync(w[0], w[1], &err);
    hmp_handle_error(hmp, err);
}

/* snapshot_delete_blkdev_internal device name [id]: the snapshot that
 * matches name (and id, when given) goes. */
void hmp_snapshot_delete_blkdev_internal(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "snapshot_delete_blkdev_internal device name [id]",
        .min = 2, .max = 3,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;

    if (!w) {
        return;
    }
    qapi_free_SnapshotInfo(qmp_blockdev_snapshot_delete_internal_sync(
        w[0], w[2], w[1], &err));
    hmp_handle_error(hmp, err);
}

/* ---- the NBD server (nbd/, qapi/block-export.json) ---- */

/* nbd_server_start [-a] [-w] host:port|unix:path (-a: export all drives). */
void hmp_nbd_server_start(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "nbd_server_start [-a] [-w] host:port", .flags = "aw",
        .min = 1, .max = 1,
    };
    bool set[2] = { false, false };     /* -a, -w */
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, set);
    g_autoptr(SocketAddress) addr = NULL;
    Error *err = NULL;

    if (!w) {
        return;
    }
    addr = socket_parse(w[0], &err);
    if (addr && nbd_server_start(addr, 0, NBD_DEFAULT_HANDSHAKE_MAX_SECONDS,
                                 &err) && set[0]) {
        for (BlockBackend *blk = blk_next(NULL); blk; blk = blk_next(blk)) {
            NbdServerAddOptions opts = {
                .device = (char *)blk_name(blk),
                .has_writable = true,
                .writable = set[1],
            };

            qmp_nbd_server_add(&opts, &err);
            if (err) {
                nbd_server_stop();
                break;
            }
        }
    }
    hmp_handle_error(hmp, err);
}

/* nbd_server_add [-w] device [name] */
void hmp_nbd_server_add(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "nbd_server_add [-w] device [name]", .flags = "w",
        .min = 1, .max = 2,
    };
    bool writable = false;
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, &writable);
    Error *err = NULL;

    if (w) {
        NbdServerAddOptions opts = {
            .device = w[0],
            .name = w[1],
            .has_writable = true,
            .writable = writable,
        };

        qmp_nbd_server_add(&opts, &err);
        hmp_handle_error(hmp, err);
    }
}

/* nbd_server_remove [-f] name (-f: hard, disconnect the clients) */
void hmp_nbd_server_remove(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "nbd_server_remove [-f] name", .flags = "f", .min = 1,
        .max = 1,
    };
    bool force = false;
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, &force);
    Error *err = NULL;

    if (w) {
        qmp_nbd_server_remove(w[0], true, force ?
                              BLOCK_EXPORT_REMOVE_MODE_HARD :
                              BLOCK_EXPORT_REMOVE_MODE_SAFE, &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_nbd_server_stop(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_nbd_server_stop(&err);
    hmp_handle_error(hmp, err);
}
