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
