/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO fault tolerance, as the rest of the VMM sees it.
 *
 * A primary (PVM) and a secondary (SVM) run the same guest. After the
 * initial precopy (migrate with x-colo), the primary checkpoints into the
 * secondary every x-checkpoint-delay ms and whenever something calls
 * colo_checkpoint_trigger() (the network comparison will). The protocol,
 * the rules and the failover state machine are in docs/colo.md; the code
 * is migration/colo*.c.
 *
 * Output and block devices plug in through checkpoint notifiers. Every
 * notifier runs with the BQL held, on the COLO thread of its side, in
 * this order over one COLO run:
 *
 *   START(mode)                  COLO begins (guest about to run in COLO)
 *   primary, per checkpoint:
 *     CHECKPOINT_STOP            guest stopped: what it emitted up to now
 *                                belongs to this checkpoint
 *     CHECKPOINT_RECEIVED        the SVM holds the whole checkpoint: what
 *                                the guest emitted before its STOP may now
 *                                reach the outside world
 *   secondary, per checkpoint:
 *     CHECKPOINT_LOADED          the SVM now equals the PVM at the
 *                                checkpoint: what the SVM emitted since the
 *                                previous one is the PVM's to release
 *   FAILOVER                     COLO ended on this side and this side runs
 *                                the guest unprotected (both sides; also
 *                                when the primary loses the secondary):
 *                                release everything held, pass through
 *
 * A checkpoint that fails before CHECKPOINT_RECEIVED (primary) or
 * CHECKPOINT_LOADED (secondary) sends no further checkpoint event: the
 * next event is FAILOVER.
 */
#ifndef MIGRATION_COLO_H
#define MIGRATION_COLO_H

#include <stdbool.h>
#include <stdint.h>
#include "qapi/qapi-types.h"

typedef enum ColoEvent {
    COLO_EVENT_START,
    COLO_EVENT_CHECKPOINT_STOP,
    COLO_EVENT_CHECKPOINT_RECEIVED,
    COLO_EVENT_CHECKPOINT_LOADED,
    COLO_EVENT_FAILOVER,
} ColoEvent;

const char *colo_event_name(ColoEvent ev);

/* mode: the side it runs on (primary or secondary). BQL held. */
typedef void ColoNotifyFn(ColoEvent ev, COLOMode mode, void *opaque);

/* Registration is for start-up and tear-down (main loop, BQL). */
void colo_notifier_add(ColoNotifyFn *fn, void *opaque);
void colo_notifier_remove(ColoNotifyFn *fn, void *opaque);

/* Runs the notifiers (the COLO loops; tests). BQL held. */
void colo_notify(ColoEvent ev, COLOMode mode);

/*
 * Figures from outside migration/ for query-colo-stats (the colo-compare
 * objects add theirs to ColoStats.compare): fn runs on the main loop,
 * BQL held, each time the stats are queried, in registration order.
 * Registration as for notifiers.
 */
typedef void ColoStatsFn(ColoStats *stats, void *opaque);
void colo_stats_provider_add(ColoStatsFn *fn, void *opaque);
void colo_stats_provider_remove(ColoStatsFn *fn, void *opaque);

/* What asked for a checkpoint (query-colo-stats counts them). */
typedef enum ColoTrigger {
    COLO_TRIGGER_PERIODIC,      /* the x-checkpoint-delay timer */
    COLO_TRIGGER_COMPARE,       /* the network comparison: output diverged */
    COLO_TRIGGER_REQUEST,       /* x-colo-do-checkpoint, held output full */
    COLO_TRIGGER__MAX,
} ColoTrigger;

/*
 * Asks the primary for a checkpoint as soon as the previous one is
 * loaded. Any thread, any lock; requests that arrive before the
 * checkpoint starts are merged into it. Ignored (false) unless this side
 * is a COLO primary.
 */
bool colo_checkpoint_trigger(ColoTrigger why);

/* The current mode (any thread). */
COLOMode colo_mode(void);

#endif
