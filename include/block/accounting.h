/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * I/O statistics of a BlockBackend or a node (query-blockstats): counts
 * and total times per request type, failed and invalid requests, and the
 * highest offset written. Updated from any thread under the stats lock.
 */
#ifndef BLOCK_ACCOUNTING_H
#define BLOCK_ACCOUNTING_H

#include <glib.h>
#include <stdint.h>

typedef enum BlockAcctType {
    BLOCK_ACCT_READ,
    BLOCK_ACCT_WRITE,
    BLOCK_ACCT_FLUSH,
    BLOCK_ACCT_UNMAP,
    BLOCK_ACCT__MAX,
} BlockAcctType;

typedef struct BlockAcctStats {
    GMutex lock;
    uint64_t nr_bytes[BLOCK_ACCT__MAX];
    uint64_t nr_ops[BLOCK_ACCT__MAX];
    uint64_t failed_ops[BLOCK_ACCT__MAX];
    uint64_t invalid_ops[BLOCK_ACCT__MAX];
    uint64_t total_time_ns[BLOCK_ACCT__MAX];
    uint64_t wr_highest_offset;
    int64_t last_access_ns;     /* 0: never */
} BlockAcctStats;

void block_acct_init(BlockAcctStats *s);
void block_acct_destroy(BlockAcctStats *s);
/* One finished request started at start_ns (g_get_monotonic_time()*1000). */
void block_acct_done(BlockAcctStats *s, BlockAcctType type, uint64_t offset,
                     uint64_t bytes, int64_t start_ns, int ret);
void block_acct_invalid(BlockAcctStats *s, BlockAcctType type);
/* A consistent copy (lock held while copying). */
void block_acct_snapshot(BlockAcctStats *s, BlockAcctStats *out);
int64_t block_acct_now_ns(void);

#endif
