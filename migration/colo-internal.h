/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the COLO files share: colo.c (mode, failover state machine,
 * notifiers, the wake-up fd, COLO_EXIT), colo-stats.c (figures),
 * colo-primary.c and colo-secondary.c (the two checkpoint loops) and
 * colo-qmp.c (commands). A side's COLO state and figures are one
 * ColoState, a member of the migration object; the functions here take
 * it, and the public ones of migration/colo.h work on the process's
 * (colo_current()).
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
#include <sys/time.h>
#include <glib.h>
#include "migration/colo.h"
#include "migration/colo-message.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "util/error.h"

/* A peer silent for x-colo-peer-timeout in the middle of a checkpoint is
 * lost: its default and bounds (ms). */
#define COLO_DEFAULT_PEER_TIMEOUT_MS    5000
#define COLO_MIN_PEER_TIMEOUT_MS        100
#define COLO_MAX_PEER_TIMEOUT_MS        3600000
/* ms as a socket timeout (SO_RCVTIMEO / SO_SNDTIMEO). */
static inline struct timeval colo_timeval(uint32_t ms)
{
    return (struct timeval) {
        .tv_sec = ms / 1000,
        .tv_usec = (ms % 1000) * 1000,
    };
}

/* Largest device-state blob a secondary accepts. */
#define COLO_MAX_DEVICE_BLOB        (256u << 20)

/* ---- colo-stats.c: the figures of query-colo-stats ---- */

#define COLO_STATS_WINDOW 1024

typedef struct ColoCheckpointStats {
    GMutex lock;
    COLOMode mode;
    uint64_t checkpoints;
    int64_t last_pause_us;
    int64_t max_pause_us;
    uint64_t last_pages;
    uint64_t last_bytes;
    uint64_t by_trigger[COLO_TRIGGER__MAX];
    int64_t window[COLO_STATS_WINDOW];  /* pauses, most recent ones */
    unsigned window_len;
    unsigned window_next;
} ColoCheckpointStats;

void colo_stats_init(ColoCheckpointStats *st);
void colo_stats_destroy(ColoCheckpointStats *st);
void colo_stats_reset(ColoCheckpointStats *st, COLOMode mode);
/* One completed checkpoint; why: COLO_TRIGGER__MAX on the secondary. */
void colo_stats_record(ColoCheckpointStats *st, int64_t pause_us,
                       uint64_t pages, uint64_t bytes, ColoTrigger why);
/* current: the side's mode now (none once the run ended). */
ColoStats *colo_stats_query(ColoCheckpointStats *st, COLOMode current);

/* ---- colo.c ---- */

/* Unblocks the side's COLO thread for a failover (shuts its sockets). */
typedef void ColoKickFn(void *opaque);

typedef struct ColoNotifier {
    ColoNotifyFn *fn;
    void *opaque;
} ColoNotifier;

typedef struct ColoStatsProvider {
    ColoStatsFn *fn;
    void *opaque;
} ColoStatsProvider;

/* One side's COLO: a member of the migration object. */
typedef struct ColoState {
    GMutex lock;
    int mode;                   /* COLOMode, atomic */
    int last_mode;              /* (lock) */
    int reason;                 /* COLOExitReason of the last run (lock) */
    int failover;               /* FailoverStatus, atomic */
    bool unacked_peer_loss;     /* (lock) see colo_run_end */
    bool loop_failover;         /* (lock) this run's loop asked itself */
    bool loss_acked;            /* (lock) ...and a command acknowledged it */
    bool in_checkpoint;         /* (lock) secondary */
    bool peer_lost;             /* (lock) this run lost its peer */
    char *peer_lost_error;      /* (lock) why, while peer_lost */
    ColoKickFn *kick;           /* (lock) */
    void *kick_opaque;
    unsigned triggers;          /* atomic: bit per ColoTrigger */
    bool quitting;              /* atomic */
    int wake_fd;                /* (lock) created on first use */
    GArray *notifiers;          /* ColoNotifier; BQL */
    GArray *stats_providers;    /* ColoStatsProvider; BQL */
    ColoCheckpointStats stats;
} ColoState;

ColoState *colo_state_new(void);
void colo_state_free(ColoState *c);
/* The process's (migration_current()'s): what colo.h's functions use. */
ColoState *colo_current(void);
COLOMode colo_state_mode(ColoState *c);

/* A COLO run begins on this side: failover none, mode set, stats reset. */
void colo_run_begin(ColoState *c, COLOMode mode, ColoKickFn *kick,
                    void *opaque);
/*
 * The run ends (the guest runs unprotected here): failover -> completed,
 * mode none, last-mode and reason recorded, COLO_EXIT sent. by_peer_loss:
 * the primary left COLO by itself; one x-colo-lost-heartbeat may still
 * acknowledge it.
 */
void colo_run_end(ColoState *c, COLOExitReason reason, bool by_peer_loss);

FailoverStatus colo_failover_state(ColoState *c);
/* old -> next if still old; traced. */
bool colo_failover_move(ColoState *c, FailoverStatus old,
                        FailoverStatus next);
/*
 * none -> require (and -> relaunch while the secondary holds a checkpoint
 * in flight), then kick the COLO thread unless relaunch. by_command: the
 * x-colo-lost-heartbeat path (errors when COLO is not active or a
 * failover is already under way); otherwise the loop itself noticed the
 * peer is gone.
 */
bool colo_failover_request(ColoState *c, bool by_command, Error **errp);
/*
 * Secondary: a checkpoint is in flight (true from checkpoint-request to
 * vmstate-loaded). Leaving returns true when a failover was requested
 * meanwhile (relaunch) and must run now.
 */
void colo_checkpoint_phase_enter(ColoState *c);
bool colo_checkpoint_phase_leave(ColoState *c);

/* The wake-up the COLO loops poll: triggers, failover, delay change. */
int colo_wake_fd(ColoState *c);
void colo_wake(ColoState *c);
/* Drains the wake fd; returns the triggers requested since the last take
 * (bit i set: ColoTrigger i). */
unsigned colo_take_triggers(ColoState *c);
/* Process exit: set and the loops leave at their next check. */
bool colo_quitting(ColoState *c);
void colo_begin_quit(ColoState *c);

/*
 * The side's loop declared its peer lost (why: the reason, without a
 * leading "COLO: "): recorded for query-colo-status until the next run
 * begins, X_COLO_PEER_LOST sent. The stderr line is the caller's.
 */
void colo_peer_lost(ColoState *c, const char *why);
/*
 * The COLO_EXIT reason of a failover that runs now: error when this run
 * lost its peer before the failover was requested (QEMU reports error
 * there too) or the process is quitting; request otherwise.
 */
COLOExitReason colo_failover_exit_reason(ColoState *c);

COLOStatus *colo_query_status(ColoState *c);
/* query-colo-stats: the checkpoint figures, then the providers'. */
ColoStats *colo_query_stats(ColoState *c);
/* err's message without a leading "COLO: ", for messages that say COLO
 * already; "connection ended" without an error. */
const char *colo_error_reason(Error *err);

/* ---- colo-primary.c (migration thread) / colo-secondary.c ---- */

/* Primary: kept out of migration-internal.h's users. */
struct MigrationState;
/* After the initial switchover: runs COLO until failover, whatever ends
 * it (a lost secondary, a failover command, quit); the status goes
 * active -> colo, and the migration completes on return. The guest is
 * stopped on entry and runs on return. */
void colo_primary_run(struct MigrationState *s);

/*
 * Secondary, on the incoming thread once the initial migration loaded
 * (BQL held on entry and on return, dropped in between): runs COLO until
 * failover. False: COLO could not start (*errp set; the VM was not
 * started), and the destination exits as for any failed migration. Once
 * COLO started it returns true whatever the primary sent: a bad
 * checkpoint is never a reason for the secondary to exit (the exit rule,
 * migration-incoming.c and docs/migration.md).
 */
struct MigrationIncoming;
bool colo_secondary_run(struct MigrationIncoming *mis, ColoState *colo,
                        SaveVMState *vs,
                        QEMUFile *from_pvm, int sock_fd, int rp_fd,
                        Error **errp);

#endif
