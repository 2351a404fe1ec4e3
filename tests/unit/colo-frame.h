/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Builds synthetic Ethernet frames for the COLO network tests: optional
 * vnet header and VLAN tags, then ARP, IPv4 or IPv6 (with extension
 * headers) carrying TCP, UDP, ICMP/ICMPv6 or raw bytes. Checksums are
 * filled with a marker, not computed: nothing here checks them.
 */
#ifndef TESTS_UNIT_COLO_FRAME_H
#define TESTS_UNIT_COLO_FRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef enum ColoFrameL4 {
    CF_TCP = 6,
    CF_UDP = 17,
    CF_ICMP = 1,
    CF_ICMPV6 = 58,
    CF_ARP = 256,           /* no IP: an ARP request */
} ColoFrameL4;

typedef struct ColoFrameOpts {
    size_t vnet_hdr_len;
    unsigned nvlan;
    uint16_t vlan[3];
    int ip_version;         /* 4 or 6 */
    ColoFrameL4 l4;
    uint8_t src[16], dst[16];
    uint8_t ttl;
    uint16_t ip_id;
    uint16_t frag;          /* IPv4 flags+offset field (MF = 0x2000) */
    unsigned ipv6_ext;      /* destination-options headers before L4 */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t tcp_flags;
    bool tcp_timestamp;     /* a 12-byte NOP,NOP,TS option */
    uint32_t tsval;
    uint16_t window;
    uint8_t icmp_type, icmp_code;
    uint16_t csum;          /* written into the L4 checksum field */
} ColoFrameOpts;

/* 10.0.0.1:5000 -> 10.0.0.2:80 TCP ACK, IPv4, TTL 64 */
ColoFrameOpts colo_frame_opts(ColoFrameL4 l4);
/* The same with IPv6 addresses fd00::1 -> fd00::2 */
ColoFrameOpts colo_frame_opts6(ColoFrameL4 l4);

GByteArray *colo_frame_build(const ColoFrameOpts *o, const void *payload,
                             size_t len);

#endif
