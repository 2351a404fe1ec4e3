/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/crc32c.c: the standard check value, the iSCSI test
 * vectors of RFC 3720 appendix B.4, chaining, and the accelerated path
 * against the table path over every length and alignment around the
 * three-stream block boundaries (4080 bytes per round).
 */
#include <string.h>
#include <glib.h>
#include "util/crc32c.h"

typedef uint32_t (*Crc32cFn)(uint32_t, const void *, size_t);

static void check_vectors(Crc32cFn fn)
{
    /* RFC 3720 B.4: a SCSI Read(10) command PDU. */
    static const uint8_t read10[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    uint8_t buf[32];

    g_assert_cmphex(fn(0, "123456789", 9), ==, 0xE3069283);
    g_assert_cmphex(fn(0, "", 0), ==, 0);
    memset(buf, 0, sizeof(buf));
    g_assert_cmphex(fn(0, buf, 32), ==, 0x8A9136AA);
    memset(buf, 0xff, sizeof(buf));
    g_assert_cmphex(fn(0, buf, 32), ==, 0x62A8AB43);
    for (int i = 0; i < 32; i++) {
        buf[i] = i;
    }
    g_assert_cmphex(fn(0, buf, 32), ==, 0x46DD794E);
    for (int i = 0; i < 32; i++) {
        buf[i] = 31 - i;
    }
    g_assert_cmphex(fn(0, buf, 32), ==, 0x113FDB5C);
    g_assert_cmphex(fn(0, read10, sizeof(read10)), ==, 0xD9963A56);
}

static void test_crc32c_vectors(void)
{
    check_vectors(crc32c);
}

static void test_crc32c_table_vectors(void)
{
    check_vectors(crc32c_table);
}

/* Bitwise reference: the definition, one bit at a time. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int b = 0; b < 8; b++) {
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
    }
    return ~crc;
}

/* Every length up to three rounds and a bit, at every 8-byte alignment:
 * the block boundaries (1360, 4080) and the tails are where a sliced or
 * interleaved loop goes wrong. */
static void test_crc32c_lengths(void)
{
    size_t max = 3 * 4080 + 100;
    g_autofree uint8_t *buf = g_malloc(max + 8);
    GRand *r = g_rand_new_with_seed(20261203);

    for (size_t i = 0; i < max + 8; i++) {
        buf[i] = g_rand_int(r);
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= max; len += (len < 200 ? 1 : 7)) {
            uint32_t want = crc32c_bitwise(0x12345678, buf + off, len);

            g_assert_cmphex(crc32c(0x12345678, buf + off, len), ==, want);
            g_assert_cmphex(crc32c_table(0x12345678, buf + off, len), ==,
                            want);
        }
    }
    g_rand_free(r);
}

/* crc(a ++ b) == crc(crc(a), b) at every split point. */
static void test_crc32c_chaining(void)
{
    uint8_t buf[9000];
    uint32_t whole;

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = i * 131 + (i >> 7);
    }
    whole = crc32c(0, buf, sizeof(buf));
    g_assert_cmphex(whole, ==, crc32c_bitwise(0, buf, sizeof(buf)));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 61) {
        g_assert_cmphex(crc32c(crc32c(0, buf, cut), buf + cut,
                               sizeof(buf) - cut), ==, whole);
    }
}

/* Any single flipped bit changes the CRC (a property of CRCs that the
 * stream checksum relies on), in a page-sized buffer. */
static void test_crc32c_single_bit(void)
{
    g_autofree uint8_t *buf = g_malloc0(4096);
    uint32_t base = crc32c(0, buf, 4096);

    for (size_t bit = 0; bit < 4096 * 8; bit += 37) {
        buf[bit / 8] ^= 1u << (bit % 8);
        g_assert_cmphex(crc32c(0, buf, 4096), !=, base);
        buf[bit / 8] ^= 1u << (bit % 8);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/crc32c/vectors", test_crc32c_vectors);
    g_test_add_func("/crc32c/table-vectors", test_crc32c_table_vectors);
    g_test_add_func("/crc32c/lengths", test_crc32c_lengths);
    g_test_add_func("/crc32c/chaining", test_crc32c_chaining);
    g_test_add_func("/crc32c/single-bit", test_crc32c_single_bit);
    if (g_test_verbose()) {
        g_test_message("accelerated: %s",
                       crc32c_is_accelerated() ? "sse4.2" : "no");
    }
    return g_test_run();
}
