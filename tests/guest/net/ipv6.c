/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: IPv6 input.  Accepts packets to our link-local
 * address, our configured address, all-nodes (ff02::1) and our
 * solicited-node groups; no extension headers (a packet with one, e.g.
 * an MLD query's hop-by-hop header, is dropped).  Payload length is
 * checked against the frame and Ethernet padding cut off.
 */
#include "net.h"

static bool solicited_node_of(const ipaddr *dst, const ipaddr *a)
{
    static const u8 prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

    return !memcmp(dst->b, prefix, 13) && !memcmp(dst->b + 13, a->b + 13, 3);
}

bool ip6_is_mine(const ipaddr *a)
{
    return ip_eq(a, &netcfg.ll6) || (netcfg.have6 && ip_eq(a, &netcfg.ip6));
}

static bool ip6_for_me(const ipaddr *dst)
{
    static const u8 all_nodes[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

    return ip6_is_mine(dst) || !memcmp(dst->b, all_nodes, 16) ||
           solicited_node_of(dst, &netcfg.ll6) ||
           (netcfg.have6 && solicited_node_of(dst, &netcfg.ip6));
}

void ipv6_input(const u8 *frame, const u8 *p, size_t len)
{
    ipaddr src, dst;
    size_t plen;

    if (len < IP6_HLEN || (p[0] >> 4) != 6) {
        goto drop;
    }
    plen = be16(p + 4);
    if (plen > len - IP6_HLEN) {
        goto drop;
    }
    memcpy(src.b, p + 8, 16);
    memcpy(dst.b, p + 24, 16);
    if (!ip6_for_me(&dst) || src.b[0] == 0xff || ip_is_v4(&src) || ip_is_v4(&dst) ||
        ip6_is_mine(&src)) {
        goto drop;
    }
    if (!ip_is_zero(&src)) {
        neigh_update(&src, frame + ETH_ALEN);
    }
    switch (p[6]) {
    case IPPROTO_ICMPV6:
        icmp6_input(frame, &src, &dst, p[7], p + IP6_HLEN, plen);
        return;
    case IPPROTO_UDP:
        if (!ip_is_zero(&src)) {
            udp_input(&src, &dst, p + IP6_HLEN, plen);
        }
        return;
    case IPPROTO_TCP:
        if (!ip6_is_mine(&dst) || ip_is_zero(&src)) {
            goto drop;                  /* TCP is unicast only */
        }
        tcp_input(&src, &dst, p + IP6_HLEN, plen);
        return;
    default:
        break;
    }
drop:
    NET_STAT(rx_dropped);
}
