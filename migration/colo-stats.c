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

void colo_stats_init(ColoCheckpointStats *st)
{
    memset(st, 0, sizeof(*st));
    g_mutex_init(&st->lock);
}

void colo_stats_destroy(ColoCheckpointStats *st)
{
    g_mutex_clear(&st->lock);
}

void colo_stats_reset(ColoCheckpointStats *st, COLOMode mode)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&st->lock);

    st->mode = mode;
    st->checkpoints = 0;
    st->last_pause_us = st->max_pause_us = 0;
    st->last_pages = st->last_bytes = 0;
    memset(st->by_trigger, 0, sizeof(st->by_trigger));
    st->window_len = st->window_next = 0;
}

void colo_stats_record(ColoCheckpointStats *st, int64_t pause_us,
                       uint64_t pages, uint64_t bytes, ColoTrigger why)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&st->lock);

    st->checkpoints++;
    st->last_pause_us = pause_us;
    st->max_pause_us = MAX(st->max_pause_us, pause_us);
    st->last_pages = pages;
    st->last_bytes = bytes;
    if (why < COLO_TRIGGER__MAX) {
        st->by_trigger[why]++;
    }
    st->window[st->window_next] = pause_us;
    st->window_next = (st->window_next + 1) % COLO_STATS_WINDOW;
    if (st->window_len < COLO_STATS_WINDOW) {
        st->window_len++;
    }
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

ColoStats *colo_stats_query(ColoCheckpointStats *st, COLOMode current)
{
    ColoStats *r = g_new0(ColoStats, 1);
    int64_t sorted[COLO_STATS_WINDOW];
    unsigned n;

    r->triggers = g_new0(ColoCheckpointTriggers, 1);
    g_mutex_lock(&st->lock);
    r->mode = current;
    r->checkpoints = st->checkpoints;
    r->last_pause_us = st->last_pause_us;
    r->max_pause_us = st->max_pause_us;
    r->last_dirty_pages = st->last_pages;
    r->last_dirty_bytes = st->last_bytes;
    r->triggers->periodic = st->by_trigger[COLO_TRIGGER_PERIODIC];
    r->triggers->compare = st->by_trigger[COLO_TRIGGER_COMPARE];
    r->triggers->request = st->by_trigger[COLO_TRIGGER_REQUEST];
    n = st->window_len;
    memcpy(sorted, st->window, n * sizeof(sorted[0]));
    g_mutex_unlock(&st->lock);
    qsort(sorted, n, sizeof(sorted[0]), colo_cmp_i64);
    r->p50_pause_us = colo_percentile(sorted, n, 50);
    r->p99_pause_us = colo_percentile(sorted, n, 99);
    return r;
}
