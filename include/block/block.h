/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block graph: nodes (BlockDriverState) stacked through named children
 * ("file", "backing"), each node driven by one driver (protocol drivers
 * such as file or null-co at the leaves, format drivers such as raw and
 * qcow2 above them). Users (devices, the NBD server, jobs) do not touch
 * nodes: they hold a BlockBackend (block/block-backend.h).
 *
 * Threads and the async model (docs/devel/block.md has the picture):
 * - The graph (creating, naming, attaching, deleting nodes) changes only
 *   on the main loop with the BQL held, and only while no request is in
 *   flight on the nodes concerned (bdrv_drain_all()).
 * - Driver callbacks are synchronous and thread-safe: a request runs start
 *   to finish on one thread, either a block worker thread (asynchronous
 *   requests, blk_aio_*) or the caller's own thread (blk_p* calls, allowed
 *   from any helper thread and from the main loop). A driver with mutable
 *   metadata (qcow2) takes its own per-node lock.
 * - The file driver's AIO engines (io_uring, native) submit to the kernel
 *   and the requesting thread waits for its completion; completions are
 *   reaped by whichever waiter holds the engine's reap turn.
 *
 * Errors: I/O functions return 0 or -errno and, with an Error **, name the
 * node and its file: "node 'd0' (file '/x.qcow2'): write at 4096: ...".
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include "util/error.h"
#include "qapi/qapi-types.h"

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;
typedef struct BdrvChild BdrvChild;

#define BDRV_SECTOR_SIZE 512

/* Request flags. */
enum {
    BDRV_REQ_FUA = 1 << 0,        /* write through to stable storage */
    BDRV_REQ_MAY_UNMAP = 1 << 1,  /* write-zeroes may deallocate */
    BDRV_REQ_NO_FALLBACK = 1 << 2, /* write-zeroes: fail rather than write */
    /*
     * A write that copies what the backing chain shows into an overlay
     * (block-stream): only the clusters the node does not hold yet are
     * written, so data the guest wrote there meanwhile stays. Formats
     * with backing files only (qcow2); others fail with -ENOTSUP.
     */
    BDRV_REQ_ONLY_UNALLOCATED = 1 << 3
};

/* block_status answers. */
enum {
    BDRV_BLOCK_DATA = 1 << 0,         /* reads come from this node's data */
    BDRV_BLOCK_ZERO = 1 << 1,         /* reads return zeroes */
    BDRV_BLOCK_OFFSET_VALID = 1 << 2, /* *map is the offset in *file */
    BDRV_BLOCK_ALLOCATED = 1 << 3     /* this node (not a backing) answers */
};

/*
 * A scatter/gather list over caller memory (guest RAM for a device): the
 * shape every read and write takes, so no request copies by default.
 */
typedef struct BlockIov {
    struct iovec *iov;
    int niov;
    uint64_t size;      /* sum of iov_len */
} BlockIov;

void block_iov_init_buf(BlockIov *qiov, struct iovec *one, void *buf,
                        uint64_t len);
/* dst gets a new iov array (g_free it) covering src[off, off + len). */
void block_iov_slice(BlockIov *dst, const BlockIov *src, uint64_t off,
                     uint64_t len);
void block_iov_memset(const BlockIov *qiov, uint64_t off, int c,
                      uint64_t len);
void block_iov_to_buf(const BlockIov *qiov, uint64_t off, void *buf,
                      uint64_t len);
void block_iov_from_buf(const BlockIov *qiov, uint64_t off, const void *buf,
                        uint64_t len);
bool block_iov_is_zero(const BlockIov *qiov);

/*
 * Opens a node (and the children its options define) from QAPI options.
 * The caller gets one reference. Errors name the node and the file.
 */
BlockDriverState *bdrv_open_blockdev(const BlockdevOptions *opts,
                                     Error **errp);
void bdrv_ref(BlockDriverState *bs);
/* Drops a reference; the last one closes the node and its children. */
void bdrv_unref(BlockDriverState *bs);

BlockDriverState *bdrv_find_node(const char *node_name);
const char *bdrv_get_node_name(const BlockDriverState *bs);
const char *bdrv_get_format_name(const BlockDriverState *bs);
/* The file the node ultimately reads ("" for null-co): for errors. */
const char *bdrv_get_filename(const BlockDriverState *bs);
BlockDriverState *bdrv_file_bs(const BlockDriverState *bs);
BlockDriverState *bdrv_backing_bs(const BlockDriverState *bs);
bool bdrv_is_read_only(const BlockDriverState *bs);
int bdrv_refcount(const BlockDriverState *bs);
/*
 * The first node that has the file at path open (same file after
 * symlinks and ".."), or NULL: a file to be created anew must not be an
 * image in use, even one opened with locking=off.
 */
BlockDriverState *bdrv_find_node_on_file(const char *path);
/* Iterates over all nodes in creation order; NULL starts. */
BlockDriverState *bdrv_next_node(BlockDriverState *bs);
/* Waits (spinning the main loop, BQL held) until no request is in flight. */
void bdrv_drain_all(void);

/*
 * Synchronous node I/O for drivers and helper threads: 0 or -errno, with
 * *errp naming the node and its file when errp is given.
 */
int bdrv_preadv(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                int flags, Error **errp);
int bdrv_pwritev(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                 int flags, Error **errp);
int bdrv_pread(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
               void *buf, Error **errp);
int bdrv_pwrite(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                const void *buf, int flags, Error **errp);
int bdrv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                       uint64_t bytes, int flags, Error **errp);
int bdrv_pdiscard(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                  Error **errp);
int bdrv_flush(BlockDriverState *bs, Error **errp);
/* The size in bytes, or -errno. */
int64_t bdrv_getlength(BlockDriverState *bs);
int bdrv_truncate(BlockDriverState *bs, uint64_t size, Error **errp);
/*
 * Status of [offset, offset + bytes): returns BDRV_BLOCK_* flags for the
 * first *pnum bytes (*pnum > 0 unless bytes is 0), or -errno. map/file may
 * be NULL.
 */
int bdrv_block_status(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                      uint64_t *pnum, uint64_t *map, BlockDriverState **file);
/*
 * Status of [offset, offset + bytes) as a reader of bs sees it: where bs
 * does not allocate (no BDRV_BLOCK_ALLOCATED) the backing chain answers,
 * and past a shorter backing everything reads as zeroes. Returns
 * BDRV_BLOCK_DATA and/or BDRV_BLOCK_ZERO for the first *pnum bytes, or
 * -errno.
 */
int bdrv_block_status_above(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, uint64_t *pnum);
/*
 * Records file (of format fmt) as bs's backing file in its image header
 * (NULL: none), for whoever opens the image next; the graph is the
 * caller's. bs must be writable.
 */
bool bdrv_change_backing_file(BlockDriverState *bs, const char *file,
                              const char *fmt, Error **errp);
/* Empties an overlay (qcow2): every cluster reads from the backing again. */
int bdrv_make_empty(BlockDriverState *bs, Error **errp);

#endif
