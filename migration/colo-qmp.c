/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO's QMP commands (x-colo-lost-heartbeat, query-colo-status, and
 * Tandem's query-colo-stats and x-colo-do-checkpoint) and yank, whose one
 * instance Tandem has is the migration's connections.
 */
#include "colo-internal.h"
#include "migration-internal.h"
#include "qapi/qapi-commands.h"

void qmp_x_colo_lost_heartbeat(Error **errp)
{
    colo_failover_request(colo_current(), true, errp);
}

COLOStatus *qmp_query_colo_status(Error **errp)
{
    return colo_query_status(colo_current());
}

ColoStats *qmp_query_colo_stats(Error **errp)
{
    ColoState *c = colo_current();

    return colo_stats_query(&c->stats, colo_state_mode(c));
}

void qmp_x_colo_do_checkpoint(Error **errp)
{
    if (!colo_checkpoint_trigger(COLO_TRIGGER_REQUEST)) {
        error_setg(errp, "x-colo-do-checkpoint: this VMM is not a COLO "
                   "primary (query-colo-status tells its mode)");
    }
}

/* ---- yank ---- */

static bool yank_migration_exists(void)
{
    return migration_has_connection() || migration_incoming_has_connection();
}

void qmp_yank(YankInstanceList *instances, Error **errp)
{
    /* All must exist before anything is yanked. */
    for (YankInstanceList *l = instances; l; l = l->next) {
        switch (l->value->type) {
        case YANK_INSTANCE_TYPE_MIGRATION:
            if (!yank_migration_exists()) {
                error_setg(errp, "Instance 'migration' not found: no "
                           "migration connection is open");
                return;
            }
            break;
        case YANK_INSTANCE_TYPE_CHARDEV:
            error_setg(errp, "Instance 'chardev' '%s' not found (Tandem "
                       "yanks only migration connections)",
                       l->value->u.chardev.id);
            return;
        case YANK_INSTANCE_TYPE_BLOCK_NODE:
            error_setg(errp, "Instance 'block-node' '%s' not found (Tandem "
                       "yanks only migration connections)",
                       l->value->u.block_node.node_name);
            return;
        default:
            error_setg(errp, "unknown yank instance type");
            return;
        }
    }
    for (YankInstanceList *l = instances; l; l = l->next) {
        if (l->value->type == YANK_INSTANCE_TYPE_MIGRATION) {
            migration_yank();
            migration_incoming_yank();
        }
    }
}

YankInstanceList *qmp_query_yank(Error **errp)
{
    YankInstanceList *l;

    if (!yank_migration_exists()) {
        return NULL;
    }
    l = g_new0(YankInstanceList, 1);
    l->value = g_new0(YankInstance, 1);
    l->value->type = YANK_INSTANCE_TYPE_MIGRATION;
    return l;
}
