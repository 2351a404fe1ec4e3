/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what a migration destination can send back to its
 * source (the return path), and for what a source can send on postcopy's
 * preempt channel. Every input is hostile; the side that reads it must
 * handle each message or fail with an error naming what was wrong, never
 * crash, hang or leak (ASan, UBSan and LeakSanitizer watch), and a model
 * of the protocol written here checks the outcome: which messages were
 * taken, whether the migration failed, paused or went on, and that no
 * page request outside RAM was queued or answered.
 *
 * Byte 0 of an input picks the reader (% 6), byte 1 its state, and the
 * rest is what arrives:
 *   0  the source's return-path listener (migration_rp_serve) after
 *      postcopy-run: req-pages queued for the RAM sender, resumed, shut,
 *      pongs of strict attempt 1 to (byte 1 & 7)
 *   1  the same with a preempt channel: requested pages are written
 *      there at once, each page once
 *   2  the listener during precopy: every request refused, only the
 *      pongs of attempts sent are taken
 *   3  the migration thread's own wait (migration_rp_wait) for "resumed"
 *      or a pong, then, after postcopy-run, for "shut"; with bit 6 of
 *      byte 1, the wait for a failed strict switchover's late pong
 *   4  postcopy recovery's received bitmap
 *      (migration_postcopy_read_bitmap), rebuilding what is left to send
 *   5  the destination's preempt channel (handshake, page records, EOS)
 *      while postcopy runs on real userfaultfd RAM: a vCPU stand-in has
 *      faulted on each page of byte 1's mask (pages 0-7), the main
 *      stream (the real source's) carries every other page
 * Modes 0-4 read from a socketpair whose far end holds the input and is
 * then closed, so each read sees all of it and the end: the outcome does
 * not depend on timing. Without userfaultfd here mode 5 feeds the
 * channel to a destination that is not running postcopy (the handshake
 * and the record checks before a page is placed), and says so once.
 *
 * Seeds come from the same binary, written by the real encoders (the
 * destination's mig_rp_send, the source's preempt sender): with
 * FUZZ_RETURN_PATH_SEEDS=DIR it writes one valid input per mode into
 * DIR and exits (tests/fuzz/run-fuzz.sh does this before fuzzing).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include "migration/postcopy.h"
#include "migration/postcopy-ram.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "system/memory.h"
#include "util/bitmap.h"
#include "../../migration/migration-internal.h"
#include "../../migration/ram-internal.h"

#define PAGE            GUEST_PAGE_SIZE
#define LOW_SIZE        (64 * 1024ULL)          /* 16 pages at 0 */
#define HIGH_GPA        0x100000000ULL
#define HIGH_SIZE       (16 * 1024ULL)          /* 4 pages at 4 GiB */
#define NR_BLOCKS       2
#define TOUCH_PAGES     8                       /* mode 5: byte 1's bits */

typedef enum FuzzMode {
    MODE_RP_POSTCOPY,
    MODE_RP_PREEMPT,
    MODE_RP_PRECOPY,
    MODE_RP_WAIT,
    MODE_RP_BITMAP,
    MODE_PREEMPT_DEST,
    MODE__MAX,
} FuzzMode;

static const uint64_t block_gpa[NR_BLOCKS] = { 0, HIGH_GPA };
static const uint64_t block_size[NR_BLOCKS] = { LOW_SIZE, HIGH_SIZE };

/* The source (modes 0-4; and mode 5's main stream). */
static MigrationState *src;
static GuestMemory src_mem;
/* Mode 5's destination. */
static SaveVMState *dst;
static GuestMemory dst_mem;
static bool dst_uffd;
/* Mode 5's main streams, by touched-page mask (the source's, cached). */
static GByteArray *dst_streams[1 << TOUCH_PAGES];

/* ---- the model of the return path (what the code must do) ---- */

typedef enum RpRead {
    READ_MSG = 1,
    READ_GARBAGE = -1,          /* bad type or length: mig_rp_read -1 */
    READ_END = -2,              /* closed, maybe mid-message */
} RpRead;

typedef struct Model {
    const uint8_t *p;
    size_t left;
    bool run_sent;              /* postcopy-run went out */
    uint32_t attempt;           /* strict attempts sent */
    bool preempt;
    unsigned queued;            /* requests the RAM sender got */
    bool taken[NR_BLOCKS][LOW_SIZE / PAGE]; /* pages sent on preempt */
    unsigned sent;              /* their number */
    int64_t shut;               /* "shut" status + 1, 0: none */
} Model;

static const uint16_t model_len[MIG_RP__MAX] = {
    [MIG_RP_PONG] = 12, [MIG_RP_RESUMED] = 8, [MIG_RP_REQ_PAGES] = 16,
    [MIG_RP_SHUT] = 4, [MIG_RP_RECV_BITMAP] = 16,
    [MIG_RP_RECV_BITMAP_END] = 8,
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* The next message as the wire frames it (be16 type, be16 length). */
static RpRead model_read(Model *m, uint16_t *type, const uint8_t **data)
{
    uint16_t len;

    if (m->left < 4) {
        return READ_END;
    }
    *type = m->p[0] << 8 | m->p[1];
    len = m->p[2] << 8 | m->p[3];
    if (!*type || *type >= MIG_RP__MAX || len != model_len[*type]) {
        return READ_GARBAGE;
    }
    if (m->left - 4 < len) {
        return READ_END;
    }
    *data = m->p + 4;
    m->p += 4 + len;
    m->left -= 4 + len;
    return READ_MSG;
}

/* Whether req-pages asks for whole pages inside a migrated block. */
static bool model_request_ok(const uint8_t *d)
{
    uint32_t block = be32(d), len = be32(d + 12);
    uint64_t offset = be64(d + 4);

    return block < NR_BLOCKS && !((offset | len) & (PAGE - 1)) && len &&
           len <= POSTCOPY_MAX_REQUEST && offset < block_size[block] &&
           len <= block_size[block] - offset;
}

/* A message nobody waits for (return-path.c's unsolicited ones). */
static bool model_unsolicited(Model *m, uint16_t type, const uint8_t *d)
{
    switch (type) {
    case MIG_RP_PONG:
        return be32(d) >= 1 && be32(d) <= m->attempt;
    case MIG_RP_REQ_PAGES:
        if (!m->run_sent || !model_request_ok(d)) {
            return false;
        }
        if (!m->preempt) {
            m->queued++;
            return true;
        }
        for (uint64_t off = be64(d + 4); off < be64(d + 4) + be32(d + 12);
             off += PAGE) {
            bool *t = &m->taken[be32(d)][off / PAGE];

            m->sent += !*t;
            *t = true;
        }
        return true;
    case MIG_RP_RESUMED:
        return m->run_sent;
    case MIG_RP_SHUT:
        if (m->run_sent) {
            m->shut = (int64_t)be32(d) + 1;
        }
        return m->run_sent;
    default:
        return false;
    }
}

/* ---- the source's state ---- */

static void fuzz_fill_ram(GuestMemory *mem)
{
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        for (uint64_t off = 0; off < block_size[b]; off += PAGE) {
            uint8_t *h = guest_memory_host_ptr(mem, block_gpa[b] + off, PAGE);

            /* Every third page zero: both kinds of record go out. */
            memset(h, (off / PAGE) % 3 ? (int)(off / PAGE) + 1 : 0, PAGE);
        }
    }
}

static void fuzz_setup(void)
{
    Error *err = NULL;

    src = migration_new();
    dst = savevm_state_new();
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        if (!guest_memory_add_ram(&src_mem, b ? "pc.ram.high" : "pc.ram",
                                  block_gpa[b], block_size[b], &err) ||
            !guest_memory_add_ram(&dst_mem, b ? "pc.ram.high" : "pc.ram",
                                  block_gpa[b], block_size[b], &err)) {
            g_error("fuzz-return-path setup: %s", error_get_pretty(err));
        }
    }
    fuzz_fill_ram(&src_mem);
    if (!ram_migration_register(src->vmstate, &src_mem, NULL, &err) ||
        !ram_migration_register(dst, &dst_mem, NULL, &err)) {
        g_error("fuzz-return-path setup: %s", error_get_pretty(err));
    }
    dst_uffd = postcopy_ram_supported(&err);
    if (!dst_uffd) {
        fprintf(stderr, "fuzz-return-path: userfaultfd unusable here (%s): "
                "mode 5 covers the preempt channel's handshake and "
                "record checks only\n", error_get_pretty(err));
        error_free(err);
        err = NULL;
    }
}

/* RAM set up for sending, switched to postcopy if run_sent, every page
 * still to send. */
static QEMUFile *fuzz_source_begin(bool postcopy)
{
    QEMUFile *f = qemu_file_new_mem_output();

    guest_memory_mark_dirty(&src_mem, 0, LOW_SIZE);
    guest_memory_mark_dirty(&src_mem, HIGH_GPA, HIGH_SIZE);
    savevm_state_header(f);
    if (!savevm_state_setup(src->vmstate, f, &error_abort) ||
        (postcopy &&
         !postcopy_source_switch(src->vmstate, f, &error_abort))) {
        g_assert_not_reached();
    }
    return f;
}

static void fuzz_source_end(void)
{
    savevm_state_cleanup(src->vmstate);
}

/* s as the migration thread leaves it for the return path's reader. */
static void fuzz_source_state(int fd, bool run_sent, uint32_t attempt,
                              bool stop_us)
{
    MigrationState *s = src;

    error_free(s->error);
    s->error = NULL;
    s->status = run_sent ? MIGRATION_STATUS_POSTCOPY_ACTIVE :
                           MIGRATION_STATUS_ACTIVE;
    s->rp = (MigRpReader) { .fd = fd, .wake_fd = -1 };
    s->has_rp = true;
    s->rp_failed = false;
    s->cut = false;
    s->postcopy_run_sent = run_sent;
    s->postcopy_stop_us = migration_now_us();
    s->postcopy_shut = 0;
    s->postcopy_resumed = false;
    s->pc_strict_pong = 0;
    s->strict_attempt = attempt;
    s->strict_stop_us = stop_us ? migration_now_us() : 0;
}

/* A socketpair whose far end held data and was closed: the reader's. */
static int fuzz_rp_socket(const uint8_t *data, size_t len)
{
    int sv[2];
    size_t off = 0;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        g_error("socketpair: %s", g_strerror(errno));
    }
    while (off < len) {
        ssize_t n = write(sv[1], data + off, len - off);

        if (n <= 0) {
            g_error("writing the return path: %s", g_strerror(errno));
        }
        off += n;
    }
    close(sv[1]);
    return sv[0];
}

/* Fails the run (a crash with the input kept) naming what differed. */
#define fuzz_check(cond, ...) do { \
        if (!(cond)) { \
            g_error("fuzz-return-path: " __VA_ARGS__); \
        } \
    } while (0)

static void fuzz_check_error(Error *err, const char *what)
{
    fuzz_check(err, "%s failed without an error", what);
    fuzz_check(*error_get_pretty(err), "%s failed with an empty error",
               what);
}

/* Every queued request lies in RAM: none the checks let through. */
static unsigned fuzz_check_queue(RamMigrationState *rs)
{
    unsigned n = 0;

    for (GList *l = rs->urgent.head; l; l = l->next, n++) {
        /* PostcopyUrgent (private to postcopy.c), field for field. */
        const struct { uint32_t block; size_t page, npages; } *u = l->data;

        fuzz_check(u->block < NR_BLOCKS && u->npages &&
                   u->page + u->npages <= block_size[u->block] / PAGE,
                   "queued request block %u pages [%zu, +%zu) is not RAM",
                   u->block, u->page, u->npages);
    }
    return n;
}

/* Every record on the preempt channel names a page of RAM, once. */
static unsigned fuzz_check_preempt(QEMUFile *out)
{
    size_t len;
    const uint8_t *d = qemu_file_mem_output_data(out, &len);
    g_autoptr(QEMUFile) in = qemu_file_new_mem_input(d, len, 0);
    bool seen[NR_BLOCKS][LOW_SIZE / PAGE] = { { 0 } };
    unsigned n = 0;

    for (;;) {
        uint64_t rec = qemu_get_be64(in), gpa = rec & RAM_REC_ADDR_MASK;
        unsigned b = gpa >= HIGH_GPA;

        if (qemu_file_get_error(in, NULL)) {
            return n;
        }
        fuzz_check(gpa - block_gpa[b] < block_size[b] &&
                   !(gpa & (PAGE - 1)) && !seen[b][(gpa - block_gpa[b]) /
                                                   PAGE],
                   "preempt record 0x%016" PRIx64 " is not a new page of "
                   "RAM", rec);
        seen[b][(gpa - block_gpa[b]) / PAGE] = true;
        n++;
        if (rec & RAM_REC_PAGE) {
            qemu_file_skip(in, PAGE);
        }
    }
}

/* Modes 0-2: the listener's loop to the end of the input. */
static void fuzz_listener(FuzzMode mode, uint8_t arg, const uint8_t *data,
                          size_t len)
{
    RamMigrationState *rs = ram_migration_state(src->vmstate);
    bool postcopy = mode != MODE_RP_PRECOPY;
    Model m = { .p = data, .left = len, .run_sent = postcopy,
                .attempt = arg & 7, .preempt = mode == MODE_RP_PREEMPT };
    QEMUFile *preempt = NULL;
    const char *expect;
    RpRead r;

    src->to_dst = fuzz_source_begin(postcopy);
    if (m.preempt) {
        preempt = qemu_file_new_mem_output();
        src->to_dst_preempt = preempt;
        postcopy_source_set_preempt(src->vmstate, preempt);
    }
    fuzz_source_state(fuzz_rp_socket(data, len), postcopy, arg & 7,
                      arg & 8);
    migration_rp_serve(src);

    /* What should have ended the loop. */
    for (;;) {
        uint16_t type;
        const uint8_t *d;

        r = model_read(&m, &type, &d);
        if (r != READ_MSG || !model_unsolicited(&m, type, d)) {
            break;
        }
    }
    if (r != READ_MSG && m.shut) {
        expect = "quiet";
    } else if (r == READ_END && m.run_sent) {
        expect = "paused";
    } else {
        expect = "failed";
    }
    if (!strcmp(expect, "quiet")) {
        fuzz_check(!src->error && !src->rp_failed && !src->cut,
                   "the return path ended after 'shut', but the listener "
                   "%s", src->error ? error_get_pretty(src->error) :
                   "cut the connection");
    } else {
        fuzz_check_error(src->error, "the listener");
        fuzz_check(src->rp_failed == !strcmp(expect, "failed") && src->cut,
                   "the listener should have %s the migration but %s it "
                   "(%s)", expect, src->rp_failed ? "failed" : "paused",
                   error_get_pretty(src->error));
    }
    fuzz_check(src->postcopy_shut == m.shut,
               "'shut' recorded as %" PRId64 ", sent as %" PRId64,
               src->postcopy_shut, m.shut);
    fuzz_check(fuzz_check_queue(rs) == m.queued,
               "%u requests queued, %u valid ones sent",
               fuzz_check_queue(rs), m.queued);
    if (preempt) {
        fuzz_check(fuzz_check_preempt(preempt) == m.sent,
                   "%u pages on the preempt channel, %u requested",
                   fuzz_check_preempt(preempt), m.sent);
        postcopy_source_set_preempt(src->vmstate, NULL);
        src->to_dst_preempt = NULL;
        qemu_fclose(preempt);
    }
    close(src->rp.fd);
    fuzz_source_end();
    qemu_fclose(src->to_dst);
    src->to_dst = NULL;
}

/*
 * Mode 3 with byte 1 bit 6: after a failed strict switchover, the wait
 * for the last attempt's late pong, which tells what it would have
 * needed (recorded as the last overrun).
 */
static void fuzz_late_pong(uint8_t arg, const uint8_t *data, size_t len)
{
    uint32_t attempt = (arg & 7) + 1;
    Model m = { .p = data, .left = len, .attempt = attempt };
    bool want_pong = false;

    src->to_dst = fuzz_source_begin(false);
    fuzz_source_state(fuzz_rp_socket(data, len), false, attempt, true);
    src->strict_last_overrun_ms = -1;
    migration_rp_wait_late_pong(src, migration_now_us() + 10000000);
    for (;;) {
        uint16_t type;
        const uint8_t *d;

        if (model_read(&m, &type, &d) != READ_MSG ||
            !model_unsolicited(&m, type, d)) {
            break;
        }
        if (type == MIG_RP_PONG && be32(d) == attempt) {
            want_pong = true;
            break;
        }
    }
    fuzz_check(!src->strict_stop_us == want_pong &&
               (src->strict_last_overrun_ms >= 0) == want_pong,
               "the late pong of attempt %u %s", attempt,
               want_pong ? "came but was not recorded" :
                           "was recorded but never came");
    close(src->rp.fd);
    fuzz_source_end();
    qemu_fclose(src->to_dst);
    src->to_dst = NULL;
}

/* Mode 3: the migration thread's wait, then postcopy's wait for "shut". */
static void fuzz_wait(uint8_t arg, const uint8_t *data, size_t len)
{
    bool postcopy = arg & 0x10;
    MigRpType want = arg & 0x20 ? MIG_RP_RESUMED : MIG_RP_PONG;
    uint32_t pong = (arg & 7) + 1;
    Model m = { .p = data, .left = len, .run_sent = postcopy,
                .attempt = pong };
    bool ok, want_ok = false, timed_out;
    Error *err = NULL;
    MigRpMsg msg;

    src->to_dst = fuzz_source_begin(postcopy);
    fuzz_source_state(fuzz_rp_socket(data, len), postcopy, pong, arg & 8);
    ok = migration_rp_wait(src, want, pong, migration_now_us() + 10000000,
                           &msg, &timed_out, &err);
    for (;;) {
        uint16_t type;
        const uint8_t *d;

        if (model_read(&m, &type, &d) != READ_MSG) {
            break;
        }
        if (type == want && (want != MIG_RP_PONG || be32(d) == pong)) {
            want_ok = true;
            break;
        }
        /* The migration thread's pongs are one attempt behind. */
        if (!model_unsolicited(&m, type, d)) {
            break;
        }
    }
    fuzz_check(!timed_out, "the wait timed out with the input all there");
    fuzz_check(ok == want_ok, "the wait for '%s' %s", mig_rp_info(want)->name,
               ok ? "succeeded, but it never came" : "failed, but it came");
    if (!ok) {
        fuzz_check_error(err, "the wait");
        error_free(err);
    } else if (postcopy) {
        ok = migration_postcopy_wait_shut(src, &err);
        for (;;) {
            uint16_t type;
            const uint8_t *d;

            if (m.shut || model_read(&m, &type, &d) != READ_MSG) {
                break;
            }
            if (type == MIG_RP_SHUT) {
                m.shut = (int64_t)be32(d) + 1;
                break;
            }
            if (!model_unsolicited(&m, type, d)) {
                break;
            }
        }
        fuzz_check(ok == (m.shut == 1), "the wait for 'shut' %s",
                   ok ? "succeeded" : "failed");
        if (!ok) {
            fuzz_check_error(err, "the wait for 'shut'");
            error_free(err);
        }
    }
    close(src->rp.fd);
    fuzz_source_end();
    qemu_fclose(src->to_dst);
    src->to_dst = NULL;
}

/* Mode 4: recovery's received bitmap, checked word for word. */
static void fuzz_bitmap(uint8_t arg, const uint8_t *data, size_t len)
{
    RamMigrationState *rs = ram_migration_state(src->vmstate);
    Model m = { .p = data, .left = len };
    uint64_t want[NR_BLOCKS] = { 0 };   /* each block fits one word */
    uint32_t next_block = 0, next_word = 0, words = 0;
    bool ok, want_ok = false;
    Error *err = NULL;

    src->to_dst = fuzz_source_begin(true);
    fuzz_source_state(fuzz_rp_socket(data, len), true, 0, false);
    ok = migration_postcopy_read_bitmap(src, migration_now_us() + 10000000,
                                        10000, &err);
    for (;;) {
        uint16_t type;
        const uint8_t *d;

        if (model_read(&m, &type, &d) != READ_MSG) {
            break;
        }
        if (type == MIG_RP_RECV_BITMAP) {
            uint32_t b = be32(d), w = be32(d + 4);
            uint64_t pages;

            if (b >= NR_BLOCKS || w != 0 || b < next_block ||
                (b == next_block && w < next_word)) {
                break;
            }
            pages = block_size[b] / PAGE;
            want[b] = ~be64(d + 8) & ((1ull << pages) - 1);
            next_block = b;
            next_word = w + 1;
            words++;
        } else if (type == MIG_RP_RECV_BITMAP_END) {
            want_ok = be32(d) == NR_BLOCKS && be32(d + 4) == words;
            break;
        } else if (type != MIG_RP_REQ_PAGES) {
            break;
        }
    }
    fuzz_check(ok == want_ok, "the received bitmap was %s",
               ok ? "taken" : "refused");
    if (ok) {
        uint64_t missing = 0;

        for (unsigned b = 0; b < NR_BLOCKS; b++) {
            fuzz_check(rs->save_blocks[b].bmap[0] == want[b],
                       "block %u to send 0x%lx, the bitmap said 0x%" PRIx64,
                       b, rs->save_blocks[b].bmap[0], want[b]);
            missing += __builtin_popcountll(want[b]);
        }
        fuzz_check(rs->dirty_pages == missing, "%" PRIu64 " pages left to "
                   "send, %" PRIu64 " missing", rs->dirty_pages, missing);
    } else {
        fuzz_check_error(err, "reading the received bitmap");
        error_free(err);
    }
    close(src->rp.fd);
    fuzz_source_end();
    qemu_fclose(src->to_dst);
    src->to_dst = NULL;
}

/* ---- mode 5: the destination's preempt channel ---- */

typedef struct DestRun {
    uint8_t mask;               /* pages touched (faulted on) */
    const uint8_t *data;        /* the preempt channel */
    size_t len;
    GThread *touchers[TOUCH_PAGES];
} DestRun;

static gpointer dest_toucher(gpointer opaque)
{
    const volatile uint8_t *p = opaque;

    return GUINT_TO_POINTER(*p);    /* waits until placed or released */
}

static bool dest_send(void *opaque, const uint8_t *data, Error **errp)
{
    return true;        /* the source "knows" them: the main stream */
}

/*
 * postcopy-run: the vCPU stand-ins fault on their pages (each becomes a
 * request), and only then does the preempt channel connect, so that
 * what it carries meets requests already made, whatever the timing.
 */
static void dest_run(void *opaque, GByteArray *devices)
{
    DestRun *dr = opaque;
    RamMigrationState *rs = ram_migration_state(dst);
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    g_byte_array_unref(devices);
    for (unsigned i = 0; i < TOUCH_PAGES; i++) {
        if (dr->mask & 1u << i) {
            dr->touchers[i] = g_thread_new(
                "toucher", dest_toucher,
                guest_memory_host_ptr(&dst_mem, i * PAGE, 1));
        }
    }
    for (unsigned i = 0; i < TOUCH_PAGES; i++) {
        while (dr->mask & 1u << i &&
               !postcopy_ram_is_requested(rs->pc, i * PAGE)) {
            fuzz_check(g_get_monotonic_time() < deadline,
                       "the fault on page %u made no request", i);
            g_usleep(20);
        }
    }
    postcopy_incoming_preempt_attach(dst, qemu_file_new_mem_input(
                                              dr->data, dr->len, 0));
}

/*
 * The source's main stream when the pages of mask (of block 0) went on
 * the preempt channel: advise, the switch, run, the channel's end, the
 * rest of RAM. Into pre_out (if not NULL) the preempt channel the source
 * itself sent.
 */
static GByteArray *dest_main_stream(uint8_t mask, GByteArray *pre_out)
{
    QEMUFile *f = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) pre = qemu_file_new_mem_output();
    GByteArray *stream = g_byte_array_new();
    const uint8_t *d;
    size_t len;

    savevm_state_header(f);
    postcopy_send_advise(f);
    guest_memory_mark_dirty(&src_mem, 0, LOW_SIZE);
    guest_memory_mark_dirty(&src_mem, HIGH_GPA, HIGH_SIZE);
    if (!savevm_state_setup(src->vmstate, f, &error_abort) ||
        !postcopy_source_switch(src->vmstate, f, &error_abort)) {
        g_assert_not_reached();
    }
    postcopy_send_run(f);
    postcopy_preempt_send_header(pre);
    postcopy_source_set_preempt(src->vmstate, pre);
    for (unsigned i = 0; i < TOUCH_PAGES; i++) {
        uint8_t req[POSTCOPY_REQ_LEN];

        if (mask & 1u << i) {
            postcopy_encode_request(req, 0, i * PAGE, PAGE);
            if (!postcopy_source_request(src->vmstate, req, sizeof(req),
                                         &error_abort)) {
                g_assert_not_reached();
            }
        }
    }
    if (!postcopy_source_preempt_end(src->vmstate, &error_abort)) {
        g_assert_not_reached();
    }
    postcopy_source_set_preempt(src->vmstate, NULL);
    savevm_send_command(f, SAVEVM_CMD_POSTCOPY_PREEMPT_DONE, NULL, 0);
    if (!savevm_state_complete(src->vmstate, f, &error_abort)) {
        g_assert_not_reached();
    }
    savevm_state_cleanup(src->vmstate);
    d = qemu_file_mem_output_data(f, &len);
    g_byte_array_append(stream, d, len);
    qemu_fclose(f);
    if (pre_out) {
        d = qemu_file_mem_output_data(pre, &len);
        g_byte_array_append(pre_out, d, len);
    }
    return stream;
}

static void fuzz_preempt_dest(uint8_t mask, const uint8_t *data, size_t len)
{
    RamMigrationState *rs = ram_migration_state(dst);
    DestRun dr = { .mask = dst_uffd ? mask : 0, .data = data, .len = len };
    g_autoptr(QEMUFile) in = NULL;
    Error *err = NULL;
    bool ok;

    if (!dst_uffd) {
        /* Not running postcopy: the reader checks the handshake and
         * refuses the first page record, and the load goes on. */
        postcopy_incoming_preempt_attach(dst, qemu_file_new_mem_input(
                                                  data, len, 0));
        postcopy_preempt_incoming_stop(rs);
        return;
    }
    if (!dst_streams[dr.mask]) {
        dst_streams[dr.mask] = dest_main_stream(dr.mask, NULL);
    }
    if (!postcopy_incoming_setup(dst, dest_send, dest_run, &dr,
                                 &error_abort)) {
        g_assert_not_reached();
    }
    in = qemu_file_new_mem_input(dst_streams[dr.mask]->data,
                                 dst_streams[dr.mask]->len, 0);
    ok = loadvm_state(dst, in, &err);
    for (unsigned i = 0; i < TOUCH_PAGES; i++) {
        if (dr.touchers[i]) {
            g_thread_join(dr.touchers[i]);
        }
    }
    if (!ok) {
        fuzz_check_error(err, "the load");
        fuzz_check(strstr(error_get_pretty(err), "preempt"),
                   "a load whose main stream was good failed without "
                   "blaming the preempt channel: %s", error_get_pretty(err));
        error_free(err);
    }
    /* Whatever it read, nothing stays: no reader, no userfaultfd. */
    fuzz_check(!rs->pre_thread && !rs->pre_in && !rs->pc &&
               postcopy_incoming_state(dst) == POSTCOPY_INCOMING_NONE,
               "the load left its preempt reader or userfaultfd behind");
}

/* ---- seeds ---- */

static void fuzz_write_seed(const char *dir, const char *name, uint8_t mode,
                            uint8_t arg, const uint8_t *data, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len + 2);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    GError *gerr = NULL;

    buf[0] = mode;
    buf[1] = arg;
    memcpy(buf + 2, data, len);
    if (!g_file_set_contents(path, (const char *)buf, len + 2, &gerr)) {
        g_error("%s: %s", path, gerr->message);
    }
}

/* Messages as the destination sends them, through a socketpair. */
typedef struct SeedRp {
    int fd[2];
} SeedRp;

static void seed_rp_open(SeedRp *r)
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->fd)) {
        g_error("socketpair: %s", g_strerror(errno));
    }
}

static void seed_rp(SeedRp *r, MigRpType type, const uint8_t *data)
{
    if (!mig_rp_send(r->fd[1], type, data, &error_abort)) {
        g_assert_not_reached();
    }
}

static void seed_rp_pong(SeedRp *r, uint32_t v)
{
    uint8_t d[12] = { 0 };

    mig_put_be32(d, v);
    seed_rp(r, MIG_RP_PONG, d);
}

static void seed_rp_req(SeedRp *r, uint32_t block, uint64_t off, uint32_t len)
{
    uint8_t d[POSTCOPY_REQ_LEN];

    postcopy_encode_request(d, block, off, len);
    seed_rp(r, MIG_RP_REQ_PAGES, d);
}

static void seed_rp_write(SeedRp *r, const char *dir, const char *name,
                          uint8_t mode, uint8_t arg)
{
    uint8_t buf[4096];
    ssize_t n;

    close(r->fd[1]);
    n = read(r->fd[0], buf, sizeof(buf));
    g_assert_cmpint(n, >, 0);
    close(r->fd[0]);
    fuzz_write_seed(dir, name, mode, arg, buf, n);
}

static void fuzz_make_seeds(const char *dir)
{
    static const uint8_t zero[16];
    uint8_t d[16];
    SeedRp r;

    for (FuzzMode mode = MODE_RP_POSTCOPY; mode <= MODE_RP_PREEMPT; mode++) {
        seed_rp_open(&r);
        seed_rp(&r, MIG_RP_RESUMED, zero);
        seed_rp_req(&r, 0, 3 * PAGE, 2 * PAGE);
        seed_rp_pong(&r, 2);
        seed_rp_req(&r, 1, HIGH_SIZE - PAGE, PAGE);
        seed_rp_req(&r, 0, 4 * PAGE, PAGE);
        seed_rp(&r, MIG_RP_SHUT, zero);
        seed_rp_write(&r, dir, mode == MODE_RP_POSTCOPY ? "rp-postcopy" :
                      "rp-preempt", mode, 3);
    }
    seed_rp_open(&r);
    seed_rp_pong(&r, 1);
    seed_rp_pong(&r, 3);
    seed_rp_write(&r, dir, "rp-precopy", MODE_RP_PRECOPY, 3 | 8);

    seed_rp_open(&r);
    seed_rp_req(&r, 0, 0, PAGE);
    seed_rp_pong(&r, 1);
    seed_rp(&r, MIG_RP_RESUMED, zero);
    seed_rp_req(&r, 1, 0, HIGH_SIZE);
    seed_rp(&r, MIG_RP_SHUT, zero);
    seed_rp_write(&r, dir, "rp-wait", MODE_RP_WAIT, 0x10 | 0x20 | 1);

    seed_rp_open(&r);
    seed_rp_pong(&r, 1);
    seed_rp_pong(&r, 2);
    seed_rp_write(&r, dir, "rp-late-pong", MODE_RP_WAIT, 0x40 | 1);

    seed_rp_open(&r);
    mig_put_be32(d, 0);
    mig_put_be32(d + 4, 0);
    mig_put_be64(d + 8, 0xff0f);
    seed_rp(&r, MIG_RP_RECV_BITMAP, d);
    seed_rp_req(&r, 0, PAGE, PAGE);
    mig_put_be32(d, 1);
    mig_put_be64(d + 8, 0x5);
    seed_rp(&r, MIG_RP_RECV_BITMAP, d);
    mig_put_be32(d, NR_BLOCKS);
    mig_put_be32(d + 4, 2);
    seed_rp(&r, MIG_RP_RECV_BITMAP_END, d);
    seed_rp_write(&r, dir, "rp-bitmap", MODE_RP_BITMAP, 0);

    /* The preempt channel the real source sends for pages 0, 2, 5 and 6
     * (page 0 and 6 zero). */
    {
        g_autoptr(GByteArray) pre = g_byte_array_new();

        g_byte_array_unref(dest_main_stream(0x65, pre));
        fuzz_write_seed(dir, "preempt-dest", MODE_PREEMPT_DEST, 0x65,
                        pre->data, pre->len);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_RETURN_PATH_SEEDS");

    fuzz_setup();
    if (dir) {
        fuzz_make_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    switch ((FuzzMode)(data[0] % MODE__MAX)) {
    case MODE_RP_POSTCOPY:
    case MODE_RP_PREEMPT:
    case MODE_RP_PRECOPY:
        fuzz_listener(data[0] % MODE__MAX, data[1], data + 2, size - 2);
        break;
    case MODE_RP_WAIT:
        if (data[1] & 0x40) {
            fuzz_late_pong(data[1], data + 2, size - 2);
        } else {
            fuzz_wait(data[1], data + 2, size - 2);
        }
        break;
    case MODE_RP_BITMAP:
        fuzz_bitmap(data[1], data + 2, size - 2);
        break;
    case MODE_PREEMPT_DEST:
    case MODE__MAX:
        fuzz_preempt_dest(data[1], data + 2, size - 2);
        break;
    }
    return 0;
}
