/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The destination side of live migration: -incoming URI|defer and
 * migrate-incoming, the incoming thread that loads the stream, and the
 * destination's half of the return path (pong, resumed).
 *
 * The VM waits in runstate inmigrate with its vCPUs parked. The incoming
 * thread runs loadvm_state() without the BQL while RAM pages arrive (only
 * guest memory is written, and nothing else touches it: the vCPUs are
 * parked) and holds the BQL from the switchover-start command to the end
 * of the load, so device state is only loaded under the BQL. A strict
 * switchover that the source aborts (switchover-abort) gives the BQL back
 * and keeps loading; its partial state is overwritten by the next attempt
 * before any vCPU runs (see switchover.c). After EOF the thread starts the
 * vCPUs (unless -S: then the VM is paused), tells the source "resumed",
 * and the status becomes completed. A failed load ends the process, as
 * in QEMU; a running COLO secondary never does (the exit rule:
 * migration_incoming_exit_on_failure()).
 *
 * Postcopy (postcopy-ram set here too; include/migration/postcopy.h):
 * postcopy-listen registers RAM with userfaultfd and the status becomes
 * postcopy-active; the device state that follows is held; at
 * postcopy-run a thread of its own (mig/pc-start) takes the BQL, loads
 * it, starts the vCPUs and sends "resumed", while the incoming thread
 * goes on placing pages without the BQL: a vCPU (or a device's
 * post_load) faulting on a page while the loader waited for the BQL
 * would never be answered. The fault thread's page requests, pongs,
 * "resumed" and the final "shut" share the return path under rp_lock.
 * At EOF the incoming thread joins the start thread, sends "shut" and
 * the status becomes completed.
 *
 * Strict postcopy switch (x-strict-downtime, migration/switchover-
 * postcopy.c): postcopy-load hands the held device state to mig/pc-load,
 * which loads it under the BQL with the vCPUs parked, lets the BQL go
 * and pongs; postcopy-run then starts mig/pc-start (which joins the
 * loader and only starts the guest), while switchover-abort joins the
 * loader on the incoming thread, leaves userfaultfd and goes back to
 * active: the guest never started here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "migration-internal.h"
#include "colo-internal.h"
#include "migration/postcopy.h"
#include "net/announce.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "util/context-thread.h"
#include "util/main-loop.h"
#include "util/rt-window.h"
#include "util/yank.h"
#include "trace.h"

struct MigrationIncoming {
    MigrationState *owner;      /* its options */
    int status;                 /* MigrationStatus, atomic */
    bool enabled;               /* -incoming was given */
    bool started;               /* listening or reading */
    bool autostart;
    SocketAddressList *addrs;   /* BQL and lock (migrate-recover: lock) */
    MigListener *listener;      /* main loop: listening, or NULL */
    Error *error;               /* BQL */
    GMutex lock;                /* from_src and ch against yank */
    QEMUFile *from_src;
    MigrationChannel ch;
    int rp_fd;                  /* after open-return-path, else -1 */
    GMutex rp_lock;             /* writes to rp_fd (any thread) */
    bool yank;                  /* registered the yank instance */
    bool colo;                  /* the source sent enable-colo */
    /* Incoming thread: it holds the BQL since switchover-start (taken in
     * incoming_switchover_start, dropped in incoming_switchover_abort or
     * at the end of incoming_thread; migration-internal.h). */
    bool bql_held;
    int64_t switchover_us;      /* when switchover-start arrived */
    /* Strict switchover: real-time from switchover-start until the vCPUs
     * run and "resumed" is sent, or the abort (util/rt-window.h). */
    RtWindow rt;
    pthread_t thread;
    bool thread_joinable;       /* BQL: started and not yet joined */
    /* Postcopy: the start thread (incoming thread creates and joins). */
    pthread_t pc_thread;
    bool pc_thread_running;
    GByteArray *pc_devices;     /* handed to the start thread */
    Error *pc_error;            /* its failure, read after the join */
    /* Strict switch (postcopy-load): the thread that loads the device
     * state with the vCPUs parked, and pongs the attempt (incoming
     * thread creates and joins; its failure goes to pc_error). */
    pthread_t pc_load_thread;
    bool pc_load_running;       /* joined by whoever comes next: the
                                   start thread, or the incoming thread
                                   (abort, end) */
    GByteArray *pc_load_devices;    /* handed to it */
    bool pc_load_done;          /* atomic: it loaded (or failed), set
                                   before the pong */
    uint32_t pc_load_attempt;
    unsigned guest_starts;      /* atomic: incoming_start_guest calls */
    /* Postcopy recovery (postcopy.h, "Recovery"): in postcopy-paused the
     * incoming thread waits for the connection migrate-recover accepts. */
    GCond recover_cond;         /* (lock) recover_ch or recover_quit */
    MigrationChannel recover_ch;    /* (lock) fd -1: none yet */
    bool recover_quit;          /* (lock) process exit: stop waiting */
    Error *pause_error;         /* (lock) why it paused, until resumed */
    /* migrate-recover's listener runs on a thread of its own, never the
     * main loop: a device load that waits for a page (BQL held, see the
     * top) stops the main loop, and only the recovered connection can
     * bring that page. migrate-recover is out of band for the same
     * reason. Started by the first migrate-recover ((lock) until then). */
    ContextThread *recover_thread;
    MigListener *recover_listener;  /* recover_thread */
    unsigned recover_accepted;  /* recover_thread: connections so far */
    /* Blocktime's vCPUs: the machine's unless a test set its own. */
    unsigned vcpu_n;
    PostcopyVcpuOfFn *vcpu_fn;
    void *vcpu_opaque;
};

static void incoming_recover_unlisten(MigrationIncoming *mis);

MigrationIncoming *migration_incoming_new(MigrationState *owner)
{
    MigrationIncoming *mis = g_new0(MigrationIncoming, 1);

    mis->owner = owner;
    mis->rp_fd = -1;
    mis->ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    mis->recover_ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    g_mutex_init(&mis->lock);
    g_cond_init(&mis->recover_cond);
    g_mutex_init(&mis->rp_lock);
    return mis;
}

void migration_incoming_free(MigrationIncoming *mis)
{
    if (!mis) {
        return;
    }
    g_assert(!mis->thread_joinable);
    incoming_recover_unlisten(mis);
    context_thread_free(mis->recover_thread);
    qapi_free_SocketAddressList(mis->addrs);
    error_free(mis->error);
    error_free(mis->pause_error);
    migration_channel_close(&mis->recover_ch);
    g_cond_clear(&mis->recover_cond);
    g_mutex_clear(&mis->lock);
    g_mutex_clear(&mis->rp_lock);
    g_free(mis);
}

static void incoming_set_status(MigrationIncoming *mis, MigrationStatus next)
{
    MigrationStatus old = __atomic_exchange_n(&mis->status, next,
                                              __ATOMIC_SEQ_CST);

    trace_migration_incoming_status(MigrationStatus_str(old),
                                    MigrationStatus_str(next));
    if (old != next && migrate_cap(&mis->owner->opts,
                                   MIGRATION_CAPABILITY_EVENTS)) {
        qapi_event_send_migration(next);
    }
}

/* Every return-path message goes through here: one writer at a time. */
static bool incoming_rp_send(MigrationIncoming *mis, MigRpType type,
                             const void *data, Error **errp)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mis->rp_lock);

    if (mis->rp_fd < 0) {
        error_setg(errp, "no return path to send '%s' on",
                   mig_rp_info(type)->name);
        return false;
    }
    return mig_rp_send(mis->rp_fd, type, data, errp);
}

/* ---- command handlers (incoming thread) ---- */

static LoadVMCommandResult incoming_open_return_path(const uint8_t *data,
                                                     uint16_t len,
                                                     void *opaque,
                                                     Error **errp)
{
    MigrationIncoming *mis = opaque;

    trace_migration_incoming_command("open-return-path");
    if (mis->ch.rp_fd < 0) {
        error_setg(errp, "the source asked for a return path, but this "
                   "transport has none");
        return LOADVM_CMD_ERROR;
    }
    mis->rp_fd = mis->ch.rp_fd;
    return LOADVM_CMD_CONTINUE;
}

static LoadVMCommandResult incoming_postcopy_abort(MigrationIncoming *mis,
                                                   Error **errp);

static LoadVMCommandResult incoming_switchover_start(const uint8_t *data,
                                                     uint16_t len,
                                                     void *opaque,
                                                     Error **errp)
{
    MigrationIncoming *mis = opaque;

    trace_migration_incoming_command("switchover-start");
    /* Postcopy's loader must never hold the BQL (see the top). */
    if (postcopy_incoming_state(mis->owner->vmstate) >=
        POSTCOPY_INCOMING_LISTENING) {
        error_setg(errp, "command 'switchover-start' during postcopy");
        return LOADVM_CMD_ERROR;
    }
    mis->switchover_us = migration_now_us();
    rt_window_enter(&mis->rt, "strict switchover (destination)");
    if (!mis->bql_held) {
        bql_lock();
        mis->bql_held = true;
    }
    return LOADVM_CMD_CONTINUE;
}

static LoadVMCommandResult incoming_switchover_abort(const uint8_t *data,
                                                     uint16_t len,
                                                     void *opaque,
                                                     Error **errp)
{
    MigrationIncoming *mis = opaque;
    SaveVMState *vs = mis->owner->vmstate;

    trace_migration_incoming_command("switchover-abort");
    if (postcopy_incoming_state(vs) >= POSTCOPY_INCOMING_LISTENING) {
        return incoming_postcopy_abort(mis, errp);
    }
    rt_window_leave(&mis->rt);
    if (mis->bql_held) {
        g_assert(bql_locked());
        mis->bql_held = false;
        bql_unlock();
    }
    return LOADVM_CMD_CONTINUE;
}

/* The source is a COLO primary: this side becomes the secondary. */
static LoadVMCommandResult incoming_enable_colo(const uint8_t *data,
                                                uint16_t len, void *opaque,
                                                Error **errp)
{
    MigrationIncoming *mis = opaque;

    trace_migration_incoming_command("enable-colo");
    if (mis->rp_fd < 0) {
        error_setg(errp, "the source enabled COLO, which needs a return "
                   "path this transport does not have");
        return LOADVM_CMD_ERROR;
    }
    mis->colo = true;
    return LOADVM_CMD_CONTINUE;
}

/* Everything before the ping was loaded: tell the source. */
static LoadVMCommandResult incoming_ping(const uint8_t *data, uint16_t len,
                                         void *opaque, Error **errp)
{
    MigrationIncoming *mis = opaque;
    uint8_t pong[12];

    trace_migration_incoming_command("ping");
    if (mis->rp_fd < 0) {
        return LOADVM_CMD_CONTINUE;
    }
    memcpy(pong, data, 4);
    mig_put_be64(pong + 4, mis->switchover_us ?
                 migration_now_us() - mis->switchover_us : 0);
    return incoming_rp_send(mis, MIG_RP_PONG, pong, errp) ?
           LOADVM_CMD_CONTINUE : LOADVM_CMD_ERROR;
}

/* ---- the incoming thread ---- */

/*
 * The exit rule (docs/migration.md, "When the destination exits"). The
 * one place a peer's bytes end the process, and only here:
 *
 * - A destination whose incoming migration fails (the stream cannot be
 *   loaded, the transport broke, the thread could not start) reports the
 *   error and exits with status 1. This is QEMU's behaviour, and what
 *   users and libvirt expect: the process never ran the guest, holds a
 *   half-loaded one, and is only useful restarted. STYLE.md's rule that
 *   nothing a peer sends ends the process has this one, deliberate,
 *   exception.
 * - A postcopy destination whose guest runs (postcopy-run came) does
 *   not get here on a broken connection: it pauses
 *   (incoming_postcopy_recover). A bad record still gets here.
 * - A COLO secondary never gets here once its COLO run has started
 *   (colo_secondary_run() returns true from then on): a bad checkpoint
 *   is rejected whole, the secondary keeps its last good state, and it
 *   waits for a failover, after which its guest runs (or stays paused
 *   when a checkpoint failed halfway through its apply). Only a failure
 *   before COLO started (the initial migration itself, or the RAM cache
 *   it needs) is an ordinary failed migration.
 *
 * Runs as a bottom half on the main loop, so that a quit that stops the
 * incoming thread (migration_incoming_shutdown) never turns into an exit.
 */
static void migration_incoming_exit_on_failure(void *opaque)
{
    MigrationIncoming *mis = opaque;

    error_report("load of migration failed: %s",
                 error_get_pretty(mis->error));
    exit(EXIT_FAILURE);
}

/* BQL held: start (or pause) the VM and tell the source. */
static void incoming_start_guest(MigrationIncoming *mis)
{
    Error *err = NULL;
    uint8_t data[8];
    int64_t dst_us;

    __atomic_add_fetch(&mis->guest_starts, 1, __ATOMIC_SEQ_CST);

    /* The source flushed and let go of the disks before the EOF (or
     * postcopy-run) that got us here: take them (block-handover.c). */
    bool start = migration_block_incoming_activate(mis->owner,
                                                   mis->autostart) &&
                 mis->autostart;

    if (start) {
        vm_start();
    } else {
        runstate_set(RUN_STATE_PAUSED);
    }
    /* The switches still send the guest's traffic to the source's port:
     * tell them (as QEMU does, paused or not). */
    {
        AnnounceParameters a;

        migrate_announce_params(migration_incoming_options(mis), &a);
        net_announce_start(&a);
    }
    dst_us = mis->switchover_us ? migration_now_us() - mis->switchover_us : 0;
    mig_put_be64(data, start ? dst_us : 0);
    if (mis->rp_fd >= 0 && !incoming_rp_send(mis, MIG_RP_RESUMED, data,
                                             &err)) {
        /* The guest runs here now; the source learns it otherwise. */
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
}

static void incoming_complete(MigrationIncoming *mis)
{
    incoming_start_guest(mis);
    incoming_set_status(mis, MIGRATION_STATUS_COMPLETED);
}

/* ---- postcopy ---- */

/* The fault thread needs a page: ask the source. */
static bool incoming_postcopy_request(void *opaque, const uint8_t *data,
                                      Error **errp)
{
    return incoming_rp_send(opaque, MIG_RP_REQ_PAGES, data, errp);
}

/* The preempt channel's reader failed on a bad record (its thread): the
 * stream is cut so that the load fails now, not at preempt-done. */
static void incoming_postcopy_preempt_error(void *opaque)
{
    migration_incoming_cut(opaque);
}

/* postcopy-listen: RAM is behind userfaultfd, faults become requests. */
static void incoming_postcopy_listen(void *opaque)
{
    MigrationIncoming *mis = opaque;

    trace_migration_incoming_postcopy("listen");
    mis->switchover_us = migration_now_us();
    incoming_set_status(mis, MIGRATION_STATUS_POSTCOPY_ACTIVE);
}

/* The strict switch's loader ends once the devices are loaded. */
static void incoming_postcopy_load_join(MigrationIncoming *mis)
{
    if (mis->pc_load_running) {
        pthread_join(mis->pc_load_thread, NULL);
        mis->pc_load_running = false;
    }
}

/* mig/pc-start: device state, then the guest, under the BQL. */
static void *incoming_postcopy_start(void *opaque)
{
    MigrationIncoming *mis = opaque;
    Error *err = NULL;

    pthread_setname_np(pthread_self(), "mig/pc-start");
    /* Strict switch: its loader is done (the source saw the pong); not
     * joined on the incoming thread, which must go on placing pages
     * whatever a source sends. What is left to load is nothing. */
    incoming_postcopy_load_join(mis);
    if (mis->pc_error) {
        g_byte_array_unref(mis->pc_devices);
        mis->pc_devices = NULL;
        return NULL;            /* the loader cut the stream */
    }
    BQL_LOCK_GUARD();
    if (!postcopy_incoming_load_devices(mis->owner->vmstate,
                                        mis->pc_devices, &err)) {
        mis->pc_error = err;
        /* The incoming thread must stop: nothing will run the guest. */
        migration_incoming_cut(mis);
    } else {
        incoming_start_guest(mis);
        trace_migration_incoming_postcopy("running");
    }
    g_byte_array_unref(mis->pc_devices);
    mis->pc_devices = NULL;
    return NULL;
}

/* postcopy-run (incoming thread, no BQL): hand the devices over. */
static void incoming_postcopy_run(void *opaque, GByteArray *devices)
{
    MigrationIncoming *mis = opaque;

    trace_migration_incoming_postcopy("run");
    mis->pc_devices = devices;
    if (pthread_create(&mis->pc_thread, NULL, incoming_postcopy_start,
                       mis)) {
        error_setg(&mis->pc_error, "cannot start the postcopy start thread");
        g_byte_array_unref(devices);
        mis->pc_devices = NULL;
        migration_incoming_cut(mis);
        return;
    }
    mis->pc_thread_running = true;
}

/*
 * mig/pc-load (strict switch): the device state under the BQL while the
 * incoming thread goes on placing pages (a post_load may fault, and the
 * source answers requests while it waits for the pong); then the BQL is
 * given back, so the main loop runs while the vCPUs stay parked until
 * postcopy-run, and the pong tells the source the guest can start.
 */
static void *incoming_postcopy_load_fn(void *opaque)
{
    MigrationIncoming *mis = opaque;
    Error *err = NULL;
    uint8_t pong[12];
    bool ok;

    pthread_setname_np(pthread_self(), "mig/pc-load");
    bql_lock();
    ok = postcopy_incoming_load_devices(mis->owner->vmstate,
                                        mis->pc_load_devices, &err);
    bql_unlock();
    g_byte_array_unref(mis->pc_load_devices);
    mis->pc_load_devices = NULL;
    trace_migration_incoming_postcopy(ok ? "loaded" : "load failed");
    /* From here this thread waits for no page, so the switchover-abort
     * that may follow the pong can join it: marked before the pong is
     * sent, or the source's abort can overtake the mark (it did, on a
     * loaded host). pc_error is read only after the join. */
    __atomic_store_n(&mis->pc_load_done, true, __ATOMIC_SEQ_CST);
    if (ok) {
        mig_put_be32(pong, mis->pc_load_attempt);
        mig_put_be64(pong + 4, migration_now_us() - mis->switchover_us);
        ok = incoming_rp_send(mis, MIG_RP_PONG, pong, &err);
    }
    if (!ok) {
        mis->pc_error = err;
        migration_incoming_cut(mis);
    }
    return NULL;
}

/* postcopy-load (incoming thread, no BQL): the strict switch's load. */
static bool incoming_postcopy_load(void *opaque, GByteArray *devices,
                                   uint32_t attempt, Error **errp)
{
    MigrationIncoming *mis = opaque;

    trace_migration_incoming_postcopy("load");
    /* Each attempt ends in switchover-abort or postcopy-run, which take
     * the loader. A second postcopy-load without either is a broken
     * source; joining its loader here could wait for a page only this
     * thread can place. */
    if (mis->pc_load_running) {
        error_setg(errp, "postcopy-load of attempt %" PRIu32 " while "
                   "attempt %" PRIu32 " is neither aborted nor running",
                   attempt, mis->pc_load_attempt);
        g_byte_array_unref(devices);
        return false;
    }
    mis->pc_load_devices = devices;
    mis->pc_load_attempt = attempt;
    __atomic_store_n(&mis->pc_load_done, false, __ATOMIC_SEQ_CST);
    if (pthread_create(&mis->pc_load_thread, NULL, incoming_postcopy_load_fn,
                       mis)) {
        error_setg(errp, "cannot start the postcopy load thread");
        g_byte_array_unref(devices);
        mis->pc_load_devices = NULL;
        return false;
    }
    mis->pc_load_running = true;
    return true;
}

/*
 * switchover-abort during a strict postcopy switch: the source gave up
 * before postcopy-run, so no vCPU ran here. The source sends it only
 * after this attempt's pong (its requests answered meanwhile), so the
 * loader has finished: back to precopy (postcopy_incoming_unlisten),
 * the loaded device state to be overwritten by the next attempt.
 */
static LoadVMCommandResult incoming_postcopy_abort(MigrationIncoming *mis,
                                                   Error **errp)
{
    /* After postcopy-run the start thread joins the loader. */
    if (!postcopy_incoming_unlisten_ok(mis->owner->vmstate, errp)) {
        return LOADVM_CMD_ERROR;
    }
    /* A source that did not wait for the pong: joining now could wait
     * for a page only this thread can place. Failed instead; the load's
     * end releases userfaultfd, and the loader with it. */
    if (mis->pc_load_running &&
        !__atomic_load_n(&mis->pc_load_done, __ATOMIC_SEQ_CST)) {
        error_setg(errp, "switchover-abort while the device state of "
                   "postcopy-load is still loading (before its pong)");
        return LOADVM_CMD_ERROR;
    }
    incoming_postcopy_load_join(mis);
    if (mis->pc_error) {
        error_propagate(errp, mis->pc_error);
        mis->pc_error = NULL;
        return LOADVM_CMD_ERROR;
    }
    if (!postcopy_incoming_unlisten(mis->owner->vmstate, errp)) {
        return LOADVM_CMD_ERROR;
    }
    mis->switchover_us = 0;
    trace_migration_incoming_postcopy("aborted");
    incoming_set_status(mis, MIGRATION_STATUS_ACTIVE);
    return LOADVM_CMD_CONTINUE;
}

unsigned migration_incoming_guest_starts(MigrationIncoming *mis)
{
    return __atomic_load_n(&mis->guest_starts, __ATOMIC_SEQ_CST);
}

/* A source that advises postcopy to a destination without postcopy-ram. */
static LoadVMCommandResult incoming_postcopy_refused(const uint8_t *data,
                                                     uint16_t len,
                                                     void *opaque,
                                                     Error **errp)
{
    error_setg(errp, "the source uses postcopy, but capability "
               "'postcopy-ram' is off here: set it on both sides");
    return LOADVM_CMD_ERROR;
}

/* ---- postcopy recovery (include/migration/postcopy.h, "Recovery") ---- */

static void incoming_accept_preempt(MigrationIncoming *mis,
                                    MigrationChannel *ch);

static bool incoming_postcopy_alive(MigrationStatus st)
{
    return st == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
           st == MIGRATION_STATUS_POSTCOPY_RECOVER;
}

/* Drops the broken connection: the source sees it closed and pauses
 * too, and nothing writes to the old return path any more. */
static void incoming_drop_channel(MigrationIncoming *mis)
{
    g_mutex_lock(&mis->rp_lock);
    mis->rp_fd = -1;
    g_mutex_unlock(&mis->rp_lock);
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mis->lock);

    if (mis->from_src) {
        qemu_fclose(mis->from_src);
        mis->from_src = NULL;
    }
    migration_channel_close(&mis->ch);
    mis->ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
}

/*
 * loadvm_state()'s recover hook (incoming thread, no BQL): the stream
 * broke. While the guest runs here (postcopy-run came) that is a pause,
 * not a failure: all state is kept, vCPUs faulting on missing pages
 * wait, and the thread waits for migrate-recover's connection. Anything
 * earlier fails as before (the source still has the whole guest).
 */
static QEMUFile *incoming_postcopy_recover(void *opaque, QEMUFile *broken,
                                           Error **errp)
{
    MigrationIncoming *mis = opaque;
    SaveVMState *vs = mis->owner->vmstate;
    const Error *why = *errp;
    QEMUFile *f;

    /* The preempt channel's reader found a bad record and cut the
     * stream to fail the load: its error is the reason. */
    if (postcopy_incoming_preempt_failed(vs, errp)) {
        return NULL;
    }
    if (postcopy_incoming_state(vs) != POSTCOPY_INCOMING_RUNNING ||
        !incoming_postcopy_alive(migration_incoming_status(mis)) ||
        mis->bql_held) {
        return NULL;
    }
    g_assert(broken == mis->from_src);
    warn_report("postcopy paused, waiting for migrate-recover: %s",
                error_get_pretty(why));
    g_mutex_lock(&mis->lock);
    error_free(mis->pause_error);
    mis->pause_error = NULL;
    error_setg(&mis->pause_error, "%s", error_get_pretty(why));
    g_mutex_unlock(&mis->lock);
    postcopy_incoming_pause(vs);
    incoming_drop_channel(mis);
    incoming_set_status(mis, MIGRATION_STATUS_POSTCOPY_PAUSED);

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mis->lock);

    while (mis->recover_ch.fd < 0 && !mis->recover_quit) {
        g_cond_wait(&mis->recover_cond, &mis->lock);
    }
    if (mis->recover_quit) {
        return NULL;
    }
    mis->ch = mis->recover_ch;
    mis->recover_ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    f = mis->from_src = qemu_file_new_fd_input(mis->ch.fd, true);
    g_mutex_lock(&mis->rp_lock);
    mis->rp_fd = mis->ch.rp_fd;
    g_mutex_unlock(&mis->rp_lock);
    incoming_set_status(mis, MIGRATION_STATUS_POSTCOPY_RECOVER);
    return f;
}

static bool incoming_send_bitmap_word(void *opaque, uint32_t block,
                                      uint32_t word, uint64_t received,
                                      Error **errp)
{
    uint8_t data[16];

    mig_put_be32(data, block);
    mig_put_be32(data + 4, word);
    mig_put_be64(data + 8, received);
    return incoming_rp_send(opaque, MIG_RP_RECV_BITMAP, data, errp);
}

static bool incoming_recovering(MigrationIncoming *mis, const char *cmd,
                                Error **errp)
{
    MigrationStatus st = migration_incoming_status(mis);

    if (st != MIGRATION_STATUS_POSTCOPY_RECOVER) {
        error_setg(errp, "command '%s' while the destination is '%s' "
                   "(expected 'postcopy-recover')", cmd,
                   MigrationStatus_str(st));
        return false;
    }
    return true;
}

/* A return-path failure in the handshake: the connection broke again.
 * The main stream is cut so that the loader's next read pauses. */
static LoadVMCommandResult incoming_handshake_broke(MigrationIncoming *mis,
                                                    Error *err)
{
    trace_migration_incoming_postcopy(error_get_pretty(err));
    error_free(err);
    migration_incoming_cut(mis);
    return LOADVM_CMD_CONTINUE;
}

/* postcopy-recover: the source asks what we lack. */
static LoadVMCommandResult incoming_postcopy_recover_cmd(const uint8_t *data,
                                                         uint16_t len,
                                                         void *opaque,
                                                         Error **errp)
{
    MigrationIncoming *mis = opaque;
    uint32_t nblocks, nwords;
    uint8_t end[8];
    Error *err = NULL;

    trace_migration_incoming_command("postcopy-recover");
    if (!incoming_recovering(mis, "postcopy-recover", errp)) {
        return LOADVM_CMD_ERROR;
    }
    /* Running here (the pause needs it), the walk cannot fail: only a
     * send can. */
    if (!postcopy_incoming_send_bitmap(mis->owner->vmstate,
                                       incoming_send_bitmap_word, mis,
                                       &nblocks, &nwords, &err)) {
        return incoming_handshake_broke(mis, err);
    }
    mig_put_be32(end, nblocks);
    mig_put_be32(end + 4, nwords);
    if (!incoming_rp_send(mis, MIG_RP_RECV_BITMAP_END, end, &err)) {
        return incoming_handshake_broke(mis, err);
    }
    return LOADVM_CMD_CONTINUE;
}

/* postcopy-resume: the source rebuilt its bitmap and sends again. */
static LoadVMCommandResult incoming_postcopy_resume_cmd(const uint8_t *data,
                                                        uint16_t len,
                                                        void *opaque,
                                                        Error **errp)
{
    MigrationIncoming *mis = opaque;
    uint64_t n;

    trace_migration_incoming_command("postcopy-resume");
    if (!incoming_recovering(mis, "postcopy-resume", errp)) {
        return LOADVM_CMD_ERROR;
    }
    g_mutex_lock(&mis->lock);
    error_free(mis->pause_error);
    mis->pause_error = NULL;
    g_mutex_unlock(&mis->lock);
    incoming_set_status(mis, MIGRATION_STATUS_POSTCOPY_ACTIVE);
    /* What the vCPUs wait for was asked of a source that lost it. */
    n = postcopy_incoming_rerequest(mis->owner->vmstate);
    trace_migration_incoming_rerequested(n);
    return LOADVM_CMD_CONTINUE;
}

/* recover_thread: migrate-recover's connections, the main one first. */
static void incoming_recover_accept(MigrationChannel *ch, void *opaque)
{
    MigrationIncoming *mis = opaque;

    if (mis->recover_accepted++) {
        incoming_accept_preempt(mis, ch);
        return;
    }
    trace_migration_incoming_postcopy("recovery connection");
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mis->lock);

    migration_channel_close(&mis->recover_ch);
    mis->recover_ch = *ch;
    g_cond_broadcast(&mis->recover_cond);
}

typedef struct RecoverListen {
    MigrationIncoming *mis;
    const char *uri;            /* NULL: only stop listening */
    unsigned nconn;
    SocketAddressList *addrs;
    bool ok;
    Error *err;
} RecoverListen;

/* recover_thread: a second migrate-recover replaces the first's
 * listener; an fd: URI's connection is accepted right here. */
static void incoming_recover_listen(void *opaque)
{
    RecoverListen *job = opaque;
    MigrationIncoming *mis = job->mis;

    migration_channel_unlisten(mis->recover_listener);
    mis->recover_listener = NULL;
    mis->recover_accepted = 0;
    job->ok = !job->uri ||
              migration_channel_listen_n(job->uri, job->nconn,
                                         context_thread_get_context(
                                             mis->recover_thread),
                                         incoming_recover_accept, mis,
                                         &job->addrs, &mis->recover_listener,
                                         &job->err);
}

static void incoming_recover_unlisten(MigrationIncoming *mis)
{
    RecoverListen job = { .mis = mis };

    if (mis->recover_thread) {
        main_context_run_sync(context_thread_get_context(mis->recover_thread),
                              incoming_recover_listen, &job);
    }
}

/* Any thread, BQL or not (migrate-recover runs out of band). */
bool migration_incoming_recover(MigrationIncoming *mis, const char *uri,
                                Error **errp)
{
    RecoverListen job = {
        .mis = mis, .uri = uri,
        .nconn = migrate_cap(&mis->owner->opts,
                             MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) ? 2 : 1,
    };

    if (migration_incoming_status(mis) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Migrate recover can only be run when postcopy is "
                   "paused.");
        return false;
    }
    if (!migration_uri_check(uri, errp)) {
        return false;
    }
    g_mutex_lock(&mis->lock);
    if (!mis->recover_thread) {
        mis->recover_thread = context_thread_new("mig/recover");
    }
    g_mutex_unlock(&mis->lock);
    /* One listener change at a time, however many threads ask. */
    main_context_run_sync(context_thread_get_context(mis->recover_thread),
                          incoming_recover_listen, &job);
    if (!job.ok) {
        error_propagate(errp, job.err);
        return false;
    }
    trace_migration_incoming_postcopy("migrate-recover");
    g_mutex_lock(&mis->lock);
    qapi_free_SocketAddressList(mis->addrs);
    mis->addrs = job.addrs;
    g_mutex_unlock(&mis->lock);
    return true;
}

void qmp_migrate_recover(const char *uri, Error **errp)
{
    MigrationIncoming *mis = migration_current()->incoming;
    g_autofree char *resolved = NULL;
    int owned_fd = -1;

    if (migration_incoming_status(mis) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Migrate recover can only be run when postcopy is "
                   "paused.");
        return;
    }
    resolved = migration_uri_take_named_fd(uri, &owned_fd, errp);
    if (!resolved) {
        return;
    }
    if (!migration_incoming_recover(mis, resolved, errp) && owned_fd >= 0) {
        close(owned_fd);
    }
}

bool migration_incoming_pause(MigrationIncoming *mis)
{
    if (!incoming_postcopy_alive(migration_incoming_status(mis))) {
        return false;
    }
    trace_migration_incoming_postcopy("migrate-pause");
    migration_incoming_cut(mis);
    return true;
}

/* Blocktime: the vCPU a faulting thread runs, by its kernel tid. */
static int incoming_vcpu_of_tid(void *opaque, int tid)
{
    for (unsigned i = 0; i < cpus_count(); i++) {
        CPUState *cpu = cpus_get(i);

        if (cpu && __atomic_load_n(&cpu->thread_id, __ATOMIC_ACQUIRE) == tid) {
            return i;
        }
    }
    return -1;
}

void migration_incoming_set_vcpus(MigrationIncoming *mis, unsigned n,
                                  PostcopyVcpuOfFn *fn, void *opaque)
{
    mis->vcpu_n = n;
    mis->vcpu_fn = fn;
    mis->vcpu_opaque = opaque;
}

static bool incoming_postcopy_setup(MigrationIncoming *mis, Error **errp)
{
    SaveVMState *vs = mis->owner->vmstate;

    mis->pc_error = NULL;
    mis->pc_thread_running = false;
    loadvm_set_recover(vs, NULL, NULL);
    if (!migrate_cap(&mis->owner->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM)) {
        loadvm_set_command_handler(vs, SAVEVM_CMD_POSTCOPY_ADVISE,
                                   incoming_postcopy_refused, mis);
        return true;
    }
    if (!postcopy_incoming_setup(vs, incoming_postcopy_request,
                                 incoming_postcopy_run, mis, errp)) {
        return false;
    }
    postcopy_incoming_on_listen(vs, incoming_postcopy_listen);
    postcopy_incoming_on_load(vs, incoming_postcopy_load);
    postcopy_incoming_on_preempt_error(vs, incoming_postcopy_preempt_error);
    loadvm_set_command_handler(vs, SAVEVM_CMD_POSTCOPY_RECOVER,
                               incoming_postcopy_recover_cmd, mis);
    loadvm_set_command_handler(vs, SAVEVM_CMD_POSTCOPY_RESUME,
                               incoming_postcopy_resume_cmd, mis);
    loadvm_set_recover(vs, incoming_postcopy_recover, mis);
    if (mis->vcpu_fn) {
        postcopy_incoming_set_blocktime(vs, migrate_cap(&mis->owner->opts,
                                    MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME),
                                        mis->vcpu_n, mis->vcpu_fn,
                                        mis->vcpu_opaque);
    } else {
        postcopy_incoming_set_blocktime(vs, migrate_cap(&mis->owner->opts,
                                    MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME),
                                        cpus_count(), incoming_vcpu_of_tid,
                                        NULL);
    }
    return true;
}

/*
 * After the load (no BQL): the start thread ends once its device state
 * is loaded, which the pages that came meanwhile allow (or, on a failed
 * load, the userfaultfd's release). ok: whether everything went well.
 */
static bool incoming_postcopy_join(MigrationIncoming *mis, bool ok,
                                   Error **errp)
{
    uint8_t status[4];

    if (!mis->pc_thread_running) {
        incoming_postcopy_load_join(mis);
        if (mis->pc_error) {
            error_free(*errp);
            *errp = mis->pc_error;
            mis->pc_error = NULL;
            return false;
        }
        return ok;
    }
    pthread_join(mis->pc_thread, NULL);
    mis->pc_thread_running = false;
    incoming_postcopy_load_join(mis);   /* the start thread did */
    if (mis->pc_error) {
        /* The reason, not the cut it caused. */
        error_free(*errp);
        *errp = mis->pc_error;
        mis->pc_error = NULL;
        ok = false;
    }
    mig_put_be32(status, ok ? 0 : 1);
    if (!incoming_rp_send(mis, MIG_RP_SHUT, status, ok ? errp : NULL) &&
        ok) {
        return false;
    }
    trace_migration_incoming_postcopy(ok ? "shut" : "failed");
    return ok;
}

static void incoming_yank_fn(void *opaque)
{
    migration_incoming_cut(opaque);
}

/* x-stream-checksum set here is a requirement; left alone, the
 * destination follows the source (docs/migration.md). */
static LoadVMChecksumPolicy incoming_checksum_policy(MigrationIncoming *mis)
{
    const MigrationOptions *o = migration_incoming_options(mis);
    MigrationCapability cap = MIGRATION_CAPABILITY_X_STREAM_CHECKSUM;

    if (!migrate_cap_explicit(o, cap)) {
        return LOADVM_CHECKSUM_AUTO;
    }
    return migrate_cap(o, cap) ? LOADVM_CHECKSUM_REQUIRE :
                                 LOADVM_CHECKSUM_REFUSE;
}

/* Main loop: a listener that waits for a preempt channel that never
 * came stops once the migration ended. */
static void incoming_unlisten_bh(void *opaque)
{
    MigrationIncoming *mis = opaque;

    migration_channel_unlisten(mis->listener);
    incoming_recover_unlisten(mis);
}

static void *incoming_thread(void *opaque)
{
    MigrationIncoming *mis = opaque;
    SaveVMState *vs = mis->owner->vmstate;
    Error *err = NULL;
    bool ok, postcopy;

    pthread_setname_np(pthread_self(), "mig/dst");
    loadvm_set_command_handler(vs, SAVEVM_CMD_OPEN_RETURN_PATH,
                               incoming_open_return_path, mis);
    loadvm_set_command_handler(vs, SAVEVM_CMD_SWITCHOVER_START,
                               incoming_switchover_start, mis);
    loadvm_set_command_handler(vs, SAVEVM_CMD_SWITCHOVER_ABORT,
                               incoming_switchover_abort, mis);
    loadvm_set_command_handler(vs, SAVEVM_CMD_PING, incoming_ping, mis);
    loadvm_set_command_handler(vs, SAVEVM_CMD_ENABLE_COLO,
                               incoming_enable_colo, mis);
    mis->colo = false;
    loadvm_set_checksum_policy(vs, incoming_checksum_policy(mis));
    /* A socket stays open after the stream for the source to hear from
     * us; files and pipes must end right after it. */
    loadvm_set_expect_channel_end(vs, mis->ch.rp_fd < 0);
    ok = incoming_postcopy_setup(mis, &err) &&
         loadvm_state(vs, mis->from_src, &err);
    /* Postcopy's start thread takes the BQL: joined without it. */
    postcopy = mis->pc_thread_running || mis->pc_load_running ||
               mis->pc_error;
    if (postcopy) {
        ok = incoming_postcopy_join(mis, ok, &err);
    }
    if (!mis->bql_held) {
        bql_lock();
    }
    g_assert(bql_locked());
    mis->bql_held = false;
    if (ok && mis->colo) {
        rt_window_leave(&mis->rt);  /* never entered: COLO is not strict */
        /* The secondary's guest runs on its own disks. */
        migration_block_incoming_activate(mis->owner, true);
        /* False only when COLO could not start; once it ran, whatever a
         * checkpoint held, it returns true (the exit rule above). */
        ok = colo_secondary_run(mis, mis->owner->colo, vs, mis->from_src,
                                mis->ch.fd, mis->rp_fd, &err);
        if (ok) {
            incoming_set_status(mis, MIGRATION_STATUS_COMPLETED);
        }
    } else if (ok && postcopy) {
        /* The guest has been running since postcopy-run. */
        incoming_set_status(mis, MIGRATION_STATUS_COMPLETED);
    } else if (ok) {
        incoming_complete(mis);     /* vCPUs run, "resumed" sent */
    }
    rt_window_leave(&mis->rt);
    if (!ok) {
        mis->error = err;
        incoming_set_status(mis, MIGRATION_STATUS_FAILED);
        main_loop_schedule_bh(migration_incoming_exit_on_failure, mis);
    }
    g_mutex_lock(&mis->lock);
    /* None when a recovery was given up (quit while paused). */
    if (mis->from_src) {
        qemu_fclose(mis->from_src);
    }
    mis->from_src = NULL;
    migration_channel_close(&mis->ch);
    g_mutex_unlock(&mis->lock);
    if (mis->yank) {
        yank_unregister_function(YANK_KIND_MIGRATION, NULL, incoming_yank_fn,
                                 mis);
        yank_unregister_instance(YANK_KIND_MIGRATION, NULL);
        mis->yank = false;
    }
    g_mutex_lock(&mis->rp_lock);
    mis->rp_fd = -1;
    g_mutex_unlock(&mis->rp_lock);
    main_loop_schedule_bh(incoming_unlisten_bh, mis);
    bql_unlock();
    return NULL;
}

/*
 * Main loop: the second connection of a postcopy-preempt migration. The
 * RAM entry's reader checks its handshake (postcopy-preempt.c).
 */
static void incoming_accept_preempt(MigrationIncoming *mis,
                                    MigrationChannel *ch)
{
    trace_migration_incoming_postcopy("preempt channel");
    if (ch->rp_fd >= 0) {
        close(ch->rp_fd);
    }
    postcopy_incoming_preempt_attach(mis->owner->vmstate,
                                     qemu_file_new_fd_input(ch->fd, true));
}

/* Main loop: the transport is connected (or the file open). */
static void incoming_accept(MigrationChannel *ch, void *opaque)
{
    MigrationIncoming *mis = opaque;

    if (mis->from_src || mis->thread_joinable) {
        incoming_accept_preempt(mis, ch);
        return;
    }
    /* The yank instance lives exactly as long as mis->from_src. It is
     * the process's migration's: a second migration object (a test's
     * destination in the same process) has none. */
    mis->yank = mis->owner == migration_current();
    if (mis->yank &&
        !yank_register_instance(YANK_KIND_MIGRATION, NULL, &mis->error)) {
        mis->yank = false;
        migration_channel_close(ch);
        incoming_set_status(mis, MIGRATION_STATUS_FAILED);
        main_loop_schedule_bh(migration_incoming_exit_on_failure, mis);
        return;
    }
    if (mis->yank) {
        yank_register_function(YANK_KIND_MIGRATION, NULL, incoming_yank_fn,
                               mis);
    }
    g_mutex_lock(&mis->lock);
    mis->ch = *ch;
    mis->from_src = qemu_file_new_fd_input(ch->fd, true);
    g_mutex_unlock(&mis->lock);
    incoming_set_status(mis, MIGRATION_STATUS_ACTIVE);
    if (pthread_create(&mis->thread, NULL, incoming_thread, mis)) {
        error_setg_errno(&mis->error, errno,
                         "cannot start the incoming migration thread");
        incoming_set_status(mis, MIGRATION_STATUS_FAILED);
        main_loop_schedule_bh(migration_incoming_exit_on_failure, mis);
        return;
    }
    mis->thread_joinable = true;
}

/*
 * Process exit (main loop, BQL held): stop a load in progress and wait
 * for the incoming thread, before guest RAM and the VM are freed under
 * it. A failure it reports now schedules a bottom half that never runs,
 * so quitting does not turn into "load of migration failed".
 */
void migration_incoming_shutdown(MigrationIncoming *mis)
{
    if (!mis->thread_joinable) {
        return;
    }
    colo_begin_quit(mis->owner->colo);
    g_mutex_lock(&mis->lock);
    mis->recover_quit = true;
    g_cond_broadcast(&mis->recover_cond);
    g_mutex_unlock(&mis->lock);
    migration_incoming_cut(mis);
    bql_unlock();
    pthread_join(mis->thread, NULL);
    bql_lock();
    mis->thread_joinable = false;
}

static bool incoming_start(MigrationIncoming *mis, const char *uri,
                           Error **errp)
{
    /* postcopy-preempt (set before the incoming migration starts, as
     * QEMU asks): the source opens a second connection. */
    unsigned nconn = migrate_cap(&mis->owner->opts,
                                 MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) ? 2 :
                                                                          1;

    mis->started = true;
    incoming_set_status(mis, MIGRATION_STATUS_SETUP);
    if (!migration_channel_listen_n(uri, nconn, NULL, incoming_accept, mis,
                                    &mis->addrs, &mis->listener, errp)) {
        mis->started = false;
        incoming_set_status(mis, MIGRATION_STATUS_NONE);
        return false;
    }
    return true;
}

bool migration_incoming_init(const char *uri, bool autostart, Error **errp)
{
    MigrationIncoming *mis = migration_current()->incoming;

    /* -incoming defer only waits (in inmigrate, disks inactive): allowed
     * where migration is not (-accel qtest), refused at migrate-incoming. */
    if (strcmp(uri, "defer") && !migration_supported(errp)) {
        return false;
    }

    mis->enabled = true;
    mis->autostart = autostart;
    runstate_set(RUN_STATE_INMIGRATE);
    /* The source owns the disks until the switchover. */
    if (!migration_block_incoming_init(mis->owner, errp)) {
        return false;
    }
    if (!strcmp(uri, "defer")) {
        return true;
    }
    return incoming_start(mis, uri, errp);
}

void migration_incoming_request_autostart(void)
{
    migration_current()->incoming->autostart = true;
}

bool migration_incoming_start_uri(MigrationIncoming *mis, const char *uri,
                                  bool autostart, Error **errp)
{
    mis->enabled = true;
    mis->autostart = autostart;
    return incoming_start(mis, uri, errp);
}

bool migration_incoming_enabled(MigrationIncoming *mis)
{
    return mis->enabled;
}

bool migration_incoming_started(MigrationIncoming *mis)
{
    return mis->started;
}

MigrationStatus migration_incoming_status(MigrationIncoming *mis)
{
    return __atomic_load_n(&mis->status, __ATOMIC_SEQ_CST);
}

void qmp_migrate_incoming(const char *uri, Error **errp)
{
    MigrationIncoming *mis = migration_current()->incoming;
    g_autofree char *resolved = NULL;
    int owned_fd = -1;

    if (!mis->enabled) {
        error_setg(errp, "'-incoming' was not specified on the command line");
        return;
    }
    if (mis->started) {
        error_setg(errp, "The incoming migration has already been started");
        return;
    }
    if (!migration_supported(errp)) {
        return;
    }
    /* The destination owns an fd: URI's fd, getfd-named ones included. */
    resolved = migration_uri_take_named_fd(uri, &owned_fd, errp);
    if (!resolved) {
        return;
    }
    if (!migration_uri_check(resolved, errp)) {
        if (owned_fd >= 0) {
            close(owned_fd);
        }
        return;
    }
    incoming_start(mis, resolved, errp);
}

static SocketAddressList *incoming_addrs_copy(const SocketAddressList *l)
{
    SocketAddressList *head = NULL, **tail = &head;

    for (; l; l = l->next) {
        SocketAddressList *n = g_new0(SocketAddressList, 1);

        n->value = g_new0(SocketAddress, 1);
        n->value->type = l->value->type;
        if (l->value->type == SOCKET_ADDRESS_TYPE_INET) {
            n->value->u.inet.host = g_strdup(l->value->u.inet.host);
            n->value->u.inet.port = g_strdup(l->value->u.inet.port);
        } else if (l->value->type == SOCKET_ADDRESS_TYPE_UNIX) {
            n->value->u.q_unix.path = g_strdup(l->value->u.q_unix.path);
        } else {
            n->value->u.fd.str = g_strdup(l->value->u.fd.str);
        }
        *tail = n;
        tail = &n->next;
    }
    return head;
}

/* postcopy-blocktime's figures, once postcopy-listen came. */
static void incoming_blocktime_info(MigrationIncoming *mis,
                                    MigrationInfo *info)
{
    PostcopyBlocktimeInfo bt;
    uint32List **tail = &info->postcopy_vcpu_blocktime;

    if (!migrate_cap(&mis->owner->opts,
                     MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME) ||
        !postcopy_incoming_blocktime(mis->owner->vmstate, &bt)) {
        return;
    }
    info->has_postcopy_blocktime = true;
    info->postcopy_blocktime = MIN(bt.total_us / 1000, UINT32_MAX);
    for (unsigned v = 0; v < bt.nr_vcpus; v++) {
        uint32List *e = g_new0(uint32List, 1);

        e->value = MIN(bt.vcpu_us[v] / 1000, UINT32_MAX);
        *tail = e;
        tail = &e->next;
    }
    info->has_x_postcopy_latency_p50 = true;
    info->x_postcopy_latency_p50 = bt.lat_p50_us;
    info->has_x_postcopy_latency_p99 = true;
    info->x_postcopy_latency_p99 = bt.lat_p99_us;
    info->has_x_postcopy_latency_max = true;
    info->x_postcopy_latency_max = bt.lat_max_us;
    g_free(bt.vcpu_us);
}

bool migration_incoming_info(MigrationIncoming *mis, MigrationInfo *info)
{
    MigrationStatus st;

    if (!mis->enabled) {
        return false;
    }
    st = __atomic_load_n(&mis->status, __ATOMIC_SEQ_CST);
    if (st == MIGRATION_STATUS_NONE) {
        return true;
    }
    info->has_status = true;
    info->status = st;
    if (st == MIGRATION_STATUS_SETUP || st == MIGRATION_STATUS_ACTIVE) {
        g_mutex_lock(&mis->lock);
        info->socket_address = incoming_addrs_copy(mis->addrs);
        g_mutex_unlock(&mis->lock);
    }
    if (st == MIGRATION_STATUS_FAILED && mis->error) {
        info->error_desc = g_strdup(error_get_pretty(mis->error));
    }
    /* Why it paused, as QEMU shows an error whatever the status. */
    g_mutex_lock(&mis->lock);
    if (!info->error_desc && mis->pause_error) {
        info->error_desc = g_strdup(error_get_pretty(mis->pause_error));
    }
    g_mutex_unlock(&mis->lock);
    incoming_blocktime_info(mis, info);
    return true;
}

const MigrationOptions *migration_incoming_options(MigrationIncoming *mis)
{
    return &mis->owner->opts;
}

void migration_incoming_colo_started(MigrationIncoming *mis)
{
    incoming_set_status(mis, MIGRATION_STATUS_COLO);
}

void migration_incoming_cut(MigrationIncoming *mis)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&mis->lock);

    if (mis->from_src) {
        trace_migration_yank("incoming");
        qemu_file_shutdown(mis->from_src);
        migration_channel_shutdown(&mis->ch);
    }
}
