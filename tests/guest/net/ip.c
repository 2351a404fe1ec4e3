/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: what IPv4 and IPv6 share: the Internet checksum, the
 * pseudo-header, source address choice, and the send path (next hop,
 * neighbour lookup, IP header, Ethernet header, queue).
 */
#include "net.h"

u32 csum_add(u32 sum, const u8 *p, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i += 2) {
        sum += (u32)(p[i] << 8 | p[i + 1]);
    }
    if (n & 1) {
        sum += (u32)p[n - 1] << 8;
    }
    return sum;
}

u16 csum_fold(u32 sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (u16)~sum;
}

u16 ip_l4_csum(const ipaddr *src, const ipaddr *dst, u8 proto,
               const u8 *l4, size_t len)
{
    u32 sum;

    if (ip_is_v4(src)) {
        sum = csum_add(0, src->b + 12, 4);
        sum = csum_add(sum, dst->b + 12, 4);
    } else {
        sum = csum_add(0, src->b, 16);
        sum = csum_add(sum, dst->b, 16);
        sum += (u32)(len >> 16);
    }
    sum += proto;
    sum += (u32)(len & 0xffff);
    return csum_fold(csum_add(sum, l4, len));
}

size_t ip_hlen(const ipaddr *dst)
{
    return ip_is_v4(dst) ? IP4_HLEN : IP6_HLEN;
}

bool ip4_on_link(const ipaddr *a)
{
    return netcfg.have4 && ip_prefix_eq(a, &netcfg.ip4, 96u + netcfg.prefix4);
}

static bool ip6_link_local(const ipaddr *a)
{
    return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

void ip_src_for(const ipaddr *dst, ipaddr *src)
{
    if (ip_is_v4(dst)) {
        *src = netcfg.ip4;      /* 0.0.0.0 mapped while DHCP runs */
        if (!netcfg.have4) {
            static const u8 zero[4];
            ip_from_v4(src, zero);
        }
    } else if (netcfg.have6 && !ip6_link_local(dst) && dst->b[0] != 0xff) {
        *src = netcfg.ip6;
    } else {
        *src = netcfg.ll6;
    }
}

/* Link-layer destination for dst; if unknown, false and *hop to ask for. */
static bool resolve(const ipaddr *dst, u8 mac[ETH_ALEN], const ipaddr **hop)
{
    *hop = dst;

    if (ip_is_v4(dst)) {
        if (be32(dst->b + 12) == 0xffffffff) {
            memset(mac, 0xff, ETH_ALEN);
            return true;
        }
        if (!ip4_on_link(dst) && netcfg.have_gw4) {
            *hop = &netcfg.gw4;
        }
        return neigh_lookup(*hop, mac);
    }
    if (dst->b[0] == 0xff) {            /* multicast: 33:33 + low 32 bits */
        mac[0] = 0x33;
        mac[1] = 0x33;
        memcpy(mac + 2, dst->b + 12, 4);
        return true;
    }
    if (!ip6_link_local(dst) && netcfg.have_gw6 &&
        !(netcfg.have6 && ip_prefix_eq(dst, &netcfg.ip6, netcfg.prefix6))) {
        *hop = &netcfg.gw6;
    }
    return neigh_lookup(*hop, mac);
}

bool ip_send(struct txbuf *t, u8 proto, const ipaddr *src, const ipaddr *dst,
             size_t l4_len)
{
    static u16 ip_id;
    size_t hlen = ip_hlen(dst);
    u8 mac[ETH_ALEN];
    u8 *ip = t->frame + ETH_HLEN;
    const ipaddr *hop;

    if (hlen + l4_len > ETH_MTU) {
        net_tx_put(t);
        NET_STAT(tx_dropped);
        return false;
    }
    if (!resolve(dst, mac, &hop)) {
        /* Drop this one (its sender retries) and ask who the next hop is. */
        net_tx_put(t);
        NET_STAT(tx_dropped);
        if (ip_is_v4(hop)) {
            arp_request(hop);
        } else {
            ndp_solicit(hop);
        }
        return false;
    }
    if (hlen == IP4_HLEN) {
        ip[0] = 0x45;
        ip[1] = 0;
        put_be16(ip + 2, (u16)(IP4_HLEN + l4_len));
        put_be16(ip + 4, ip_id++);
        put_be16(ip + 6, 0x4000);       /* DF: we never fragment */
        ip[8] = 64;
        ip[9] = proto;
        put_be16(ip + 10, 0);
        memcpy(ip + 12, src->b + 12, 4);
        memcpy(ip + 16, dst->b + 12, 4);
        put_be16(ip + 10, csum_fold(csum_add(0, ip, IP4_HLEN)));
        eth_fill(t->frame, mac, ETH_P_IP);
    } else {
        put_be32(ip, 0x60000000);
        put_be16(ip + 4, (u16)l4_len);
        ip[6] = proto;
        ip[7] = proto == IPPROTO_ICMPV6 ? 255 : 64;    /* NDP requires 255 */
        memcpy(ip + 8, src->b, 16);
        memcpy(ip + 24, dst->b, 16);
        eth_fill(t->frame, mac, ETH_P_IPV6);
    }
    net_tx_queue(t, ETH_HLEN + hlen + l4_len);
    return true;
}
