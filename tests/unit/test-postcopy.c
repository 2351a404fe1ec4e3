/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Postcopy's protocol end to end in one process, no KVM
 * (migration/postcopy.c on top of ram.c and postcopy-ram.c): a source
 * SaveVMState streams a memfd GuestMemory over a socketpair to a
 * destination SaveVMState loading on its own thread; the destination's
 * page requests come back on the same socketpair as return-path
 * messages (req-pages), read by a source thread that queues them.
 *
 * The migration: advise, a partial precopy pass (rate limited), pages
 * rewritten on the source after they were sent (the discard list must
 * drop the destination's stale copies), the switch (discard, listen,
 * run), then the rest in the background at a low rate while toucher
 * threads on the destination (the vCPUs) read pages that have not
 * arrived: each must see the source's final content at once, and every
 * page of the destination must equal the source's at the end. The
 * figure printed is fault to page there, over the socketpair. A probe
 * device reads a missing page in its post_load (device state must load
 * off the stream's thread). Separately, at the record level: a request
 * is answered by the very next page records, before any background page.
 *
 * Hostile input: requests that are malformed, outside RAM or before the
 * switch are refused naming what was wrong; discard records outside a
 * block, before advise or after listen fail the load; commands out of
 * order fail naming the state.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "watchdog.h"
#include "postcopy-test-util.h"
#include "migration/migration.h"
#include "migration/postcopy.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "qapi/qapi-commands.h"
#include "system/memory.h"
#include "../../migration/migration-internal.h"

#define PAGE            GUEST_PAGE_SIZE
#define LOW_SIZE        (4 * 1024 * 1024ULL)
#define HIGH_GPA        POSTCOPY_TEST_HIGH_GPA
#define HIGH_SIZE       (1024 * 1024ULL)
#define PRECOPY_RATE    (8 * 1024 * 1024ULL)    /* bytes/s */
#define POSTCOPY_RATE   (4 * 1024 * 1024ULL)    /* background, bytes/s */
#define TOUCHERS        4

typedef struct Side {
    GuestMemory mem;
    SaveVMState *s;
} Side;

/* s: a registry of its own (NULL) or a migration object's. */
static void side_init_in(Side *side, SaveVMState *s)
{
    Error *err = NULL;

    memset(side, 0, sizeof(*side));
    side->s = s ? s : savevm_state_new();
    postcopy_test_add_ram(&side->mem, LOW_SIZE, HIGH_SIZE);
    g_assert_true(ram_migration_register(side->s, &side->mem, NULL, &err));
    g_assert_null(err);
}

static void side_init(Side *side)
{
    side_init_in(side, NULL);
}

static void side_free_in(Side *side, bool owns_registry)
{
    ram_migration_unregister(side->s);
    if (owns_registry) {
        savevm_state_free(side->s);
    }
    guest_memory_free(&side->mem);
}

static void side_free(Side *side)
{
    side_free_in(side, true);
}

/* ---- the destination ---- */

typedef struct Dest {
    Side side;
    int fd;
    GMutex rp_lock;             /* return-path writes */
    Side *src;                  /* what touchers compare with */
    const uint64_t *touch;      /* pages touchers read, in order */
    unsigned n_touch;
    GThread *touchers[TOUCHERS];
    GThread *starter;           /* loads devices, then starts touchers */
    GByteArray *devices;
    PostcopyTestProbe probe;
    gint64 *lat_us;             /* per touched page */
    bool ran;
    bool load_ok;
    Error *err;
} Dest;

typedef struct Toucher {
    Dest *d;
    unsigned first;
} Toucher;

static bool dest_send(void *opaque, const uint8_t *data, Error **errp)
{
    Dest *d = opaque;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&d->rp_lock);

    return mig_rp_send(d->fd, MIG_RP_REQ_PAGES, data, errp);
}

/* A vCPU: reads its share of the pages, each whole, and checks it. */
static gpointer toucher_fn(gpointer opaque)
{
    Toucher *t = opaque;
    Dest *d = t->d;

    for (unsigned i = t->first; i < d->n_touch; i += TOUCHERS) {
        uint64_t gpa = d->touch[i];
        const uint8_t *here = guest_memory_host_ptr(&d->side.mem, gpa, PAGE);
        const uint8_t *there = guest_memory_host_ptr(&d->src->mem, gpa, PAGE);
        gint64 start = g_get_monotonic_time();
        volatile uint8_t first = *here;

        (void)first;
        d->lat_us[i] = g_get_monotonic_time() - start;
        if (memcmp(here, there, PAGE)) {
            g_error("page 0x%" PRIx64 " differs from the source's when the "
                    "guest first reads it", gpa);
        }
    }
    g_free(t);
    return NULL;
}

/* What the machine does at postcopy-run: device state, then vCPUs. */
static gpointer dest_start(gpointer opaque)
{
    Dest *d = opaque;

    g_assert_true(postcopy_incoming_load_devices(d->side.s, d->devices,
                                                 &error_abort));
    g_byte_array_unref(d->devices);
    g_assert_true(d->probe.loaded);
    for (unsigned i = 0; i < TOUCHERS; i++) {
        Toucher *t = g_new(Toucher, 1);

        *t = (Toucher) { .d = d, .first = i };
        d->touchers[i] = g_thread_new("vcpu", toucher_fn, t);
    }
    return NULL;
}

static void dest_run(void *opaque, GByteArray *devices)
{
    Dest *d = opaque;

    d->ran = true;
    d->devices = devices;
    d->starter = g_thread_new("start", dest_start, d);
}

static gpointer dest_thread(gpointer opaque)
{
    Dest *d = opaque;
    g_autoptr(QEMUFile) f = qemu_file_new_fd_input(dup(d->fd), true);

    d->load_ok = loadvm_state(d->side.s, f, &d->err);
    if (!d->load_ok) {
        /* Release a source blocked writing to us; it fails the test. */
        g_printerr("destination: %s\n", error_get_pretty(d->err));
        shutdown(d->fd, SHUT_RDWR);
    }
    return NULL;
}

/* ---- the source's return-path reader ---- */

typedef struct RpReader {
    SaveVMState *s;
    MigRpReader r;
    uint64_t requests;
    Error *err;
    GThread *thread;
} RpReader;

static gpointer rp_thread(gpointer opaque)
{
    RpReader *rp = opaque;

    for (;;) {
        MigRpMsg msg;
        int r = mig_rp_read(&rp->r, -1, &msg, &rp->err);

        if (r <= 0) {
            return NULL;        /* stopped, or the peer closed */
        }
        g_assert_cmpuint(msg.type, ==, MIG_RP_REQ_PAGES);
        if (!postcopy_source_request(rp->s, msg.data, msg.len, &rp->err)) {
            return NULL;
        }
        rp->requests++;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

/* The source's loop after the switch: background at a low rate,
 * requested pages whenever they come. */
static void source_postcopy_loop(Side *src, QEMUFile *f)
{
    bool done = false;

    qemu_file_set_rate_limit(f, POSTCOPY_RATE);
    while (!done) {
        if (qemu_file_rate_limit(f)) {
            int64_t until = g_get_monotonic_time() +
                            MAX(qemu_file_rate_limit_delay_us(f), 1000);

            if (postcopy_source_wait_request(src->s, until)) {
                g_assert_true(postcopy_source_send_urgent(src->s, f,
                                                          &error_abort));
            }
            continue;
        }
        g_assert_true(savevm_state_iterate(src->s, f, &done, &error_abort));
    }
}

static void test_migrate(void)
{
    MigrationState *ms = migration_new();
    PostcopyTestProbe src_probe;
    g_autoptr(MigrationStats) qst = NULL;
    Side src;
    Dest d;
    RpReader rp;
    int sv[2];
    g_autoptr(GArray) touch = g_array_new(false, false, sizeof(uint64_t));
    g_autoptr(QEMUFile) f = NULL;
    const RamMigrationStats *st;
    PostcopyRamStats pst;
    GThread *dt;
    uint64_t rewritten = 0;
    bool done;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    test_watchdog_arm(g_test_get_path(), 60);
    side_init_in(&src, ms->vmstate);
    memset(&d, 0, sizeof(d));
    side_init(&d.side);
    postcopy_test_fill(&src.mem, 1);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);

    /* The probe reads the high block's last page, which has not arrived
     * when device state loads. */
    d.probe = (PostcopyTestProbe) { .mem = &d.side.mem };
    src_probe = (PostcopyTestProbe) { .gpa = HIGH_GPA + HIGH_SIZE - PAGE,
                                      .value = 77 };
    g_assert_true(savevm_register(src.s, "probe", 0,
                                  &postcopy_test_vmstate_probe, &src_probe,
                                  &error_abort));
    g_assert_true(savevm_register(d.side.s, "probe", 0,
                                  &postcopy_test_vmstate_probe, &d.probe,
                                  &error_abort));
    d.fd = sv[1];
    d.src = &src;
    g_mutex_init(&d.rp_lock);
    g_assert_true(postcopy_incoming_setup(d.side.s, dest_send, dest_run, &d,
                                          &error_abort));
    loadvm_set_expect_channel_end(d.side.s, false);
    dt = g_thread_new("dest", dest_thread, &d);

    rp = (RpReader) { .s = src.s, .r = { .fd = sv[0] } };
    rp.r.wake_fd = eventfd(0, EFD_CLOEXEC);
    rp.thread = g_thread_new("rp", rp_thread, &rp);

    /* Precopy: the header, advise, and one rate-limited pass. */
    f = qemu_file_new_fd_output(dup(sv[0]), true);
    savevm_state_header(f);
    postcopy_send_advise(f);
    g_assert_true(savevm_state_setup(src.s, f, &error_abort));
    qemu_file_set_rate_limit(f, PRECOPY_RATE);
    g_assert_true(savevm_state_iterate(src.s, f, &done, &error_abort));
    g_assert_false(done);

    /* The guest rewrites every 8th page after it went (and some that
     * have not gone yet): the destination's copies are stale. */
    for (uint64_t gpa = 0; gpa < LOW_SIZE; gpa += 8 * PAGE) {
        postcopy_test_write_page(&src.mem, gpa, 2);
        rewritten++;
    }
    /* The vCPUs will read these: low pages (stale or sent), never-sent
     * pages at the end of the low block, and the high block. */
    for (uint64_t gpa = 0; gpa < LOW_SIZE; gpa += 5 * PAGE) {
        g_array_append_val(touch, gpa);
    }
    for (uint64_t gpa = HIGH_GPA + HIGH_SIZE - PAGE; gpa >= HIGH_GPA;
         gpa -= 3 * PAGE) {
        g_array_append_val(touch, gpa);
    }
    d.touch = (const uint64_t *)touch->data;
    d.n_touch = touch->len;
    d.lat_us = g_new0(gint64, touch->len);

    /* The switch: the guest is "stopped" (nothing writes src any more). */
    g_assert_true(postcopy_source_switch(src.s, f, &error_abort));
    g_assert_true(savevm_state_complete_devices(src.s, f, false,
                                                &error_abort));
    postcopy_send_run(f);
    source_postcopy_loop(&src, f);
    g_assert_true(savevm_state_complete_live(src.s, f, &error_abort));
    st = ram_migration_stats(src.s);
    g_assert_nonnull(st);

    g_thread_join(dt);
    if (!d.load_ok) {
        g_error("load failed: %s", error_get_pretty(d.err));
    }
    g_assert_true(d.ran);
    g_thread_join(d.starter);
    g_assert_cmpuint(d.probe.value, ==, 77);
    g_assert_cmphex(d.probe.seen, ==,
                    *(uint32_t *)guest_memory_host_ptr(&src.mem, src_probe.gpa,
                                                       4));
    for (unsigned i = 0; i < TOUCHERS; i++) {
        g_thread_join(d.touchers[i]);
    }
    postcopy_incoming_stats(d.side.s, &pst);
    savevm_state_cleanup(src.s);
    g_assert_cmpint(eventfd_write(rp.r.wake_fd, 1), ==, 0);
    g_thread_join(rp.thread);
    g_assert_null(rp.err);

    /* Every page, touched or not, is the source's. */
    for (unsigned b = 0; b < src.mem.nr_blocks; b++) {
        for (uint64_t off = 0; off < src.mem.blocks[b].size; off += PAGE) {
            if (memcmp(src.mem.blocks[b].host + off,
                       d.side.mem.blocks[b].host + off, PAGE)) {
                g_error("page 0x%" PRIx64 " differs after the migration",
                        src.mem.blocks[b].gpa + off);
            }
        }
    }
    g_assert_cmpuint(pst.requests, >, 0);
    g_assert_cmpuint(rp.requests, >, 0);
    g_assert_cmpuint(st->postcopy_requests, ==, rp.requests);
    /* query-migrate's ram.postcopy-requests is that figure. */
    qst = migration_ram_stats(ms, NULL);
    g_assert_cmpint(qst->postcopy_requests, ==, rp.requests);
    qsort(d.lat_us, d.n_touch, sizeof(gint64), cmp_i64);
    g_test_message("%" PRIu64 " pages rewritten after sending; destination: "
                   "%" PRIu64 " faults, %" PRIu64 " requests (%" PRIu64
                   " sent to the source), %" PRIu64 " placed (%" PRIu64
                   " zero), %" PRIu64 " duplicates dropped", rewritten,
                   pst.faults, pst.requests, rp.requests, pst.placed,
                   pst.placed_zero, pst.duplicates);
    g_test_message("guest read of %u pages over a socketpair, background "
                   "at %llu MiB/s: p50 %" G_GINT64_FORMAT " us, p99 %"
                   G_GINT64_FORMAT " us, max %" G_GINT64_FORMAT " us",
                   d.n_touch, POSTCOPY_RATE >> 20, d.lat_us[d.n_touch / 2],
                   d.lat_us[d.n_touch * 99 / 100], d.lat_us[d.n_touch - 1]);

    close(rp.r.wake_fd);
    g_free(d.lat_us);
    g_mutex_clear(&d.rp_lock);
    close(sv[0]);
    close(sv[1]);
    savevm_unregister(d.side.s, "probe", 0);
    savevm_unregister(src.s, "probe", 0);
    side_free(&d.side);
    side_free_in(&src, false);
    migration_free(ms);
    test_watchdog_disarm();
}

/* ---- hostile input ---- */

static void assert_error(Error *err, const char *want)
{
    g_assert_nonnull(err);
    g_test_message("error: %s", error_get_pretty(err));
    if (!strstr(error_get_pretty(err), want)) {
        g_error("error '%s' does not say '%s'", error_get_pretty(err), want);
    }
    error_free(err);
}

static void request(Side *src, uint32_t block, uint64_t offset, uint32_t len,
                    const char *want)
{
    uint8_t data[POSTCOPY_REQ_LEN];
    Error *err = NULL;
    bool ok;

    postcopy_encode_request(data, block, offset, len);
    ok = postcopy_source_request(src->s, data, sizeof(data), &err);
    if (!want) {
        g_assert_null(err);
        g_assert_true(ok);
        return;
    }
    g_assert_false(ok);
    assert_error(err, want);
}

/* The source survives garbage requests: each is refused by name. */
static void test_hostile_requests(void)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    uint8_t data[POSTCOPY_REQ_LEN] = { 0 };
    Error *err = NULL;
    Side src;

    side_init(&src);
    savevm_state_header(f);
    g_assert_true(savevm_state_setup(src.s, f, &error_abort));
    request(&src, 0, 0, PAGE, "before the switch to postcopy");
    g_assert_true(postcopy_source_switch(src.s, f, &error_abort));

    g_assert_false(postcopy_source_request(src.s, data, 12, &err));
    assert_error(err, "page request of 12 bytes, expected 16");
    request(&src, 2, 0, PAGE, "page request for block 2, but 2 blocks");
    request(&src, 0, 100, PAGE, "bad page request [0x64, +0x1000) of RAM "
            "block 'pc.ram'");
    request(&src, 0, 0, 100, "bad page request [0x0, +0x64)");
    request(&src, 0, 0, 0, "bad page request [0x0, +0x0)");
    request(&src, 1, HIGH_SIZE - PAGE, 2 * PAGE, "bad page request "
            "[0xff000, +0x2000) of RAM block 'pc.ram.high'");
    request(&src, 1, UINT64_MAX & ~(PAGE - 1), PAGE, "bad page request");
    request(&src, 0, 0, 2 * POSTCOPY_MAX_REQUEST, "at most 0x100000 bytes");
    for (unsigned i = 0; i < POSTCOPY_MAX_QUEUED; i++) {
        request(&src, 0, 0, PAGE, NULL);
    }
    request(&src, 0, 0, PAGE, "more than 4096 page requests outstanding");
    /* The queue drains into the stream like any request. */
    g_assert_true(postcopy_source_send_urgent(src.s, f, &error_abort));
    request(&src, 0, 0, PAGE, NULL);
    savevm_state_cleanup(src.s);
    side_free(&src);
}

typedef enum Misstep {
    MISSTEP_DISCARD_NO_ADVISE,
    MISSTEP_LISTEN_NO_ADVISE,
    MISSTEP_RUN_BEFORE_LISTEN,
    MISSTEP_ADVISE_TWICE,
    MISSTEP_DISCARD_AFTER_LISTEN,
    MISSTEP_DISCARD_OUTSIDE,
    MISSTEP_DISCARD_BAD_BLOCK,
    MISSTEP_DISCARD_NO_RUNS,
    MISSTEP_LISTEN_NO_RUN,
    MISSTEP_PREEMPT_DONE_EARLY,
    MISSTEP_PREEMPT_BAD_HANDSHAKE,
    MISSTEP_PAGE_TWICE,
    MISSTEP_PAGE_OUTSIDE,
    MISSTEP_PAGE_TRUNCATED,
    MISSTEP_PREEMPT_UNREQUESTED,
    MISSTEP_PREEMPT_OUTSIDE,
} Misstep;

static const char *const misstep_error[] = {
    [MISSTEP_DISCARD_NO_ADVISE] = "discard record in postcopy state 'none'",
    [MISSTEP_LISTEN_NO_ADVISE] = "command 'postcopy-listen' in state 'none' "
                                 "(expected 'advised')",
    [MISSTEP_RUN_BEFORE_LISTEN] = "command 'postcopy-run' in state "
                                  "'advised' (expected 'listening')",
    [MISSTEP_ADVISE_TWICE] = "command 'postcopy-advise' in state 'advised'",
    [MISSTEP_DISCARD_AFTER_LISTEN] = "discard record in postcopy state "
                                     "'listening'",
    [MISSTEP_DISCARD_OUTSIDE] = "cannot discard [0xff000, +0x2000) of RAM "
                                "block 'pc.ram.high'",
    [MISSTEP_DISCARD_BAD_BLOCK] = "discard record for block 9, but there "
                                  "are 2",
    [MISSTEP_DISCARD_NO_RUNS] = "discard record with 0 runs",
    [MISSTEP_PREEMPT_DONE_EARLY] = "command 'postcopy-preempt-done' in "
                                   "state 'advised' (expected 'running')",
    [MISSTEP_PREEMPT_BAD_HANDSHAKE] = "postcopy preempt channel: the second "
                                      "connection is not a preempt channel "
                                      "(header 0xdeadbeef version 1)",
    [MISSTEP_LISTEN_NO_RUN] = "the stream ended with device state held "
                              "back for a postcopy-run that never came",
    [MISSTEP_PAGE_TWICE] = "postcopy: page 0x100002000 arrived twice after "
                           "the switch",
    [MISSTEP_PAGE_OUTSIDE] = "ram: page 0x200000000 is outside guest RAM",
    [MISSTEP_PAGE_TRUNCATED] = "section 'ram' instance 0: truncated "
                               "stream: section payload cut short",
    [MISSTEP_PREEMPT_UNREQUESTED] = "postcopy preempt channel: page "
                                    "0x100002000 was never requested",
    [MISSTEP_PREEMPT_OUTSIDE] = "postcopy preempt channel: page "
                                "0x200000000 is not a page of guest RAM",
};

static const char *const misstep_name[] = {
    [MISSTEP_DISCARD_NO_ADVISE] = "discard-without-advise",
    [MISSTEP_LISTEN_NO_ADVISE] = "listen-without-advise",
    [MISSTEP_RUN_BEFORE_LISTEN] = "run-before-listen",
    [MISSTEP_ADVISE_TWICE] = "advise-twice",
    [MISSTEP_DISCARD_AFTER_LISTEN] = "discard-after-listen",
    [MISSTEP_DISCARD_OUTSIDE] = "discard-outside-block",
    [MISSTEP_DISCARD_BAD_BLOCK] = "discard-bad-block",
    [MISSTEP_DISCARD_NO_RUNS] = "discard-no-runs",
    [MISSTEP_LISTEN_NO_RUN] = "listen-without-run",
    [MISSTEP_PREEMPT_DONE_EARLY] = "preempt-done-before-run",
    [MISSTEP_PREEMPT_BAD_HANDSHAKE] = "preempt-bad-handshake",
    [MISSTEP_PAGE_TWICE] = "page-twice-after-switch",
    [MISSTEP_PAGE_OUTSIDE] = "page-outside-ram-after-switch",
    [MISSTEP_PAGE_TRUNCATED] = "truncated-in-postcopy",
    [MISSTEP_PREEMPT_UNREQUESTED] = "preempt-page-never-requested",
    [MISSTEP_PREEMPT_OUTSIDE] = "preempt-page-outside-ram",
};

/* Page records after the switch, as a source would send them. */
typedef struct BadPages {
    const uint64_t *gpa;
    unsigned n;
} BadPages;

static bool put_bad_pages(QEMUFile *f, void *opaque, Error **errp)
{
    const BadPages *bp = opaque;
    uint8_t page[PAGE];

    memset(page, 0x5a, sizeof(page));
    for (unsigned i = 0; i < bp->n; i++) {
        qemu_put_be64(f, bp->gpa[i] | RAM_REC_PAGE);
        qemu_put_buffer(f, page, PAGE);
    }
    qemu_put_be64(f, RAM_REC_EOS);
    return true;
}

/* postcopy-run attaches the preempt channel (not earlier: its reader
 * would read the page before the guest may run, another error). */
typedef struct PreemptAttach {
    SaveVMState *s;
    QEMUFile *f;
} PreemptAttach;

static void run_attach_preempt(void *opaque, GByteArray *devices)
{
    PreemptAttach *pa = opaque;

    g_byte_array_unref(devices);
    postcopy_incoming_preempt_attach(pa->s, pa->f);
}

/* A preempt channel: its handshake, one page record, EOS. */
static QEMUFile *preempt_channel_with(uint64_t gpa, GByteArray *keep)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    uint8_t page[PAGE];
    const uint8_t *data;
    size_t len;

    memset(page, 0xa5, sizeof(page));
    postcopy_preempt_send_header(f);
    qemu_put_be64(f, gpa | RAM_REC_PAGE);
    qemu_put_buffer(f, page, PAGE);
    qemu_put_be64(f, RAM_REC_EOS);
    data = qemu_file_mem_output_data(f, &len);
    g_byte_array_append(keep, data, len);
    return qemu_file_new_mem_input(keep->data, keep->len, 0);
}

typedef struct BadDiscard {
    uint32_t block, runs;
    uint64_t offset, len;
} BadDiscard;

static bool put_bad_discard(QEMUFile *f, void *opaque, Error **errp)
{
    const BadDiscard *bd = opaque;

    qemu_put_be64(f, RAM_REC_DISCARD);
    qemu_put_be32(f, bd->block);
    qemu_put_be32(f, bd->runs);
    for (uint32_t i = 0; i < bd->runs; i++) {
        qemu_put_be64(f, bd->offset);
        qemu_put_be64(f, bd->len);
    }
    qemu_put_be64(f, RAM_REC_EOS);
    return true;
}

/* A stream that breaks postcopy's order or sends a bad discard list. */
static void test_hostile_stream(gconstpointer opaque)
{
    Misstep m = GPOINTER_TO_INT(opaque);
    g_autoptr(QEMUFile) out = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) in = NULL;
    BadDiscard bd = { .block = 1, .runs = 1, .offset = HIGH_SIZE - PAGE,
                      .len = 2 * PAGE };
    g_autoptr(GByteArray) keep = g_byte_array_new();
    PreemptAttach pa = { 0 };
    size_t cut = 0;
    const uint8_t *data;
    Error *err = NULL;
    Side src, dst;
    size_t len;

    if (!postcopy_test_require_uffd()) {
        return;
    }
    side_init(&src);
    side_init(&dst);
    if (m == MISSTEP_PREEMPT_UNREQUESTED || m == MISSTEP_PREEMPT_OUTSIDE) {
        pa = (PreemptAttach) { .s = dst.s, .f = preempt_channel_with(
            m == MISSTEP_PREEMPT_OUTSIDE ? 2 * HIGH_GPA : HIGH_GPA + 2 * PAGE,
            keep) };
    }
    g_assert_true(postcopy_incoming_setup(dst.s, NULL,
                                          pa.f ? run_attach_preempt : NULL,
                                          &pa, &error_abort));
    savevm_state_header(out);
    if (m != MISSTEP_DISCARD_NO_ADVISE && m != MISSTEP_LISTEN_NO_ADVISE) {
        postcopy_send_advise(out);
    }
    g_assert_true(savevm_state_setup(src.s, out, &error_abort));
    switch (m) {
    case MISSTEP_DISCARD_NO_ADVISE:
    case MISSTEP_LISTEN_NO_RUN:
        g_assert_true(postcopy_source_switch(src.s, out, &error_abort));
        break;
    case MISSTEP_PREEMPT_DONE_EARLY:
        savevm_send_command(out, SAVEVM_CMD_POSTCOPY_PREEMPT_DONE, NULL, 0);
        break;
    case MISSTEP_PREEMPT_BAD_HANDSHAKE: {
        /* The destination's second connection says it is something
         * else; the load fails at the source's preempt-done. */
        static const uint8_t bad[8] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1 };

        postcopy_incoming_preempt_attach(dst.s, qemu_file_new_mem_input(
                                                    bad, sizeof(bad), 0));
        g_assert_true(postcopy_source_switch(src.s, out, &error_abort));
        postcopy_send_run(out);
        savevm_send_command(out, SAVEVM_CMD_POSTCOPY_PREEMPT_DONE, NULL, 0);
        break;
    }
    case MISSTEP_LISTEN_NO_ADVISE:
        savevm_send_command(out, SAVEVM_CMD_POSTCOPY_LISTEN, NULL, 0);
        break;
    case MISSTEP_PAGE_TWICE:
    case MISSTEP_PAGE_OUTSIDE:
    case MISSTEP_PAGE_TRUNCATED: {
        /* Every page was discarded (none sent before the switch): the
         * first copy is placed, the second is an error. */
        static const uint64_t twice[] = { HIGH_GPA + 2 * PAGE,
                                          HIGH_GPA + 2 * PAGE };
        static const uint64_t outside[] = { 2 * HIGH_GPA };
        BadPages bp = { twice, 2 };

        if (m == MISSTEP_PAGE_OUTSIDE) {
            bp = (BadPages) { outside, 1 };
        } else if (m == MISSTEP_PAGE_TRUNCATED) {
            bp.n = 1;
        }
        g_assert_true(postcopy_source_switch(src.s, out, &error_abort));
        postcopy_send_run(out);
        g_assert_true(savevm_state_send_part(src.s, out, RAM_MIGRATION_IDSTR,
                                             0, put_bad_pages, &bp,
                                             &error_abort));
        /* Truncated: the link dies in the middle of that page. */
        qemu_file_mem_output_data(out, &cut);
        cut -= PAGE / 2;
        break;
    }
    case MISSTEP_PREEMPT_UNREQUESTED:
    case MISSTEP_PREEMPT_OUTSIDE:
        /* The preempt channel carries a page nobody asked for. */
        g_assert_true(postcopy_source_switch(src.s, out, &error_abort));
        postcopy_send_run(out);
        savevm_send_command(out, SAVEVM_CMD_POSTCOPY_PREEMPT_DONE, NULL, 0);
        break;
    case MISSTEP_RUN_BEFORE_LISTEN:
        postcopy_send_run(out);
        break;
    case MISSTEP_ADVISE_TWICE:
        postcopy_send_advise(out);
        break;
    case MISSTEP_DISCARD_AFTER_LISTEN:
        g_assert_true(postcopy_source_switch(src.s, out, &error_abort));
        g_assert_true(postcopy_source_switch(src.s, out, &error_abort));
        break;
    case MISSTEP_DISCARD_BAD_BLOCK:
        bd.block = 9;
        /* fall through */
    case MISSTEP_DISCARD_NO_RUNS:
        bd.runs = m == MISSTEP_DISCARD_NO_RUNS ? 0 : bd.runs;
        /* fall through */
    case MISSTEP_DISCARD_OUTSIDE:
        g_assert_true(savevm_state_send_part(src.s, out, RAM_MIGRATION_IDSTR,
                                             0, put_bad_discard, &bd,
                                             &error_abort));
        break;
    }
    g_assert_true(savevm_state_complete(src.s, out, &error_abort));
    savevm_state_cleanup(src.s);
    data = qemu_file_mem_output_data(out, &len);
    if (m == MISSTEP_PAGE_TRUNCATED) {
        len = cut;
    }
    in = qemu_file_new_mem_input(data, len, 0);
    g_assert_false(loadvm_state(dst.s, in, &err));
    assert_error(err, misstep_error[m]);
    /* Failed before anything ran: nothing stays registered. */
    g_assert_cmpint(postcopy_incoming_state(dst.s), ==,
                    POSTCOPY_INCOMING_NONE);
    side_free(&dst);
    side_free(&src);
}

/* The first page records of the PART section at the start of data. */
static void first_records(const uint8_t *data, size_t len, uint64_t *rec,
                          unsigned n)
{
    g_autoptr(QEMUFile) in = qemu_file_new_mem_input(data, len, 0);

    g_assert_cmpuint(qemu_get_byte(in), ==, SAVEVM_REC_PART);
    qemu_get_be32(in);
    qemu_file_frame_begin(in);
    for (unsigned i = 0; i < n; i++) {
        rec[i] = qemu_get_be64(in);
        if (rec[i] & RAM_REC_PAGE) {
            qemu_file_skip(in, PAGE);
        }
    }
    g_assert_cmpint(qemu_file_get_error(in, NULL), ==, 0);
}

/*
 * Requested pages go before any further background page, page by page:
 * the first records after a request are the requested pages, then the
 * background resumes where it was (the lowest page).
 */
static void test_urgent_first(void)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) after = qemu_file_new_mem_output();
    uint8_t data[POSTCOPY_REQ_LEN];
    const uint8_t *bytes;
    uint64_t rec[3];
    bool done;
    size_t len;
    Side src;

    side_init(&src);
    postcopy_test_fill(&src.mem, 1);
    savevm_state_header(f);
    g_assert_true(savevm_state_setup(src.s, f, &error_abort));
    g_assert_true(postcopy_source_switch(src.s, f, &error_abort));
    postcopy_encode_request(data, 1, 5 * PAGE, 2 * PAGE);
    g_assert_true(postcopy_source_request(src.s, data, sizeof(data),
                                          &error_abort));
    qemu_file_set_rate_limit(after, 10 * PAGE * 10);
    g_assert_true(savevm_state_iterate(src.s, after, &done, &error_abort));
    bytes = qemu_file_mem_output_data(after, &len);
    first_records(bytes, len, rec, 3);
    /* 0x100005000 is zero (fill: every 4th page from 1), 0x100006000
     * data. */
    g_assert_cmphex(rec[0], ==, (HIGH_GPA + 5 * PAGE) | RAM_REC_ZERO);
    g_assert_cmphex(rec[1], ==, (HIGH_GPA + 6 * PAGE) | RAM_REC_PAGE);
    g_assert_cmphex(rec[2] & RAM_REC_ADDR_MASK, ==, 0);
    g_assert_cmpuint(ram_migration_stats(src.s)->postcopy_requests, ==, 1);
    savevm_state_cleanup(src.s);
    side_free(&src);
}

/* ---- the QMP and HMP surface ---- */

static void set_caps(MigrationCapability a, bool a_on, int b, bool b_on,
                     Error **errp)
{
    MigrationCapabilityStatus vb = { .capability = b, .state = b_on };
    MigrationCapabilityStatusList lb = { .value = &vb };
    MigrationCapabilityStatus va = { .capability = a, .state = a_on };
    MigrationCapabilityStatusList la = {
        .value = &va, .next = b >= 0 ? &lb : NULL,
    };

    qmp_migrate_set_capabilities(&la, errp);
}

static bool cap_on(MigrationCapability cap)
{
    g_autoptr(MigrationCapabilityStatusList) l =
        qmp_query_migrate_capabilities(&error_abort);

    for (MigrationCapabilityStatusList *e = l; e; e = e->next) {
        if (e->value->capability == cap) {
            return e->value->state;
        }
    }
    g_assert_not_reached();
}

/*
 * Without postcopy-ram, QEMU's error from QMP and HMP; with it the
 * command is accepted, before migrate too (the flag waits for the next
 * migration's first pass; test-postcopy-migration runs that).
 */
static void test_start_postcopy(void)
{
    const char *want = "Enable postcopy with migrate_set_capability "
                       "before the start of migration";
    Error *err = NULL;
    g_autofree char *out = NULL;
    g_autofree char *ok = NULL;

    qmp_migrate_start_postcopy(&err);
    assert_error(err, want);
    out = qmp_human_monitor_command("migrate_start_postcopy", false, 0,
                                    &error_abort);
    g_assert_nonnull(strstr(out, want));
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, true, -1, false,
             &error_abort);
    g_assert_true(cap_on(MIGRATION_CAPABILITY_POSTCOPY_RAM));
    qmp_migrate_start_postcopy(&error_abort);
    ok = qmp_human_monitor_command("migrate_start_postcopy", false, 0,
                                   &error_abort);
    g_assert_cmpstr(ok, ==, "");
    g_assert_true(__atomic_load_n(&migration_current()->start_postcopy,
                                  __ATOMIC_SEQ_CST));
    migration_current()->start_postcopy = false;
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, false, -1, false,
             &error_abort);
}

/*
 * The combinations QEMU refuses, in its words (even where Tandem lacks
 * the other capability: the combination is named first), and ours. A
 * refused call changes nothing.
 */
static void test_caps_refused(void)
{
    static const struct {
        MigrationCapability other;
        const char *want;
    } cases[] = {
        { MIGRATION_CAPABILITY_MULTIFD,
          "Postcopy is not yet compatible with multifd" },
        { MIGRATION_CAPABILITY_X_IGNORE_SHARED,
          "Postcopy is not compatible with ignore-shared" },
        { MIGRATION_CAPABILITY_MAPPED_RAM,
          "Mapped-ram migration is incompatible with postcopy" },
        { MIGRATION_CAPABILITY_X_COLO,
          "x-colo and postcopy-ram cannot be used together" },
    };
    Error *err = NULL;

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, true, cases[i].other,
                 true, &err);
        assert_error(err, cases[i].want);
        err = NULL;
        g_assert_false(cap_on(MIGRATION_CAPABILITY_POSTCOPY_RAM));
    }
    /* QEMU's other refused pairs, named before "not supported". */
    {
        static const struct {
            MigrationCapability a, b;
            const char *want;
        } pairs[] = {
            { MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
              MIGRATION_CAPABILITY_POSTCOPY_RAM,
              "Background-snapshot is not compatible with postcopy-ram" },
            { MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
              MIGRATION_CAPABILITY_RETURN_PATH,
              "Background-snapshot is not compatible with return-path" },
            { MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
              MIGRATION_CAPABILITY_X_COLO,
              "Background-snapshot is not compatible with x-colo" },
            { MIGRATION_CAPABILITY_MULTIFD, MIGRATION_CAPABILITY_XBZRLE,
              "Multifd is not compatible with xbzrle" },
            { MIGRATION_CAPABILITY_DIRTY_LIMIT,
              MIGRATION_CAPABILITY_AUTO_CONVERGE,
              "dirty-limit conflicts with auto-converge either of then "
              "available currently" },
            { MIGRATION_CAPABILITY_MAPPED_RAM, MIGRATION_CAPABILITY_XBZRLE,
              "Mapped-ram migration is incompatible with xbzrle" },
        };

        for (unsigned i = 0; i < G_N_ELEMENTS(pairs); i++) {
            set_caps(pairs[i].a, true, pairs[i].b, true, &err);
            assert_error(err, pairs[i].want);
            err = NULL;
            g_assert_false(cap_on(pairs[i].b));
        }
        set_caps(MIGRATION_CAPABILITY_SWITCHOVER_ACK, true, -1, false, &err);
        assert_error(err, "Capability 'switchover-ack' requires capability "
                     "'return-path'");
        err = NULL;
        /* With return-path it is only Tandem that lacks it. */
        set_caps(MIGRATION_CAPABILITY_SWITCHOVER_ACK, true,
                 MIGRATION_CAPABILITY_RETURN_PATH, true, &err);
        assert_error(err, "capability 'switchover-ack' is not supported by "
                     "Tandem");
        err = NULL;
        g_assert_false(cap_on(MIGRATION_CAPABILITY_RETURN_PATH));
    }
    /* x-strict-downtime bounds postcopy's switch too: accepted, either
     * way round, and pause-before-switchover stays refused beside it. */
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, true,
             MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, true, &error_abort);
    g_assert_true(cap_on(MIGRATION_CAPABILITY_POSTCOPY_RAM));
    g_assert_true(cap_on(MIGRATION_CAPABILITY_X_STRICT_DOWNTIME));
    set_caps(MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER, true, -1, false,
             &err);
    assert_error(err, "x-strict-downtime and pause-before-switchover cannot "
                 "be used together");
    err = NULL;
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, false,
             MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, false, &error_abort);
    set_caps(MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, true, -1, false,
             &error_abort);
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, true, -1, false,
             &error_abort);
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, false,
             MIGRATION_CAPABILITY_X_STRICT_DOWNTIME, false, &error_abort);
    /* x-colo already on, then postcopy-ram: the same refusal. */
    set_caps(MIGRATION_CAPABILITY_X_COLO, true, -1, false, &error_abort);
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, true, -1, false, &err);
    assert_error(err, "x-colo and postcopy-ram cannot be used together");
    err = NULL;
    set_caps(MIGRATION_CAPABILITY_X_COLO, false, -1, false, &error_abort);
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, true, -1, false, &err);
    assert_error(err, "Postcopy preempt requires postcopy-ram");
    err = NULL;
    /* Alone, postcopy-ram is accepted, and the others stay refused. */
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, true, -1, false,
             &error_abort);
    /* Preempt opens a second connection: not over an fd, not over a
     * file. */
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, true, -1, false,
             &error_abort);
    qmp_migrate("fd:0", false, false, false, false, &err);
    assert_error(err, "postcopy-preempt opens a second connection: use a "
                 "tcp: or unix: transport");
    err = NULL;
    qmp_migrate("file:/dev/null", false, false, false, false, &err);
    assert_error(err, "postcopy-ram needs a return path");
    err = NULL;
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, false, -1, false,
             &error_abort);
    set_caps(MIGRATION_CAPABILITY_MULTIFD, true, -1, false, &err);
    assert_error(err, "Postcopy is not yet compatible with multifd");
    set_caps(MIGRATION_CAPABILITY_POSTCOPY_RAM, false, -1, false,
             &error_abort);
    err = NULL;
    set_caps(MIGRATION_CAPABILITY_MULTIFD, true, -1, false, &err);
    assert_error(err, "capability 'multifd' is not supported by Tandem");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/postcopy/migrate", test_migrate);
    g_test_add_func("/postcopy/urgent-first", test_urgent_first);
    g_test_add_func("/postcopy/hostile/requests", test_hostile_requests);
    g_test_add_func("/postcopy/qmp/start-postcopy", test_start_postcopy);
    g_test_add_func("/postcopy/qmp/caps-refused", test_caps_refused);
    for (Misstep m = 0; m < G_N_ELEMENTS(misstep_error); m++) {
        g_autofree char *path = g_strdup_printf("/postcopy/hostile/stream/%s",
                                                misstep_name[m]);

        g_test_add_data_func(path, GINT_TO_POINTER(m), test_hostile_stream);
    }
    return g_test_run();
}
