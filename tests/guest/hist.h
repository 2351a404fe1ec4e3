/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the latency histogram shared by workload=iops and
 * workload=touch.  Log-linear: exact below 64, then 32 buckets per power
 * of two (3% resolution), up to 2^44 (about 4.9 hours in ns).  The exact
 * maximum is kept beside the buckets, and a percentile never reports more
 * than it: the middle of the top bucket can lie above the largest sample.
 */
#ifndef TG_HIST_H
#define TG_HIST_H

#include "guest.h"

#define HIST_SUB_BITS       5
#define HIST_SUB            (1u << HIST_SUB_BITS)
#define HIST_BUCKETS        (HIST_SUB * 40)

struct hist {
    u64 count;
    u64 max;
    u32 b[HIST_BUCKETS];
};

void hist_add(struct hist *h, u64 v);
/* Nearest rank: the smallest bucket holding pct% of the samples; 0 when empty. */
u64 hist_percentile(const struct hist *h, u32 pct);
/* ns as microseconds with `decimals` (1..3) digits after the point: "12.3us". */
void ln_us(struct line *l, u64 ns, u32 decimals);

#endif
