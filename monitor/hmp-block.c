/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP block commands: "info block" and "info blockstats" print
 * query-block and query-blockstats in QEMU's layout; drive_add adds a
 * -drive (or, with -n, a node in -blockdev syntax, as the block
 * replication recipe uses it); drive_del deletes a drive.
 */
#include <inttypes.h>
#include <string.h>
#include "monitor-internal.h"
#include "block/blockdev.h"
#include "qapi/qapi-commands.h"

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
    g_auto(GStrv) words = NULL;
    Error *err = NULL;
    bool node = false;
    const char *opts;

    args = args ? args : "";
    while (*args == ' ') {
        args++;
    }
    if (!strncmp(args, "-n ", 3)) {
        node = true;
        args += 3;
    }
    words = g_strsplit(args, " ", 2);
    if (!words[0] || !words[1] || !*words[1]) {
        hmp_printf(hmp, "drive_add: usage: drive_add [-n] ADDR OPTIONS\n");
        return;
    }
    opts = g_strstrip(words[1]);
    if (node) {
        if (blockdev_add_cmdline(opts, &err)) {
            hmp_printf(hmp, "OK\n");
        }
    } else if (drive_new(opts, &err)) {
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
