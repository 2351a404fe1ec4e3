/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Disk errors on demand for a fuzz target: one node's requests fail with
 * a chosen errno, by operation and by where on the disk they fall. The
 * node request layer's entry points (bdrv_preadv, bdrv_pwritev,
 * bdrv_pwrite_zeroes, bdrv_pdiscard, bdrv_flush) are wrapped at link
 * time (-Wl,--wrap, tests/fuzz/meson.build), so a failure takes the path
 * a real one does: from a block worker, through the BlockBackend's
 * completion, to the device; nothing in block/ knows. A failed read has
 * filled its buffer first (a real one may fail part way through). Requests on other
 * nodes, and every request while no rule is set, go through untouched.
 *
 * A rule is read by the block workers while it is in force: change it
 * only with nothing in flight on the node (after blk_drain), or which
 * rule a running request saw is a race.
 */
#ifndef TESTS_FUZZ_FUZZ_BLOCK_FAULT_H
#define TESTS_FUZZ_FUZZ_BLOCK_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* The operations, as the node request layer has them. */
enum {
    BLOCK_FAULT_READ = 1,
    BLOCK_FAULT_WRITE = 2,
    BLOCK_FAULT_FLUSH = 4,
    BLOCK_FAULT_DISCARD = 8,
    BLOCK_FAULT_WRITE_ZEROES = 16,
};

#define BLOCK_FAULT_REGIONS 64

typedef struct BlockFaultRule {
    const char *node;           /* the node-name that fails */
    unsigned ops;               /* BLOCK_FAULT_* that fail */
    int err;                    /* positive errno: EIO, ENOSPC, ... */
    /*
     * Where: the disk cut into 64 regions of region_size bytes (offsets
     * wrap around); a read, write, discard or write-zeroes fails when it
     * touches a region whose bit is set. A flush has no place: it fails
     * whenever BLOCK_FAULT_FLUSH is in ops.
     */
    uint64_t regions;
    uint64_t region_size;
} BlockFaultRule;

/* The rule from now on (copied; NULL: nothing fails). */
void block_fault_set(const BlockFaultRule *rule);
/* Whether a request of op on [offset, offset + bytes) of the rule's node
 * fails under the rule in force; the errno it gets in *err. */
bool block_fault_matches(unsigned op, uint64_t offset, uint64_t bytes,
                         int *err);
/* Requests failed so far, since the process started. */
uint64_t block_fault_count(void);

#endif
