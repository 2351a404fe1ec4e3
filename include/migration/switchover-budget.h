/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The time a strict switchover keeps in reserve for its last step, the
 * go (END + EOF sent, the destination's load ends and its vCPUs start,
 * "resumed" back): learned from the distribution of the go steps seen so
 * far, not from the last one, and never below what the round trip just
 * measured implies. See switchover-budget.c for the rule and why.
 *
 * Used by the migration thread only (it runs the switchover).
 */
#ifndef MIGRATION_SWITCHOVER_BUDGET_H
#define MIGRATION_SWITCHOVER_BUDGET_H

#include <stdint.h>

#define SWITCHOVER_BUDGET_WINDOW        32      /* go steps remembered */
#define SWITCHOVER_BUDGET_MIN_SAMPLES   4       /* before trusting them */
#define SWITCHOVER_BUDGET_DEFAULT_US    2000    /* until then, at least */

typedef struct SwitchoverBudget {
    int64_t go_us[SWITCHOVER_BUDGET_WINDOW];    /* a ring */
    unsigned n;                 /* samples held, <= WINDOW */
    unsigned next;              /* where the next one goes */
} SwitchoverBudget;

/* A go step took go_us (go sent -> "resumed" received). */
void switchover_budget_add_go(SwitchoverBudget *b, int64_t go_us);

/* The reserve for the next go, in microseconds; rtt_us is the round trip
 * just measured to the destination (ping -> pong), 0 when none yet. */
int64_t switchover_budget_go_us(const SwitchoverBudget *b, int64_t rtt_us);

/* The same rule for another step of the switchover (the block flush):
 * largest sample plus a quarter, no floor; 0 without samples. */
int64_t switchover_budget_reserve_us(const SwitchoverBudget *b);

#endif
