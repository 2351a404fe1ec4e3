/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Adaptive dirty tracking for COLO (issue 11): which guest pages stay
 * writable between checkpoints instead of being write-protected.
 *
 * Tracking a page costs a fault on its first write of every epoch (~6 µs
 * on PVM), copying it costs well under 1 µs. A page the guest rewrites in
 * every epoch is cheaper copied blindly than tracked, so such pages form
 * the hot set: never re-protected, treated as dirty at every checkpoint.
 * Everything else (cold) is tracked as before.
 *
 * Per page the tracker keeps a history byte: bit i set = the page was
 * dirty i epochs ago (bit 0: the epoch that just ended). A hot page's
 * history is all ones: it is assumed dirty, since nobody watches it.
 *
 *   cold --dirty in >= 3 of the last 4 epochs, room in the set--> hot
 *   hot  --sampled (tracked for one epoch) and found clean--------> cold
 *   hot  --the set's bound lowered below its size------------------> cold
 *
 * Demotion is found cheaply: each epoch a rotating sample of the hot set
 * (1/16 of it, rounded up) is tracked for that epoch; a sampled page the
 * guest did not write is demoted. A rotation visits every page hot at its
 * start in 16 epochs, so a page that stopped being written goes cold
 * within two rotations, 32 epochs (one if it was not sampled yet in the
 * current one).
 *
 * The rule every caller must keep (a page missing from one checkpoint is
 * lost data on failover): the pages sent at the end of an epoch are the
 * ones the dirty log reported for it, plus every page that was untracked
 * during it (colo_hot_set_untracked() *before* colo_hot_set_end_epoch()).
 * colo_hot_set_end_epoch() then decides the next epoch's sets and says
 * which pages to write-protect for it (colo_hot_set_reprotect()): every
 * page tracked next epoch that was dirty or writable in this one.
 *
 * Not thread-safe: one caller (the COLO checkpoint loop), guest stopped.
 */
#ifndef MIGRATION_COLO_HOT_SET_H
#define MIGRATION_COLO_HOT_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COLO_HOT_PROMOTE_WINDOW     4   /* epochs looked at */
#define COLO_HOT_PROMOTE_MIN        3   /* dirty in that many of them */
#define COLO_HOT_SAMPLE_DIVISOR     16  /* 1/16 of the set sampled per epoch */

typedef struct ColoHotSet ColoHotSet;

typedef struct ColoHotSetStats {
    uint64_t hot_pages;         /* now */
    uint64_t sampled_pages;     /* tracked this coming epoch to judge them */
    uint64_t promotions;        /* since creation */
    uint64_t demotions;
} ColoHotSetStats;

/* npages guest pages (page numbers 0..npages-1), at most max_hot hot. */
ColoHotSet *colo_hot_set_new(uint64_t npages, uint64_t max_hot);
void colo_hot_set_free(ColoHotSet *hs);

/* A new bound (x-colo-hot-max changed); excess hot pages go cold at the
 * next epoch end, and are then in the reprotect set. */
void colo_hot_set_set_max(ColoHotSet *hs, uint64_t max_hot);

/*
 * Pages writable (not tracked) during the current epoch: hot and not
 * sampled. A bitmap of npages bits, valid until the next end_epoch.
 */
const unsigned long *colo_hot_set_untracked(const ColoHotSet *hs);

/*
 * The current epoch ended (guest stopped, its checkpoint taken). logged:
 * the pages the dirty log reported (only tracked pages can be in it).
 * Updates histories, judges the samples, promotes and demotes, picks the
 * next samples.
 */
void colo_hot_set_end_epoch(ColoHotSet *hs, const unsigned long *logged);

/*
 * After end_epoch: the pages to write-protect before the guest runs again
 * (for KVM's manual dirty-log protection: the bits to clear). A bitmap
 * of npages bits, valid until the next end_epoch.
 */
const unsigned long *colo_hot_set_reprotect(const ColoHotSet *hs);

ColoHotSetStats colo_hot_set_stats(const ColoHotSet *hs);

#endif
