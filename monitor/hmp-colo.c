/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP COLO commands: x_colo_lost_heartbeat (QEMU's name and text) and
 * Tandem's info colo, which prints query-colo-status (with a "peer:
 * lost (why)" line once this side lost its peer) and the figures of
 * query-colo-stats on one screen, with a few lines per colo-compare. Each is a thin shell over the QMP
 * command; their rows are in hmp_commands[] (hmp-cmds.c).
 */
#include <inttypes.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"

void hmp_x_colo_lost_heartbeat(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_x_colo_lost_heartbeat(&err);
    hmp_handle_error(hmp, err);
}

/* Pauses are counted in microseconds and shown in milliseconds. */
static void hmp_colo_print_ms(HmpContext *hmp, const char *name, int64_t us)
{
    hmp_printf(hmp, " %s=%" PRId64 ".%03" PRId64, name, us / 1000,
               us % 1000);
}

static int64_t hmp_colo_sum(const ColoCompareProtoCounts *c)
{
    return c->tcp + c->udp + c->icmp + c->icmpv6 + c->arp + c->ip_fragment +
           c->ip_other + c->other + c->malformed;
}

/* One colo-compare object: totals, then TCP/UDP/ICMP detail. */
static void hmp_colo_print_compare(HmpContext *hmp, const ColoCompareInfo *i)
{
    const ColoCompareCheckpoints *ck = i->checkpoints;

    hmp_printf(hmp, "compare %s (%s): compared=%" PRId64 " matched=%"
               PRId64 " mismatched=%" PRId64 " passed=%" PRId64
               " flushed=%" PRId64 "\n", i->id,
               i->comparing ? "comparing" : "passing",
               hmp_colo_sum(i->compared), hmp_colo_sum(i->matched),
               hmp_colo_sum(i->mismatched), i->passed, i->flushed);
    hmp_printf(hmp, "  mismatched: tcp=%" PRId64 " udp=%" PRId64 " icmp=%"
               PRId64 " icmpv6=%" PRId64 " arp=%" PRId64 "\n",
               i->mismatched->tcp, i->mismatched->udp, i->mismatched->icmp,
               i->mismatched->icmpv6, i->mismatched->arp);
    hmp_printf(hmp, "  checkpoints asked: mismatch=%" PRId64 " timeout=%"
               PRId64 " queue-full=%" PRId64 " table-full=%" PRId64 "\n",
               ck->mismatch, ck->timeout, ck->queue_full, ck->table_full);
    hmp_printf(hmp, "  held=%" PRId64 " (max %" PRId64 ") latency (us): "
               "p50=%" PRId64 ".%03" PRId64 " p99=%" PRId64 ".%03" PRId64
               " outdev queued=%" PRId64 " bytes\n", i->held, i->held_max,
               i->latency_p50_ns / 1000, i->latency_p50_ns % 1000,
               i->latency_p99_ns / 1000, i->latency_p99_ns % 1000,
               i->out_queued_bytes);
}

void hmp_info_colo(HmpContext *hmp, const char *args)
{
    g_autoptr(COLOStatus) st = qmp_query_colo_status(NULL);
    g_autoptr(ColoStats) stats = qmp_query_colo_stats(NULL);

    hmp_printf(hmp, "COLO mode: %s\n", COLOMode_str(st->mode));
    hmp_printf(hmp, "last mode: %s\n", COLOMode_str(st->last_mode));
    hmp_printf(hmp, "reason: %s\n", COLOExitReason_str(st->reason));
    if (st->x_peer_lost) {
        hmp_printf(hmp, "peer: lost (%s)\n", st->x_peer_lost);
    }
    hmp_printf(hmp, "checkpoints: %" PRId64 "\n", stats->checkpoints);
    hmp_printf(hmp, "pause (ms):");
    hmp_colo_print_ms(hmp, "last", stats->last_pause_us);
    hmp_colo_print_ms(hmp, "p50", stats->p50_pause_us);
    hmp_colo_print_ms(hmp, "p99", stats->p99_pause_us);
    hmp_colo_print_ms(hmp, "max", stats->max_pause_us);
    hmp_printf(hmp, "\n");
    hmp_printf(hmp, "last checkpoint: dirty pages=%" PRId64 ", bytes=%"
               PRId64 "\n", stats->last_dirty_pages, stats->last_dirty_bytes);
    hmp_printf(hmp, "triggers: periodic=%" PRId64 " compare=%" PRId64
               " request=%" PRId64 "\n", stats->triggers->periodic,
               stats->triggers->compare, stats->triggers->request);
    for (ColoCompareInfoList *l = stats->compare; l; l = l->next) {
        hmp_colo_print_compare(hmp, l->value);
    }
}
