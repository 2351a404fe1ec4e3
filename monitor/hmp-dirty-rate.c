/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP calc_dirty_rate and info dirty_rate, in QEMU 7.2's words, over the
 * QMP commands of migration/dirty-rate.c.
 */
#include <inttypes.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"

/*
 * calc_dirty_rate [-r] [-b] SECONDS [SAMPLE_PAGES_PER_GB]: -r counts
 * with the dirty rings, -b with the dirty bitmap, neither samples pages.
 */
void hmp_calc_dirty_rate(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "calc_dirty_rate [-r] [-b] second [sample_pages_per_GB]",
        .flags = "rb", .min = 1, .max = 2,
    };
    bool set[2] = { false, false };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, set);
    int64_t seconds, pages = 0;
    DirtyRateMeasureMode mode = DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING;
    Error *err = NULL;

    if (!w) {
        return;
    }
    if (set[0] && set[1]) {
        hmp_printf(hmp, "Either dirty ring or dirty bitmap can be "
                   "specified!\n");
        return;
    }
    if (!g_ascii_string_to_signed(w[0], 10, INT64_MIN, INT64_MAX, &seconds,
                                  NULL) ||
        (w[1] && !g_ascii_string_to_signed(w[1], 10, INT64_MIN, INT64_MAX,
                                           &pages, NULL))) {
        hmp_printf(hmp, "Error: usage: %s\n", spec.usage);
        return;
    }
    if (seconds <= 0) {
        hmp_printf(hmp, "Incorrect period length specified!\n");
        return;
    }
    if (set[0]) {
        mode = DIRTY_RATE_MEASURE_MODE_DIRTY_RING;
    } else if (set[1]) {
        mode = DIRTY_RATE_MEASURE_MODE_DIRTY_BITMAP;
    }
    qmp_calc_dirty_rate(seconds, w[1] != NULL, pages, true, mode, &err);
    if (err) {
        hmp_handle_error(hmp, err);
        return;
    }
    hmp_printf(hmp, "Starting dirty rate measurement with period %" PRId64
               " seconds\n[Please use 'info dirty_rate' to check results]\n",
               seconds);
}

/* QEMU's text, its "(ms)" label on a time in seconds included. */
void hmp_info_dirty_rate(HmpContext *hmp, const char *args)
{
    g_autoptr(DirtyRateInfo) info = qmp_query_dirty_rate(NULL);

    hmp_printf(hmp, "Status: %s\n", DirtyRateStatus_str(info->status));
    hmp_printf(hmp, "Start Time: %" PRId64 " (ms)\n", info->start_time);
    hmp_printf(hmp, "Sample Pages: %" PRIu64 " (per GB)\n",
               info->sample_pages);
    hmp_printf(hmp, "Period: %" PRId64 " (sec)\n", info->calc_time);
    hmp_printf(hmp, "Mode: %s\n", DirtyRateMeasureMode_str(info->mode));
    if (!info->has_dirty_rate) {
        hmp_printf(hmp, "Dirty rate: (not ready)\n");
        return;
    }
    if (info->mode == DIRTY_RATE_MEASURE_MODE_DIRTY_RING) {
        for (DirtyRateVcpuList *v = info->vcpu_dirty_rate; v; v = v->next) {
            hmp_printf(hmp, "vcpu[%" PRId64 "], Dirty rate: %" PRId64
                       " (MB/s)\n",
                       v->value->id, v->value->dirty_rate);
        }
        return;
    }
    hmp_printf(hmp, "Dirty rate: %" PRId64 " (MB/s)\n", info->dirty_rate);
}
