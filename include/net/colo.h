/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO's view of an Ethernet frame, shared by colo-compare and
 * filter-rewriter: one parse of the frame into offsets and the fields
 * both need (VLAN tags, addresses, ports, TCP sequence numbers), and the
 * connection key the two use to find a frame's connection. Pure code: no
 * threads, no I/O, no allocation; the frame is only read.
 *
 * The frame is hostile (it comes from a guest): every length in it is
 * checked against the bytes actually there, and a frame whose headers do
 * not fit, or whose lengths lie, is classified COLO_PROTO_MALFORMED with
 * the reason. colo_packet_parse() never reads past buf + len.
 *
 * Layout of what is parsed (the vnet header, if the netdev uses one, is
 * skipped unread):
 *
 *   [vnet hdr][dst mac][src mac]{[0x8100|0x88a8|0x9100][tci]}x0..2[type]
 *       type 0x0806: ARP (Ethernet/IPv4 only: 28 bytes)
 *       type 0x0800: IPv4 [hdr ihl*4][L4 ...total_len]
 *       type 0x86dd: IPv6 [40][ext hdrs, at most COLO_IPV6_EXT_MAX][L4]
 *   L4: TCP [doff*4][payload], UDP [8][payload len-8],
 *       ICMP / ICMPv6 [type code csum][rest]
 */
#ifndef NET_COLO_H
#define NET_COLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COLO_VLAN_MAX       2     /* 802.1Q, or QinQ (802.1ad + 802.1Q) */
#define COLO_IPV6_EXT_MAX   8     /* extension headers walked, then give up */

#define COLO_TCP_FIN        0x01
#define COLO_TCP_SYN        0x02
#define COLO_TCP_RST        0x04
#define COLO_TCP_ACK        0x10

/*
 * What a frame is, for comparison and statistics. Fragments of an IP
 * datagram have no usable L4 header (only the first carries it, and not
 * the whole payload): they are compared as IP payload bytes.
 */
typedef enum ColoProto {
    COLO_PROTO_TCP,
    COLO_PROTO_UDP,
    COLO_PROTO_ICMP,
    COLO_PROTO_ICMPV6,
    COLO_PROTO_ARP,
    COLO_PROTO_IP_FRAGMENT,
    COLO_PROTO_IP_OTHER,        /* IPv4/IPv6 with another protocol */
    COLO_PROTO_OTHER,           /* another ethertype */
    COLO_PROTO_MALFORMED,
    COLO_PROTO__MAX,
} ColoProto;

extern const char *const colo_proto_names[COLO_PROTO__MAX];

typedef struct ColoPacket {
    ColoProto proto;
    const char *malformed;      /* why, when proto is COLO_PROTO_MALFORMED */

    /* L2: offsets from the start of the buffer (vnet header included) */
    size_t l2_off;              /* = vnet_hdr_len */
    uint16_t ethertype;         /* innermost */
    uint8_t nvlan;
    uint16_t vlan[COLO_VLAN_MAX];   /* VLAN ids, outermost first */

    /* L3 */
    size_t l3_off;
    size_t l3_len;              /* the IP datagram without link padding */
    uint8_t ip_version;         /* 4, 6, or 0 */
    uint8_t ip_proto;           /* L4 protocol number (IPv6: last header) */
    uint8_t addr_len;           /* 4 (IPv4, ARP), 16 (IPv6) or 0 */
    uint8_t src[16], dst[16];

    /* L4 (when proto is TCP, UDP, ICMP or ICMPV6) */
    size_t l4_off;
    uint16_t sport, dport;
    uint32_t seq, ack;          /* TCP */
    uint8_t tcp_flags;
    uint8_t icmp_type, icmp_code;

    /* the bytes compared as "payload" (see docs/devel/colo-net.md) */
    size_t payload_off;
    size_t payload_len;
} ColoPacket;

/*
 * Parses the frame buf[0..len) whose first vnet_hdr_len bytes are a
 * virtio-net header. Always fills *pkt (a malformed frame gets proto
 * COLO_PROTO_MALFORMED, pkt->malformed, and its payload is the whole
 * frame after the vnet header, or nothing if that is missing too).
 * Returns false exactly when the frame is malformed.
 */
bool colo_packet_parse(const uint8_t *buf, size_t len, size_t vnet_hdr_len,
                       ColoPacket *pkt);

/*
 * A connection, independent of direction: the two endpoints are stored
 * in a fixed order (the smaller address:port first), so a packet and its
 * reply find the same connection. Laid out with no implicit padding so
 * it can be hashed and compared as bytes.
 *
 *   TCP/UDP: addresses, ports, protocol, VLANs
 *   ICMP/ICMPv6/fragments/other IP: addresses, protocol, VLANs (ports 0)
 *   ARP: sender and target protocol addresses, VLANs
 *   other ethertypes and malformed frames: ethertype (0 if malformed)
 *   and VLANs only, one pseudo-connection each
 */
typedef struct ColoConnKey {
    uint16_t ethertype;
    uint8_t proto;              /* ColoProto */
    uint8_t ip_proto;
    uint8_t nvlan;
    uint8_t pad[3];
    uint16_t vlan[COLO_VLAN_MAX];
    uint16_t port_a, port_b;
    uint8_t addr_a[16], addr_b[16];
} ColoConnKey;

void colo_conn_key_from_packet(const ColoPacket *pkt, ColoConnKey *key);
unsigned colo_conn_key_hash(const void *key);      /* GHashFunc shape */
int colo_conn_key_equal(const void *a, const void *b);  /* GEqualFunc */

#endif
