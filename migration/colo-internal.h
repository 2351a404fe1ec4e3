/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the COLO files share: colo.c (mode, failover state machine,
 * notifiers, the wake-up fd, COLO_EXIT), colo-stats.c (figures),
 * colo-primary.c and colo-secondary.c (the two checkpoint loops) and
 * colo-qmp.c (commands).
 *
 * Failover state machine (QAPI FailoverStatus; every change traced):
 *
 *   none --x-colo-lost-heartbeat, or the loop lost its peer--> require
 *   require --landed while the secondary holds a checkpoint in flight
 *             (between checkpoint-request and vmstate-loaded)--> relaunch
 *   require|relaunch --the side's COLO thread takes it--> active
 *   active --guest runs unprotected here, COLO_EXIT sent--> completed
 *   completed --the next COLO run starts--> none
 *
 * The request (none -> require, require -> relaunch) happens under the
 * state lock, so it sees the secondary's checkpoint phase consistently;
 * only the COLO thread moves on to active and completed.
 */
#ifndef MIGRATION_COLO_INTERNAL_H
#define MIGRATION_COLO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "migration/colo.h"
#include "migration/colo-message.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "util/error.h"

/* A peer silent this long in the middle of a checkpoint is lost. */
#define COLO_PEER_TIMEOUT_MS        5000
/* Largest device-state blob a secondary accepts. */
#define COLO_MAX_DEVICE_BLOB        (256u << 20)

/* ---- colo.c ---- */

/* Unblocks the side's COLO thread for a failover (shuts its sockets). */
typedef void ColoKickFn(void *opaque);

/* A COLO run begins on this side: failover none, mode set, stats reset. */
void colo_run_begin(COLOMode mode, ColoKickFn *kick, void *opaque);
/*
 * The run ends (the guest runs unprotected here): failover -> completed,
 * mode none, last-mode and reason recorded, COLO_EXIT sent. by_peer_loss:
 * the primary left COLO by itself; one x-colo-lost-heartbeat may still
 * acknowledge it.
 */
void colo_run_end(COLOExitReason reason, bool by_peer_loss);

FailoverStatus colo_failover_state(void);
/* old -> next if still old; traced. */
bool colo_failover_move(FailoverStatus old, FailoverStatus next);
/*
 * none -> require (and -> relaunch while the secondary holds a checkpoint
 * in flight), then kick the COLO thread unless relaunch. by_command: the
 * x-colo-lost-heartbeat path (errors when COLO is not active or a
 * failover is already under way); otherwise the loop itself noticed the
 * peer is gone.
 */
bool colo_failover_request(bool by_command, Error **errp);
/*
 * Secondary: a checkpoint is in flight (true from checkpoint-request to
 * vmstate-loaded). Leaving returns true when a failover was requested
 * meanwhile (relaunch) and must run now.
 */
void colo_checkpoint_phase_enter(void);
bool colo_checkpoint_phase_leave(void);

/* The wake-up the COLO loops poll: triggers, failover, delay change. */
int colo_wake_fd(void);
void colo_wake(void);
/* Drains the wake fd; returns the triggers requested since the last take
 * (bit i set: ColoTrigger i). */
unsigned colo_take_triggers(void);
/* Process exit: set and the loops leave at their next check. */
bool colo_quitting(void);
void colo_begin_quit(void);

COLOStatus *colo_query_status(void);
/* Sends and flushes msg (no value); traced; errors name the message. */
bool colo_send(QEMUFile *f, ColoMessage msg, Error **errp);
/* err's message without a leading "COLO: ", for messages that say COLO
 * already; "connection ended" without an error. */
const char *colo_error_reason(Error *err);

/* ---- colo-stats.c ---- */

void colo_stats_reset(COLOMode mode);
/* One completed checkpoint; why: COLO_TRIGGER__MAX on the secondary. */
void colo_stats_record(int64_t pause_us, uint64_t pages, uint64_t bytes,
                       ColoTrigger why);
ColoStats *colo_stats_query(void);

/* ---- colo-primary.c (migration thread) / colo-secondary.c ---- */

/* Primary: kept out of migration-internal.h's users. */
struct MigrationState;
/* After the initial switchover: runs COLO until failover. The guest is
 * stopped on entry and runs on return. False: the error is recorded in s. */
bool colo_primary_run(struct MigrationState *s);

/*
 * Secondary, on the incoming thread once the initial migration loaded
 * (BQL held on entry and on return): runs COLO until failover. False:
 * COLO could not start (*errp set; the VM was not started).
 */
struct MigrationIncoming;
bool colo_secondary_run(struct MigrationIncoming *mis, SaveVMState *vs,
                        QEMUFile *from_pvm, int sock_fd, int rp_fd,
                        Error **errp);

#endif
