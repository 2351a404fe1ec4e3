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
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
