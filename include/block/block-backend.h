/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A BlockBackend is one user's handle on a node: a guest device, a
 * -drive, an NBD export, a job. It holds a reference to its root node and
 * claims what its user needs of it (block/permission.h): an export or a
 * job from its creation, a -drive only consistent read (as QEMU's:
 * sharing everything, so a drive nobody uses blocks nobody) until a
 * device attaches and claims what the device needs, until it detaches.
 * A node has at most one writer unless every writer shares writing
 * (share_rw, the device property share-rw=on).
 *
 * I/O through a BlockBackend is range-checked against the root's size,
 * counted in the backend's statistics, and comes two ways:
 * - blk_p*(): synchronous, 0 or -errno, from the main loop or any helper
 *   thread (never from a completion callback's own worker: there is none,
 *   callbacks run on the main loop);
 * - blk_aio_*(): the request runs on a block worker thread; cb(opaque,
 *   ret, err) runs later on the main loop with the BQL held, err (borrowed,
 *   NULL on success) naming the node and the file.
 * blk_drain() waits (any thread holding the BQL: the main loop, a vCPU, the
 * migration thread) until the backend has no request in flight, running
 * the callbacks that are due on its own thread; blk_unref() drains first.
 */
#ifndef BLOCK_BLOCK_BACKEND_H
#define BLOCK_BLOCK_BACKEND_H

#include <glib.h>
#include "block/block.h"
#include "block/accounting.h"

typedef struct BlockBackend BlockBackend;

typedef void BlockCompletionFunc(void *opaque, int ret, const Error *err);

/*
 * name may be NULL (an anonymous backend, e.g. a job's). Takes its own
 * reference to bs and claims perm, letting others hold shared (BLK_PERM_*
 * masks). Fails when the name is taken, or the claim conflicts with
 * another user of bs: one of this process (a second writer, a write to a
 * read-only node), or of another (the image lock).
 */
BlockBackend *blk_new_perm(const char *name, BlockDriverState *bs,
                           uint64_t perm, uint64_t shared, Error **errp);
/*
 * The same for a user that reads, writes if writable, and unless
 * share_rw lets nobody else write while it does.
 */
BlockBackend *blk_new(const char *name, BlockDriverState *bs, bool writable,
                      bool share_rw, Error **errp);
void blk_unref(BlockBackend *blk);

BlockBackend *blk_by_name(const char *name);
/* Iterates over named backends in creation order; NULL starts. */
BlockBackend *blk_next(BlockBackend *blk);
/* The same over what query-block and query-blockstats list, as QEMU:
 * the named backends and the anonymous ones a device uses (a device on
 * a -blockdev node). */
BlockBackend *blk_next_listed(BlockBackend *blk);
const char *blk_name(const BlockBackend *blk);
BlockDriverState *blk_bs(const BlockBackend *blk);
/* Whether it claims write now (a bare -drive does not: its device will). */
bool blk_is_writable(const BlockBackend *blk);
/* Write cache on (writeback, default) or off (each write is followed by
 * a flush before it completes). */
void blk_set_enable_write_cache(BlockBackend *blk, bool wce);
bool blk_enable_write_cache(const BlockBackend *blk);
BlockAcctStats *blk_get_stats(BlockBackend *blk);
/* A temporary overlay (-drive snapshot=on) to delete when closing. */
void blk_set_delete_on_close(BlockBackend *blk, const char *path);

int blk_preadv(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
               Error **errp);
int blk_pwritev(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
                int flags, Error **errp);
int blk_pread(BlockBackend *blk, uint64_t offset, uint64_t bytes, void *buf,
              Error **errp);
int blk_pwrite(BlockBackend *blk, uint64_t offset, uint64_t bytes,
               const void *buf, int flags, Error **errp);
int blk_pwrite_zeroes(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      int flags, Error **errp);
int blk_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                 Error **errp);
int blk_flush(BlockBackend *blk, Error **errp);
int64_t blk_getlength(BlockBackend *blk);
int blk_truncate(BlockBackend *blk, uint64_t size, Error **errp);
int blk_block_status(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                     uint64_t *pnum);

void blk_aio_preadv(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
                    BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwritev(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
                     int flags, BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwrite_zeroes(BlockBackend *blk, uint64_t offset,
                           uint64_t bytes, int flags,
                           BlockCompletionFunc *cb, void *opaque);
void blk_aio_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      BlockCompletionFunc *cb, void *opaque);
void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque);

/*
 * The error policy a device with werror=auto / rerror=auto follows:
 * -drive werror=, rerror=, else QEMU's defaults (enospc for writes,
 * report for reads). Never returns BLOCKDEV_ON_ERROR_AUTO.
 */
void blk_set_on_error(BlockBackend *blk, BlockdevOnError on_read_error,
                      BlockdevOnError on_write_error);
BlockdevOnError blk_get_on_error(const BlockBackend *blk, bool is_read);

/*
 * A device takes a backend for itself: a second device is refused
 * ("Drive 'ID' is already in use by another device"), and drive_del
 * refuses a backend with a device. qdev (may be NULL) is the device's
 * QOM path as query-block shows it ("/machine/peripheral/vd0/virtio-backend").
 * The device's claim replaces the backend's own until it detaches:
 * consistent read, write unless the node is read-only, and without
 * share_rw nobody else may write. Refused, leaving the backend as it was,
 * when another user of this process writes already or another process
 * holds the image (QEMU's 'Failed to get "write" lock', naming the node).
 */
bool blk_attach_dev(BlockBackend *blk, void *dev, const char *qdev,
                    bool share_rw, Error **errp);
void blk_detach_dev(BlockBackend *blk, void *dev);
/*
 * A device attached while its node is inactive (a migration destination,
 * -incoming) lets others write until its guest first runs: the source's
 * drive-mirror writes the disk through this process's writable NBD
 * export meanwhile (virsh migrate --copy-storage-all), as under QEMU.
 * The device calls this when its guest starts running; it then claims
 * what blk_attach_dev() would have. Refused, with the claim left as it
 * was, while another user still writes (a writable NBD export, say).
 */
bool blk_dev_guest_starts(BlockBackend *blk, Error **errp);
/*
 * The attached device's hook for a change of size (QEMU's resize_cb):
 * after block_resize, blk_notify_resize_all() calls it for every backend
 * with a device, since resizing any node (a file under a raw node, say)
 * may change a root's size; the device compares with what it had.
 */
typedef void BlockResizeFunc(void *dev);
void blk_set_dev_resize_cb(BlockBackend *blk, BlockResizeFunc *cb);
void blk_notify_resize_all(void);
void *blk_get_attached_dev(const BlockBackend *blk);
const char *blk_get_attached_dev_path(const BlockBackend *blk);

/*
 * Extents of blk_aio_block_status(): BDRV_BLOCK_DATA / BDRV_BLOCK_ZERO of
 * the whole backing chain, as a reader of the backend sees it.
 */
typedef struct BlockExtent {
    uint64_t length;
    int flags;
} BlockExtent;

/*
 * Fills extents[0 .. *n_extents) (at most max_extents) from offset on,
 * covering up to bytes, on a worker thread; cb runs on the main loop.
 * extents and n_extents must live until then.
 */
void blk_aio_block_status(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                          BlockExtent *extents, int max_extents,
                          int *n_extents, BlockCompletionFunc *cb,
                          void *opaque);

/*
 * Who holds the backend, for errors about its node: "NBD export 'exp0'".
 * blk_user_of() answers for the first labelled backend on bs, or NULL.
 */
void blk_set_user(BlockBackend *blk, const char *user);
const char *blk_user_of(const BlockDriverState *bs);
/*
 * How QEMU names a node in its errors: the drive (a named backend)
 * whose root bs is, else the node's name.
 */
const char *bdrv_device_or_node_name(const BlockDriverState *bs);

/*
 * A user that cannot work on an inactive node (an NBD export without
 * allow-inactive, as QEMU's): bdrv_inactivate() of its root is refused
 * with an error naming the user; blk_keeping_active() names the first
 * such user of bs, or NULL.
 */
void blk_set_keep_active(BlockBackend *blk, bool keep);
const char *blk_keeping_active(const BlockDriverState *bs);

/*
 * A user whose root is not the guest's to hand over (drive-mirror's
 * target: the destination's NBD export during virsh migrate
 * --copy-storage-all): a migration's bdrv_inactivate_all() leaves such
 * a root active, so the job copies the guest's last writes after the
 * switch-over and the user cancels it then, as libvirt does.
 */
void blk_set_outlives_handover(BlockBackend *blk, bool outlives);
bool blk_outlives_handover(const BlockDriverState *bs);

int blk_in_flight(const BlockBackend *blk);
void blk_drain(BlockBackend *blk);
/* blk_drain() of every backend whose root is bs (BQL). */
void blk_drain_node(BlockDriverState *bs);
/*
 * Moves every backend on from to to, with its write permission (a
 * mirror's switch to its target): BQL, the backends drained, and the
 * caller holding a reference on from (the last backend's may go) and a
 * user on to that already holds every permission the moved backends
 * need there (the mirror's target user), so no image lock is taken.
 */
void blk_replace_node(BlockDriverState *from, BlockDriverState *to);
/*
 * Moves one backend onto to (an overlay's swap), with its write
 * permission: BQL, the backend drained. The caller keeps from alive if
 * it needs it (this drops the backend's reference) and refreshes the
 * permissions of both nodes afterwards.
 */
void blk_set_root(BlockBackend *blk, BlockDriverState *to);
/* The backends whose root is bs, named or not (g_slist_free it). */
GSList *blk_list_on(const BlockDriverState *bs);

#endif
