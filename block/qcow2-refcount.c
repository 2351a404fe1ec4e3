/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 refcounts: reading and setting a cluster's refcount, creating
 * refcount blocks on demand, and allocating clusters. Called with the
 * node's lock held (block/qcow2.h).
 *
 * A new refcount block is placed inside the range of clusters it covers
 * (at the first cluster of that range that is not being allocated right
 * now), so it describes itself and needs no second block.
 *
 * The refcount table grows when a cluster past what it covers is
 * allocated (grow_reftable). qemu-img makes a one-cluster table: with
 * 64 KiB clusters that covers 16 TiB of file, but with 4 KiB clusters
 * only 4 GiB and with 512-byte clusters 8 MiB, so small-cluster images
 * reach it in ordinary use.
 */
#include <errno.h>
#include <string.h>
#include "qcow2.h"
#include "trace.h"

static uint64_t rb_get(const void *block, int order, uint64_t i)
{
    const uint8_t *b = block;

    switch (order) {
    case 0: case 1: case 2: {
        int bits = 1 << order;
        return (b[(i * bits) / 8] >> ((i * bits) % 8)) & ((1u << bits) - 1);
    }
    case 3:
        return b[i];
    case 4:
        return GUINT16_FROM_BE(((const uint16_t *)block)[i]);
    case 5:
        return GUINT32_FROM_BE(((const uint32_t *)block)[i]);
    default:
        return GUINT64_FROM_BE(((const uint64_t *)block)[i]);
    }
}

static void rb_set(void *block, int order, uint64_t i, uint64_t v)
{
    uint8_t *b = block;

    switch (order) {
    case 0: case 1: case 2: {
        int bits = 1 << order;
        uint8_t mask = ((1u << bits) - 1) << ((i * bits) % 8);
        b[(i * bits) / 8] = (b[(i * bits) / 8] & ~mask) |
                            ((v << ((i * bits) % 8)) & mask);
        break;
    }
    case 3:
        b[i] = v;
        break;
    case 4:
        ((uint16_t *)block)[i] = GUINT16_TO_BE(v);
        break;
    case 5:
        ((uint32_t *)block)[i] = GUINT32_TO_BE(v);
        break;
    default:
        ((uint64_t *)block)[i] = GUINT64_TO_BE(v);
        break;
    }
}

void qcow2_refblock_set(void *block, int order, uint64_t i, uint64_t v)
{
    rb_set(block, order, i, v);
}

static uint64_t rb_max(int order)
{
    return order == 6 ? UINT64_MAX : (1ull << (1 << order)) - 1;
}

/* The refcount block for table index tidx, or NULL (with *ret 0: none). */
static void *load_refblock(BlockDriverState *bs, uint64_t tidx, int *ret)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = s->reftable[tidx] & QCOW2_REFT_OFFSET_MASK;

    *ret = 0;
    if (!off) {
        return NULL;
    }
    if (off & (s->cluster_size - 1)) {
        *ret = qcow2_corrupt(bs, "refcount block offset not cluster-aligned");
        return NULL;
    }
    return qcow2_cache_get(bs, s->rb_cache, QCOW2_RB_CACHE, off, false, ret);
}

int qcow2_get_refcount(BlockDriverState *bs, uint64_t cluster,
                       uint64_t *refcount)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t tidx = cluster >> s->refblock_bits;
    void *block;
    int ret;

    *refcount = 0;
    if (tidx >= s->reftable_size) {
        return 0;
    }
    block = load_refblock(bs, tidx, &ret);
    if (block) {
        *refcount = rb_get(block, s->refcount_order,
                           cluster & ((1ull << s->refblock_bits) - 1));
    }
    return ret;
}

/* Writes the 8 aligned bytes of the block that hold entry i. */
static int write_rb_entry(BlockDriverState *bs, uint64_t block_off,
                          void *block, uint64_t i)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t byte = ((i << s->refcount_order) / 8) & ~7ull;

    return bdrv_pwrite(bs->file->bs, block_off + byte, 8,
                       (uint8_t *)block + byte, 0, NULL);
}

/*
 * Creates the refcount block for table index tidx, placed in its own
 * range but outside [excl, excl + nexcl).
 */
static int new_refblock(BlockDriverState *bs, uint64_t tidx, uint64_t excl,
                        uint64_t nexcl)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t first = tidx << s->refblock_bits;
    uint64_t n = 1ull << s->refblock_bits;
    uint64_t r = first, be;
    g_autofree void *block = NULL;
    int ret;

    while (r >= excl && r < excl + nexcl) {
        r++;
    }
    if (r >= first + n) {
        return qcow2_corrupt(bs, "no room for a refcount block");
    }
    block = g_malloc0(s->cluster_size);
    rb_set(block, s->refcount_order, r - first, 1);
    trace_qcow2_refblock_new(bs->node_name, tidx, r << s->cluster_bits);
    ret = bdrv_pwrite(bs->file->bs, r << s->cluster_bits, s->cluster_size,
                      block, 0, NULL);
    if (ret < 0) {
        return ret;
    }
    /* The block must be on disk before the table points at it. */
    ret = bdrv_flush(bs->file->bs, NULL);
    if (ret < 0) {
        return ret;
    }
    be = GUINT64_TO_BE(r << s->cluster_bits);
    ret = bdrv_pwrite(bs->file->bs, s->reftable_offset + tidx * 8, 8, &be,
                      0, NULL);
    if (ret < 0) {
        return ret;
    }
    s->reftable[tidx] = r << s->cluster_bits;
    return 0;
}

static int set_refcount(BlockDriverState *bs, uint64_t cluster,
                        uint64_t value, uint64_t excl, uint64_t nexcl);

/*
 * The new table's layout: nb refcount blocks, then tc table clusters,
 * from cluster area on. Grows the table by half at least (so that a
 * growing image does not move its table at every new block range), and
 * enough to cover both need and the area itself; the blocks are those
 * of the area's ranges that have none, so the area describes itself.
 * Found by iterating to a fixed point (more table clusters can reach
 * into one more range, which needs one more block).
 */
static void reftable_grow_layout(BDRVQcow2State *s, uint64_t need,
                                 uint64_t area, uint64_t *nb, uint64_t *tc,
                                 uint64_t *entries)
{
    uint64_t per_cluster = s->cluster_size / 8;

    *nb = *tc = 0;
    for (;;) {
        uint64_t end = area + *nb + *tc;
        uint64_t want = MAX(MAX(need, end ? end - 1 : 0) >> s->refblock_bits,
                            s->reftable_size + s->reftable_size / 2);
        uint64_t tc2 = (want + 1 + per_cluster - 1) / per_cluster;
        uint64_t end2 = area + *nb + tc2, nb2 = 0;

        for (uint64_t t = area >> s->refblock_bits;
             t <= (end2 - 1) >> s->refblock_bits; t++) {
            nb2 += t >= s->reftable_size || !s->reftable[t];
        }
        if (tc2 == *tc && nb2 == *nb) {
            break;
        }
        *tc = tc2;
        *nb = nb2;
    }
    *entries = *tc * per_cluster;
}

/* Points the header at the new table: offset (u64 at 48) and cluster
 * count (u32 at 56) are adjacent, so one write switches both. */
static int reftable_switch_header(BlockDriverState *bs, uint64_t offset,
                                  uint64_t clusters)
{
    uint8_t hdr[12];
    uint64_t be_off = GUINT64_TO_BE(offset);
    uint32_t be_clusters = GUINT32_TO_BE((uint32_t)clusters);

    memcpy(hdr, &be_off, 8);
    memcpy(hdr + 8, &be_clusters, 4);
    return bdrv_pwrite(bs->file->bs, QCOW2_HDR_REFTABLE_OFFSET, 12, hdr, 0,
                       NULL);
}

/*
 * Grows the refcount table to cover cluster need. The new table and the
 * refcount blocks that describe it go in clusters nothing uses: past the
 * end of the file and past [excl, excl + nexcl) (clusters being
 * allocated right now, not yet written):
 *
 *   area: [new refcount blocks][new table]
 *
 * Order: blocks, table and the area's refcounts in existing blocks
 * written and flushed; then the header switched by one write; then the
 * old table's clusters freed. A crash before the switch leaves the old
 * table in charge and the area leaked (qemu-img check -r leaks), never a
 * table that points at unwritten blocks.
 */
static int grow_reftable(BlockDriverState *bs, uint64_t need, uint64_t excl,
                         uint64_t nexcl)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t flen = bdrv_getlength(bs->file->bs);
    uint64_t area, nb, tc, entries, table_off, next_block, old_clusters;
    uint64_t old_off = s->reftable_offset, old_size = s->reftable_size;
    uint64_t per_block = 1ull << s->refblock_bits;
    g_autofree uint64_t *table = NULL;
    g_autofree uint64_t *mem = NULL;
    g_autofree void *block = NULL;
    int ret;

    if (flen < 0) {
        return flen;
    }
    area = MAX(((uint64_t)flen + s->cluster_size - 1) >> s->cluster_bits,
               excl + nexcl);
    reftable_grow_layout(s, need, area, &nb, &tc, &entries);
    if (tc * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
        return -EFBIG;
    }
    table_off = (area + nb) << s->cluster_bits;
    trace_qcow2_reftable_grow(bs->node_name, old_size, entries, table_off);

    mem = g_new0(uint64_t, entries);
    memcpy(mem, s->reftable, old_size * 8);
    block = g_malloc(s->cluster_size);
    next_block = area;
    for (uint64_t t = area >> s->refblock_bits;
         t <= (area + nb + tc - 1) >> s->refblock_bits; t++) {
        uint64_t first = t * per_block;

        if (t < old_size && s->reftable[t]) {
            /* An existing block: count the area's clusters in it. */
            for (uint64_t c = MAX(first, area);
                 c < MIN(first + per_block, area + nb + tc); c++) {
                ret = set_refcount(bs, c, 1, 0, 0);
                if (ret < 0) {
                    return ret;
                }
            }
            continue;
        }
        memset(block, 0, s->cluster_size);
        for (uint64_t c = MAX(first, area);
             c < MIN(first + per_block, area + nb + tc); c++) {
            rb_set(block, s->refcount_order, c - first, 1);
        }
        ret = bdrv_pwrite(bs->file->bs, next_block << s->cluster_bits,
                          s->cluster_size, block, 0, NULL);
        if (ret < 0) {
            return ret;
        }
        mem[t] = next_block << s->cluster_bits;
        next_block++;
    }
    g_assert(next_block == area + nb);

    table = g_new(uint64_t, entries);
    for (uint64_t t = 0; t < entries; t++) {
        table[t] = GUINT64_TO_BE(mem[t]);
    }
    ret = bdrv_pwrite(bs->file->bs, table_off, tc * s->cluster_size, table,
                      0, NULL);
    if (ret == 0) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    if (ret == 0) {
        ret = reftable_switch_header(bs, table_off, tc);
    }
    if (ret == 0) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    if (ret < 0) {
        return ret;
    }
    g_free(s->reftable);
    s->reftable = g_steal_pointer(&mem);
    s->reftable_size = entries;
    s->reftable_offset = table_off;

    /* The old table's clusters: counted by blocks the new table keeps. */
    old_clusters = (old_size * 8 + s->cluster_size - 1) >> s->cluster_bits;
    for (uint64_t i = 0; i < old_clusters; i++) {
        ret = qcow2_free_cluster(bs, old_off + (i << s->cluster_bits));
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int set_refcount(BlockDriverState *bs, uint64_t cluster,
                        uint64_t value, uint64_t excl, uint64_t nexcl)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t tidx = cluster >> s->refblock_bits;
    uint64_t i = cluster & ((1ull << s->refblock_bits) - 1);
    void *block;
    int ret;

    if (tidx >= s->reftable_size) {
        if (value == 0) {
            return 0;               /* past the table: already free */
        }
        ret = grow_reftable(bs, cluster, excl, nexcl);
        if (ret < 0) {
            return ret;
        }
    }
    if (value > rb_max(s->refcount_order)) {
        return qcow2_corrupt(bs, "refcount overflow");
    }
    block = load_refblock(bs, tidx, &ret);
    if (!block && ret == 0) {
        ret = new_refblock(bs, tidx, excl, nexcl);
        if (ret < 0) {
            return ret;
        }
        block = load_refblock(bs, tidx, &ret);
    }
    if (!block) {
        return ret;
    }
    rb_set(block, s->refcount_order, i, value);
    return write_rb_entry(bs, s->reftable[tidx] & QCOW2_REFT_OFFSET_MASK,
                          block, i);
}

int64_t qcow2_alloc_clusters(BlockDriverState *bs, uint64_t n)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t flen = bdrv_getlength(bs->file->bs);
    uint64_t end_cluster, limit, c, run = 0, start = 0;
    int ret;

    if (flen < 0) {
        return flen;
    }
    end_cluster = ((uint64_t)flen + s->cluster_size - 1) >> s->cluster_bits;
    /*
     * A consistent image has free clusters at or just past the end of its
     * file; refcounts claiming clusters far beyond it are a corrupt image,
     * and must not make us scan billions of entries.
     */
    limit = end_cluster + n + 4096;
    for (c = s->free_cluster_index; c < limit; c++) {
        uint64_t rc;

        /* Past the table, rc is 0: set_refcount() grows it. */
        ret = qcow2_get_refcount(bs, c, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc) {
            run = 0;
            continue;
        }
        if (!run) {
            start = c;
        }
        if (++run == n) {
            break;
        }
    }
    if (run < n) {
        return qcow2_corrupt(bs, "refcounts claim clusters past the end of "
                             "the file");
    }
    for (uint64_t i = 0; i < n; i++) {
        ret = set_refcount(bs, start + i, 1, start, n);
        if (ret < 0) {
            return ret;
        }
    }
    s->free_cluster_index = start + n;
    trace_qcow2_alloc_cluster(bs->node_name, start << s->cluster_bits);
    return (int64_t)(start << s->cluster_bits);
}

uint64_t qcow2_refcount_max(BDRVQcow2State *s)
{
    return rb_max(s->refcount_order);
}

int qcow2_ref_cluster(BlockDriverState *bs, uint64_t host)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cluster = host >> s->cluster_bits;
    uint64_t rc;
    int ret = qcow2_get_refcount(bs, cluster, &rc);

    if (ret < 0) {
        return ret;
    }
    if (rc == 0) {
        return qcow2_corrupt(bs, "sharing a cluster whose refcount is 0");
    }
    return set_refcount(bs, cluster, rc + 1, 0, 0);
}

int qcow2_free_cluster(BlockDriverState *bs, uint64_t host)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cluster = host >> s->cluster_bits;
    uint64_t rc;
    int ret = qcow2_get_refcount(bs, cluster, &rc);

    if (ret < 0) {
        return ret;
    }
    if (rc == 0) {
        return qcow2_corrupt(bs, "freeing a cluster whose refcount is 0");
    }
    ret = set_refcount(bs, cluster, rc - 1, 0, 0);
    if (ret < 0) {
        return ret;
    }
    if (rc == 1) {
        trace_qcow2_free_cluster(bs->node_name, host);
        /* It may have been an L2 table or a refcount block. */
        qcow2_cache_drop(s->l2_cache, QCOW2_L2_CACHE, host);
        s->free_cluster_index = MIN(s->free_cluster_index, cluster);
        if (s->pass_discard) {
            /* Advisory: the file node's discard= decides. */
            bdrv_pdiscard(bs->file->bs, host, s->cluster_size, NULL);
        }
    }
    return 0;
}
