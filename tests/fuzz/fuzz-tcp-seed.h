/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Seed steps for the fuzz targets whose input is a script of frames
 * (fuzz-rewriter, fuzz-colo): "op, len, frame", the frame an IPv4 TCP
 * segment between the guest (10.0.0.2:80) and a client (10.0.0.1:port)
 * with a right checksum, so mutations start from frames the code under
 * test parses all the way. Payload bytes follow the sequence number
 * (byte k of the stream is 'a' + k % 26), so two sides that cut the
 * same stream differently carry the same bytes.
 */
#ifndef TESTS_FUZZ_FUZZ_TCP_SEED_H
#define TESTS_FUZZ_FUZZ_TCP_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define FUZZ_TCP_SEED_MAX_PAYLOAD   1400

/* Appends one step: op, the frame's length (0 and two big-endian bytes
 * when above 255, as fuzz-colo reads it; fuzz-rewriter's frames stay
 * under 256), the frame. */
void fuzz_tcp_seed_step(GByteArray *in, uint8_t op, bool from_guest,
                        uint16_t port, uint32_t seq, uint32_t ack,
                        uint8_t flags, size_t payload_len);
/* The one's complement sum of len bytes, added to sum (not folded). */
uint32_t fuzz_sum16(uint32_t sum, const uint8_t *p, size_t len);
/* Writes in to dir/name, or exits naming the target. */
void fuzz_seed_write(const char *target, const char *dir, const char *name,
                     const GByteArray *in);

#endif
