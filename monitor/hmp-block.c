/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP block commands: "info block" and "info blockstats" print
 * query-block and query-blockstats in QEMU's layout; drive_add adds a
 * -drive (or, with -n, a node in -blockdev syntax, as the block
 * replication recipe uses it); drive_del deletes a drive; nbd_server_start,
 * nbd_server_add, nbd_server_remove and nbd_server_stop drive the NBD
 * server as QEMU's HMP does.
 */
#include <inttypes.h>
#include <string.h>
#include "monitor-internal.h"
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

/* ---- the NBD server (nbd/, qapi/block-export.json) ---- */

/* Leading "-x" flags of an HMP argument string; returns the rest. */
static const char *hmp_nbd_flags(const char *args, const char *known,
                                 char *seen, size_t seen_size)
{
    size_t n = 0;

    args = args ? args : "";
    for (;;) {
        while (*args == ' ') {
            args++;
        }
        if (args[0] != '-' || !args[1] || !strchr(known, args[1]) ||
            (args[2] && args[2] != ' ')) {
            break;
        }
        if (n + 1 < seen_size) {
            seen[n++] = args[1];
        }
        args += 2;
    }
    seen[n] = 0;
    return args;
}

/* nbd_server_start [-a] [-w] host:port|unix:path (-a: export all drives). */
void hmp_nbd_server_start(HmpContext *hmp, const char *args)
{
    char flags[8];
    const char *rest = hmp_nbd_flags(args, "aw", flags, sizeof(flags));
    g_autofree char *uri = g_strstrip(g_strdup(rest));
    g_autoptr(SocketAddress) addr = NULL;
    Error *err = NULL;

    if (!*uri) {
        hmp_printf(hmp, "nbd_server_start: usage: nbd_server_start [-a] "
                   "[-w] host:port\n");
        return;
    }
    addr = socket_parse(uri, &err);
    if (addr && nbd_server_start(addr, 0,
                                  NBD_DEFAULT_HANDSHAKE_MAX_SECONDS, &err) && strchr(flags, 'a')) {
        for (BlockBackend *blk = blk_next(NULL); blk; blk = blk_next(blk)) {
            NbdServerAddOptions opts = {
                .device = (char *)blk_name(blk),
                .has_writable = true,
                .writable = strchr(flags, 'w') != NULL,
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
    char flags[8];
    const char *rest = hmp_nbd_flags(args, "w", flags, sizeof(flags));
    g_auto(GStrv) words = g_strsplit_set(rest, " ", -1);
    GPtrArray *w = g_ptr_array_new();
    Error *err = NULL;

    for (char **p = words; *p; p++) {
        if (**p) {
            g_ptr_array_add(w, *p);
        }
    }
    if (w->len < 1 || w->len > 2) {
        hmp_printf(hmp, "nbd_server_add: usage: nbd_server_add [-w] device "
                   "[name]\n");
    } else {
        NbdServerAddOptions opts = {
            .device = w->pdata[0],
            .name = w->len > 1 ? w->pdata[1] : NULL,
            .has_writable = true,
            .writable = strchr(flags, 'w') != NULL,
        };

        qmp_nbd_server_add(&opts, &err);
    }
    g_ptr_array_free(w, true);
    hmp_handle_error(hmp, err);
}

/* nbd_server_remove [-f] name (-f: hard, disconnect the clients) */
void hmp_nbd_server_remove(HmpContext *hmp, const char *args)
{
    char flags[8];
    const char *rest = hmp_nbd_flags(args, "f", flags, sizeof(flags));
    g_autofree char *name = g_strstrip(g_strdup(rest));
    Error *err = NULL;

    qmp_nbd_server_remove(name, true, strchr(flags, 'f') ?
                          BLOCK_EXPORT_REMOVE_MODE_HARD :
                          BLOCK_EXPORT_REMOVE_MODE_SAFE, &err);
    hmp_handle_error(hmp, err);
}

void hmp_nbd_server_stop(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_nbd_server_stop(&err);
    hmp_handle_error(hmp, err);
}
