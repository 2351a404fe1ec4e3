/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: UDP.  Port 7 echoes each datagram back to its
 * sender (unless it came from a port below 1024, which could be another
 * echo service: spoofed, that would loop forever); port 68 is the DHCP
 * client.  Length and checksum are checked
 * first (a zero checksum means "none" for IPv4 only; IPv6 requires one).
 */
#include "net.h"

#define UDP_HLEN        8
#define UDP_PORT_ECHO   7
#define UDP_PORT_DHCPC  68

bool udp_send(const ipaddr *src, const ipaddr *dst, u16 sport, u16 dport,
              const u8 *data, size_t len)
{
    struct txbuf t;
    u8 *u;
    u16 sum;

    if (len + UDP_HLEN + ip_hlen(dst) > ETH_MTU || !net_tx_get(&t)) {
        return false;
    }
    u = net_tx_l4(&t, dst);
    put_be16(u, sport);
    put_be16(u + 2, dport);
    put_be16(u + 4, (u16)(UDP_HLEN + len));
    put_be16(u + 6, 0);
    memcpy(u + UDP_HLEN, data, len);
    sum = ip_l4_csum(src, dst, IPPROTO_UDP, u, UDP_HLEN + len);
    put_be16(u + 6, sum ? sum : 0xffff);
    return ip_send(&t, IPPROTO_UDP, src, dst, UDP_HLEN + len);
}

void udp_input(const ipaddr *src, const ipaddr *dst, const u8 *p, size_t len)
{
    size_t ulen;
    u16 dport;

    if (len < UDP_HLEN) {
        goto drop;
    }
    ulen = be16(p + 4);
    if (ulen < UDP_HLEN || ulen > len) {
        goto drop;
    }
    if ((be16(p + 6) || !ip_is_v4(src)) &&
        ip_l4_csum(src, dst, IPPROTO_UDP, p, ulen) != 0) {
        goto drop;
    }
    dport = be16(p + 2);
    if (dport == UDP_PORT_DHCPC && ip_is_v4(src)) {
        dhcp_input(p + UDP_HLEN, ulen - UDP_HLEN);
        return;
    }
    /* Not from a well-known port: two echo services must not ping-pong. */
    if (dport == UDP_PORT_ECHO && be16(p) >= 1024 && dst->b[0] != 0xff && be32(dst->b + 12) != 0xffffffff &&
        (ip_eq(dst, &netcfg.ip4) || ip_eq(dst, &netcfg.ip6) || ip_eq(dst, &netcfg.ll6))) {
        if (udp_send(dst, src, dport, be16(p), p + UDP_HLEN, ulen - UDP_HLEN)) {
            NET_STAT(udp_echo);
        }
        return;
    }
    return;                             /* closed port: quietly ignored */
drop:
    NET_STAT(rx_dropped);
}
