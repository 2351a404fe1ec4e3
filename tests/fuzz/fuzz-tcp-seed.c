/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Seed frames for the frame-script fuzz targets: fuzz-tcp-seed.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz-tcp-seed.h"

uint32_t fuzz_sum16(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    return sum;
}

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

void fuzz_tcp_seed_step(GByteArray *in, uint8_t op, bool from_guest,
                        uint16_t port, uint32_t seq, uint32_t ack,
                        uint8_t flags, size_t payload_len)
{
    uint8_t f[14 + 20 + 20 + FUZZ_TCP_SEED_MAX_PAYLOAD] = { 0 };
    uint8_t *ip = f + 14, *tcp = ip + 20;
    size_t tcp_len = 20 + MIN(payload_len, FUZZ_TCP_SEED_MAX_PAYLOAD);
    size_t len = 14 + 20 + tcp_len;
    uint32_t sum;

    memset(f, 0x52, 12);
    put16(f + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, 20 + tcp_len);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, from_guest ? 0x0a000002 : 0x0a000001);
    put32(ip + 16, from_guest ? 0x0a000001 : 0x0a000002);
    put16(tcp, from_guest ? 80 : port);
    put16(tcp + 2, from_guest ? port : 80);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    for (size_t i = 0; i + 20 < tcp_len; i++) {
        tcp[20 + i] = 'a' + (uint8_t)((seq + i) % 26);
    }
    sum = fuzz_sum16(0, ip + 12, 8) + 6 + tcp_len;
    sum = fuzz_sum16(sum, tcp, tcp_len);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    put16(tcp + 16, ~sum);
    g_byte_array_append(in, &op, 1);
    if (len > 255) {
        uint8_t big[3] = { 0, len >> 8, len };

        g_byte_array_append(in, big, 3);
    } else {
        uint8_t small = len;

        g_byte_array_append(in, &small, 1);
    }
    g_byte_array_append(in, f, len);
}

void fuzz_seed_write(const char *target, const char *dir, const char *name,
                     const GByteArray *in)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    if (!g_file_set_contents(path, (const char *)in->data, in->len, NULL)) {
        fprintf(stderr, "%s: cannot write %s\n", target, path);
        exit(1);
    }
}
