/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the figures query-migrate reports (migration/migration.c).
 * A migration that finished inside its first bandwidth window used to
 * report mbps 0: the figure must come from what was sent and how long it
 * took, however short. Also: two migration objects in one process share
 * nothing (options, incoming side, COLO state and stats).
 */
#include <glib.h>
#include "migration/migration.h"
#include "../../migration/migration-internal.h"
#include "../../migration/colo-internal.h"

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

static void test_two_objects(void)
{
    MigrationState *a = migration_new();
    MigrationState *b = migration_new();
    MigrationCapabilityStatus cap = {
        .capability = MIGRATION_CAPABILITY_X_COLO, .state = true,
    };

    g_assert_true(a->incoming != b->incoming);
    g_assert_true(a->colo != b->colo);
    __atomic_store_n(&a->opts.caps[cap.capability], cap.state,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&a->opts.downtime_limit, 42, __ATOMIC_RELAXED);
    g_assert_true(migrate_cap(&a->opts, MIGRATION_CAPABILITY_X_COLO));
    g_assert_false(migrate_cap(&b->opts, MIGRATION_CAPABILITY_X_COLO));
    g_assert_cmpuint(migrate_downtime_limit_ms(&b->opts), ==,
                     MIGRATION_DEFAULT_DOWNTIME_MS);

    colo_run_begin(a->colo, COLO_MODE_PRIMARY, NULL, NULL);
    colo_stats_record(&a->colo->stats, 1000, 3, 3 * 4096,
                      COLO_TRIGGER_PERIODIC);
    g_assert_cmpint(colo_state_mode(a->colo), ==, COLO_MODE_PRIMARY);
    g_assert_cmpint(colo_state_mode(b->colo), ==, COLO_MODE_NONE);
    g_assert_cmpint(colo_failover_state(b->colo), ==, FAILOVER_STATUS_NONE);
    {
        g_autoptr(ColoStats) sa = colo_stats_query(&a->colo->stats,
                                                   COLO_MODE_PRIMARY);
        g_autoptr(ColoStats) sb = colo_stats_query(&b->colo->stats,
                                                   COLO_MODE_NONE);

        g_assert_cmpuint(sa->checkpoints, ==, 1);
        g_assert_cmpuint(sb->checkpoints, ==, 0);
    }
    g_assert_false(migration_is_active(a));
    migration_free(a);
    migration_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration-stats/mbps/plain", test_mbps_plain);
    g_test_add_func("/migration-stats/mbps/fast-transfer",
                    test_mbps_fast_transfer_is_not_zero);
    g_test_add_func("/migration-stats/mbps/nothing-sent",
                    test_mbps_nothing_sent);
    g_test_add_func("/migration-stats/two-objects", test_two_objects);
    return g_test_run();
}
