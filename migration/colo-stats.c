/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO checkpoint figures for query-colo-stats and HMP info colo: counts,
 * the last checkpoint's pause and size, and pause percentiles over a
 * window of the most recent checkpoints (sorted on query, not on record:
 * recording is on the checkpoint path, queries are rare).
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "colo-internal.h"

#define COLO_STATS_WINDOW 1024

static struct {
    GMutex lock;
    COLOMode mode;
    uint64_t checkpoints;
    int64_t last_pause_us;
    int64_t max_pause_us;
    uint64_t last_pages;
    uint64_t last_bytes;
    uint64_t by_trigger[COLO_TRIGGER__MAX];
    int64_t window[COLO_STATS_WINDOW];
    unsigned window_len;
    unsigned window_next;
} stats;

void colo_stats_reset(COLOMode mode)
{
    g_mutex_lock(&stats.lock);
    stats.mode = mode;
    stats.checkpoints = 0;
    stats.last_pause_us = stats.max_pause_us = 0;
    stats.last_pages = stats.last_bytes = 0;
    memset(stats.by_trigger, 0, sizeof(stats.by_trigger));
    stats.window_len = stats.window_next = 0;
    g_mutex_unlock(&stats.lock);
}

void colo_stats_record(int64_t pause_us, uint64_t pages, uint64_t bytes,
                       ColoTrigger why)
{
    g_mutex_lock(&stats.lock);
    stats.checkpoints++;
    stats.last_pause_us = pause_us;
    stats.max_pause_us = MAX(stats.max_pause_us, pause_us);
    stats.last_pages = pages;
    stats.last_bytes = bytes;
    if (why < COLO_TRIGGER__MAX) {
        stats.by_trigger[why]++;
    }
    stats.window[stats.window_next] = pause_us;
    stats.window_next = (stats.window_next + 1) % COLO_STATS_WINDOW;
    if (stats.window_len < COLO_STATS_WINDOW) {
        stats.window_len++;
    }
    g_mutex_unlock(&stats.lock);
}

static int colo_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted[0..n). */
static int64_t colo_percentile(const int64_t *sorted, unsigned n, unsigned p)
{
    unsigned rank;

    if (!n) {
        return 0;
    }
    rank = (p * n + 99) / 100;
    return sorted[rank ? rank - 1 : 0];
}

ColoStats *colo_stats_query(void)
{
    ColoStats *r = g_new0(ColoStats, 1);
    int64_t sorted[COLO_STATS_WINDOW];
    unsigned n;

    r->triggers = g_new0(ColoCheckpointTriggers, 1);
    g_mutex_lock(&stats.lock);
    r->mode = colo_mode() != COLO_MODE_NONE ? colo_mode() : COLO_MODE_NONE;
    r->checkpoints = stats.checkpoints;
    r->last_pause_us = stats.last_pause_us;
    r->max_pause_us = stats.max_pause_us;
    r->last_dirty_pages = stats.last_pages;
    r->last_dirty_bytes = stats.last_bytes;
    r->triggers->periodic = stats.by_trigger[COLO_TRIGGER_PERIODIC];
    r->triggers->compare = stats.by_trigger[COLO_TRIGGER_COMPARE];
    r->triggers->request = stats.by_trigger[COLO_TRIGGER_REQUEST];
    n = stats.window_len;
    memcpy(sorted, stats.window, n * sizeof(sorted[0]));
    g_mutex_unlock(&stats.lock);
    qsort(sorted, n, sizeof(sorted[0]), colo_cmp_i64);
    r->p50_pause_us = colo_percentile(sorted, n, 50);
    r->p99_pause_us = colo_percentile(sorted, n, 99);
    return r;
}
