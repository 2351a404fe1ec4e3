/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the neighbour cache (both families) and ARP.
 *
 * The cache is small and fixed: NEIGH_MAX entries, the least recently
 * updated one is replaced.  Entries are learned from ARP requests aimed at
 * us and ARP replies, from NDP (ndp.c), and from the source of IP packets
 * that come from an on-link address (so a reply never waits for a
 * resolution the peer has just done the other way).  A packet to an
 * unknown next hop is dropped after sending a request: the peer's own
 * retransmission (TCP, ping) carries it once the answer is in.
 */
#include "net.h"

#define NEIGH_MAX       32
#define ARP_HLEN        28
#define ARP_REQUEST     1
#define ARP_REPLY       2

struct neigh {
    ipaddr ip;
    u8 mac[ETH_ALEN];
    bool valid;
    u64 stamp;                  /* net_now_ms at the last update */
};

static struct neigh neigh_tab[NEIGH_MAX];

bool neigh_lookup(const ipaddr *ip, u8 mac[ETH_ALEN])
{
    size_t i;

    for (i = 0; i < NEIGH_MAX; i++) {
        if (neigh_tab[i].valid && ip_eq(&neigh_tab[i].ip, ip)) {
            memcpy(mac, neigh_tab[i].mac, ETH_ALEN);
            return true;
        }
    }
    return false;
}

void neigh_update(const ipaddr *ip, const u8 *mac)
{
    struct neigh *n = NULL;
    size_t i;

    if (mac[0] & 1) {
        return;                 /* a multicast/broadcast source is bogus */
    }
    for (i = 0; i < NEIGH_MAX && !n; i++) {
        if (neigh_tab[i].valid && ip_eq(&neigh_tab[i].ip, ip)) {
            n = &neigh_tab[i];
        }
    }
    for (i = 0; i < NEIGH_MAX && !n; i++) {
        if (!neigh_tab[i].valid) {
            n = &neigh_tab[i];
        }
    }
    if (!n) {
        n = &neigh_tab[0];
        for (i = 1; i < NEIGH_MAX; i++) {
            if (neigh_tab[i].stamp < n->stamp) {
                n = &neigh_tab[i];
            }
        }
    }
    n->ip = *ip;
    memcpy(n->mac, mac, ETH_ALEN);
    n->valid = true;
    n->stamp = net_now_ms;
}

static void arp_send(u16 op, const u8 *tha, const u8 *eth_dst, const u8 *tpa)
{
    struct txbuf t;
    u8 *p;

    if (!net_tx_get(&t)) {
        return;
    }
    p = t.frame + ETH_HLEN;
    put_be16(p, 1);                     /* Ethernet */
    put_be16(p + 2, ETH_P_IP);
    p[4] = ETH_ALEN;
    p[5] = 4;
    put_be16(p + 6, op);
    memcpy(p + 8, netcfg.mac, ETH_ALEN);
    memcpy(p + 14, netcfg.ip4.b + 12, 4);
    memcpy(p + 18, tha, ETH_ALEN);
    memcpy(p + 24, tpa, 4);
    eth_fill(t.frame, eth_dst, ETH_P_ARP);
    net_tx_queue(&t, ETH_HLEN + ARP_HLEN);
}

void arp_request(const ipaddr *ip)
{
    static const u8 zero[ETH_ALEN], bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    if (netcfg.have4) {
        arp_send(ARP_REQUEST, zero, bcast, ip->b + 12);
    }
}

void arp_input(const u8 *frame, const u8 *p, size_t len)
{
    ipaddr spa, tpa;
    u16 op;

    if (len < ARP_HLEN || be16(p) != 1 || be16(p + 2) != ETH_P_IP ||
        p[4] != ETH_ALEN || p[5] != 4) {
        NET_STAT(rx_dropped);
        return;
    }
    op = be16(p + 6);
    ip_from_v4(&spa, p + 14);
    ip_from_v4(&tpa, p + 24);
    if (!netcfg.have4 || !ip_eq(&tpa, &netcfg.ip4)) {
        return;                         /* not about us: ignore quietly */
    }
    if (op != ARP_REQUEST && op != ARP_REPLY) {
        NET_STAT(rx_dropped);
        return;
    }
    if (be32(p + 14) != 0) {            /* 0.0.0.0: a probe, nothing to learn */
        neigh_update(&spa, p + 8);
    }
    if (op == ARP_REQUEST) {
        arp_send(ARP_REPLY, p + 8, frame + ETH_ALEN, p + 14);
    }
}
