/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * iSCSI (RFC 3720), ext4 and SCTP. The migration stream uses it for
 * x-stream-checksum (docs/migration.md).
 *
 * crc32c() is the standard CRC: initial value and final xor 0xFFFFFFFF,
 * so crc32c(0, "123456789", 9) == 0xE3069283. It chains: passing the
 * result of one call as the seed of the next gives the CRC of the
 * concatenated buffers.
 *
 * x86-64 CPUs with SSE4.2 compute it with the crc32 instruction, three
 * independent streams at a time (the instruction's latency is three
 * cycles, its throughput one per cycle) joined with a precomputed shift;
 * others use an eight-way sliced table. The choice is made once, at the
 * first call, from CPUID.
 */
#ifndef UTIL_CRC32C_H
#define UTIL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable path alone, and whether crc32c() uses the instruction
 * (tests compare the two; the benchmark reports both). */
uint32_t crc32c_table(uint32_t crc, const void *buf, size_t len);
bool crc32c_is_accelerated(void);

#endif
