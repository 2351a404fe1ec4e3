/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO's QMP commands (x-colo-lost-heartbeat, query-colo-status, and
 * Tandem's query-colo-stats and x-colo-do-checkpoint). yank, which COLO
 * runbooks use on a hung peer, is monitor/qmp-yank.c.
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
    return colo_query_stats(colo_current());
}

void qmp_x_colo_do_checkpoint(Error **errp)
{
    if (!colo_checkpoint_trigger(COLO_TRIGGER_REQUEST)) {
        error_setg(errp, "x-colo-do-checkpoint: this VMM is not a COLO "
                   "primary (query-colo-status tells its mode)");
    }
}
