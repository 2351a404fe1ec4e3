/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Synthetic frames for the COLO network tests (colo-frame.h).
 */
#include <string.h>
#include "colo-frame.h"

ColoFrameOpts colo_frame_opts(ColoFrameL4 l4)
{
    ColoFrameOpts o = {
        .ip_version = 4, .l4 = l4, .ttl = 64, .ip_id = 1,
        .sport = 5000, .dport = 80, .seq = 1000, .ack = 1,
        .tcp_flags = 0x10, .window = 512, .icmp_type = 8,
    };

    memcpy(o.src, (uint8_t[]){ 10, 0, 0, 1 }, 4);
    memcpy(o.dst, (uint8_t[]){ 10, 0, 0, 2 }, 4);
    return o;
}

ColoFrameOpts colo_frame_opts6(ColoFrameL4 l4)
{
    ColoFrameOpts o = colo_frame_opts(l4);

    o.ip_version = 6;
    memset(o.src, 0, 16);
    memset(o.dst, 0, 16);
    o.src[0] = o.dst[0] = 0xfd;
    o.src[15] = 1;
    o.dst[15] = 2;
    if (l4 == CF_ICMP) {
        o.l4 = CF_ICMPV6;
        o.icmp_type = 128;
    }
    return o;
}

static void put8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void put16(GByteArray *b, uint16_t v)
{
    put8(b, v >> 8);
    put8(b, v & 0xff);
}

static void put32(GByteArray *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

static void set16(GByteArray *b, size_t off, uint16_t v)
{
    b->data[off] = v >> 8;
    b->data[off + 1] = v & 0xff;
}

GByteArray *colo_frame_build(const ColoFrameOpts *o, const void *payload,
                             size_t len)
{
    GByteArray *b = g_byte_array_new();
    static const uint8_t mac_dst[6] = { 0x52, 0x54, 0, 0, 0, 2 };
    static const uint8_t mac_src[6] = { 0x52, 0x54, 0, 0, 0, 1 };
    size_t l3, i;
    uint8_t next = o->l4;

    for (i = 0; i < o->vnet_hdr_len; i++) {
        put8(b, 0xee);
    }
    g_byte_array_append(b, mac_dst, 6);
    g_byte_array_append(b, mac_src, 6);
    for (i = 0; i < o->nvlan; i++) {
        put16(b, i == 0 && o->nvlan > 1 ? 0x88a8 : 0x8100);
        put16(b, o->vlan[i]);
    }
    if (o->l4 == CF_ARP) {
        put16(b, 0x0806);
        put16(b, 1);
        put16(b, 0x0800);
        put8(b, 6);
        put8(b, 4);
        put16(b, 1);                        /* request */
        g_byte_array_append(b, mac_src, 6);
        g_byte_array_append(b, o->src, 4);
        g_byte_array_append(b, (uint8_t[6]){ 0 }, 6);
        g_byte_array_append(b, o->dst, 4);
        return b;
    }
    put16(b, o->ip_version == 4 ? 0x0800 : 0x86dd);
    l3 = b->len;
    if (o->ip_version == 4) {
        put8(b, 0x45);
        put8(b, 0);
        put16(b, 0);                        /* total length, below */
        put16(b, o->ip_id);
        put16(b, o->frag);
        put8(b, o->ttl);
        put8(b, next);
        put16(b, 0xc5c5);                   /* header checksum */
        g_byte_array_append(b, o->src, 4);
        g_byte_array_append(b, o->dst, 4);
    } else {
        put32(b, 0x60000000 | (o->ip_id & 0xfffff));    /* flow label */
        put16(b, 0);                        /* payload length, below */
        put8(b, o->ipv6_ext ? 60 : next);
        put8(b, o->ttl);
        g_byte_array_append(b, o->src, 16);
        g_byte_array_append(b, o->dst, 16);
        for (i = 0; i < o->ipv6_ext; i++) {
            put8(b, i + 1 < o->ipv6_ext ? 60 : next);
            put8(b, 0);                     /* 8 bytes */
            put16(b, 0x0104);               /* PadN, 4 bytes */
            put32(b, 0);
        }
    }
    switch (o->l4) {
    case CF_TCP:
        put16(b, o->sport);
        put16(b, o->dport);
        put32(b, o->seq);
        put32(b, o->ack);
        put8(b, (o->tcp_timestamp ? 8 : 5) << 4);
        put8(b, o->tcp_flags);
        put16(b, o->window);
        put16(b, o->csum);
        put16(b, 0);
        if (o->tcp_timestamp) {
            put8(b, 1);
            put8(b, 1);
            put8(b, 8);
            put8(b, 10);
            put32(b, o->tsval);
            put32(b, 0);
        }
        break;
    case CF_UDP:
        put16(b, o->sport);
        put16(b, o->dport);
        put16(b, 8 + len);
        put16(b, o->csum);
        break;
    default:                                /* ICMP, ICMPv6 */
        put8(b, o->icmp_type);
        put8(b, o->icmp_code);
        put16(b, o->csum);
        break;
    }
    g_byte_array_append(b, payload, len);
    if (o->ip_version == 4) {
        set16(b, l3 + 2, b->len - l3);
    } else {
        set16(b, l3 + 4, b->len - l3 - 40);
    }
    return b;
}
