/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for COLO's frame parser and comparison core
 * (include/net/colo.h, include/net/colo-compare-core.h): every frame is
 * guest output, so every byte is hostile. Each input is a script of
 * frames fed to one comparator as primary or secondary output, with the
 * expiry scan and the post-checkpoint flush in between; the parser's
 * offsets are checked to stay inside each frame, and ASan, UBSan and
 * LeakSanitizer watch the rest. Small bounds (queue 8, table 16) so the
 * bound paths are reached.
 *
 * Input:
 *   byte 0      vnet header length: byte % 3 -> 0, 10 or 12
 *   then steps: byte op, byte len, len bytes of frame
 *     op & 3 == 0: primary frame, 1: secondary frame,
 *     2: expiry scan, 3: flush; op >> 2 advances the clock (ms)
 *   A frame longer than 255 bytes: a len of 0 takes the next two bytes
 *   as a big-endian length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "net/colo.h"
#include "net/colo-compare-core.h"

static void fuzz_release(void *opaque, const uint8_t *frame, size_t len,
                         size_t vnet_hdr_len)
{
    size_t *released = opaque;

    /* touch every byte so ASan sees a bad copy */
    for (size_t i = 0; i < len; i++) {
        *released += frame[i] == 0x5a;
    }
    (*released)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t vnet_lens[] = { 0, 10, 12 };
    size_t released = 0, pos = 1;
    uint64_t now = 0;
    ColoCompareConfig cfg = {
        .compare_timeout_ns = 3000000000ULL,
        .max_queue_size = 8,
        .max_connections = 16,
        .release = fuzz_release,
        .opaque = &released,
    };
    ColoCompare *cc;

    if (size < 1) {
        return 0;
    }
    cfg.vnet_hdr_len = vnet_lens[data[0] % 3];
    cc = colo_compare_new(&cfg);
    while (pos + 2 <= size) {
        uint8_t op = data[pos];
        size_t len = data[pos + 1];
        ColoPacket pkt;

        pos += 2;
        now += (uint64_t)(op >> 2) * 1000000;
        if (len == 0 && pos + 2 <= size) {
            len = (size_t)data[pos] << 8 | data[pos + 1];
            pos += 2;
        }
        if (len > size - pos) {
            len = size - pos;
        }
        switch (op & 3) {
        case 0:
        case 1:
            /* the parser on its own, in an exact-size buffer */
            {
                uint8_t *copy = malloc(len ? len : 1);

                for (size_t i = 0; i < len; i++) {
                    copy[i] = data[pos + i];
                }
                colo_packet_parse(copy, len, cfg.vnet_hdr_len, &pkt);
                if (pkt.payload_off > len ||
                    pkt.payload_len > len - pkt.payload_off) {
                    abort();
                }
                if ((op & 3) == 0) {
                    colo_compare_primary(cc, copy, len, now);
                } else {
                    colo_compare_secondary(cc, copy, len, now);
                }
                free(copy);
            }
            pos += len;
            break;
        case 2:
            colo_compare_expire(cc, now);
            break;
        default:
            colo_compare_flush(cc, now);
            if (colo_compare_stats(cc)->held != 0) {
                abort();        /* a flush releases every held frame */
            }
            break;
        }
    }
    colo_compare_flush(cc, now);
    colo_compare_free(cc);
    return 0;
}
