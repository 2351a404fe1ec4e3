/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: IP address helpers (the IPv4-mapped 16-byte form,
 * parsing from the command line, printing on serial lines).
 */
#include "net.h"

static const u8 v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool ip_is_v4(const ipaddr *a)
{
    size_t i;

    for (i = 0; i < 12; i++) {
        if (a->b[i] != v4_prefix[i]) {
            return false;
        }
    }
    return true;
}

void ip_from_v4(ipaddr *a, const u8 v4[4])
{
    memcpy(a->b, v4_prefix, 12);
    memcpy(a->b + 12, v4, 4);
}

bool ip_eq(const ipaddr *a, const ipaddr *b)
{
    size_t i;

    for (i = 0; i < 16; i++) {
        if (a->b[i] != b->b[i]) {
            return false;
        }
    }
    return true;
}

bool ip_is_zero(const ipaddr *a)
{
    size_t i;

    for (i = 0; i < 16; i++) {
        if (a->b[i]) {
            return false;
        }
    }
    return true;
}

/* Do the first prefix bits of a and b match? */
bool ip_prefix_eq(const ipaddr *a, const ipaddr *b, unsigned bits)
{
    unsigned i;

    for (i = 0; i < bits / 8; i++) {
        if (a->b[i] != b->b[i]) {
            return false;
        }
    }
    if (bits % 8) {
        u8 mask = (u8)(0xff << (8 - bits % 8));
        if ((a->b[i] ^ b->b[i]) & mask) {
            return false;
        }
    }
    return true;
}

static bool parse_dec(const char *s, size_t n, u32 max, u32 *out)
{
    u32 v = 0;
    size_t i;

    if (!n || n > 10) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (u32)(s[i] - '0');
        if (v > max) {
            return false;
        }
    }
    *out = v;
    return true;
}

bool ip4_parse(const char *s, size_t n, ipaddr *out)
{
    u8 v4[4];
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        size_t j = i;
        u32 v;

        while (j < n && s[j] != '.') {
            j++;
        }
        if (j - i > 3 || !parse_dec(s + i, j - i, 255, &v)) {
            return false;
        }
        v4[part] = (u8)v;
        if (part < 3 && j == n) {
            return false;
        }
        i = j + 1;
    }
    if (i != n + 1) {
        return false;       /* trailing characters after the fourth part */
    }
    ip_from_v4(out, v4);
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Eight groups of hex, with at most one "::" (no embedded dotted quad). */
bool ip6_parse(const char *s, size_t n, ipaddr *out)
{
    u16 head[8], tail[8];
    size_t nh = 0, nt = 0, i = 0;
    bool gap = false;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = true;
        i = 2;
    } else if (n && s[0] == ':') {
        return false;
    }
    while (i < n) {
        u32 v = 0;
        size_t d = 0;

        while (i < n && hexval(s[i]) >= 0 && d < 5) {
            v = v << 4 | (u32)hexval(s[i]);
            i++;
            d++;
        }
        if (!d || d > 4 || nh + nt >= 8) {
            return false;
        }
        if (gap) {
            tail[nt++] = (u16)v;
        } else {
            head[nh++] = (u16)v;
        }
        if (i == n) {
            break;
        }
        if (s[i] != ':') {
            return false;
        }
        i++;
        if (i < n && s[i] == ':') {
            if (gap) {
                return false;       /* a second "::" */
            }
            gap = true;
            i++;
        } else if (i == n) {
            return false;           /* trailing single ':' */
        }
    }
    if (gap ? nh + nt > 7 : nh != 8) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    for (i = 0; i < nh; i++) {
        put_be16(out->b + 2 * i, head[i]);
    }
    for (i = 0; i < nt; i++) {
        put_be16(out->b + 16 - 2 * (nt - i), tail[i]);
    }
    return true;
}

/* "ADDR/PREFIX" with the prefix required, 0..max */
bool ip_parse_prefix(const char *s, size_t n, bool v6, ipaddr *out, u8 *prefix)
{
    size_t k = 0;
    u32 p;

    while (k < n && s[k] != '/') {
        k++;
    }
    if (k == n || !parse_dec(s + k + 1, n - k - 1, v6 ? 128 : 32, &p)) {
        return false;
    }
    *prefix = (u8)p;
    return v6 ? ip6_parse(s, k, out) : ip4_parse(s, k, out);
}

void ln_ip(struct line *l, const ipaddr *a)
{
    int i, best = -1, best_len = 1, run = 0;

    if (ip_is_v4(a)) {
        for (i = 12; i < 16; i++) {
            ln_dec(l, a->b[i]);
            if (i < 15) {
                ln_str(l, ".");
            }
        }
        return;
    }
    /* Longest run (>= 2) of zero groups becomes "::". */
    for (i = 0; i < 8; i++) {
        run = be16(a->b + 2 * i) ? 0 : run + 1;
        if (run > best_len) {
            best_len = run;
            best = i - run + 1;
        }
    }
    for (i = 0; i < 8; i++) {
        if (i == best) {
            ln_str(l, i ? ":" : "::");
            i += best_len - 1;
            if (i == 7) {
                break;
            }
            continue;
        }
        u16 g = be16(a->b + 2 * i);
        int shift = 12;
        while (shift > 0 && !(g >> shift)) {
            shift -= 4;
        }
        for (; shift >= 0; shift -= 4) {
            char c[2] = { "0123456789abcdef"[(g >> shift) & 0xf], 0 };
            ln_str(l, c);
        }
        if (i < 7) {
            ln_str(l, ":");
        }
    }
}

void ln_mac(struct line *l, const u8 *mac)
{
    int i;

    for (i = 0; i < ETH_ALEN; i++) {
        char c[4] = { "0123456789abcdef"[mac[i] >> 4],
                      "0123456789abcdef"[mac[i] & 0xf], ':', 0 };
        if (i == ETH_ALEN - 1) {
            c[2] = 0;
        }
        ln_str(l, c);
    }
}
