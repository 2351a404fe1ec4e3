/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 guest-to-host mapping: looking clusters up through L1 and L2,
 * reads (data, zeroes or the backing file), allocating writes, zero
 * clusters, discard, emptying an overlay and growing the L1 table.
 * Called with the node's lock held (block/qcow2.h).
 */
#include <errno.h>
#include <string.h>
#include "qcow2.h"
#include "trace.h"

static uint64_t l1_index(BDRVQcow2State *s, uint64_t offset)
{
    return offset >> (s->cluster_bits + s->l2_bits);
}

static uint64_t l2_index(BDRVQcow2State *s, uint64_t offset)
{
    return (offset >> s->cluster_bits) & ((1ull << s->l2_bits) - 1);
}

/* The L2 table for offset, or NULL with *ret (0: none allocated). */
static uint64_t *get_l2(BlockDriverState *bs, uint64_t offset,
                        uint64_t *l2_off, int *ret)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t i = l1_index(s, offset);

    *ret = 0;
    *l2_off = 0;
    if (i >= s->l1_size) {
        return NULL;
    }
    *l2_off = s->l1[i] & QCOW2_OFFSET_MASK;
    if (!*l2_off) {
        return NULL;
    }
    if (*l2_off & (s->cluster_size - 1)) {
        *ret = qcow2_corrupt(bs, "L2 table offset not cluster-aligned");
        return NULL;
    }
    return qcow2_cache_get(bs, s->l2_cache, QCOW2_L2_CACHE, *l2_off, false,
                           ret);
}

static int classify(BlockDriverState *bs, uint64_t entry,
                    Qcow2ClusterType *type, uint64_t *host)
{
    BDRVQcow2State *s = bs->opaque;

    if (entry & QCOW2_OFLAG_COMPRESSED) {
        return -ENOTSUP;    /* compressed clusters are not supported */
    }
    *host = entry & QCOW2_OFFSET_MASK;
    if (*host & (s->cluster_size - 1)) {
        return qcow2_corrupt(bs, "data cluster offset not cluster-aligned");
    }
    if ((entry & QCOW2_OFLAG_ZERO) && s->version >= 3) {
        *type = QCOW2_CLUSTER_ZERO;
    } else if (*host) {
        *type = QCOW2_CLUSTER_NORMAL;
    } else {
        *type = QCOW2_CLUSTER_UNALLOCATED;
    }
    return 0;
}

int qcow2_get_cluster(BlockDriverState *bs, uint64_t offset,
                      Qcow2ClusterType *type, uint64_t *host)
{
    uint64_t l2_off;
    int ret;
    uint64_t *l2 = get_l2(bs, offset, &l2_off, &ret);

    *type = QCOW2_CLUSTER_UNALLOCATED;
    *host = 0;
    if (!l2) {
        return ret;
    }
    return classify(bs, GUINT64_FROM_BE(l2[l2_index(bs->opaque, offset)]),
                    type, host);
}

/* Reads [offset, +len) of the backing node into qiov[qoff..]; zeroes past
 * its end or with no backing node. */
static int read_backing(BlockDriverState *bs, uint64_t offset,
                        BlockIov *qiov, uint64_t qoff, uint64_t len)
{
    BlockDriverState *b = bdrv_backing_bs(bs);
    int64_t blen = b ? bdrv_getlength(b) : 0;
    uint64_t n = 0;
    int ret = 0;

    if (blen < 0) {
        return (int)blen;
    }
    if (offset < (uint64_t)blen) {
        BlockIov part;

        n = MIN(len, (uint64_t)blen - offset);
        block_iov_slice(&part, qiov, qoff, n);
        ret = bdrv_preadv(b, offset, &part, 0, NULL);
        g_free(part.iov);
    }
    if (ret == 0 && n < len) {
        block_iov_memset(qiov, qoff + n, 0, len - n);
    }
    return ret;
}

int qcow2_read(BlockDriverState *bs, uint64_t offset, BlockIov *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t done = 0;

    while (done < qiov->size) {
        uint64_t off = offset + done;
        uint64_t in = off & (s->cluster_size - 1);
        uint64_t len = MIN(qiov->size - done, s->cluster_size - in);
        Qcow2ClusterType type;
        uint64_t host;
        int ret = qcow2_get_cluster(bs, off, &type, &host);

        if (ret < 0) {
            return ret;
        }
        if (type == QCOW2_CLUSTER_NORMAL) {
            BlockIov part;

            block_iov_slice(&part, qiov, done, len);
            ret = bdrv_preadv(bs->file->bs, host + in, &part, 0, NULL);
            g_free(part.iov);
        } else if (type == QCOW2_CLUSTER_ZERO) {
            block_iov_memset(qiov, done, 0, len);
        } else {
            ret = read_backing(bs, off, qiov, done, len);
        }
        if (ret < 0) {
            return ret;
        }
        done += len;
    }
    return 0;
}

static int write_l1_entry(BlockDriverState *bs, uint64_t i)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t be = GUINT64_TO_BE(s->l1[i]);

    return bdrv_pwrite(bs->file->bs, s->l1_offset + i * 8, 8, &be, 0, NULL);
}

/*
 * Pointers a write request makes (L1 entries to new L2 tables, L2
 * entries to new data clusters) wait here until everything they point at
 * (refcounts, table contents) is on disk: one flush per request rather
 * than one per new cluster, and still no pointer on disk ever names a
 * cluster whose refcount or contents are not there yet.
 */
typedef struct Qcow2PointerUpdate {
    bool l1;                /* else an L2 entry */
    uint64_t index;         /* in the L1 table, or in the L2 table */
    uint64_t table;         /* the L2 table's offset */
    uint64_t entry;
    uint64_t old_host;      /* shared cluster the entry held, released
                               once the entry is on disk (0: none) */
    bool written;           /* the L2 entry reached the file */
} Qcow2PointerUpdate;

/*
 * The L2 table of L1 entry i is shared with a snapshot (no COPIED flag):
 * this node gets its own copy before changing it. The copy keeps every
 * entry, so the clusters they name keep their refcounts (one path to
 * each through the copy replaces the one through the old table); only
 * the old table loses a reference. Order: copy written and flushed,
 * L1 entry switched and flushed, old table released: a crash leaks,
 * never loses.
 */
static uint64_t *cow_l2(BlockDriverState *bs, uint64_t i, uint64_t old_off,
                        const uint64_t *old, uint64_t *l2_off, int *ret)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *copy = g_memdup2(old, s->cluster_size);
    uint64_t *l2;
    int64_t host = qcow2_alloc_clusters(bs, 1);

    if (host < 0) {
        *ret = (int)host;
        return NULL;
    }
    *ret = bdrv_pwrite(bs->file->bs, host, s->cluster_size, copy, 0, NULL);
    if (*ret == 0) {
        *ret = bdrv_flush(bs->file->bs, NULL);
    }
    if (*ret < 0) {
        return NULL;
    }
    s->l1[i] = host | QCOW2_OFLAG_COPIED;
    *ret = write_l1_entry(bs, i);
    if (*ret < 0) {
        s->l1[i] = old_off;
        return NULL;
    }
    trace_qcow2_cow_l2(bs->node_name, i, old_off, host);
    /* The L1 entry on disk before the old table's refcount drops. */
    *ret = bdrv_flush(bs->file->bs, NULL);
    if (*ret == 0) {
        *ret = qcow2_free_cluster(bs, old_off);
    }
    if (*ret < 0) {
        return NULL;
    }
    l2 = qcow2_cache_get(bs, s->l2_cache, QCOW2_L2_CACHE, host, true, ret);
    if (!l2) {
        return NULL;
    }
    memcpy(l2, copy, s->cluster_size);
    *l2_off = host;
    return l2;
}

/*
 * The L2 table for offset, allocating an empty one if there is none.
 * With pending, the new table's L1 entry is set in memory at once (the
 * rest of the request finds the table) and on disk by
 * apply_pointer_updates(); without, it is flushed and written here.
 */
static uint64_t *get_or_alloc_l2(BlockDriverState *bs, uint64_t offset,
                                 uint64_t *l2_off, GArray *pending, int *ret)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t i = l1_index(s, offset);
    uint64_t *l2 = get_l2(bs, offset, l2_off, ret);
    int64_t host;

    if (l2 || *ret < 0) {
        if (l2 && !(s->l1[i] & QCOW2_OFLAG_COPIED)) {
            return cow_l2(bs, i, *l2_off, l2, l2_off, ret);
        }
        return l2;
    }
    if (i >= s->l1_size) {
        *ret = qcow2_corrupt(bs, "offset beyond the L1 table");
        return NULL;
    }
    host = qcow2_alloc_clusters(bs, 1);
    if (host < 0) {
        *ret = (int)host;
        return NULL;
    }
    trace_qcow2_l2_new(bs->node_name, i, host);
    l2 = qcow2_cache_get(bs, s->l2_cache, QCOW2_L2_CACHE, host, true, ret);
    if (!l2) {
        return NULL;
    }
    *ret = bdrv_pwrite(bs->file->bs, host, s->cluster_size, l2, 0, NULL);
    if (*ret == 0 && !pending) {
        *ret = bdrv_flush(bs->file->bs, NULL);
    }
    if (*ret < 0) {
        return NULL;
    }
    s->l1[i] = host | QCOW2_OFLAG_COPIED;
    if (pending) {
        Qcow2PointerUpdate u = { .l1 = true, .index = i };

        g_array_append_val(pending, u);
    } else {
        *ret = write_l1_entry(bs, i);
        if (*ret < 0) {
            s->l1[i] = 0;
            return NULL;
        }
    }
    *l2_off = host;
    return l2;
}

/*
 * One flush, then the request's pointers. status is the request's
 * result so far; on any failure an L1 entry that did not reach the disk
 * is taken back in memory too (its table is leaked, never half-used).
 */
/*
 * The shared clusters the request's new L2 entries replaced lose this
 * node's reference, once those entries are on disk: a flush first, so
 * that no crash leaves an entry naming a cluster whose refcount already
 * left it out (the snapshot's deletion would then free it under us).
 */
static int release_replaced(BlockDriverState *bs, GArray *pending,
                            int status)
{
    bool any = false;
    int ret = 0;

    for (guint k = 0; k < pending->len; k++) {
        Qcow2PointerUpdate *u = &g_array_index(pending, Qcow2PointerUpdate,
                                               k);

        any |= u->written && u->old_host;
    }
    if (!any) {
        return status;
    }
    ret = bdrv_flush(bs->file->bs, NULL);
    for (guint k = 0; k < pending->len && ret == 0; k++) {
        Qcow2PointerUpdate *u = &g_array_index(pending, Qcow2PointerUpdate,
                                               k);

        if (u->written && u->old_host) {
            ret = qcow2_free_cluster(bs, u->old_host);
        }
    }
    /* A failure here leaks the old clusters, nothing worse. */
    return status < 0 ? status : ret;
}

static int apply_pointer_updates(BlockDriverState *bs, GArray *pending,
                                 int status)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!pending->len) {
        return status;
    }
    ret = bdrv_flush(bs->file->bs, NULL);
    for (guint k = 0; k < pending->len; k++) {
        Qcow2PointerUpdate *u = &g_array_index(pending, Qcow2PointerUpdate,
                                               k);
        uint64_t *l2;

        if (u->l1) {
            if (ret == 0) {
                ret = write_l1_entry(bs, u->index);
            }
            if (ret < 0) {
                s->l1[u->index] = 0;
            }
            continue;
        }
        if (ret < 0) {
            continue;
        }
        l2 = qcow2_cache_get(bs, s->l2_cache, QCOW2_L2_CACHE, u->table,
                             false, &ret);
        if (l2) {
            l2[u->index] = GUINT64_TO_BE(u->entry);
            ret = bdrv_pwrite(bs->file->bs, u->table + u->index * 8, 8,
                              &l2[u->index], 0, NULL);
        }
        u->written = ret == 0;
    }
    return release_replaced(bs, pending, status < 0 ? status : ret);
}

static int set_l2_entry(BlockDriverState *bs, uint64_t *l2, uint64_t l2_off,
                        uint64_t offset, uint64_t entry)
{
    uint64_t i = l2_index(bs->opaque, offset);

    l2[i] = GUINT64_TO_BE(entry);
    return bdrv_pwrite(bs->file->bs, l2_off + i * 8, 8, &l2[i], 0, NULL);
}

/* One write that stays inside one guest cluster; a new cluster's L2
 * entry goes to pending. only_unallocated: a cluster this image holds
 * (data or zeroes) is left as it is. */
static int write_cluster_part(BlockDriverState *bs, uint64_t off,
                              BlockIov *qiov, uint64_t qoff, uint64_t len,
                              GArray *pending, bool only_unallocated)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in = off & (s->cluster_size - 1);
    uint64_t cstart = off - in;
    uint64_t l2_off, entry, host;
    Qcow2ClusterType type;
    uint64_t old_host = 0;
    g_autofree uint8_t *buf = NULL;
    bool fresh, shared;
    int ret;
    uint64_t *l2 = get_or_alloc_l2(bs, off, &l2_off, pending, &ret);

    if (!l2) {
        return ret;
    }
    entry = GUINT64_FROM_BE(l2[l2_index(s, off)]);
    ret = classify(bs, entry, &type, &host);
    if (ret < 0) {
        return ret;
    }
    if (only_unallocated && type != QCOW2_CLUSTER_UNALLOCATED) {
        return 0;
    }
    if (type == QCOW2_CLUSTER_NORMAL && (entry & QCOW2_OFLAG_COPIED)) {
        BlockIov part;

        block_iov_slice(&part, qiov, qoff, len);
        ret = bdrv_pwritev(bs->file->bs, host + in, &part, 0, NULL);
        g_free(part.iov);
        return ret;
    }

    /*
     * Unallocated, zero, or shared with a snapshot (no COPIED flag): the
     * whole cluster is written at once, the new bytes over what the
     * cluster read as before (backing data, zeroes, or the shared
     * cluster's data), into a preallocated cluster this node owns or a
     * new one. A shared cluster loses this node's reference only once
     * the new entry is on disk (apply_pointer_updates).
     */
    shared = host && !(entry & QCOW2_OFLAG_COPIED);
    fresh = !(type == QCOW2_CLUSTER_ZERO && host && !shared);
    buf = g_malloc(s->cluster_size);
    if (len < s->cluster_size) {
        struct iovec one;
        BlockIov whole;

        block_iov_init_buf(&whole, &one, buf, s->cluster_size);
        if (type == QCOW2_CLUSTER_UNALLOCATED) {
            ret = read_backing(bs, cstart, &whole, 0, s->cluster_size);
        } else if (type == QCOW2_CLUSTER_NORMAL) {
            ret = bdrv_pread(bs->file->bs, host, s->cluster_size, buf, NULL);
        } else {
            memset(buf, 0, s->cluster_size);
        }
        if (ret < 0) {
            return ret;
        }
    }
    block_iov_to_buf(qiov, qoff, buf + in, len);
    if (fresh) {
        int64_t h = qcow2_alloc_clusters(bs, 1);

        if (h < 0) {
            return (int)h;
        }
        if (shared) {
            trace_qcow2_cow_cluster(bs->node_name, host, h);
        }
        old_host = shared ? host : 0;
        host = h;
    }
    ret = bdrv_pwrite(bs->file->bs, host, s->cluster_size, buf, 0, NULL);
    if (ret < 0) {
        return ret;
    }
    if (fresh) {
        /* Its refcount must be on disk before an L2 entry points at it. */
        Qcow2PointerUpdate u = { .index = l2_index(s, off), .table = l2_off,
                                 .entry = host | QCOW2_OFLAG_COPIED,
                                 .old_host = old_host };

        g_array_append_val(pending, u);
        return 0;
    }
    return set_l2_entry(bs, l2, l2_off, off, host | QCOW2_OFLAG_COPIED);
}

int qcow2_write(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                bool only_unallocated)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GArray) pending = g_array_new(false, false,
                                            sizeof(Qcow2PointerUpdate));
    uint64_t done = 0;
    int ret = 0;

    while (done < qiov->size && ret == 0) {
        uint64_t off = offset + done;
        uint64_t in = off & (s->cluster_size - 1);
        uint64_t len = MIN(qiov->size - done, s->cluster_size - in);

        ret = write_cluster_part(bs, off, qiov, done, len, pending,
                                 only_unallocated);
        done += len;
    }
    /* Also after a failure: what was written is kept, consistently. */
    return apply_pointer_updates(bs, pending, ret);
}

/*
 * Whole clusters of [offset, +bytes) become zero clusters (write-zeroes)
 * or unallocated/zero (discard: zero when a backing file would otherwise
 * show through). Their host clusters are freed, except that write-zeroes
 * without may_unmap keeps a cluster it owns, marked zero. The caller
 * passes cluster-aligned ranges.
 */
int qcow2_zero_or_discard(BlockDriverState *bs, uint64_t offset,
                          uint64_t bytes, bool discard, bool may_unmap)
{
    BDRVQcow2State *s = bs->opaque;
    bool has_backing = bdrv_backing_bs(bs) != NULL;

    for (uint64_t off = offset; off < offset + bytes;
         off += s->cluster_size) {
        uint64_t l2_off, entry, host, new_entry;
        Qcow2ClusterType type;
        uint64_t *l2;
        int ret;

        if (discard || !has_backing) {
            /* No L2 table: already unallocated, reading zeroes or backing. */
            l2 = get_l2(bs, off, &l2_off, &ret);
            if (!l2 && ret == 0 && (!discard || !has_backing)) {
                continue;
            }
        }
        l2 = get_or_alloc_l2(bs, off, &l2_off, NULL, &ret);
        if (!l2) {
            return ret;
        }
        entry = GUINT64_FROM_BE(l2[l2_index(s, off)]);
        ret = classify(bs, entry, &type, &host);
        if (ret < 0) {
            return ret;
        }
        if (!discard && !may_unmap && host && (entry & QCOW2_OFLAG_COPIED)) {
            new_entry = host | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO;
            host = 0;   /* kept */
        } else if (discard && !has_backing) {
            new_entry = 0;
        } else {
            new_entry = QCOW2_OFLAG_ZERO;
        }
        if (new_entry == entry) {
            continue;
        }
        /* Unlink first, then free: never an entry pointing at a free one.
         * A cluster a snapshot shares gets a flush between the two (as
         * in release_replaced), or a crash could leave its refcount
         * counting the snapshot only while this entry still names it. */
        ret = set_l2_entry(bs, l2, l2_off, off, new_entry);
        if (ret == 0 && host && !(entry & QCOW2_OFLAG_COPIED)) {
            ret = bdrv_flush(bs->file->bs, NULL);
        }
        if (ret == 0 && host) {
            ret = qcow2_free_cluster(bs, host);
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int qcow2_empty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per_l2 = 1ull << s->l2_bits;
    g_autofree uint64_t *be = NULL;
    int ret;

    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t l2_off = s->l1[i] & QCOW2_OFFSET_MASK;
        uint64_t *l2;

        if (!l2_off) {
            continue;
        }
        ret = 0;
        l2 = get_l2(bs, i << (s->cluster_bits + s->l2_bits), &l2_off, &ret);
        if (!l2) {
            return ret;
        }
        for (uint64_t j = 0; j < per_l2; j++) {
            uint64_t host = GUINT64_FROM_BE(l2[j]) & QCOW2_OFFSET_MASK;

            if (host) {
                ret = qcow2_free_cluster(bs, host);
                if (ret < 0) {
                    return ret;
                }
            }
        }
        s->l1[i] = 0;
        ret = write_l1_entry(bs, i);
        if (ret == 0) {
            ret = qcow2_free_cluster(bs, l2_off);
        }
        if (ret < 0) {
            return ret;
        }
    }
    (void)be;
    return 0;
}

int qcow2_grow_l1(BlockDriverState *bs, uint64_t min_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = min_size * 8;
    uint64_t nclusters = (bytes + s->cluster_size - 1) >> s->cluster_bits;
    uint64_t old_off = s->l1_offset;
    uint64_t old_clusters = ((uint64_t)s->l1_size * 8 + s->cluster_size - 1)
                            >> s->cluster_bits;
    g_autofree uint64_t *table = NULL;
    uint8_t hdr[12];
    int64_t host;
    int ret;

    if (bytes > QCOW2_MAX_L1_BYTES) {
        return -EFBIG;
    }
    host = qcow2_alloc_clusters(bs, nclusters);
    if (host < 0) {
        return (int)host;
    }
    table = g_malloc0(nclusters << s->cluster_bits);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        table[i] = GUINT64_TO_BE(s->l1[i]);
    }
    ret = bdrv_pwrite(bs->file->bs, host, nclusters << s->cluster_bits,
                      table, 0, NULL);
    if (ret == 0) {
        ret = bdrv_flush(bs->file->bs, NULL);
    }
    if (ret < 0) {
        return ret;
    }
    /* l1_size and l1_table_offset are adjacent: one write switches. */
    {
        uint32_t be_size = GUINT32_TO_BE((uint32_t)min_size);
        uint64_t be_off = GUINT64_TO_BE((uint64_t)host);

        memcpy(hdr, &be_size, 4);
        memcpy(hdr + 4, &be_off, 8);
    }
    ret = bdrv_pwrite(bs->file->bs, QCOW2_HDR_L1_SIZE, 12, hdr, 0, NULL);
    if (ret < 0) {
        return ret;
    }
    s->l1 = g_renew(uint64_t, s->l1, min_size);
    memset(s->l1 + s->l1_size, 0, (min_size - s->l1_size) * 8);
    s->l1_size = min_size;
    s->l1_offset = host;
    for (uint64_t i = 0; i < old_clusters && old_off; i++) {
        ret = qcow2_free_cluster(bs, old_off + (i << s->cluster_bits));
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}
