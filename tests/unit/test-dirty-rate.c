/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * calc-dirty-rate's page sample (migration/dirty-rate.c) on RAM built
 * in-process: how many pages each block gets, that an unchanged RAM
 * reads 0, and that a block whose every page changed counts whole while
 * the others count nothing. And the MB/s arithmetic.
 */
#include <string.h>
#include <glib.h>
#include "migration/dirty-rate.h"

#define MIB (1ULL << 20)

static void ram_setup(GuestMemory *mem)
{
    memset(mem, 0, sizeof(*mem));
    g_assert_nonnull(guest_memory_add_ram(mem, "big", 0, 64 * MIB,
                                          &error_abort));
    g_assert_nonnull(guest_memory_add_ram(mem, "small", 4096 * MIB,
                                          4 * MIB, &error_abort));
    g_assert_nonnull(guest_memory_add_ram(mem, "tiny", 8192 * MIB,
                                          GUEST_PAGE_SIZE, &error_abort));
}

/* 512 a GiB: 64 MiB -> 32 pages, 4 MiB -> 2, one page -> 1 (never 0). */
static void test_sample_size(void)
{
    GuestMemory mem;
    DirtyRateSample *sample;

    ram_setup(&mem);
    sample = dirty_rate_sample_take(&mem, 512, 1);
    g_assert_cmpuint(dirty_rate_sample_pages(sample), ==, 32 + 2 + 1);
    dirty_rate_sample_free(sample);
    sample = dirty_rate_sample_take(&mem, 16384, 1);
    g_assert_cmpuint(dirty_rate_sample_pages(sample), ==, 1024 + 64 + 1);
    dirty_rate_sample_free(sample);
    guest_memory_free(&mem);
}

static void test_changed_bytes(void)
{
    GuestMemory mem;
    DirtyRateSample *sample;

    ram_setup(&mem);
    sample = dirty_rate_sample_take(&mem, 512, 7);
    g_assert_cmpuint(dirty_rate_sample_changed_bytes(sample, &mem), ==, 0);

    /* Every page of "small" rewritten: the whole block, nothing else. */
    g_assert_true(guest_memory_fill(&mem, 4096 * MIB, 0xa5, 4 * MIB,
                                    &error_abort));
    g_assert_cmpuint(dirty_rate_sample_changed_bytes(sample, &mem), ==,
                     4 * MIB);
    /* Then "big" too, and one byte of "tiny": all of RAM. */
    g_assert_true(guest_memory_fill(&mem, 0, 0x11, 64 * MIB, &error_abort));
    g_assert_true(guest_memory_fill(&mem, 8192 * MIB + 100, 1, 1,
                                    &error_abort));
    g_assert_cmpuint(dirty_rate_sample_changed_bytes(sample, &mem), ==,
                     68 * MIB + GUEST_PAGE_SIZE);
    dirty_rate_sample_free(sample);
    guest_memory_free(&mem);
}

static void test_mbps(void)
{
    g_assert_cmpint(dirty_rate_mbps(64 * MIB, 2 * G_USEC_PER_SEC), ==, 32);
    /* Truncated, as QEMU's: just under 1 MB/s is 0. */
    g_assert_cmpint(dirty_rate_mbps(MIB, G_USEC_PER_SEC + 1), ==, 0);
    g_assert_cmpint(dirty_rate_mbps(MIB, 0), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dirty-rate/sample-size", test_sample_size);
    g_test_add_func("/dirty-rate/changed-bytes", test_changed_bytes);
    g_test_add_func("/dirty-rate/mbps", test_mbps);
    return g_test_run();
}
