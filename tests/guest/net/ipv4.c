/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: IPv4 input.  Checks, in order: header length and
 * version, total length against the frame (Ethernet padding is cut off),
 * header checksum, no fragments (we never reassemble), destination ours
 * or broadcast.  Anything else is dropped and counted.
 */
#include "net.h"

static bool ip4_for_me(const ipaddr *dst)
{
    u32 d = be32(dst->b + 12);

    if (d == 0xffffffff) {
        return true;
    }
    if (!netcfg.have4) {
        return netcfg.dhcp;             /* DHCP offers come to the new address */
    }
    if (ip_eq(dst, &netcfg.ip4)) {
        return true;
    }
    /* subnet broadcast */
    return ip4_on_link(dst) && (d | (0xffffffffu >> netcfg.prefix4)) == d;
}

void ipv4_input(const u8 *frame, const u8 *p, size_t len)
{
    size_t hl, tot;
    ipaddr src, dst;

    if (len < IP4_HLEN || (p[0] >> 4) != 4) {
        goto drop;
    }
    hl = (size_t)(p[0] & 0xf) * 4;
    tot = be16(p + 2);
    if (hl < IP4_HLEN || tot < hl || tot > len) {
        goto drop;
    }
    if (csum_fold(csum_add(0, p, hl)) != 0) {
        goto drop;
    }
    if (be16(p + 6) & 0x3fff) {         /* MF set or a fragment offset */
        goto drop;
    }
    ip_from_v4(&src, p + 12);
    ip_from_v4(&dst, p + 16);
    if (!ip4_for_me(&dst) || (p[12] & 0xf0) == 0xe0 || be32(p + 12) == 0xffffffff ||
        (netcfg.have4 && ip_eq(&src, &netcfg.ip4))) {
        goto drop;          /* not ours, or from a multicast/broadcast/our own address */
    }
    if (be32(p + 12) != 0 && ip4_on_link(&src)) {
        neigh_update(&src, frame + ETH_ALEN);
    }
    switch (p[9]) {
    case IPPROTO_ICMP:
        icmp_input(&src, &dst, p + hl, tot - hl);
        return;
    case IPPROTO_UDP:
        udp_input(&src, &dst, p + hl, tot - hl);
        return;
    case IPPROTO_TCP:
        if (be32(dst.b + 12) == 0xffffffff || !ip_eq(&dst, &netcfg.ip4)) {
            goto drop;                  /* TCP is unicast only */
        }
        tcp_input(&src, &dst, p + hl, tot - hl);
        return;
    default:
        break;
    }
drop:
    NET_STAT(rx_dropped);
}
