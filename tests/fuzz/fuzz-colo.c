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
 *   byte 0      bit 7 clear: a script, as below; vnet header length:
 *               (byte & 0x7f) % 3 -> 0, 10 or 12
 *               bit 7 set: what the colo-compare object reads from its
 *               chardevs: the rest is QEMU's framed stream (bit 6: with
 *               the vnet header length word), decoded by the one frame
 *               decoder; whole frames go to the core, alternately as
 *               primary and secondary, each with its own vnet header
 *               length; broken framing resets the decoder (a new
 *               connection) and the rest is decoded afresh
 *   then steps: byte op, byte len, len bytes of frame
 *     op & 3 == 0: primary frame, 1: secondary frame,
 *     2: expiry scan, 3: flush; op >> 2 advances the clock (ms)
 *   A frame longer than 255 bytes: a len of 0 takes the next two bytes
 *   as a big-endian length.
 *
 * Seeds are written by the binary itself (FUZZ_COLO_SEEDS=DIR): a TCP
 * connection's output from both sides, the same bytes cut alike or
 * differently (1000 + 400 against 1400), once diverging, with an
 * expiry scan and a flush between, so mutations start inside the TCP
 * stream comparison.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "net/colo.h"
#include "net/colo-compare-core.h"
#include "net/frame-codec.h"
#include "fuzz-tcp-seed.h"

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

/* ---- seeds ---- */

enum { PRIMARY_OUT, SECONDARY_OUT, EXPIRE, FLUSH };

/* The guest's side of a connection as one COLO side sends it:
 * SYN+ACK, then the payload in pieces of the given sizes, then FIN. */
static void seed_side(GByteArray *in, uint8_t op, const size_t *pieces,
                      size_t n, uint32_t skew)
{
    uint32_t seq = 7000, ack = 101;

    fuzz_tcp_seed_step(in, op, true, 40000, seq, ack,
                       COLO_TCP_SYN | COLO_TCP_ACK, 0);
    seq++;
    for (size_t i = 0; i < n; i++) {
        fuzz_tcp_seed_step(in, op, true, 40000, seq + skew, ack,
                           COLO_TCP_ACK, pieces[i]);
        seq += pieces[i];
    }
    fuzz_tcp_seed_step(in, op, true, 40000, seq, ack,
                       COLO_TCP_FIN | COLO_TCP_ACK, 0);
}

static void write_seeds(const char *dir)
{
    static const size_t whole[] = { 1400 }, cut[] = { 1000, 400 },
                        small[] = { 10, 30, 200 };
    static const uint8_t scan[2] = { EXPIRE | 4 << 2, 0 },
                         flush[2] = { FLUSH, 0 };
    struct {
        const char *name;
        const size_t *p, *s;
        size_t np, ns;
        uint32_t skew;          /* the secondary's payload shifted */
    } seeds[] = {
        { "same-cut", small, small, 3, 3, 0 },
        { "primary-cut", cut, whole, 2, 1, 0 },
        { "secondary-cut", whole, cut, 1, 2, 0 },
        { "diverging", small, small, 3, 3, 1 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(seeds); i++) {
        g_autoptr(GByteArray) in = g_byte_array_new();
        uint8_t vnet = 0;

        g_byte_array_append(in, &vnet, 1);
        seed_side(in, PRIMARY_OUT, seeds[i].p, seeds[i].np, 0);
        g_byte_array_append(in, scan, 2);
        seed_side(in, SECONDARY_OUT, seeds[i].s, seeds[i].ns, seeds[i].skew);
        g_byte_array_append(in, flush, 2);
        fuzz_seed_write("fuzz-colo", dir, seeds[i].name, in);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_COLO_SEEDS");

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

typedef struct FuzzStream {
    ColoCompare *cc;
    unsigned n;
    uint64_t now;
} FuzzStream;

static void fuzz_stream_frame(void *opaque, const uint8_t *frame, size_t len,
                              size_t vnet_hdr_len)
{
    FuzzStream *fs = opaque;

    if (vnet_hdr_len > len) {
        abort();        /* the decoder lets no such frame through */
    }
    colo_compare_set_vnet_hdr_len(fs->cc, vnet_hdr_len);
    fs->now += 1000000;
    if (fs->n++ & 1) {
        colo_compare_secondary(fs->cc, frame, len, fs->now);
    } else {
        colo_compare_primary(fs->cc, frame, len, fs->now);
    }
    if (fs->n % 16 == 0) {
        colo_compare_expire(fs->cc, fs->now);
    }
}

/* The object's input path: decoder, then core (see the header). */
static void fuzz_stream(const uint8_t *data, size_t size)
{
    size_t released = 0;
    ColoCompareConfig cfg = {
        .compare_timeout_ns = 3000000000ULL,
        .max_queue_size = 8,
        .max_connections = 16,
        .release = fuzz_release,
        .opaque = &released,
    };
    FuzzStream fs = { .cc = colo_compare_new(&cfg) };
    NetFrameDecoder dec;
    size_t pos = 1;

    /* a small maximum so that "too long" is reachable */
    net_frame_decoder_init(&dec, data[0] & 0x40, 2048);
    while (pos < size) {
        size_t want = (size_t)(data[pos - 1] % 64) + 1;
        size_t chunk = size - pos < want ? size - pos : want;
        Error *err = NULL;

        if (!net_frame_decoder_feed(&dec, data + pos, chunk,
                                    fuzz_stream_frame, &fs, &err)) {
            error_free(err);
            net_frame_decoder_reset(&dec);
        }
        pos += chunk;
    }
    net_frame_decoder_destroy(&dec);
    colo_compare_flush(fs.cc, fs.now);
    colo_compare_free(fs.cc);
}

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
    if (data[0] & 0x80) {
        fuzz_stream(data, size);
        return 0;
    }
    cfg.vnet_hdr_len = vnet_lens[(data[0] & 0x7f) % 3];
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
