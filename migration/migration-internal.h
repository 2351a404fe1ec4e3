/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What migration.c (source), switchover.c (the stop-and-copy step and the
 * strict SLA), migration-incoming.c (destination), options.c
 * (capabilities and parameters) and channel-socket.c (transports) share:
 * the migration object, the transports' interface and the return path's
 * message table.
 *
 * Locks: MigrationState.lock guards the members marked (lock), which the
 * migration thread writes and QMP reads. status is an atomic int so that
 * migrate_cancel can read it without the lock. The BQL is taken by the
 * migration thread to stop, save devices and resume.
 *
 * Locks are scoped (BQL_LOCK_GUARD, g_autoptr(GMutexLocker)) except two,
 * taken in one function and released in another (both asserted):
 * - the incoming thread takes the BQL at the switchover-start command
 *   and holds it across further commands and sections until
 *   switchover-abort or the end of the load (MigrationIncoming.bql_held);
 * - colo_secondary_run() is entered and left with the BQL held and drops
 *   it for the checkpoint loop (colo-internal.h).
 */
#ifndef MIGRATION_MIGRATION_INTERNAL_H
#define MIGRATION_MIGRATION_INTERNAL_H

#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include "migration/switchover-budget.h"
#include "migration/migration.h"
#include "migration/postcopy-ram.h"
#include "migration/qemu-file.h"
#include "qapi/qapi-types.h"

/* ---- options.c ---- */

#define MIGRATION_DEFAULT_DOWNTIME_MS   300
#define MIGRATION_MAX_DOWNTIME_MS       2000000
#define MIGRATION_DEFAULT_BANDWIDTH     (128ull << 20)
#define MIGRATION_DEFAULT_CKPT_DELAY_MS 20000
/* Strict SLA: aborted switchovers before the migration fails. */
#define MIGRATION_STRICT_MAX_ABORTS     3
/* x-switchover-resume-timeout: the longest wait, guest stopped and all
 * sent, for the destination's "resumed": default and bounds (ms). */
#define MIGRATION_DEFAULT_RESUME_TIMEOUT_MS 30000
#define MIGRATION_MIN_RESUME_TIMEOUT_MS     100
#define MIGRATION_MAX_RESUME_TIMEOUT_MS     3600000

/*
 * Capabilities and parameters. The migration thread reads them while QMP
 * may change them: each is a single aligned value written and read
 * atomically through the accessors below.
 */
typedef struct MigrationOptions {
    bool caps[MIGRATION_CAPABILITY__MAX];
    /* Set by migrate-set-capabilities at least once (x-stream-checksum's
     * default depends on it). */
    bool caps_set[MIGRATION_CAPABILITY__MAX];
    uint64_t downtime_limit;
    uint64_t max_bandwidth;
    uint64_t max_postcopy_bandwidth;    /* 0: unlimited */
    uint64_t checkpoint_delay;
    uint64_t colo_peer_timeout;
    uint64_t resume_timeout;
    /* announce-initial/-max/-rounds/-step: the announcement a guest that
     * starts here after a migration (or a COLO takeover) makes. */
    uint64_t announce[4];
} MigrationOptions;

/* QEMU's defaults, all capabilities off. */
void migration_options_init(MigrationOptions *o);
/* A capability's effective state; x-stream-checksum that was never set
 * follows x-colo. */
bool migrate_cap(const MigrationOptions *o, MigrationCapability cap);
/* Whether the user set cap (on or off) rather than leaving the default. */
bool migrate_cap_explicit(const MigrationOptions *o, MigrationCapability cap);
uint64_t migrate_downtime_limit_ms(const MigrationOptions *o);
uint64_t migrate_max_bandwidth(const MigrationOptions *o);
/* max-postcopy-bandwidth: the background's rate after the switch. */
uint64_t migrate_max_postcopy_bandwidth(const MigrationOptions *o);
uint64_t migrate_checkpoint_delay_ms(const MigrationOptions *o);
/* x-colo-peer-timeout: the longest wait for the COLO peer (ms). */
uint32_t migrate_colo_peer_timeout_ms(const MigrationOptions *o);
/* x-switchover-resume-timeout (ms). */
uint32_t migrate_resume_timeout_ms(const MigrationOptions *o);
/* The announce-* parameters as announce-self's (interfaces: all). */
void migrate_announce_params(const MigrationOptions *o,
                             AnnounceParameters *p);

/* ---- channel-socket.c: transports ---- */

/*
 * An open transport. fd carries the stream (source writes, destination
 * reads); rp_fd is a dup of a socket fd for the opposite direction (the
 * return path), -1 for pipes and files; child is exec:'s shell.
 */
typedef struct MigrationChannel {
    int fd;
    int rp_fd;
    pid_t child;
} MigrationChannel;

/* Checks the URI's syntax (tcp:, unix:, exec:, file:, fd:). */
/*
 * fd:NAME (a name given with getfd on the QMP monitor running the current
 * command) becomes fd:N with the fd taken from the monitor, and *owned is
 * that fd (the caller closes it once the channel holds its own copy); any
 * other URI is returned as it is, with *owned -1. NULL with errp set for
 * an unknown name.
 */
char *migration_uri_take_named_fd(const char *uri, int *owned, Error **errp);
bool migration_uri_check(const char *uri, Error **errp);
/* Source: connects. Gives up early when *cancel becomes true. */
bool migration_channel_connect(const char *uri, const bool *cancel,
                               MigrationChannel *ch, Error **errp);
/* Unblocks a thread using ch (cancel): shuts sockets down, ends exec:. */
void migration_channel_shutdown(MigrationChannel *ch);
/* Closes what the QEMUFile does not own (rp_fd) and reaps the child. */
void migration_channel_close(MigrationChannel *ch);

/*
 * Destination: tcp: and unix: listen and call fn from the main loop for
 * the first connection; exec:, file: and fd: open at once and call fn
 * before returning. *addrs: where it listens (query-migrate).
 */
typedef void MigrationAcceptFn(MigrationChannel *ch, void *opaque);
bool migration_channel_listen(const char *uri, MigrationAcceptFn *fn,
                              void *opaque, SocketAddressList **addrs,
                              Error **errp);
/*
 * The same for a migration of nconn connections (postcopy-preempt: 2):
 * a tcp: or unix: listener calls fn for each, in the order they came,
 * then stops. It listens in ctx (NULL: the main loop), and fn runs
 * there; *handle (may be NULL) is the listener until then (NULL
 * afterwards), for migration_channel_unlisten(), which must run on the
 * thread that runs ctx.
 */
typedef struct MigListener MigListener;
bool migration_channel_listen_n(const char *uri, unsigned nconn,
                                GMainContext *ctx,
                                MigrationAcceptFn *fn, void *opaque,
                                SocketAddressList **addrs,
                                MigListener **handle, Error **errp);
/* Stops listening (its context's thread). NULL is ignored. */
void migration_channel_unlisten(MigListener *l);

/* ---- the return path (destination -> source) ---- */

/*
 * Wire: be16 type, be16 length, payload. Lengths are exact.
 */
typedef enum MigRpType {
    MIG_RP_INVALID = 0,
    MIG_RP_PONG,        /* be32 ping value, be64 destination us since
                           switchover-start */
    MIG_RP_RESUMED,     /* be64 destination us from switchover-start to
                           its vCPUs running (0: stayed paused, -S) */
    MIG_RP_REQ_PAGES,   /* postcopy: be32 block index, be64 offset, be32
                           length (include/migration/postcopy.h) */
    MIG_RP_SHUT,        /* postcopy: be32 0, the destination read the
                           whole stream (the source may close) */
    MIG_RP_RECV_BITMAP, /* postcopy recovery: be32 block index, be32 word
                           index, be64 received bits of pages 64*word to
                           64*word+63 (bit i: page 64*word+i); only words
                           with a page missing are sent */
    MIG_RP_RECV_BITMAP_END, /* be32 blocks, be32 RECV_BITMAP messages sent
                               (include/migration/postcopy.h) */
    MIG_RP__MAX,
} MigRpType;

typedef struct MigRpInfo {
    const char *name;
    uint16_t len;
} MigRpInfo;

const MigRpInfo *mig_rp_info(unsigned type);

#define MIG_RP_MAX_PAYLOAD 16

typedef struct MigRpMsg {
    uint16_t type;
    uint16_t len;
    uint8_t data[MIG_RP_MAX_PAYLOAD];
} MigRpMsg;

/* A buffered reader on the source's rp_fd; keeps partial messages
 * across timeouts (and across the listener thread handing the return
 * path back to the migration thread). wake_fd: -1, or an eventfd whose
 * readiness ends a wait as a deadline would. */
typedef struct MigRpReader {
    int fd;
    int wake_fd;
    uint8_t buf[4 + MIG_RP_MAX_PAYLOAD];
    size_t have;
} MigRpReader;

/* 1: a message; 0: deadline (monotonic us; 0 = poll once, -1 = none)
 * passed or wake_fd became readable; -1: the peer sent garbage; -2: the
 * connection failed or the peer closed it (*errp set for both). */
int mig_rp_read(MigRpReader *r, int64_t deadline_us, MigRpMsg *msg,
                Error **errp);
bool mig_rp_send(int fd, MigRpType type, const void *data, Error **errp);
uint64_t mig_be64(const uint8_t *p);
uint32_t mig_be32(const uint8_t *p);
void mig_put_be64(uint8_t *p, uint64_t v);
void mig_put_be32(uint8_t *p, uint32_t v);

/* ---- migration.c: the source ---- */

typedef struct MigrationIncoming MigrationIncoming;

/* pause-before-switchover's wait (switchover-pause.c). */
typedef struct SwitchoverPause {
    GMutex lock;
    GCond cond;
    bool go;                    /* (lock) migrate-continue said so */
} SwitchoverPause;

typedef struct MigrationState {
    MigrationOptions opts;      /* options.c; set by QMP, read anywhere */
    MigrationIncoming *incoming;    /* the destination side */
    struct ColoState *colo;         /* COLO, on either side */
    struct DirtyRate *dirty_rate;   /* calc-dirty-rate's measurement */
    GPtrArray *blockers;        /* BQL: reasons migrate is refused */
    int status;                 /* MigrationStatus, atomic */
    pthread_t thread;
    bool thread_running;        /* main loop only */
    bool cancel;                /* atomic: migrate_cancel asked */
    char *uri;
    int uri_owned_fd;           /* fd:NAME's fd, closed once connected */
    SaveVMState *vmstate;       /* what is migrated (owned; both sides) */
    MigrationChannel ch;
    QEMUFile *to_dst;
    /* postcopy-preempt: the second connection (requested pages). */
    MigrationChannel pch;
    QEMUFile *to_dst_preempt;
    MigRpReader rp;
    bool has_rp;
    /* The return-path listener (return-path.c): started and stopped by
     * the migration thread; while it runs it alone reads rp. */
    pthread_t rp_thread;
    bool rp_listening;          /* migration thread only */
    bool rp_stopping;           /* atomic */
    bool rp_failed;             /* atomic: it failed the migration */
    bool cut;                   /* atomic: migration_cut() ran (yank) */
    bool was_running;           /* guest ran when the migration started */
    /* Postcopy (switchover.c, return-path.c): */
    bool start_postcopy;        /* atomic: migrate-start-postcopy was
                                   issued; cleared when a migration ends */
    bool postcopy_run_sent;     /* atomic: postcopy-run went out, the
                                   guest may run on the destination; this
                                   side's guest must never resume */
    int64_t postcopy_stop_us;   /* when the switch stopped the guest */
    int64_t postcopy_shut;      /* atomic: the destination's "shut" read
                                   by the listener: its status + 1 */
    SwitchoverPause pause;      /* pause-before-switchover */
    /* Postcopy recovery (migration.c): in postcopy-paused the thread
     * waits for migrate with resume, which hands it the new URI (in
     * uri and uri_owned_fd, under lock). */
    GCond resume_cond;          /* (lock) resume or pause_quit */
    bool resume;                /* (lock) migrate resume=true came */
    bool pause_quit;            /* (lock) process exit: stop waiting */

    GMutex lock;
    /* (lock) */
    Error *error;
    int64_t start_us, setup_us, end_us;
    int64_t downtime_ms;        /* -1 until completed */
    int64_t expected_downtime_ms;
    double mbps;
    int64_t strict_aborts;
    int64_t strict_last_overrun_ms;
    bool postcopy_resumed;      /* the destination's "resumed" came */

    /* migration thread only */
    uint64_t bandwidth;         /* bytes/s, measured */
    uint64_t switchover_bandwidth;  /* unthrottled, measured while busy */
    int64_t learned_fixed_us;   /* device state + teardown, last switchover */
    /* strict: the go steps seen (migration thread), and the reserve
     * they give, for the return-path thread's late-pong figure. */
    SwitchoverBudget go_budget;
    int64_t go_reserve_us;
    uint64_t last_sync_count;
    uint32_t strict_attempt;
    int64_t strict_stop_us;     /* t_stop of the last aborted attempt */
    /* atomic: the pong of the strict postcopy switch's attempt, taken by
     * the listener (switchover-postcopy.c): the attempt, 0 until then */
    uint32_t pc_strict_pong;
    /* Disks on shared storage (block-handover.c), BQL. */
    struct {
        char **nodes;           /* roots handed over; NULL: every node */
        bool inactive;          /* this side handed them over */
        int64_t flush_us;       /* the last switchover's flush */
        SwitchoverBudget flush_budget;  /* its reserve (strict) */
    } block;
} MigrationState;

/*
 * The migration thread's steps (migration.c) that its postcopy phase
 * (migration-postcopy.c) shares.
 */
bool migration_cancelled(MigrationState *s);
/* yank or the return-path listener cut the connection (checked by the
 * loops: a shut-down stream errs only on its next write). */
bool migration_was_cut(MigrationState *s);
bool migration_open(MigrationState *s, Error **errp);
void migration_close_channels(MigrationState *s);
void migration_record_throughput(MigrationState *s);
void migration_emit_pass(MigrationState *s, uint64_t sync_count);
/* The first error recorded on s (whoever cut the connection said why),
 * else err, else fallback; err is freed when not returned. */
Error *migration_take_first_error(MigrationState *s, Error *err,
                                  const char *fallback);

/* ---- migration-postcopy.c: the source after the postcopy switch ---- */

/* migrate-start-postcopy was asked and every page went once. */
bool migration_postcopy_due(MigrationState *s);
/* The switch to the end, through pauses and recoveries; false: failed
 * (errp set, or recorded on s). */
bool migration_postcopy(MigrationState *s, Error **errp);
/* The same once the switch is done (the strict switch's, say): the rest
 * of RAM, through pauses and recoveries, to the destination's "shut". */
bool migration_postcopy_after_switch(MigrationState *s, Error **errp);
/*
 * Recovery's handshake, the source's reading of the destination's
 * received bitmap (the listener stopped): rebuilds what is left to send
 * from its words, up to its end message. false (errp naming what was
 * wrong) on garbage, a bad word or count, a broken return path, or no
 * end by deadline (monotonic us; timeout_ms is for the message).
 */
bool migration_postcopy_read_bitmap(MigrationState *s, int64_t deadline,
                                    uint32_t timeout_ms, Error **errp);

/* Moves old -> next unless the status changed meanwhile (a cancel
 * won): false then. */
bool migration_try_status(MigrationState *s, MigrationStatus old,
                          MigrationStatus next);
void migration_set_status(MigrationState *s, MigrationStatus old,
                          MigrationStatus next);
/* migrate-start-postcopy on s. */
void migration_start_postcopy(MigrationState *s, Error **errp);
/*
 * Postcopy recovery on s: migrate with resume (uri resolved already;
 * QEMU's errors unless postcopy-paused), and migrate-pause (the source
 * side if it is in postcopy, else s's incoming side).
 */
bool migration_resume(MigrationState *s, const char *uri, int owned_fd,
                      Error **errp);
bool migration_pause(MigrationState *s, Error **errp);
MigrationStatus migration_status(MigrationState *s);
/* Records the first error of this migration (takes err). */
void migration_set_error(MigrationState *s, Error *err);
int64_t migration_now_us(void);
/* Statistics of the RAM entry, zeros before it exists. */
MigrationStats *migration_ram_stats(MigrationState *s,
                                    uint64_t *dirty_sync_count);

/* ---- switchover-pause.c ---- */

void switchover_pause_init(SwitchoverPause *p);
void switchover_pause_destroy(SwitchoverPause *p);
/* Ends a wait early (migrate_cancel, which sets s->cancel first). */
void switchover_pause_wake(SwitchoverPause *p);
/*
 * With pause-before-switchover, guest stopped, without the BQL: status
 * active -> pre-switchover, wait for migrate-continue, then -> next.
 * Without the capability nothing happens (the status stays active).
 * false (errp set) if migrate_cancel came instead.
 */
bool migration_pause_before_switchover(MigrationState *s,
                                       MigrationStatus next, Error **errp);

/* ---- block-handover.c (BQL held, but for the pre-flush) ---- */

/* Source, guest running, just before the stop, without the BQL: flush
 * what the guest wrote so that the flush inside the downtime finds
 * little to do. */
void migration_block_preflush(MigrationState *s);
/* Source, guest stopped, devices drained: flush and inactivate the
 * disks (timed). On failure some may be inactive: the caller resumes the
 * guest through migration_block_reactivate(). */
bool migration_block_inactivate(MigrationState *s, Error **errp);
/* Source: what a strict switchover keeps for the flush (us). */
int64_t migration_block_flush_reserve_us(MigrationState *s);
/* Source: the guest is about to resume here; takes the disks back if
 * this side handed them over. */
void migration_block_reactivate(MigrationState *s);
/* Destination, -incoming: nodes open inactive from now on, and those
 * open already become inactive. */
bool migration_block_incoming_init(MigrationState *s, Error **errp);
/* Destination, load complete, before its guest runs (or, with -S and
 * late-block-activate, not yet: `cont` does it). False (reported): the
 * guest must stay paused. */
bool migration_block_incoming_activate(MigrationState *s, bool autostart);

/* ---- switchover.c ---- */

typedef enum MigrationSwitchoverResult {
    MIGRATION_SWITCHOVER_DONE,      /* guest runs on the destination */
    MIGRATION_SWITCHOVER_ABORTED,   /* strict: guest resumed here */
    MIGRATION_SWITCHOVER_FAILED,    /* error set; guest resumed here */
} MigrationSwitchoverResult;

/* Expected downtime in ms for pending bytes. */
int64_t migration_expected_downtime_ms(MigrationState *s, uint64_t pending);
MigrationSwitchoverResult migration_switchover(MigrationState *s);
MigrationSwitchoverResult migration_switchover_strict(MigrationState *s);
/*
 * Postcopy's switch, return-path listener running: stop the guest,
 * status postcopy-active, last harvest and discard list, listen, the
 * device state, run. DONE: the destination may now run the guest (RAM
 * still to send); FAILED: error set, and the guest resumes here only if
 * postcopy-run did not go out.
 */
MigrationSwitchoverResult migration_switchover_postcopy(MigrationState *s);
/*
 * The same under x-strict-downtime (switchover-postcopy.c): the switch
 * ends when the destination runs, within downtime-limit, or is aborted
 * before any vCPU ran there (ABORTED: guest resumed here, back to
 * precopy, counted in strict_aborts).
 */
MigrationSwitchoverResult migration_switchover_postcopy_strict(
    MigrationState *s);
/* Shared by the switchovers (switchover.c): the guest stopped, the
 * devices' state captured in memory (all_subsections: a strict attempt
 * that may be loaded on top of an aborted one); sent as it is; a failure
 * recorded. */
QEMUFile *migration_stop_and_capture_devices(MigrationState *s,
                                             MigrationStatus next,
                                             bool all_subsections,
                                             int64_t *t_stop, Error **errp);
void migration_send_captured(QEMUFile *f, QEMUFile *devs);
/*
 * After the postcopy stream's end: waits (listener stopped) for the
 * destination's "shut", answering late page requests meanwhile, at most
 * x-switchover-resume-timeout.
 */
bool migration_postcopy_wait_shut(MigrationState *s, Error **errp);

/* ---- return-path.c ---- */

/*
 * Migration thread, listener stopped: reads the return path until a
 * message of type want (a pong: of value pong_value) or deadline_us
 * (monotonic; *timed_out). Late pongs are noted; any other message is
 * an error.
 */
bool migration_rp_wait(MigrationState *s, MigRpType want,
                       uint32_t pong_value, int64_t deadline_us,
                       MigRpMsg *msg, bool *timed_out, Error **errp);
/* Strict, after the last abort: reads the return path until that
 * attempt's late pong arrived or deadline_us (monotonic) passed. */
void migration_rp_wait_late_pong(MigrationState *s, int64_t deadline_us);
/*
 * The listener: a thread that reads and checks every return-path message
 * while RAM is sent, and on a bad one records the error and cuts the
 * outgoing stream (migration_cut). Started before iterating, stopped
 * (joined; idempotent) before a switchover reads the return path itself.
 * Without a return path start does nothing.
 */
bool migration_rp_listen_start(MigrationState *s, Error **errp);
void migration_rp_listen_stop(MigrationState *s);
/*
 * The listener's loop, on the caller's thread: reads and handles
 * messages until the return path ends (closed, broken, or wake_fd),
 * or a message fails (or, after postcopy-run, pauses) the migration.
 * The thread runs only this; the fuzz target calls it directly.
 */
void migration_rp_serve(MigrationState *s);
/* The listener failed this migration (its error is recorded). */
bool migration_rp_failed(MigrationState *s);

/* Shuts s's outgoing connection down, if open; the status is left alone
 * (the thread fails, or a COLO primary fails over). Any thread. */
void migration_cut(MigrationState *s);

/* ---- migration-incoming.c ---- */

MigrationIncoming *migration_incoming_new(MigrationState *owner);
/* The options of the migration object that owns mis. */
const MigrationOptions *migration_incoming_options(MigrationIncoming *mis);
void migration_incoming_free(MigrationIncoming *mis);
/* At process exit: stop a load in progress and join its thread. */
void migration_incoming_shutdown(MigrationIncoming *mis);
/* The destination's status and address, for query-migrate. */
bool migration_incoming_info(MigrationIncoming *mis, MigrationInfo *info);
/* The secondary's COLO run began (status colo). */
void migration_incoming_colo_started(MigrationIncoming *mis);
/* Shuts the incoming connection down, if open (any thread). */
void migration_incoming_cut(MigrationIncoming *mis);
/* -incoming was given (the capabilities are a destination's); it
 * listens (or reads) already. */
bool migration_incoming_enabled(MigrationIncoming *mis);
bool migration_incoming_started(MigrationIncoming *mis);
/*
 * Starts mis listening on (or reading) uri, as -incoming URI does; the
 * guest starts at the end unless !autostart (-S). Main loop; tests use
 * it for a second migration object.
 */
bool migration_incoming_start_uri(MigrationIncoming *mis, const char *uri,
                                  bool autostart, Error **errp);
/*
 * Postcopy recovery, destination (main loop): migrate-recover on mis
 * (listens on uri for the source's new connections; QEMU's error unless
 * postcopy-paused), and migrate-pause (false: not postcopy-active or
 * postcopy-recover here).
 */
bool migration_incoming_recover(MigrationIncoming *mis, const char *uri,
                                Error **errp);
bool migration_incoming_pause(MigrationIncoming *mis);
/* The destination's status (none when it never started). */
MigrationStatus migration_incoming_status(MigrationIncoming *mis);
/* How many times the incoming side started (or, with -S, paused) its
 * guest: tests check that an aborted strict switch never got there. */
unsigned migration_incoming_guest_starts(MigrationIncoming *mis);
/*
 * postcopy-blocktime's vCPUs: n of them, fn telling which a faulting
 * thread is. By default the machine's (system/cpus.h); a test without
 * vCPUs sets the threads that stand in for them. Before the incoming
 * migration starts.
 */
void migration_incoming_set_vcpus(MigrationIncoming *mis, unsigned n,
                                  PostcopyVcpuOfFn *fn, void *opaque);

/* ---- options.c, continued ---- */

/* migrate-set-capabilities on s. */
bool migration_set_capabilities(MigrationState *s,
                                MigrationCapabilityStatusList *capabilities,
                                Error **errp);

#endif
