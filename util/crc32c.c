/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CRC32C (include/util/crc32c.h): an eight-way sliced table for any CPU
 * and, on x86-64 with SSE4.2, the crc32 instruction over three
 * interleaved streams. Both work on the raw CRC register (no initial
 * value or final xor); crc32c() adds those at the edges.
 *
 * Three streams: the crc32 instruction takes three cycles but the CPU
 * starts one per cycle, so a single dependent chain runs at a third of
 * the speed it could. A buffer is cut in rounds of three consecutive
 * blocks of CRC32C_BLOCK bytes, each block's register computed from zero
 * in parallel. Because the register update is linear, the register after
 * A then B is shift(reg(A)) ^ reg0(B), where shift() is feeding
 * CRC32C_BLOCK zero bytes; shift() is itself linear in the 32-bit
 * register, so it is a table of four bytes x 256 entries built once.
 */
#include <pthread.h>
#include <string.h>
#include <glib.h>
#include "util/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC32C_HAVE_SSE42 1
#endif

#define CRC32C_POLY     0x82F63B78u     /* reflected 0x1EDC6F41 */
/* Bytes per stream per round: 3 x 1360 = 4080 fits one guest page. */
#define CRC32C_BLOCK    1360

static uint32_t crc32c_slice[8][256];
static uint32_t crc32c_shift_tab[4][256];  /* feeding CRC32C_BLOCK zeros */
static bool crc32c_hw;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static uint32_t crc32c_bytes(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--) {
        crc = crc32c_slice[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

/* The raw register after feeding len zero bytes to crc (table path). */
static uint32_t crc32c_zeros(uint32_t crc, size_t len)
{
    while (len--) {
        crc = crc32c_slice[0][crc & 0xff] ^ (crc >> 8);
    }
    return crc;
}

static void crc32c_init(void)
{
    uint32_t basis[32];

    for (unsigned i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int bit = 0; bit < 8; bit++) {
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        }
        crc32c_slice[0][i] = c;
    }
    for (unsigned k = 1; k < 8; k++) {
        for (unsigned i = 0; i < 256; i++) {
            uint32_t c = crc32c_slice[k - 1][i];

            crc32c_slice[k][i] = crc32c_slice[0][c & 0xff] ^ (c >> 8);
        }
    }
    /* shift() of each register bit, then every byte value of each byte
     * lane as the xor of its bits' images. */
    for (unsigned i = 0; i < 32; i++) {
        basis[i] = crc32c_zeros(1u << i, CRC32C_BLOCK);
    }
    for (unsigned k = 0; k < 4; k++) {
        for (unsigned b = 0; b < 256; b++) {
            uint32_t v = 0;

            for (unsigned j = 0; j < 8; j++) {
                if (b & (1u << j)) {
                    v ^= basis[8 * k + j];
                }
            }
            crc32c_shift_tab[k][b] = v;
        }
    }
#ifdef CRC32C_HAVE_SSE42
    __builtin_cpu_init();
    crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc32c_shift(uint32_t crc)
{
    return crc32c_shift_tab[0][crc & 0xff] ^
           crc32c_shift_tab[1][(crc >> 8) & 0xff] ^
           crc32c_shift_tab[2][(crc >> 16) & 0xff] ^
           crc32c_shift_tab[3][crc >> 24];
}

static uint32_t crc32c_sliced(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len >= 8) {
        uint64_t v;
        uint32_t lo, hi;

        memcpy(&v, p, 8);
        v = GUINT64_FROM_LE(v);
        lo = (uint32_t)v ^ crc;
        hi = v >> 32;
        crc = crc32c_slice[7][lo & 0xff] ^ crc32c_slice[6][(lo >> 8) & 0xff] ^
              crc32c_slice[5][(lo >> 16) & 0xff] ^ crc32c_slice[4][lo >> 24] ^
              crc32c_slice[3][hi & 0xff] ^ crc32c_slice[2][(hi >> 8) & 0xff] ^
              crc32c_slice[1][(hi >> 16) & 0xff] ^ crc32c_slice[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    return crc32c_bytes(crc, p, len);
}

#ifdef CRC32C_HAVE_SSE42
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c0 = crc;

    while (len >= 3 * CRC32C_BLOCK) {
        uint64_t c1 = 0, c2 = 0;

        for (size_t i = 0; i < CRC32C_BLOCK; i += 8) {
            uint64_t a, b, c;

            memcpy(&a, p + i, 8);
            memcpy(&b, p + CRC32C_BLOCK + i, 8);
            memcpy(&c, p + 2 * CRC32C_BLOCK + i, 8);
            c0 = _mm_crc32_u64(c0, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, c);
        }
        c0 = crc32c_shift(crc32c_shift((uint32_t)c0) ^ (uint32_t)c1) ^
             (uint32_t)c2;
        p += 3 * CRC32C_BLOCK;
        len -= 3 * CRC32C_BLOCK;
    }
    while (len >= 8) {
        uint64_t v;

        memcpy(&v, p, 8);
        c0 = _mm_crc32_u64(c0, v);
        p += 8;
        len -= 8;
    }
    while (len--) {
        c0 = _mm_crc32_u8((uint32_t)c0, *p++);
    }
    return (uint32_t)c0;
}
#endif

uint32_t crc32c_table(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    return ~crc32c_sliced(~crc, buf, len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
#ifdef CRC32C_HAVE_SSE42
    if (crc32c_hw) {
        return ~crc32c_sse42(~crc, buf, len);
    }
#endif
    return ~crc32c_sliced(~crc, buf, len);
}

bool crc32c_is_accelerated(void)
{
    pthread_once(&crc32c_once, crc32c_init);
    return crc32c_hw;
}
