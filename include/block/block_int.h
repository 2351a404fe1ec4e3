/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a block driver implements, and the node it works on. Only block/
 * includes this; users go through block/block-backend.h.
 *
 * Driver rules: every I/O callback is synchronous, returns 0 or -errno and
 * may run on several threads at once (block/block.h, "Threads"); offsets
 * and lengths arrive checked against the node's size where a size makes
 * sense (reads past the end of a file node are the driver's to zero-fill).
 * open() receives the node's QAPI options with the children already opened
 * and attached (bs->file, bs->backing) when the options named them.
 */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include <glib.h>
#include "block/block.h"
#include "block/accounting.h"
#include "block/internal-snapshot.h"

struct BlockDriver {
    const char *format_name;
    size_t instance_size;
    /* Format drivers have a mandatory "file" child. */
    bool is_format;
    /* Format drivers that may have a "backing" child. */
    bool supports_backing;
    /*
     * The node wants from its "file" child exactly what its own parents
     * want from it (raw), rather than owning the file (block/permission.h).
     */
    bool passes_perms;

    bool (*open)(BlockDriverState *bs, const BlockdevOptions *opts,
                 Error **errp);
    void (*close)(BlockDriverState *bs);
    /*
     * Called after open() when opts had no "backing" key: a format with a
     * backing file named in its header opens it here (bdrv_open_backing).
     */
    bool (*open_default_backing)(BlockDriverState *bs, Error **errp);

    int (*preadv)(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                  int flags);
    int (*pwritev)(BlockDriverState *bs, uint64_t offset, BlockIov *qiov,
                   int flags);
    /* -ENOTSUP makes the caller write a zeroed buffer instead. */
    int (*pwrite_zeroes)(BlockDriverState *bs, uint64_t offset,
                         uint64_t bytes, int flags);
    int (*pdiscard)(BlockDriverState *bs, uint64_t offset, uint64_t bytes);
    int (*flush)(BlockDriverState *bs);
    int64_t (*getlength)(BlockDriverState *bs);
    int (*truncate)(BlockDriverState *bs, uint64_t size, Error **errp);
    int (*block_status)(BlockDriverState *bs, uint64_t offset,
                        uint64_t bytes, uint64_t *pnum, uint64_t *map,
                        BlockDriverState **file);
    int (*make_empty)(BlockDriverState *bs);
    /* Bytes the node takes on the host (-ENOTSUP when unknown). */
    int64_t (*get_allocated_size)(BlockDriverState *bs);
    /* The backing file named in the image header, or NULL. */
    const char *(*backing_filename)(BlockDriverState *bs);
    /*
     * Names file (format fmt, or probed when NULL) as the backing file
     * in the image header, or no backing file when file is NULL. The
     * header names the old file or the new one, whatever happens.
     */
    bool (*change_backing_file)(BlockDriverState *bs, const char *file,
                                const char *fmt, Error **errp);
    /* Cluster size for query-named-block-nodes (0: none). */
    int (*cluster_size)(BlockDriverState *bs);
    /*
     * Activation (block/activation.h). inactivate() runs after the node
     * was flushed and drops what it caches of the image; activate()
     * throws away everything it knows of the image and reads it again,
     * validating it as at open (another process wrote it meanwhile).
     * Both run with no request in flight on the node.
     */
    bool (*activate)(BlockDriverState *bs, Error **errp);
    /*
     * A node opened read-only is to take writes (bdrv_make_writable).
     * A protocol driver (file) gets ready for them first, keeping the
     * image locks it holds; a format driver is called once the node
     * holds its write permission, and checks and updates its header.
     * Failing leaves the node as it was. Nothing is in flight.
     */
    bool (*make_writable)(BlockDriverState *bs, Error **errp);
    void (*inactivate)(BlockDriverState *bs);
    /*
     * The node's cumulative permissions changed (block/permission.h):
     * what its users hold and share, BLK_PERM_* masks. Fails only when
     * gaining something another process stands in the way of, and then
     * keeps what it had.
     */
    bool (*set_perm)(BlockDriverState *bs, uint64_t perm, uint64_t shared,
                     Error **errp);
    /*
     * Internal snapshots (block/internal-snapshot.h); NULL: the format
     * keeps none. list returns the number or -errno; create fills in
     * sn->id; delete takes a snapshot's (unique) id.
     */
    int (*snapshot_list)(BlockDriverState *bs, BdrvSnapshot **list);
    bool (*snapshot_create)(BlockDriverState *bs, BdrvSnapshot *sn,
                            Error **errp);
    bool (*snapshot_delete)(BlockDriverState *bs, const char *id,
                            Error **errp);
};

struct BdrvChild {
    char *name;                 /* "file" or "backing" */
    BlockDriverState *bs;       /* holds one reference */
    BlockDriverState *parent;
};

struct BlockDriverState {
    char *node_name;
    bool auto_named;            /* "#blockN", not chosen by the user */
    const BlockDriver *drv;
    void *opaque;               /* drv->instance_size bytes */
    int refcnt;
    bool read_only;
    bool force_share;
    /*
     * Held by an operation that rewrites its backing chain (commit):
     * its backing edge shares everything meanwhile (block/permission.h).
     */
    unsigned chain_rewrites;
    bool discard_unmap;         /* discard=unmap */
    bool cache_direct;
    bool cache_no_flush;
    uint32_t request_alignment; /* offsets/lengths the driver needs */
    char *filename;             /* the file underneath, for errors */
    BdrvChild *file;
    BdrvChild *backing;
    /* Requests running on this node from the request layer. */
    int in_flight;              /* atomic */
    BlockAcctStats stats;
    /* The monitor's reference (blockdev-add); blockdev-del drops it. */
    bool monitor_owned;
    /*
     * Another process (the migration peer) owns the image: no writes, and
     * no metadata trusted until activation (block/activation.h).
     */
    bool inactive;
    /* BdrvWriteNotifier list (block/dirty-bitmap.c has its lock). */
    GSList *write_notifiers;
};

/* The driver named by format (QAPI enum name), or NULL. */
const BlockDriver *bdrv_find_driver(const char *format);

/*
 * Opens the node's backing file by name (relative to the image's own
 * directory), probing raw/qcow2 unless fmt is given, read-only, and
 * attaches it as the "backing" child.
 */
bool bdrv_open_backing_file(BlockDriverState *bs, const char *filename,
                            const char *fmt, Error **errp);
/*
 * Creates a qcow2 v3 image at path (which must not exist) whose backing
 * file is backing, of format backing_fmt (-drive snapshot=on's temporary
 * overlay), or with no backing file when backing is NULL.
 */
bool qcow2_create_overlay(const char *path, uint64_t size,
                          const char *backing, const char *backing_fmt,
                          Error **errp);
/*
 * Graph surgery for an overlay put on top of a node (block/overlay.c).
 * Main loop, BQL, nothing in flight on the nodes concerned. None of these
 * refreshes permissions but bdrv_set_backing (which may fail on another
 * process's lock), bdrv_clear_backing (which only gives some up) and
 * bdrv_make_read_only; the caller refreshes after the others.
 */
/* Attaches backing as bs's "backing" child (bs has none). */
bool bdrv_set_backing(BlockDriverState *bs, BlockDriverState *backing,
                      Error **errp);
void bdrv_clear_backing(BlockDriverState *bs);
/*
 * Points c at node to instead, moving the write its parent makes (a
 * writable format on its file) along; the parent's reference moves too.
 */
void bdrv_child_set_bs(BdrvChild *c, BlockDriverState *to);
/*
 * Flushes bs and makes it read-only, which it may become only once no
 * user writes it (QEMU's reopen read-only of a snapshot's old node): its
 * file child then loses its writer and the image its write lock.
 */
bool bdrv_make_read_only(BlockDriverState *bs, Error **errp);
/*
 * The reverse, for a job that writes a node it found read-only (the base
 * of block-commit, the top of block-stream, the overlay whose backing
 * file changes): the node and its file child become writable, the image
 * gets its write lock (refused, and nothing changed, when another
 * process holds the image: 'Failed to get "write" lock'), and the
 * format checks it may write the image (qcow2: not dirty, not corrupt,
 * no internal snapshots). Drains everything first.
 */
bool bdrv_make_writable(BlockDriverState *bs, Error **errp);
/*
 * The same at a path that may exist (blockdev-snapshot-sync's and
 * drive-mirror's mode=absolute-paths, as QEMU): emptied in place, unless
 * another open of the image holds it ('Failed to get "write" lock',
 * QEMU's refusal, checked first) or user (the node that has it open here, if any, from
 * bdrv_find_node_on_file) is given. Mode 0644 less umask.
 */
bool qcow2_format_overlay(const char *path, uint64_t size,
                          const char *backing, const char *backing_fmt,
                          const char *user, Error **errp);
/* Error prefix for this node: "node 'NAME' (file 'F')". */
char *bdrv_describe(const BlockDriverState *bs);

extern const BlockDriver bdrv_file;
extern const BlockDriver bdrv_nbd;
extern const BlockDriver bdrv_null_co;
extern const BlockDriver bdrv_raw;
extern const BlockDriver bdrv_qcow2;

#endif
