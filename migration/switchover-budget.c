/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The strict switchover's reserve for the go (switchover-budget.h).
 *
 * Why a distribution: the reserve used to be the last go's duration. One
 * quick go on a quiet host then made the next deadline too tight when the
 * host got busy (issue 10: with two busy VMs beside, 5 of 10 strict
 * migrations overran a 10 ms limit). The go is short and its duration is
 * dominated by scheduling on both hosts, so its tail matters, not its
 * typical value.
 *
 * The rule: the largest go of the last SWITCHOVER_BUDGET_WINDOW, plus a
 * quarter of it. With 32 samples the largest is about the 97th
 * percentile; the quarter covers a tail a little longer than the window
 * saw. Until SWITCHOVER_BUDGET_MIN_SAMPLES were seen the reserve is never
 * below SWITCHOVER_BUDGET_DEFAULT_US. And a go cannot be shorter than a
 * round trip to the destination: the ping/pong of the attempt itself,
 * measured just before the go, tracks a link that got slower since the
 * history was made, so the reserve is at least twice that round trip.
 *
 * Erring long costs an aborted attempt (the guest resumes and the
 * migration tries again with less to send); erring short breaks the
 * promise. The rule errs long.
 */
#include <glib.h>
#include "migration/switchover-budget.h"

void switchover_budget_add_go(SwitchoverBudget *b, int64_t go_us)
{
    b->go_us[b->next] = MAX(go_us, 0);
    b->next = (b->next + 1) % SWITCHOVER_BUDGET_WINDOW;
    b->n = MIN(b->n + 1, SWITCHOVER_BUDGET_WINDOW);
}

int64_t switchover_budget_reserve_us(const SwitchoverBudget *b)
{
    int64_t largest = 0;

    for (unsigned i = 0; i < b->n; i++) {
        largest = MAX(largest, b->go_us[i]);
    }
    return largest + largest / 4;
}

int64_t switchover_budget_go_us(const SwitchoverBudget *b, int64_t rtt_us)
{
    int64_t reserve = switchover_budget_reserve_us(b);

    if (b->n < SWITCHOVER_BUDGET_MIN_SAMPLES) {
        reserve = MAX(reserve, SWITCHOVER_BUDGET_DEFAULT_US);
    }
    return MAX(reserve, 2 * MAX(rtt_us, 0));
}
