/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bitmap operations that work a whole unsigned long at a time. Dirty-page
 * bitmaps run to millions of bits, so every loop here handles the partial
 * first and last words with masks and the middle with plain word stores.
 * Bits past nbits in the last word are kept clear by the operations that
 * write whole words, so counting and searching can trust them.
 */
#include <glib.h>
#include <string.h>
#include "util/bitmap.h"

/* Mask of the bits from `start % BITS_PER_LONG` upwards in its word. */
#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) % BITS_PER_LONG))
/* Mask of the valid bits of the last word of an nbits-long map. */
#define BITMAP_LAST_WORD_MASK(nbits) \
    (~0UL >> (-(nbits) % BITS_PER_LONG))

unsigned long *bitmap_new(size_t nbits)
{
    return g_new0(unsigned long, BITS_TO_LONGS(nbits));
}

void bitmap_zero(unsigned long *map, size_t nbits)
{
    memset(map, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

void bitmap_fill(unsigned long *map, size_t nbits)
{
    size_t words = BITS_TO_LONGS(nbits);

    if (!words) {
        return;
    }
    memset(map, 0xff, words * sizeof(unsigned long));
    map[words - 1] &= BITMAP_LAST_WORD_MASK(nbits);
}

void bitmap_set(unsigned long *map, size_t start, size_t count)
{
    unsigned long *p = map + BIT_WORD(start);
    size_t end = start + count;
    unsigned long mask = BITMAP_FIRST_WORD_MASK(start);
    /* Bits still to set, counted from the start of *p. */
    size_t left = count + start % BITS_PER_LONG;

    if (!count) {
        return;
    }
    while (left >= BITS_PER_LONG) {
        *p++ |= mask;
        left -= BITS_PER_LONG;
        mask = ~0UL;
    }
    if (left) {
        *p |= mask & BITMAP_LAST_WORD_MASK(end);
    }
}

void bitmap_clear(unsigned long *map, size_t start, size_t count)
{
    unsigned long *p = map + BIT_WORD(start);
    size_t end = start + count;
    unsigned long mask = BITMAP_FIRST_WORD_MASK(start);
    size_t left = count + start % BITS_PER_LONG;

    if (!count) {
        return;
    }
    while (left >= BITS_PER_LONG) {
        *p++ &= ~mask;
        left -= BITS_PER_LONG;
        mask = ~0UL;
    }
    if (left) {
        *p &= ~(mask & BITMAP_LAST_WORD_MASK(end));
    }
}

void bitmap_set_atomic(unsigned long *map, size_t start, size_t count)
{
    unsigned long *p = map + BIT_WORD(start);
    size_t end = start + count;
    unsigned long mask = BITMAP_FIRST_WORD_MASK(start);
    size_t left = count + start % BITS_PER_LONG;

    if (!count) {
        return;
    }
    while (left >= BITS_PER_LONG) {
        /* Full words are the common case: a plain store would race with
         * bitmap_take_atomic() clearing the word, so OR in place. */
        __atomic_fetch_or(p++, mask, __ATOMIC_RELAXED);
        left -= BITS_PER_LONG;
        mask = ~0UL;
    }
    if (left) {
        __atomic_fetch_or(p, mask & BITMAP_LAST_WORD_MASK(end),
                          __ATOMIC_RELAXED);
    }
}

bool bitmap_empty(const unsigned long *map, size_t nbits)
{
    size_t full = nbits / BITS_PER_LONG;

    for (size_t i = 0; i < full; i++) {
        if (map[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return !(map[full] & BITMAP_LAST_WORD_MASK(nbits));
    }
    return true;
}

size_t bitmap_count_one(const unsigned long *map, size_t nbits)
{
    size_t full = nbits / BITS_PER_LONG;
    size_t n = 0;

    for (size_t i = 0; i < full; i++) {
        n += __builtin_popcountl(map[i]);
    }
    if (nbits % BITS_PER_LONG) {
        n += __builtin_popcountl(map[full] & BITMAP_LAST_WORD_MASK(nbits));
    }
    return n;
}

void bitmap_or(unsigned long *dst, const unsigned long *src, size_t nbits)
{
    size_t full = nbits / BITS_PER_LONG;

    for (size_t i = 0; i < full; i++) {
        dst[i] |= src[i];
    }
    if (nbits % BITS_PER_LONG) {
        dst[full] |= src[full] & BITMAP_LAST_WORD_MASK(nbits);
    }
}

void bitmap_take_atomic(unsigned long *dst, unsigned long *map, size_t nbits)
{
    size_t full = nbits / BITS_PER_LONG;

    for (size_t i = 0; i < full; i++) {
        /* Reading and clearing must be one step, or a bit set between the
         * two by a vCPU thread would be lost. Skip the locked op for the
         * (usually many) clean words. */
        if (__atomic_load_n(&map[i], __ATOMIC_RELAXED)) {
            dst[i] = __atomic_exchange_n(&map[i], 0, __ATOMIC_SEQ_CST);
        } else {
            dst[i] = 0;
        }
    }
    if (nbits % BITS_PER_LONG) {
        unsigned long mask = BITMAP_LAST_WORD_MASK(nbits);
        dst[full] = __atomic_fetch_and(&map[full], ~mask, __ATOMIC_SEQ_CST)
                    & mask;
    }
}

size_t find_next_bit(const unsigned long *map, size_t nbits, size_t start)
{
    size_t i;
    unsigned long w;

    if (start >= nbits) {
        return nbits;
    }
    i = BIT_WORD(start);
    w = map[i] & BITMAP_FIRST_WORD_MASK(start);
    for (;;) {
        if (w) {
            size_t bit = i * BITS_PER_LONG + __builtin_ctzl(w);
            /* A stray bit past nbits in the last word is not a hit. */
            return bit < nbits ? bit : nbits;
        }
        if (++i >= BITS_TO_LONGS(nbits)) {
            return nbits;
        }
        w = map[i];
    }
}

size_t find_next_zero_bit(const unsigned long *map, size_t nbits,
                          size_t start)
{
    size_t i;
    unsigned long w;

    if (start >= nbits) {
        return nbits;
    }
    i = BIT_WORD(start);
    /* Search the inverted word, so the same ctz trick finds zeros. */
    w = ~map[i] & BITMAP_FIRST_WORD_MASK(start);
    for (;;) {
        if (w) {
            size_t bit = i * BITS_PER_LONG + __builtin_ctzl(w);
            return bit < nbits ? bit : nbits;
        }
        if (++i >= BITS_TO_LONGS(nbits)) {
            return nbits;
        }
        w = ~map[i];
    }
}
