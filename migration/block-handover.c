/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Disks on shared storage across a migration: which side may write the
 * image, and when it changes hands (block/activation.h has the node
 * states; docs/migration.md, "Disks on shared storage", the user's view).
 *
 *   source                                  destination
 *   guest runs, nodes active                -incoming: nodes inactive
 *   (strict: pre-flush, guest running)      (opened so, or inactivated)
 *   stop; devices captured (drained)
 *   flush + inactivate (timed: the
 *     strict deadline reserves for it)
 *   END/EOF, or postcopy-run --------->     load ends
 *                                           activate (qcow2 reloads its
 *                                           tables), then vCPUs; with
 *                                           late-block-activate and -S
 *                                           only at `cont`
 *   guest resumes here instead (failed,
 *   cancelled, strict abort): activate
 *   first; `cont` after completion too
 *
 * The destination never activates before the source's last flush: the
 * flush comes before the EOF (or postcopy-run) that ends its load. A
 * failed incoming migration exits without activating (the source still
 * owns the image). COLO keeps both sides' images their own: the primary
 * runs on, nothing is handed over.
 *
 * Which nodes: every node of the process, or for a test that runs both
 * sides in one process, the roots each migration object names
 * (migration_set_block_nodes). BQL held throughout, but for the
 * pre-flush (see there).
 */
#include "migration-internal.h"
#include "block/activation.h"
#include "block/block.h"
#include "util/main-loop.h"
#include "trace.h"

void migration_set_block_nodes(MigrationState *s, const char *const *nodes)
{
    g_strfreev(s->block.nodes);
    s->block.nodes = nodes ? g_strdupv((char **)nodes) : NULL;
}

static bool block_set_active(MigrationState *s, bool active, Error **errp)
{
    if (!s->block.nodes) {
        return active ? bdrv_activate_all(errp) : bdrv_inactivate_all(errp);
    }
    for (char **n = s->block.nodes; *n; n++) {
        BlockDriverState *bs = bdrv_find_node(*n);

        if (!bs) {
            continue;   /* deleted meanwhile: nothing to hand over */
        }
        if (!(active ? bdrv_activate(bs, errp) : bdrv_inactivate(bs, errp))) {
            return false;
        }
    }
    return true;
}

static bool block_hands_over(MigrationState *s)
{
    return !migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_COLO);
}

static void preflush_hold(GPtrArray *nodes)
{
    BQL_LOCK_GUARD();

    for (BlockDriverState *bs = bdrv_next_node(NULL); bs;
         bs = bdrv_next_node(bs)) {
        bdrv_ref(bs);
        g_ptr_array_add(nodes, bs);
    }
}

static void preflush_release(GPtrArray *nodes)
{
    BQL_LOCK_GUARD();

    for (guint i = 0; i < nodes->len; i++) {
        bdrv_unref(g_ptr_array_index(nodes, i));
    }
}

void migration_block_preflush(MigrationState *s)
{
    g_autoptr(GPtrArray) nodes = g_ptr_array_new();
    int64_t t0;

    if (!block_hands_over(s)) {
        return;
    }
    /* The nodes are held while flushed without the BQL: the guest's
     * backlog may take seconds, and the monitor must answer meanwhile
     * (a blockdev-del then finds its node in use, and may retry). */
    preflush_hold(nodes);
    t0 = migration_now_us();
    for (guint i = 0; i < nodes->len; i++) {
        /* Errors show again, and count, in the switchover's flush. */
        bdrv_flush(g_ptr_array_index(nodes, i), NULL);
    }
    /* Until a switchover flush was measured, this one (with the guest's
     * whole backlog) stands in for it: the reserve errs long. */
    if (!s->block.flush_budget.n) {
        switchover_budget_add_go(&s->block.flush_budget,
                                 migration_now_us() - t0);
    }
    trace_migration_block_preflush(migration_now_us() - t0);
    preflush_release(nodes);
}

bool migration_block_inactivate(MigrationState *s, Error **errp)
{
    int64_t t0 = migration_now_us();

    if (!block_hands_over(s)) {
        return true;
    }
    /* From here a failure or the guest resuming here must take the
     * images back, even those this call did not reach. */
    s->block.inactive = true;
    if (!block_set_active(s, false, errp)) {
        error_prepend(errp, "cannot hand the disks over: ");
        return false;
    }
    s->block.flush_us = migration_now_us() - t0;
    switchover_budget_add_go(&s->block.flush_budget, s->block.flush_us);
    trace_migration_block_inactivate(s->block.flush_us);
    return true;
}

int64_t migration_block_flush_reserve_us(MigrationState *s)
{
    return block_hands_over(s) ?
           switchover_budget_reserve_us(&s->block.flush_budget) : 0;
}

void migration_block_reactivate(MigrationState *s)
{
    Error *err = NULL;

    if (!s->block.inactive) {
        return;
    }
    if (!block_set_active(s, true, &err)) {
        /* The guest resumes all the same; its disk reports the errors. */
        error_report("taking the disks back after the migration failed: "
                     "%s", error_get_pretty(err));
        error_free(err);
        return;
    }
    s->block.inactive = false;
    trace_migration_block_reactivate();
}

bool migration_block_incoming_init(MigrationState *s, Error **errp)
{
    bdrv_set_open_inactive(true);
    return block_set_active(s, false, errp);
}

bool migration_block_incoming_activate(MigrationState *s, bool autostart)
{
    Error *err = NULL;

    if (!autostart &&
        migrate_cap(&s->opts, MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE)) {
        trace_migration_block_activate("deferred to cont");
        return true;
    }
    if (!s->block.nodes) {
        bdrv_set_open_inactive(false);
    }
    if (!block_set_active(s, true, &err)) {
        error_report("the migrated guest stays paused: %s",
                     error_get_pretty(err));
        error_free(err);
        return false;
    }
    trace_migration_block_activate("done");
    return true;
}
