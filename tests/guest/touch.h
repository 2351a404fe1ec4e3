/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: workload=touch (touch.c) and its options.
 */
#ifndef TG_TOUCH_H
#define TG_TOUCH_H

#include "guest.h"

struct touch_config {
    u32 write_pct;              /* write-pct=: share of accesses that write, 0..100 */
    u64 bg_wss;                 /* bg-dirty=: CPU 1's working set, 0 = none */
};

extern struct touch_config touchcfg;

/* write-pct=, bg-dirty=: true if key is one of them (*ok says if v parsed). */
bool touch_option(const char *key, size_t kn, const char *v, size_t vn, bool *ok);

/* BSP: the workload over [TG_WSS_BASE, TG_WSS_BASE + wss). */
void touch_run(u64 wss) __attribute__((noreturn));

/* CPU 1 with bg-dirty=: rewrites [base, base + touchcfg.bg_wss) forever. */
void touch_bg_dirty(u64 base) __attribute__((noreturn));

#endif
