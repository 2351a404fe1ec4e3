/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the disk workload's on-disk format (see disk.h and
 * README.md "Disk workload"): CRC-32, slot placement, record fill and
 * check.  ../verify_disk.py implements the same rules on the host; a
 * change here is a change there.
 */
#include "disk.h"

#define RAND_MUL    0x9e3779b97f4a7c15ULL      /* odd: a bijection mod 2^k */

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32), bitwise with a table. */
u32 crc32(const void *p, size_t n)
{
    static u32 table[256];
    const u8 *b = p;
    u32 c = 0xffffffffu;
    size_t i;

    if (!table[1]) {
        for (i = 0; i < 256; i++) {
            u32 v = (u32)i;
            int k;

            for (k = 0; k < 8; k++) {
                v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
            }
            table[i] = v;
        }
    }
    for (i = 0; i < n; i++) {
        c = table[(c ^ b[i]) & 0xff] ^ (c >> 8);
    }
    return ~c;
}

/* splitmix64's finaliser: a cheap, well-mixed hash of a u64. */
u64 mix64(u64 x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static u64 lap_offset(const struct disk_sb *sb, u64 lap)
{
    return mix64(lap ^ sb->disk_id) & (sb->slots - 1);
}

/* The inverse of RAND_MUL mod 2^64 (Newton: each step doubles the good bits). */
static u64 mul_inverse(void)
{
    u64 x = RAND_MUL;
    int i;

    for (i = 0; i < 6; i++) {
        x *= 2 - RAND_MUL * x;
    }
    return x;
}

u64 disk_slot(const struct disk_sb *sb, u64 n)
{
    u64 i = (n - 1) & (sb->slots - 1), lap = (n - 1) / sb->slots;

    if (sb->pattern == PATTERN_SEQ) {
        return i;
    }
    return (RAND_MUL * i + lap_offset(sb, lap)) & (sb->slots - 1);
}

u64 disk_rec_for(const struct disk_sb *sb, u64 slot, u64 lap)
{
    u64 i = slot;

    if (sb->pattern == PATTERN_RAND) {
        i = (mul_inverse() * (slot - lap_offset(sb, lap))) & (sb->slots - 1);
    }
    return lap * sb->slots + i + 1;
}

void disk_rec_fill(const struct disk_sb *sb, struct disk_rec *r, u64 n)
{
    u64 x = mix64(n ^ sb->disk_id) | 1, *w = (u64 *)r->payload;
    size_t i;

    r->magic = DISK_REC_MAGIC;
    r->n = n;
    r->disk_id = sb->disk_id;
    r->boot = sb->boot;
    r->slot = (u32)disk_slot(sb, n);
    r->reserved = 0;
    for (i = 0; i < sizeof(r->payload) / 8; i++) {
        x ^= x << 13;           /* xorshift64 */
        x ^= x >> 7;
        x ^= x << 17;
        w[i] = x;
    }
    r->n_tail = (u32)n;
    r->crc = crc32(r, offsetof(struct disk_rec, crc));
}

const char *disk_rec_check(const struct disk_sb *sb, const struct disk_rec *r, u64 slot, u64 n)
{
    if (r->magic != DISK_REC_MAGIC) {
        return "no record magic";
    }
    if (r->crc != crc32(r, offsetof(struct disk_rec, crc))) {
        return "bad checksum";
    }
    if (r->disk_id != sb->disk_id) {
        return "record of another disk";
    }
    if (r->n_tail != (u32)r->n || !r->n) {
        return "torn record (head and tail differ)";
    }
    if (r->slot != slot || disk_slot(sb, r->n) != slot) {
        return "record in the wrong slot";
    }
    if (n && r->n != n) {
        return "another record number than expected";
    }
    return NULL;
}

void disk_sb_seal(struct disk_sb *sb)
{
    sb->magic = DISK_SB_MAGIC;
    sb->version = DISK_VERSION;
    sb->block = DISK_BLOCK;
    sb->reserved = 0;
    sb->crc = crc32(sb, offsetof(struct disk_sb, crc));
}

bool disk_sb_valid(const struct disk_sb *sb)
{
    return sb->magic == DISK_SB_MAGIC && sb->version == DISK_VERSION &&
           sb->block == DISK_BLOCK && sb->crc == crc32(sb, offsetof(struct disk_sb, crc)) &&
           sb->slots >= 2 && sb->slots <= DISK_SLOTS_MAX && !(sb->slots & (sb->slots - 1)) &&
           sb->pattern <= PATTERN_RAND;
}
