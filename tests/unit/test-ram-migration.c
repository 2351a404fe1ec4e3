/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for RAM migration (migration/ram.c) through the savevm framing.
 *
 * A source and a destination GuestMemory live in one process, each with
 * its own SaveVMState holding a "ram" entry. Streams go through an
 * in-memory QEMUFile, or a pipe read by a loader thread. The cases:
 * a full copy with zero and data pages (and the statistics that count
 * them); pages dirtied by "device writes" between iterations being resent;
 * a real KVM guest writing pages on a thread while the source iterates,
 * then paused for completion (and a cancelled migration that leaves the
 * guest running); hostile streams (block list mismatches, pages outside
 * RAM, unaligned, unknown flags, truncated data) that fail with errors
 * naming the problem and leave untouched destination RAM unchanged; the
 * rate limit; and the pipe throughput (256 MiB with -m perf), also with
 * x-stream-checksum's trailers.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <glib.h>
#include "kvm-skip.h"
#include "unit-helpers.h"
#include "watchdog.h"
#include "accel/kvm.h"
#include "hw/i386/boot.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "system/memory.h"
#include "target/i386/cpu.h"
#include "util/bitmap.h"

#define PAGE            GUEST_PAGE_SIZE
#define LOW_SIZE        (8 * 1024 * 1024ULL)
#define HIGH_GPA        0x100000000ULL
#define HIGH_SIZE       (2 * 1024 * 1024ULL)
#define DST_FILL        0xee

typedef struct BlockSpec {
    const char *name;
    uint64_t gpa;
    uint64_t size;
} BlockSpec;

static const BlockSpec default_layout[] = {
    { "pc.ram", 0, LOW_SIZE },
    { "pc.ram.high", HIGH_GPA, HIGH_SIZE },
};

typedef struct Side {
    GuestMemory mem;
    SaveVMState *s;
} Side;

static void side_init_kvm(Side *side, const BlockSpec *spec, unsigned n,
                          KvmState *kvm)
{
    Error *err = NULL;

    memset(&side->mem, 0, sizeof(side->mem));
    side->s = savevm_state_new();
    for (unsigned i = 0; i < n; i++) {
        g_assert_nonnull(guest_memory_add_ram(&side->mem, spec[i].name,
                                              spec[i].gpa, spec[i].size,
                                              &err));
    }
    g_assert_true(ram_migration_register(side->s, &side->mem, kvm, &err));
    g_assert_null(err);
}

static void side_init(Side *side, const BlockSpec *spec, unsigned n)
{
    side_init_kvm(side, spec, n, NULL);
}

static void side_free(Side *side)
{
    ram_migration_unregister(side->s);
    savevm_state_free(side->s);
    guest_memory_free(&side->mem);
}

static void fill_all(GuestMemory *mem, int byte)
{
    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        memset(mem->blocks[i].host, byte, mem->blocks[i].size);
    }
}

/*
 * The source pattern, page by page: a third all zero (untouched), others
 * full of data, some zero except one byte at the end or in the middle (the
 * zero check must look at every byte). Returns the zero pages.
 */
static uint64_t fill_pattern(GuestMemory *mem, uint32_t seed)
{
    uint64_t zero = 0;

    for (unsigned b = 0; b < mem->nr_blocks; b++) {
        RamBlock *rb = &mem->blocks[b];

        for (uint64_t p = 0; p < rb->size / PAGE; p++) {
            uint8_t *host = rb->host + p * PAGE;
            uint32_t *w = (uint32_t *)host;

            memset(host, 0, PAGE);
            switch ((p + b) % 6) {
            case 0:
            case 3:
                zero++;
                break;
            case 1:
            case 4:
                for (unsigned i = 0; i < PAGE / 4; i++) {
                    w[i] = (seed + p * 2654435761u + i * 40503u) | 1;
                }
                break;
            case 2:
                host[PAGE - 1] = (uint8_t)(seed | 1);
                break;
            case 5:
                host[PAGE / 2 + 7] = 0x80;
                break;
            }
        }
    }
    return zero;
}

static uint64_t total_pages(GuestMemory *mem)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        n += mem->blocks[i].size / PAGE;
    }
    return n;
}

static void assert_mem_equal(GuestMemory *a, GuestMemory *b)
{
    g_assert_cmpuint(a->nr_blocks, ==, b->nr_blocks);
    for (unsigned i = 0; i < a->nr_blocks; i++) {
        RamBlock *x = &a->blocks[i], *y = &b->blocks[i];

        g_assert_cmpuint(x->size, ==, y->size);
        for (uint64_t off = 0; off < x->size; off += PAGE) {
            if (memcmp(x->host + off, y->host + off, PAGE)) {
                g_error("block '%s' page 0x%" G_GINT64_MODIFIER "x differs",
                        x->name, x->gpa + off);
            }
        }
    }
}

/* ---- driving the source ---- */

static int64_t fake_now_us;

static int64_t fake_clock(void)
{
    return fake_now_us;
}

static void source_setup(Side *src, QEMUFile *f)
{
    Error *err = NULL;

    savevm_state_header(f);
    g_assert_true(savevm_state_setup(src->s, f, &err));
    g_assert_null(err);
}

/* Iterates until done; returns the number of iterations. */
static unsigned source_iterate_all(Side *src, QEMUFile *f)
{
    Error *err = NULL;
    bool done = false;
    unsigned n = 0;

    while (!done) {
        g_assert_true(savevm_state_iterate(src->s, f, &done, &err));
        g_assert_null(err);
        g_assert_cmpuint(++n, <, 100000);
        fake_now_us += 100 * 1000;
    }
    return n;
}

static void source_complete(Side *src, QEMUFile *f)
{
    Error *err = NULL;

    g_assert_true(savevm_state_complete(src->s, f, &err));
    g_assert_null(err);
    savevm_state_cleanup(src->s);
    g_assert_cmpuint(savevm_state_pending(src->s), ==, 0);
}

static bool load_from(Side *dst, QEMUFile *out, Error **errp)
{
    size_t len;
    const uint8_t *data = qemu_file_mem_output_data(out, &len);
    g_autoptr(QEMUFile) in = qemu_file_new_mem_input(data, len, 0);

    return loadvm_state(dst->s, in, errp);
}

static void load_ok(Side *dst, QEMUFile *out)
{
    Error *err = NULL;

    if (!load_from(dst, out, &err)) {
        g_error("load: %s", error_get_pretty(err));
    }
}

/* ---- (a) a full copy ---- */

static void test_copy(void)
{
    Side src, dst;
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const RamMigrationStats *st;
    uint64_t zero, pages;

    side_init(&src, default_layout, G_N_ELEMENTS(default_layout));
    side_init(&dst, default_layout, G_N_ELEMENTS(default_layout));
    zero = fill_pattern(&src.mem, 7);
    pages = total_pages(&src.mem);
    fill_all(&dst.mem, DST_FILL);
    ram_migration_stats_reset(src.s);
    st = ram_migration_stats(src.s);

    source_setup(&src, f);
    g_assert_cmpuint(savevm_state_pending(src.s), ==, pages * PAGE);
    g_assert_cmpuint(st->total, ==, LOW_SIZE + HIGH_SIZE);
    g_assert_cmpuint(st->remaining, ==, pages * PAGE);
    /* One pass sends everything, the second harvest finds nothing. */
    g_assert_cmpuint(source_iterate_all(&src, f), ==, 2);
    source_complete(&src, f);
    load_ok(&dst, f);
    assert_mem_equal(&src.mem, &dst.mem);

    g_test_message("%" G_GUINT64_FORMAT " pages, %" G_GUINT64_FORMAT
                   " zero, %" G_GUINT64_FORMAT " bytes transferred",
                   pages, zero, st->transferred);
    g_assert_cmpuint(st->duplicate, ==, zero);
    g_assert_cmpuint(st->normal, ==, pages - zero);
    g_assert_cmpuint(st->normal_bytes, ==, (pages - zero) * PAGE);
    g_assert_cmpuint(st->remaining, ==, 0);
    g_assert_cmpuint(st->iterations, ==, 2);
    g_assert_cmpuint(st->dirty_sync_count, ==, 3);
    /* Headers are 8 bytes a page; chunk headers add a little. */
    g_assert_cmpuint(st->transferred, >=, (pages - zero) * PAGE + pages * 8);
    g_assert_cmpuint(st->transferred, <,
                     (pages - zero) * PAGE + pages * 8 + 64 * 1024);
    /* The statistics are the source entry's own: the destination's RAM
     * entry, in the same process, sent nothing. */
    g_assert_cmpuint(ram_migration_stats(dst.s)->transferred, ==, 0);
    g_assert_cmpuint(ram_migration_stats(dst.s)->total, ==, 0);
    /* Every page was received, and nothing else. */
    for (unsigned i = 0; i < dst.mem.nr_blocks; i++) {
        RamBlock *rb = &dst.mem.blocks[i];
        const unsigned long *rx = ram_migration_received_bitmap(dst.s, rb);

        g_assert_nonnull(rx);
        g_assert_cmpuint(bitmap_count_one(rx, rb->size / PAGE), ==,
                         rb->size / PAGE);
        ram_migration_received_reset(dst.s, rb);
        g_assert_true(bitmap_empty(rx, rb->size / PAGE));
    }
    /* Source blocks are not destinations. */
    g_assert_null(ram_migration_received_bitmap(src.s, &src.mem.blocks[0]));
    side_free(&src);
    side_free(&dst);
}

/* Zero detection at every offset and alignment. */
static void test_zero_detect(void)
{
    g_autofree uint8_t *buf = g_malloc0(2 * PAGE + 64);

    g_assert_true(ram_buffer_is_zero(buf, PAGE));
    g_assert_true(ram_buffer_is_zero(buf, 0));
    for (size_t start = 0; start < 24; start += 3) {
        for (size_t len = 0; len < 600; len += 37) {
            for (size_t pos = 0; pos < len; pos += 11) {
                buf[start + pos] = 1;
                g_assert_false(ram_buffer_is_zero(buf + start, len));
                buf[start + pos] = 0;
                g_assert_true(ram_buffer_is_zero(buf + start, len));
            }
            /* A byte just outside the range does not count. */
            buf[start + len] = 1;
            g_assert_true(ram_buffer_is_zero(buf + start, len));
            buf[start + len] = 0;
        }
    }
    for (size_t pos = 0; pos < PAGE; pos++) {
        buf[pos] = 0x40;
        g_assert_false(ram_buffer_is_zero(buf, PAGE));
        buf[pos] = 0;
    }
}

/* ---- (b) pages dirtied between iterations are resent ---- */

static void scribble(Side *src, uint64_t gpa, uint8_t v, bool zero)
{
    uint8_t *p = guest_memory_host_ptr(&src->mem, gpa, PAGE);

    g_assert_nonnull(p);
    if (zero) {
        memset(p, 0, PAGE);
    } else {
        memset(p + 100, v, 200);
        p[0] = v;
    }
    guest_memory_mark_dirty(&src->mem, gpa, PAGE);
}

static void test_dirty_resend(void)
{
    static const uint64_t gpas[] = {
        0x0, 0x5000, 0x6000, 0x200000, LOW_SIZE - PAGE, HIGH_GPA + 0x3000,
    };
    Side src, dst;
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const RamMigrationStats *st;
    Error *err = NULL;
    uint64_t zero, pages, sent_first;
    bool done;

    side_init(&src, default_layout, G_N_ELEMENTS(default_layout));
    side_init(&dst, default_layout, G_N_ELEMENTS(default_layout));
    zero = fill_pattern(&src.mem, 11);
    pages = total_pages(&src.mem);
    fill_all(&dst.mem, DST_FILL);
    ram_migration_stats_reset(src.s);
    st = ram_migration_stats(src.s);

    /* A rate limit so that the first pass is spread over iterations. */
    qemu_file_set_clock(f, fake_clock);
    qemu_file_set_rate_limit(f, 20 * 1024 * 1024);  /* 2 MiB / window */
    source_setup(&src, f);
    g_assert_true(savevm_state_iterate(src.s, f, &done, &err));
    g_assert_false(done);
    sent_first = st->normal + st->duplicate;
    g_assert_cmpuint(sent_first, <, pages);

    /* Device writes: in the part already sent and in the part not yet. */
    for (size_t i = 0; i < G_N_ELEMENTS(gpas); i++) {
        scribble(&src, gpas[i], 0x30 + i, false);
    }
    /* A data page that becomes zero is sent as a zero page. */
    scribble(&src, 0x1000, 0, true);
    fake_now_us += 100 * 1000;
    source_iterate_all(&src, f);
    g_test_message("first iteration %" G_GUINT64_FORMAT " pages, %"
                   G_GUINT64_FORMAT " in all", sent_first,
                   st->normal + st->duplicate);
    /* The pages already sent went out twice. */
    g_assert_cmpuint(st->normal + st->duplicate, >, pages);
    g_assert_cmpuint(st->iterations, >=, 2);

    /* And after done: written again, picked up by the final pass. */
    scribble(&src, 0x5000, 0x77, false);
    scribble(&src, HIGH_GPA + HIGH_SIZE - PAGE, 0x78, false);
    source_complete(&src, f);
    load_ok(&dst, f);
    assert_mem_equal(&src.mem, &dst.mem);
    g_assert_cmpuint(st->duplicate, >=, zero);
    side_free(&src);
    side_free(&dst);
}

/* ---- (e) rate limit ---- */

static void test_rate_limit(void)
{
    Side src, dst;
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const RamMigrationStats *st;
    Error *err = NULL;
    uint64_t pages, before, limit = 4 * 1024 * 1024;   /* 400 KiB/window */
    unsigned iters;
    bool done;

    side_init(&src, default_layout, G_N_ELEMENTS(default_layout));
    side_init(&dst, default_layout, G_N_ELEMENTS(default_layout));
    fill_pattern(&src.mem, 3);
    pages = total_pages(&src.mem);
    ram_migration_stats_reset(src.s);
    st = ram_migration_stats(src.s);
    qemu_file_set_clock(f, fake_clock);
    qemu_file_set_rate_limit(f, limit);
    source_setup(&src, f);

    before = qemu_file_transferred(f);
    g_assert_true(savevm_state_iterate(src.s, f, &done, &err));
    g_assert_false(done);
    g_assert_cmpuint(st->normal + st->duplicate, <, pages);
    g_assert_cmpuint(st->normal + st->duplicate, >, 0);
    /* At most one page over the window's budget (plus framing). */
    g_assert_cmpuint(qemu_file_transferred(f) - before, <=,
                     limit / 10 + PAGE + 64);
    g_assert_cmpuint(savevm_state_pending(src.s), ==,
                     (pages - st->normal - st->duplicate) * PAGE);

    /* Within the same window nothing more is sent. */
    before = st->normal + st->duplicate;
    g_assert_true(savevm_state_iterate(src.s, f, &done, &err));
    g_assert_false(done);
    g_assert_cmpuint(st->normal + st->duplicate, ==, before);

    fake_now_us += 100 * 1000;
    iters = source_iterate_all(&src, f);
    g_test_message("%u more iterations", iters);
    g_assert_cmpuint(iters, >, 5);
    source_complete(&src, f);
    g_assert_cmpuint(st->normal + st->duplicate, ==, pages);
    load_ok(&dst, f);
    assert_mem_equal(&src.mem, &dst.mem);
    side_free(&src);
    side_free(&dst);
}

/* ---- (d) hostile streams ---- */

static void put_section(QEMUFile *f, uint8_t type)
{
    qemu_put_byte(f, type);
    qemu_put_be32(f, 0);
    if (type == SAVEVM_REC_START) {
        qemu_put_counted_string(f, "ram");
        qemu_put_be32(f, 0);
        qemu_put_be32(f, 1);
    }
    qemu_file_frame_begin(f);
}

static void put_section_end(QEMUFile *f)
{
    qemu_file_frame_end(f);
    qemu_put_byte(f, SAVEVM_REC_FOOTER);
    qemu_put_be32(f, 0);
}

static void put_block_list(QEMUFile *f, const BlockSpec *spec, unsigned n)
{
    qemu_put_be64(f, RAM_REC_BLOCKS);
    qemu_put_be32(f, n);
    for (unsigned i = 0; i < n; i++) {
        qemu_put_counted_string(f, spec[i].name);
        qemu_put_be64(f, spec[i].gpa);
        qemu_put_be64(f, spec[i].size);
    }
}

/* A stream: a good START, then a PART made by fn, then END and EOF. */
typedef void (*PartFn)(QEMUFile *f);

static QEMUFile *hostile_stream(PartFn part)
{
    QEMUFile *f = qemu_file_new_mem_output();
    static uint8_t page[PAGE];

    memset(page, 0x3c, sizeof(page));
    savevm_state_header(f);
    put_section(f, SAVEVM_REC_START);
    put_block_list(f, default_layout, G_N_ELEMENTS(default_layout));
    qemu_put_be64(f, RAM_REC_EOS);
    put_section_end(f);
    put_section(f, SAVEVM_REC_PART);
    /* A valid page first: the one page a failed load may have touched. */
    qemu_put_be64(f, 0x7000 | RAM_REC_PAGE);
    qemu_put_buffer(f, page, PAGE);
    part(f);
    put_section_end(f);
    put_section(f, SAVEVM_REC_END);
    qemu_put_be64(f, RAM_REC_EOS);
    put_section_end(f);
    qemu_put_byte(f, SAVEVM_REC_EOF);
    return f;
}

static void part_outside(QEMUFile *f)
{
    qemu_put_be64(f, 0x12345000 | RAM_REC_ZERO);
    qemu_put_be64(f, RAM_REC_EOS);
}

static void part_outside_page(QEMUFile *f)
{
    uint8_t page[PAGE] = { 1 };

    /* Just past the end of the low block, with data. */
    qemu_put_be64(f, LOW_SIZE | RAM_REC_PAGE);
    qemu_put_buffer(f, page, PAGE);
    qemu_put_be64(f, RAM_REC_EOS);
}

static void part_unaligned(QEMUFile *f)
{
    qemu_put_be64(f, 0x3010 | RAM_REC_PAGE);
    qemu_put_be64(f, RAM_REC_EOS);
}

static void part_unknown_flags(QEMUFile *f)
{
    qemu_put_be64(f, 0x3000 | (UINT64_C(1) << 60) | RAM_REC_PAGE);
    qemu_put_be64(f, RAM_REC_EOS);
}

static void part_both_kinds(QEMUFile *f)
{
    qemu_put_be64(f, 0x3000 | RAM_REC_PAGE | RAM_REC_ZERO);
    qemu_put_be64(f, RAM_REC_EOS);
}

static void part_truncated(QEMUFile *f)
{
    uint8_t data[100];

    memset(data, 0x5a, sizeof(data));
    qemu_put_be64(f, 0x3000 | RAM_REC_PAGE);
    qemu_put_buffer(f, data, sizeof(data));
}

static void part_no_eos(QEMUFile *f)
{
    qemu_put_be64(f, 0x4000 | RAM_REC_ZERO);
}

static void part_second_block_list(QEMUFile *f)
{
    put_block_list(f, default_layout, G_N_ELEMENTS(default_layout));
    qemu_put_be64(f, RAM_REC_EOS);
}

static void part_eos_with_address(QEMUFile *f)
{
    qemu_put_be64(f, 0x3000 | RAM_REC_EOS);
}

/* Every page except the listed ones still holds DST_FILL. */
static void assert_untouched_except(GuestMemory *mem, const uint64_t *gpas,
                                    unsigned n)
{
    static uint8_t fill[PAGE];

    memset(fill, DST_FILL, sizeof(fill));
    for (unsigned b = 0; b < mem->nr_blocks; b++) {
        RamBlock *rb = &mem->blocks[b];

        for (uint64_t off = 0; off < rb->size; off += PAGE) {
            bool skip = false;

            for (unsigned i = 0; i < n; i++) {
                skip |= gpas[i] == rb->gpa + off;
            }
            if (!skip && memcmp(rb->host + off, fill, PAGE)) {
                g_error("page 0x%" G_GINT64_MODIFIER "x was modified",
                        rb->gpa + off);
            }
        }
    }
}

static void expect_load_error(Side *dst, QEMUFile *f, const char *want)
{
    Error *err = NULL;

    g_assert_false(load_from(dst, f, &err));
    g_assert_nonnull(err);
    g_test_message("error: %s", error_get_pretty(err));
    if (!strstr(error_get_pretty(err), want)) {
        g_error("error '%s' does not mention '%s'", error_get_pretty(err),
                want);
    }
    error_free(err);
}

static void test_hostile_records(void)
{
    static const struct {
        PartFn fn;
        const char *error;
        uint64_t touched;   /* besides 0x7000 */
    } cases[] = {
        { part_outside, "ram: page 0x12345000 is outside guest RAM", 0x7000 },
        { part_outside_page, "ram: page 0x800000 is outside guest RAM",
          0x7000 },
        { part_unaligned, "ram: page 0x3010 is not page aligned", 0x7000 },
        { part_unknown_flags, "has unknown flags 0x1000000000000000",
          0x7000 },
        { part_both_kinds, "invalid flag combination", 0x7000 },
        { part_truncated, "truncated stream", 0x3000 },
        { part_no_eos, "truncated stream", 0x4000 },
        { part_second_block_list, "ram: block list sent twice", 0x7000 },
        { part_eos_with_address, "end-of-section record with an address",
          0x7000 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Side dst;
        g_autoptr(QEMUFile) f = hostile_stream(cases[i].fn);
        uint64_t touched[2] = { 0x7000, cases[i].touched };
        const unsigned long *rx;

        side_init(&dst, default_layout, G_N_ELEMENTS(default_layout));
        fill_all(&dst.mem, DST_FILL);
        expect_load_error(&dst, f, cases[i].error);
        assert_untouched_except(&dst.mem, touched, 2);
        /* The valid page did land, and is the only one received. */
        g_assert_cmpuint(dst.mem.blocks[0].host[0x7000], ==, 0x3c);
        rx = ram_migration_received_bitmap(dst.s, &dst.mem.blocks[0]);
        g_assert_true(test_bit(7, rx));
        g_assert_cmpuint(bitmap_count_one(rx, LOW_SIZE / PAGE), ==,
                         1 + (cases[i].touched == 0x4000));
        side_free(&dst);
    }
}

/*
 * The destination skips zero records for pages that are still memfd
 * holes, caching the hole's extent. A data page landing inside that
 * extent must end the cache: ZERO 0x8000 (caches a hole covering
 * 0x9000), PAGE 0x9000, ZERO 0x9000 must leave 0x9000 zero.
 */
static void part_zero_data_zero(QEMUFile *f)
{
    static uint8_t page[PAGE];

    memset(page, 0x5a, sizeof(page));
    qemu_put_be64(f, 0x8000 | RAM_REC_ZERO);
    qemu_put_be64(f, 0x9000 | RAM_REC_PAGE);
    qemu_put_buffer(f, page, PAGE);
    qemu_put_be64(f, 0x9000 | RAM_REC_ZERO);
    qemu_put_be64(f, RAM_REC_EOS);
}

static void test_zero_after_data_in_hole(void)
{
    Side dst;
    g_autoptr(QEMUFile) f = hostile_stream(part_zero_data_zero);
    static const uint8_t zero[PAGE];

    /* Fresh destination memory: every page is a hole of its memfd. */
    side_init(&dst, default_layout, G_N_ELEMENTS(default_layout));
    load_ok(&dst, f);
    g_assert_cmpuint(dst.mem.blocks[0].host[0x7000], ==, 0x3c);
    g_assert_cmpmem(dst.mem.blocks[0].host + 0x9000, PAGE, zero, PAGE);
    g_assert_cmpmem(dst.mem.blocks[0].host + 0x8000, PAGE, zero, PAGE);
    side_free(&dst);
}

/* A page before any block list; a START without a block list. */
static void test_hostile_order(void)
{
    Side dst;
    g_autoptr(QEMUFile) f1 = qemu_file_new_mem_output();
    g_autoptr(QEMUFile) f2 = qemu_file_new_mem_output();

    side_init(&dst, default_layout, G_N_ELEMENTS(default_layout));
    fill_all(&dst.mem, DST_FILL);

    savevm_state_header(f1);
    put_section(f1, SAVEVM_REC_START);
    qemu_put_be64(f1, 0x2000 | RAM_REC_ZERO);
    qemu_put_be64(f1, RAM_REC_EOS);
    put_section_end(f1);
    expect_load_error(&dst, f1, "ram: page 0x2000 before the block list");

    savevm_state_header(f2);
    put_section(f2, SAVEVM_REC_START);
    qemu_put_be64(f2, RAM_REC_EOS);
    put_section_end(f2);
    expect_load_error(&dst, f2, "ram: section without a block list");

    assert_untouched_except(&dst.mem, NULL, 0);
    side_free(&dst);
}

/* Real source streams into destinations with another layout. */
static void test_block_mismatch(void)
{
    static const BlockSpec bigger[] = {
        { "pc.ram", 0, 2 * LOW_SIZE },
        { "pc.ram.high", HIGH_GPA, HIGH_SIZE },
    };
    static const BlockSpec renamed[] = {
        { "pc.ram", 0, LOW_SIZE },
        { "pc.ram.hi", HIGH_GPA, HIGH_SIZE },
    };
    static const BlockSpec moved[] = {
        { "pc.ram", 0, LOW_SIZE },
        { "pc.ram.high", 2 * HIGH_GPA, HIGH_SIZE },
    };
    static const BlockSpec extra[] = {
        { "pc.ram", 0, LOW_SIZE },
        { "pc.ram.high", HIGH_GPA, HIGH_SIZE },
        { "pc.ram.more", 2 * HIGH_GPA, HIGH_SIZE },
    };
    static const struct {
        const BlockSpec *spec;
        unsigned n;
        const char *error;
    } cases[] = {
        { bigger, 2, "ram: block 'pc.ram' is 16 MiB here but 8 MiB in the "
                     "stream" },
        { renamed, 2, "ram: block 1 is 'pc.ram.hi' here but 'pc.ram.high' "
                      "in the stream" },
        { moved, 2, "ram: block 'pc.ram.high' is at 0x200000000 here but at "
                    "0x100000000 in the stream" },
        { extra, 3, "ram: block 'pc.ram.more' exists here but not in the "
                    "stream" },
        { default_layout, 1, "ram: block 'pc.ram.high' in the stream does "
                             "not exist here" },
    };
    Side src;
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();

    side_init(&src, default_layout, G_N_ELEMENTS(default_layout));
    fill_pattern(&src.mem, 5);
    source_setup(&src, f);
    source_iterate_all(&src, f);
    source_complete(&src, f);

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        Side dst;

        side_init(&dst, cases[i].spec, cases[i].n);
        fill_all(&dst.mem, DST_FILL);
        expect_load_error(&dst, f, cases[i].error);
        assert_untouched_except(&dst.mem, NULL, 0);
        side_free(&dst);
    }
    side_free(&src);
}

/* Every truncation of a real stream fails cleanly. */
static void test_truncations(void)
{
    static const BlockSpec small[] = {
        { "pc.ram", 0, 16 * PAGE },
        { "pc.ram.high", HIGH_GPA, 8 * PAGE },
    };
    Side src, dst;
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const uint8_t *data;
    unsigned successes = 0;
    size_t len;

    side_init(&src, small, G_N_ELEMENTS(small));
    side_init(&dst, small, G_N_ELEMENTS(small));
    fill_pattern(&src.mem, 9);
    source_setup(&src, f);
    source_iterate_all(&src, f);
    source_complete(&src, f);
    data = qemu_file_mem_output_data(f, &len);
    for (size_t cut = 0; cut < len; cut++) {
        g_autoptr(QEMUFile) in = qemu_file_new_mem_input(data, cut, 0);
        Error *err = NULL;

        if (loadvm_state(dst.s, in, &err)) {
            /* The description after EOF is optional to the loader. */
            g_assert_cmpuint(cut, >, 0);
            g_assert_cmpuint(data[cut - 1], ==, SAVEVM_REC_EOF);
            g_assert_cmpuint(data[cut], ==, SAVEVM_REC_DESCRIPTION);
            successes++;
            continue;
        }
        g_assert_nonnull(err);
        error_free(err);
    }
    g_assert_cmpuint(successes, ==, 1);
    side_free(&src);
    side_free(&dst);
}

/* ---- (c) a running KVM guest ---- */

#define KVM_RAM_SIZE    (32 * 1024 * 1024ULL)
#define TABLE_MAX       TEST_GUEST_TABLE_MAX

/* The writer guest of unit-helpers.c (as in test-kvm-dirty.c): stores a
 * value to each listed address, then OUT TEST_GUEST_PORT and starts over. */
typedef struct KvmGuest {
    KvmState kvm;
    Side src;
    KvmVcpu vcpu;
    GThread *thread;
    int stop;
    unsigned rounds;
} KvmGuest;

/*
 * One round: a new table (a device write through guest_memory_write, so
 * it is marked dirty), then KVM_RUN until the guest's OUT.
 */
static void kvm_guest_round(KvmGuest *g)
{
    uint32_t table[3 + TABLE_MAX];
    unsigned r = g->rounds;
    Error *err = NULL;

    table[0] = TABLE_MAX;
    table[1] = 0x5eed0000u | r;
    table[2] = 1;
    for (unsigned i = 0; i < TABLE_MAX; i++) {
        /* Pages 8.. of RAM, a different stride every round. */
        uint64_t page = 8 + (i * (1 + r % 7) + r) % (KVM_RAM_SIZE / PAGE - 8);

        table[3 + i] = page * PAGE + (r % 1000) * 4;
    }
    if (!guest_memory_write(&g->src.mem, TEST_GUEST_TABLE_GPA, table,
                            sizeof(table), &err)) {
        g_error("table: %s", error_get_pretty(err));
    }
    test_vm_run_until_port(&g->vcpu, NULL);
    __atomic_store_n(&g->rounds, r + 1, __ATOMIC_RELEASE);
}

static gpointer kvm_guest_thread(gpointer opaque)
{
    KvmGuest *g = opaque;

    while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
        kvm_guest_round(g);
    }
    return NULL;
}

static void kvm_guest_init(KvmGuest *g)
{
    static const BlockSpec layout[] = { { "pc.ram", 0, KVM_RAM_SIZE } };

    memset(g, 0, sizeof(*g));
    test_vm_kvm_init(&g->kvm, 0);
    side_init_kvm(&g->src, layout, 1, &g->kvm);
    fill_pattern(&g->src.mem, 13);
    test_vm_load(&g->kvm, &g->src.mem, &test_guest_writer);
    test_vm_vcpu_create(&g->kvm, &g->vcpu);
}

static void kvm_guest_start(KvmGuest *g)
{
    g->stop = 0;
    g->thread = g_thread_new("vcpu", kvm_guest_thread, g);
}

static void kvm_guest_wait_rounds(KvmGuest *g, unsigned n)
{
    unsigned target = __atomic_load_n(&g->rounds, __ATOMIC_ACQUIRE) + n;

    while (__atomic_load_n(&g->rounds, __ATOMIC_ACQUIRE) < target) {
        g_usleep(200);
    }
}

/* "Pause": the vCPU finishes its round and its thread exits. */
static void kvm_guest_pause(KvmGuest *g)
{
    __atomic_store_n(&g->stop, 1, __ATOMIC_RELEASE);
    g_thread_join(g->thread);
    g->thread = NULL;
}

static void kvm_guest_free(KvmGuest *g)
{
    ram_migration_unregister(g->src.s);
    kvm_vcpu_destroy(&g->vcpu);
    kvm_destroy(&g->kvm);
    side_free(&g->src);
}

static void test_kvm_live(void)
{
    static const BlockSpec layout[] = { { "pc.ram", 0, KVM_RAM_SIZE } };
    KvmGuest g;
    Side dst;
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const RamMigrationStats *st;
    Error *err = NULL;
    unsigned rounds_before;
    bool done;

    kvm_guest_init(&g);
    side_init(&dst, layout, 1);
    fill_all(&dst.mem, DST_FILL);
    ram_migration_stats_reset(g.src.s);
    st = ram_migration_stats(g.src.s);
    kvm_guest_start(&g);
    kvm_guest_wait_rounds(&g, 2);

    source_setup(&g.src, f);
    g_assert_true(g.kvm.dirty_logging);
    /* Iterate while the guest writes; each pass sees new rounds. */
    for (unsigned i = 0; i < 6; i++) {
        kvm_guest_wait_rounds(&g, 2);
        g_assert_true(savevm_state_iterate(g.src.s, f, &done, &err));
        g_assert_null(err);
    }
    rounds_before = g.rounds;
    kvm_guest_wait_rounds(&g, 2);
    kvm_guest_pause(&g);
    g_test_message("guest ran %u rounds during migration (%u before the "
                   "last iteration); %" G_GUINT64_FORMAT " pages sent, %"
                   G_GUINT64_FORMAT " RAM pages, dirty rate %"
                   G_GUINT64_FORMAT " pages/s", g.rounds, rounds_before,
                   st->normal + st->duplicate, (uint64_t)(KVM_RAM_SIZE / PAGE),
                   st->dirty_pages_rate);
    /* Logging outlives completion: turning it off is not downtime. */
    g_assert_true(savevm_state_complete(g.src.s, f, &error_abort));
    g_assert_true(g.kvm.dirty_logging);
    savevm_state_cleanup(g.src.s);
    g_assert_false(g.kvm.dirty_logging);
    load_ok(&dst, f);
    assert_mem_equal(&g.src.mem, &dst.mem);
    /* Guest writes were resent: more pages than RAM holds. */
    g_assert_cmpuint(st->normal + st->duplicate, >, KVM_RAM_SIZE / PAGE);
    g_assert_cmpuint(st->dirty_sync_count, ==, 7);
    g_assert_cmpuint(st->iterations, ==, 6);

    kvm_guest_free(&g);
    side_free(&dst);
}

/* A cancelled migration stops logging and leaves the guest running. */
static void test_kvm_cancel(void)
{
    KvmGuest g;
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    Error *err = NULL;
    unsigned last;
    bool done;

    kvm_guest_init(&g);
    kvm_guest_start(&g);
    kvm_guest_wait_rounds(&g, 1);
    source_setup(&g.src, f);
    g_assert_true(g.kvm.dirty_logging);
    g_assert_true(savevm_state_iterate(g.src.s, f, &done, &err));
    kvm_guest_wait_rounds(&g, 1);
    /* Cancel: the channel goes away, then cleanup. */
    qemu_file_shutdown(f);
    g_assert_true(savevm_state_iterate(g.src.s, f, &done, &err) || err);
    error_free(err);
    savevm_state_cleanup(g.src.s);
    g_assert_false(g.kvm.dirty_logging);
    g_assert_cmpuint(savevm_state_pending(g.src.s), ==, 0);
    /* The guest goes on writing. */
    kvm_guest_wait_rounds(&g, 3);
    kvm_guest_pause(&g);
    /* (Round r writes page 8 + r first, at offset (r % 1000) * 4.) */
    last = g.rounds - 1;
    g_assert_cmphex(*(uint32_t *)(g.src.mem.blocks[0].host +
                                  (8 + last) * PAGE + (last % 1000) * 4),
                    ==, 0x5eed0000u | last);
    /* Cleanup twice is harmless. */
    savevm_state_cleanup(g.src.s);
    kvm_guest_free(&g);
}

/* ---- a pipe and a loader thread; throughput ---- */

typedef struct Loader {
    Side *dst;
    int fd;
    bool ok;
    Error *err;
} Loader;

static gpointer loader_thread(gpointer opaque)
{
    Loader *l = opaque;
    g_autoptr(QEMUFile) in = qemu_file_new_fd_input(l->fd, true);

    l->ok = loadvm_state(l->dst->s, in, &l->err);
    return NULL;
}

/* checksums: x-stream-checksum's trailers on (pages copied to be
 * checksummed; the loader follows the announcement). */
static void pipe_migration(bool checksums)
{
    uint64_t size = g_test_perf() ? 256 * 1024 * 1024ULL
                                  : 32 * 1024 * 1024ULL;
    const BlockSpec layout[] = { { "pc.ram", 0, size } };
    Side src, dst;
    Loader l = { .dst = &dst };
    const RamMigrationStats *st;
    int fds[2];
    GThread *t;
    QEMUFile *f;
    gint64 t0, t1;
    double secs;

    side_init(&src, layout, 1);
    side_init(&dst, layout, 1);
    /* All data pages: the worst case for throughput. */
    for (uint64_t off = 0; off < size; off += PAGE) {
        memset(src.mem.blocks[0].host + off, (int)(off >> 12) | 1, PAGE);
    }
    /* Fault the destination in now: the first touch of a memfd page is
     * the kernel's cost, not the stream's. */
    fill_all(&dst.mem, DST_FILL);
    g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
    fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
    l.fd = fds[0];
    f = qemu_file_new_fd_output(fds[1], true);
    qemu_file_set_checksums(f, checksums);
    ram_migration_stats_reset(src.s);
    st = ram_migration_stats(src.s);

    t0 = g_get_monotonic_time();
    t = g_thread_new("loader", loader_thread, &l);
    source_setup(&src, f);
    source_iterate_all(&src, f);
    source_complete(&src, f);
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    g_thread_join(t);
    t1 = g_get_monotonic_time();
    if (!l.ok) {
        g_error("load: %s", error_get_pretty(l.err));
    }
    secs = (t1 - t0) / 1e6;
    g_test_message("%" G_GUINT64_FORMAT " MiB over a pipe in %.3f s: "
                   "%.0f MB/s (%" G_GUINT64_FORMAT " bytes transferred)%s",
                   size >> 20, secs, size / secs / 1e6, st->transferred,
                   checksums ? ", with checksums" : "");
    g_assert_cmpuint(st->normal, ==, size / PAGE);
    assert_mem_equal(&src.mem, &dst.mem);
    side_free(&src);
    side_free(&dst);
}

static void test_pipe(void)
{
    pipe_migration(false);
}

static void test_pipe_checksum(void)
{
    pipe_migration(true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* A hang (KVM_RUN, a pipe) ends the program instead of blocking. */
    test_watchdog_arm(g_get_prgname(), 300);
    g_test_add_func("/ram-migration/zero-detect", test_zero_detect);
    g_test_add_func("/ram-migration/copy", test_copy);
    g_test_add_func("/ram-migration/dirty-resend", test_dirty_resend);
    g_test_add_func("/ram-migration/rate-limit", test_rate_limit);
    g_test_add_func("/ram-migration/hostile/records", test_hostile_records);
    g_test_add_func("/ram-migration/hostile/order", test_hostile_order);
    g_test_add_func("/ram-migration/zero-after-data-in-hole",
                    test_zero_after_data_in_hole);
    g_test_add_func("/ram-migration/hostile/block-mismatch",
                    test_block_mismatch);
    g_test_add_func("/ram-migration/hostile/truncations", test_truncations);
    g_test_add_func("/ram-migration/pipe", test_pipe);
    g_test_add_func("/ram-migration/pipe-checksum", test_pipe_checksum);
    test_add_kvm_func("/ram-migration/kvm/live", test_kvm_live);
    test_add_kvm_func("/ram-migration/kvm/cancel", test_kvm_cancel);
    return g_test_run();
}
