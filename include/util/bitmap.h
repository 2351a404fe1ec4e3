/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bitmaps of unsigned long words, bit 0 = least significant bit of word 0.
 * Dirty tracking keeps one bit per guest page in these; KVM's dirty log uses
 * the same layout on x86-64, so a KVM bitmap can be OR-ed in word by word.
 *
 * The _atomic variants may race with each other and with
 * bitmap_take_atomic(); the plain ones need the caller to own the map.
 */
#ifndef UTIL_BITMAP_H
#define UTIL_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BITS_PER_LONG (sizeof(unsigned long) * 8)
#define BITS_TO_LONGS(nr) (((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define BIT_WORD(nr) ((nr) / BITS_PER_LONG)
#define BIT_MASK(nr) (1UL << ((nr) % BITS_PER_LONG))

unsigned long *bitmap_new(size_t nbits);   /* zeroed; g_free() it */
void bitmap_zero(unsigned long *map, size_t nbits);
void bitmap_fill(unsigned long *map, size_t nbits);
void bitmap_set(unsigned long *map, size_t start, size_t count);
void bitmap_clear(unsigned long *map, size_t start, size_t count);
bool bitmap_empty(const unsigned long *map, size_t nbits);
size_t bitmap_count_one(const unsigned long *map, size_t nbits);
/* dst |= src over nbits */
void bitmap_or(unsigned long *dst, const unsigned long *src, size_t nbits);
/* Copies map into dst and clears map, each word atomically (xchg). */
void bitmap_take_atomic(unsigned long *dst, unsigned long *map, size_t nbits);
/* Index of the next set (clear) bit at or after start; nbits if none. */
size_t find_next_bit(const unsigned long *map, size_t nbits, size_t start);
size_t find_next_zero_bit(const unsigned long *map, size_t nbits, size_t start);

static inline void set_bit(size_t nr, unsigned long *map)
{
    map[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void clear_bit(size_t nr, unsigned long *map)
{
    map[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline bool test_bit(size_t nr, const unsigned long *map)
{
    return (map[BIT_WORD(nr)] & BIT_MASK(nr)) != 0;
}

static inline void set_bit_atomic(size_t nr, unsigned long *map)
{
    __atomic_fetch_or(&map[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_RELAXED);
}

/* Sets bits [start, start + count) atomically. */
void bitmap_set_atomic(unsigned long *map, size_t start, size_t count);

#endif
