/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The COLO hot set; the rules are in include/migration/colo-hot-set.h.
 *
 * Cost per epoch end: histories and promotion only for the pages the log
 * reported (a page's history is kept relative to the epoch it was last
 * dirty in, so clean pages cost nothing), samples for 1/16 of the hot
 * set, and three word-wise passes over page bitmaps (a 1 GiB guest has
 * 4,096 words per bitmap).
 */
#include <string.h>
#include <glib.h>
#include "migration/colo-hot-set.h"
#include "util/bitmap.h"
#include "trace.h"

#define BITS_PER_WORD   BITS_PER_LONG

struct ColoHotSet {
    uint64_t npages;
    uint64_t max_hot;
    uint32_t epoch;             /* the epoch running now */
    uint8_t *mask;              /* history as of last[p]: bit 0 = that epoch */
    uint32_t *last;             /* the epoch page p was last dirty in */
    unsigned long *hot;         /* hot pages, the sampled ones included */
    unsigned long *sampled;     /* hot pages tracked this epoch */
    unsigned long *untracked;   /* hot & ~sampled */
    unsigned long *reprotect;
    uint64_t hot_count;
    uint64_t cursor;            /* where the next sample / shrink starts */
    /*
     * A rotation samples every page hot at its start once, in 1/16 of it
     * per epoch: so 16 epochs bound how long a page that stopped being
     * written stays hot, however the set shrinks meanwhile.
     */
    uint64_t rot_left;          /* samples still due in this rotation */
    uint64_t rot_quota;         /* samples per epoch in this rotation */
    ColoHotSetStats st;
};

static size_t words(const ColoHotSet *hs)
{
    return (hs->npages + BITS_PER_WORD - 1) / BITS_PER_WORD;
}

ColoHotSet *colo_hot_set_new(uint64_t npages, uint64_t max_hot)
{
    ColoHotSet *hs = g_new0(ColoHotSet, 1);

    hs->npages = npages;
    hs->max_hot = max_hot;
    hs->mask = g_new0(uint8_t, npages);
    hs->last = g_new0(uint32_t, npages);
    hs->hot = bitmap_new(npages);
    hs->sampled = bitmap_new(npages);
    hs->untracked = bitmap_new(npages);
    hs->reprotect = bitmap_new(npages);
    return hs;
}

void colo_hot_set_free(ColoHotSet *hs)
{
    if (!hs) {
        return;
    }
    g_free(hs->mask);
    g_free(hs->last);
    g_free(hs->hot);
    g_free(hs->sampled);
    g_free(hs->untracked);
    g_free(hs->reprotect);
    g_free(hs);
}

void colo_hot_set_set_max(ColoHotSet *hs, uint64_t max_hot)
{
    hs->max_hot = max_hot;
}

const unsigned long *colo_hot_set_untracked(const ColoHotSet *hs)
{
    return hs->untracked;
}

const unsigned long *colo_hot_set_reprotect(const ColoHotSet *hs)
{
    return hs->reprotect;
}

ColoHotSetStats colo_hot_set_stats(const ColoHotSet *hs)
{
    ColoHotSetStats st = hs->st;

    st.hot_pages = hs->hot_count;
    return st;
}

/* The page's history as of the epoch that just ended (bit 0 = it). */
static uint8_t history_now(const ColoHotSet *hs, uint64_t p)
{
    uint32_t age = hs->epoch - hs->last[p];

    return age >= 8 ? 0 : (uint8_t)(hs->mask[p] << age);
}

static void note_dirty(ColoHotSet *hs, uint64_t p)
{
    hs->mask[p] = history_now(hs, p) | 1;
    hs->last[p] = hs->epoch;
}

static void demote(ColoHotSet *hs, uint64_t p)
{
    clear_bit(p, hs->hot);
    hs->hot_count--;
    hs->st.demotions++;
    /* It starts cold with a clean record: earning hot again takes 3 of 4. */
    hs->mask[p] = 0;
    hs->last[p] = hs->epoch;
}

/* The next hot page at or after the cursor, wrapping; npages if none. */
static uint64_t next_hot(ColoHotSet *hs)
{
    uint64_t p = find_next_bit(hs->hot, hs->npages, hs->cursor);

    if (p >= hs->npages) {
        p = find_next_bit(hs->hot, hs->npages, 0);
    }
    if (p < hs->npages) {
        hs->cursor = p + 1 >= hs->npages ? 0 : p + 1;
    }
    return p;
}

void colo_hot_set_end_epoch(ColoHotSet *hs, const unsigned long *logged)
{
    size_t nw = words(hs);
    uint64_t promoted = 0, demoted_before = hs->st.demotions;
    uint64_t want_samples;

    /* 1. What was dirty in the ended epoch: logged, or not watched. */
    for (uint64_t p = find_next_bit(logged, hs->npages, 0); p < hs->npages;
         p = find_next_bit(logged, hs->npages, p + 1)) {
        note_dirty(hs, p);
    }

    /* 2. Samples: tracked for one epoch; clean means the guest stopped. */
    for (uint64_t p = find_next_bit(hs->sampled, hs->npages, 0);
         p < hs->npages; p = find_next_bit(hs->sampled, hs->npages, p + 1)) {
        if (!test_bit(p, logged)) {
            demote(hs, p);
        }
    }
    bitmap_zero(hs->sampled, hs->npages);

    /* 3. A lowered bound: the excess goes cold, in rotation. */
    while (hs->hot_count > hs->max_hot) {
        demote(hs, next_hot(hs));
    }

    /* 4. Promotion, among the pages dirty now (the others can wait). */
    for (uint64_t p = find_next_bit(logged, hs->npages, 0);
         p < hs->npages && hs->hot_count < hs->max_hot;
         p = find_next_bit(logged, hs->npages, p + 1)) {
        uint8_t recent = history_now(hs, p) &
                         ((1u << COLO_HOT_PROMOTE_WINDOW) - 1);

        if (!test_bit(p, hs->hot) &&
            __builtin_popcount(recent) >= COLO_HOT_PROMOTE_MIN) {
            set_bit(p, hs->hot);
            hs->hot_count++;
            promoted++;
        }
    }
    hs->st.promotions += promoted;

    /* 5. The next epoch's samples. */
    if (!hs->rot_left) {
        hs->rot_left = hs->hot_count;
        hs->rot_quota = (hs->hot_count + COLO_HOT_SAMPLE_DIVISOR - 1) /
                        COLO_HOT_SAMPLE_DIVISOR;
    }
    want_samples = MIN(MIN(hs->rot_quota, hs->rot_left), hs->hot_count);
    hs->rot_left -= want_samples;
    for (uint64_t i = 0; i < want_samples; i++) {
        set_bit(next_hot(hs), hs->sampled);
    }
    hs->st.sampled_pages = want_samples;

    /*
     * 6. Reprotect: tracked next epoch, and dirty or writable in the
     * ended one. hs->untracked still says what was writable in it.
     */
    for (size_t w = 0; w < nw; w++) {
        unsigned long next_untracked = hs->hot[w] & ~hs->sampled[w];

        hs->reprotect[w] = ~next_untracked & (logged[w] | hs->untracked[w]);
        hs->untracked[w] = next_untracked;
    }
    if (hs->npages % BITS_PER_WORD) {
        hs->reprotect[nw - 1] &= (1UL << (hs->npages % BITS_PER_WORD)) - 1;
    }
    trace_colo_hot_set_epoch(hs->epoch, hs->hot_count, promoted,
                             hs->st.demotions - demoted_before,
                             want_samples);
    hs->epoch++;
}
