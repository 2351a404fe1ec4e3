/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/bitmap.c. Each word-wise operation is checked against
 * a bit-at-a-time reference around the word boundaries (63/64/65, 127/128)
 * where masking mistakes show up, plus the degenerate 0- and 1-bit maps.
 */
#include <glib.h>
#include "util/bitmap.h"

/* Sizes that straddle word boundaries; 0 checks the empty-map paths. */
static const size_t bitmap_test_sizes[] = { 0, 1, 63, 64, 65, 127, 128, 129, 200 };

static void test_bitmap_new_zero_fill(void)
{
    for (size_t s = 0; s < G_N_ELEMENTS(bitmap_test_sizes); s++) {
        size_t n = bitmap_test_sizes[s];
        /* One spare word so an overrun by fill would be visible. */
        unsigned long *map = g_new0(unsigned long, BITS_TO_LONGS(n) + 1);

        g_assert_true(bitmap_empty(map, n));
        g_assert_cmpuint(bitmap_count_one(map, n), ==, 0);
        bitmap_fill(map, n);
        g_assert_cmpuint(bitmap_count_one(map, n), ==, n);
        g_assert_cmpuint(map[BITS_TO_LONGS(n)], ==, 0);
        /* fill must leave the tail of the last word clear. */
        if (n % BITS_PER_LONG) {
            g_assert_false(test_bit(n, map));
        }
        g_assert_true(n == 0 || !bitmap_empty(map, n));
        bitmap_zero(map, n);
        g_assert_true(bitmap_empty(map, n));
        g_free(map);
    }
    unsigned long *m = bitmap_new(65);
    g_assert_true(bitmap_empty(m, 65));
    g_free(m);
}

static void test_bitmap_single_bits(void)
{
    unsigned long *map = bitmap_new(130);

    for (size_t nr = 0; nr < 130; nr++) {
        set_bit(nr, map);
        g_assert_true(test_bit(nr, map));
        g_assert_cmpuint(bitmap_count_one(map, 130), ==, 1);
        g_assert_cmpuint(find_next_bit(map, 130, 0), ==, nr);
        g_assert_cmpuint(find_next_zero_bit(map, 130, nr), ==, nr + 1);
        clear_bit(nr, map);
        g_assert_true(bitmap_empty(map, 130));
    }
    g_free(map);

    /* A one-bit map. */
    unsigned long one = 0;
    g_assert_cmpuint(find_next_bit(&one, 1, 0), ==, 1);
    g_assert_cmpuint(find_next_zero_bit(&one, 1, 0), ==, 0);
    set_bit(0, &one);
    g_assert_cmpuint(one, ==, 1);
    g_assert_cmpuint(find_next_bit(&one, 1, 0), ==, 0);
    g_assert_cmpuint(find_next_zero_bit(&one, 1, 0), ==, 1);
    g_assert_cmpuint(bitmap_count_one(&one, 1), ==, 1);
}

/* Runs set/clear over every (start, count) in a 3-word map against a
 * reference built with set_bit, so every boundary case is exercised. */
static void test_bitmap_set_clear_ranges(void)
{
    const size_t n = 3 * BITS_PER_LONG;
    unsigned long *map = bitmap_new(n);
    unsigned long *ref = bitmap_new(n);

    for (size_t start = 0; start <= n; start++) {
        for (size_t count = 0; start + count <= n; count++) {
            bitmap_zero(map, n);
            bitmap_zero(ref, n);
            for (size_t i = start; i < start + count; i++) {
                set_bit(i, ref);
            }
            bitmap_set(map, start, count);
            g_assert_cmpmem(map, n / 8, ref, n / 8);
            g_assert_cmpuint(bitmap_count_one(map, n), ==, count);

            bitmap_zero(map, n);
            bitmap_set_atomic(map, start, count);
            g_assert_cmpmem(map, n / 8, ref, n / 8);

            /* clear the same range out of a full map */
            bitmap_fill(map, n);
            bitmap_clear(map, start, count);
            for (size_t i = 0; i < n; i++) {
                g_assert_cmpint(test_bit(i, map), ==, !test_bit(i, ref));
            }
        }
    }
    g_free(map);
    g_free(ref);
}

static void test_bitmap_spanning(void)
{
    unsigned long *map = bitmap_new(200);

    bitmap_set(map, 60, 10);   /* 60..69 crosses the first boundary */
    g_assert_cmpuint(map[0], ==, 0xfUL << 60);
    g_assert_cmpuint(map[1], ==, 0x3fUL);
    g_assert_cmpuint(bitmap_count_one(map, 200), ==, 10);
    g_assert_cmpuint(find_next_bit(map, 200, 0), ==, 60);
    g_assert_cmpuint(find_next_bit(map, 200, 64), ==, 64);
    g_assert_cmpuint(find_next_zero_bit(map, 200, 60), ==, 70);
    bitmap_clear(map, 63, 2);
    g_assert_false(test_bit(63, map));
    g_assert_false(test_bit(64, map));
    g_assert_true(test_bit(62, map));
    g_assert_true(test_bit(65, map));
    g_assert_cmpuint(bitmap_count_one(map, 200), ==, 8);
    /* count honours nbits: bits at or past it are not counted */
    g_assert_cmpuint(bitmap_count_one(map, 63), ==, 3);
    g_assert_cmpuint(bitmap_count_one(map, 64), ==, 3);
    g_assert_cmpuint(bitmap_count_one(map, 66), ==, 4);
    g_free(map);
}

static void test_bitmap_find_next_end(void)
{
    unsigned long *map = bitmap_new(130);

    g_assert_cmpuint(find_next_bit(map, 130, 0), ==, 130);
    g_assert_cmpuint(find_next_bit(map, 130, 129), ==, 130);
    g_assert_cmpuint(find_next_bit(map, 130, 130), ==, 130);
    g_assert_cmpuint(find_next_bit(map, 130, 1000), ==, 130);
    g_assert_cmpuint(find_next_bit(map, 0, 0), ==, 0);
    g_assert_cmpuint(find_next_zero_bit(map, 0, 0), ==, 0);

    set_bit(129, map);
    g_assert_cmpuint(find_next_bit(map, 130, 0), ==, 129);
    g_assert_cmpuint(find_next_bit(map, 130, 129), ==, 129);
    /* a bit past nbits must not be reported */
    g_assert_cmpuint(find_next_bit(map, 129, 0), ==, 129);

    bitmap_fill(map, 130);
    g_assert_cmpuint(find_next_zero_bit(map, 130, 0), ==, 130);
    g_assert_cmpuint(find_next_zero_bit(map, 130, 64), ==, 130);
    clear_bit(128, map);
    g_assert_cmpuint(find_next_zero_bit(map, 130, 0), ==, 128);
    g_assert_cmpuint(find_next_zero_bit(map, 130, 129), ==, 130);

    /* Walking all set bits visits exactly the set ones. */
    bitmap_zero(map, 130);
    const size_t want[] = { 0, 5, 63, 64, 65, 127, 128 };
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        set_bit(want[i], map);
    }
    size_t k = 0;
    for (size_t b = find_next_bit(map, 130, 0); b < 130;
         b = find_next_bit(map, 130, b + 1)) {
        g_assert_cmpuint(k, <, G_N_ELEMENTS(want));
        g_assert_cmpuint(b, ==, want[k++]);
    }
    g_assert_cmpuint(k, ==, G_N_ELEMENTS(want));
    g_free(map);
}

static void test_bitmap_or(void)
{
    unsigned long *dst = bitmap_new(130);
    unsigned long *src = bitmap_new(130);

    set_bit(1, dst);
    set_bit(64, src);
    set_bit(129, src);
    set_bit(1, src);
    bitmap_or(dst, src, 130);
    g_assert_cmpuint(bitmap_count_one(dst, 130), ==, 3);
    g_assert_true(test_bit(1, dst));
    g_assert_true(test_bit(64, dst));
    g_assert_true(test_bit(129, dst));
    /* src is unchanged */
    g_assert_cmpuint(bitmap_count_one(src, 130), ==, 3);

    /* or over fewer bits leaves the rest of dst alone */
    bitmap_zero(dst, 130);
    bitmap_or(dst, src, 64);
    g_assert_cmpuint(bitmap_count_one(dst, 130), ==, 1);
    g_assert_true(test_bit(1, dst));
    g_free(dst);
    g_free(src);
}

static void test_bitmap_take_atomic(void)
{
    unsigned long *map = bitmap_new(200);
    unsigned long *dst = bitmap_new(200);

    bitmap_fill(dst, 200);   /* stale contents must be overwritten */
    set_bit(0, map);
    set_bit(64, map);
    set_bit(199, map);
    bitmap_take_atomic(dst, map, 200);
    g_assert_true(bitmap_empty(map, 200));
    g_assert_cmpuint(bitmap_count_one(dst, 200), ==, 3);
    g_assert_true(test_bit(0, dst));
    g_assert_true(test_bit(64, dst));
    g_assert_true(test_bit(199, dst));
    g_assert_false(test_bit(1, dst));

    /* Nothing set: dst becomes empty. */
    bitmap_take_atomic(dst, map, 200);
    g_assert_true(bitmap_empty(dst, 200));
    g_free(map);
    g_free(dst);
}

/* Several threads set bits while the main thread takes: nothing may be
 * lost or duplicated. */
#define TAKE_THREADS 4
#define TAKE_BITS 4096

static unsigned long *take_map;

static gpointer take_setter(gpointer opaque)
{
    size_t id = GPOINTER_TO_SIZE(opaque);

    for (size_t i = id; i < TAKE_BITS; i += TAKE_THREADS) {
        set_bit_atomic(i, take_map);
    }
    return NULL;
}

static void test_bitmap_take_atomic_race(void)
{
    unsigned long *seen = bitmap_new(TAKE_BITS);
    unsigned long *chunk = bitmap_new(TAKE_BITS);
    GThread *th[TAKE_THREADS];
    size_t total = 0;

    take_map = bitmap_new(TAKE_BITS);
    for (size_t i = 0; i < TAKE_THREADS; i++) {
        th[i] = g_thread_new("setter", take_setter, GSIZE_TO_POINTER(i));
    }
    for (int round = 0; round < 1000; round++) {
        bitmap_take_atomic(chunk, take_map, TAKE_BITS);
        total += bitmap_count_one(chunk, TAKE_BITS);
        bitmap_or(seen, chunk, TAKE_BITS);
    }
    for (size_t i = 0; i < TAKE_THREADS; i++) {
        g_thread_join(th[i]);
    }
    bitmap_take_atomic(chunk, take_map, TAKE_BITS);
    total += bitmap_count_one(chunk, TAKE_BITS);
    bitmap_or(seen, chunk, TAKE_BITS);
    g_assert_cmpuint(total, ==, TAKE_BITS);
    g_assert_cmpuint(bitmap_count_one(seen, TAKE_BITS), ==, TAKE_BITS);
    g_free(take_map);
    g_free(seen);
    g_free(chunk);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bitmap/new-zero-fill", test_bitmap_new_zero_fill);
    g_test_add_func("/bitmap/single-bits", test_bitmap_single_bits);
    g_test_add_func("/bitmap/set-clear-ranges", test_bitmap_set_clear_ranges);
    g_test_add_func("/bitmap/spanning", test_bitmap_spanning);
    g_test_add_func("/bitmap/find-next-end", test_bitmap_find_next_end);
    g_test_add_func("/bitmap/or", test_bitmap_or);
    g_test_add_func("/bitmap/take-atomic", test_bitmap_take_atomic);
    g_test_add_func("/bitmap/take-atomic-race", test_bitmap_take_atomic_race);
    return g_test_run();
}
