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
#include "fuzz-tcp-seed.h"

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
    sum = fuzz_sum16(sum, pkt.src, pkt.addr_len);
    sum = fuzz_sum16(sum, pkt.dst, pkt.addr_len);
    sum += 6 + (tcp_len & 0xffff) + (tcp_len >> 16);
    sum = fuzz_sum16(sum, buf + pkt.l4_off, tcp_len);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum == 0xffff;
}

/* ---- seeds ---- */

/* One step towards (op 0) or from (op 1) the secondary's guest. */
static void seed_frame(GByteArray *in, bool to_svm, uint16_t port,
                       uint32_t seq, uint32_t ack, uint8_t flags, size_t plen)
{
    fuzz_tcp_seed_step(in, to_svm ? 0 : 1, !to_svm, port, seq, ack, flags,
                       plen);
}

static void write_seeds(const char *dir)
{
    for (int n = 0; n < 4; n++) {
        g_autoptr(GByteArray) in = g_byte_array_new();
        g_autofree char *name = g_strdup_printf("seed-%d", n);
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
        fuzz_seed_write("fuzz-rewriter", dir, name, in);
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
