/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO's frame parser (include/net/colo.h) on synthetic frames: each
 * protocol's offsets and fields, VLAN and QinQ, the vnet header, and
 * hostile frames (every truncation of valid frames, lying lengths,
 * extension-header chains past the bound, 64 KiB frames, fragments)
 * classified without reading past the frame (ASan builds watch that; the
 * frames are copied into exact-size heap buffers for it).
 */
#include <string.h>
#include <glib.h>
#include "net/colo.h"
#include "colo-frame.h"

static const char payload[] = "GET / HTTP/1.1\r\n\r\n";

/* Parses a copy of b in a buffer of exactly its size. */
static bool parse(const GByteArray *b, size_t vnet, ColoPacket *pkt)
{
    g_autofree uint8_t *copy = g_memdup2(b->data, b->len);

    return colo_packet_parse(copy, b->len, vnet, pkt);
}

static void test_tcp4(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_TCP);
    g_autoptr(GByteArray) b = NULL;
    ColoPacket p;

    o.tcp_timestamp = true;
    o.seq = 0xfffffff0;
    b = colo_frame_build(&o, payload, sizeof(payload));
    g_assert_true(parse(b, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_TCP);
    g_assert_cmpint(p.ip_version, ==, 4);
    g_assert_cmpuint(p.l3_off, ==, 14);
    g_assert_cmpuint(p.l4_off, ==, 34);
    g_assert_cmpuint(p.payload_off, ==, 34 + 32);
    g_assert_cmpuint(p.payload_len, ==, sizeof(payload));
    g_assert_cmpmem(b->data + p.payload_off, p.payload_len,
                    payload, sizeof(payload));
    g_assert_cmpuint(p.sport, ==, 5000);
    g_assert_cmpuint(p.dport, ==, 80);
    g_assert_cmphex(p.seq, ==, 0xfffffff0);
    g_assert_cmphex(p.tcp_flags, ==, COLO_TCP_ACK);
    g_assert_cmpmem(p.src, 4, ((uint8_t[]){ 10, 0, 0, 1 }), 4);
}

static void test_udp_icmp_vnet(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_UDP);
    g_autoptr(GByteArray) u = NULL, i = NULL;
    ColoPacket p;

    o.vnet_hdr_len = 12;
    u = colo_frame_build(&o, "dns?", 4);
    g_assert_true(parse(u, 12, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_UDP);
    g_assert_cmpuint(p.payload_off, ==, 12 + 14 + 20 + 8);
    g_assert_cmpuint(p.payload_len, ==, 4);
    /* the same frame read without the vnet header is something else */
    g_assert_cmpint(parse(u, 0, &p) ? p.proto : COLO_PROTO_MALFORMED, !=,
                    COLO_PROTO_UDP);

    o = colo_frame_opts(CF_ICMP);
    o.icmp_type = 8;
    i = colo_frame_build(&o, "\0\1\0\2ping", 8);
    g_assert_true(parse(i, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_ICMP);
    g_assert_cmpuint(p.icmp_type, ==, 8);
    g_assert_cmpuint(p.payload_off, ==, 14 + 20 + 4);
    g_assert_cmpuint(p.payload_len, ==, 8);
}

static void test_ipv6_ext(void)
{
    ColoFrameOpts o = colo_frame_opts6(CF_TCP);
    g_autoptr(GByteArray) b = NULL, c = NULL;
    ColoPacket p;

    o.ipv6_ext = 3;
    b = colo_frame_build(&o, payload, 5);
    g_assert_true(parse(b, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_TCP);
    g_assert_cmpint(p.ip_version, ==, 6);
    g_assert_cmpuint(p.l4_off, ==, 14 + 40 + 3 * 8);
    g_assert_cmpuint(p.payload_len, ==, 5);

    o = colo_frame_opts6(CF_ICMP);
    c = colo_frame_build(&o, "echo", 4);
    g_assert_true(parse(c, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_ICMPV6);
    g_assert_cmpuint(p.icmp_type, ==, 128);
}

static void test_ipv6_ext_bound(void)
{
    ColoFrameOpts o = colo_frame_opts6(CF_UDP);
    g_autoptr(GByteArray) ok = NULL, over = NULL;
    ColoPacket p;

    o.ipv6_ext = COLO_IPV6_EXT_MAX;
    ok = colo_frame_build(&o, "x", 1);
    g_assert_true(parse(ok, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_UDP);

    /* a chain longer than the bound (a "loop" of options headers that
     * would otherwise be walked to the end of a 64 KiB frame) */
    o.ipv6_ext = 1000;
    over = colo_frame_build(&o, "x", 1);
    g_assert_false(parse(over, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_MALFORMED);
    g_assert_cmpstr(p.malformed, ==, "too many IPv6 extension headers");
}

static void test_vlan_qinq_arp(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_UDP);
    g_autoptr(GByteArray) one = NULL, two = NULL, three = NULL, arp = NULL;
    ColoPacket p;

    o.nvlan = 1;
    o.vlan[0] = 100;
    one = colo_frame_build(&o, "a", 1);
    g_assert_true(parse(one, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_UDP);
    g_assert_cmpuint(p.nvlan, ==, 1);
    g_assert_cmpuint(p.vlan[0], ==, 100);
    g_assert_cmpuint(p.l3_off, ==, 18);

    o.nvlan = 2;
    o.vlan[0] = 7;
    o.vlan[1] = 0x2000 | 200;       /* priority bits are not the id */
    two = colo_frame_build(&o, "a", 1);
    g_assert_true(parse(two, 0, &p));
    g_assert_cmpuint(p.nvlan, ==, 2);
    g_assert_cmpuint(p.vlan[0], ==, 7);
    g_assert_cmpuint(p.vlan[1], ==, 200);
    g_assert_cmpuint(p.l3_off, ==, 22);

    o.nvlan = 3;
    three = colo_frame_build(&o, "a", 1);
    g_assert_false(parse(three, 0, &p));

    o = colo_frame_opts(CF_ARP);
    arp = colo_frame_build(&o, NULL, 0);
    g_assert_true(parse(arp, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_ARP);
    g_assert_cmpuint(p.payload_len, ==, 28);
    g_assert_cmpmem(p.dst, 4, o.dst, 4);
}

static void test_fragments(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_UDP);
    g_autoptr(GByteArray) first = NULL, later = NULL;
    ColoPacket p;

    o.frag = 0x2000;                /* MF, offset 0 */
    first = colo_frame_build(&o, "abcdefgh", 8);
    g_assert_true(parse(first, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_IP_FRAGMENT);
    g_assert_cmpuint(p.payload_len, ==, 16);    /* UDP header + 8 */
    o.frag = 2;                     /* offset 16, last */
    later = colo_frame_build(&o, "tail", 4);
    g_assert_true(parse(later, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_IP_FRAGMENT);
}

/* Lying length fields: each classified malformed with its reason. */
static void test_bad_lengths(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_TCP);
    g_autoptr(GByteArray) b = colo_frame_build(&o, payload, 10);
    g_autoptr(GByteArray) u = NULL, v6 = NULL;
    ColoPacket p;

    b->data[16] = 0x7f;             /* total length past the frame */
    g_assert_false(parse(b, 0, &p));
    g_assert_cmpstr(p.malformed, ==, "bad IPv4 total length");
    g_assert_cmpuint(p.payload_len, ==, b->len);
    b->data[16] = 0;
    b->data[17] = 19;               /* total length under the header */
    g_assert_false(parse(b, 0, &p));
    g_assert_cmpstr(p.malformed, ==, "bad IPv4 total length");
    b->data[17] = 20 + 20 + 10;
    b->data[14] = 0x4f;             /* 60-byte header */
    g_assert_false(parse(b, 0, &p));
    b->data[14] = 0x45;
    b->data[34 + 12] = 0xf0;        /* TCP data offset 60 > segment */
    g_assert_false(parse(b, 0, &p));
    g_assert_cmpstr(p.malformed, ==, "bad TCP data offset");
    b->data[34 + 12] = 0x40;        /* 16: under the minimum */
    g_assert_false(parse(b, 0, &p));
    b->data[34 + 12] = 0x50;
    g_assert_true(parse(b, 0, &p));

    o = colo_frame_opts(CF_UDP);
    u = colo_frame_build(&o, "abc", 3);
    u->data[34 + 5] = 200;          /* UDP length past the datagram */
    g_assert_false(parse(u, 0, &p));
    g_assert_cmpstr(p.malformed, ==, "bad UDP length");

    o = colo_frame_opts6(CF_UDP);
    v6 = colo_frame_build(&o, "abc", 3);
    v6->data[14 + 4] = 0xff;        /* payload length past the frame */
    g_assert_false(parse(v6, 0, &p));
    g_assert_cmpstr(p.malformed, ==, "bad IPv6 payload length");
}

/* Every prefix of every kind of valid frame: parsed or malformed, never
 * a read past the end (the copy is exactly n bytes). */
static void test_truncations(void)
{
    ColoFrameOpts opts[8];
    unsigned k, nopt = 0;
    size_t n;

    opts[nopt++] = colo_frame_opts(CF_TCP);
    opts[nopt++] = colo_frame_opts(CF_UDP);
    opts[nopt++] = colo_frame_opts(CF_ICMP);
    opts[nopt++] = colo_frame_opts(CF_ARP);
    opts[nopt++] = colo_frame_opts6(CF_TCP);
    opts[nopt] = colo_frame_opts6(CF_UDP);
    opts[nopt++].ipv6_ext = 2;
    opts[nopt] = colo_frame_opts(CF_TCP);
    opts[nopt].nvlan = 2;
    opts[nopt++].vnet_hdr_len = 10;
    for (k = 0; k < nopt; k++) {
        g_autoptr(GByteArray) b = colo_frame_build(&opts[k], payload, 6);
        size_t vnet = opts[k].vnet_hdr_len;
        unsigned malformed = 0;
        ColoPacket p;

        g_assert_true(parse(b, vnet, &p));
        for (n = 0; n < b->len; n++) {
            g_autofree uint8_t *copy = g_memdup2(b->data, n ? n : 1);

            if (!colo_packet_parse(copy, n, vnet, &p)) {
                malformed++;
                g_assert_nonnull(p.malformed);
                g_assert_cmpuint(p.payload_off + p.payload_len, <=, n);
            } else {
                g_assert_cmpuint(p.payload_off + p.payload_len, <=, n);
            }
        }
        /* every cut is caught: through a header, or under the length
         * the IP header (or ARP's fixed size) promises */
        g_assert_cmpuint(malformed, ==, b->len);
    }
}

static void test_64k(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_TCP);
    g_autofree uint8_t *big = g_malloc0(65535);
    g_autoptr(GByteArray) b = colo_frame_build(&o, big, 65535 - 40);
    g_autoptr(GByteArray) j = NULL;
    ColoPacket p;

    g_assert_true(parse(b, 0, &p));
    g_assert_cmpuint(p.payload_len, ==, 65535 - 40);
    /* a TSO frame bigger than any IPv4 total length can say: the header
     * claims 0 (wrapped), which is a lie */
    j = colo_frame_build(&o, big, 65535);
    g_assert_false(parse(j, 0, &p));
    g_assert_cmpint(p.proto, ==, COLO_PROTO_MALFORMED);
}

static void test_conn_key(void)
{
    ColoFrameOpts o = colo_frame_opts(CF_TCP), r = o;
    g_autoptr(GByteArray) a = NULL, b = NULL, c = NULL;
    ColoPacket pa, pb, pc;
    ColoConnKey ka, kb, kc;

    memcpy(r.src, o.dst, 4);
    memcpy(r.dst, o.src, 4);
    r.sport = o.dport;
    r.dport = o.sport;
    a = colo_frame_build(&o, "x", 1);
    b = colo_frame_build(&r, "y", 1);
    o.nvlan = 1;
    o.vlan[0] = 5;
    c = colo_frame_build(&o, "x", 1);
    g_assert_true(parse(a, 0, &pa) && parse(b, 0, &pb) && parse(c, 0, &pc));
    colo_conn_key_from_packet(&pa, &ka);
    colo_conn_key_from_packet(&pb, &kb);
    colo_conn_key_from_packet(&pc, &kc);
    /* both directions: one connection; another VLAN: another one */
    g_assert_true(colo_conn_key_equal(&ka, &kb));
    g_assert_cmpuint(colo_conn_key_hash(&ka), ==, colo_conn_key_hash(&kb));
    g_assert_false(colo_conn_key_equal(&ka, &kc));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo-parse/tcp4", test_tcp4);
    g_test_add_func("/colo-parse/udp-icmp-vnet", test_udp_icmp_vnet);
    g_test_add_func("/colo-parse/ipv6-ext", test_ipv6_ext);
    g_test_add_func("/colo-parse/ipv6-ext-bound", test_ipv6_ext_bound);
    g_test_add_func("/colo-parse/vlan-qinq-arp", test_vlan_qinq_arp);
    g_test_add_func("/colo-parse/fragments", test_fragments);
    g_test_add_func("/colo-parse/bad-lengths", test_bad_lengths);
    g_test_add_func("/colo-parse/truncations", test_truncations);
    g_test_add_func("/colo-parse/64k", test_64k);
    g_test_add_func("/colo-parse/conn-key", test_conn_key);
    return g_test_run();
}
