/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source's waits on the destination are bounded (issue 10, item 6):
 *
 * - x-switchover-resume-timeout: its QMP and HMP plumbing and range
 *   checks, and a real migration (this process's migration object, over
 *   a socketpair, to a fake destination that reads the whole stream and
 *   never answers) that must fail within the bound, name the parameter
 *   and resume the guest;
 * - the return path is read while RAM is sent: a fake destination that
 *   stops reading and sends garbage (or a message nobody asked for) must
 *   fail the migration at once, releasing the blocked migration thread;
 * - the return-path reader keeps a partial message across a wake-up
 *   (the listener thread hands the return path to the switchover);
 * - and the one wait an operator ends: pause-before-switchover holds the
 *   stopped guest in pre-switchover until migrate-continue (the
 *   switchover then goes on) or migrate_cancel (the guest resumes).
 *
 * No /dev/kvm: the migrated "machine" has no vCPUs, and a fake live
 * entry stands in for RAM.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "migration/migration.h"
#include "migration/savevm.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "endless-entry.h"
#include "watchdog.h"
#include "../../migration/migration-internal.h"

#define TEST_TIMEOUT_S  30

/* ---- the parameter ---- */

static MigrationParameters *params(void)
{
    return qmp_query_migrate_parameters(&error_abort);
}

static void set_resume_timeout(uint32_t ms)
{
    MigrateSetParameters p = {
        .has_x_switchover_resume_timeout = true,
        .x_switchover_resume_timeout = ms,
    };

    qmp_migrate_set_parameters(&p, &error_abort);
}

static void test_parameter_qmp(void)
{
    MigrateSetParameters both = {
        .has_x_switchover_resume_timeout = true,
        .x_switchover_resume_timeout = 3600001,
        .has_downtime_limit = true,
        .downtime_limit = 7,
    };
    MigrateSetParameters low = {
        .has_x_switchover_resume_timeout = true,
        .x_switchover_resume_timeout = 99,
    };
    Error *err = NULL;

    {
        g_autoptr(MigrationParameters) p = params();

        g_assert_true(p->has_x_switchover_resume_timeout);
        g_assert_cmpuint(p->x_switchover_resume_timeout, ==, 30000);
    }
    set_resume_timeout(100);
    set_resume_timeout(3600000);
    set_resume_timeout(1234);
    {
        g_autoptr(MigrationParameters) p = params();

        g_assert_cmpuint(p->x_switchover_resume_timeout, ==, 1234);
    }
    qmp_migrate_set_parameters(&low, &err);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'x-switchover-resume-timeout' expects an "
                    "integer in the range of 100 to 3600000 milliseconds");
    error_free(err);
    err = NULL;
    /* Refused as a whole: neither member changes. */
    qmp_migrate_set_parameters(&both, &err);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "x-switchover-resume-timeout"));
    error_free(err);
    {
        g_autoptr(MigrationParameters) p = params();

        g_assert_cmpuint(p->x_switchover_resume_timeout, ==, 1234);
        g_assert_cmpuint(p->downtime_limit, !=, 7);
    }
    set_resume_timeout(30000);
}

static void test_parameter_hmp(void)
{
    g_autofree char *set = NULL, *bad = NULL, *info = NULL;

    set = hmp_run_command("migrate_set_parameter x-switchover-resume-timeout "
                          "4500", &error_abort);
    g_assert_cmpstr(set, ==, "");
    info = hmp_run_command("info migrate_parameters", &error_abort);
    g_assert_nonnull(strstr(info, "x-switchover-resume-timeout: 4500 ms"));
    bad = hmp_run_command("migrate_set_parameter x-switchover-resume-timeout "
                          "50", &error_abort);
    g_assert_nonnull(strstr(bad, "expects an integer in the range of 100 "
                            "to 3600000"));
    {
        g_autoptr(MigrationParameters) p = params();

        g_assert_cmpuint(p->x_switchover_resume_timeout, ==, 4500);
    }
    set_resume_timeout(30000);
}

/* ---- a fake destination ---- */

typedef enum DestMode {
    DEST_SILENT,        /* reads everything, never answers */
    DEST_GARBAGE,       /* reads 1 MiB, stops reading, sends garbage */
    DEST_UNEXPECTED,    /* the same with a well-formed "resumed" */
} DestMode;

typedef struct FakeDest {
    int fd;
    int src_fd;             /* the source's end, dup'ed by its thread */
    DestMode mode;
    uint64_t received;      /* atomic */
    bool sent;              /* atomic: the bad message went out */
    int release_fd;         /* eventfd: the test is done, stop */
    GThread *thread;
} FakeDest;

static bool dest_read_some(FakeDest *d)
{
    uint8_t buf[65536];
    ssize_t n = read(d->fd, buf, sizeof(buf));

    if (n < 0 && errno == EINTR) {
        return true;
    }
    if (n <= 0) {
        return false;       /* the source closed: the migration ended */
    }
    __atomic_fetch_add(&d->received, n, __ATOMIC_SEQ_CST);
    return true;
}

static gpointer dest_thread(gpointer opaque)
{
    FakeDest *d = opaque;
    /* Type 7 does not exist; length 0. */
    static const uint8_t garbage[] = { 0x00, 0x07, 0x00, 0x00 };
    /* A well-formed "resumed" (type 2, 8 bytes), sent unasked. */
    static const uint8_t resumed[12] = { 0x00, 0x02, 0x00, 0x08 };
    uint64_t v;

    if (d->mode == DEST_SILENT) {
        while (dest_read_some(d)) {
            /* drain */
        }
        return NULL;
    }
    while (__atomic_load_n(&d->received, __ATOMIC_SEQ_CST) < (1u << 20)) {
        if (!dest_read_some(d)) {
            return NULL;
        }
    }
    /* Stop reading: the source fills the socket and blocks writing. */
    g_usleep(300 * 1000);
    if (d->mode == DEST_GARBAGE) {
        g_assert_cmpint(write(d->fd, garbage, sizeof(garbage)), ==,
                        sizeof(garbage));
    } else {
        g_assert_cmpint(write(d->fd, resumed, sizeof(resumed)), ==,
                        sizeof(resumed));
    }
    __atomic_store_n(&d->sent, true, __ATOMIC_SEQ_CST);
    g_assert_cmpint(read(d->release_fd, &v, sizeof(v)), ==, sizeof(v));
    return NULL;
}

/* Starts a migration of this process to d over a socketpair. */
static void migrate_to_fake(FakeDest *d, DestMode mode)
{
    int sv[2];
    g_autofree char *uri = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    *d = (FakeDest) { .fd = sv[0], .src_fd = sv[1], .mode = mode };
    d->release_fd = eventfd(0, EFD_CLOEXEC);
    d->thread = g_thread_new("fake-dest", dest_thread, d);
    uri = g_strdup_printf("fd:%d", sv[1]);
    qmp_migrate(uri, false, false, false, false, &error_abort);
}

static void fake_dest_finish(FakeDest *d)
{
    uint64_t one = 1;

    g_assert_cmpint(write(d->release_fd, &one, sizeof(one)), ==, sizeof(one));
    shutdown(d->fd, SHUT_RDWR);
    g_thread_join(d->thread);
    close(d->fd);
    close(d->src_fd);
    close(d->release_fd);
}

/* Waits until the migration leaves setup/active; returns its info. */
static MigrationInfo *wait_migration_end(int64_t limit_us)
{
    int64_t deadline = g_get_monotonic_time() + limit_us;

    for (;;) {
        MigrationInfo *info = qmp_query_migrate(&error_abort);

        if (info->status != MIGRATION_STATUS_SETUP &&
            info->status != MIGRATION_STATUS_ACTIVE) {
            return info;
        }
        if (g_get_monotonic_time() > deadline) {
            return info;
        }
        qapi_free_MigrationInfo(info);
        g_usleep(10 * 1000);
    }
}

static RunState current_runstate(void)
{
    BQL_LOCK_GUARD();

    return runstate_get();
}

static void guest_running(void)
{
    BQL_LOCK_GUARD();

    vm_start();
}

/* A destination that takes the whole stream and never says "resumed". */
static void test_resume_timeout_expires(void)
{
    FakeDest d;
    int64_t t0, elapsed;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    guest_running();
    set_resume_timeout(300);
    t0 = g_get_monotonic_time();
    migrate_to_fake(&d, DEST_SILENT);
    /* The old constant bound was 30 s: 5 s is far below it. */
    g_autoptr(MigrationInfo) info = wait_migration_end(5 * 1000000);
    elapsed = g_get_monotonic_time() - t0;

    g_assert_cmpint(info->status, ==, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(info->error_desc);
    g_assert_cmpstr(info->error_desc, ==,
                    "the destination did not report its guest running "
                    "within 300 ms (x-switchover-resume-timeout)");
    g_assert_cmpint(elapsed, >=, 300 * 1000);
    /* The stream really was sent: the wait began after the end. */
    g_assert_cmpuint(__atomic_load_n(&d.received, __ATOMIC_SEQ_CST), >, 0);
    g_assert_cmpint(current_runstate(), ==, RUN_STATE_RUNNING);
    fake_dest_finish(&d);
    set_resume_timeout(30000);
    test_watchdog_disarm();
}

/* ---- pause-before-switchover ---- */

static void set_cap(MigrationCapability cap, bool on)
{
    MigrationCapabilityStatus st = { .capability = cap, .state = on };
    MigrationCapabilityStatusList l = { .value = &st };

    qmp_migrate_set_capabilities(&l, &error_abort);
}

/* Polls query-migrate until the status is want; fails after limit_us. */
static void wait_status(MigrationStatus want, int64_t limit_us)
{
    int64_t deadline = g_get_monotonic_time() + limit_us;

    for (;;) {
        g_autoptr(MigrationInfo) info = qmp_query_migrate(&error_abort);

        if (info->status == want) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
}

static void assert_error(Error *err, const char *want)
{
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
}

/* Migrates to a silent destination until the pause: status
 * pre-switchover, guest stopped, the pause held. */
static void migrate_until_paused(FakeDest *d)
{
    MigrationCapabilityStatus st = {
        .capability = MIGRATION_CAPABILITY_EVENTS, .state = true,
    };
    MigrationCapabilityStatusList l = { .value = &st };
    Error *err = NULL;

    guest_running();
    set_cap(MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER, true);
    migrate_to_fake(d, DEST_SILENT);
    wait_status(MIGRATION_STATUS_PRE_SWITCHOVER, 5 * 1000000);
    g_assert_cmpint(current_runstate(), ==, RUN_STATE_FINISH_MIGRATE);
    /* It waits: nothing moves without migrate-continue. */
    g_usleep(200 * 1000);
    {
        g_autoptr(MigrationInfo) info = qmp_query_migrate(&error_abort);

        g_assert_cmpint(info->status, ==, MIGRATION_STATUS_PRE_SWITCHOVER);
    }
    qmp_migrate_set_capabilities(&l, &err);
    assert_error(err, "There's a migration process in progress");
    err = NULL;
    qmp_migrate_continue(MIGRATION_STATUS_ACTIVE, &err);
    assert_error(err, "Migration not in expected state: pre-switchover");
}

/* migrate_cancel during the pause: cancelled, the guest runs here. */
static void test_pause_cancel(void)
{
    FakeDest d;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    migrate_until_paused(&d);
    qmp_migrate_cancel(&error_abort);
    wait_status(MIGRATION_STATUS_CANCELLED, 5 * 1000000);
    g_assert_cmpint(current_runstate(), ==, RUN_STATE_RUNNING);
    fake_dest_finish(&d);
    set_cap(MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER, false);
    test_watchdog_disarm();
}

/* migrate-continue: the switchover goes on and sends the rest (here the
 * silent destination then lets x-switchover-resume-timeout fail it, so
 * the guest resumes). */
static void test_pause_continue(void)
{
    uint64_t before;
    FakeDest d;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    set_resume_timeout(300);
    migrate_until_paused(&d);
    g_usleep(100 * 1000);   /* what was sent before the pause is read */
    before = __atomic_load_n(&d.received, __ATOMIC_SEQ_CST);
    qmp_migrate_continue(MIGRATION_STATUS_PRE_SWITCHOVER, &error_abort);
    wait_status(MIGRATION_STATUS_FAILED, 5 * 1000000);
    {
        g_autoptr(MigrationInfo) info = qmp_query_migrate(&error_abort);

        g_assert_cmpstr(info->error_desc, ==,
                        "the destination did not report its guest running "
                        "within 300 ms (x-switchover-resume-timeout)");
    }
    /* The device state and the end of the stream went out. */
    g_assert_cmpuint(__atomic_load_n(&d.received, __ATOMIC_SEQ_CST), >,
                     before);
    g_assert_cmpint(current_runstate(), ==, RUN_STATE_RUNNING);
    fake_dest_finish(&d);
    set_cap(MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER, false);
    set_resume_timeout(30000);
    test_watchdog_disarm();
}

/* Refusals: no pause to continue, and not with x-strict-downtime. */
static void test_pause_refusals(void)
{
    MigrationCapabilityStatus both[2] = {
        { .capability = MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
          .state = true },
        { .capability = MIGRATION_CAPABILITY_X_STRICT_DOWNTIME,
          .state = true },
    };
    MigrationCapabilityStatusList l2 = { .value = &both[1] };
    MigrationCapabilityStatusList l1 = { .value = &both[0], .next = &l2 };
    Error *err = NULL;
    g_autofree char *hmp = NULL;

    qmp_migrate_continue(MIGRATION_STATUS_PRE_SWITCHOVER, &err);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Migration not in expected state: "));
    error_free(err);
    err = NULL;
    qmp_migrate_set_capabilities(&l1, &err);
    assert_error(err, "x-strict-downtime and pause-before-switchover cannot "
                 "be used together: the pause for migrate-continue is part "
                 "of the downtime that x-strict-downtime promises to "
                 "bound");
    {
        g_autoptr(MigrationCapabilityStatusList) caps =
            qmp_query_migrate_capabilities(&error_abort);

        for (MigrationCapabilityStatusList *c = caps; c; c = c->next) {
            if (c->value->capability ==
                MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER) {
                g_assert_false(c->value->state);
            }
        }
    }
    hmp = hmp_run_command("migrate_continue paused-somehow", &error_abort);
    g_assert_nonnull(strstr(hmp, "Parameter 'state' does not accept value "
                            "'paused-somehow'"));
}

static void check_bad_return_path(DestMode mode, const char *want)
{
    SaveVMState *vs = savevm_default();
    FakeDest d;
    int64_t t_sent;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    guest_running();
    g_assert_true(savevm_register_live(vs, ENDLESS_ENTRY_ID, 0, 1,
                                       &endless_entry_ops, NULL,
                                       &error_abort));
    migrate_to_fake(&d, mode);
    while (!__atomic_load_n(&d.sent, __ATOMIC_SEQ_CST)) {
        g_usleep(1000);
    }
    t_sent = g_get_monotonic_time();
    /* "At once": without the listener it would never end (the entry
     * never converges and the migration thread is blocked writing). */
    g_autoptr(MigrationInfo) info = wait_migration_end(3 * 1000000);

    g_assert_cmpint(info->status, ==, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(info->error_desc);
    g_assert_cmpstr(info->error_desc, ==, want);
    g_assert_cmpint(g_get_monotonic_time() - t_sent, <, 3 * 1000000);
    g_assert_cmpint(current_runstate(), ==, RUN_STATE_RUNNING);
    fake_dest_finish(&d);
    savevm_unregister(vs, ENDLESS_ENTRY_ID, 0);
    test_watchdog_disarm();
}

static void test_return_path_garbage(void)
{
    check_bad_return_path(DEST_GARBAGE,
                          "return path: bad message type 7 length 0");
}

static void test_return_path_unexpected(void)
{
    check_bad_return_path(DEST_UNEXPECTED,
                          "return path: unexpected 'resumed' message while "
                          "RAM is being sent");
}

/*
 * A yank (migration_cut) while RAM is sent closes the return path too:
 * that is the yank's failure, not the destination's.
 */
static void test_return_path_yank(void)
{
    SaveVMState *vs = savevm_default();
    FakeDest d;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    guest_running();
    g_assert_true(savevm_register_live(vs, ENDLESS_ENTRY_ID, 0, 1,
                                       &endless_entry_ops, NULL,
                                       &error_abort));
    migrate_to_fake(&d, DEST_SILENT);
    while (__atomic_load_n(&d.received, __ATOMIC_SEQ_CST) < (1u << 20)) {
        g_usleep(1000);
    }
    migration_cut(migration_current());
    g_autoptr(MigrationInfo) info = wait_migration_end(3 * 1000000);

    g_assert_cmpint(info->status, ==, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(info->error_desc);
    g_assert_null(strstr(info->error_desc, "return path"));
    g_assert_cmpint(current_runstate(), ==, RUN_STATE_RUNNING);
    fake_dest_finish(&d);
    savevm_unregister(vs, ENDLESS_ENTRY_ID, 0);
    test_watchdog_disarm();
}

/* ---- the reader ---- */

/* A wake-up ends a wait; the half-read message is kept for the next. */
static void test_reader_wake_keeps_partial(void)
{
    static const uint8_t pong[16] = {
        0x00, 0x01, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x05,
    };
    MigRpReader r;
    MigRpMsg msg;
    uint64_t one = 1;
    int sv[2];

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    r = (MigRpReader) { .fd = sv[0], .wake_fd = eventfd(0, EFD_CLOEXEC) };
    g_assert_cmpint(write(sv[1], pong, 6), ==, 6);
    g_assert_cmpint(write(r.wake_fd, &one, sizeof(one)), ==, sizeof(one));
    /* No deadline: only the wake-up can end this wait. */
    g_assert_cmpint(mig_rp_read(&r, -1, &msg, &error_abort), ==, 0);
    close(r.wake_fd);
    r.wake_fd = -1;
    g_assert_cmpint(write(sv[1], pong + 6, 10), ==, 10);
    g_assert_cmpint(mig_rp_read(&r, g_get_monotonic_time() + 2000000, &msg,
                                &error_abort), ==, 1);
    g_assert_cmpint(msg.type, ==, MIG_RP_PONG);
    g_assert_cmpuint(mig_be32(msg.data), ==, 5);
    /* Nothing more: a short deadline passes. */
    g_assert_cmpint(mig_rp_read(&r, g_get_monotonic_time() + 20000, &msg,
                                &error_abort), ==, 0);
    close(sv[0]);
    close(sv[1]);
    test_watchdog_disarm();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();
    monitor_init_globals();
    g_test_add_func("/migration-bounds/resume-timeout/qmp",
                    test_parameter_qmp);
    g_test_add_func("/migration-bounds/resume-timeout/hmp",
                    test_parameter_hmp);
    g_test_add_func("/migration-bounds/pause/cancel", test_pause_cancel);
    g_test_add_func("/migration-bounds/pause/continue", test_pause_continue);
    g_test_add_func("/migration-bounds/pause/refusals", test_pause_refusals);
    g_test_add_func("/migration-bounds/resume-timeout/expires",
                    test_resume_timeout_expires);
    g_test_add_func("/migration-bounds/return-path/garbage",
                    test_return_path_garbage);
    g_test_add_func("/migration-bounds/return-path/unexpected",
                    test_return_path_unexpected);
    g_test_add_func("/migration-bounds/return-path/yank",
                    test_return_path_yank);
    g_test_add_func("/migration-bounds/return-path/reader-wake",
                    test_reader_wake_keeps_partial);
    return g_test_run();
}
