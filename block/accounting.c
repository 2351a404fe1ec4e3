/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-backend and per-node I/O statistics for query-blockstats. Requests
 * finish on worker threads and helper threads, so updates take the stats
 * lock; readers take a snapshot.
 */
#include <errno.h>
#include <string.h>
#include "block/accounting.h"

int64_t block_acct_now_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

void block_acct_init(BlockAcctStats *s)
{
    memset(s, 0, sizeof(*s));
    g_mutex_init(&s->lock);
}

void block_acct_destroy(BlockAcctStats *s)
{
    g_mutex_clear(&s->lock);
}

void block_acct_done(BlockAcctStats *s, BlockAcctType type, uint64_t offset,
                     uint64_t bytes, int64_t start_ns, int ret)
{
    int64_t now = block_acct_now_ns();
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    s->last_access_ns = now;
    if (ret < 0) {
        s->failed_ops[type]++;
        return;
    }
    s->nr_ops[type]++;
    s->nr_bytes[type] += bytes;
    s->total_time_ns[type] += now - start_ns;
    if (type == BLOCK_ACCT_WRITE && offset + bytes > s->wr_highest_offset) {
        s->wr_highest_offset = offset + bytes;
    }
}

void block_acct_invalid(BlockAcctStats *s, BlockAcctType type)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    s->invalid_ops[type]++;
    s->last_access_ns = block_acct_now_ns();
}

void block_acct_snapshot(BlockAcctStats *s, BlockAcctStats *out)
{
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&s->lock);

    memcpy(out, s, sizeof(*out));
    memset(&out->lock, 0, sizeof(out->lock));
}
