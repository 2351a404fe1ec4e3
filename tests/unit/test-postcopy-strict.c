/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x-strict-downtime with postcopy-ram in one process, no KVM: this
 * process's migration object (the real migration thread, the return-path
 * listener, the strict postcopy switch of migration/switchover-postcopy.c)
 * against a second migration object's real incoming side (the incoming
 * thread, userfaultfd, mig/pc-load and mig/pc-start), over a socketpair,
 * as in test-postcopy-migration.
 *
 * Stand-ins: the source's guest is a thread dirtying the first half of
 * RAM while the run state is "running" (it pauses when the switch stops
 * the guest and writes again when an aborted switch resumes it); the
 * destination's vCPUs are threads that read pages once the destination
 * started its guest (migration_incoming_guest_starts). Two devices
 * migrate: the probe (postcopy-test-util.c), whose post_load reads a
 * page the guest keeps dirtying (so the destination's load faults and
 * the source answers a request while it waits for the pong), and "slow",
 * whose post_load sleeps for its first `slow_loads` loads: the injected
 * slow destination.
 *
 * The cases: within budget (no delay: the switch completes, the reported
 * downtime is within downtime-limit, no abort); a destination slow twice
 * (two aborts: the source resumes its guest and stays in precopy each
 * time, the destination never starts its guest on them, the third
 * attempt completes; the same with postcopy-preempt, whose reader takes
 * pages only once the guest runs); slow every time (three aborts fail
 * the migration with the strict error, the source's guest runs, the
 * destination's never did). And a hand-made source against the real
 * incoming side: switchover-abort right after postcopy-load, before the
 * pong (hostile: the load fails, no hang, nothing left behind), and the
 * same at once after the pong (back to precopy, however soon). After
 * a completed run every page of the destination equals the source's,
 * and a page placed twice after the switch would have failed the load
 * (postcopy.c refuses it). Nothing asserts on how long anything took:
 * the delays are many times the limit, the limit many times what a
 * switch takes here (the hand-made cases' 20 s only end a hang).
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "migration/migration.h"
#include "migration/postcopy.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "util/trace.h"
#include "watchdog.h"
#include "postcopy-test-util.h"
#include "../../migration/migration-internal.h"

#define PAGE            GUEST_PAGE_SIZE
#define LOW_SIZE        (4 * 1024 * 1024ULL)
#define HIGH_GPA        POSTCOPY_TEST_HIGH_GPA
#define HIGH_SIZE       (1024 * 1024ULL)
#define HOT_SIZE        (2 * 1024 * 1024ULL)    /* what the guest dirties */
/* Precopy's rate: the hot half cannot go within the limit, so postcopy
 * is due (migration_run) after the first pass. */
#define BANDWIDTH       (2 * 1024 * 1024ULL)    /* bytes/s */
#define LIMIT_MS        500
/* preempt: postcopy's background crawls, so that the vCPUs' first reads
 * find pages missing and ask for them (on the preempt channel). */
#define CRAWL           (64 * 1024ULL)  /* bytes/s */
#define SLOW_MS         (4 * LIMIT_MS)  /* a slow load: far past it */
#define TOUCHERS        2
#define TEST_TIMEOUT_S  100

/* ---- the source's guest: writes while the run state is running ---- */

typedef struct Dirtier {
    GuestMemory *mem;
    GMutex lock;                /* held around each write */
    bool running;               /* (lock) the run state */
    bool quit;                  /* (lock) */
    uint64_t writes;            /* atomic */
    unsigned resumes;           /* atomic: back to running, after a stop */
    bool stopped_once;          /* (lock) */
    GThread *thread;
} Dirtier;

static Dirtier *current_dirtier;

static gpointer dirtier_fn(gpointer opaque)
{
    Dirtier *d = opaque;
    uint32_t version = 2;
    GRand *rand = g_rand_new_with_seed(17);

    for (;;) {
        /* Once resumed after an aborted switch, only a quarter of what
         * it dirtied before: the other pages the aborted attempt's
         * discard list dropped on the destination are not written
         * again, so only the source's bitmap can bring them back. */
        uint64_t hot = __atomic_load_n(&d->resumes, __ATOMIC_SEQ_CST) ?
                       HOT_SIZE / 4 : HOT_SIZE;
        uint64_t gpa = (uint64_t)g_rand_int_range(rand, 0,
                                                  hot / PAGE) * PAGE;
        bool wrote = false;

        g_mutex_lock(&d->lock);
        if (d->quit) {
            g_mutex_unlock(&d->lock);
            break;
        }
        if (d->running) {
            postcopy_test_write_page(d->mem, gpa, version++);
            wrote = true;
        }
        g_mutex_unlock(&d->lock);
        if (wrote &&
            __atomic_add_fetch(&d->writes, 1, __ATOMIC_SEQ_CST) % 32 == 0) {
            g_usleep(1000);
        } else if (!wrote) {
            g_usleep(200);
        }
    }
    g_rand_free(rand);
    return NULL;
}

/* Both sides share this process's run state: only a change to running
 * lets the guest write (the destination, started as with -S, pauses). */
static void dirtier_runstate(RunState old, RunState next, void *opaque)
{
    Dirtier *d = current_dirtier;

    if (!d) {
        return;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&d->lock);

    if (next == RUN_STATE_RUNNING && !d->running && d->stopped_once) {
        __atomic_add_fetch(&d->resumes, 1, __ATOMIC_SEQ_CST);
    }
    if (next != RUN_STATE_RUNNING && d->running) {
        d->stopped_once = true;
    }
    d->running = next == RUN_STATE_RUNNING;
}

static void dirtier_start(Dirtier *d, GuestMemory *mem)
{
    *d = (Dirtier) { .mem = mem, .running = true };
    g_mutex_init(&d->lock);
    current_dirtier = d;
    d->thread = g_thread_new("guest", dirtier_fn, d);
}

static void dirtier_join(Dirtier *d)
{
    g_mutex_lock(&d->lock);
    d->quit = true;
    g_mutex_unlock(&d->lock);
    g_thread_join(d->thread);
    current_dirtier = NULL;
    g_mutex_clear(&d->lock);
}

/* ---- the slow device: the injected delay ---- */

typedef struct Slow {
    uint32_t value;
    unsigned slow_loads;        /* the first n loads sleep SLOW_MS */
    unsigned loads;             /* atomic */
    MigrationIncoming *mis;     /* destination: to look at its guest */
    unsigned started_at_load;   /* atomic: guest starts seen by a load */
} Slow;

static bool slow_post_load(void *opaque, int version_id, Error **errp)
{
    Slow *sl = opaque;
    unsigned n = __atomic_add_fetch(&sl->loads, 1, __ATOMIC_SEQ_CST);

    /* Every attempt loads with the destination's guest not started. */
    __atomic_add_fetch(&sl->started_at_load,
                       migration_incoming_guest_starts(sl->mis),
                       __ATOMIC_SEQ_CST);
    if (n <= sl->slow_loads) {
        /* Both sides share this process's BQL: a destination of its own
         * would not hold the source's while it is slow, so that the
         * source can resume its guest at the deadline. */
        bql_unlock();
        g_usleep(SLOW_MS * 1000);
        bql_lock();
    }
    return true;
}

static const VMStateDescription vmstate_slow = {
    .name = "slow",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = slow_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(value, Slow),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- the run ---- */

typedef struct Run {
    GuestMemory src_mem, dst_mem;
    MigrationState *dst;
    PostcopyTestProbe src_probe, dst_probe;
    Slow src_slow, dst_slow;
    GThread *touchers[TOUCHERS];
    unsigned nr_touchers;
    int sv[2];
    bool preempt;               /* postcopy-preempt, over unix: */
    char *dir;                  /* preempt: where the socket is */
} Run;

typedef struct Toucher {
    Run *r;
    unsigned first;
} Toucher;

/* A vCPU: reads every TOUCHERS-th page of the hot half, each must be
 * the source's final content at its first read (the source's guest is
 * stopped for good once the destination runs). */
static gpointer toucher_fn(gpointer opaque)
{
    Toucher *t = opaque;
    Run *r = t->r;

    for (uint64_t gpa = t->first * PAGE; gpa < HOT_SIZE;
         gpa += TOUCHERS * PAGE) {
        const uint8_t *here = guest_memory_host_ptr(&r->dst_mem, gpa, PAGE);
        const uint8_t *there = guest_memory_host_ptr(&r->src_mem, gpa, PAGE);

        if (memcmp(here, there, PAGE)) {
            g_error("page 0x%" PRIx64 " differs from the source's when the "
                    "guest first reads it", gpa);
        }
    }
    g_free(t);
    return NULL;
}

static void touchers_start(Run *r)
{
    for (unsigned i = 0; i < TOUCHERS; i++) {
        Toucher *t = g_new(Toucher, 1);

        *t = (Toucher) { .r = r, .first = i };
        r->touchers[i] = g_thread_new("vcpu", toucher_fn, t);
    }
    r->nr_touchers = TOUCHERS;
}

static void set_cap(MigrationState *s, MigrationCapability cap, bool on)
{
    MigrationCapabilityStatus v = { .capability = cap, .state = on };
    MigrationCapabilityStatusList l = { .value = &v };

    g_assert_true(migration_set_capabilities(s, &l, &error_abort));
}

static void set_params(uint64_t bandwidth, uint64_t postcopy_bw,
                       uint64_t downtime_ms)
{
    MigrateSetParameters p = {
        .has_max_bandwidth = true, .max_bandwidth = bandwidth,
        .has_max_postcopy_bandwidth = true,
        .max_postcopy_bandwidth = postcopy_bw,
        .has_downtime_limit = true, .downtime_limit = downtime_ms,
    };

    qmp_migrate_set_parameters(&p, &error_abort);
}

static bool status_final(MigrationStatus st)
{
    return st == MIGRATION_STATUS_COMPLETED ||
           st == MIGRATION_STATUS_FAILED ||
           st == MIGRATION_STATUS_CANCELLED;
}

static void main_loop_poll(void)
{
    while (g_main_context_iteration(main_loop_context(), false)) {
        /* again */
    }
}

static void run_init(Run *r, unsigned slow_loads, bool preempt)
{
    MigrationState *src = migration_current();

    memset(r, 0, sizeof(*r));
    r->preempt = preempt;
    postcopy_test_add_ram(&r->src_mem, LOW_SIZE, HIGH_SIZE);
    postcopy_test_add_ram(&r->dst_mem, LOW_SIZE, HIGH_SIZE);
    postcopy_test_fill(&r->src_mem, 1);
    r->dst = migration_new();
    g_assert_true(ram_migration_register(savevm_default(), &r->src_mem, NULL,
                                         &error_abort));
    g_assert_true(ram_migration_register(r->dst->vmstate, &r->dst_mem, NULL,
                                         &error_abort));
    /* The probe reads a page the guest keeps dirtying: discarded at each
     * switch, so each load faults on it. */
    r->src_probe = (PostcopyTestProbe) { .gpa = 5 * PAGE, .value = 91 };
    r->dst_probe = (PostcopyTestProbe) { .mem = &r->dst_mem };
    r->src_slow = (Slow) { .value = 7 };
    r->dst_slow = (Slow) { .slow_loads = slow_loads,
                           .mis = r->dst->incoming };
    g_assert_true(savevm_register(savevm_default(), "probe", 0,
                                  &postcopy_test_vmstate_probe, &r->src_probe,
                                  &error_abort));
    g_assert_true(savevm_register(r->dst->vmstate, "probe", 0,
                                  &postcopy_test_vmstate_probe, &r->dst_probe,
                                  &error_abort));
    g_assert_true(savevm_register(savevm_default(), "slow", 0, &vmstate_slow,
                                  &r->src_slow, &error_abort));
    g_assert_true(savevm_register(r->dst->vmstate, "slow", 0, &vmstate_slow,
                                  &r->dst_slow, &error_abort));
    set_cap(src, MIGRATION_CAPABILITY_POSTCOPY_RAM, true);
    set_cap(src, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, true);
    set_cap(r->dst, MIGRATION_CAPABILITY_POSTCOPY_RAM, true);
    if (preempt) {
        set_cap(src, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, true);
        set_cap(r->dst, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, true);
    }
    set_params(BANDWIDTH, preempt ? CRAWL : 0, LIMIT_MS);
}

static void run_free(Run *r, bool flush)
{
    {
        BQL_LOCK_GUARD();

        migration_incoming_shutdown(r->dst->incoming);
    }
    if (flush) {
        main_loop_poll();
    }
    if (r->sv[0] >= 0) {
        close(r->sv[0]);
    }
    close(r->sv[1]);
    savevm_unregister(savevm_default(), "probe", 0);
    savevm_unregister(r->dst->vmstate, "probe", 0);
    savevm_unregister(savevm_default(), "slow", 0);
    savevm_unregister(r->dst->vmstate, "slow", 0);
    ram_migration_unregister(savevm_default());
    ram_migration_unregister(r->dst->vmstate);
    migration_free(r->dst);
    set_cap(migration_current(), MIGRATION_CAPABILITY_X_STRICT_DOWNTIME,
            false);
    set_cap(migration_current(), MIGRATION_CAPABILITY_POSTCOPY_PREEMPT,
            false);
    if (r->dir) {
        rmdir(r->dir);
        g_free(r->dir);
    }
    set_cap(migration_current(), MIGRATION_CAPABILITY_POSTCOPY_RAM, false);
    set_params(128 << 20, 0, 300);
    guest_memory_free(&r->src_mem);
    guest_memory_free(&r->dst_mem);
}

/* What the test loop saw of both sides. */
typedef struct Seen {
    MigrationStatus src, dst;
    int64_t aborts;             /* the source's x-strict-aborts */
    bool src_postcopy;          /* the source was postcopy-active */
    /* x-strict-aborts when the source first showed postcopy-active and
     * when the destination's guest first started: -1 until then. */
    int64_t aborts_at_postcopy, aborts_at_start;
    unsigned dst_back_to_active;    /* postcopy-active -> active there */
    uint64_t writes_at_abort[8];    /* the guest's writes at each abort */
} Seen;

/* Connects, migrates, and watches until both sides are final. */
static void run_migrate(Run *r, Seen *seen, Dirtier *dirtier)
{
    g_autofree char *src_uri = NULL, *dst_uri = NULL;
    MigrationStatus dst_last = MIGRATION_STATUS_NONE;
    int64_t deadline;

    memset(seen, 0, sizeof(*seen));
    seen->aborts_at_postcopy = seen->aborts_at_start = -1;
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                               r->sv), ==, 0);
    if (r->preempt) {
        /* Two connections to one address: a unix: listener. */
        r->dir = g_dir_make_tmp("postcopy-strict-XXXXXX", NULL);
        g_assert_nonnull(r->dir);
        dst_uri = g_strdup_printf("unix:%s/mig.sock", r->dir);
        src_uri = g_strdup(dst_uri);
    } else {
        dst_uri = g_strdup_printf("fd:%d", r->sv[1]);
        src_uri = g_strdup_printf("fd:%d", r->sv[0]);
    }
    {
        BQL_LOCK_GUARD();

        vm_start();
    }
    dirtier_start(dirtier, &r->src_mem);
    qmp_migrate_start_postcopy(&error_abort);
    g_assert_true(migration_incoming_start_uri(r->dst->incoming, dst_uri,
                                               false, &error_abort));
    qmp_migrate(src_uri, false, false, false, false, &error_abort);

    deadline = g_get_monotonic_time() + 80 * G_USEC_PER_SEC;
    while (!status_final(seen->src) || !status_final(seen->dst)) {
        g_autoptr(MigrationInfo) si = qmp_query_migrate(&error_abort);
        int64_t aborts = si->has_x_strict_aborts ? si->x_strict_aborts : 0;

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        seen->src = si->status;
        seen->dst = migration_incoming_status(r->dst->incoming);
        while (seen->aborts < aborts) {
            if (seen->aborts < (int64_t)G_N_ELEMENTS(seen->writes_at_abort)) {
                seen->writes_at_abort[seen->aborts] =
                    __atomic_load_n(&dirtier->writes, __ATOMIC_SEQ_CST);
            }
            seen->aborts++;
        }
        if (seen->src == MIGRATION_STATUS_POSTCOPY_ACTIVE &&
            !seen->src_postcopy) {
            seen->src_postcopy = true;
            seen->aborts_at_postcopy = aborts;
        }
        if (dst_last == MIGRATION_STATUS_POSTCOPY_ACTIVE &&
            seen->dst == MIGRATION_STATUS_ACTIVE) {
            seen->dst_back_to_active++;
        }
        dst_last = seen->dst;
        /* The source let go of its end; this is the test's copy: closed,
         * the destination sees the end of the stream, as it would. */
        if (seen->src == MIGRATION_STATUS_FAILED && r->sv[0] >= 0) {
            close(r->sv[0]);
            r->sv[0] = -1;
        }
        if (!r->nr_touchers &&
            migration_incoming_guest_starts(r->dst->incoming)) {
            seen->aborts_at_start = aborts;
            touchers_start(r);
        }
        /* A failed destination schedules the process's exit on the main
         * loop: not run once it may fail (the failing case is registered
         * last), that is once the source failed. */
        if (seen->src != MIGRATION_STATUS_FAILED &&
            seen->dst != MIGRATION_STATUS_FAILED) {
            main_loop_poll();
        }
        g_usleep(1000);
    }
    for (unsigned i = 0; i < r->nr_touchers; i++) {
        g_thread_join(r->touchers[i]);
    }
    dirtier_join(dirtier);
}

static void assert_completed(Run *r, const Seen *seen, int64_t want_aborts)
{
    g_autoptr(MigrationInfo) info = qmp_query_migrate(&error_abort);

    if (info->status != MIGRATION_STATUS_COMPLETED) {
        g_error("source: %s (%s)", MigrationStatus_str(info->status),
                info->error_desc ? info->error_desc : "no error");
    }
    g_assert_cmpint(seen->dst, ==, MIGRATION_STATUS_COMPLETED);
    /* Through postcopy, after the aborted attempts only. */
    g_assert_true(seen->src_postcopy);
    g_assert_cmpint(seen->aborts_at_postcopy, ==, want_aborts);
    g_assert_cmpint(info->has_x_strict_aborts ? info->x_strict_aborts : 0,
                    ==, want_aborts);
    /* The destination started its guest once, after the last abort. */
    g_assert_cmpuint(migration_incoming_guest_starts(r->dst->incoming), ==,
                     1);
    g_assert_cmpint(seen->aborts_at_start, ==, want_aborts);
    g_assert_cmpuint(r->dst_slow.started_at_load, ==, 0);
    /* Each attempt loaded the devices once. */
    g_assert_cmpuint(r->dst_slow.loads, ==, want_aborts + 1);
    g_assert_cmpuint(r->dst_slow.value, ==, 7);
    /* The promise: the switch that completed kept the limit. */
    g_assert_true(info->has_downtime);
    g_assert_cmpint(info->downtime, <=, LIMIT_MS);
    /* The probe's post_load read its page through a request. */
    g_assert_true(r->dst_probe.loaded);
    g_assert_cmpuint(r->dst_probe.value, ==, 91);
    g_assert_cmphex(r->dst_probe.seen, ==,
                    *(uint32_t *)guest_memory_host_ptr(&r->src_mem,
                                                       r->src_probe.gpa, 4));
    g_assert_nonnull(info->ram);
    g_assert_cmpint(info->ram->postcopy_requests, >, 0);
    /* No page lost: every page is the source's, byte for byte. */
    postcopy_test_assert_same_ram(&r->src_mem, &r->dst_mem);
    g_assert_cmpuint(r->nr_touchers, ==, TOUCHERS);
    {
        BQL_LOCK_GUARD();

        g_assert_cmpint(runstate_get(), ==, RUN_STATE_POSTMIGRATE);
    }
    g_test_message("downtime %" PRId64 " ms (limit %u ms), %" PRId64
                   " aborted attempts, %" PRId64 " page requests answered",
                   info->downtime, LIMIT_MS, want_aborts,
                   info->ram->postcopy_requests);
}

/* x-strict-downtime with postcopy-ram: accepted either way round. */
static void test_caps(void)
{
    MigrationState *s = migration_current();

    set_cap(s, MIGRATION_CAPABILITY_POSTCOPY_RAM, true);
    set_cap(s, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, true);
    g_assert_true(migrate_cap(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_RAM));
    g_assert_true(migrate_cap(&s->opts,
                              MIGRATION_CAPABILITY_X_STRICT_DOWNTIME));
    set_cap(s, MIGRATION_CAPABILITY_POSTCOPY_RAM, false);
    set_cap(s, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, false);
    set_cap(s, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, true);
    set_cap(s, MIGRATION_CAPABILITY_POSTCOPY_RAM, true);
    set_cap(s, MIGRATION_CAPABILITY_POSTCOPY_RAM, false);
    set_cap(s, MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, false);
}

/* Nothing slow: one attempt, within the limit. */
static void test_within_budget(void)
{
    Dirtier dirtier;
    Seen seen;
    Run r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, 0, false);
    run_migrate(&r, &seen, &dirtier);
    assert_completed(&r, &seen, 0);
    g_assert_cmpuint(seen.dst_back_to_active, ==, 0);
    run_free(&r, true);
    test_watchdog_disarm();
}

/*
 * Slow twice: each time the source gives up at the deadline, resumes its
 * guest (which writes again) and stays in precopy; the destination goes
 * back to active without starting its guest; the third attempt
 * completes, and no page is lost or stale across the aborts.
 */
static void test_slow_then_retry(gconstpointer opaque)
{
    bool preempt = GPOINTER_TO_INT(opaque);
    Dirtier dirtier;
    Seen seen;
    Run r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, 2, preempt);
    run_migrate(&r, &seen, &dirtier);
    assert_completed(&r, &seen, 2);
    /* Resumed after each abort (the final stop is for good). */
    g_assert_cmpuint(dirtier.resumes, >=, 2);
    /* And it wrote after the aborts, before the last switch. */
    g_assert_cmpuint(dirtier.writes, >, seen.writes_at_abort[0]);
    g_assert_cmpuint(seen.dst_back_to_active, >=, 1);
    /* With preempt, the requests before postcopy-run went on the main
     * stream (the preempt reader refuses pages before it), those of the
     * running guest on the preempt channel. */
    if (preempt) {
        g_assert_cmpuint(postcopy_incoming_preempt_pages(r.dst->vmstate), >,
                         0);
    }
    run_free(&r, true);
    test_watchdog_disarm();
}

/* ---- hostile: switchover-abort before the pong ---- */

/* How many of this process's fds are a userfaultfd. */
static unsigned uffd_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    const char *name;
    unsigned n = 0;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("/proc/self/fd/%s", name);
        g_autofree char *target = g_file_read_link(path, NULL);

        if (target && strstr(target, "userfaultfd")) {
            n++;
        }
    }
    return n;
}

/* Whether a thread of this process is named name. */
static bool thread_named(const char *name)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/task", 0, NULL);
    const char *tid;
    bool found = false;

    g_assert_nonnull(dir);
    while (!found && (tid = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("/proc/self/task/%s/comm",
                                                tid);
        g_autofree char *comm = NULL;

        if (g_file_get_contents(path, &comm, NULL, NULL)) {
            found = !strcmp(g_strchomp(comm), name);
        }
    }
    return found;
}

static void write_all(int fd, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);

        g_assert_cmpint(n, >, 0);
        data += n;
        len -= n;
    }
}

/* A hand-made source: what it wrote so far, and how much went out. */
typedef struct HandSource {
    Run r;
    QEMUFile *out;
    size_t sent;
    MigRpReader rp;
} HandSource;

/* The bytes written since the last flush, to the destination. */
static void hand_flush(HandSource *h)
{
    size_t len;
    const uint8_t *data = qemu_file_mem_output_data(h->out, &len);

    write_all(h->r.sv[0], data + h->sent, len - h->sent);
    h->sent = len;
}

/*
 * A real incoming side (postcopy-ram) on one end of a socketpair, and a
 * strict attempt's stream up to postcopy-load (attempt 1) on the other:
 * advise, discard and listen, the device state. Nothing was sent before
 * the switch, so every page is discarded, the probe's too: its post_load
 * on the destination faults.
 */
static void hand_start(HandSource *h)
{
    g_autofree char *dst_uri = NULL;
    int64_t deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    g_assert_cmpuint(uffd_fds(), ==, 0);
    run_init(&h->r, 0, false);
    /* A page that is not zero on the source: a hole on the destination
     * reads otherwise. */
    h->r.src_probe.gpa = 6 * PAGE;
    g_assert_cmphex(*(uint32_t *)guest_memory_host_ptr(
                        &h->r.src_mem, h->r.src_probe.gpa, 4), !=, 0);
    h->out = qemu_file_new_mem_output();
    h->sent = 0;
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                               h->r.sv), ==, 0);
    h->rp = (MigRpReader) { .fd = h->r.sv[0], .wake_fd = -1 };
    dst_uri = g_strdup_printf("fd:%d", h->r.sv[1]);
    g_assert_true(migration_incoming_start_uri(h->r.dst->incoming, dst_uri,
                                               false, &error_abort));
    /* Accepted on the main loop; not polled once the stream goes (a
     * failure schedules the process's exit there). */
    while (migration_incoming_status(h->r.dst->incoming) !=
           MIGRATION_STATUS_ACTIVE) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        main_loop_poll();
        g_usleep(1000);
    }
    savevm_state_header(h->out);
    savevm_send_command(h->out, SAVEVM_CMD_OPEN_RETURN_PATH, NULL, 0);
    postcopy_send_advise(h->out);
    g_assert_true(savevm_state_setup(savevm_default(), h->out,
                                     &error_abort));
    g_assert_true(postcopy_source_switch(savevm_default(), h->out,
                                         &error_abort));
    g_assert_true(savevm_state_complete_devices(savevm_default(), h->out,
                                                true, &error_abort));
    postcopy_send_load(h->out, 1);
}

/*
 * Once the destination's incoming thread ended: its guest never started,
 * the loader ran its course, and nothing is left behind (no postcopy
 * state, no loader thread, no userfaultfd).
 */
static void hand_finish(HandSource *h)
{
    {
        BQL_LOCK_GUARD();

        migration_incoming_shutdown(h->r.dst->incoming);
    }
    g_assert_cmpuint(migration_incoming_guest_starts(h->r.dst->incoming),
                     ==, 0);
    g_assert_true(__atomic_load_n(&h->r.dst_probe.loaded,
                                  __ATOMIC_SEQ_CST));
    g_assert_cmpuint(h->r.dst_slow.loads, ==, 1);
    g_assert_cmpuint(h->r.dst_slow.started_at_load, ==, 0);
    g_assert_cmpint(postcopy_incoming_state(h->r.dst->vmstate), ==,
                    POSTCOPY_INCOMING_NONE);
    g_assert_false(thread_named("mig/pc-load"));
    g_assert_cmpuint(uffd_fds(), ==, 0);
    savevm_state_cleanup(savevm_default());
    qemu_fclose(h->out);
    run_free(&h->r, false);
}

/* Fails the test unless the destination's status becomes want (before
 * deadline), its guest never starting meanwhile. */
static void hand_wait_status(HandSource *h, MigrationStatus want,
                             int64_t deadline, const char *why)
{
    MigrationStatus st;

    while ((st = migration_incoming_status(h->r.dst->incoming)) != want) {
        if (st == MIGRATION_STATUS_FAILED ||
            g_get_monotonic_time() >= deadline) {
            MigrationInfo di = { 0 };

            migration_incoming_info(h->r.dst->incoming, &di);
            g_error("the destination is %s, not %s, %s (%s)",
                    MigrationStatus_str(st), MigrationStatus_str(want), why,
                    di.error_desc ? di.error_desc : "no error");
        }
        g_assert_cmpuint(migration_incoming_guest_starts(h->r.dst->incoming),
                         ==, 0);
        g_usleep(1000);
    }
}

/*
 * What the hostile cases below share: the destination fails the load
 * naming want (within 20 s: why it would not), its loader ends once the
 * userfaultfd is released (the page a hole: the probe read nothing), and
 * nothing is left behind.
 */
static void hand_expect_failure(HandSource *h, const char *want,
                                const char *why)
{
    MigrationInfo di = { 0 };

    hand_flush(h);
    hand_wait_status(h, MIGRATION_STATUS_FAILED,
                     g_get_monotonic_time() + 20 * G_USEC_PER_SEC, why);
    g_assert_true(migration_incoming_info(h->r.dst->incoming, &di));
    g_assert_nonnull(di.error_desc);
    g_test_message("destination: %s", di.error_desc);
    if (!strstr(di.error_desc, want)) {
        g_error("destination error '%s' does not say '%s'", di.error_desc,
                want);
    }
    g_free(di.error_desc);
    qapi_free_SocketAddressList(di.socket_address);
    hand_finish(h);
    g_assert_cmpuint(h->r.dst_probe.seen, ==, 0);
}

/*
 * A source that does not wait for the pong: switchover-abort right
 * behind postcopy-load. The probe's post_load waits for a page that
 * never comes: only the incoming thread could place it, so a destination
 * that joined its loader on the abort would wait forever. It must fail
 * the load naming the early abort.
 */
static void abort_before_pong_run(void)
{
    HandSource h;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    hand_start(&h);
    savevm_send_command(h.out, SAVEVM_CMD_SWITCHOVER_ABORT, NULL, 0);
    hand_expect_failure(&h, "switchover-abort while the device state of "
                        "postcopy-load is still loading (before its pong)",
                        "20 s after a switchover-abort before the pong: it "
                        "waits for its loader, which waits for a page");
    test_watchdog_disarm();
}

/*
 * A second postcopy-load with the first attempt neither aborted nor run,
 * its loader waiting for a page as above: joining that loader would wait
 * forever too. The load fails naming both attempts.
 */
static void load_twice_run(void)
{
    HandSource h;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    hand_start(&h);
    postcopy_send_load(h.out, 2);
    hand_expect_failure(&h, "postcopy-load of attempt 2 while attempt 1 is "
                        "neither aborted nor running",
                        "20 s after a second postcopy-load: it waits for "
                        "the first loader, which waits for a page");
    test_watchdog_disarm();
}

/*
 * The source's side of the order: it answers the loader's page request,
 * waits for the pong, then sends switchover-abort at once. The
 * destination goes back to precopy (active, postcopy advised, no
 * loader, no userfaultfd) without starting its guest, however soon
 * after the pong the abort arrives.
 */
static void abort_after_pong_run(void)
{
    int64_t deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    unsigned requests = 0;
    HandSource h;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    hand_start(&h);
    hand_flush(&h);
    for (;;) {
        Error *err = NULL;
        MigRpMsg msg;
        int n = mig_rp_read(&h.rp, deadline, &msg, &err);

        if (n != 1) {
            g_error("no pong from the destination: %s",
                    err ? error_get_pretty(err) : "deadline passed");
        }
        if (msg.type == MIG_RP_PONG) {
            g_assert_cmpuint(mig_be32(msg.data), ==, 1);
            break;
        }
        g_assert_cmpuint(msg.type, ==, MIG_RP_REQ_PAGES);
        g_assert_true(postcopy_source_request(savevm_default(), msg.data,
                                              msg.len, &error_abort));
        g_assert_true(postcopy_source_send_urgent(savevm_default(), h.out,
                                                  &error_abort));
        hand_flush(&h);
        requests++;
    }
    g_assert_cmpuint(requests, >, 0);
    g_assert_cmpint(migration_incoming_status(h.r.dst->incoming), ==,
                    MIGRATION_STATUS_POSTCOPY_ACTIVE);
    savevm_send_command(h.out, SAVEVM_CMD_SWITCHOVER_ABORT, NULL, 0);
    hand_flush(&h);
    hand_wait_status(&h, MIGRATION_STATUS_ACTIVE, deadline,
                     "after a switchover-abort that followed the pong");
    /* Back to before the listen: advised, for the next attempt. */
    g_assert_cmpint(postcopy_incoming_state(h.r.dst->vmstate), ==,
                    POSTCOPY_INCOMING_ADVISED);
    g_assert_false(thread_named("mig/pc-load"));
    g_assert_cmpuint(uffd_fds(), ==, 0);
    /* The page the probe read is the one the source sent. */
    g_assert_cmphex(h.r.dst_probe.seen, ==,
                    *(uint32_t *)guest_memory_host_ptr(&h.r.src_mem,
                                                       h.r.src_probe.gpa, 4));
    hand_finish(&h);
    test_watchdog_disarm();
}

/* In a process of its own: a destination's failure schedules the exit
 * on the main loop, which the other cases poll. */
static void test_hand_made(gconstpointer opaque)
{
    void (*run)(void) = opaque;

    /* Skipped here, where it shows, not in the subprocess. */
    if (!postcopy_test_require_uffd()) {
        return;
    }
    if (g_test_subprocess()) {
        run();
        return;
    }
    g_test_trap_subprocess(NULL, TEST_TIMEOUT_S * G_USEC_PER_SEC,
                           G_TEST_SUBPROCESS_INHERIT_STDOUT |
                           G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed();
}

/*
 * Slow every time: the third abort fails the migration with the strict
 * error; the source's guest runs, the destination's never started.
 * Registered last: the destination's failure schedules the process's
 * exit on the main loop, which no test runs after this one.
 */
static void test_three_overruns(void)
{
    g_autoptr(MigrationInfo) info = NULL;
    g_autofree char *want = NULL;
    Dirtier dirtier;
    Seen seen;
    Run r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, 100, false);
    run_migrate(&r, &seen, &dirtier);
    info = qmp_query_migrate(&error_abort);
    g_assert_cmpint(info->status, ==, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(info->error_desc);
    g_test_message("error: %s", info->error_desc);
    want = g_strdup_printf("downtime-limit of %u ms cannot be met (last "
                           "switchover needed ", LIMIT_MS);
    if (!strstr(info->error_desc, want)) {
        g_error("error '%s' does not say '%s'", info->error_desc, want);
    }
    g_assert_true(info->has_x_strict_aborts);
    g_assert_cmpint(info->x_strict_aborts, ==, 3);
    /* What the last attempt needed: its slow load, past the limit. */
    g_assert_cmpint(info->x_strict_last_overrun, >, LIMIT_MS);
    g_assert_false(seen.src_postcopy);
    g_assert_cmpint(seen.dst, ==, MIGRATION_STATUS_FAILED);
    g_assert_cmpuint(migration_incoming_guest_starts(r.dst->incoming), ==,
                     0);
    g_assert_cmpuint(r.nr_touchers, ==, 0);
    g_assert_cmpuint(r.dst_slow.loads, ==, 3);
    g_assert_cmpuint(dirtier.resumes, >=, 3);
    {
        BQL_LOCK_GUARD();

        g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    }
    run_free(&r, false);
    test_watchdog_disarm();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();
    monitor_init_globals();
    runstate_add_change_notifier(dirtier_runstate, NULL);
    if (g_getenv("SPC_TRACE")) {
        trace_enable_pattern(g_getenv("SPC_TRACE"));
    }
    g_test_add_func("/postcopy-strict/caps", test_caps);
    g_test_add_func("/postcopy-strict/within-budget", test_within_budget);
    g_test_add_data_func("/postcopy-strict/slow-then-retry",
                         GINT_TO_POINTER(false), test_slow_then_retry);
    g_test_add_data_func("/postcopy-strict/slow-then-retry-preempt",
                         GINT_TO_POINTER(true), test_slow_then_retry);
    g_test_add_data_func("/postcopy-strict/hostile/abort-before-pong",
                         abort_before_pong_run, test_hand_made);
    g_test_add_data_func("/postcopy-strict/hostile/load-twice",
                         load_twice_run, test_hand_made);
    g_test_add_data_func("/postcopy-strict/hand/abort-after-pong",
                         abort_after_pong_run, test_hand_made);
    /* Last: see there. */
    g_test_add_func("/postcopy-strict/three-overruns", test_three_overruns);
    return g_test_run();
}
