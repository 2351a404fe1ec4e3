/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the few libc-like helpers the guest needs.  Used
 * both at CPL3 (workloads) and at CPL0 (fault report), so they must not
 * call services.  GCC may also emit calls to memcpy/memset on its own.
 */
#include "guest.h"

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *dp = d;
    const u8 *sp = s;

    while (n--) {
        *dp++ = *sp++;
    }
    return d;
}

void *memset(void *d, int c, size_t n)
{
    u8 *dp = d;

    while (n--) {
        *dp++ = (u8)c;
    }
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    u8 *dp = d;
    const u8 *sp = s;

    if (dp <= sp) {
        return memcpy(d, s, n);
    }
    while (n--) {
        dp[n] = sp[n];
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *ap = a, *bp = b;
    size_t i;

    for (i = 0; i < n; i++) {
        if (ap[i] != bp[i]) {
            return ap[i] < bp[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}

void ln_str(struct line *l, const char *s)
{
    while (*s && l->len < sizeof(l->buf)) {
        l->buf[l->len++] = *s++;
    }
}

void ln_dec(struct line *l, u64 v)
{
    char tmp[24];
    int i = 0;

    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i && l->len < sizeof(l->buf)) {
        l->buf[l->len++] = tmp[--i];
    }
}

void ln_hex(struct line *l, u64 v)
{
    int shift = 60;

    ln_str(l, "0x");
    while (shift > 0 && !(v >> shift)) {
        shift -= 4;
    }
    for (; shift >= 0 && l->len < sizeof(l->buf); shift -= 4) {
        l->buf[l->len++] = "0123456789abcdef"[(v >> shift) & 0xf];
    }
}

/* Decimal or 0x hex with an optional K/M/G suffix (powers of 2); false on
 * anything else, or a value that would overflow. */
bool tg_parse_num(const char *s, size_t n, u64 *out)
{
    u64 v = 0, base = 10;
    size_t i = 0;

    if (n > 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
        base = 16;
        i = 2;
    }
    if (i == n) {
        return false;
    }
    for (; i < n; i++) {
        char c = s[i];
        u64 d;

        if (c >= '0' && c <= '9') {
            d = (u64)(c - '0');
        } else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            d = (u64)((c | 0x20) - 'a' + 10);
        } else {
            break;
        }
        if (v > (~0ULL >> 8)) {
            return false;
        }
        v = v * base + d;
    }
    if (i < n) {
        unsigned shift;

        switch (s[i] | 0x20) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        default: return false;
        }
        if (++i != n || v > (~0ULL >> shift)) {
            return false;
        }
        v <<= shift;
    }
    *out = v;
    return true;
}
