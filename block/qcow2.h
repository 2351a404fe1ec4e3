/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qcow2 driver's shared state, split across qcow2.c (header, open,
 * requests), qcow2-cluster.c (L1/L2 mapping, allocating writes, zero and
 * discard) and qcow2-refcount.c (refcounts and cluster allocation).
 *
 * On-disk format (docs/interop/qcow2.txt in QEMU; all big-endian):
 *   header (cluster 0): magic "QFI\xfb", version, backing file name,
 *     cluster_bits, virtual size, L1 and refcount table locations,
 *     v3 feature bits, refcount_order, header_length, then extensions.
 *   L1 table: l1_size entries; bits 9-55 = L2 table offset, bit 63 COPIED.
 *   L2 table (one cluster): bits 9-55 = data cluster offset, bit 0 reads
 *     as zeroes (v3), bit 62 compressed (refused), bit 63 COPIED
 *     (refcount is exactly 1: writable in place).
 *   refcount table: entries = refcount block offsets (0: none yet);
 *     a refcount block holds 2^refblock_bits entries of refcount_bits.
 *   snapshot table (header: nb_snapshots at 60, snapshots_offset at 64):
 *     entries of their own L1 tables; a cluster's refcount counts every
 *     path to it from the active L1 and each snapshot's L1 (a data
 *     cluster in an L2 table two L1 tables share has refcount 2), so a
 *     table or cluster with refcount > 1 is copied before it is written
 *     (its COPIED flag is clear): block/qcow2-snapshot.c.
 *
 * Lock: BDRVQcow2State.lock serialises every request on the node (the
 * tables and caches below are only touched with it held). Writes are
 * ordered refcount -> (flush) -> data -> L2/L1 entry, so a host crash
 * leaks clusters at worst, never points at a free one.
 */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include <string.h>
#include <glib.h>
#include "block/block_int.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)

#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_REFT_OFFSET_MASK 0xfffffffffffffe00ull

/* Incompatible feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)

#define QCOW2_EXT_END 0
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u

/* Header field offsets we rewrite. */
#define QCOW2_HDR_SIZE 24
#define QCOW2_HDR_L1_SIZE 36
#define QCOW2_HDR_L1_OFFSET 40
#define QCOW2_HDR_REFTABLE_OFFSET 48  /* then refcount_table_clusters */
#define QCOW2_HDR_NB_SNAPSHOTS 60   /* then snapshots_offset */
#define QCOW2_HDR_AUTOCLEAR 88

#define QCOW2_L2_CACHE 16
#define QCOW2_RB_CACHE 4

typedef struct Qcow2CacheEntry {
    uint64_t offset;        /* 0: empty */
    uint64_t lru;
    void *table;            /* one cluster, as on disk (big-endian) */
} Qcow2CacheEntry;

/* What one guest cluster maps to. */
typedef enum Qcow2ClusterType {
    QCOW2_CLUSTER_UNALLOCATED,  /* backing file, or zeroes */
    QCOW2_CLUSTER_ZERO,         /* reads zeroes; may keep a host cluster */
    QCOW2_CLUSTER_NORMAL,       /* data at host */
} Qcow2ClusterType;

/* One entry of the snapshot table, host-endian. */
typedef struct Qcow2Snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id;
    char *name;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint32_t vm_state_size;     /* the 32-bit field */
    uint32_t extra_size;
    uint8_t *extra;             /* as on disk: kept whole when rewritten */
} Qcow2Snapshot;

typedef struct BDRVQcow2State {
    GMutex lock;
    int version;
    int cluster_bits;
    uint64_t cluster_size;
    int l2_bits;                /* log2 of entries per L2 table */
    uint64_t size;              /* virtual size */
    uint64_t incompatible;
    uint64_t autoclear;

    uint32_t l1_size;
    uint64_t l1_offset;
    uint64_t *l1;               /* host-endian copy */

    int refcount_order;
    int refblock_bits;          /* log2 of entries per refcount block */
    uint64_t reftable_offset;
    uint64_t reftable_size;     /* entries */
    uint64_t *reftable;         /* host-endian copy */
    uint64_t free_cluster_index;

    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;    /* bytes of the table on disk */
    Qcow2Snapshot *snapshots;

    char *backing_file;
    char *backing_format;
    bool pass_discard;

    Qcow2CacheEntry l2_cache[QCOW2_L2_CACHE];
    Qcow2CacheEntry rb_cache[QCOW2_RB_CACHE];
    uint64_t lru_clock;
} BDRVQcow2State;

/* qcow2.c */
/* Reports corruption found while running (trace + -EIO). */
int qcow2_corrupt(BlockDriverState *bs, const char *what);
/* Loads the cluster at offset through cache; NULL and *ret on error. */
void *qcow2_cache_get(BlockDriverState *bs, Qcow2CacheEntry *cache, int n,
                      uint64_t offset, bool zeroed, int *ret);
void qcow2_cache_drop(Qcow2CacheEntry *cache, int n, uint64_t offset);
void qcow2_cache_free(Qcow2CacheEntry *cache, int n);

/* qcow2-refcount.c */
/* Entry i of a refcount block (as on disk) with 2^order-bit entries. */
void qcow2_refblock_set(void *block, int order, uint64_t i, uint64_t v);
int qcow2_get_refcount(BlockDriverState *bs, uint64_t cluster,
                       uint64_t *refcount);
/* n contiguous clusters, refcount 1 each: the host offset or -errno. */
int64_t qcow2_alloc_clusters(BlockDriverState *bs, uint64_t n);
/* Drops one reference; a cluster that becomes free is discarded. */
int qcow2_free_cluster(BlockDriverState *bs, uint64_t host);
/* Adds one reference (a snapshot now shares the cluster). */
int qcow2_ref_cluster(BlockDriverState *bs, uint64_t host);
/* The largest refcount the image's refcount width holds. */
uint64_t qcow2_refcount_max(BDRVQcow2State *s);

/* qcow2-cluster.c */
int qcow2_get_cluster(BlockDriverState *bs, uint64_t offset,
                      Qcow2ClusterType *type, uint64_t *host);
int qcow2_read(BlockDriverState *bs, uint64_t offset, BlockIov *qiov);
/*
 * only_unallocated (BDRV_REQ_ONLY_UNALLOCATED): clusters this image
 * holds already keep their contents; checked and written under the
 * node's lock, so a guest write to the same cluster is never undone.
 */
int qcow2_write(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                bool only_unallocated);
int qcow2_zero_or_discard(BlockDriverState *bs, uint64_t offset,
                          uint64_t bytes, bool discard, bool may_unmap);
int qcow2_empty(BlockDriverState *bs);
int qcow2_grow_l1(BlockDriverState *bs, uint64_t min_size);

/* qcow2-snapshot.c */
/* Reads and checks the snapshot table at open (not their L1 tables). */
bool qcow2_read_snapshots(BlockDriverState *bs, uint32_t nb,
                          uint64_t offset, uint64_t file_len, Error **errp);
void qcow2_free_snapshots(BDRVQcow2State *s);
int qcow2_snapshot_list(BlockDriverState *bs, BdrvSnapshot **list);
bool qcow2_snapshot_create(BlockDriverState *bs, BdrvSnapshot *sn,
                           Error **errp);
bool qcow2_snapshot_delete(BlockDriverState *bs, const char *id,
                           Error **errp);

/* Big-endian fields of the on-disk structures, at any alignment. */
static inline uint16_t be16_at(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return GUINT16_FROM_BE(v);
}

static inline uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static inline uint64_t be64_at(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

#endif
