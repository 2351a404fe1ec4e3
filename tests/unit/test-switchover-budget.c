/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The strict switchover's reserve for the go (migration/switchover-
 * budget.c): it follows the tail of the go steps seen, not the last one;
 * it has a floor until enough were seen; it forgets what left the
 * window; and a slow round trip raises it. The same rule without the
 * floor reserves for the disks' flush.
 */
#include <glib.h>
#include "migration/switchover-budget.h"

static void add_all(SwitchoverBudget *b, const int64_t *go, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        switchover_budget_add_go(b, go[i]);
    }
}

static void test_default_until_enough(void)
{
    SwitchoverBudget b = { 0 };
    static const int64_t quick[] = { 300, 250, 280 };

    g_assert_cmpint(switchover_budget_go_us(&b, 0), ==,
                    SWITCHOVER_BUDGET_DEFAULT_US);
    add_all(&b, quick, G_N_ELEMENTS(quick));
    g_assert_cmpint(switchover_budget_go_us(&b, 0), ==,
                    SWITCHOVER_BUDGET_DEFAULT_US);
    switchover_budget_add_go(&b, 200);      /* the 4th: trusted now */
    g_assert_cmpint(switchover_budget_go_us(&b, 0), ==, 300 + 300 / 4);
}

/* One slow go among quick ones sets the reserve, whatever came last:
 * the last value (the old rule) would have been 300. */
static void test_tail_not_last(void)
{
    SwitchoverBudget b = { 0 };
    static const int64_t go[] = { 300, 5000, 400, 350, 300 };

    add_all(&b, go, G_N_ELEMENTS(go));
    g_assert_cmpint(switchover_budget_go_us(&b, 0), ==, 5000 + 5000 / 4);
}

/* A slow go is forgotten once the window has moved past it. */
static void test_window_forgets(void)
{
    SwitchoverBudget b = { 0 };

    switchover_budget_add_go(&b, 9000);
    for (unsigned i = 0; i < SWITCHOVER_BUDGET_WINDOW - 1; i++) {
        switchover_budget_add_go(&b, 400);
    }
    g_assert_cmpint(switchover_budget_go_us(&b, 0), ==, 9000 + 9000 / 4);
    switchover_budget_add_go(&b, 400);
    g_assert_cmpint(switchover_budget_go_us(&b, 0), ==, 400 + 400 / 4);
}

/* The go needs a round trip at least: a link slower than the history
 * raises the reserve; a fast one leaves it. */
/* The flush's reserve (block-handover.c): the same tail rule, no floor,
 * nothing without samples (no disk, no reserve). */
static void test_reserve_no_floor(void)
{
    SwitchoverBudget b = { 0 };
    static const int64_t flush[] = { 40, 800, 60 };

    g_assert_cmpint(switchover_budget_reserve_us(&b), ==, 0);
    add_all(&b, flush, G_N_ELEMENTS(flush));
    g_assert_cmpint(switchover_budget_reserve_us(&b), ==, 800 + 800 / 4);
}

static void test_round_trip_floor(void)
{
    SwitchoverBudget b = { 0 };
    static const int64_t go[] = { 400, 420, 390, 410 };

    add_all(&b, go, G_N_ELEMENTS(go));
    g_assert_cmpint(switchover_budget_go_us(&b, 100), ==, 420 + 420 / 4);
    g_assert_cmpint(switchover_budget_go_us(&b, 3000), ==, 6000);
    g_assert_cmpint(switchover_budget_go_us(&b, -5), ==, 420 + 420 / 4);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/switchover-budget/default-until-enough",
                    test_default_until_enough);
    g_test_add_func("/switchover-budget/tail-not-last", test_tail_not_last);
    g_test_add_func("/switchover-budget/window-forgets", test_window_forgets);
    g_test_add_func("/switchover-budget/reserve-no-floor",
                    test_reserve_no_floor);
    g_test_add_func("/switchover-budget/round-trip-floor",
                    test_round_trip_floor);
    return g_test_run();
}
