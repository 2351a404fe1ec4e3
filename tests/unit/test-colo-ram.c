/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the COLO RAM cache (migration/colo-ram-cache.c), without KVM:
 * a "PVM" and an "SVM" GuestMemory of the same layout; the cache is filled
 * from SVM RAM, then checkpoints are simulated (the PVM changes pages and
 * "sends" them into the cache, the SVM changes other and overlapping pages
 * and marks its dirty bitmap). Each commit must leave SVM RAM equal to PVM
 * RAM, copy exactly |received ∪ svm_dirty| pages, and write nothing else:
 * every other page of SVM RAM is mprotect'ed read-only during the commit,
 * so a stray write kills the test.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>
#include "migration/colo-ram-cache.h"
#include "util/bitmap.h"

#define NR_BLOCKS 2

static const struct {
    const char *name;
    uint64_t gpa;
    uint64_t pages;
} layout[NR_BLOCKS] = {
    { "pc.ram", 0, 256 },
    /* not a multiple of 64 pages: the last bitmap word is partial */
    { "pc.ram.high", 0x100000000ull, 200 },
};

typedef struct Fixture {
    GuestMemory pvm;
    GuestMemory svm;
    ColoRamCache *cache;
    unsigned long *svm_dirty[NR_BLOCKS];
    GRand *rand;
} Fixture;

static void fill_page(uint8_t *p, uint32_t seed)
{
    for (size_t i = 0; i < GUEST_PAGE_SIZE; i += 4) {
        uint32_t v = seed * 2654435761u + i;
        memcpy(p + i, &v, 4);
    }
}

static uint8_t *host_page(GuestMemory *mem, unsigned b, size_t page)
{
    return mem->blocks[b].host + (page << GUEST_PAGE_SHIFT);
}

static void fixture_init(Fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->rand = g_rand_new_with_seed(42);
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        g_assert_nonnull(guest_memory_add_ram(&fx->pvm, layout[b].name,
                                              layout[b].gpa,
                                              layout[b].pages * GUEST_PAGE_SIZE,
                                              &error_abort));
        g_assert_nonnull(guest_memory_add_ram(&fx->svm, layout[b].name,
                                              layout[b].gpa,
                                              layout[b].pages * GUEST_PAGE_SIZE,
                                              &error_abort));
        fx->svm_dirty[b] = bitmap_new(layout[b].pages);
        /* The initial migration: every third page has data, the rest is
         * left as holes; both sides end up equal. */
        for (size_t p = 0; p < layout[b].pages; p += 3) {
            fill_page(host_page(&fx->pvm, b, p), b * 1000 + p);
            fill_page(host_page(&fx->svm, b, p), b * 1000 + p);
        }
    }
    fx->cache = colo_ram_cache_new(&fx->svm, &error_abort);
    colo_ram_cache_fill_from_ram(fx->cache);
}

static void fixture_fini(Fixture *fx)
{
    colo_ram_cache_free(fx->cache);
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        g_free(fx->svm_dirty[b]);
    }
    guest_memory_free(&fx->pvm);
    guest_memory_free(&fx->svm);
    g_rand_free(fx->rand);
}

/* The PVM writes a page and the checkpoint carries it into the cache. */
static void pvm_write_and_send(Fixture *fx, unsigned b, size_t page,
                               uint32_t seed)
{
    uint8_t *dst = colo_ram_cache_page(fx->cache, b, page);

    fill_page(host_page(&fx->pvm, b, page), seed);
    g_assert_nonnull(dst);
    memcpy(dst, host_page(&fx->pvm, b, page), GUEST_PAGE_SIZE);
    colo_ram_cache_mark_received(fx->cache, b, page);
}

/* The SVM writes a page of its own RAM (KVM/device dirty log). */
static void svm_write(Fixture *fx, unsigned b, size_t page, uint32_t seed)
{
    fill_page(host_page(&fx->svm, b, page), seed ^ 0x5a5a5a5a);
    set_bit(page, fx->svm_dirty[b]);
}

static void assert_svm_equals_pvm(Fixture *fx)
{
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        for (size_t p = 0; p < layout[b].pages; p++) {
            if (memcmp(host_page(&fx->pvm, b, p), host_page(&fx->svm, b, p),
                       GUEST_PAGE_SIZE)) {
                g_error("block %u page %zu differs after commit", b, p);
            }
            g_assert_cmpint(memcmp(colo_ram_cache_page(fx->cache, b, p),
                                   host_page(&fx->pvm, b, p),
                                   GUEST_PAGE_SIZE), ==, 0);
        }
    }
}

static void protect_svm(Fixture *fx, unsigned b, size_t page, int prot)
{
    g_assert_cmpint(mprotect(host_page(&fx->svm, b, page), GUEST_PAGE_SIZE,
                             prot), ==, 0);
}

/*
 * Commits with every page outside received ∪ svm_dirty read-only, checks
 * the count and the result, and clears the SVM's dirty bitmaps (the caller
 * of commit owns them).
 */
static void commit_and_check(Fixture *fx)
{
    ColoRamCommitStats stats;
    uint64_t expect = 0;
    unsigned long *uni[NR_BLOCKS];

    /* mprotect works on host pages; x86-64 hosts have 4 KiB ones. */
    g_assert_cmpint(sysconf(_SC_PAGESIZE), ==, GUEST_PAGE_SIZE);
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        uni[b] = bitmap_new(layout[b].pages);
        bitmap_or(uni[b], colo_ram_cache_received(fx->cache, b),
                  layout[b].pages);
        bitmap_or(uni[b], fx->svm_dirty[b], layout[b].pages);
        expect += bitmap_count_one(uni[b], layout[b].pages);
        for (size_t p = 0; p < layout[b].pages; p++) {
            if (!test_bit(p, uni[b])) {
                protect_svm(fx, b, p, PROT_READ);
            }
        }
    }
    g_assert_true(colo_ram_cache_commit(fx->cache,
                                        (const unsigned long *const *)
                                        fx->svm_dirty,
                                        &stats, &error_abort));
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        for (size_t p = 0; p < layout[b].pages; p++) {
            if (!test_bit(p, uni[b])) {
                protect_svm(fx, b, p, PROT_READ | PROT_WRITE);
            }
        }
        g_free(uni[b]);
        bitmap_zero(fx->svm_dirty[b], layout[b].pages);
    }
    g_assert_cmpuint(stats.pages, ==, expect);
    g_assert_cmpuint(stats.bytes, ==, expect * GUEST_PAGE_SIZE);
    g_assert_cmpuint(colo_ram_cache_received_count(fx->cache), ==, 0);
    assert_svm_equals_pvm(fx);
}

static void test_fill(void)
{
    Fixture fx;

    fixture_init(&fx);
    g_assert_cmpuint(colo_ram_cache_nr_blocks(fx.cache), ==, NR_BLOCKS);
    for (unsigned b = 0; b < NR_BLOCKS; b++) {
        g_assert_cmpuint(colo_ram_cache_block_pages(fx.cache, b), ==,
                         layout[b].pages);
        g_assert_null(colo_ram_cache_page(fx.cache, b, layout[b].pages));
    }
    g_assert_null(colo_ram_cache_page(fx.cache, NR_BLOCKS, 0));
    assert_svm_equals_pvm(&fx);
    fixture_fini(&fx);
}

static void test_page_at(void)
{
    Fixture fx;
    unsigned b;
    size_t page;

    fixture_init(&fx);
    g_assert_true(colo_ram_cache_page_at(fx.cache, 0x100000000ull + 0x5123,
                                         &b, &page) ==
                  colo_ram_cache_page(fx.cache, 1, 5));
    g_assert_cmpuint(b, ==, 1);
    g_assert_cmpuint(page, ==, 5);
    g_assert_null(colo_ram_cache_page_at(fx.cache, 256 * GUEST_PAGE_SIZE,
                                         &b, &page));
    fixture_fini(&fx);
}

static void test_empty_commit(void)
{
    Fixture fx;
    ColoRamCommitStats stats;

    fixture_init(&fx);
    commit_and_check(&fx);      /* everything read-only: 0 pages */
    g_assert_true(colo_ram_cache_commit(fx.cache, NULL, &stats,
                                        &error_abort));
    g_assert_cmpuint(stats.pages, ==, 0);
    g_assert_cmpuint(stats.bytes, ==, 0);
    fixture_fini(&fx);
}

/* Disjoint, overlapping, and runs crossing and filling bitmap words. */
static void test_exact_sets(void)
{
    Fixture fx;

    fixture_init(&fx);
    pvm_write_and_send(&fx, 0, 1, 11);
    pvm_write_and_send(&fx, 0, 7, 12);
    svm_write(&fx, 0, 7, 13);           /* both sides: counted once */
    svm_write(&fx, 0, 9, 14);           /* SVM only: rolled back */
    for (size_t p = 60; p < 130; p++) { /* crosses two word boundaries */
        pvm_write_and_send(&fx, 0, p, 100 + p);
    }
    for (size_t p = 192; p < 256; p++) { /* a full last word */
        svm_write(&fx, 0, p, 200 + p);
    }
    svm_write(&fx, 1, 199, 15);         /* last page of a partial word */
    pvm_write_and_send(&fx, 1, 0, 16);
    commit_and_check(&fx);
    fixture_fini(&fx);
}

static void test_repeated_checkpoints(void)
{
    Fixture fx;

    fixture_init(&fx);
    for (int round = 0; round < 20; round++) {
        for (unsigned b = 0; b < NR_BLOCKS; b++) {
            int n = g_rand_int_range(fx.rand, 0, 40);

            for (int i = 0; i < n; i++) {
                size_t p = g_rand_int_range(fx.rand, 0, layout[b].pages);

                if (g_rand_boolean(fx.rand)) {
                    pvm_write_and_send(&fx, b, p, round * 7919 + i);
                } else {
                    svm_write(&fx, b, p, round * 104729 + i);
                }
            }
        }
        commit_and_check(&fx);
    }
    fixture_fini(&fx);
}

/* A commit against a different RAM layout fails and touches nothing. */
static void test_layout_changed(void)
{
    Fixture fx;
    Error *err = NULL;

    fixture_init(&fx);
    svm_write(&fx, 0, 3, 1);
    g_assert_nonnull(guest_memory_add_ram(&fx.svm, "extra", 0x200000000ull,
                                          GUEST_PAGE_SIZE, &error_abort));
    g_assert_false(colo_ram_cache_commit(fx.cache, NULL, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "COLO: RAM has 3 blocks, the cache 2");
    error_free(err);
    g_assert_cmpint(memcmp(host_page(&fx.svm, 0, 3),
                           colo_ram_cache_page(fx.cache, 0, 3),
                           GUEST_PAGE_SIZE), !=, 0);
    fixture_fini(&fx);
}

/* Commit walks words, not pages: a large, mostly clean RAM is cheap. */
static void test_sparse_commit_speed(void)
{
    GuestMemory mem = { 0 };
    ColoRamCache *cache;
    ColoRamCommitStats stats;
    const uint64_t pages = 256 * 1024;      /* 1 GiB, never touched */

    g_assert_nonnull(guest_memory_add_ram(&mem, "pc.ram", 0,
                                          pages * GUEST_PAGE_SIZE,
                                          &error_abort));
    cache = colo_ram_cache_new(&mem, &error_abort);
    colo_ram_cache_fill_from_ram(cache);    /* all holes: copies nothing */
    colo_ram_cache_mark_received(cache, 0, pages - 1);
    g_assert_true(colo_ram_cache_commit(cache, NULL, &stats, &error_abort));
    g_assert_cmpuint(stats.pages, ==, 1);
    g_test_message("1 dirty page of 1 GiB committed in %" G_GUINT64_FORMAT
                   " us", stats.time_us);
    g_assert_cmpuint(stats.time_us, <, 100000);
    colo_ram_cache_free(cache);
    guest_memory_free(&mem);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo-ram/fill", test_fill);
    g_test_add_func("/colo-ram/page-at", test_page_at);
    g_test_add_func("/colo-ram/empty-commit", test_empty_commit);
    g_test_add_func("/colo-ram/exact-sets", test_exact_sets);
    g_test_add_func("/colo-ram/repeated-checkpoints",
                    test_repeated_checkpoints);
    g_test_add_func("/colo-ram/layout-changed", test_layout_changed);
    g_test_add_func("/colo-ram/sparse-commit-speed", test_sparse_commit_speed);
    return g_test_run();
}
