/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Disk errors on demand: the wrapped node request layer (see
 * fuzz-block-fault.h). Each wrapper asks the rule, fails the request as
 * block/io.c fails one (an -errno and an error naming the node), or
 * passes it to the real function.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "block/block.h"
#include "fuzz-block-fault.h"

static struct {
    GMutex lock;
    bool set;
    BlockFaultRule rule;
    char node[64];
    uint64_t count;             /* atomic */
} fault;

void block_fault_set(const BlockFaultRule *rule)
{
    g_mutex_lock(&fault.lock);
    fault.set = rule != NULL;
    if (rule) {
        fault.rule = *rule;
        g_strlcpy(fault.node, rule->node, sizeof(fault.node));
        fault.rule.node = fault.node;
        g_assert(rule->region_size && rule->err > 0);
    }
    g_mutex_unlock(&fault.lock);
}

/* Whether [offset, offset + bytes) touches a region of the mask. */
static bool block_fault_in_regions(const BlockFaultRule *r, uint64_t offset,
                                   uint64_t bytes)
{
    uint64_t first = offset / r->region_size;
    uint64_t last = (offset + MAX(bytes, 1) - 1) / r->region_size;

    if (last - first >= BLOCK_FAULT_REGIONS - 1) {
        return r->regions != 0;
    }
    for (uint64_t i = first; i <= last; i++) {
        if (r->regions & (1ULL << (i % BLOCK_FAULT_REGIONS))) {
            return true;
        }
    }
    return false;
}

static bool block_fault_check(const char *node, unsigned op, uint64_t offset,
                              uint64_t bytes, int *err)
{
    bool hit;

    g_mutex_lock(&fault.lock);
    hit = fault.set && (fault.rule.ops & op) &&
          (!node || !strcmp(node, fault.rule.node)) &&
          (op == BLOCK_FAULT_FLUSH ||
           block_fault_in_regions(&fault.rule, offset, bytes));
    *err = fault.rule.err;
    g_mutex_unlock(&fault.lock);
    return hit;
}

bool block_fault_matches(unsigned op, uint64_t offset, uint64_t bytes,
                         int *err)
{
    return block_fault_check(NULL, op, offset, bytes, err);
}

uint64_t block_fault_count(void)
{
    return __atomic_load_n(&fault.count, __ATOMIC_SEQ_CST);
}

/* Fails the request on bs when the rule says so: the -errno, or 0. */
static int block_fault_hit(BlockDriverState *bs, unsigned op,
                           const char *what, uint64_t offset,
                           uint64_t bytes, Error **errp)
{
    int err;

    if (!block_fault_check(bdrv_get_node_name(bs), op, offset, bytes,
                           &err)) {
        return 0;
    }
    __atomic_add_fetch(&fault.count, 1, __ATOMIC_SEQ_CST);
    error_setg_errno(errp, err, "node '%s': %s at offset %" G_GUINT64_FORMAT
                     ", %" G_GUINT64_FORMAT " bytes failed (injected)",
                     bdrv_get_node_name(bs), what, offset, bytes);
    return -err;
}

int __real_bdrv_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                       int flags, Error **errp);
int __real_bdrv_pwritev(BlockDriverState *bs, uint64_t offset,
                        BlockIov *qiov, int flags, Error **errp);
int __real_bdrv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, int flags, Error **errp);
int __real_bdrv_pdiscard(BlockDriverState *bs, uint64_t offset,
                         uint64_t bytes, Error **errp);
int __real_bdrv_flush(BlockDriverState *bs, Error **errp);
int __wrap_bdrv_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                       int flags, Error **errp);
int __wrap_bdrv_pwritev(BlockDriverState *bs, uint64_t offset,
                        BlockIov *qiov, int flags, Error **errp);
int __wrap_bdrv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, int flags, Error **errp);
int __wrap_bdrv_pdiscard(BlockDriverState *bs, uint64_t offset,
                         uint64_t bytes, Error **errp);
int __wrap_bdrv_flush(BlockDriverState *bs, Error **errp);

/* A failed read has read first: its buffer holds data all the same, as
 * after a real read that fails part way. */
int __wrap_bdrv_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                       int flags, Error **errp)
{
    int ret = __real_bdrv_preadv(bs, offset, qiov, flags, errp);

    return ret ? ret : block_fault_hit(bs, BLOCK_FAULT_READ, "read", offset,
                                       qiov->size, errp);
}

int __wrap_bdrv_pwritev(BlockDriverState *bs, uint64_t offset,
                        BlockIov *qiov, int flags, Error **errp)
{
    int ret = block_fault_hit(bs, BLOCK_FAULT_WRITE, "write", offset,
                              qiov->size, errp);

    return ret ? ret : __real_bdrv_pwritev(bs, offset, qiov, flags, errp);
}

int __wrap_bdrv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                              uint64_t bytes, int flags, Error **errp)
{
    int ret = block_fault_hit(bs, BLOCK_FAULT_WRITE_ZEROES, "write-zeroes",
                              offset, bytes, errp);

    return ret ? ret
               : __real_bdrv_pwrite_zeroes(bs, offset, bytes, flags, errp);
}

int __wrap_bdrv_pdiscard(BlockDriverState *bs, uint64_t offset,
                         uint64_t bytes, Error **errp)
{
    int ret = block_fault_hit(bs, BLOCK_FAULT_DISCARD, "discard", offset,
                              bytes, errp);

    return ret ? ret : __real_bdrv_pdiscard(bs, offset, bytes, errp);
}

int __wrap_bdrv_flush(BlockDriverState *bs, Error **errp)
{
    int ret = block_fault_hit(bs, BLOCK_FAULT_FLUSH, "flush", 0, 0, errp);

    return ret ? ret : __real_bdrv_flush(bs, errp);
}
