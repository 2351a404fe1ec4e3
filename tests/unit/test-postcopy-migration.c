/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A whole postcopy migration in one process, no KVM: the real migration
 * thread of this process's migration object (qmp_migrate, the return-path
 * listener, the switch, the postcopy loop) against a second migration
 * object's real incoming side (incoming thread, userfaultfd, the start
 * thread that loads device state under the BQL and "starts the guest"),
 * over a socketpair.
 *
 * Stand-ins: the source's guest is a thread dirtying the first 4 MiB of
 * RAM through guest_memory_write() (which marks the pages dirty as KVM's
 * log would), stopped by the run-state change of vm_stop; the
 * destination's vCPUs are threads that read pages once the destination's
 * device state is loaded, most of them pages that have not arrived (the
 * discard list dropped them): each must see the source's final content
 * at its first read. A device whose post_load reads a missing page
 * checks that device state loads off the stream's thread. At the end
 * every page of the destination equals the source's, byte for byte.
 *
 * The runs: migrate-start-postcopy before migrate (the switch must come
 * after a first full pass) and during the migration; a destination
 * without postcopy-ram, which must refuse with a clear error. The
 * destination is started as with -S (runstate paused at the switch):
 * both sides share this process's run state.
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
#include "util/yank.h"
#include "watchdog.h"
#include "postcopy-test-util.h"
#include "../../migration/migration-internal.h"

#define PAGE            GUEST_PAGE_SIZE
#define LOW_SIZE        (8 * 1024 * 1024ULL)
#define HIGH_GPA        POSTCOPY_TEST_HIGH_GPA
#define HIGH_SIZE       (1024 * 1024ULL)
#define HOT_SIZE        (4 * 1024 * 1024ULL)    /* what the guest dirties */
#define BANDWIDTH       (16 * 1024 * 1024ULL)   /* bytes/s, both phases */
#define TOUCHERS        4
#define CRAWL           (8 * 1024ULL)   /* bytes/s: the background, held */
#define TEST_TIMEOUT_S  90

typedef enum StartWhen {
    START_BEFORE_MIGRATE,
    START_DURING_MIGRATE,
    START_DURING_PREEMPT,   /* during, with postcopy-preempt (unix:) */
} StartWhen;

/* ---- the source's guest: a dirtier stopped by vm_stop ---- */

typedef struct Dirtier {
    GuestMemory *mem;
    GMutex lock;                /* held around each write */
    bool stop;                  /* (lock) */
    uint64_t writes;
    GThread *thread;
} Dirtier;

static Dirtier *current_dirtier;    /* the run-state notifier's */

static gpointer dirtier_fn(gpointer opaque)
{
    Dirtier *d = opaque;
    uint32_t version = 2;
    GRand *rand = g_rand_new_with_seed(13);

    for (;;) {
        uint64_t gpa = (uint64_t)g_rand_int_range(rand, 0,
                                                  HOT_SIZE / PAGE) * PAGE;

        g_mutex_lock(&d->lock);
        if (d->stop) {
            g_mutex_unlock(&d->lock);
            break;
        }
        postcopy_test_write_page(d->mem, gpa, version++);
        d->writes++;
        g_mutex_unlock(&d->lock);
        if (d->writes % 64 == 0) {
            g_usleep(1000);     /* ~64k pages/s at most: a busy guest */
        }
    }
    g_rand_free(rand);
    return NULL;
}

/* vm_stop's run-state change: the guest stops writing, at once. */
static void dirtier_runstate(RunState old, RunState next, void *opaque)
{
    Dirtier *d = current_dirtier;

    if (d && next != RUN_STATE_RUNNING) {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&d->lock);

        d->stop = true;
    }
}

static void dirtier_start(Dirtier *d, GuestMemory *mem)
{
    *d = (Dirtier) { .mem = mem };
    g_mutex_init(&d->lock);
    current_dirtier = d;
    d->thread = g_thread_new("guest", dirtier_fn, d);
}

static void dirtier_join(Dirtier *d)
{
    g_mutex_lock(&d->lock);
    d->stop = true;
    g_mutex_unlock(&d->lock);
    g_thread_join(d->thread);
    current_dirtier = NULL;
    g_mutex_clear(&d->lock);
}

/* ---- the destination's vCPUs ---- */

typedef struct Run {
    bool preempt;
    char *dir;                  /* preempt: where the unix: socket is */
    GuestMemory src_mem, dst_mem;
    MigrationState *dst;
    PostcopyTestProbe src_probe, dst_probe;
    GArray *touch;              /* gpas the vCPUs read */
    gint64 *lat_us;             /* per touched page */
    GThread *touchers[TOUCHERS];
    int tids[TOUCHERS];         /* atomic: their kernel thread ids */
    bool done[TOUCHERS];        /* atomic: that toucher read them all */
    unsigned nr_touchers;
    bool no_touchers;           /* never start them */
    bool hold_touchers;         /* not yet */
    bool blocktime;             /* postcopy-blocktime on the destination */
} Run;

typedef struct Toucher {
    Run *r;
    unsigned first;
} Toucher;

static gpointer toucher_fn(gpointer opaque)
{
    Toucher *t = opaque;
    Run *r = t->r;
    unsigned n = r->touch->len;

    /* Before the first touch: blocktime must know this is a vCPU. */
    __atomic_store_n(&r->tids[t->first], (int)gettid(), __ATOMIC_SEQ_CST);
    for (unsigned i = t->first; i < n; i += TOUCHERS) {
        uint64_t gpa = g_array_index(r->touch, uint64_t, i);
        const uint8_t *here = guest_memory_host_ptr(&r->dst_mem, gpa, PAGE);
        const uint8_t *there = guest_memory_host_ptr(&r->src_mem, gpa, PAGE);
        gint64 start = g_get_monotonic_time();
        volatile uint8_t first = *here;

        (void)first;
        r->lat_us[i] = g_get_monotonic_time() - start;
        if (memcmp(here, there, PAGE)) {
            g_error("page 0x%" PRIx64 " differs from the source's when the "
                    "guest first reads it", gpa);
        }
    }
    __atomic_store_n(&r->done[t->first], true, __ATOMIC_SEQ_CST);
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

/* Blocktime's map: which stand-in vCPU a faulting thread is. */
static int vcpu_of_tid(void *opaque, int tid)
{
    Run *r = opaque;

    for (unsigned i = 0; i < TOUCHERS; i++) {
        if (__atomic_load_n(&r->tids[i], __ATOMIC_SEQ_CST) == tid) {
            return i;
        }
    }
    return -1;
}

/* ---- helpers ---- */

static void set_cap(MigrationState *s, MigrationCapability cap, bool on)
{
    MigrationCapabilityStatus v = { .capability = cap, .state = on };
    MigrationCapabilityStatusList l = { .value = &v };

    g_assert_true(migration_set_capabilities(s, &l, &error_abort));
}

static void set_cap_err(MigrationState *s, MigrationCapability cap, bool on,
                        Error **errp)
{
    MigrationCapabilityStatus v = { .capability = cap, .state = on };
    MigrationCapabilityStatusList l = { .value = &v };

    migration_set_capabilities(s, &l, errp);
}

/* bandwidth: precopy's; postcopy_bw: the background's after the switch. */
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

static void guest_running(void)
{
    BQL_LOCK_GUARD();

    vm_start();
}

static bool status_final(MigrationStatus st)
{
    return st == MIGRATION_STATUS_COMPLETED ||
           st == MIGRATION_STATUS_FAILED ||
           st == MIGRATION_STATUS_CANCELLED;
}

static void run_init(Run *r, bool dst_postcopy, bool preempt, bool blocktime)
{
    GRand *rand;

    memset(r, 0, sizeof(*r));
    r->preempt = preempt;
    r->blocktime = blocktime;
    postcopy_test_add_ram(&r->src_mem, LOW_SIZE, HIGH_SIZE);
    postcopy_test_add_ram(&r->dst_mem, LOW_SIZE, HIGH_SIZE);
    postcopy_test_fill(&r->src_mem, 1);
    r->dst = migration_new();
    g_assert_true(ram_migration_register(savevm_default(), &r->src_mem, NULL,
                                         &error_abort));
    g_assert_true(ram_migration_register(r->dst->vmstate, &r->dst_mem, NULL,
                                         &error_abort));
    /* The probe reads a page the guest keeps dirtying. */
    r->src_probe = (PostcopyTestProbe) { .gpa = 3 * PAGE, .value = 77 };
    r->dst_probe = (PostcopyTestProbe) { .mem = &r->dst_mem };
    g_assert_true(savevm_register(savevm_default(), "probe", 0,
                                  &postcopy_test_vmstate_probe, &r->src_probe,
                                  &error_abort));
    g_assert_true(savevm_register(r->dst->vmstate, "probe", 0,
                                  &postcopy_test_vmstate_probe, &r->dst_probe,
                                  &error_abort));
    set_cap(migration_current(), MIGRATION_CAPABILITY_POSTCOPY_RAM, true);
    if (dst_postcopy) {
        set_cap(r->dst, MIGRATION_CAPABILITY_POSTCOPY_RAM, true);
    }
    if (preempt) {
        set_cap(migration_current(), MIGRATION_CAPABILITY_POSTCOPY_PREEMPT,
                true);
        set_cap(r->dst, MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, true);
    }
    if (blocktime) {
        set_cap(r->dst, MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME, true);
    }
    migration_incoming_set_vcpus(r->dst->incoming, TOUCHERS, vcpu_of_tid, r);
    set_params(BANDWIDTH, BANDWIDTH, 1);
    /* The vCPUs read every 3rd page of the hot range (mostly dropped by
     * the discard list), and pages elsewhere (sent once, kept). */
    r->touch = g_array_new(false, false, sizeof(uint64_t));
    for (uint64_t gpa = 0; gpa < HOT_SIZE; gpa += 3 * PAGE) {
        g_array_append_val(r->touch, gpa);
    }
    for (uint64_t gpa = HOT_SIZE; gpa < LOW_SIZE; gpa += 61 * PAGE) {
        g_array_append_val(r->touch, gpa);
    }
    /* In random order, so that the background (in address order) has
     * not yet sent most of them when they are read. */
    rand = g_rand_new_with_seed(7);
    for (guint i = r->touch->len - 1; i > 0; i--) {
        guint j = g_rand_int_range(rand, 0, i + 1);
        uint64_t t = g_array_index(r->touch, uint64_t, i);

        g_array_index(r->touch, uint64_t, i) =
            g_array_index(r->touch, uint64_t, j);
        g_array_index(r->touch, uint64_t, j) = t;
    }
    g_rand_free(rand);
    r->lat_us = g_new0(gint64, r->touch->len);
}

/* Runs what the main loop has to do (accepting connections, the
 * incoming side's bottom halves). */
static void main_loop_poll(void)
{
    while (g_main_context_iteration(main_loop_context(), false)) {
        /* again */
    }
}

/* flush: run the main loop's pending work for the destination before it
 * is freed (not after a failed load: its exit is pending there). */
static void run_free(Run *r, bool flush)
{
    {
        BQL_LOCK_GUARD();

        migration_incoming_shutdown(r->dst->incoming);
    }
    if (flush) {
        main_loop_poll();
    }
    savevm_unregister(savevm_default(), "probe", 0);
    savevm_unregister(r->dst->vmstate, "probe", 0);
    ram_migration_unregister(savevm_default());
    ram_migration_unregister(r->dst->vmstate);
    migration_free(r->dst);
    set_cap(migration_current(), MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, false);
    set_cap(migration_current(), MIGRATION_CAPABILITY_POSTCOPY_RAM, false);
    set_params(128 << 20, 0, 300);
    if (r->dir) {
        rmdir(r->dir);
        g_free(r->dir);
    }
    guest_memory_free(&r->src_mem);
    guest_memory_free(&r->dst_mem);
    g_array_free(r->touch, true);
    g_free(r->lat_us);
}

/* Connects the two sides and starts the source. */
static void run_connect(Run *r, int sv[2])
{
    g_autofree char *src_uri = NULL, *dst_uri = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    if (r->preempt) {
        /* Two connections to one address: a unix: listener. */
        r->dir = g_dir_make_tmp("postcopy-XXXXXX", NULL);
        g_assert_nonnull(r->dir);
        dst_uri = g_strdup_printf("unix:%s/mig.sock", r->dir);
        src_uri = g_strdup(dst_uri);
    } else {
        dst_uri = g_strdup_printf("fd:%d", sv[1]);
        src_uri = g_strdup_printf("fd:%d", sv[0]);
    }
    g_assert_true(migration_incoming_start_uri(r->dst->incoming, dst_uri,
                                               false, &error_abort));
    qmp_migrate(src_uri, false, false, false, false, &error_abort);
}

/* Every page, touched or not, is the source's. */
/*
 * `info migrate` on a source that finished in postcopy, as QEMU 7.2 (what
 * query-version claims) prints it: each line's label is one of its
 * labels, in its order (labels of figures that are 0 are left out, as
 * there). tests/functional/test_qemu_machine.py holds Debian's QEMU to
 * the same order.
 */
static void assert_qemu72_info_migrate(const char *hmp)
{
    static const char *const order[] = {
        "Migration status", "total time", "expected downtime", "downtime",
        "setup", "transferred ram", "throughput", "remaining ram",
        "total ram", "duplicate", "skipped", "normal", "normal bytes",
        "dirty sync count", "page size", "multifd bytes",
        "pages-per-second", "dirty pages rate", "postcopy request count",
        "precopy ram", "downtime ram", "postcopy ram",
    };
    g_auto(GStrv) lines = g_strsplit(hmp, "\r\n", -1);
    size_t next = 0;

    for (char **l = lines; *l && **l; l++) {
        g_autofree char *label = g_strndup(*l, strcspn(*l, ":"));
        size_t k = next;

        while (k < G_N_ELEMENTS(order) && strcmp(order[k], label)) {
            k++;
        }
        if (k == G_N_ELEMENTS(order)) {
            g_error("info migrate: line '%s' is not QEMU 7.2's, or out of "
                    "its order:\n%s", *l, hmp);
        }
        next = k + 1;
    }
    g_assert_cmpuint(next, >=, 17);     /* through pages-per-second */
}

static void assert_same_ram(Run *r)
{
    postcopy_test_assert_same_ram(&r->src_mem, &r->dst_mem);
}

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

/*
 * postcopy-blocktime as query-migrate shows it on the destination, and
 * the microsecond figures behind it: each stand-in vCPU waited no longer
 * than its own reads took, all four at once no longer than any one, and
 * the fault-to-placed percentiles are ordered.
 */
static void check_blocktime(Run *r)
{
    MigrationInfo info = { 0 };
    PostcopyBlocktimeInfo bt;
    uint64_t vcpu_total_us = 0;
    uint32List *e;
    unsigned n = 0;

    g_assert_true(migration_incoming_info(r->dst->incoming, &info));
    if (!r->blocktime) {
        g_assert_false(info.has_postcopy_blocktime);
        g_assert_null(info.postcopy_vcpu_blocktime);
        g_assert_false(info.has_x_postcopy_latency_p50);
        qapi_free_uint32List(info.postcopy_vcpu_blocktime);
        return;
    }
    g_assert_true(info.has_postcopy_blocktime);
    g_assert_true(info.has_x_postcopy_latency_p50);
    g_assert_true(postcopy_incoming_blocktime(r->dst->vmstate, &bt));
    g_assert_cmpuint(bt.nr_vcpus, ==, TOUCHERS);
    for (e = info.postcopy_vcpu_blocktime; e; e = e->next, n++) {
        gint64 own_us = 0;

        for (unsigned i = n; i < r->touch->len; i += TOUCHERS) {
            own_us += r->lat_us[i];
        }
        g_assert_cmpuint(e->value, ==, bt.vcpu_us[n] / 1000);
        g_assert_cmpuint(bt.vcpu_us[n], <=, (uint64_t)own_us);
        g_assert_cmpuint(bt.total_us, <=, bt.vcpu_us[n]);
        vcpu_total_us += bt.vcpu_us[n];
    }
    g_assert_cmpuint(n, ==, TOUCHERS);
    /* The vCPUs did wait for pages that had not arrived. */
    g_assert_cmpuint(vcpu_total_us, >, 0);
    g_assert_cmpuint(info.postcopy_blocktime, ==, bt.total_us / 1000);
    g_assert_cmpuint(bt.lat_samples, >, 0);
    g_assert_cmpint(info.x_postcopy_latency_p50, <=,
                    info.x_postcopy_latency_p99);
    g_assert_cmpint(info.x_postcopy_latency_p99, <=,
                    info.x_postcopy_latency_max);
    g_assert_cmpint(info.x_postcopy_latency_max, >, 0);
    g_test_message("blocktime: all vCPUs at once %" PRIu64 " us, per vCPU "
                   "%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 " us; "
                   "fault to placed over %" PRIu64 " pages: p50 %" PRIu64
                   " us, p99 %" PRIu64 " us, max %" PRIu64 " us",
                   bt.total_us, bt.vcpu_us[0], bt.vcpu_us[1], bt.vcpu_us[2],
                   bt.vcpu_us[3], bt.lat_samples, bt.lat_p50_us,
                   bt.lat_p99_us, bt.lat_max_us);
    g_free(bt.vcpu_us);
    qapi_free_uint32List(info.postcopy_vcpu_blocktime);
}

/* ---- the migration ---- */

static void test_postcopy_migration(gconstpointer opaque)
{
    StartWhen when = GPOINTER_TO_INT(opaque);
    MigrationStatus src_seen = MIGRATION_STATUS_NONE;
    MigrationStatus dst_seen = MIGRATION_STATUS_NONE;
    bool src_pc_seen = false, dst_pc_seen = false, started = false;
    int64_t sent_at_switch = -1, deadline;
    g_autoptr(MigrationInfo) info = NULL;
    PostcopyRamStats pst;
    uint64_t pre_pages;
    Dirtier dirtier;
    int sv[2];
    Run r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    /* Blocktime on except in the run started during the migration. */
    run_init(&r, true, when == START_DURING_PREEMPT,
             when != START_DURING_MIGRATE);
    guest_running();
    dirtier_start(&dirtier, &r.src_mem);
    if (when == START_BEFORE_MIGRATE) {
        qmp_migrate_start_postcopy(&error_abort);
    }
    run_connect(&r, sv);

    deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (!status_final(src_seen) || !status_final(dst_seen)) {
        g_autoptr(MigrationInfo) si = qmp_query_migrate(&error_abort);

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        src_seen = si->status;
        dst_seen = migration_incoming_status(r.dst->incoming);
        main_loop_poll();
        if (when != START_BEFORE_MIGRATE && !started &&
            src_seen == MIGRATION_STATUS_ACTIVE && si->ram &&
            si->ram->transferred > (int64_t)(2 * 1024 * 1024)) {
            qmp_migrate_start_postcopy(&error_abort);
            started = true;
        }
        if (src_seen == MIGRATION_STATUS_POSTCOPY_ACTIVE && !src_pc_seen) {
            src_pc_seen = true;
            sent_at_switch = si->ram->normal + si->ram->duplicate;
        }
        dst_pc_seen |= dst_seen == MIGRATION_STATUS_POSTCOPY_ACTIVE;
        /* The destination's device state is loaded: the vCPUs run. */
        if (!r.nr_touchers &&
            __atomic_load_n(&r.dst_probe.loaded, __ATOMIC_SEQ_CST)) {
            touchers_start(&r);
        }
        g_usleep(1000);
    }
    for (unsigned i = 0; i < r.nr_touchers; i++) {
        g_thread_join(r.touchers[i]);
    }
    dirtier_join(&dirtier);
    info = qmp_query_migrate(&error_abort);
    postcopy_incoming_stats(r.dst->vmstate, &pst);
    if (dst_seen != MIGRATION_STATUS_COMPLETED) {
        MigrationInfo dinfo = { 0 };

        migration_incoming_info(r.dst->incoming, &dinfo);
        g_printerr("destination: %s (%s)\n", MigrationStatus_str(dst_seen),
                   dinfo.error_desc ? dinfo.error_desc : "no error");
    }
    if (info->status != MIGRATION_STATUS_COMPLETED) {
        g_error("source: %s (%s)", MigrationStatus_str(info->status),
                info->error_desc ? info->error_desc : "no error");
    }
    g_assert_cmpint(dst_seen, ==, MIGRATION_STATUS_COMPLETED);
    /* Through postcopy on both sides, after a full first pass. */
    g_assert_true(src_pc_seen);
    g_assert_true(dst_pc_seen);
    g_assert_cmpint(sent_at_switch, >=,
                    (int64_t)postcopy_test_pages(&r.src_mem));
    g_assert_cmpint(r.nr_touchers, ==, TOUCHERS);
    g_assert_true(r.dst_probe.loaded);
    g_assert_cmpuint(r.dst_probe.value, ==, 77);
    g_assert_cmphex(r.dst_probe.seen, ==,
                    *(uint32_t *)guest_memory_host_ptr(&r.src_mem,
                                                       r.src_probe.gpa, 4));
    assert_same_ram(&r);
    g_assert_nonnull(info->ram);
    g_assert_cmpint(info->ram->postcopy_requests, >, 0);
    g_assert_true(info->has_downtime);
    /* QEMU's figures: the phases add up to what RAM sent; the switch
     * (discard list) went with the guest stopped; the discarded pages
     * after postcopy-run; and the pages of the figures are 4 KiB. */
    g_assert_cmpint(info->ram->page_size, ==, PAGE);
    g_assert_cmpint(info->ram->precopy_bytes + info->ram->downtime_bytes +
                    info->ram->postcopy_bytes, ==, info->ram->transferred);
    g_assert_cmpint(info->ram->precopy_bytes, >=,
                    (int64_t)(postcopy_test_pages(&r.src_mem) * 8));
    g_assert_cmpint(info->ram->downtime_bytes, >, 0);
    g_assert_cmpint(info->ram->postcopy_bytes, >=,
                    (int64_t)(pst.placed - pst.placed_zero) * PAGE);
    g_assert_cmpint(info->ram->dirty_sync_count, >=, 1);
    {
        g_autofree char *hmp = qmp_human_monitor_command("info migrate",
                                                         false, 0,
                                                         &error_abort);
        g_autofree char *want = g_strdup_printf(
            "postcopy request count: %" PRId64 "\r\n",
            info->ram->postcopy_requests);

        g_assert_nonnull(strstr(hmp, "Migration status: completed\r\n"));
        g_assert_nonnull(strstr(hmp, want));
        assert_qemu72_info_migrate(hmp);
    }
    {
        BQL_LOCK_GUARD();

        g_assert_cmpint(runstate_get(), ==, RUN_STATE_POSTMIGRATE);
    }
    g_assert_cmpuint(pst.requests, >, 0);
    /* With preempt the requested pages came on the second connection. */
    pre_pages = postcopy_incoming_preempt_pages(r.dst->vmstate);
    if (r.preempt) {
        g_assert_cmpuint(pre_pages, >, 0);
    } else {
        g_assert_cmpuint(pre_pages, ==, 0);
    }
    check_blocktime(&r);
    qsort(r.lat_us, r.touch->len, sizeof(gint64), cmp_i64);
    g_test_message("guest wrote %" PRIu64 " pages; switch after %" PRId64
                   " pages sent; downtime %" PRId64 " ms; RAM bytes: precopy %"
                   PRId64 ", downtime %" PRId64 ", postcopy %" PRId64 "; "
                   "source answered %"
                   PRId64 " requests; destination: %" PRIu64 " faults, %"
                   PRIu64 " requests, %" PRIu64 " placed (%" PRIu64
                   " zero), %" PRIu64 " duplicates", dirtier.writes,
                   sent_at_switch, info->downtime, info->ram->precopy_bytes,
                   info->ram->downtime_bytes, info->ram->postcopy_bytes,
                   info->ram->postcopy_requests, pst.faults, pst.requests,
                   pst.placed, pst.placed_zero, pst.duplicates);
    g_test_message("vCPU first reads of %u pages, background at %llu MiB/s, "
                   "%s (%" PRIu64 " pages on it): p50 %" G_GINT64_FORMAT
                   " us, p99 %" G_GINT64_FORMAT " us, max %" G_GINT64_FORMAT
                   " us", r.touch->len, BANDWIDTH >> 20,
                   r.preempt ? "preempt channel" : "one channel", pre_pages, r.lat_us[r.touch->len / 2],
                   r.lat_us[r.touch->len * 99 / 100],
                   r.lat_us[r.touch->len - 1]);
    close(sv[0]);
    close(sv[1]);
    run_free(&r, true);
    test_watchdog_disarm();
}

/* ---- postcopy recovery ---- */

typedef enum RecoverHow {
    RECOVER_YANK,           /* yank of the source's migration instance,
                               twice (two pauses, two recoveries), the
                               first meeting wrong peers on both sides */
    RECOVER_NET_CUT,        /* shutdown() of the source's main socket,
                               with preempt */
    RECOVER_PREEMPT_CUT,    /* shutdown() of the preempt socket only */
    RECOVER_DST_PAUSE,      /* migrate-pause on the destination, with
                               x-stream-checksum (the new stream's
                               records carry trailers too) */
    RECOVER_SRC_PAUSE,      /* migrate-pause on the source, with preempt */
    RECOVER_BQL_HELD,       /* a cut with preempt while the destination's
                               main loop is stuck: a thread holds the BQL
                               (as a device load waiting for a page
                               does) until the destination is back in
                               postcopy-active */
} RecoverHow;

static void assert_error_is(Error *err, const char *want)
{
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), want)) {
        g_error("error '%s' does not say '%s'", error_get_pretty(err), want);
    }
    error_free(err);
}

/* Shuts down one of the source's sockets, as a failed link would. */
static void cut_socket(bool preempt)
{
    MigrationState *s = migration_current();
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);
    int fd = preempt ? s->pch.fd : s->ch.fd;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(shutdown(fd, SHUT_RDWR), ==, 0);
}

static void cut(Run *r, RecoverHow how)
{
    Error *err = NULL;

    switch (how) {
    case RECOVER_YANK: {
        YankInstance inst = { .type = YANK_INSTANCE_TYPE_MIGRATION };
        YankInstanceList l = { .value = &inst };

        qmp_yank(&l, &error_abort);
        break;
    }
    case RECOVER_NET_CUT:
    case RECOVER_BQL_HELD:
        cut_socket(false);
        break;
    case RECOVER_PREEMPT_CUT:
        cut_socket(true);
        break;
    case RECOVER_DST_PAUSE:
        g_assert_true(migration_pause(r->dst, &err));
        break;
    case RECOVER_SRC_PAUSE:
        qmp_migrate_pause(&error_abort);
        break;
    }
    g_assert_null(err);
}

typedef struct Progress {
    MigrationStatus src, dst;
    unsigned src_seen, dst_seen;    /* bit per status seen */
} Progress;

/* One look at both sides, running the main loop's work; the vCPUs
 * start once the destination loaded its devices. */
static void progress_poll(Run *r, Progress *p, int64_t deadline)
{
    g_autoptr(MigrationInfo) si = qmp_query_migrate(&error_abort);

    if (g_get_monotonic_time() >= deadline) {
        g_error("stuck: source %s, destination %s",
                MigrationStatus_str(si->status),
                MigrationStatus_str(migration_incoming_status(
                                        r->dst->incoming)));
    }
    p->src = si->status;
    p->dst = migration_incoming_status(r->dst->incoming);
    p->src_seen |= 1u << p->src;
    p->dst_seen |= 1u << p->dst;
    main_loop_poll();
    if (!r->nr_touchers && !r->no_touchers && !r->hold_touchers &&
        __atomic_load_n(&r->dst_probe.loaded, __ATOMIC_SEQ_CST)) {
        touchers_start(r);
    }
    g_usleep(1000);
}

static void set_postcopy_bandwidth(uint64_t bw)
{
    MigrateSetParameters p = {
        .has_max_postcopy_bandwidth = true, .max_postcopy_bandwidth = bw,
    };

    qmp_migrate_set_parameters(&p, &error_abort);
}

/* What is refused while both sides are paused, in QEMU's words. */
static void check_paused(Run *r)
{
    g_autoptr(MigrationInfo) si = qmp_query_migrate(&error_abort);
    MigrationInfo di = { 0 };
    Error *err = NULL;

    g_assert_cmpint(si->status, ==, MIGRATION_STATUS_POSTCOPY_PAUSED);
    g_assert_nonnull(si->error_desc);
    g_assert_true(migration_incoming_info(r->dst->incoming, &di));
    g_assert_cmpint(di.status, ==, MIGRATION_STATUS_POSTCOPY_PAUSED);
    g_assert_nonnull(di.error_desc);
    g_test_message("paused: source '%s', destination '%s'", si->error_desc,
                   di.error_desc);
    g_free(di.error_desc);
    qapi_free_uint32List(di.postcopy_vcpu_blocktime);
    qapi_free_SocketAddressList(di.socket_address);
    qmp_migrate("fd:0", false, false, false, false, &err);
    assert_error_is(err, "There's a migration process in progress");
    err = NULL;
    set_cap_err(migration_current(), MIGRATION_CAPABILITY_POSTCOPY_RAM, false,
                &err);
    assert_error_is(err, "There's a migration process in progress");
    err = NULL;
    qmp_migrate_pause(&err);
    assert_error_is(err, "migrate-pause is currently only supported during "
                    "postcopy-active or postcopy-recover state");
    err = NULL;
    /* exec: and file: have no return path to recover over. */
    qmp_migrate("file:/dev/null", false, false, true, true, &err);
    assert_error_is(err, "postcopy-ram needs a return path");
}

/*
 * Each side first meets a peer that is not the other side (a wrong
 * address): the destination a connection that sends no stream, the
 * source one that answers nonsense. Both stay paused, saying why.
 */
static void recover_wrong_peers(Run *r, Progress *p, int64_t deadline)
{
    static const char junk[] = "GET / HTTP/1.1\r\n\r\n";
    g_autoptr(MigrationInfo) si = NULL;
    g_autofree char *uri = NULL;
    MigrationInfo di = { 0 };
    int w[2], v[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, w),
                    ==, 0);
    uri = g_strdup_printf("fd:%d", w[1]);
    g_assert_true(migration_incoming_recover(r->dst->incoming, uri,
                                             &error_abort));
    g_assert_cmpint(write(w[0], junk, sizeof(junk)), ==, sizeof(junk));
    close(w[0]);
    close(w[1]);
    /* It read the junk and waits again. */
    do {
        progress_poll(r, p, deadline);
        migration_incoming_info(r->dst->incoming, &di);
        g_assert_cmpint(di.status, !=, MIGRATION_STATUS_FAILED);
        qapi_free_SocketAddressList(di.socket_address);
        qapi_free_uint32List(di.postcopy_vcpu_blocktime);
        di.socket_address = NULL;
        di.postcopy_vcpu_blocktime = NULL;
        /* The error is set before the status goes back to paused. */
        if (di.error_desc && strstr(di.error_desc, "bad magic") &&
            di.status == MIGRATION_STATUS_POSTCOPY_PAUSED) {
            break;
        }
        g_clear_pointer(&di.error_desc, g_free);
    } while (true);
    g_test_message("destination, wrong peer: %s", di.error_desc);
    g_free(di.error_desc);

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, v),
                    ==, 0);
    g_free(uri);
    uri = g_strdup_printf("fd:%d", v[0]);
    qmp_migrate(uri, false, false, true, true, &error_abort);
    g_assert_cmpint(write(v[1], junk, sizeof(junk)), ==, sizeof(junk));
    do {
        progress_poll(r, p, deadline);
        g_clear_pointer(&si, qapi_free_MigrationInfo);
        si = qmp_query_migrate(&error_abort);
    } while (si->status != MIGRATION_STATUS_POSTCOPY_PAUSED ||
             !si->error_desc || !strstr(si->error_desc, "return path"));
    g_test_message("source, wrong peer: %s", si->error_desc);
    close(v[0]);
    close(v[1]);
}

/* migrate-recover on the destination, then migrate resume=true. */
static void recover(Run *r, unsigned n, int rv[2])
{
    g_autofree char *src_uri = NULL, *dst_uri = NULL;

    if (r->preempt) {
        dst_uri = g_strdup_printf("unix:%s/recover%u.sock", r->dir, n);
        src_uri = g_strdup(dst_uri);
    } else {
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                   rv), ==, 0);
        dst_uri = g_strdup_printf("fd:%d", rv[1]);
        src_uri = g_strdup_printf("fd:%d", rv[0]);
    }
    g_assert_true(migration_incoming_recover(r->dst->incoming, dst_uri,
                                             &error_abort));
    qmp_migrate(src_uri, false, false, true, true, &error_abort);
    g_assert_cmpint(migration_status(migration_current()), !=,
                    MIGRATION_STATUS_POSTCOPY_PAUSED);
}

/* The stuck device load: holds the BQL until told to let go. */
typedef struct BqlHolder {
    GMutex lock;
    GCond cond;
    bool held;                  /* (lock) */
    bool release;               /* (lock) */
    GThread *thread;
} BqlHolder;

static gpointer bql_holder_fn(gpointer opaque)
{
    BqlHolder *h = opaque;

    bql_lock();
    g_mutex_lock(&h->lock);
    h->held = true;
    g_cond_broadcast(&h->cond);
    while (!h->release) {
        g_cond_wait(&h->cond, &h->lock);
    }
    g_mutex_unlock(&h->lock);
    bql_unlock();
    return NULL;
}

/*
 * migrate-recover (the destination here is not the process's migration,
 * so its QMP handler's body; test-qmp runs the handler out of band) and
 * the whole recovery on the destination while another thread holds the
 * BQL:
 * the new connections are accepted and the destination is back in
 * postcopy-active before the BQL is let go. The test thread does not
 * run the main loop meanwhile (it would wait for the BQL): a listener
 * in the main loop would never accept.
 */
static void recover_bql_held(Run *r, unsigned n)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/recover%u.sock", r->dir,
                                           n);
    int64_t deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    BqlHolder h = { 0 };

    g_mutex_init(&h.lock);
    g_cond_init(&h.cond);
    h.thread = g_thread_new("stuck-load", bql_holder_fn, &h);
    g_mutex_lock(&h.lock);
    while (!h.held) {
        g_cond_wait(&h.cond, &h.lock);
    }
    g_mutex_unlock(&h.lock);
    g_assert_true(migration_incoming_recover(r->dst->incoming, uri,
                                             &error_abort));
    qmp_migrate(uri, false, false, true, true, &error_abort);
    while (migration_incoming_status(r->dst->incoming) !=
           MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        if (g_get_monotonic_time() >= deadline) {
            g_error("destination still %s with the BQL held elsewhere: "
                    "recovery waits for the main loop",
                    MigrationStatus_str(migration_incoming_status(
                                            r->dst->incoming)));
        }
        g_usleep(1000);
    }
    g_mutex_lock(&h.lock);
    h.release = true;
    g_cond_broadcast(&h.cond);
    g_mutex_unlock(&h.lock);
    g_thread_join(h.thread);
    g_mutex_clear(&h.lock);
    g_cond_clear(&h.cond);
}

/*
 * The link fails (or is cut on purpose) after postcopy-run, while the
 * destination's vCPUs read pages that have not arrived: both sides go
 * to postcopy-paused and keep their state; migrate-recover and migrate
 * resume=true bring them back to postcopy-active over a new connection
 * (and a new preempt channel), and the migration completes with every
 * page equal to the source's. The vCPUs start in the first pause, and
 * the background crawls (CRAWL) from the first cut until they are done,
 * so the pages they wait for when it resumes come from the requests
 * asked again (postcopy_ram_rerequest) within the 10 s allowed; without
 * them the vCPUs wait for the background, which needs tens of seconds
 * to reach the lowest of those pages.
 */
static void test_recover(gconstpointer opaque)
{
    RecoverHow how = GPOINTER_TO_INT(opaque);
    bool preempt = how == RECOVER_NET_CUT || how == RECOVER_PREEMPT_CUT ||
                   how == RECOVER_SRC_PAUSE || how == RECOVER_BQL_HELD;
    unsigned cuts = how == RECOVER_YANK ? 2 : 1;
    int rv[2][2] = { { -1, -1 }, { -1, -1 } };
    Progress p = { 0 };
    PostcopyRamStats pst;
    Error *err = NULL;
    Dirtier dirtier;
    int64_t deadline, vcpu_deadline;
    int sv[2];
    Run r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, true, preempt, false);
    if (how == RECOVER_DST_PAUSE) {
        set_cap(migration_current(), MIGRATION_CAPABILITY_X_STREAM_CHECKSUM,
                true);
        set_cap(r.dst, MIGRATION_CAPABILITY_X_STREAM_CHECKSUM, true);
    }
    guest_running();
    dirtier_start(&dirtier, &r.src_mem);
    /* Nothing to resume or recover yet, in QEMU's words. */
    qmp_migrate("fd:0", false, false, true, true, &err);
    assert_error_is(err, "Cannot resume if there is no paused migration");
    err = NULL;
    g_assert_false(migration_incoming_recover(r.dst->incoming, "fd:0",
                                              &err));
    assert_error_is(err, "Migrate recover can only be run when postcopy is "
                    "paused.");
    err = NULL;
    qmp_migrate_recover("fd:0", &err);
    assert_error_is(err, "Migrate recover can only be run when postcopy is "
                    "paused.");
    qmp_migrate_start_postcopy(&error_abort);
    /* The vCPUs start in the first pause: the pages they fault on are
     * asked of a source that is not there. */
    r.hold_touchers = true;
    run_connect(&r, sv);
    deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    for (unsigned n = 0; n < cuts; n++) {
        /* Running on the destination. */
        while (!__atomic_load_n(&r.dst_probe.loaded, __ATOMIC_SEQ_CST) ||
               p.src != MIGRATION_STATUS_POSTCOPY_ACTIVE ||
               p.dst != MIGRATION_STATUS_POSTCOPY_ACTIVE) {
            g_assert_false(status_final(p.src) || status_final(p.dst));
            progress_poll(&r, &p, deadline);
        }
        set_postcopy_bandwidth(CRAWL);
        g_usleep(20000);
        cut(&r, how);
        while (p.src != MIGRATION_STATUS_POSTCOPY_PAUSED ||
               p.dst != MIGRATION_STATUS_POSTCOPY_PAUSED) {
            g_assert_false(status_final(p.src) || status_final(p.dst));
            progress_poll(&r, &p, deadline);
        }
        r.hold_touchers = false;
        progress_poll(&r, &p, deadline);
        g_assert_cmpuint(r.nr_touchers, ==, TOUCHERS);
        /* Long enough for the vCPUs to wait on pages nobody sends. */
        g_usleep(50000);
        check_paused(&r);
        if (how == RECOVER_YANK && n == 0) {
            recover_wrong_peers(&r, &p, deadline);
        }
        if (how == RECOVER_BQL_HELD) {
            recover_bql_held(&r, n);
        } else {
            recover(&r, n, rv[n]);
        }
    }
    /* The vCPUs finish on requests alone (the background crawls). */
    vcpu_deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    for (unsigned i = 0; i < r.nr_touchers; i++) {
        while (r.touchers[i]) {
            g_assert_false(status_final(p.src) || status_final(p.dst));
            progress_poll(&r, &p, vcpu_deadline);
            for (unsigned j = 0; j < r.nr_touchers; j++) {
                if (r.touchers[j] && r.done[j]) {
                    g_thread_join(r.touchers[j]);
                    r.touchers[j] = NULL;
                }
            }
        }
    }
    set_postcopy_bandwidth(0);
    while (!status_final(p.src) || !status_final(p.dst)) {
        progress_poll(&r, &p, deadline);
    }
    dirtier_join(&dirtier);
    if (p.src != MIGRATION_STATUS_COMPLETED) {
        g_autoptr(MigrationInfo) si = qmp_query_migrate(&error_abort);

        g_error("source: %s (%s)", MigrationStatus_str(si->status),
                si->error_desc ? si->error_desc : "no error");
    }
    g_assert_cmpint(p.dst, ==, MIGRATION_STATUS_COMPLETED);
    g_assert_true(p.src_seen & 1u << MIGRATION_STATUS_POSTCOPY_PAUSED);
    g_assert_true(p.dst_seen & 1u << MIGRATION_STATUS_POSTCOPY_PAUSED);
    assert_same_ram(&r);
    postcopy_incoming_stats(r.dst->vmstate, &pst);
    g_test_message("%u recover%s; destination: %" PRIu64 " requests, %"
                   PRIu64 " placed, %" PRIu64 " duplicates; preempt pages %"
                   PRIu64, cuts, cuts > 1 ? "ies" : "y", pst.requests,
                   pst.placed, pst.duplicates,
                   postcopy_incoming_preempt_pages(r.dst->vmstate));
    if (r.preempt) {
        g_assert_cmpuint(postcopy_incoming_preempt_pages(r.dst->vmstate), >,
                         0);
    }
    close(sv[0]);
    close(sv[1]);
    for (unsigned n = 0; n < 2; n++) {
        if (rv[n][0] >= 0) {
            close(rv[n][0]);
            close(rv[n][1]);
        }
    }
    set_postcopy_bandwidth(BANDWIDTH);
    set_cap(migration_current(), MIGRATION_CAPABILITY_X_STREAM_CHECKSUM,
            false);
    run_free(&r, true);
    test_watchdog_disarm();
}

/*
 * Garbage from the destination after postcopy-run is no broken link:
 * the source fails saying the guest's state is split, its guest stays
 * stopped (the destination may be running it); the destination, whose
 * connection the source then closes, pauses and waits for a recovery
 * that will not come.
 */
static void test_garbage_after_switch(void)
{
    static const uint8_t garbage[8] = { 0x7f, 0x7f, 0, 4, 1, 2, 3, 4 };
    Progress p = { 0 };
    g_autoptr(MigrationInfo) info = NULL;
    Dirtier dirtier;
    int64_t deadline;
    int sv[2];
    Run r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, true, false, false);
    /* They would wait for pages forever. */
    r.no_touchers = true;
    guest_running();
    dirtier_start(&dirtier, &r.src_mem);
    qmp_migrate_start_postcopy(&error_abort);
    run_connect(&r, sv);
    deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    /* Once the destination loaded its devices, postcopy-run went out. */
    while (!__atomic_load_n(&r.dst_probe.loaded, __ATOMIC_SEQ_CST)) {
        progress_poll(&r, &p, deadline);
    }
    g_assert_cmpint(write(sv[1], garbage, sizeof(garbage)), ==,
                    sizeof(garbage));
    while (!status_final(p.src) ||
           p.dst != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        progress_poll(&r, &p, deadline);
    }
    dirtier_join(&dirtier);
    info = qmp_query_migrate(&error_abort);
    g_assert_cmpint(info->status, ==, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(info->error_desc);
    g_test_message("source: %s", info->error_desc);
    g_assert_nonnull(strstr(info->error_desc, "postcopy failed after the "
                            "switch, the guest's state is split between "
                            "source and destination"));
    g_assert_nonnull(strstr(info->error_desc, "bad message type 32639"));
    {
        BQL_LOCK_GUARD();

        g_assert_cmpint(runstate_get(), !=, RUN_STATE_RUNNING);
    }
    /* migrate_cancel after the switch changes nothing. */
    qmp_migrate_cancel(&error_abort);
    close(sv[0]);
    close(sv[1]);
    /* Quitting fails the paused destination, which schedules the
     * process's exit on the main loop: no test that runs the main loop
     * comes after this one. */
    run_free(&r, false);
    test_watchdog_disarm();
}

/*
 * A bad record on the preempt channel after postcopy-run (not a broken
 * link): the destination fails at once, naming it, rather than pausing
 * or waiting for postcopy-preempt-done; the source, whose connection the
 * destination then closes, pauses, and gives up when the process quits.
 * In a process of its own: the destination's failure schedules the
 * exit on the main loop, which the other runs poll.
 */
static void preempt_garbage_run(void)
{
    static const uint8_t garbage[8] = { 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff };
    MigrationState *s = migration_current();
    MigrationInfo di = { 0 };
    Progress p = { 0 };
    Dirtier dirtier;
    int64_t deadline;
    int sv[2], fd;
    Run r;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, true, true, false);
    /* No requests: the preempt channel is idle when the garbage goes. */
    r.no_touchers = true;
    /* The stream's end (postcopy-preempt-done) is far away: the failure
     * must not wait for it. */
    set_postcopy_bandwidth(CRAWL);
    guest_running();
    dirtier_start(&dirtier, &r.src_mem);
    qmp_migrate_start_postcopy(&error_abort);
    run_connect(&r, sv);
    deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (!__atomic_load_n(&r.dst_probe.loaded, __ATOMIC_SEQ_CST) ||
           p.dst != MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        progress_poll(&r, &p, deadline);
    }
    {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

        fd = s->pch.fd;
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, garbage, sizeof(garbage)), ==,
                        sizeof(garbage));
    }
    /* Not the main loop from here: the failure scheduled the exit. */
    deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (migration_incoming_status(r.dst->incoming) !=
           MIGRATION_STATUS_FAILED) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_assert_cmpint(migration_incoming_status(r.dst->incoming), !=,
                        MIGRATION_STATUS_POSTCOPY_PAUSED);
        g_usleep(1000);
    }
    g_assert_true(migration_incoming_info(r.dst->incoming, &di));
    g_assert_nonnull(di.error_desc);
    g_test_message("destination: %s", di.error_desc);
    g_assert_nonnull(strstr(di.error_desc, "postcopy preempt channel: "
                            "record 0xffffffffffffffff is not a page"));
    g_free(di.error_desc);
    qapi_free_SocketAddressList(di.socket_address);
    while (migration_status(s) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    dirtier_join(&dirtier);
    {
        BQL_LOCK_GUARD();

        migration_shutdown();
    }
    g_assert_cmpint(migration_status(s), ==, MIGRATION_STATUS_FAILED);
    set_postcopy_bandwidth(BANDWIDTH);
    close(sv[0]);
    close(sv[1]);
    run_free(&r, false);
    test_watchdog_disarm();
}

static void test_preempt_garbage(void)
{
    if (g_test_subprocess()) {
        preempt_garbage_run();
        return;
    }
    g_test_trap_subprocess(NULL, TEST_TIMEOUT_S * G_USEC_PER_SEC,
                           G_TEST_SUBPROCESS_INHERIT_STDOUT |
                           G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed();
}

/*
 * A destination without postcopy-ram refuses the source's advise with a
 * clear error; the source fails before any switch and its guest runs on.
 */
static void test_destination_without_postcopy(void)
{
    MigrationStatus src = MIGRATION_STATUS_NONE, dst = MIGRATION_STATUS_NONE;
    MigrationInfo dinfo = { 0 };
    int64_t deadline;
    int sv[2];
    Run r;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    run_init(&r, false, false, false);
    guest_running();
    qmp_migrate_start_postcopy(&error_abort);
    run_connect(&r, sv);
    deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (!status_final(src) || !status_final(dst)) {
        g_autoptr(MigrationInfo) si = qmp_query_migrate(&error_abort);

        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        src = si->status;
        dst = migration_incoming_status(r.dst->incoming);
        g_usleep(1000);
    }
    g_assert_cmpint(src, ==, MIGRATION_STATUS_FAILED);
    g_assert_cmpint(dst, ==, MIGRATION_STATUS_FAILED);
    g_assert_true(migration_incoming_info(r.dst->incoming, &dinfo));
    g_assert_nonnull(dinfo.error_desc);
    g_assert_nonnull(strstr(dinfo.error_desc, "the source uses postcopy, "
                            "but capability 'postcopy-ram' is off here"));
    g_free(dinfo.error_desc);
    qapi_free_SocketAddressList(dinfo.socket_address);
    {
        BQL_LOCK_GUARD();

        g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    }
    close(sv[0]);
    close(sv[1]);
    /* Its failure scheduled the process's exit on the main loop, which
     * no test runs after this one (registered last). */
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
    g_test_add_data_func("/postcopy-migration/start-before-migrate",
                         GINT_TO_POINTER(START_BEFORE_MIGRATE),
                         test_postcopy_migration);
    g_test_add_data_func("/postcopy-migration/start-during-migrate",
                         GINT_TO_POINTER(START_DURING_MIGRATE),
                         test_postcopy_migration);
    g_test_add_data_func("/postcopy-migration/preempt",
                         GINT_TO_POINTER(START_DURING_PREEMPT),
                         test_postcopy_migration);
    g_test_add_data_func("/postcopy-migration/recover-yank-twice",
                         GINT_TO_POINTER(RECOVER_YANK), test_recover);
    g_test_add_data_func("/postcopy-migration/recover-net-cut-preempt",
                         GINT_TO_POINTER(RECOVER_NET_CUT), test_recover);
    g_test_add_data_func("/postcopy-migration/recover-preempt-cut",
                         GINT_TO_POINTER(RECOVER_PREEMPT_CUT), test_recover);
    g_test_add_data_func("/postcopy-migration/recover-dst-pause",
                         GINT_TO_POINTER(RECOVER_DST_PAUSE), test_recover);
    g_test_add_data_func("/postcopy-migration/recover-src-pause-preempt",
                         GINT_TO_POINTER(RECOVER_SRC_PAUSE), test_recover);
    g_test_add_data_func("/postcopy-migration/recover-bql-held",
                         GINT_TO_POINTER(RECOVER_BQL_HELD), test_recover);
    g_test_add_func("/postcopy-migration/preempt-garbage",
                    test_preempt_garbage);
    /* Last, these two: see there. */
    g_test_add_func("/postcopy-migration/garbage-after-switch",
                    test_garbage_after_switch);
    g_test_add_func("/postcopy-migration/destination-without-postcopy",
                    test_destination_without_postcopy);
    return g_test_run();
}
