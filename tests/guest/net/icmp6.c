/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: ICMPv6 echo and neighbour discovery (RFC 4861, the
 * part a host on one link needs): answer Neighbor Solicitations for our
 * addresses, learn from solicitations and advertisements, and solicit
 * the next hop when the neighbour cache misses.  NDP messages must arrive
 * with hop limit 255 (so they come from this link); others are dropped.
 */
#include "net.h"

#define ICMP6_ECHO_REQUEST  128
#define ICMP6_ECHO_REPLY    129
#define ND_NEIGHBOR_SOLICIT 135
#define ND_NEIGHBOR_ADVERT  136
#define ND_OPT_SRC_LLADDR   1
#define ND_OPT_TGT_LLADDR   2
#define NA_FLAG_SOLICITED   0x40
#define NA_FLAG_OVERRIDE    0x20

/* Link-layer address option of the given type, or NULL; false if malformed. */
static bool find_lladdr(const u8 *opt, size_t len, u8 type, const u8 **mac)
{
    size_t i = 0;

    *mac = NULL;
    while (i + 2 <= len) {
        size_t olen = (size_t)opt[i + 1] * 8;

        if (!olen || i + olen > len) {
            return false;
        }
        if (opt[i] == type && olen == 8) {
            *mac = opt + i + 2;
        }
        i += olen;
    }
    return i == len;
}

static void send_ndp(u8 type, const ipaddr *src, const ipaddr *dst, const ipaddr *target,
                     u8 flags, u8 opt_type)
{
    struct txbuf t;
    u8 *m;

    if (!net_tx_get(&t)) {
        return;
    }
    m = net_tx_l4(&t, dst);
    memset(m, 0, 32);
    m[0] = type;
    m[4] = flags;
    memcpy(m + 8, target->b, 16);
    m[24] = opt_type;
    m[25] = 1;                          /* 8 bytes */
    memcpy(m + 26, netcfg.mac, ETH_ALEN);
    put_be16(m + 2, ip_l4_csum(src, dst, IPPROTO_ICMPV6, m, 32));
    ip_send(&t, IPPROTO_ICMPV6, src, dst, 32);
}

void ndp_solicit(const ipaddr *target)
{
    ipaddr dst = { .b = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff } };
    ipaddr src;

    memcpy(dst.b + 13, target->b + 13, 3);
    ip_src_for(target, &src);
    send_ndp(ND_NEIGHBOR_SOLICIT, &src, &dst, target, 0, ND_OPT_SRC_LLADDR);
}

static void neighbor_solicit(const ipaddr *src, const u8 *p, size_t len)
{
    static const ipaddr all_nodes = { .b = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } };
    ipaddr target;
    const u8 *mac;
    bool dad = ip_is_zero(src);

    memcpy(target.b, p + 8, 16);
    if (!find_lladdr(p + 24, len - 24, ND_OPT_SRC_LLADDR, &mac) || (dad && mac)) {
        NET_STAT(rx_dropped);
        return;
    }
    if (!ip6_is_mine(&target)) {
        return;
    }
    NET_STAT(ndp_rx);
    if (mac) {
        neigh_update(src, mac);
    }
    send_ndp(ND_NEIGHBOR_ADVERT, &target, dad ? &all_nodes : src, &target,
             (u8)((dad ? 0 : NA_FLAG_SOLICITED) | NA_FLAG_OVERRIDE), ND_OPT_TGT_LLADDR);
}

static void neighbor_advert(const u8 *p, size_t len)
{
    ipaddr target;
    const u8 *mac;

    memcpy(target.b, p + 8, 16);
    if (!find_lladdr(p + 24, len - 24, ND_OPT_TGT_LLADDR, &mac) || target.b[0] == 0xff) {
        NET_STAT(rx_dropped);
        return;
    }
    NET_STAT(ndp_rx);
    if (mac) {
        neigh_update(&target, mac);
    }
}

void icmp6_input(const u8 *frame, const ipaddr *src, const ipaddr *dst, u8 hop_limit,
                 const u8 *p, size_t len)
{
    struct txbuf t;
    u8 *r;

    (void)frame;
    if (len < 8 || ip_l4_csum(src, dst, IPPROTO_ICMPV6, p, len) != 0) {
        goto drop;
    }
    switch (p[0]) {
    case ICMP6_ECHO_REQUEST:
        if (p[1] != 0 || !ip6_is_mine(dst) || ip_is_zero(src)) {
            return;
        }
        if (!net_tx_get(&t)) {
            return;
        }
        r = net_tx_l4(&t, src);
        memcpy(r, p, len);
        r[0] = ICMP6_ECHO_REPLY;
        put_be16(r + 2, 0);
        put_be16(r + 2, ip_l4_csum(dst, src, IPPROTO_ICMPV6, r, len));
        if (ip_send(&t, IPPROTO_ICMPV6, dst, src, len)) {
            NET_STAT(icmp_echo);
        }
        return;
    case ICMP6_ECHO_REPLY:
        if (p[1] == 0 && ip6_is_mine(dst)) {
            ping_reply(src, p, len);
        }
        return;
    case ND_NEIGHBOR_SOLICIT:
        if (hop_limit != 255 || p[1] != 0 || len < 24) {
            goto drop;
        }
        neighbor_solicit(src, p, len);
        return;
    case ND_NEIGHBOR_ADVERT:
        if (hop_limit != 255 || p[1] != 0 || len < 24) {
            goto drop;
        }
        neighbor_advert(p, len);
        return;
    default:
        return;                         /* RA, MLD, errors: not needed here */
    }
drop:
    NET_STAT(rx_dropped);
}
