/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RAM migration: the live savevm entry "ram".
 *
 * The source keeps, per RamBlock, a private migration bitmap of the pages
 * still to send (setup fills it; the shared RamBlock.dirty is only ever
 * taken from, never used to remember what is pending). Each harvest asks
 * KVM to merge its log into RamBlock.dirty, takes that bitmap atomically
 * (so device writes racing with us are either in this harvest or the next)
 * and ORs it into the migration bitmap, keeping a count of set bits so
 * that save_pending is O(1). Pages then go out in address order from a
 * cursor that survives rate-limited iterations, so a rate-limited source
 * does not starve the high pages by always restarting at address 0.
 *
 * A page is either all zero (an 8-byte ZERO record) or queued by reference
 * behind an 8-byte PAGE record: the stream buffer never copies guest RAM.
 * The guest may write a page between the zero check / queueing and the
 * flush; KVM re-protected the page at the harvest before we looked at it,
 * so such a write makes the page dirty again and the next harvest resends
 * it. The last harvest (save_complete) runs with the vCPUs paused, so what
 * it sends is final.
 *
 * The destination treats the stream as hostile: the block list must match
 * its own RAM layout exactly, each page record must name a page-aligned
 * address inside one RAM block and carry exactly one known kind, and only
 * then is the page written. A ZERO record clears the page only if it is
 * not already zero, so untouched destination memory is never faulted in.
 * Every page written (data or zero) is recorded in a per-block "received"
 * bitmap for COLO. Loading does not mark RamBlock.dirty: the received
 * bitmap is the record of what loading wrote, and COLO must be able to
 * tell the secondary's own writes from the primary's pages.
 *
 * Record format: docs/devel/migration-stream.md, "RAM records".
 */
#include <inttypes.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "ram-internal.h"
#include "savevm-internal.h"
#include "system/runstate.h"
#include "util/bitmap.h"
#include "trace.h"

/* Dirty and send rates are computed over periods at least this long. */
#define RAM_RATE_PERIOD_US      (100 * 1000)
/* Unlimited sends check the stream for errors every this many pages. */
#define RAM_ERROR_CHECK_PAGES   256

bool ram_page_is_hole(RamBlockMig *b, uint64_t off)
{
    RamExtent *e = &b->extent;
    off_t data, hole;

    if (off >= e->start && off < e->end) {
        return e->hole;
    }
    data = lseek(b->rb->memfd, off, SEEK_DATA);
    if (data < 0) {
        /* ENXIO: no data from here to the end. Other errors: don't know. */
        *e = (RamExtent) { .start = off, .end = b->rb->size,
                           .hole = errno == ENXIO };
        return e->hole;
    }
    if ((uint64_t)data > off) {
        *e = (RamExtent) { .start = off, .end = data, .hole = true };
        return true;
    }
    hole = lseek(b->rb->memfd, off, SEEK_HOLE);
    *e = (RamExtent) { .start = off,
                       .end = hole > (off_t)off ? (uint64_t)hole : off + 1,
                       .hole = false };
    return false;
}

/* ---- zero detection ---- */

#if defined(__SSE2__)
/* 64 bytes at p (16-aligned) all zero? */
static inline bool ram_block64_is_zero(const uint8_t *p)
{
    const __m128i *v = (const __m128i *)p;
    __m128i acc = _mm_or_si128(_mm_or_si128(v[0], v[1]),
                               _mm_or_si128(v[2], v[3]));

    return _mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128()))
           == 0xffff;
}
#define RAM_ZERO_ALIGN 16
#else
static inline bool ram_block64_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;

    return !(w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]);
}
#define RAM_ZERO_ALIGN 8
#endif

bool ram_buffer_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    const uint8_t *end = p + len;
    uint64_t first;

    /* Most non-zero pages differ in their first bytes: test 8 of them
     * before anything else. */
    if (len >= 8) {
        memcpy(&first, p, 8);
        if (first) {
            return false;
        }
    }
    while (p < end && ((uintptr_t)p & (RAM_ZERO_ALIGN - 1))) {
        if (*p++) {
            return false;
        }
    }
    /* Four 64-byte blocks per round, one early exit check per round. */
    while (end - p >= 256) {
        if (!ram_block64_is_zero(p) || !ram_block64_is_zero(p + 64) ||
            !ram_block64_is_zero(p + 128) || !ram_block64_is_zero(p + 192)) {
            return false;
        }
        p += 256;
    }
    while (end - p >= 64) {
        if (!ram_block64_is_zero(p)) {
            return false;
        }
        p += 64;
    }
    while (p < end) {
        if (*p++) {
            return false;
        }
    }
    return true;
}

/* ---- helpers ---- */

static void ram_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const struct { uint64_t unit; const char *name; } units[] = {
        { 1ULL << 40, "TiB" }, { 1ULL << 30, "GiB" },
        { 1ULL << 20, "MiB" }, { 1ULL << 10, "KiB" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (bytes >= units[i].unit && !(bytes % units[i].unit)) {
            snprintf(buf, len, "%" PRIu64 " %s", bytes / units[i].unit,
                     units[i].name);
            return;
        }
    }
    snprintf(buf, len, "%" PRIu64 " bytes", bytes);
}

static RamBlockMig *ram_blocks_new(GuestMemory *mem, unsigned *nr)
{
    RamBlockMig *b = g_new0(RamBlockMig, mem->nr_blocks ? mem->nr_blocks : 1);

    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        b[i].rb = &mem->blocks[i];
        b[i].pages = mem->blocks[i].size >> GUEST_PAGE_SHIFT;
    }
    *nr = mem->nr_blocks;
    return b;
}

static void ram_blocks_free(RamBlockMig *b, unsigned nr)
{
    for (unsigned i = 0; b && i < nr; i++) {
        g_free(b[i].bmap);
        g_free(b[i].scratch);
        g_free(b[i].received);
    }
    g_free(b);
}

void ram_account(RamMigrationState *rs, uint64_t bytes)
{
    rs->st.transferred += bytes;
    /* The source's guest stays stopped through postcopy: the switch
     * counts its own bytes (postcopy_source_switch). */
    if (__atomic_load_n(&rs->postcopy, __ATOMIC_SEQ_CST)) {
        rs->st.postcopy_bytes += bytes;
    } else if (runstate_get() == RUN_STATE_FINISH_MIGRATE ||
               runstate_get() == RUN_STATE_COLO) {
        rs->st.downtime_bytes += bytes;
    } else {
        rs->st.precopy_bytes += bytes;
    }
}

bool ram_take_page(RamMigrationState *rs, RamBlockMig *b, size_t page)
{
    unsigned long mask = 1UL << (page % BITS_PER_LONG);
    unsigned long old = __atomic_fetch_and(&b->bmap[page / BITS_PER_LONG],
                                           ~mask, __ATOMIC_SEQ_CST);

    if (!(old & mask)) {
        return false;
    }
    __atomic_sub_fetch(&rs->dirty_pages, 1, __ATOMIC_SEQ_CST);
    return true;
}

void ram_stats_publish(RamMigrationState *rs)
{
    uint64_t pre_bytes = __atomic_load_n(&rs->pre_bytes, __ATOMIC_SEQ_CST);

    rs->st.remaining = __atomic_load_n(&rs->dirty_pages, __ATOMIC_SEQ_CST) *
                       GUEST_PAGE_SIZE;
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->published_lock);

    rs->published = rs->st;
    /* What the preempt channel's sender (another thread) counted. */
    rs->published.normal += __atomic_load_n(&rs->pre_normal,
                                            __ATOMIC_SEQ_CST);
    rs->published.normal_bytes += __atomic_load_n(&rs->pre_normal,
                                                  __ATOMIC_SEQ_CST) *
                                  GUEST_PAGE_SIZE;
    rs->published.duplicate += __atomic_load_n(&rs->pre_zero,
                                               __ATOMIC_SEQ_CST);
    rs->published.transferred += pre_bytes;
    rs->published.postcopy_bytes += pre_bytes;
    rs->published.postcopy_requests += __atomic_load_n(&rs->pre_requests,
                                                       __ATOMIC_SEQ_CST);
}

const RamMigrationStats *ram_migration_stats(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    return rs ? &rs->published : NULL;
}

void ram_migration_stats_snapshot(SaveVMState *s, RamMigrationStats *out)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs) {
        memset(out, 0, sizeof(*out));
        return;
    }
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&rs->published_lock);

    *out = rs->published;
}

void ram_migration_stats_reset(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (rs) {
        g_autoptr(GMutexLocker) locker =
            g_mutex_locker_new(&rs->published_lock);

        memset(&rs->published, 0, sizeof(rs->published));
    }
}

/* ---- source ---- */

/* Closes a rate period if it is long enough. */
static void ram_update_rates(RamMigrationState *rs)
{
    int64_t now = g_get_monotonic_time();
    int64_t elapsed = now - rs->period_start_us;

    if (elapsed < RAM_RATE_PERIOD_US) {
        return;
    }
    rs->st.dirty_pages_rate = rs->period_dirtied * G_USEC_PER_SEC / elapsed;
    rs->st.pages_per_second = rs->period_sent * G_USEC_PER_SEC / elapsed;
    rs->period_dirtied = 0;
    rs->period_sent = 0;
    rs->period_start_us = now;
}

/*
 * Harvest: KVM's log into RamBlock.dirty, then RamBlock.dirty into the
 * migration bitmaps.
 */
bool ram_dirty_sync(RamMigrationState *rs, Error **errp)
{
    uint64_t dirtied = 0, added = 0;

    if (rs->kvm && !kvm_dirty_sync(rs->kvm, errp)) {
        error_prepend(errp, "ram: dirty sync: ");
        return false;
    }
    for (unsigned i = 0; i < rs->nr_save_blocks; i++) {
        RamBlockMig *b = &rs->save_blocks[i];
        size_t words = BITS_TO_LONGS(b->pages);

        /* Pages written since the last look may have filled holes. */
        b->extent = (RamExtent) { 0 };
        bitmap_take_atomic(b->scratch, b->rb->dirty, b->pages);
        for (size_t w = 0; w < words; w++) {
            unsigned long d = b->scratch[w];

            if (d) {
                dirtied += __builtin_popcountl(d);
                added += __builtin_popcountl(d & ~b->bmap[w]);
                b->bmap[w] |= d;
            }
        }
    }
    __atomic_add_fetch(&rs->dirty_pages, added, __ATOMIC_SEQ_CST);
    rs->period_dirtied += dirtied;
    rs->st.dirty_sync_count++;
    ram_update_rates(rs);
    trace_ram_dirty_sync(dirtied, added, rs->dirty_pages);
    return true;
}

/* One page record; returns true if it was a zero page. */
bool ram_send_page(RamMigrationState *rs, QEMUFile *f, RamBlockMig *b,
                   size_t page)
{
    uint64_t gpa = b->rb->gpa + ((uint64_t)page << GUEST_PAGE_SHIFT);
    const uint8_t *host = b->rb->host + ((uint64_t)page << GUEST_PAGE_SHIFT);

    if (ram_page_is_hole(b, (uint64_t)page << GUEST_PAGE_SHIFT) ||
        ram_buffer_is_zero(host, GUEST_PAGE_SIZE)) {
        qemu_put_be64(f, gpa | RAM_REC_ZERO);
        rs->st.duplicate++;
        return true;
    }
    qemu_put_be64(f, gpa | RAM_REC_PAGE);
    qemu_put_buffer_nocopy(f, host, GUEST_PAGE_SIZE);
    rs->st.normal++;
    rs->st.normal_bytes += GUEST_PAGE_SIZE;
    return false;
}

/*
 * Sends marked pages in address order from the cursor (wrapping once),
 * until none is left or, if limited, the rate limit says stop. Returns
 * the number of pages sent.
 */
uint64_t ram_send_dirty(RamMigrationState *rs, QEMUFile *f, bool limited)
{
    uint64_t sent = 0;

    while (__atomic_load_n(&rs->dirty_pages, __ATOMIC_SEQ_CST)) {
        RamBlockMig *b;
        size_t page;

        /* Postcopy: pages the destination waits for go first, rate
         * limit or not. */
        if (__atomic_load_n(&rs->urgent_pending, __ATOMIC_SEQ_CST)) {
            sent += postcopy_send_urgent(rs, f);
            continue;
        }
        if (limited ? qemu_file_rate_limit(f)
                    : (sent % RAM_ERROR_CHECK_PAGES == 0 &&
                       qemu_file_get_error(f, NULL))) {
            break;
        }
        if (rs->cursor_block >= rs->nr_save_blocks) {
            __atomic_store_n(&rs->first_pass_done, true, __ATOMIC_SEQ_CST);
            rs->cursor_block = 0;
            rs->cursor_page = 0;
        }
        b = &rs->save_blocks[rs->cursor_block];
        page = find_next_bit(b->bmap, b->pages, rs->cursor_page);
        if (page >= b->pages) {
            rs->cursor_block++;
            rs->cursor_page = 0;
            continue;
        }
        rs->cursor_page = page + 1;
        /* The preempt channel's sender may have taken it meanwhile. */
        if (!ram_take_page(rs, b, page)) {
            continue;
        }
        ram_send_page(rs, f, b, page);
        sent++;
    }
    if (!__atomic_load_n(&rs->dirty_pages, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&rs->first_pass_done, true, __ATOMIC_SEQ_CST);
    }
    rs->period_sent += sent;
    return sent;
}

bool ram_migration_first_pass_done(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    return rs && __atomic_load_n(&rs->first_pass_done, __ATOMIC_SEQ_CST);
}

static void ram_save_stop(RamMigrationState *rs)
{
    bool stopped = false;

    if (rs->we_started_logging && rs->kvm) {
        Error *err = NULL;

        /* Not fatal: the source keeps running either way. */
        stopped = kvm_dirty_log_stop(rs->kvm, &err);
        if (!stopped) {
            trace_ram_save_log_stop_failed(error_get_pretty(err));
            error_free(err);
        }
    }
    trace_ram_save_cleanup(rs->saving, stopped);
    rs->we_started_logging = false;
    __atomic_store_n(&rs->postcopy, false, __ATOMIC_SEQ_CST);
    postcopy_urgent_clear(rs);
    ram_blocks_free(rs->save_blocks, rs->nr_save_blocks);
    rs->save_blocks = NULL;
    rs->nr_save_blocks = 0;
    rs->dirty_pages = 0;
    rs->saving = false;
    postcopy_preempt_source_close(rs);
}

static bool ram_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RamMigrationState *rs = opaque;
    uint64_t start = qemu_file_transferred(f);
    uint64_t total = 0;

    if (rs->saving) {
        ram_save_stop(rs);
    }
    if (rs->mem->nr_blocks > RAM_MIGRATION_MAX_BLOCKS) {
        error_setg(errp, "ram: %u RAM blocks, at most %u can be migrated",
                   rs->mem->nr_blocks, RAM_MIGRATION_MAX_BLOCKS);
        return false;
    }

    /* Start logging before marking everything: a write after this point
     * is caught by the log, one before it by the full first pass. */
    if (rs->kvm && !rs->kvm->dirty_logging) {
        if (!kvm_dirty_log_start(rs->kvm, errp)) {
            error_prepend(errp, "ram: ");
            return false;
        }
        rs->we_started_logging = true;
    }
    rs->save_blocks = ram_blocks_new(rs->mem, &rs->nr_save_blocks);
    rs->saving = true;
    __atomic_store_n(&rs->postcopy, false, __ATOMIC_SEQ_CST);
    postcopy_urgent_clear(rs);
    rs->dirty_pages = 0;
    rs->pre_normal = rs->pre_zero = rs->pre_bytes = rs->pre_requests = 0;
    rs->cursor_block = 0;
    rs->cursor_page = 0;
    __atomic_store_n(&rs->first_pass_done, false, __ATOMIC_SEQ_CST);
    memset(&rs->st, 0, sizeof(rs->st));

    qemu_put_be64(f, RAM_REC_BLOCKS);
    qemu_put_be32(f, rs->nr_save_blocks);
    for (unsigned i = 0; i < rs->nr_save_blocks; i++) {
        RamBlockMig *b = &rs->save_blocks[i];

        b->bmap = bitmap_new(b->pages);
        b->scratch = bitmap_new(b->pages);
        /* What was dirty before is covered by the full pass. */
        bitmap_take_atomic(b->scratch, b->rb->dirty, b->pages);
        bitmap_fill(b->bmap, b->pages);
        rs->dirty_pages += b->pages;
        total += b->rb->size;

        qemu_put_counted_string(f, b->rb->name);
        qemu_put_be64(f, b->rb->gpa);
        qemu_put_be64(f, b->rb->size);
    }
    qemu_put_be64(f, RAM_REC_EOS);
    qemu_fflush(f);

    rs->st.total = total;
    ram_account(rs, qemu_file_transferred(f) - start);
    rs->period_start_us = g_get_monotonic_time();
    rs->period_dirtied = rs->period_sent = 0;
    ram_stats_publish(rs);
    trace_ram_save_setup(rs->nr_save_blocks, total, rs->we_started_logging);
    return true;
}

static bool ram_save_iterate(QEMUFile *f, void *opaque, bool *done,
                             Error **errp)
{
    RamMigrationState *rs = opaque;
    uint64_t start = qemu_file_transferred(f);
    uint64_t zero = rs->st.duplicate;
    uint64_t sent;

    if (!rs->saving) {
        error_setg(errp, "ram: iterate without setup");
        return false;
    }
    rs->st.iterations++;
    /* Postcopy: the guest runs on the destination; nothing is dirtied
     * here any more and the pass is done once all is sent. */
    if (!rs->postcopy && !ram_dirty_sync(rs, errp)) {
        return false;
    }
    /* Done only when a harvest finds nothing: pages sent in this pass may
     * have been dirtied again, which only the next harvest can tell. */
    *done = __atomic_load_n(&rs->dirty_pages, __ATOMIC_SEQ_CST) == 0;
    sent = ram_send_dirty(rs, f, true);
    if (rs->postcopy) {
        *done = __atomic_load_n(&rs->dirty_pages, __ATOMIC_SEQ_CST) == 0;
    }
    qemu_put_be64(f, RAM_REC_EOS);
    /* The pages were queued by reference and the guest keeps running. */
    qemu_fflush(f);
    ram_account(rs, qemu_file_transferred(f) - start);
    ram_stats_publish(rs);
    trace_ram_save_iterate(rs->st.iterations, sent, rs->st.duplicate - zero,
                           rs->dirty_pages, *done);
    return true;
}

static bool ram_save_complete(QEMUFile *f, void *opaque, Error **errp)
{
    RamMigrationState *rs = opaque;
    uint64_t start = qemu_file_transferred(f);
    uint64_t zero = rs->st.duplicate;
    uint64_t sent;

    if (!rs->saving) {
        error_setg(errp, "ram: complete without setup");
        return false;
    }
    /* vCPUs are paused: after this harvest nothing changes any more.
     * (Postcopy harvested for the last time at the switch.) */
    if (!rs->postcopy && !ram_dirty_sync(rs, errp)) {
        return false;
    }
    sent = ram_send_dirty(rs, f, false);
    qemu_put_be64(f, RAM_REC_EOS);
    qemu_fflush(f);
    ram_account(rs, qemu_file_transferred(f) - start);
    ram_stats_publish(rs);
    trace_ram_save_complete(sent, rs->st.duplicate - zero);
    /*
     * Dirty logging stays on until savevm_state_cleanup(), after the
     * destination said "resumed": turning it off (KVM rewrites every
     * memory slot, frees the bitmaps and may rebuild huge pages) took
     * place here, between RAM's end and EOF, inside the guest's downtime
     * and after the strict deadline check. The guest is stopped, so
     * logging longer costs nothing. COLO keeps it anyway.
     */
    return true;
}

static uint64_t ram_save_pending(void *opaque)
{
    RamMigrationState *rs = opaque;

    return __atomic_load_n(&rs->dirty_pages, __ATOMIC_SEQ_CST) *
           GUEST_PAGE_SIZE;
}

static void ram_save_cleanup(void *opaque)
{
    RamMigrationState *rs = opaque;

    if (rs->saving || rs->we_started_logging) {
        ram_save_stop(rs);
    }
}

/* ---- destination ---- */

static bool ram_load_setup(void *opaque, Error **errp)
{
    RamMigrationState *rs = opaque;

    ram_blocks_free(rs->load_blocks, rs->nr_load_blocks);
    rs->load_blocks = ram_blocks_new(rs->mem, &rs->nr_load_blocks);
    for (unsigned i = 0; i < rs->nr_load_blocks; i++) {
        rs->load_blocks[i].received = bitmap_new(rs->load_blocks[i].pages);
    }
    rs->last_load_block = 0;
    rs->have_block_list = false;
    rs->load_pages = rs->load_zero = 0;
    postcopy_load_reset(rs);
    return true;
}

static void ram_load_cleanup(void *opaque)
{
    RamMigrationState *rs = opaque;

    /* The received bitmaps stay for COLO until the next load_setup. */
    trace_ram_load_done(rs->load_pages, rs->load_zero);
    rs->have_block_list = false;
    /* Before the userfaultfd goes: the preempt reader places pages. */
    postcopy_preempt_incoming_stop(rs);
    postcopy_load_reset(rs);        /* userfaultfd released */
}

/* A stream error: the loader reports it (truncation) from f. */
bool ram_load_stream_ok(QEMUFile *f, Error **errp)
{
    if (qemu_file_get_error(f, NULL)) {
        error_setg(errp, "ram: stream error");
        return false;
    }
    return true;
}

static bool ram_load_block_list(RamMigrationState *rs, QEMUFile *f,
                                Error **errp)
{
    uint32_t count;
    unsigned i;

    if (rs->have_block_list) {
        error_setg(errp, "ram: block list sent twice");
        return false;
    }
    count = qemu_get_be32(f);
    if (!ram_load_stream_ok(f, errp)) {
        return false;
    }
    if (count > RAM_MIGRATION_MAX_BLOCKS) {
        error_setg(errp, "ram: the stream lists %" PRIu32 " RAM blocks, "
                   "more than the %u allowed", count,
                   RAM_MIGRATION_MAX_BLOCKS);
        return false;
    }
    trace_ram_load_blocks(count, rs->nr_load_blocks);
    for (i = 0; i < count; i++) {
        char name[256];
        char here[32], there[32];
        uint64_t gpa, size;
        RamBlock *rb;

        qemu_get_counted_string(f, name);
        gpa = qemu_get_be64(f);
        size = qemu_get_be64(f);
        if (!ram_load_stream_ok(f, errp)) {
            return false;
        }
        if (i >= rs->nr_load_blocks) {
            error_setg(errp, "ram: block '%s' in the stream does not exist "
                       "here", name);
            return false;
        }
        rb = rs->load_blocks[i].rb;
        if (strcmp(rb->name, name)) {
            error_setg(errp, "ram: block %u is '%s' here but '%s' in the "
                       "stream", i, rb->name, name);
            return false;
        }
        if (rb->size != size) {
            ram_format_size(rb->size, here, sizeof(here));
            ram_format_size(size, there, sizeof(there));
            error_setg(errp, "ram: block '%s' is %s here but %s in the stream",
                       name, here, there);
            return false;
        }
        if (rb->gpa != gpa) {
            error_setg(errp, "ram: block '%s' is at 0x%" PRIx64 " here but at "
                       "0x%" PRIx64 " in the stream", name, rb->gpa, gpa);
            return false;
        }
    }
    if (count < rs->nr_load_blocks) {
        error_setg(errp, "ram: block '%s' exists here but not in the stream",
                   rs->load_blocks[count].rb->name);
        return false;
    }
    rs->have_block_list = true;
    return true;
}

static RamBlockMig *ram_load_find(RamMigrationState *rs, uint64_t gpa)
{
    RamBlockMig *b = &rs->load_blocks[rs->last_load_block];

    if (rs->last_load_block < rs->nr_load_blocks &&
        gpa - b->rb->gpa < b->rb->size && gpa >= b->rb->gpa) {
        return b;
    }
    for (unsigned i = 0; i < rs->nr_load_blocks; i++) {
        b = &rs->load_blocks[i];
        if (gpa >= b->rb->gpa && gpa - b->rb->gpa < b->rb->size) {
            rs->last_load_block = i;
            return b;
        }
    }
    return NULL;
}

bool ram_load_page(RamMigrationState *rs, QEMUFile *f, uint64_t gpa,
                   bool zero, Error **errp)
{
    RamBlockMig *b;
    uint8_t *host;
    size_t page;

    if (!rs->have_block_list) {
        error_setg(errp, "ram: page 0x%" PRIx64 " before the block list", gpa);
        return false;
    }
    if (gpa & (GUEST_PAGE_SIZE - 1)) {
        error_setg(errp, "ram: page 0x%" PRIx64 " is not page aligned", gpa);
        return false;
    }
    b = ram_load_find(rs, gpa);
    if (!b) {
        error_setg(errp, "ram: page 0x%" PRIx64 " is outside guest RAM", gpa);
        return false;
    }
    page = (gpa - b->rb->gpa) >> GUEST_PAGE_SHIFT;
    if (rs->pc) {
        return postcopy_load_page(rs, b, f, gpa, zero, errp);
    }
    if (rs->colo_cache) {
        /* COLO: the cache is anonymous memory, not the memfd. */
        unsigned idx = b - rs->load_blocks;

        host = colo_ram_cache_page(rs->colo_cache, idx, page);
        if (zero) {
            if (!ram_buffer_is_zero(host, GUEST_PAGE_SIZE)) {
                memset(host, 0, GUEST_PAGE_SIZE);
            }
            rs->load_zero++;
        } else if (!qemu_get_buffer(f, host, GUEST_PAGE_SIZE)) {
            return ram_load_stream_ok(f, errp);
        }
        colo_ram_cache_mark_received(rs->colo_cache, idx, page);
        rs->load_pages++;
        return true;
    }
    host = b->rb->host + (gpa - b->rb->gpa);
    if (zero) {
        /* A hole already reads as zero; anything else is cleared. Never
         * read a hole to find out: that would allocate it. */
        if (!ram_page_is_hole(b, gpa - b->rb->gpa) &&
            !ram_buffer_is_zero(host, GUEST_PAGE_SIZE)) {
            memset(host, 0, GUEST_PAGE_SIZE);
        }
        rs->load_zero++;
    } else {
        /* This page is data now: a cached hole extent may cover it. */
        b->extent = (RamExtent) { 0 };
        if (!qemu_get_buffer(f, host, GUEST_PAGE_SIZE)) {
            /* Truncated: the page (validated above) is now zero. */
            return ram_load_stream_ok(f, errp);
        }
    }
    set_bit(page, b->received);
    rs->load_pages++;
    return true;
}

static bool ram_load_state(QEMUFile *f, void *opaque, int version_id,
                           Error **errp)
{
    RamMigrationState *rs = opaque;

    if (!rs->load_blocks) {
        error_setg(errp, "ram: load without setup");
        return false;
    }
    for (;;) {
        uint64_t rec = qemu_get_be64(f);
        uint64_t flags = rec & RAM_REC_FLAG_MASK;
        uint64_t addr = rec & RAM_REC_ADDR_MASK;

        if (!ram_load_stream_ok(f, errp)) {
            return false;
        }
        if (flags & ~(RAM_REC_ZERO | RAM_REC_PAGE | RAM_REC_EOS |
                      RAM_REC_BLOCKS | RAM_REC_DISCARD)) {
            error_setg(errp, "ram: record 0x%016" PRIx64 " (page 0x%" PRIx64
                       ") has unknown flags 0x%016" PRIx64, rec, addr,
                       flags & ~(RAM_REC_ZERO | RAM_REC_PAGE | RAM_REC_EOS |
                                 RAM_REC_BLOCKS | RAM_REC_DISCARD));
            return false;
        }
        switch (flags) {
        case RAM_REC_ZERO:
        case RAM_REC_PAGE:
            if (!ram_load_page(rs, f, addr, flags == RAM_REC_ZERO, errp)) {
                return false;
            }
            break;
        case RAM_REC_DISCARD:
            if (addr) {
                error_setg(errp, "ram: record 0x%016" PRIx64 ": discard "
                           "record with an address", rec);
                return false;
            }
            if (!postcopy_load_discard(rs, f, errp)) {
                return false;
            }
            break;
        case RAM_REC_BLOCKS:
        case RAM_REC_EOS:
            if (addr) {
                error_setg(errp, "ram: record 0x%016" PRIx64 ": %s record "
                           "with an address", rec,
                           flags == RAM_REC_EOS ? "end-of-section" :
                           "block list");
                return false;
            }
            if (flags == RAM_REC_EOS) {
                if (!rs->have_block_list) {
                    error_setg(errp, "ram: section without a block list");
                    return false;
                }
                return true;
            }
            if (!ram_load_block_list(rs, f, errp)) {
                return false;
            }
            break;
        default:
            error_setg(errp, "ram: record 0x%016" PRIx64 " (page 0x%" PRIx64
                       ") has an invalid flag combination", rec, addr);
            return false;
        }
    }
}

/* ---- registration ---- */

static const SaveVMHandlers ram_handlers = {
    .save_setup = ram_save_setup,
    .save_iterate = ram_save_iterate,
    .save_complete = ram_save_complete,
    .save_pending = ram_save_pending,
    .save_cleanup = ram_save_cleanup,
    .load_setup = ram_load_setup,
    .load_state = ram_load_state,
    .load_cleanup = ram_load_cleanup,
};

bool ram_migration_register(SaveVMState *s, GuestMemory *mem, KvmState *kvm,
                            Error **errp)
{
    RamMigrationState *rs = g_new0(RamMigrationState, 1);

    rs->s = s;
    rs->mem = mem;
    rs->kvm = kvm;
    g_mutex_init(&rs->published_lock);
    g_mutex_init(&rs->pc_lock);
    g_mutex_init(&rs->preempt_lock);
    g_mutex_init(&rs->pre_lock);
    g_cond_init(&rs->pre_cond);
    g_mutex_init(&rs->urgent_lock);
    g_cond_init(&rs->urgent_cond);
    g_queue_init(&rs->urgent);
    if (!savevm_register_live(s, RAM_MIGRATION_IDSTR, 0,
                              RAM_MIGRATION_VERSION, &ram_handlers, rs,
                              errp)) {
        g_cond_clear(&rs->urgent_cond);
        g_mutex_clear(&rs->urgent_lock);
        g_mutex_clear(&rs->published_lock);
        g_mutex_clear(&rs->pc_lock);
        g_mutex_clear(&rs->preempt_lock);
        g_mutex_clear(&rs->pre_lock);
        g_cond_clear(&rs->pre_cond);
        g_free(rs);
        return false;
    }
    return true;
}

void ram_migration_unregister(SaveVMState *s)
{
    RamMigrationState *rs = ram_migration_state(s);

    if (!rs) {
        return;
    }
    ram_svm_log_release(rs);
    savevm_unregister(s, RAM_MIGRATION_IDSTR, 0);
    ram_save_cleanup(rs);
    postcopy_preempt_incoming_stop(rs);
    postcopy_load_reset(rs);
    ram_blocks_free(rs->load_blocks, rs->nr_load_blocks);
    postcopy_urgent_clear(rs);
    g_cond_clear(&rs->urgent_cond);
    g_mutex_clear(&rs->urgent_lock);
    g_mutex_clear(&rs->published_lock);
    g_mutex_clear(&rs->pc_lock);
    g_mutex_clear(&rs->preempt_lock);
    g_mutex_clear(&rs->pre_lock);
    g_cond_clear(&rs->pre_cond);
    g_free(rs->pc_bt_last.vcpu_us);
    g_free(rs);
}

void ram_svm_log_release(RamMigrationState *rs)
{
    if (rs->svm_logging && rs->kvm) {
        Error *err = NULL;

        if (!kvm_dirty_log_stop(rs->kvm, &err)) {
            trace_ram_save_log_stop_failed(error_get_pretty(err));
            error_free(err);
        }
    }
    rs->svm_logging = false;
    for (unsigned i = 0; rs->svm_dirty && rs->svm_dirty[i]; i++) {
        g_free(rs->svm_dirty[i]);
    }
    g_free(rs->svm_dirty);
    rs->svm_dirty = NULL;
}

/*
 * The state is the opaque of s's "ram" entry: s is the registry, as for
 * every other entry, and registration changes only at set-up and
 * tear-down (main loop), never while a save or load runs.
 */
RamMigrationState *ram_migration_state(SaveVMState *s)
{
    SaveVMEntry *se = savevm_find(s, RAM_MIGRATION_IDSTR, 0);

    return se && se->ops == &ram_handlers ? se->opaque : NULL;
}

static RamBlockMig *ram_find_load_block(SaveVMState *s,
                                        const RamBlock *block)
{
    RamMigrationState *rs = ram_migration_state(s);

    for (unsigned j = 0; rs && rs->load_blocks && j < rs->nr_load_blocks;
         j++) {
        if (rs->load_blocks[j].rb == block) {
            return &rs->load_blocks[j];
        }
    }
    return NULL;
}

const unsigned long *ram_migration_received_bitmap(SaveVMState *s,
                                                   const RamBlock *block)
{
    RamBlockMig *b = ram_find_load_block(s, block);

    return b ? b->received : NULL;
}

void ram_migration_received_reset(SaveVMState *s, const RamBlock *block)
{
    RamBlockMig *b = ram_find_load_block(s, block);

    if (b) {
        bitmap_zero(b->received, b->pages);
    }
}
