/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Overlapping writes on a node with write notifiers, one at a time
 * (include/block/write-order.h).
 *
 * One lock and one list for every node: only nodes with notifiers (a
 * mirror's source, while the job runs) pay, and those see few writes in
 * flight at once, so a list walk is cheap. The same lock-for-all-nodes
 * choice as the notifier list's (block/dirty-bitmap.c).
 */
#include <glib.h>
#include "block/block_int.h"
#include "block/write-order.h"

static GMutex order_lock;
static GCond order_cond;
static GSList *in_flight;      /* BdrvWriteOrder *, tracked and running */
static uint64_t waits;

static bool overlaps_one_in_flight(const BdrvWriteOrder *w)
{
    for (GSList *l = in_flight; l; l = l->next) {
        const BdrvWriteOrder *o = l->data;

        if (o->bs == w->bs && o->start < w->end && w->start < o->end) {
            return true;
        }
    }
    return false;
}

void bdrv_write_order_begin(BdrvWriteOrder *w, BlockDriverState *bs,
                            uint64_t offset, uint64_t bytes)
{
    *w = (BdrvWriteOrder) {
        .bs = bs,
        .start = offset,
        .end = offset + bytes,
        .tracked = g_atomic_pointer_get(&bs->write_notifiers) != NULL,
    };
    if (!w->tracked) {
        return;
    }
    g_mutex_lock(&order_lock);
    if (overlaps_one_in_flight(w)) {
        waits++;
        g_cond_broadcast(&order_cond);     /* bdrv_write_order_waits() */
        do {
            g_cond_wait(&order_cond, &order_lock);
        } while (overlaps_one_in_flight(w));
    }
    in_flight = g_slist_prepend(in_flight, w);
    g_mutex_unlock(&order_lock);
}

void bdrv_write_order_end(BdrvWriteOrder *w)
{
    if (!w->tracked) {
        return;
    }
    g_mutex_lock(&order_lock);
    in_flight = g_slist_remove(in_flight, w);
    g_cond_broadcast(&order_cond);
    g_mutex_unlock(&order_lock);
}

uint64_t bdrv_write_order_waits(void)
{
    uint64_t n;

    g_mutex_lock(&order_lock);
    n = waits;
    g_mutex_unlock(&order_lock);
    return n;
}
