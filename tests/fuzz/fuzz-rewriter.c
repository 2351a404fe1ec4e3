/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for filter-rewriter's frame path
 * (include/net/filter-rewriter.h): every frame comes from a guest or the
 * outside, so every byte is hostile. Each input is a script of frames fed
 * to one connection table towards or from the secondary, with checkpoints
 * and a failover in between. Besides ASan/UBSan/LSan watching, one
 * property is checked on every frame: a TCP frame whose checksum was
 * right before the rewrite is still right after it (the RFC 1624 patch
 * against a full recomputation).
 *
 * Input:
 *   byte 0      vnet header length: byte % 3 -> 0, 10 or 12
 *   then steps: byte op, byte len, len bytes of frame
 *     op % 4 == 0: to the SVM, 1: from the SVM, 2: checkpoint,
 *     3: failover (then frames go on)
 *
 * Seeds are written by the binary itself (FUZZ_REWRITER_SEEDS=DIR): TCP
 * handshakes and data both ways with right checksums, so mutations start
 * from frames the rewriter translates.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "net/colo.h"
#include "net/filter-rewriter.h"

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    return sum;
}

/*
 * 1: a TCP frame whose checksum verifies, 0: one whose does not, -1:
 * not checkable (no TCP, IPv6 extension headers, NEEDS_CSUM).
 */
static int tcp_csum_ok(const uint8_t *buf, size_t len, size_t vnet)
{
    ColoPacket pkt;
    uint32_t sum = 0;
    size_t tcp_len;

    if (!colo_packet_parse(buf, len, vnet, &pkt) ||
        pkt.proto != COLO_PROTO_TCP || (vnet && (buf[0] & 1)) ||
        (pkt.ip_version == 6 && pkt.l4_off != pkt.l3_off + 40)) {
        return -1;
    }
    tcp_len = pkt.l3_off + pkt.l3_len - pkt.l4_off;
    if (tcp_len < 20 || pkt.l4_off + tcp_len > len) {
        return -1;
    }
    sum = sum16(sum, pkt.src, pkt.addr_len);
    sum = sum16(sum, pkt.dst, pkt.addr_len);
    sum += 6 + (tcp_len & 0xffff) + (tcp_len >> 16);
    sum = sum16(sum, buf + pkt.l4_off, tcp_len);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum == 0xffff;
}

/* ---- seeds ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* One step: op, len, an IPv4 TCP frame between 10.0.0.2:80 (the guest)
 * and 10.0.0.1:port with a right checksum. */
static void seed_frame(GByteArray *in, bool to_svm, uint16_t port,
                       uint32_t seq, uint32_t ack, uint8_t flags, size_t plen)
{
    uint8_t f[14 + 20 + 20 + 64] = { 0 };
    uint8_t *ip = f + 14, *tcp = ip + 20;
    size_t tcp_len = 20 + plen;
    uint32_t sum;
    uint8_t step[2] = { to_svm ? 0 : 1, 14 + 20 + tcp_len };

    memset(f, 0x52, 12);
    put16(f + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, 20 + tcp_len);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, to_svm ? 0x0a000001 : 0x0a000002);
    put32(ip + 16, to_svm ? 0x0a000002 : 0x0a000001);
    put16(tcp, to_svm ? port : 80);
    put16(tcp + 2, to_svm ? 80 : port);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    for (size_t i = 0; i < plen; i++) {
        tcp[20 + i] = 'a' + i % 26;
    }
    sum = sum16(0, ip + 12, 8) + 6 + tcp_len;
    sum = sum16(sum, tcp, tcp_len);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    put16(tcp + 16, ~sum);
    g_byte_array_append(in, step, 2);
    g_byte_array_append(in, f, step[1]);
}

static void write_seeds(const char *dir)
{
    for (int n = 0; n < 4; n++) {
        g_autoptr(GByteArray) in = g_byte_array_new();
        g_autofree char *path = g_strdup_printf("%s/seed-%d", dir, n);
        uint32_t isn_s = 1000 + n * 77777, isn_p = 0xfffff000u + n;
        uint8_t vnet = 0;

        g_byte_array_append(in, &vnet, 1);
        seed_frame(in, true, 5000, 1, 0, COLO_TCP_SYN, 0);
        seed_frame(in, false, 5000, isn_s, 2, COLO_TCP_SYN | COLO_TCP_ACK, 0);
        seed_frame(in, true, 5000, 2, isn_p + 1, COLO_TCP_ACK, 10);
        seed_frame(in, false, 5000, isn_s + 1, 12, COLO_TCP_ACK, 30);
        if (n & 1) {
            uint8_t cp[2] = { 2, 0 };

            g_byte_array_append(in, cp, 2);
        }
        if (n & 2) {
            uint8_t fo[2] = { 3, 0 };

            g_byte_array_append(in, fo, 2);
        }
        seed_frame(in, false, 5000, isn_s + 31, 12,
                   COLO_TCP_FIN | COLO_TCP_ACK, 0);
        seed_frame(in, true, 5000, 12, isn_p + 32,
                   COLO_TCP_FIN | COLO_TCP_ACK, 0);
        if (!g_file_set_contents(path, (const char *)in->data, in->len,
                                 NULL)) {
            fprintf(stderr, "fuzz-rewriter: cannot write %s\n", path);
            exit(1);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_REWRITER_SEEDS");

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t vnet_lens[] = { 0, 10, 12 };
    size_t pos = 1, vnet;
    RewriterTable *t;

    if (size < 1) {
        return 0;
    }
    vnet = vnet_lens[data[0] % 3];
    t = rewriter_table_new();
    while (pos + 2 <= size) {
        uint8_t op = data[pos];
        size_t len = data[pos + 1];
        uint8_t *frame;
        int before;

        pos += 2;
        if (op % 4 == 2) {
            rewriter_checkpoint(t);
            continue;
        }
        if (op % 4 == 3) {
            rewriter_failover(t);
            continue;
        }
        if (len > size - pos) {
            len = size - pos;
        }
        /* An exact-size copy, so ASan sees any read past the frame. */
        frame = malloc(len ? len : 1);
        memcpy(frame, data + pos, len);
        pos += len;
        before = tcp_csum_ok(frame, len, vnet);
        if (rewriter_process(t, op % 4 == 0, frame, len, vnet) &&
            before == 1 && tcp_csum_ok(frame, len, vnet) != 1) {
            abort();    /* the patched checksum is wrong */
        }
        free(frame);
    }
    rewriter_table_free(t);
    return 0;
}
