/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the latency histogram (see hist.h).  Samples are
 * added in the hot loop, so hist_add() is a few shifts and no division;
 * percentiles walk the buckets once a second.
 */
#include "hist.h"

static u32 bucket(u64 v)
{
    u32 msb, shift, idx;

    if (v < 2 * HIST_SUB) {
        return (u32)v;
    }
    msb = 63 - (u32)__builtin_clzll(v);
    shift = msb - HIST_SUB_BITS;
    idx = (shift + 1) * HIST_SUB + (u32)((v >> shift) & (HIST_SUB - 1));
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The middle of bucket idx, in the histogram's unit. */
static u64 bucket_value(u32 idx)
{
    u32 shift;

    if (idx < 2 * HIST_SUB) {
        return idx;
    }
    shift = idx / HIST_SUB - 1;
    return ((u64)(HIST_SUB + idx % HIST_SUB) << shift) + ((1ULL << shift) >> 1);
}

void hist_add(struct hist *h, u64 v)
{
    h->b[bucket(v)]++;
    h->count++;
    if (v > h->max) {
        h->max = v;
    }
}

u64 hist_percentile(const struct hist *h, u32 pct)
{
    u64 want = (h->count * pct + 99) / 100, seen = 0;
    u32 i;

    for (i = 0; i < HIST_BUCKETS && want; i++) {
        seen += h->b[i];
        if (seen >= want) {
            u64 v = bucket_value(i);

            return v < h->max ? v : h->max;
        }
    }
    return 0;
}

void ln_us(struct line *l, u64 ns, u32 decimals)
{
    u64 div = 1000, frac;

    ln_dec(l, ns / 1000);
    ln_str(l, ".");
    frac = ns % 1000;
    while (decimals-- && div > 1) {
        div /= 10;
        ln_dec(l, frac / div % 10);
    }
    ln_str(l, "us");
}
