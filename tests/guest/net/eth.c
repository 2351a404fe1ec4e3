/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: Ethernet II framing.  Accepts frames to our MAC, to
 * broadcast and to IPv6 multicast (33:33:...: NDP needs it); no VLANs.
 */
#include "net.h"

bool eth_for_me(const u8 *dst)
{
    static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    return !memcmp(dst, netcfg.mac, ETH_ALEN) || !memcmp(dst, bcast, ETH_ALEN) ||
           (dst[0] == 0x33 && dst[1] == 0x33);
}

void eth_input(const u8 *frame, size_t len)
{
    if (len < ETH_HLEN || !eth_for_me(frame)) {
        NET_STAT(rx_dropped);
        return;
    }
    switch (be16(frame + 12)) {
    case ETH_P_IP:
        ipv4_input(frame, frame + ETH_HLEN, len - ETH_HLEN);
        break;
    case ETH_P_ARP:
        arp_input(frame, frame + ETH_HLEN, len - ETH_HLEN);
        break;
    case ETH_P_IPV6:
        ipv6_input(frame, frame + ETH_HLEN, len - ETH_HLEN);
        break;
    default:
        NET_STAT(rx_dropped);
        break;
    }
}

void eth_fill(u8 *frame, const u8 *dst, u16 type)
{
    memcpy(frame, dst, ETH_ALEN);
    memcpy(frame + ETH_ALEN, netcfg.mac, ETH_ALEN);
    put_be16(frame + 12, type);
}
