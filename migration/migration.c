/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source side of live migration: the QMP commands migrate,
 * migrate_cancel and query-migrate, the status machine (drawn in
 * include/migration/migration.h), and the migration thread, which reads
 * as its steps:
 *
 *   migration_open          connect the transport (failure: failed, the
 *                           guest never stopped)
 *   migration_setup_stream  header, open-return-path, live entries' setup
 *   migration_iterate       one rate-limited pass over the live entries,
 *                           bandwidth measured, pending bytes estimated;
 *                           meanwhile return-path.c's listener thread
 *                           checks what the destination sends
 *   switchover.c            stop the guest, send the rest, hand over
 *   migration_postcopy      or, after migrate-start-postcopy and a first
 *                           full pass (migration-postcopy.c): switch
 *                           (switchover.c), then the rest of RAM in the
 *                           background, requested pages first, through
 *                           pauses and recoveries, until the
 *                           destination's "shut"
 *   migration_finish        dirty logging off, transport closed, final
 *                           status; the guest runs here unless completed
 *
 * The thread holds no lock while iterating; it takes the BQL to stop the
 * guest and save devices (switchover.c) and to clean up.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include "migration-internal.h"
#include "colo-internal.h"
#include "savevm-internal.h"
#include "migration/dirty-rate.h"
#include "migration/postcopy.h"
#include "migration/ram.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "util/yank.h"
#include "trace.h"

/* Bandwidth is measured over windows of at least this long. */
#define MIGRATION_BW_WINDOW_US  100000
/* Strict failure: how long to wait for the last attempt's late pong. */
#define MIGRATION_LATE_PONG_WAIT_US (2 * 1000000)

/*
 * The process's migration object, the one root that QMP commands and the
 * machine reach it through. Everything below that takes a MigrationState
 * works on the object it is given, so a test may build two.
 */
static MigrationState *migration_root;

MigrationState *migration_new(void)
{
    MigrationState *s = g_new0(MigrationState, 1);

    s->status = MIGRATION_STATUS_NONE;
    s->downtime_ms = -1;
    s->learned_fixed_us = 5000;     /* a few ms until measured */
    s->go_reserve_us = switchover_budget_go_us(&s->go_budget, 0);
    s->ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    s->pch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    s->rp = (MigRpReader) { .fd = -1, .wake_fd = -1 };
    s->uri_owned_fd = -1;
    g_mutex_init(&s->lock);
    switchover_pause_init(&s->pause);
    g_cond_init(&s->resume_cond);
    migration_options_init(&s->opts);
    s->incoming = migration_incoming_new(s);
    s->colo = colo_state_new();
    s->dirty_rate = dirty_rate_new();
    s->blockers = g_ptr_array_new_with_free_func(g_free);
    s->vmstate = savevm_state_new();
    return s;
}

void migration_free(MigrationState *s)
{
    if (!s) {
        return;
    }
    g_assert(!s->thread_running);
    g_strfreev(s->block.nodes);
    migration_incoming_free(s->incoming);
    colo_state_free(s->colo);
    dirty_rate_free(s->dirty_rate);
    g_ptr_array_free(s->blockers, TRUE);
    savevm_state_free(s->vmstate);
    g_free(s->uri);
    error_free(s->error);
    g_cond_clear(&s->resume_cond);
    g_mutex_clear(&s->lock);
    switchover_pause_destroy(&s->pause);
    g_free(s);
}

MigrationState *migration_current(void)
{
    if (g_once_init_enter(&migration_root)) {
        g_once_init_leave(&migration_root, migration_new());
    }
    return migration_root;
}

/* What devices register in: the root's registry. */
SaveVMState *savevm_default(void)
{
    return migration_current()->vmstate;
}

int64_t migration_now_us(void)
{
    return g_get_monotonic_time();
}

MigrationStatus migration_status(MigrationState *s)
{
    return __atomic_load_n(&s->status, __ATOMIC_SEQ_CST);
}

/* Moves old -> next unless the status changed meanwhile (cancel won). */
bool migration_try_status(MigrationState *s, MigrationStatus old,
                          MigrationStatus next)
{
    int expected = old;

    if (!__atomic_compare_exchange_n(&s->status, &expected, next, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        return false;
    }
    trace_migration_set_status(MigrationStatus_str(old),
                               MigrationStatus_str(next));
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_EVENTS)) {
        qapi_event_send_migration(next);
    }
    return true;
}


void migration_set_status(MigrationState *s, MigrationStatus old,
                          MigrationStatus next)
{
    migration_try_status(s, old, next);
}

bool migration_is_active(MigrationState *s)
{
    MigrationStatus st = migration_status(s);

    return st == MIGRATION_STATUS_SETUP || st == MIGRATION_STATUS_ACTIVE ||
           st == MIGRATION_STATUS_PRE_SWITCHOVER ||
           st == MIGRATION_STATUS_DEVICE ||
           st == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
           st == MIGRATION_STATUS_POSTCOPY_PAUSED ||
           st == MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP ||
           st == MIGRATION_STATUS_POSTCOPY_RECOVER ||
           st == MIGRATION_STATUS_CANCELLING || st == MIGRATION_STATUS_COLO;
}

DirtyRate *migration_dirty_rate(MigrationState *s)
{
    return s->dirty_rate;
}

bool migration_owns_guest_ram(MigrationState *s)
{
    switch (migration_incoming_status(s->incoming)) {
    case MIGRATION_STATUS_NONE:
    case MIGRATION_STATUS_COMPLETED:
    case MIGRATION_STATUS_FAILED:
    case MIGRATION_STATUS_CANCELLED:
        return migration_is_active(s);
    default:
        return true;
    }
}

bool migration_add_blocker(MigrationState *s, const char *reason,
                           Error **errp)
{
    /* QEMU's words, which a dump during a migration gets. */
    if (migration_owns_guest_ram(s)) {
        error_setg(errp, "disallowing migration blocker (migration/snapshot "
                   "in progress) for: %s", reason);
        return false;
    }
    trace_migration_blocker_add(reason);
    g_ptr_array_add(s->blockers, g_strdup(reason));
    return true;
}

void migration_del_blocker(MigrationState *s, const char *reason)
{
    for (guint i = 0; i < s->blockers->len; i++) {
        if (!strcmp(g_ptr_array_index(s->blockers, i), reason)) {
            trace_migration_blocker_del(reason);
            g_ptr_array_remove_index(s->blockers, i);
            return;
        }
    }
}

void migration_set_error(MigrationState *s, Error *err)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (!s->error) {
        s->error = err;
    } else {
        error_free(err);
    }
}

bool migration_cancelled(MigrationState *s)
{
    return __atomic_load_n(&s->cancel, __ATOMIC_SEQ_CST);
}

/*
 * The connection was cut (yank, or the return-path listener on a bad
 * message). Checked by the loop itself: a shut-down stream reports its
 * error only on the next write, and a rate-limited pass may write
 * nothing at all.
 */
bool migration_was_cut(MigrationState *s)
{
    return __atomic_load_n(&s->cut, __ATOMIC_SEQ_CST);
}

MigrationStats *migration_ram_stats(MigrationState *s,
                                    uint64_t *dirty_sync_count)
{
    MigrationStats *st = g_new0(MigrationStats, 1);
    RamMigrationStats r;

    ram_migration_stats_snapshot(s->vmstate, &r);
    st->transferred = r.transferred;
    st->remaining = r.remaining;
    st->total = r.total;
    st->duplicate = r.duplicate;
    st->normal = r.normal;
    st->normal_bytes = r.normal_bytes;
    st->dirty_pages_rate = r.dirty_pages_rate;
    st->dirty_sync_count = r.dirty_sync_count;
    st->pages_per_second = r.pages_per_second;
    st->postcopy_requests = r.postcopy_requests;
    st->page_size = GUEST_PAGE_SIZE;
    st->precopy_bytes = r.precopy_bytes;
    st->downtime_bytes = r.downtime_bytes;
    st->postcopy_bytes = r.postcopy_bytes;
    if (dirty_sync_count) {
        *dirty_sync_count = r.dirty_sync_count;
    }
    return st;
}

/* ---- the thread's steps ---- */

static void migration_yank_fn(void *opaque)
{
    Error *err = NULL;

    error_setg(&err, "migration connection shut down (yank)");
    migration_set_error(opaque, err);
    migration_cut(opaque);
}

/* A getfd-named fd was taken for this migration: the channel has its
 * own copy (or failed), so ours goes. */
static void migration_close_uri_fd(MigrationState *s)
{
    if (s->uri_owned_fd >= 0) {
        close(s->uri_owned_fd);
        s->uri_owned_fd = -1;
    }
}

/*
 * postcopy-preempt: the second connection, to the same address, after
 * the main one (the destination takes its second connection for the
 * preempt channel), announced by its handshake.
 */
static bool migration_open_preempt(MigrationState *s, Error **errp)
{
    MigrationChannel ch;

    if (!migration_channel_connect(s->uri, &s->cancel, &ch, errp)) {
        error_prepend(errp, "postcopy-preempt: cannot open the preempt "
                      "channel: ");
        return false;
    }
    g_mutex_lock(&s->lock);
    s->pch = ch;
    s->to_dst_preempt = qemu_file_new_fd_output(ch.fd, true);
    g_mutex_unlock(&s->lock);
    postcopy_preempt_send_header(s->to_dst_preempt);
    return !qemu_file_get_error(s->to_dst_preempt, errp);
}

bool migration_open(MigrationState *s, Error **errp)
{
    MigrationChannel ch;
    bool connected = migration_channel_connect(s->uri, &s->cancel, &ch,
                                               errp);

    migration_close_uri_fd(s);
    if (!connected) {
        return false;
    }
    /* The yank instance lives exactly as long as s->to_dst. */
    if (!yank_register_instance(YANK_KIND_MIGRATION, NULL, errp)) {
        migration_channel_close(&ch);
        return false;
    }
    yank_register_function(YANK_KIND_MIGRATION, NULL, migration_yank_fn, s);
    g_mutex_lock(&s->lock);
    s->ch = ch;
    s->to_dst = qemu_file_new_fd_output(ch.fd, true);
    s->has_rp = ch.rp_fd >= 0;
    s->rp = (MigRpReader) { .fd = ch.rp_fd, .wake_fd = -1 };
    g_mutex_unlock(&s->lock);
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME) &&
        !s->has_rp) {
        error_setg(errp, "x-strict-downtime needs a return path: use a "
                   "tcp:, unix: or socket fd: transport");
        return false;
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_COLO) && !s->has_rp) {
        error_setg(errp, "x-colo needs a return path: use a tcp:, unix: or "
                   "socket fd: transport");
        return false;
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM) &&
        !s->has_rp) {
        error_setg(errp, "postcopy-ram needs a return path: use a tcp:, "
                   "unix: or socket fd: transport");
        return false;
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) &&
        !migration_open_preempt(s, errp)) {
        return false;
    }
    /* A cancel that raced with the connect shuts the new channel too. */
    if (migration_cancelled(s)) {
        error_setg(errp, "migration cancelled");
        return false;
    }
    return true;
}

/* Closes both connections (the yank instance goes with the main one). */
void migration_close_channels(MigrationState *s)
{
    QEMUFile *f;

    g_mutex_lock(&s->lock);
    f = s->to_dst_preempt;
    s->to_dst_preempt = NULL;
    g_mutex_unlock(&s->lock);
    if (f) {
        qemu_fclose(f);
    }
    migration_channel_close(&s->pch);
    g_mutex_lock(&s->lock);
    s->pch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    f = s->to_dst;
    s->to_dst = NULL;
    g_mutex_unlock(&s->lock);
    if (f) {
        yank_unregister_function(YANK_KIND_MIGRATION, NULL,
                                 migration_yank_fn, s);
        yank_unregister_instance(YANK_KIND_MIGRATION, NULL);
        qemu_fclose(f);
    }
    migration_channel_close(&s->ch);
    g_mutex_lock(&s->lock);
    s->ch = (MigrationChannel) { .fd = -1, .rp_fd = -1 };
    s->rp = (MigRpReader) { .fd = -1, .wake_fd = -1 };
    g_mutex_unlock(&s->lock);
}

static bool migration_setup_stream(MigrationState *s, Error **errp)
{
    bool colo = migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_COLO);

    qemu_file_set_checksums(s->to_dst, migrate_cap(
        &s->opts, MIGRATION_CAPABILITY_X_STREAM_CHECKSUM));
    savevm_state_header(s->to_dst);
    if (s->has_rp) {
        savevm_send_command(s->to_dst, SAVEVM_CMD_OPEN_RETURN_PATH, NULL, 0);
    }
    /* COLO: the destination becomes the secondary. RAM's dirty log
     * outlives the initial migration's completion (until cleanup), which
     * the checkpoints build on. */
    if (colo) {
        savevm_send_command(s->to_dst, SAVEVM_CMD_ENABLE_COLO, NULL, 0);
    }
    /* Postcopy: the destination checks it can, before any RAM. */
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM)) {
        postcopy_send_advise(s->to_dst);
    }
    qemu_file_set_rate_limit(s->to_dst, migrate_max_bandwidth(&s->opts));
    if (!savevm_state_setup(s->vmstate, s->to_dst, errp)) {
        return false;
    }
    if (s->to_dst_preempt) {
        postcopy_source_set_preempt(s->vmstate, s->to_dst_preempt);
    }
    g_mutex_lock(&s->lock);
    s->setup_us = migration_now_us() - s->start_us;
    g_mutex_unlock(&s->lock);
    return migration_try_status(s, MIGRATION_STATUS_SETUP,
                                MIGRATION_STATUS_ACTIVE);
}

int64_t migration_expected_downtime_ms(MigrationState *s, uint64_t pending)
{
    uint64_t bw = s->bandwidth;

    if (!bw) {
        bw = migrate_max_bandwidth(&s->opts) ?: (1ull << 30);
    }
    return (int64_t)(pending * 1000 / bw) + s->learned_fixed_us / 1000;
}

/* Sleeps off the rate limit in slices that notice a cancel. */
static void migration_rate_limit_wait(MigrationState *s)
{
    int64_t delay = qemu_file_rate_limit_delay_us(s->to_dst);

    while (delay > 0 && !migration_cancelled(s) && !migration_was_cut(s) &&
           !qemu_file_get_error(s->to_dst, NULL)) {
        int64_t slice = MIN(delay, 20000);

        g_usleep(slice);
        delay -= slice;
    }
}

/*
 * Mbit/s for bytes sent over elapsed_us. A transfer shorter than the
 * clock's resolution still took time: it counts as 1 us, so a migration
 * that moved data never reports 0.
 */
double migration_mbps(uint64_t bytes, int64_t elapsed_us)
{
    return (double)bytes * 8 / (double)MAX(elapsed_us, 1);
}

/*
 * The figure query-migrate shows once precopy has handed the guest over:
 * the whole stream over the whole transfer (total time less setup), as
 * QEMU reports it. The windowed figure of migration_iterate() is only a
 * live estimate; a migration that ends inside its first window never
 * sets it.
 */
void migration_record_throughput(MigrationState *s)
{
    uint64_t bytes = qemu_file_transferred(s->to_dst);
    int64_t now = migration_now_us();

    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    s->mbps = migration_mbps(bytes, now - s->start_us - s->setup_us);
}

void migration_emit_pass(MigrationState *s, uint64_t sync_count)
{
    if (sync_count != s->last_sync_count) {
        s->last_sync_count = sync_count;
        if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_EVENTS)) {
            qapi_event_send_migration_pass(sync_count);
        }
    }
}

/* One pass; *pending: bytes the live entries still have to send. */
static bool migration_iterate(MigrationState *s, int64_t *window_us,
                              uint64_t *window_bytes, uint64_t *pending,
                              bool *done, Error **errp)
{
    int64_t now;
    uint64_t sent;
    uint64_t sync_count;

    qemu_file_set_rate_limit(s->to_dst, migrate_max_bandwidth(&s->opts));
    if (!savevm_state_iterate(s->vmstate, s->to_dst, done, errp)) {
        return false;
    }
    if (qemu_file_rate_limit(s->to_dst)) {
        migration_rate_limit_wait(s);
    }
    now = migration_now_us();
    sent = qemu_file_transferred(s->to_dst);
    if (now - *window_us >= MIGRATION_BW_WINDOW_US) {
        s->bandwidth = (sent - *window_bytes) * 1000000 / (now - *window_us);
        g_mutex_lock(&s->lock);
        s->mbps = migration_mbps(sent - *window_bytes, now - *window_us);
        g_mutex_unlock(&s->lock);
        *window_us = now;
        *window_bytes = sent;
    }
    *pending = savevm_state_pending(s->vmstate);
    g_autoptr(MigrationStats) st = migration_ram_stats(s, &sync_count);
    migration_emit_pass(s, sync_count);
    return !qemu_file_get_error(s->to_dst, errp);
}

/* The strict SLA failed for good: sets *errp with what it needed. */
static void migration_strict_failure(MigrationState *s, Error **errp)
{
    /* The last aborted attempt's pong tells what it really needed. */
    if (s->has_rp) {
        migration_rp_wait_late_pong(s, migration_now_us() +
                                       MIGRATION_LATE_PONG_WAIT_US);
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    error_setg(errp, "downtime-limit of %" PRIu64 " ms cannot be met (last "
               "switchover needed %" PRId64 " ms)",
               migrate_downtime_limit_ms(&s->opts),
               s->strict_last_overrun_ms);
}

/*
 * After an aborted strict switchover (precopy's or postcopy's): false
 * with the strict error once the aborts reach the bound; else precopy
 * goes on, its bandwidth window restarted (the guest was stopped).
 */
static bool migration_strict_retry(MigrationState *s, int64_t *window_us,
                                   uint64_t *window_bytes, Error **errp)
{
    if (s->strict_aborts >= MIGRATION_STRICT_MAX_ABORTS) {
        migration_strict_failure(s, errp);
        return false;
    }
    *window_us = migration_now_us();
    *window_bytes = qemu_file_transferred(s->to_dst);
    return true;
}

/*
 * The error that tells why a migration stopped: the one recorded first
 * (by whoever cut the connection: yank, migrate-pause, the return-path
 * listener), taken from s, rather than err, the consequence seen here
 * (freed); fallback if there is neither.
 */
Error *migration_take_first_error(MigrationState *s, Error *err,
                                  const char *fallback)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (s->error) {
        error_free(err);
        err = s->error;
        s->error = NULL;
    }
    if (!err) {
        error_setg(&err, "%s", fallback);
    }
    return err;
}

/* Iterates until a switchover hands the guest over. */
static bool migration_run(MigrationState *s, Error **errp)
{
    int64_t window_us = migration_now_us();
    uint64_t window_bytes = qemu_file_transferred(s->to_dst);
    bool strict = migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME);

    /* Bad return-path messages fail the migration while RAM is sent. */
    if (!migration_rp_listen_start(s, errp)) {
        return false;
    }
    for (;;) {
        uint64_t pending = 0;
        bool done = false;
        int64_t expected;

        if (migration_cancelled(s)) {
            error_setg(errp, "migration cancelled");
            return false;
        }
        if (migration_rp_failed(s)) {
            return false;       /* the listener recorded why */
        }
        if (migration_was_cut(s)) {
            error_setg(errp, "migration connection shut down (yank)");
            return false;
        }
        if (!migration_iterate(s, &window_us, &window_bytes, &pending, &done,
                               errp)) {
            return false;
        }
        expected = migration_expected_downtime_ms(s, pending);
        trace_migration_iterate(pending, s->bandwidth, expected);
        g_mutex_lock(&s->lock);
        s->expected_downtime_ms = expected;
        g_mutex_unlock(&s->lock);
        if (!(done && !pending) &&
            expected > (int64_t)migrate_downtime_limit_ms(&s->opts)) {
            if (!migration_postcopy_due(s)) {
                continue;
            }
            if (!strict) {
                return migration_postcopy(s, errp);
            }
            /* The listener keeps running: it takes the pong and the
             * requests (switchover-postcopy.c). */
            switch (migration_switchover_postcopy_strict(s)) {
            case MIGRATION_SWITCHOVER_DONE:
                return migration_postcopy_after_switch(s, errp);
            case MIGRATION_SWITCHOVER_FAILED:
                return false;
            case MIGRATION_SWITCHOVER_ABORTED:
                if (!migration_strict_retry(s, &window_us, &window_bytes,
                                            errp)) {
                    return false;
                }
                break;
            }
            continue;
        }
        /* The switchover reads the return path itself, with deadlines. */
        migration_rp_listen_stop(s);
        if (migration_rp_failed(s)) {
            return false;
        }
        switch (strict ? migration_switchover_strict(s)
                       : migration_switchover(s)) {
        case MIGRATION_SWITCHOVER_DONE:
            migration_record_throughput(s);
            return true;
        case MIGRATION_SWITCHOVER_FAILED:
            /* switchover.c recorded the error (migration_set_error). */
            return false;
        case MIGRATION_SWITCHOVER_ABORTED:
            if (!migration_strict_retry(s, &window_us, &window_bytes, errp) ||
                !migration_rp_listen_start(s, errp)) {
                return false;
            }
            break;
        }
    }
}

static void migration_finish(MigrationState *s, bool ok, Error *err)
{
    MigrationStatus st = migration_status(s);
    bool split = __atomic_load_n(&s->postcopy_run_sent, __ATOMIC_SEQ_CST);

    /* A failure while iterating leaves the listener running. */
    migration_rp_listen_stop(s);
    __atomic_store_n(&s->start_postcopy, false, __ATOMIC_SEQ_CST);
    if (!ok && split) {
        /* The destination may run the guest on what it has: resuming
         * here would run it twice. It stays stopped (finish-migrate). */
        /* The first error is the reason (the listener's, say), not the
         * write error the cut it made caused here. */
        err = migration_take_first_error(s, err, "postcopy failed");
        error_prepend(&err, "postcopy failed after the switch, the guest's "
                      "state is split between source and destination (the "
                      "source's guest stays stopped): ");
    }
    {
        BQL_LOCK_GUARD();
        /* Stops dirty logging; the guest's RAM is untouched. */
        savevm_state_cleanup(s->vmstate);
        if (!ok && !split && runstate_get() == RUN_STATE_FINISH_MIGRATE) {
            migration_block_reactivate(s);
            if (s->was_running) {
                vm_start();
            } else {
                runstate_set(RUN_STATE_PAUSED);
            }
        }
    }
    migration_close_channels(s);
    g_mutex_lock(&s->lock);
    s->end_us = migration_now_us();
    g_mutex_unlock(&s->lock);
    if (ok) {
        error_free(err);
        migration_try_status(s, st, MIGRATION_STATUS_COMPLETED);
    } else if (migration_cancelled(s)) {
        error_free(err);
        migration_try_status(s, MIGRATION_STATUS_CANCELLING,
                             MIGRATION_STATUS_CANCELLED);
    } else {
        if (err) {
            migration_set_error(s, err);
        }
        g_mutex_lock(&s->lock);
        if (s->error) {
            error_report("migration failed: %s", error_get_pretty(s->error));
        }
        g_mutex_unlock(&s->lock);
        migration_try_status(s, st, MIGRATION_STATUS_FAILED);
    }
    trace_migration_thread_end(MigrationStatus_str(migration_status(s)));
}

static void *migration_thread(void *opaque)
{
    MigrationState *s = opaque;
    Error *err = NULL;
    bool ok;

    g_autofree char *name = g_strdup("live_migration");
    pthread_setname_np(pthread_self(), name);
    ok = migration_open(s, &err) && migration_setup_stream(s, &err) &&
         migration_run(s, &err);
    if (ok && migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_COLO)) {
        colo_primary_run(s);    /* ends in failover: completed */
    }
    migration_finish(s, ok, err);
    return NULL;
}

/* ---- QMP ---- */

/* migrate resume=true: the paused postcopy migration's new URI. */
static void migration_qmp_resume(MigrationState *s, const char *uri_arg,
                                 Error **errp)
{
    g_autofree char *uri = NULL;
    int owned_fd = -1;

    if (migration_status(s) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return;
    }
    uri = migration_uri_take_named_fd(uri_arg, &owned_fd, errp);
    if (uri && !migration_resume(s, uri, owned_fd, errp) && owned_fd >= 0) {
        close(owned_fd);
    }
}

void qmp_migrate(const char *uri_arg, bool has_detach, bool detach,
                 bool has_resume, bool resume, Error **errp)
{
    MigrationState *s = migration_current();
    g_autofree char *uri = NULL;
    int owned_fd = -1;

    if (!migration_supported(errp)) {
        return;
    }
    if (has_resume && resume) {
        migration_qmp_resume(s, uri_arg, errp);
        return;
    }
    if (migration_is_active(s)) {
        error_setg(errp, "There's a migration process in progress");
        return;
    }
    if (runstate_get() == RUN_STATE_INMIGRATE) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return;
    }
    if (s->blockers->len) {
        error_setg(errp, "%s", (const char *)g_ptr_array_index(s->blockers, 0));
        return;
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME) &&
        (g_str_has_prefix(uri_arg, "exec:") ||
         g_str_has_prefix(uri_arg, "file:"))) {
        error_setg(errp, "x-strict-downtime needs a return path: use a "
                   "tcp:, unix: or socket fd: transport");
        return;
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_COLO)) {
        if (g_str_has_prefix(uri_arg, "exec:") ||
            g_str_has_prefix(uri_arg, "file:")) {
            error_setg(errp, "x-colo needs a return path: use a tcp:, unix: "
                       "or socket fd: transport");
            return;
        }
        if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME)) {
            error_setg(errp, "x-colo and x-strict-downtime cannot be used "
                       "together");
            return;
        }
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM) &&
        (g_str_has_prefix(uri_arg, "exec:") ||
         g_str_has_prefix(uri_arg, "file:"))) {
        error_setg(errp, "postcopy-ram needs a return path: use a tcp:, "
                   "unix: or socket fd: transport");
        return;
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) &&
        !g_str_has_prefix(uri_arg, "tcp:") &&
        !g_str_has_prefix(uri_arg, "unix:")) {
        error_setg(errp, "postcopy-preempt opens a second connection: use a "
                   "tcp: or unix: transport");
        return;
    }
    /* Last: from here on a getfd-named fd is ours and must be closed. */
    uri = migration_uri_take_named_fd(uri_arg, &owned_fd, errp);
    if (!uri) {
        return;
    }
    if (!migration_uri_check(uri, errp)) {
        if (owned_fd >= 0) {
            close(owned_fd);
        }
        return;
    }
    if (s->thread_running) {
        pthread_join(s->thread, NULL);
        s->thread_running = false;
    }
    g_mutex_lock(&s->lock);
    g_free(s->uri);
    s->uri = g_strdup(uri);
    s->uri_owned_fd = owned_fd;
    error_free(s->error);
    s->error = NULL;
    s->start_us = migration_now_us();
    s->setup_us = s->end_us = 0;
    s->downtime_ms = -1;
    s->expected_downtime_ms = 0;
    s->mbps = 0;
    s->strict_aborts = 0;
    s->strict_last_overrun_ms = 0;
    s->resume = false;
    s->pause_quit = false;
    g_mutex_unlock(&s->lock);
    s->cancel = false;
    s->bandwidth = 0;
    s->strict_attempt = 0;
    s->strict_stop_us = 0;
    s->pc_strict_pong = 0;
    s->rp_failed = false;
    s->cut = false;
    /* start_postcopy stays: migrate-start-postcopy may come first. */
    s->postcopy_run_sent = false;
    s->postcopy_shut = 0;
    s->postcopy_stop_us = 0;
    s->postcopy_resumed = false;
    s->was_running = runstate_is_running();
    ram_migration_stats_reset(s->vmstate);
    migration_try_status(s, migration_status(s), MIGRATION_STATUS_SETUP);
    if (pthread_create(&s->thread, NULL, migration_thread, s)) {
        error_setg_errno(errp, errno, "cannot start the migration thread");
        migration_close_uri_fd(s);
        migration_try_status(s, MIGRATION_STATUS_SETUP,
                             MIGRATION_STATUS_FAILED);
        return;
    }
    s->thread_running = true;
}

/*
 * Process exit (main loop, BQL held): cancel an outgoing migration and
 * wait for its thread, before guest RAM and the VM are freed under it.
 * The thread takes the BQL to finish, so it is dropped while waiting.
 */
void migration_shutdown(void)
{
    MigrationState *s = migration_current();

    if (s->thread_running) {
        qmp_migrate_cancel(NULL);
        /* Postcopy ignores a cancel (the guest runs on the destination);
         * quitting cuts it: that guest loses its page source. */
        /* A paused postcopy waits no longer (a recovery's handshake
         * included: the cut ends it). */
        g_mutex_lock(&s->lock);
        s->pause_quit = true;
        g_cond_broadcast(&s->resume_cond);
        g_mutex_unlock(&s->lock);
        switch (migration_status(s)) {
        case MIGRATION_STATUS_POSTCOPY_ACTIVE:
        case MIGRATION_STATUS_POSTCOPY_PAUSED:
        case MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP:
        case MIGRATION_STATUS_POSTCOPY_RECOVER:
            migration_cut(s);
            break;
        default:
            break;
        }
        colo_begin_quit(s->colo);
        bql_unlock();
        pthread_join(s->thread, NULL);
        bql_lock();
        s->thread_running = false;
    }
    migration_incoming_shutdown(s->incoming);
    dirty_rate_shutdown(s->dirty_rate);
}

void qmp_migrate_cancel(Error **errp)
{
    MigrationState *s = migration_current();
    MigrationStatus st = migration_status(s);

    if (st != MIGRATION_STATUS_SETUP && st != MIGRATION_STATUS_ACTIVE &&
        st != MIGRATION_STATUS_PRE_SWITCHOVER &&
        st != MIGRATION_STATUS_DEVICE) {
        return;
    }
    __atomic_store_n(&s->cancel, true, __ATOMIC_SEQ_CST);
    if (!migration_try_status(s, st, MIGRATION_STATUS_CANCELLING)) {
        return;         /* it ended meanwhile */
    }
    switchover_pause_wake(&s->pause);
    /* Unblock the thread wherever it waits on the peer. */
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (s->to_dst) {
        qemu_file_shutdown(s->to_dst);
    }
    if (s->to_dst_preempt) {
        qemu_file_shutdown(s->to_dst_preempt);
    }
    migration_channel_shutdown(&s->ch);
    migration_channel_shutdown(&s->pch);
}

/*
 * QEMU's check, in QEMU's words, then the flag the migration thread
 * acts on after its first full pass (migration_postcopy_due). Unlike
 * QEMU, which refuses it before migrate ("Postcopy must be started after
 * migration has been started"), it may come first: the next migrate
 * switches after its first pass. The flag is cleared when a migration
 * ends.
 */
void migration_start_postcopy(MigrationState *s, Error **errp)
{
    if (!migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM)) {
        error_setg(errp, "Enable postcopy with migrate_set_capability before "
                   "the start of migration");
        return;
    }
    trace_migration_start_postcopy(MigrationStatus_str(migration_status(s)));
    __atomic_store_n(&s->start_postcopy, true, __ATOMIC_SEQ_CST);
}

void qmp_migrate_start_postcopy(Error **errp)
{
    migration_start_postcopy(migration_current(), errp);
}

bool migration_pause(MigrationState *s, Error **errp)
{
    MigrationStatus st = migration_status(s);

    if (st == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
        st == MIGRATION_STATUS_POSTCOPY_RECOVER) {
        Error *why = NULL;

        trace_migration_postcopy_step("migrate-pause");
        error_setg(&why, "migration paused by migrate-pause");
        migration_set_error(s, why);
        migration_cut(s);
        return true;
    }
    if (migration_incoming_pause(s->incoming)) {
        return true;
    }
    error_setg(errp, "migrate-pause is currently only supported during "
               "postcopy-active or postcopy-recover state");
    return false;
}

void qmp_migrate_pause(Error **errp)
{
    migration_pause(migration_current(), errp);
}

void migration_cut(MigrationState *s)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    if (s->to_dst) {
        trace_migration_yank("outgoing");
        /* Before the shutdown: the listener must see why its socket
         * closed (a cut, not a destination that hung up). */
        __atomic_store_n(&s->cut, true, __ATOMIC_SEQ_CST);
        qemu_file_shutdown(s->to_dst);
        migration_channel_shutdown(&s->ch);
        if (s->to_dst_preempt) {
            qemu_file_shutdown(s->to_dst_preempt);
        }
        migration_channel_shutdown(&s->pch);
    }
}

static void migration_fill_info(MigrationState *s, MigrationInfo *info)
{
    MigrationStatus st = migration_status(s);
    int64_t now = migration_now_us();
    /* Taken before RAM's published_lock (migration_ram_stats), never
     * after it. */
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    info->has_status = true;
    info->status = st;
    info->has_total_time = true;
    info->total_time = ((s->end_us ? s->end_us : now) - s->start_us) / 1000;
    if (st != MIGRATION_STATUS_SETUP) {
        info->has_setup_time = true;
        info->setup_time = s->setup_us / 1000;
    }
    if (st == MIGRATION_STATUS_ACTIVE) {
        info->has_expected_downtime = true;
        info->expected_downtime = s->expected_downtime_ms;
    }
    if (st == MIGRATION_STATUS_COMPLETED && s->downtime_ms >= 0) {
        info->has_downtime = true;
        info->downtime = s->downtime_ms;
    }
    /* Why it failed, or why postcopy paused (as QEMU shows). */
    if ((st == MIGRATION_STATUS_FAILED ||
         st == MIGRATION_STATUS_POSTCOPY_PAUSED ||
         st == MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP ||
         st == MIGRATION_STATUS_POSTCOPY_RECOVER) && s->error) {
        info->error_desc = g_strdup(error_get_pretty(s->error));
    }
    if (migrate_cap(&s->opts, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME) ||
        s->strict_aborts) {
        info->has_x_strict_aborts = true;
        info->x_strict_aborts = s->strict_aborts;
        info->has_x_strict_last_overrun = true;
        info->x_strict_last_overrun = s->strict_last_overrun_ms;
    }
    if (st != MIGRATION_STATUS_SETUP) {
        info->ram = migration_ram_stats(s, NULL);
        info->ram->mbps = s->mbps;
    }
}

MigrationInfo *qmp_query_migrate(Error **errp)
{
    MigrationState *s = migration_current();
    MigrationInfo *info = g_new0(MigrationInfo, 1);

    /* An outgoing migration, else the incoming side of a destination. */
    if (migration_status(s) != MIGRATION_STATUS_NONE) {
        migration_fill_info(s, info);
    } else {
        migration_incoming_info(s->incoming, info);
    }
    /* As QEMU: whatever the status, while something blocks migrate. */
    for (guint i = s->blockers->len; i-- > 0;) {
        strList *l = g_new0(strList, 1);

        l->value = g_strdup(g_ptr_array_index(s->blockers, i));
        l->next = info->blocked_reasons;
        info->blocked_reasons = l;
    }
    return info;
}

static const char *migration_unsupported;

void migration_set_unsupported(const char *reason)
{
    migration_unsupported = reason;
}

bool migration_supported(Error **errp)
{
    if (migration_unsupported) {
        error_setg(errp, "Migration is not supported: %s",
                   migration_unsupported);
        return false;
    }
    return true;
}

bool migration_machine_init(SaveVMState *s, GuestMemory *mem, KvmState *kvm,
                            Error **errp)
{
    /* The machine may have registered its RAM itself already. */
    if (savevm_find(s, RAM_MIGRATION_IDSTR, 0)) {
        return true;
    }
    return ram_migration_register(s, mem, kvm, errp);
}
