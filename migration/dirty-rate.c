/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * calc-dirty-rate and query-dirty-rate (include/migration/dirty-rate.h):
 * the page sample, the measuring thread and its status, the commands.
 */
#include <string.h>
#include <glib.h>
#include "migration/colo.h"
#include "migration/dirty-rate.h"
#include "migration/migration.h"
#include "qapi/qapi-commands.h"
#include "system/runstate.h"
#include "util/bitmap.h"
#include "util/crc32c.h"
#include "util/main-loop.h"
#include "trace.h"

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

/* ---- page sampling ---- */

typedef struct SampledBlock {
    uint64_t npages;        /* pages sampled in this block */
    uint64_t *page;         /* page indexes in the block */
    uint32_t *hash;         /* CRC32C of each at sampling time */
    uint64_t block_size;    /* bytes, to scale the changed share */
} SampledBlock;

struct DirtyRateSample {
    SampledBlock *blocks;   /* one per RamBlock, in mem's order */
    unsigned nr_blocks;
};

static uint32_t page_hash(const RamBlock *b, uint64_t page)
{
    return crc32c(0, b->host + page * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
}

/*
 * pages_per_gib of every GiB, rounded up, at least one page and at most
 * all of them: a small block (the pc's RAM above 4 GiB can be a few MiB)
 * is still looked at. Pages may repeat; they are drawn independently.
 */
DirtyRateSample *dirty_rate_sample_take(GuestMemory *mem,
                                        uint64_t pages_per_gib,
                                        uint32_t seed)
{
    DirtyRateSample *sample = g_new0(DirtyRateSample, 1);
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);

    sample->nr_blocks = mem->nr_blocks;
    sample->blocks = g_new0(SampledBlock, mem->nr_blocks);
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        const RamBlock *b = &mem->blocks[i];
        SampledBlock *sb = &sample->blocks[i];
        uint64_t block_pages = b->size >> GUEST_PAGE_SHIFT;

        sb->block_size = b->size;
        sb->npages = (b->size * pages_per_gib + GIB - 1) / GIB;
        sb->npages = CLAMP(sb->npages, 1, block_pages);
        sb->page = g_new(uint64_t, sb->npages);
        sb->hash = g_new(uint32_t, sb->npages);
        for (uint64_t p = 0; p < sb->npages; p++) {
            /* g_rand_int_range takes gint32 bounds: draw 64 bits. */
            uint64_t r = ((uint64_t)g_rand_int(rand) << 32) |
                         g_rand_int(rand);

            sb->page[p] = r % block_pages;
            sb->hash[p] = page_hash(b, sb->page[p]);
        }
    }
    return sample;
}

uint64_t dirty_rate_sample_changed_bytes(const DirtyRateSample *sample,
                                         GuestMemory *mem)
{
    double bytes = 0;

    for (unsigned i = 0; i < sample->nr_blocks && i < mem->nr_blocks; i++) {
        const SampledBlock *sb = &sample->blocks[i];
        uint64_t changed = 0;

        for (uint64_t p = 0; p < sb->npages; p++) {
            changed += page_hash(&mem->blocks[i], sb->page[p]) != sb->hash[p];
        }
        bytes += (double)changed / sb->npages * sb->block_size;
    }
    return (uint64_t)bytes;
}

uint64_t dirty_rate_sample_pages(const DirtyRateSample *sample)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < sample->nr_blocks; i++) {
        n += sample->blocks[i].npages;
    }
    return n;
}

void dirty_rate_sample_free(DirtyRateSample *sample)
{
    if (!sample) {
        return;
    }
    for (unsigned i = 0; i < sample->nr_blocks; i++) {
        g_free(sample->blocks[i].page);
        g_free(sample->blocks[i].hash);
    }
    g_free(sample->blocks);
    g_free(sample);
}

int64_t dirty_rate_mbps(uint64_t bytes, int64_t elapsed_us)
{
    if (elapsed_us <= 0) {
        return 0;
    }
    return (int64_t)((double)bytes / MIB * G_USEC_PER_SEC / elapsed_us);
}

/* ---- the measurement ---- */

struct DirtyRate {
    GMutex lock;            /* everything below */
    GCond wake;             /* cancel, for the thread's wait */
    GuestMemory *mem;
    KvmState *kvm;
    GThread *thread;        /* the last measurement's, until joined */
    bool cancel;
    DirtyRateStatus status;
    DirtyRateMeasureMode mode;
    int64_t start_time;     /* monotonic seconds */
    int64_t calc_time;      /* seconds */
    uint64_t sample_pages;  /* per GiB */
    int64_t rate;           /* MB/s, once measured */
    DirtyRateVcpuList *vcpus;   /* dirty-ring mode, once measured */
};

DirtyRate *dirty_rate_new(void)
{
    DirtyRate *dr = g_new0(DirtyRate, 1);

    g_mutex_init(&dr->lock);
    g_cond_init(&dr->wake);
    dr->status = DIRTY_RATE_STATUS_UNSTARTED;
    return dr;
}

void dirty_rate_set_machine(DirtyRate *dr, GuestMemory *mem, KvmState *kvm)
{
    g_mutex_lock(&dr->lock);
    dr->mem = mem;
    dr->kvm = kvm;
    g_mutex_unlock(&dr->lock);
}

/* What migrate says while a dirty-log mode counts (query-migrate's
 * blocked-reasons lists it). */
#define DIRTY_RATE_MIGRATION_BLOCKER \
    "calc-dirty-rate is counting with the dirty log; migrate once " \
    "query-dirty-rate says measured"

/* Waits out the period; false if the process is quitting. */
static bool dirty_rate_wait(DirtyRate *dr, int64_t until_us)
{
    bool cancelled;

    g_mutex_lock(&dr->lock);
    while (!dr->cancel &&
           g_cond_wait_until(&dr->wake, &dr->lock, until_us)) {
        /* woken early: look at cancel again */
    }
    cancelled = dr->cancel;
    g_mutex_unlock(&dr->lock);
    return !cancelled;
}

/* Takes (clears) block's dirty bits and counts them. */
static uint64_t dirty_pages_take(RamBlock *b)
{
    size_t npages = b->size >> GUEST_PAGE_SHIFT;
    g_autofree unsigned long *taken = bitmap_new(npages);

    bitmap_take_atomic(taken, b->dirty, npages);
    return bitmap_count_one(taken, npages);
}

/*
 * The dirty-log modes: RamBlock.dirty starts empty (nobody else consumes
 * it now: migration and COLO are excluded), KVM logs while we wait, and
 * the bits are counted and dropped at the end. Logging stops again only
 * if we started it. With the BQL (the slot table's rule).
 */
static bool dirty_log_begin(GuestMemory *mem, KvmState *kvm, Error **errp)
{
    if (kvm && !kvm_dirty_log_start(kvm, errp)) {
        return false;
    }
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        dirty_pages_take(&mem->blocks[i]);
    }
    return true;
}

static uint64_t dirty_log_end(GuestMemory *mem, KvmState *kvm,
                              bool stop_log)
{
    Error *err = NULL;
    uint64_t pages = 0;

    if (kvm && !kvm_dirty_sync(kvm, &err)) {
        /* Count what we have; the trace says why it may be short. */
        trace_dirty_rate_error(error_get_pretty(err));
        error_free(err);
        err = NULL;
    }
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        pages += dirty_pages_take(&mem->blocks[i]);
    }
    if (kvm && stop_log && !kvm_dirty_log_stop(kvm, &err)) {
        trace_dirty_rate_error(error_get_pretty(err));
        error_free(err);
    }
    return pages;
}

static void dirty_rate_finish(DirtyRate *dr, DirtyRateMeasureMode mode,
                              int64_t rate, DirtyRateVcpuList *vcpus)
{
    g_mutex_lock(&dr->lock);
    dr->rate = rate;
    qapi_free_DirtyRateVcpuList(dr->vcpus);
    dr->vcpus = vcpus;
    dr->status = DIRTY_RATE_STATUS_MEASURED;
    g_mutex_unlock(&dr->lock);
    trace_dirty_rate_measured(DirtyRateMeasureMode_str(mode), rate);
}

/*
 * One measurement. Its start runs in the command, with the BQL, so the
 * period begins before the command returns (a write the caller makes
 * after it is counted); the thread waits out the period and counts.
 * Hashing the default sample is ~2 MiB per GiB of RAM (CRC32C in
 * hardware: about a millisecond per GiB).
 */
typedef struct DirtyRateRun {
    DirtyRate *dr;
    DirtyRateMeasureMode mode;
    int64_t start_us;
    int64_t calc_time;
    GuestMemory *mem;
    KvmState *kvm;
    DirtyRateSample *sample;    /* page-sampling */
    bool stop_log;              /* dirty-log modes: we started KVM's log */
    unsigned nr_vcpus;          /* dirty-ring: counters at the start */
    uint64_t *vcpu_before;
} DirtyRateRun;

static void dirty_rate_run_free(DirtyRateRun *run)
{
    dirty_rate_sample_free(run->sample);
    g_free(run->vcpu_before);
    g_free(run);
}

static DirtyRateRun *dirty_rate_run_begin(DirtyRate *dr,
                                          DirtyRateMeasureMode mode,
                                          int64_t calc_time,
                                          uint64_t sample_pages,
                                          Error **errp)
{
    DirtyRateRun *run = g_new0(DirtyRateRun, 1);

    run->dr = dr;
    run->mode = mode;
    run->calc_time = calc_time;
    run->mem = dr->mem;
    run->kvm = dr->kvm;
    if (mode == DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING) {
        run->sample = dirty_rate_sample_take(run->mem, sample_pages,
                                             g_random_int());
        trace_dirty_rate_sampled(dirty_rate_sample_pages(run->sample));
    } else {
        run->stop_log = !run->kvm ||
                        kvm_dirty_mode(run->kvm) == KVM_DIRTY_NONE;
        if (!dirty_log_begin(run->mem, run->kvm, errp)) {
            dirty_rate_run_free(run);
            return NULL;
        }
        if (mode == DIRTY_RATE_MEASURE_MODE_DIRTY_RING) {
            run->nr_vcpus = run->kvm->nr_vcpus;
            run->vcpu_before = g_new0(uint64_t, run->nr_vcpus);
            for (unsigned i = 0; i < run->nr_vcpus; i++) {
                run->vcpu_before[i] =
                    kvm_dirty_ring_vcpu_harvested(run->kvm, i);
            }
        }
    }
    run->start_us = g_get_monotonic_time();
    return run;
}

/* The per-vCPU figures of a dirty-ring run; with the BQL. */
static DirtyRateVcpuList *dirty_rate_run_vcpus(DirtyRateRun *run,
                                               int64_t elapsed)
{
    DirtyRateVcpuList *vcpus = NULL, **tail = &vcpus;

    for (unsigned i = 0; i < run->nr_vcpus; i++) {
        DirtyRateVcpu *v = g_new0(DirtyRateVcpu, 1);
        uint64_t n = kvm_dirty_ring_vcpu_harvested(run->kvm, i) -
                     run->vcpu_before[i];

        v->id = i;
        v->dirty_rate = dirty_rate_mbps(n * GUEST_PAGE_SIZE, elapsed);
        *tail = g_new0(DirtyRateVcpuList, 1);
        (*tail)->value = v;
        tail = &(*tail)->next;
    }
    return vcpus;
}

static void *dirty_rate_thread(void *opaque)
{
    DirtyRateRun *run = opaque;
    DirtyRateVcpuList *vcpus = NULL;
    uint64_t bytes;
    int64_t elapsed;

    if (!dirty_rate_wait(run->dr,
                         run->start_us + run->calc_time * G_USEC_PER_SEC)) {
        /* Quitting: the VM goes, KVM's log with it. */
        dirty_rate_run_free(run);
        return NULL;
    }
    if (run->sample) {
        bytes = dirty_rate_sample_changed_bytes(run->sample, run->mem);
        elapsed = g_get_monotonic_time() - run->start_us;
    } else {
        bql_lock();
        bytes = dirty_log_end(run->mem, run->kvm, run->stop_log) *
                GUEST_PAGE_SIZE;
        elapsed = g_get_monotonic_time() - run->start_us;
        vcpus = dirty_rate_run_vcpus(run, elapsed);
        /* The log is migration's again. */
        migration_del_blocker(migration_current(),
                              DIRTY_RATE_MIGRATION_BLOCKER);
        bql_unlock();
    }
    dirty_rate_finish(run->dr, run->mode, dirty_rate_mbps(bytes, elapsed),
                      vcpus);
    dirty_rate_run_free(run);
    return NULL;
}

/* Why mode cannot count now, or true. Main loop, BQL. */
static bool dirty_rate_check_mode(DirtyRate *dr, DirtyRateMeasureMode mode,
                                  Error **errp)
{
    MigrationState *ms = migration_current();

    if (mode == DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING) {
        /* RAM an incoming migration (or a COLO secondary's checkpoints)
         * still writes, or postcopy has not fetched yet, says nothing
         * about the guest, and a missing page would block the reader. */
        if (migration_owns_guest_ram(ms) && !migration_is_active(ms)) {
            error_setg(errp, "the guest's RAM is being written by an "
                       "incoming migration or COLO checkpoints");
            return false;
        }
        return true;
    }
    if (mode == DIRTY_RATE_MEASURE_MODE_DIRTY_RING &&
        !(dr->kvm && dr->kvm->dirty_ring_entries)) {
        error_setg(errp, "mode %s is not enabled, use other method instead.",
                   DirtyRateMeasureMode_str(mode));
        return false;
    }
    if (migration_owns_guest_ram(ms) || colo_mode() != COLO_MODE_NONE) {
        error_setg(errp, "mode %s needs the dirty log, which a migration "
                   "or COLO is using; measure with page-sampling",
                   DirtyRateMeasureMode_str(mode));
        return false;
    }
    return true;
}

static DirtyRateStatus dirty_rate_status(DirtyRate *dr)
{
    DirtyRateStatus st;

    g_mutex_lock(&dr->lock);
    st = dr->status;
    g_mutex_unlock(&dr->lock);
    return st;
}

static void dirty_rate_join(DirtyRate *dr)
{
    if (dr->thread) {
        g_thread_join(dr->thread);
        dr->thread = NULL;
    }
}

void qmp_calc_dirty_rate(int64_t calc_time, bool has_sample_pages,
                         int64_t sample_pages, bool has_mode,
                         DirtyRateMeasureMode mode, Error **errp)
{
    DirtyRate *dr = migration_dirty_rate(migration_current());
    DirtyRateMeasureMode m =
        has_mode ? mode : DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING;
    uint64_t pages_per_gib;
    DirtyRateRun *run;

    if (calc_time < DIRTY_RATE_MIN_CALC_TIME ||
        calc_time > DIRTY_RATE_MAX_CALC_TIME) {
        error_setg(errp, "calc-time is out of range[%d, %d].",
                   DIRTY_RATE_MIN_CALC_TIME, DIRTY_RATE_MAX_CALC_TIME);
        return;
    }
    if (has_sample_pages && m != DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING) {
        error_setg(errp, "sample-pages is used only in page-sampling mode");
        return;
    }
    if (has_sample_pages && (sample_pages < DIRTY_RATE_MIN_SAMPLE_PAGES ||
                             sample_pages > DIRTY_RATE_MAX_SAMPLE_PAGES)) {
        error_setg(errp, "sample-pages is out of range[%d, %d].",
                   DIRTY_RATE_MIN_SAMPLE_PAGES, DIRTY_RATE_MAX_SAMPLE_PAGES);
        return;
    }
    if (dirty_rate_status(dr) == DIRTY_RATE_STATUS_MEASURING) {
        error_setg(errp, "the dirty rate is already being measured.");
        return;
    }
    if (!dr->mem || !dr->mem->nr_blocks) {
        error_setg(errp, "calc-dirty-rate: this machine has no guest memory");
        return;
    }
    if (runstate_get() == RUN_STATE_INMIGRATE) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return;
    }
    if (!dirty_rate_check_mode(dr, m, errp)) {
        return;
    }
    dirty_rate_join(dr);
    pages_per_gib = has_sample_pages ? (uint64_t)sample_pages
                                     : DIRTY_RATE_DEFAULT_SAMPLE_PAGES;
    if (m != DIRTY_RATE_MEASURE_MODE_PAGE_SAMPLING &&
        !migration_add_blocker(migration_current(),
                               DIRTY_RATE_MIGRATION_BLOCKER, errp)) {
        return;
    }
    run = dirty_rate_run_begin(dr, m, calc_time, pages_per_gib, errp);
    if (!run) {
        migration_del_blocker(migration_current(),
                              DIRTY_RATE_MIGRATION_BLOCKER);
        return;
    }

    g_mutex_lock(&dr->lock);
    dr->status = DIRTY_RATE_STATUS_MEASURING;
    dr->mode = m;
    dr->calc_time = calc_time;
    dr->sample_pages = pages_per_gib;
    dr->start_time = run->start_us / G_USEC_PER_SEC;
    dr->rate = 0;
    qapi_free_DirtyRateVcpuList(dr->vcpus);
    dr->vcpus = NULL;
    g_mutex_unlock(&dr->lock);

    trace_dirty_rate_start(DirtyRateMeasureMode_str(m), calc_time);
    dr->thread = g_thread_new("dirty-rate", dirty_rate_thread, run);
}

static DirtyRateVcpuList *dirty_rate_vcpus_copy(const DirtyRateVcpuList *l)
{
    DirtyRateVcpuList *out = NULL, **tail = &out;

    for (; l; l = l->next) {
        *tail = g_new0(DirtyRateVcpuList, 1);
        (*tail)->value = g_memdup2(l->value, sizeof(*l->value));
        tail = &(*tail)->next;
    }
    return out;
}

DirtyRateInfo *qmp_query_dirty_rate(Error **errp)
{
    DirtyRate *dr = migration_dirty_rate(migration_current());
    DirtyRateInfo *info = g_new0(DirtyRateInfo, 1);

    g_mutex_lock(&dr->lock);
    info->status = dr->status;
    info->mode = dr->mode;
    info->start_time = dr->start_time;
    info->calc_time = dr->calc_time;
    info->sample_pages = dr->sample_pages;
    if (dr->status == DIRTY_RATE_STATUS_MEASURED) {
        info->has_dirty_rate = true;
        info->dirty_rate = dr->rate;
        info->vcpu_dirty_rate = dirty_rate_vcpus_copy(dr->vcpus);
    }
    g_mutex_unlock(&dr->lock);
    return info;
}

static void dirty_rate_cancel(DirtyRate *dr)
{
    g_mutex_lock(&dr->lock);
    dr->cancel = true;
    g_cond_broadcast(&dr->wake);
    g_mutex_unlock(&dr->lock);
}

void dirty_rate_shutdown(DirtyRate *dr)
{
    dirty_rate_cancel(dr);
    /* The dirty-log thread may wait for the BQL we hold. */
    bql_unlock();
    dirty_rate_join(dr);
    bql_lock();
    /* A count cut short by the exit ends here. */
    migration_del_blocker(migration_current(), DIRTY_RATE_MIGRATION_BLOCKER);
    dirty_rate_set_machine(dr, NULL, NULL);
}

void dirty_rate_free(DirtyRate *dr)
{
    if (!dr) {
        return;
    }
    /* Without the BQL (a measuring thread may want it), or after
     * dirty_rate_shutdown(). */
    dirty_rate_cancel(dr);
    dirty_rate_join(dr);
    qapi_free_DirtyRateVcpuList(dr->vcpus);
    g_cond_clear(&dr->wake);
    g_mutex_clear(&dr->lock);
    g_free(dr);
}
