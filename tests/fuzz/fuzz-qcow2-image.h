/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 images for fuzz-block-qcow2, independently of block/qcow2*.c:
 * making an empty image of any cluster size, refcount width and version,
 * checking one as `qemu-img check` does (every cluster's refcount
 * against the references the tables make, the snapshots' included, the
 * COPIED flags, nothing pointing outside the file), and reading what an
 * internal snapshot holds. The layout rules are the qcow2
 * specification's (docs/interop/qcow2.txt in QEMU); the checker reads
 * the file, never the driver's state, so it sees what a later open or
 * another program would.
 */
#ifndef TESTS_FUZZ_FUZZ_QCOW2_IMAGE_H
#define TESTS_FUZZ_FUZZ_QCOW2_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct FuzzQcow2Params {
    unsigned cluster_bits;      /* 9 .. 16 */
    unsigned refcount_order;    /* 0 .. 6 (v2: 4) */
    unsigned version;           /* 2 or 3 */
    uint64_t size;              /* virtual size, a multiple of 512 */
} FuzzQcow2Params;

/*
 * An empty image: header, a one-cluster refcount table, one refcount
 * block, an L1 table of zeroes; no backing file name (the fuzzer names
 * the backing node in the options). NULL when the parameters do not fit
 * one refcount block.
 */
GByteArray *fuzz_qcow2_make(const FuzzQcow2Params *p);

/*
 * The checks of `qemu-img check`: leaks count as errors too (Tandem's
 * tests require a clean check), and, stricter than qemu-img, so does a
 * refcount for a cluster past the end of the file. False with the first
 * problem in *why (g_free it).
 */
bool fuzz_qcow2_check(const uint8_t *img, size_t len, char **why);

/*
 * The disk as snapshot index (in table order) holds it, size bytes into
 * out: its data clusters, zero clusters as zeroes, unallocated ones as
 * below (what the backing file shows there). False with the reason in
 * *why (g_free it).
 */
bool fuzz_qcow2_read_snapshot(const uint8_t *img, size_t len, uint32_t index,
                              const uint8_t *below, uint64_t size,
                              uint8_t *out, char **why);

#endif
