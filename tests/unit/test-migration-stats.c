/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the figures query-migrate reports (migration/migration.c).
 * A migration that finished inside its first bandwidth window used to
 * report mbps 0: the figure must come from what was sent and how long it
 * took, however short.
 */
#include <glib.h>
#include "migration/migration.h"

static void test_mbps_plain(void)
{
    /* 125 MB in one second is 1000 Mbit/s. */
    g_assert_cmpfloat_with_epsilon(migration_mbps(125000000, 1000000),
                                   1000.0, 1e-9);
    /* 1 MiB in 2 ms. */
    g_assert_cmpfloat_with_epsilon(migration_mbps(1 << 20, 2000),
                                   (double)(1 << 20) * 8 / 2000, 1e-9);
}

static void test_mbps_fast_transfer_is_not_zero(void)
{
    /* A 600 KiB stream sent within the clock's resolution. */
    g_assert_cmpfloat(migration_mbps(600 * 1024, 0), >, 0.0);
    g_assert_cmpfloat(migration_mbps(600 * 1024, -3), >, 0.0);
    g_assert_cmpfloat(migration_mbps(1, 1), >, 0.0);
}

static void test_mbps_nothing_sent(void)
{
    g_assert_cmpfloat(migration_mbps(0, 1000), ==, 0.0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration-stats/mbps/plain", test_mbps_plain);
    g_test_add_func("/migration-stats/mbps/fast-transfer",
                    test_mbps_fast_transfer_is_not_zero);
    g_test_add_func("/migration-stats/mbps/nothing-sent",
                    test_mbps_nothing_sent);
    return g_test_run();
}
