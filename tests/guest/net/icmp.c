/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: ICMP (IPv4) echo.  Requests to our unicast address
 * get a reply with the same identifier, sequence and data; replies go to
 * the ping client (ping.c); everything else ICMP is ignored.
 */
#include "net.h"

#define ICMP_ECHO_REPLY     0
#define ICMP_ECHO_REQUEST   8

void icmp_input(const ipaddr *src, const ipaddr *dst, const u8 *p, size_t len)
{
    struct txbuf t;
    u8 *r;

    if (len < 8 || csum_fold(csum_add(0, p, len)) != 0) {
        NET_STAT(rx_dropped);
        return;
    }
    if (p[0] == ICMP_ECHO_REPLY && p[1] == 0 && ip_eq(dst, &netcfg.ip4)) {
        ping_reply(src, p, len);
        return;
    }
    if (p[0] != ICMP_ECHO_REQUEST || p[1] != 0 || !ip_eq(dst, &netcfg.ip4)) {
        return;
    }
    if (!net_tx_get(&t)) {
        return;
    }
    r = net_tx_l4(&t, src);
    memcpy(r, p, len);
    r[0] = ICMP_ECHO_REPLY;
    put_be16(r + 2, 0);
    put_be16(r + 2, csum_fold(csum_add(0, r, len)));
    if (ip_send(&t, IPPROTO_ICMP, dst, src, len)) {
        NET_STAT(icmp_echo);
    }
}
