/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The COLO secondary: after the initial migration the incoming thread
 * stays here, running the SVM and applying the primary's checkpoints.
 *
 *   set-up     RAM cache := guest RAM, SVM dirty log on, SVM started,
 *              checkpoint-ready ->
 *   idle       wait for checkpoint-request (no bound: the primary decides
 *              when; x-colo-lost-heartbeat or yank end the wait)
 *   request    stop the SVM (runstate colo), <- checkpoint-reply
 *   receive    vmstate-send, RAM pages into the cache (never into SVM
 *              RAM), vmstate-size + the device blob into a buffer; every
 *              read bounded by x-colo-peer-timeout
 *   received   -> vmstate-received: the whole checkpoint is held
 *   apply      (BQL) cache -> SVM RAM for pages dirtied by either side,
 *              device state loaded on top (no reset: every subsection is
 *              in the blob), CHECKPOINT_LOADED, SVM resumed
 *   loaded     -> vmstate-loaded
 *
 * All or nothing: a checkpoint cut short before "received" leaves SVM RAM
 * and devices untouched (only the cache, which is dropped, saw its pages).
 * With x-stream-checksum (on by default with x-colo) a corrupted one is
 * caught before "received" too: the RAM's CRC32C is checked as it
 * arrives, every device section's before vmstate-received is sent.
 * After "received" the checkpoint is applied whatever the primary does.
 *
 * The secondary never fails over by itself: when the primary is lost it
 * stops the SVM and waits for x-colo-lost-heartbeat (the operator or a
 * fencing agent decides; no split brain). The command during a checkpoint
 * in flight is a relaunch: the checkpoint finishes (or fails), then the
 * failover runs. Failover: cache dropped, SVM dirty log off, FAILOVER
 * notified (held output released), SVM runs, COLO_EXIT(secondary,
 * request), or reason error when it had lost its primary before the
 * command (as QEMU reports it).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "colo-internal.h"
#include "net/announce.h"
#include "migration-internal.h"
#include "migration/colo-message.h"
#include "migration/colo-ram-cache.h"
#include "migration/ram.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "trace.h"

#define COLO_SVM_APPLY_DEFER_US 100

typedef struct ColoSecondary {
    MigrationIncoming *mis;     /* whose connection a failover cuts */
    ColoState *colo;
    SaveVMState *vs;
    QEMUFile *from_pvm;         /* the migration stream */
    QEMUFile *to_pvm;           /* the return path */
    /* A held checkpoint failed to apply after its RAM was committed: the
     * SVM's state is neither the old nor the new checkpoint. */
    bool state_torn;
    int sock_fd;
    ColoRamCache *cache;
    const unsigned long *const *svm_dirty;  /* taken at checkpoint-request */
    uint8_t *blob;
    size_t blob_cap;
} ColoSecondary;

/* The current x-colo-peer-timeout (a change applies from the next use). */
static uint32_t colo_secondary_peer_timeout_ms(ColoSecondary *c)
{
    return migrate_colo_peer_timeout_ms(migration_incoming_options(c->mis));
}

/* 0: no receive timeout (idle); otherwise x-colo-peer-timeout. */
static void colo_secondary_set_rcv_timeout(ColoSecondary *c, bool bounded)
{
    struct timeval tv = { 0 };

    if (bounded) {
        tv = colo_timeval(colo_secondary_peer_timeout_ms(c));
    }
    setsockopt(c->sock_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Called by a failover request or quit, after it dropped the COLO state
 * lock (a kick may block on the transport's lock). */
static void colo_secondary_kick(void *opaque)
{
    ColoSecondary *c = opaque;

    qemu_file_shutdown(c->to_pvm);
    migration_incoming_cut(c->mis);
}

static bool colo_secondary_receive(ColoSecondary *c, ColoMessage msg,
                                   uint64_t *value, Error **errp)
{
    if (!colo_receive_message(c->from_pvm, msg, value, errp)) {
        int ret = qemu_file_get_error(c->from_pvm, NULL);

        if (ret == -ETIMEDOUT) {
            error_prepend(errp, "the primary sent nothing for %u ms: ",
                          colo_secondary_peer_timeout_ms(c));
        }
        return false;
    }
    trace_colo_receive(colo_message_name(msg));
    return true;
}

/*
 * Idle: pre-sent RAM pages (into the cache, the SVM keeps running) until
 * checkpoint-request. False: COLO ends (*errp set).
 */
static bool colo_secondary_receive_idle(ColoSecondary *c, Error **errp)
{
    static const ColoMessage idle[] = {
        COLO_MESSAGE_CHECKPOINT_REQUEST, COLO_MESSAGE_X_RAM_PRESEND,
    };

    for (;;) {
        ColoMessage got;
        uint64_t pages;

        if (!colo_receive_one_of(c->from_pvm, idle, G_N_ELEMENTS(idle), &got,
                                 NULL, errp)) {
            return false;
        }
        trace_colo_receive(colo_message_name(got));
        if (got == COLO_MESSAGE_CHECKPOINT_REQUEST) {
            return true;
        }
        /* The pages follow at once: a pause here is a lost primary. */
        colo_secondary_set_rcv_timeout(c, true);
        if (!ram_checkpoint_load(c->vs, c->from_pvm, &pages, errp)) {
            error_prepend(errp, "COLO: pre-sent RAM: ");
            return false;
        }
        colo_secondary_set_rcv_timeout(c, false);
    }
}

/*
 * x-stream-checksum: every section of the device blob is checked before
 * vmstate-received (the RAM was checked as it arrived), so a corrupted
 * checkpoint is dropped whole and the SVM stays on the last good one.
 */
static bool colo_secondary_verify_blob(ColoSecondary *c, size_t len,
                                       Error **errp)
{
    if (!qemu_file_checksums(c->from_pvm) ||
        loadvm_verify_device_blob(c->blob, len, errp)) {
        return true;
    }
    error_prepend(errp, "COLO: checkpoint dropped, device state: ");
    return false;
}

/* request .. received. False: the checkpoint is dropped (*errp set). */
static bool colo_secondary_receive_checkpoint(ColoSecondary *c,
                                              uint64_t *pages, size_t *len,
                                              Error **errp)
{
    uint64_t size;

    bql_lock();
    vm_stop(RUN_STATE_COLO);
    bql_unlock();
    /* The SVM's own dirty pages, harvested now (it is stopped) rather than
     * after vmstate-received, where the primary's guest waits on us. */
    if (!ram_checkpoint_svm_dirty_take(c->vs, &c->svm_dirty, errp)) {
        return false;
    }
    if (!colo_send_message(c->to_pvm, COLO_MESSAGE_CHECKPOINT_REPLY, errp)) {
        return false;
    }
    colo_secondary_set_rcv_timeout(c, true);
    if (!colo_secondary_receive(c, COLO_MESSAGE_VMSTATE_SEND, NULL, errp)) {
        return false;
    }
    if (!ram_checkpoint_load(c->vs, c->from_pvm, pages, errp)) {
        error_prepend(errp, "COLO: checkpoint dropped, RAM: ");
        return false;
    }
    if (!colo_secondary_receive(c, COLO_MESSAGE_VMSTATE_SIZE, &size, errp)) {
        return false;
    }
    if (size > COLO_MAX_DEVICE_BLOB) {
        error_setg(errp, "COLO: device state of %" PRIu64 " bytes exceeds "
                   "the %u allowed", size, COLO_MAX_DEVICE_BLOB);
        return false;
    }
    if (size > c->blob_cap) {
        c->blob_cap = MAX(size, c->blob_cap * 2);
        c->blob = g_realloc(c->blob, c->blob_cap);
    }
    if (!qemu_get_buffer(c->from_pvm, c->blob, size)) {
        error_setg(errp, "COLO: device state cut short after %" PRIu64
                   " bytes expected: %s", size,
                   qemu_file_error_message(c->from_pvm));
        return false;
    }
    *len = size;
    return colo_secondary_verify_blob(c, size, errp);
}

/* BQL: the held checkpoint becomes the SVM's state. */
static bool colo_secondary_apply(ColoSecondary *c, size_t len,
                                 ColoRamCommitStats *commit, Error **errp)
{
    QEMUFile *devs;
    bool ok;

    if (!colo_ram_cache_commit(c->cache, c->svm_dirty, commit, errp)) {
        return false;
    }
    devs = qemu_file_new_mem_input(c->blob, len, false);
    qemu_file_set_checksums(devs, qemu_file_checksums(c->from_pvm));
    ok = loadvm_load_device_blob(c->vs, devs, errp);
    qemu_fclose(devs);
    if (!ok) {
        error_prepend(errp, "COLO: loading the checkpoint's devices: ");
        return false;
    }
    colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
    vm_start();
    return true;
}

/* One checkpoint, from checkpoint-request (already read) to loaded.
 * False: COLO ends (*errp set). */
static bool colo_secondary_checkpoint(ColoSecondary *c, Error **errp)
{
    ColoRamCommitStats commit = { 0 };
    uint64_t pages = 0;
    size_t len = 0;
    int64_t t_stop = migration_now_us();
    bool received, applied;
    Error *send_err = NULL;

    received = colo_secondary_receive_checkpoint(c, &pages, &len, errp);
    colo_secondary_set_rcv_timeout(c, false);
    if (!received) {
        /* Dropped (cut short, or corrupted: the connection may still be
         * up): the primary's guest is stopped until it hears from us, so
         * it hears now rather than after x-colo-peer-timeout. */
        colo_secondary_kick(c);
        return false;
    }
    /* We hold it all: it is applied even if the primary is gone now. */
    if (!colo_send_message(c->to_pvm, COLO_MESSAGE_VMSTATE_RECEIVED,
                           &send_err)) {
        trace_colo_secondary_send_failed(error_get_pretty(send_err));
    }
    /*
     * Give the primary's thread the CPU before applying: its guest is
     * stopped until it reads vmstate-received, ours can wait. With both
     * sides on one host (tests, benchmarks, the demo) applying at once
     * delays the primary's wake-up by the whole apply (measured: ~0.45 ms
     * of a 0.9 ms pause); on separate hosts this costs the SVM 0.1 ms.
     */
    g_usleep(COLO_SVM_APPLY_DEFER_US);
    bql_lock();
    applied = colo_secondary_apply(c, len, &commit, errp);
    bql_unlock();
    if (!applied) {
        c->state_torn = true;
        error_free(send_err);
        return false;
    }
    colo_stats_record(&c->colo->stats, migration_now_us() - t_stop,
                      commit.pages, pages * GUEST_PAGE_SIZE + len,
                      COLO_TRIGGER__MAX);
    trace_colo_secondary_applied(pages, commit.pages, commit.time_us, len);
    if (send_err) {
        error_propagate(errp, send_err);
        return false;
    }
    return colo_send_message(c->to_pvm, COLO_MESSAGE_VMSTATE_LOADED, errp);
}

/*
 * The primary is lost: the SVM waits, stopped, for the command. The loss
 * is reported (query-colo-status, X_COLO_PEER_LOST, info colo) and makes
 * the exit reason error (colo_failover_exit_reason). A loop that ended
 * because the command came first did not lose its primary by itself.
 */
static void colo_secondary_wait_for_failover(ColoSecondary *c, Error *err)
{
    if (colo_failover_state(c->colo) == FAILOVER_STATUS_NONE &&
        !colo_quitting(c->colo)) {
        error_report("COLO: lost the primary (%s); the secondary waits for "
                     "x-colo-lost-heartbeat", colo_error_reason(err));
        colo_peer_lost(c->colo, colo_error_reason(err));
        bql_lock();
        if (runstate_is_running()) {
            vm_stop(RUN_STATE_COLO);
        }
        bql_unlock();
    }
    while (colo_failover_state(c->colo) == FAILOVER_STATUS_NONE &&
           !colo_quitting(c->colo)) {
        struct pollfd fd = { .fd = colo_wake_fd(c->colo), .events = POLLIN };

        poll(&fd, 1, 1000);
        colo_take_triggers(c->colo);
    }
}

static void colo_secondary_failover(ColoSecondary *c)
{
    bool quitting = colo_quitting(c->colo);

    colo_failover_move(c->colo, FAILOVER_STATUS_REQUIRE,
                       FAILOVER_STATUS_ACTIVE);
    colo_failover_move(c->colo, FAILOVER_STATUS_RELAUNCH,
                       FAILOVER_STATUS_ACTIVE);
    migration_incoming_cut(c->mis);
    bql_lock();
    ram_checkpoint_cache_detach(c->vs);
    ram_checkpoint_svm_log_stop(c->vs);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    if (c->state_torn) {
        /* Running it could corrupt what the guest writes out; the
         * operator decides (the primary, if alive, still has the guest). */
        error_report("COLO: the secondary's guest state is incomplete (a "
                     "checkpoint failed to apply); it stays paused");
        runstate_set(RUN_STATE_PAUSED);
    } else if (!quitting) {
        vm_start();
        /* The guest answers from this host now (the primary's port is
         * dead): the switches must learn it. */
        AnnounceParameters a;

        migrate_announce_params(migration_incoming_options(c->mis), &a);
        net_announce_start(&a);
    }
    bql_unlock();
    colo_run_end(c->colo, colo_failover_exit_reason(c->colo), false);
}

bool colo_secondary_run(MigrationIncoming *mis, ColoState *colo,
                        SaveVMState *vs, QEMUFile *from_pvm, int sock_fd,
                        int rp_fd, Error **errp)
{
    ColoSecondary c = {
        .mis = mis,
        .colo = colo,
        .vs = vs,
        .from_pvm = from_pvm,
        .sock_fd = sock_fd,
    };
    struct timeval tv = colo_timeval(
        migrate_colo_peer_timeout_ms(migration_incoming_options(mis)));
    Error *err = NULL;

    g_assert(bql_locked());
    c.cache = ram_checkpoint_cache_attach(vs, errp);
    if (!c.cache) {
        return false;
    }
    if (!ram_checkpoint_svm_log_start(vs, errp)) {
        ram_checkpoint_cache_detach(vs);
        colo_ram_cache_free(c.cache);
        return false;
    }
    setsockopt(sock_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c.to_pvm = qemu_file_new_fd_output(rp_fd, false);
    colo_run_begin(c.colo, COLO_MODE_SECONDARY, colo_secondary_kick, &c);
    migration_incoming_colo_started(mis);
    colo_notify(COLO_EVENT_START, COLO_MODE_SECONDARY);
    /* COLO's SVM always runs (QEMU ignores -S here too). */
    vm_start();
    bql_unlock();

    if (colo_send_message(c.to_pvm, COLO_MESSAGE_CHECKPOINT_READY, &err)) {
        for (;;) {
            if (colo_failover_state(c.colo) != FAILOVER_STATUS_NONE ||
                colo_quitting(c.colo)) {
                break;
            }
            if (!colo_secondary_receive_idle(&c, &err)) {
                break;
            }
            colo_checkpoint_phase_enter(c.colo);
            if (!colo_secondary_checkpoint(&c, &err)) {
                colo_checkpoint_phase_leave(c.colo);
                break;
            }
            if (colo_checkpoint_phase_leave(c.colo)) {
                break;          /* relaunch: the failover runs now */
            }
        }
    }
    colo_secondary_wait_for_failover(&c, err);
    error_free(err);
    colo_secondary_failover(&c);
    qemu_fclose(c.to_pvm);
    colo_ram_cache_free(c.cache);
    g_free(c.blob);
    bql_lock();
    /* Whatever ended the run, the secondary failed over and lives on:
     * a COLO secondary never exits on a bad checkpoint. */
    return true;
}
