/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frame parsing and connection keys for COLO's network proxy (see
 * include/net/colo.h). Every read goes through a bounds check against
 * the frame's real length first; a header that does not fit, or a length
 * field that points past the frame, makes the frame malformed.
 */
#include <string.h>
#include "net/colo.h"

#define ETH_HLEN        14
#define ETH_P_IP        0x0800
#define ETH_P_ARP       0x0806
#define ETH_P_8021Q     0x8100
#define ETH_P_8021AD    0x88a8
#define ETH_P_QINQ_OLD  0x9100
#define ETH_P_IPV6      0x86dd

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_    1
#define IPPROTO_TCP_     6
#define IPPROTO_UDP_     17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAG_    44
#define IPPROTO_AH_      51
#define IPPROTO_ICMPV6_  58
#define IPPROTO_NONE_    59
#define IPPROTO_DSTOPTS_ 60

const char *const colo_proto_names[COLO_PROTO__MAX] = {
    [COLO_PROTO_TCP] = "tcp",
    [COLO_PROTO_UDP] = "udp",
    [COLO_PROTO_ICMP] = "icmp",
    [COLO_PROTO_ICMPV6] = "icmpv6",
    [COLO_PROTO_ARP] = "arp",
    [COLO_PROTO_IP_FRAGMENT] = "ip-fragment",
    [COLO_PROTO_IP_OTHER] = "ip-other",
    [COLO_PROTO_OTHER] = "other",
    [COLO_PROTO_MALFORMED] = "malformed",
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* Marks the frame malformed: its payload becomes everything after the
 * vnet header, so two identical malformed frames still compare equal. */
static bool malformed(ColoPacket *pkt, size_t len, const char *why)
{
    pkt->proto = COLO_PROTO_MALFORMED;
    pkt->malformed = why;
    pkt->ip_version = 0;
    pkt->addr_len = 0;
    pkt->payload_off = pkt->l2_off <= len ? pkt->l2_off : len;
    pkt->payload_len = len - pkt->payload_off;
    return false;
}

/* L4 header at buf[off..end): fills ports, TCP fields and the payload. */
static bool parse_l4(const uint8_t *buf, size_t off, size_t end, size_t len,
                     ColoPacket *pkt)
{
    size_t avail = end - off;

    pkt->l4_off = off;
    switch (pkt->ip_proto) {
    case IPPROTO_TCP_: {
        size_t doff;

        if (avail < 20) {
            return malformed(pkt, len, "truncated TCP header");
        }
        doff = (size_t)(buf[off + 12] >> 4) * 4;
        if (doff < 20 || doff > avail) {
            return malformed(pkt, len, "bad TCP data offset");
        }
        pkt->proto = COLO_PROTO_TCP;
        pkt->sport = rd16(buf + off);
        pkt->dport = rd16(buf + off + 2);
        pkt->seq = rd32(buf + off + 4);
        pkt->ack = rd32(buf + off + 8);
        pkt->tcp_flags = buf[off + 13];
        pkt->payload_off = off + doff;
        pkt->payload_len = avail - doff;
        return true;
    }
    case IPPROTO_UDP_: {
        size_t ulen;

        if (avail < 8) {
            return malformed(pkt, len, "truncated UDP header");
        }
        ulen = rd16(buf + off + 4);
        if (ulen < 8 || ulen > avail) {
            return malformed(pkt, len, "bad UDP length");
        }
        pkt->proto = COLO_PROTO_UDP;
        pkt->sport = rd16(buf + off);
        pkt->dport = rd16(buf + off + 2);
        pkt->payload_off = off + 8;
        pkt->payload_len = ulen - 8;
        return true;
    }
    case IPPROTO_ICMP_:
    case IPPROTO_ICMPV6_:
        if (avail < 4) {
            return malformed(pkt, len, "truncated ICMP header");
        }
        pkt->proto = pkt->ip_proto == IPPROTO_ICMP_ ? COLO_PROTO_ICMP
                                                    : COLO_PROTO_ICMPV6;
        pkt->icmp_type = buf[off];
        pkt->icmp_code = buf[off + 1];
        /* the checksum (off + 2) is left out: offloading fills it late */
        pkt->payload_off = off + 4;
        pkt->payload_len = avail - 4;
        return true;
    default:
        pkt->proto = COLO_PROTO_IP_OTHER;
        pkt->payload_off = off;
        pkt->payload_len = avail;
        return true;
    }
}

static bool parse_ipv4(const uint8_t *buf, size_t off, size_t len,
                       ColoPacket *pkt)
{
    size_t avail = len - off, ihl, total;
    uint16_t frag;

    if (avail < 20) {
        return malformed(pkt, len, "truncated IPv4 header");
    }
    if (buf[off] >> 4 != 4) {
        return malformed(pkt, len, "IPv4 ethertype with another IP version");
    }
    ihl = (size_t)(buf[off] & 0xf) * 4;
    total = rd16(buf + off + 2);
    if (ihl < 20 || ihl > avail) {
        return malformed(pkt, len, "bad IPv4 header length");
    }
    /* total may be less than avail (Ethernet pads to 60 bytes), never more */
    if (total < ihl || total > avail) {
        return malformed(pkt, len, "bad IPv4 total length");
    }
    pkt->ip_version = 4;
    pkt->l3_len = total;
    pkt->ip_proto = buf[off + 9];
    pkt->addr_len = 4;
    memcpy(pkt->src, buf + off + 12, 4);
    memcpy(pkt->dst, buf + off + 16, 4);
    frag = rd16(buf + off + 6);
    if (frag & 0x3fff) {        /* MF set, or a non-zero offset */
        pkt->proto = COLO_PROTO_IP_FRAGMENT;
        pkt->payload_off = off + ihl;
        pkt->payload_len = total - ihl;
        return true;
    }
    return parse_l4(buf, off + ihl, off + total, len, pkt);
}

static bool parse_ipv6(const uint8_t *buf, size_t off, size_t len,
                       ColoPacket *pkt)
{
    size_t avail = len - off, end, p;
    uint8_t next;
    int i;

    if (avail < 40) {
        return malformed(pkt, len, "truncated IPv6 header");
    }
    if (buf[off] >> 4 != 6) {
        return malformed(pkt, len, "IPv6 ethertype with another IP version");
    }
    end = off + 40 + rd16(buf + off + 4);
    /* a zero payload length with a hop-by-hop option is a jumbogram: no
     * Ethernet frame carries one, so it is as bad as a lying length */
    if (end > len) {
        return malformed(pkt, len, "bad IPv6 payload length");
    }
    pkt->ip_version = 6;
    pkt->l3_len = end - off;
    pkt->addr_len = 16;
    memcpy(pkt->src, buf + off + 8, 16);
    memcpy(pkt->dst, buf + off + 24, 16);
    next = buf[off + 6];
    p = off + 40;
    /* Walk at most COLO_IPV6_EXT_MAX extension headers: each one only
     * moves forward (at least 8 bytes), and the bound caps the work. */
    for (i = 0;; i++) {
        size_t hlen;

        if (next != IPPROTO_HOPOPTS_ && next != IPPROTO_ROUTING_ &&
            next != IPPROTO_DSTOPTS_ && next != IPPROTO_FRAG_ &&
            next != IPPROTO_AH_) {
            break;
        }
        if (i == COLO_IPV6_EXT_MAX) {
            return malformed(pkt, len, "too many IPv6 extension headers");
        }
        if (end - p < 8) {
            return malformed(pkt, len, "truncated IPv6 extension header");
        }
        if (next == IPPROTO_FRAG_) {
            hlen = 8;
            if (rd16(buf + p + 2) & 0xfff9) {   /* offset, or M set */
                pkt->ip_proto = buf[p];
                pkt->proto = COLO_PROTO_IP_FRAGMENT;
                pkt->payload_off = p + 8;
                pkt->payload_len = end - (p + 8);
                return true;
            }
        } else if (next == IPPROTO_AH_) {
            hlen = ((size_t)buf[p + 1] + 2) * 4;
        } else {
            hlen = ((size_t)buf[p + 1] + 1) * 8;
        }
        if (hlen > end - p) {
            return malformed(pkt, len, "bad IPv6 extension header length");
        }
        next = buf[p];
        p += hlen;
    }
    pkt->ip_proto = next;
    if (next == IPPROTO_NONE_) {
        pkt->proto = COLO_PROTO_IP_OTHER;
        pkt->payload_off = p;
        pkt->payload_len = end - p;
        return true;
    }
    return parse_l4(buf, p, end, len, pkt);
}

static bool parse_arp(const uint8_t *buf, size_t off, size_t len,
                      ColoPacket *pkt)
{
    const uint8_t *a = buf + off;

    if (len - off < 28) {
        return malformed(pkt, len, "truncated ARP packet");
    }
    /* Ethernet hardware, IPv4 protocol: the only ARP a guest sends */
    if (rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4) {
        return malformed(pkt, len, "ARP for other than Ethernet/IPv4");
    }
    pkt->proto = COLO_PROTO_ARP;
    pkt->addr_len = 4;
    memcpy(pkt->src, a + 14, 4);
    memcpy(pkt->dst, a + 24, 4);
    pkt->payload_off = off;
    pkt->payload_len = 28;
    return true;
}

bool colo_packet_parse(const uint8_t *buf, size_t len, size_t vnet_hdr_len,
                       ColoPacket *pkt)
{
    size_t off;

    memset(pkt, 0, sizeof(*pkt));
    pkt->l2_off = vnet_hdr_len;
    if (vnet_hdr_len > len || len - vnet_hdr_len < ETH_HLEN) {
        return malformed(pkt, len, "truncated Ethernet header");
    }
    off = vnet_hdr_len + 12;
    pkt->ethertype = rd16(buf + off);
    off += 2;
    while (pkt->ethertype == ETH_P_8021Q || pkt->ethertype == ETH_P_8021AD ||
           pkt->ethertype == ETH_P_QINQ_OLD) {
        if (pkt->nvlan == COLO_VLAN_MAX) {
            return malformed(pkt, len, "more than two VLAN tags");
        }
        if (len - off < 4) {
            return malformed(pkt, len, "truncated VLAN tag");
        }
        pkt->vlan[pkt->nvlan++] = rd16(buf + off) & 0xfff;
        pkt->ethertype = rd16(buf + off + 2);
        off += 4;
    }
    pkt->l3_off = off;
    pkt->l3_len = len - off;
    switch (pkt->ethertype) {
    case ETH_P_IP:
        return parse_ipv4(buf, off, len, pkt);
    case ETH_P_IPV6:
        return parse_ipv6(buf, off, len, pkt);
    case ETH_P_ARP:
        return parse_arp(buf, off, len, pkt);
    default:
        pkt->proto = COLO_PROTO_OTHER;
        pkt->payload_off = vnet_hdr_len;
        pkt->payload_len = len - vnet_hdr_len;
        return true;
    }
}

void colo_conn_key_from_packet(const ColoPacket *pkt, ColoConnKey *key)
{
    const uint8_t *a = pkt->src, *b = pkt->dst;
    uint16_t pa = pkt->sport, pb = pkt->dport;
    int c;

    memset(key, 0, sizeof(*key));
    key->proto = pkt->proto;
    key->nvlan = pkt->nvlan;
    memcpy(key->vlan, pkt->vlan, sizeof(key->vlan));
    if (pkt->proto == COLO_PROTO_MALFORMED) {
        return;     /* one pseudo-connection per VLAN set */
    }
    key->ethertype = pkt->ethertype;
    if (pkt->proto == COLO_PROTO_OTHER) {
        return;
    }
    key->ip_proto = pkt->ip_proto;
    if (pkt->proto != COLO_PROTO_TCP && pkt->proto != COLO_PROTO_UDP) {
        pa = pb = 0;
    }
    c = memcmp(a, b, pkt->addr_len);
    if (c > 0 || (c == 0 && pa > pb)) {
        const uint8_t *t = a;
        uint16_t tp = pa;

        a = b;
        b = t;
        pa = pb;
        pb = tp;
    }
    memcpy(key->addr_a, a, pkt->addr_len);
    memcpy(key->addr_b, b, pkt->addr_len);
    key->port_a = pa;
    key->port_b = pb;
}

unsigned colo_conn_key_hash(const void *key)
{
    const uint8_t *p = key;
    uint32_t h = 2166136261u;       /* FNV-1a */
    size_t i;

    for (i = 0; i < sizeof(ColoConnKey); i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

int colo_conn_key_equal(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(ColoConnKey)) == 0;
}
