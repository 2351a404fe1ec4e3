/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BlockBackends: a user's handle on a root node, its permission, its
 * statistics, and the asynchronous request path.
 *
 * Asynchronous requests (blk_aio_*) go to one process-wide pool of block
 * worker threads (GThreadPool, BLOCK_WORKERS threads, so up to that many
 * requests reach the kernel at once); each runs the synchronous path and
 * then schedules its completion on the main loop, where the callback runs
 * with the BQL. The request keeps the backend's in-flight count up until
 * the callback has returned, so blk_drain() also waits for callbacks.
 *
 * blk_drain() does not spin the main loop: a migration or COLO thread
 * drains while it holds the BQL, and then the main loop cannot dispatch.
 * A finished request waits on the backend's done list as well as in its
 * bottom half; the drainer waits for the workers and runs the callbacks of
 * the done list itself, on its own thread, and the bottom half of a
 * request called that way only frees it. Both run under the BQL, which
 * orders them.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/permission.h"
#include "util/main-loop.h"
#include "trace.h"

#define BLOCK_WORKERS 64

struct BlockBackend {
    char *name;
    BlockDriverState *root;
    /*
     * What it claims of its root now (BLK_PERM_* it holds, and those it
     * lets the root's other users hold), and its claim of its own, which
     * an attached device's replaces until it detaches.
     */
    uint64_t perm;
    uint64_t shared;
    uint64_t own_perm;
    uint64_t own_shared;
    /* The device's share until its guest runs (blk_dev_guest_starts). */
    bool dev_share_deferred;
    uint64_t dev_shared;
    bool wce;                   /* write cache enabled */
    char *delete_on_close;      /* a temporary snapshot overlay */
    char *user;                 /* who holds it, for errors (blk_set_user) */
    bool keep_active;           /* its root may not be inactivated */
    bool outlives_handover;     /* bdrv_inactivate_all() leaves its root */
    int in_flight;              /* atomic */
    BlockAcctStats stats;
    BlockdevOnError on_read_error;  /* -drive rerror= (auto: none) */
    BlockdevOnError on_write_error; /* -drive werror= */
    void *dev;                  /* the device attached, or NULL */
    char *qdev;                 /* its QOM path for query-block, or NULL */
    BlockResizeFunc *resize_cb; /* the device's, or NULL */
    /* Finished asynchronous requests whose callback has not run. */
    GMutex done_lock;
    GCond done_cond;
    GQueue done;
};

static GList *named_backends;   /* main loop only */
static GList *all_backends;     /* named or not; main loop only */
static GThreadPool *worker_pool;

/* A read-only node takes no writer (the users' check: blk_set_perm). */
static bool blk_check_writable(BlockDriverState *bs, uint64_t perm,
                               Error **errp)
{
    if ((perm & BLK_PERM_WRITE) && bs->read_only) {
        g_autofree char *d = bdrv_describe(bs);

        error_setg(errp, "%s is read-only", d);
        return false;
    }
    return true;
}

/* Replaces blk's claim, its writer count following; checks nothing. */
static void blk_put_claim(BlockBackend *blk, uint64_t perm, uint64_t shared)
{
    blk->perm = perm;
    blk->shared = shared;
    trace_blk_set_perm(blk_name(blk), blk->root->node_name, perm, shared);
}

/*
 * Makes (perm, shared) blk's claim and takes the image locks it needs,
 * or leaves the old claim on failure.
 */
static bool blk_set_perm(BlockBackend *blk, uint64_t perm, uint64_t shared,
                         Error **errp)
{
    ERRP_GUARD();
    uint64_t old_perm = blk->perm, old_shared = blk->shared;

    if (!blk_check_writable(blk->root, perm, errp)) {
        return false;
    }
    blk_put_claim(blk, perm, shared);
    /* The node's other users in this process must allow it... */
    if (!bdrv_check_perms(blk->root, errp)) {
        blk_put_claim(blk, old_perm, old_shared);
        return false;
    }
    /* ...and so must other processes (image locking). */
    if (!bdrv_refresh_perms(blk->root, errp)) {
        g_autofree char *d = bdrv_describe(blk->root);

        /* The lock error names the image; say which node the user had. */
        error_prepend(errp, "%s: ", d);
        blk_put_claim(blk, old_perm, old_shared);
        bdrv_drop_perms(blk->root);
        return false;
    }
    return true;
}

BlockBackend *blk_new_perm(const char *name, BlockDriverState *bs,
                           uint64_t perm, uint64_t shared, Error **errp)
{
    BlockBackend *blk;

    if (name && blk_by_name(name)) {
        error_setg(errp, "Duplicate ID '%s' for drive", name);
        return NULL;
    }
    if (name && bdrv_find_node(name)) {
        error_setg(errp, "Device name '%s' conflicts with an existing node "
                   "name", name);
        return NULL;
    }
    blk = g_new0(BlockBackend, 1);
    blk->name = g_strdup(name);
    blk->root = bs;
    /* Claims nothing until blk_set_perm, the one way in. */
    blk->shared = BLK_PERM_ALL;
    blk->wce = true;
    blk->on_read_error = BLOCKDEV_ON_ERROR_AUTO;
    blk->on_write_error = BLOCKDEV_ON_ERROR_AUTO;
    block_acct_init(&blk->stats);
    g_mutex_init(&blk->done_lock);
    g_cond_init(&blk->done_cond);
    g_queue_init(&blk->done);
    bdrv_ref(bs);
    if (name) {
        named_backends = g_list_append(named_backends, blk);
    }
    all_backends = g_list_append(all_backends, blk);
    trace_blk_new(name ? name : "", bs->node_name, perm, shared);
    if (!blk_set_perm(blk, perm, shared, errp)) {
        blk_unref(blk);
        return NULL;
    }
    blk->own_perm = perm;
    blk->own_shared = shared;
    return blk;
}

BlockBackend *blk_new(const char *name, BlockDriverState *bs, bool writable,
                      bool share_rw, Error **errp)
{
    uint64_t perm = BLK_PERM_CONSISTENT_READ;
    uint64_t shared = BLK_PERM_ALL;

    if (writable) {
        perm |= BLK_PERM_WRITE;
        if (!share_rw) {
            shared &= ~(uint64_t)BLK_PERM_WRITE;
        }
    }
    return blk_new_perm(name, bs, perm, shared, errp);
}

/* QEMU's words for a BlockBackend: its name, else its device's path. */
static char *blk_perm_desc(const BlockBackend *blk)
{
    if (blk->name) {
        return g_strdup_printf("block device '%s'", blk->name);
    }
    if (blk->qdev) {
        return g_strdup_printf("block device '%s'", blk->qdev);
    }
    return g_strdup("an unnamed block device");
}

void blk_list_perm_users(BlockDriverState *bs, GArray *users)
{
    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;
        BdrvPermUser u = {
            .role = "root", .perm = blk->perm, .shared = blk->shared,
        };

        if (blk->root == bs) {
            u.desc = blk_perm_desc(blk);
            g_array_append_val(users, u);
        }
    }
}

void blk_unref(BlockBackend *blk)
{
    if (!blk) {
        return;
    }
    blk_drain(blk);
    trace_blk_delete(blk->name ? blk->name : "", blk->root->node_name);
    named_backends = g_list_remove(named_backends, blk);
    all_backends = g_list_remove(all_backends, blk);
    bdrv_drop_perms(blk->root);
    bdrv_unref(blk->root);
    if (blk->delete_on_close) {
        unlink(blk->delete_on_close);
        g_free(blk->delete_on_close);
    }
    block_acct_destroy(&blk->stats);
    g_mutex_clear(&blk->done_lock);
    g_cond_clear(&blk->done_cond);
    g_free(blk->user);
    g_free(blk->name);
    g_free(blk);
}

BlockBackend *blk_by_name(const char *name)
{
    for (GList *l = named_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (!strcmp(blk->name, name)) {
            return blk;
        }
    }
    return NULL;
}

BlockBackend *blk_next(BlockBackend *blk)
{
    GList *l;

    if (!blk) {
        return named_backends ? named_backends->data : NULL;
    }
    l = g_list_find(named_backends, blk);
    return l && l->next ? l->next->data : NULL;
}

BlockBackend *blk_next_listed(BlockBackend *blk)
{
    GList *l = blk ? g_list_find(all_backends, blk)->next : all_backends;

    for (; l; l = l->next) {
        BlockBackend *b = l->data;

        if (b->name || b->dev) {
            return b;
        }
    }
    return NULL;
}

const char *blk_name(const BlockBackend *blk)
{
    return blk->name ? blk->name : "";
}

BlockDriverState *blk_bs(const BlockBackend *blk)
{
    return blk->root;
}

bool blk_is_writable(const BlockBackend *blk)
{
    return blk->perm & BLK_PERM_WRITE;
}

void blk_set_enable_write_cache(BlockBackend *blk, bool wce)
{
    blk->wce = wce;
}

bool blk_enable_write_cache(const BlockBackend *blk)
{
    return blk->wce;
}

BlockAcctStats *blk_get_stats(BlockBackend *blk)
{
    return &blk->stats;
}

void blk_set_delete_on_close(BlockBackend *blk, const char *path)
{
    g_free(blk->delete_on_close);
    blk->delete_on_close = g_strdup(path);
}

void blk_set_user(BlockBackend *blk, const char *user)
{
    g_free(blk->user);
    blk->user = g_strdup(user);
}

const char *blk_user_of(const BlockDriverState *bs)
{
    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->root == bs && blk->user) {
            return blk->user;
        }
    }
    return NULL;
}

const char *bdrv_device_or_node_name(const BlockDriverState *bs)
{
    for (GList *l = named_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->root == bs) {
            return blk->name;
        }
    }
    return bdrv_get_node_name(bs);
}

void blk_set_keep_active(BlockBackend *blk, bool keep)
{
    blk->keep_active = keep;
}

const char *blk_keeping_active(const BlockDriverState *bs)
{
    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->root == bs && blk->keep_active) {
            return blk->user ? blk->user : "an anonymous user";
        }
    }
    return NULL;
}

void blk_set_outlives_handover(BlockBackend *blk, bool outlives)
{
    blk->outlives_handover = outlives;
}

bool blk_outlives_handover(const BlockDriverState *bs)
{
    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->root == bs && blk->outlives_handover) {
            return true;
        }
    }
    return false;
}

int blk_in_flight(const BlockBackend *blk)
{
    return g_atomic_int_get(&blk->in_flight);
}

void blk_set_on_error(BlockBackend *blk, BlockdevOnError on_read_error,
                      BlockdevOnError on_write_error)
{
    blk->on_read_error = on_read_error;
    blk->on_write_error = on_write_error;
}

BlockdevOnError blk_get_on_error(const BlockBackend *blk, bool is_read)
{
    BlockdevOnError p = is_read ? blk->on_read_error : blk->on_write_error;

    if (p == BLOCKDEV_ON_ERROR_AUTO) {
        /* QEMU's defaults. */
        p = is_read ? BLOCKDEV_ON_ERROR_REPORT : BLOCKDEV_ON_ERROR_ENOSPC;
    }
    return p;
}

bool blk_attach_dev(BlockBackend *blk, void *dev, const char *qdev,
                    bool share_rw, Error **errp)
{
    uint64_t perm = BLK_PERM_CONSISTENT_READ;
    uint64_t shared = BLK_PERM_ALL;

    if (blk->dev) {
        error_setg(errp, "Drive '%s' is already in use by another device",
                   blk_name(blk));
        return false;
    }
    /*
     * As QEMU's guest devices: write when the node can be written, and
     * unless share-rw=on, let nobody else write (not even under a
     * read-only device: the guest must not see its disk change).
     */
    if (!bdrv_is_read_only(blk->root)) {
        perm |= BLK_PERM_WRITE;
    }
    if (!share_rw) {
        shared &= ~(uint64_t)BLK_PERM_WRITE;
    }
    /* Named in a refusal already, as QEMU names a device. */
    blk->qdev = g_strdup(qdev);
    blk->dev_shared = shared;
    blk->dev_share_deferred = blk->root->inactive;
    if (!blk_set_perm(blk, perm,
                      blk->dev_share_deferred ? BLK_PERM_ALL : shared, errp)) {
        g_free(blk->qdev);
        blk->qdev = NULL;
        return false;
    }
    blk->dev = dev;
    trace_blk_attach_dev(blk_name(blk), qdev ? qdev : "");
    return true;
}

bool blk_dev_guest_starts(BlockBackend *blk, Error **errp)
{
    if (!blk->dev || !blk->dev_share_deferred) {
        return true;
    }
    if (!blk_set_perm(blk, blk->perm, blk->dev_shared, errp)) {
        return false;
    }
    blk->dev_share_deferred = false;
    return true;
}

void blk_detach_dev(BlockBackend *blk, void *dev)
{
    if (blk->dev != dev) {
        return;
    }
    blk->dev = NULL;
    blk->dev_share_deferred = false;
    blk->resize_cb = NULL;
    g_free(blk->qdev);
    blk->qdev = NULL;
    /*
     * Back to the backend's own claim: a -drive's consistent read, or
     * nothing for the backend a device made itself, so this only gives
     * up (bdrv_drop_perms warns should another claim gain anything).
     */
    blk_put_claim(blk, blk->own_perm, blk->own_shared);
    bdrv_drop_perms(blk->root);
}

void blk_set_dev_resize_cb(BlockBackend *blk, BlockResizeFunc *cb)
{
    blk->resize_cb = cb;
}

void blk_notify_resize_all(void)
{
    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->dev && blk->resize_cb) {
            blk->resize_cb(blk->dev);
        }
    }
}

const char *blk_get_attached_dev_path(const BlockBackend *blk)
{
    return blk->qdev;
}

void *blk_get_attached_dev(const BlockBackend *blk)
{
    return blk->dev;
}

typedef struct BlkRequest BlkRequest;
static void blk_aio_call(BlkRequest *r);

void blk_drain(BlockBackend *blk)
{
    g_assert(bql_locked());
    while (g_atomic_int_get(&blk->in_flight) > 0) {
        BlkRequest *r = NULL;

        g_mutex_lock(&blk->done_lock);
        /* Everything still in flight is a callback waiting: run one. A
         * synchronous request of another thread does not signal, hence
         * the bounded wait. */
        while (g_queue_is_empty(&blk->done) &&
               g_atomic_int_get(&blk->in_flight) > 0) {
            g_cond_wait_until(&blk->done_cond, &blk->done_lock,
                              g_get_monotonic_time() + 1000);
        }
        r = g_queue_pop_head(&blk->done);
        g_mutex_unlock(&blk->done_lock);
        if (r) {
            blk_aio_call(r);
        }
    }
}

void blk_drain_node(BlockDriverState *bs)
{
    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->root == bs) {
            blk_drain(blk);
        }
    }
}

/* Moves blk's root to to; no reference changes. */
static void blk_move_root(BlockBackend *blk, BlockDriverState *to)
{
    BlockDriverState *from = blk->root;

    g_assert(bql_locked());
    g_assert(g_atomic_int_get(&blk->in_flight) == 0);
    trace_blk_replace_node(blk_name(blk), from->node_name, to->node_name);
    blk->root = to;
}

void blk_replace_node(BlockDriverState *from, BlockDriverState *to)
{
    g_assert(bql_locked());
    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->root != from) {
            continue;
        }
        bdrv_ref(to);
        blk_move_root(blk, to);
        bdrv_drop_perms(from);
        /* The caller (a mirror's pivot) still holds the target through
         * its own user, which took its write lock: only the devices'
         * consistent read is new, refused (a warning) only by a process
         * that shares writing but not reading. The users are not checked
         * against each other: the caller's own user, about to go, is the
         * one that does not share what the devices hold. */
        bdrv_drop_perms(to);
        bdrv_unref(from);   /* may close it: its last user moved away */
    }
}

void blk_set_root(BlockBackend *blk, BlockDriverState *to)
{
    BlockDriverState *from = blk->root;

    bdrv_ref(to);
    blk_move_root(blk, to);
    bdrv_unref(from);
}

GSList *blk_list_on(const BlockDriverState *bs)
{
    GSList *list = NULL;

    for (GList *l = all_backends; l; l = l->next) {
        BlockBackend *blk = l->data;

        if (blk->root == bs) {
            list = g_slist_prepend(list, blk);
        }
    }
    return g_slist_reverse(list);
}

/* Requests past the end are refused before they reach the graph. */
static int blk_check_range(BlockBackend *blk, BlockAcctType type,
                           uint64_t offset, uint64_t bytes, Error **errp)
{
    int64_t len = bdrv_getlength(blk->root);

    if (len < 0) {
        g_autofree char *d = bdrv_describe(blk->root);
        error_setg_errno(errp, (int)-len, "%s: cannot get its size", d);
        return (int)len;
    }
    if (offset > (uint64_t)len || bytes > (uint64_t)len - offset) {
        g_autofree char *d = bdrv_describe(blk->root);
        block_acct_invalid(&blk->stats, type);
        error_setg(errp, "%s: request at offset %" G_GUINT64_FORMAT ", %"
                   G_GUINT64_FORMAT " bytes is past the end (%" G_GINT64_FORMAT
                   " bytes)", d, offset, bytes, len);
        return -EIO;
    }
    return 0;
}

static bool blk_check_write(BlockBackend *blk, BlockAcctType type,
                            Error **errp)
{
    if (!blk_is_writable(blk)) {
        g_autofree char *d = bdrv_describe(blk->root);
        block_acct_invalid(&blk->stats, type);
        error_setg(errp, "%s: device '%s' is read-only", d, blk_name(blk));
        return false;
    }
    return true;
}

typedef enum BlkReqType {
    BLK_REQ_READ,
    BLK_REQ_WRITE,
    BLK_REQ_WRITE_ZEROES,
    BLK_REQ_DISCARD,
    BLK_REQ_FLUSH,
    BLK_REQ_BLOCK_STATUS,
} BlkReqType;

static const BlockAcctType req_acct[] = {
    [BLK_REQ_READ] = BLOCK_ACCT_READ,
    [BLK_REQ_WRITE] = BLOCK_ACCT_WRITE,
    [BLK_REQ_WRITE_ZEROES] = BLOCK_ACCT_WRITE,
    [BLK_REQ_DISCARD] = BLOCK_ACCT_UNMAP,
    [BLK_REQ_FLUSH] = BLOCK_ACCT_FLUSH,
    [BLK_REQ_BLOCK_STATUS] = BLOCK_ACCT_READ,   /* not counted */
};

struct BlkRequest {
    BlockBackend *blk;
    BlkReqType type;
    uint64_t offset;
    uint64_t bytes;
    BlockIov *qiov;
    int flags;
    BlockCompletionFunc *cb;
    void *opaque;
    int ret;
    Error *err;
    bool called;                /* the callback ran (BQL) */
    /* BLK_REQ_BLOCK_STATUS: where the answer goes. */
    BlockExtent *extents;
    int max_extents;
    int *n_extents;
};

/*
 * Status of [offset, offset + bytes) as up to max extents, the status of
 * the whole backing chain (blk_block_status_above): 0 or -errno.
 */
static int blk_do_block_status(BlkRequest *r, Error **errp)
{
    uint64_t done = 0;
    int n = 0;
    int ret = blk_check_range(r->blk, BLOCK_ACCT_READ, r->offset, r->bytes,
                              errp);

    if (ret < 0) {
        return ret;
    }
    while (done < r->bytes && n < r->max_extents) {
        uint64_t pnum = 0;

        ret = bdrv_block_status_above(r->blk->root, r->offset + done,
                                      r->bytes - done, &pnum);
        if (ret < 0) {
            g_autofree char *d = bdrv_describe(r->blk->root);
            error_setg_errno(errp, -ret, "%s: block status at offset %"
                             G_GUINT64_FORMAT " failed", d, r->offset + done);
            return ret;
        }
        if (pnum == 0) {
            break;      /* the driver made no progress: stop, not spin */
        }
        r->extents[n].length = pnum;
        r->extents[n].flags = ret;
        n++;
        done += pnum;
    }
    *r->n_extents = n;
    return 0;
}

/* One request, start to finish, on the calling thread. */
static int blk_do_request(BlkRequest *r, Error **errp)
{
    BlockBackend *blk = r->blk;
    BlockAcctType acct = req_acct[r->type];
    int64_t start = block_acct_now_ns();
    int ret;

    if (r->type == BLK_REQ_BLOCK_STATUS) {
        return blk_do_block_status(r, errp);
    }
    if (r->type != BLK_REQ_READ && r->type != BLK_REQ_FLUSH &&
        !blk_check_write(blk, acct, errp)) {
        return -EACCES;
    }
    if (r->type != BLK_REQ_FLUSH) {
        ret = blk_check_range(blk, acct, r->offset, r->bytes, errp);
        if (ret < 0) {
            return ret;
        }
    }
    g_atomic_int_inc(&blk->in_flight);
    switch (r->type) {
    case BLK_REQ_READ:
        ret = bdrv_preadv(blk->root, r->offset, r->qiov, 0, errp);
        break;
    case BLK_REQ_WRITE:
        ret = bdrv_pwritev(blk->root, r->offset, r->qiov, r->flags, errp);
        break;
    case BLK_REQ_WRITE_ZEROES:
        ret = bdrv_pwrite_zeroes(blk->root, r->offset, r->bytes, r->flags,
                                 errp);
        break;
    case BLK_REQ_DISCARD:
        ret = bdrv_pdiscard(blk->root, r->offset, r->bytes, errp);
        break;
    case BLK_REQ_FLUSH:
    default:
        ret = bdrv_flush(blk->root, errp);
        break;
    }
    /*
     * Without a write cache every write reaches stable storage: one flush
     * of the whole stack after it (a format's metadata too), not FUA on
     * the data as well, which cost a second fdatasync per write.
     */
    if (ret == 0 && !blk->wce &&
        (r->type == BLK_REQ_WRITE || r->type == BLK_REQ_WRITE_ZEROES)) {
        ret = bdrv_flush(blk->root, errp);
    }
    block_acct_done(&blk->stats, acct, r->offset, r->bytes, start, ret);
    if (g_atomic_int_dec_and_test(&blk->in_flight)) {
        main_loop_notify();
    }
    return ret;
}

static int blk_sync(BlockBackend *blk, BlkReqType type, uint64_t offset,
                    uint64_t bytes, BlockIov *qiov, int flags, Error **errp)
{
    BlkRequest r = {
        .blk = blk, .type = type, .offset = offset, .bytes = bytes,
        .qiov = qiov, .flags = flags,
    };

    return blk_do_request(&r, errp);
}

int blk_preadv(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
               Error **errp)
{
    return blk_sync(blk, BLK_REQ_READ, offset, qiov->size, qiov, 0, errp);
}

int blk_pwritev(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
                int flags, Error **errp)
{
    return blk_sync(blk, BLK_REQ_WRITE, offset, qiov->size, qiov, flags,
                    errp);
}

int blk_pread(BlockBackend *blk, uint64_t offset, uint64_t bytes, void *buf,
              Error **errp)
{
    struct iovec one;
    BlockIov qiov;

    block_iov_init_buf(&qiov, &one, buf, bytes);
    return blk_preadv(blk, offset, &qiov, errp);
}

int blk_pwrite(BlockBackend *blk, uint64_t offset, uint64_t bytes,
               const void *buf, int flags, Error **errp)
{
    struct iovec one;
    BlockIov qiov;

    block_iov_init_buf(&qiov, &one, (void *)buf, bytes);
    return blk_pwritev(blk, offset, &qiov, flags, errp);
}

int blk_pwrite_zeroes(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      int flags, Error **errp)
{
    return blk_sync(blk, BLK_REQ_WRITE_ZEROES, offset, bytes, NULL, flags,
                    errp);
}

int blk_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                 Error **errp)
{
    return blk_sync(blk, BLK_REQ_DISCARD, offset, bytes, NULL, 0, errp);
}

int blk_flush(BlockBackend *blk, Error **errp)
{
    return blk_sync(blk, BLK_REQ_FLUSH, 0, 0, NULL, 0, errp);
}

int64_t blk_getlength(BlockBackend *blk)
{
    return bdrv_getlength(blk->root);
}

int blk_truncate(BlockBackend *blk, uint64_t size, Error **errp)
{
    if (!blk_check_write(blk, BLOCK_ACCT_WRITE, errp)) {
        return -EACCES;
    }
    return bdrv_truncate(blk->root, size, errp);
}

int blk_block_status(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                     uint64_t *pnum)
{
    return bdrv_block_status(blk->root, offset, bytes, pnum, NULL, NULL);
}

/* BQL, r off the done list: the callback, then r is no longer in flight. */
static void blk_aio_call(BlkRequest *r)
{
    BlockBackend *blk = r->blk;

    r->called = true;
    trace_blk_aio_complete(blk_name(blk), r->type, r->offset, r->ret);
    r->cb(r->opaque, r->ret, r->err);
    error_free(r->err);
    r->err = NULL;
    if (g_atomic_int_dec_and_test(&blk->in_flight)) {
        main_loop_notify();
    }
}

/* Main loop, BQL: runs the callback unless a drain already did. */
static void blk_aio_complete_bh(void *opaque)
{
    BlkRequest *r = opaque;

    if (!r->called) {
        BlockBackend *blk = r->blk;

        g_mutex_lock(&blk->done_lock);
        g_queue_remove(&blk->done, r);
        g_mutex_unlock(&blk->done_lock);
        blk_aio_call(r);
    }
    g_free(r);
}

static void blk_worker_fn(gpointer data, gpointer unused)
{
    BlkRequest *r = data;
    BlockBackend *blk = r->blk;

    r->ret = blk_do_request(r, &r->err);
    g_mutex_lock(&blk->done_lock);
    g_queue_push_tail(&blk->done, r);
    g_cond_broadcast(&blk->done_cond);
    g_mutex_unlock(&blk->done_lock);
    main_loop_schedule_bh(blk_aio_complete_bh, r);
}

static BlkRequest *blk_aio_submit(BlockBackend *blk, BlkReqType type,
                                  uint64_t offset, uint64_t bytes,
                                  BlockIov *qiov, int flags,
                                  BlockCompletionFunc *cb, void *opaque)
{
    BlkRequest *r = g_new0(BlkRequest, 1);

    if (!worker_pool) {
        worker_pool = g_thread_pool_new(blk_worker_fn, NULL, BLOCK_WORKERS,
                                        FALSE, NULL);
    }
    r->blk = blk;
    r->type = type;
    r->offset = offset;
    r->bytes = bytes;
    r->qiov = qiov;
    r->flags = flags;
    r->cb = cb;
    r->opaque = opaque;
    /* Held until the callback has run (blk_aio_complete_bh). */
    g_atomic_int_inc(&blk->in_flight);
    trace_blk_aio_submit(blk_name(blk), type, offset, bytes);
    if (type != BLK_REQ_BLOCK_STATUS) {
        g_thread_pool_push(worker_pool, r, NULL);
    }
    return r;
}

void blk_aio_preadv(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
                    BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_REQ_READ, offset, qiov->size, qiov, 0, cb,
                   opaque);
}

void blk_aio_pwritev(BlockBackend *blk, uint64_t offset, BlockIov *qiov,
                     int flags, BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_REQ_WRITE, offset, qiov->size, qiov, flags, cb,
                   opaque);
}

void blk_aio_pwrite_zeroes(BlockBackend *blk, uint64_t offset,
                           uint64_t bytes, int flags,
                           BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_REQ_WRITE_ZEROES, offset, bytes, NULL, flags, cb,
                   opaque);
}

void blk_aio_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_REQ_DISCARD, offset, bytes, NULL, 0, cb, opaque);
}

void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, BLK_REQ_FLUSH, 0, 0, NULL, 0, cb, opaque);
}

void blk_aio_block_status(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                          BlockExtent *extents, int max_extents,
                          int *n_extents, BlockCompletionFunc *cb,
                          void *opaque)
{
    BlkRequest *r = blk_aio_submit(blk, BLK_REQ_BLOCK_STATUS, offset, bytes,
                                   NULL, 0, cb, opaque);

    /* Filled in before the worker may see the request. */
    r->extents = extents;
    r->max_extents = max_extents;
    r->n_extents = n_extents;
    *n_extents = 0;
    g_thread_pool_push(worker_pool, r, NULL);
}
