/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External snapshots as transaction actions (block/snapshot.h), with
 * QEMU 7.2's checks in QEMU's order and its error texts, and the QMP
 * commands blockdev-snapshot and blockdev-snapshot-sync as transactions
 * of one action.
 *
 * Differences from QEMU, on purpose: the new image's creation is not
 * announced ("Formatting ...") on standard output, where it would land
 * in the middle of a QMP stream on stdio; an overlay's backing file is
 * named by the old node's file name, never a json: description.
 */
#include <string.h>
#include <json-c/json.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "block/overlay.h"
#include "block/snapshot.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "trace.h"

struct ExternalSnapshot {
    BdrvAppend append;
    BlockDriverState *created;  /* blockdev-snapshot-sync's own node */
};

/* QEMU's bdrv_lookup_bs: a drive's root first, then a node. */
static BlockDriverState *snapshot_lookup(const char *device,
                                         const char *node_name,
                                         Error **errp)
{
    BlockBackend *blk = device ? blk_by_name(device) : NULL;
    BlockDriverState *bs = NULL;

    if (blk) {
        return blk_bs(blk);
    }
    if (node_name) {
        bs = bdrv_find_node(node_name);
    }
    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device ? device : "", node_name ? node_name : "");
    }
    return bs;
}

/* The node that gets the overlay: nothing may hold it in place. */
static bool snapshot_check_node(BlockDriverState *bs, Error **errp)
{
    BlockDriverState *parent = bdrv_backing_parent(bs);

    if (!block_job_check_node(bs, errp)) {
        return false;
    }
    if (parent) {
        /* The overlay would go between the node and its parent. */
        error_setg(errp, "Node '%s' is busy: node is used as backing hd "
                   "of '%s'", bs->node_name, parent->node_name);
        return false;
    }
    /* What the guest wrote so far is the snapshot's content. */
    return bdrv_is_read_only(bs) || bdrv_flush(bs, errp) == 0;
}

static bool snapshot_check_overlay(BlockDriverState *overlay, Error **errp)
{
    if (bdrv_has_users(overlay)) {
        error_setg(errp, "The overlay is already in use");
        return false;
    }
    if (bdrv_backing_bs(overlay)) {
        error_setg(errp, "The overlay already has a backing image");
        return false;
    }
    if (!overlay->drv->supports_backing) {
        error_setg(errp, "The overlay does not support backing images");
        return false;
    }
    return true;
}

static ExternalSnapshot *snapshot_swap(BlockDriverState *overlay,
                                       BlockDriverState *base,
                                       BlockDriverState *created,
                                       Error **errp)
{
    ExternalSnapshot *s;

    if (!snapshot_check_overlay(overlay, errp)) {
        return NULL;
    }
    s = g_new0(ExternalSnapshot, 1);
    if (!bdrv_append_prepare(&s->append, overlay, base, errp)) {
        g_free(s);
        return NULL;
    }
    s->created = created;
    trace_external_snapshot_prepare(overlay->node_name, base->node_name);
    return s;
}

ExternalSnapshot *external_snapshot_prepare(const BlockdevSnapshot *arg,
                                            Error **errp)
{
    BlockDriverState *base = snapshot_lookup(arg->node, arg->node, errp);
    BlockDriverState *overlay;

    if (!base || !snapshot_check_node(base, errp)) {
        return NULL;
    }
    overlay = snapshot_lookup(arg->overlay, arg->overlay, errp);
    if (!overlay) {
        return NULL;
    }
    return snapshot_swap(overlay, base, NULL, errp);
}

/* mode=absolute-paths: a new image of format over base's. */
static bool snapshot_create_image(const char *path, const char *format,
                                  BlockDriverState *base, Error **errp)
{
    const BlockDriver *drv = bdrv_find_driver(format);
    BlockDriverState *user;
    int64_t size;

    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", format);
        return false;
    }
    /* qcow2 is the only format with backing files, and one we create. */
    if (!drv->supports_backing) {
        error_setg(errp, "Backing file not supported for file format '%s'",
                   format);
        return false;
    }
    size = bdrv_getlength(base);
    if (size < 0) {
        g_autofree char *d = bdrv_describe(base);

        error_setg_errno(errp, (int)-size, "%s: cannot get its size", d);
        return false;
    }
    if (!*bdrv_get_filename(base)) {
        g_autofree char *d = bdrv_describe(base);

        error_setg(errp, "%s has no file name to record as the overlay's "
                   "backing file", d);
        return false;
    }
    /* An image in use here, even unlocked, is not recreated under its
     * users. */
    user = bdrv_find_node_on_file(path);
    return qcow2_format_overlay(path, (uint64_t)size,
                                bdrv_get_filename(base),
                                bdrv_get_format_name(base),
                                user ? bdrv_get_node_name(user) : NULL,
                                errp);
}

/*
 * Opens the overlay image as a node without its backing file (the
 * header's name, if any, is not followed: base goes there), with base's
 * read-only and cache settings, as QEMU opens it with the old node's
 * flags.
 */
static BlockDriverState *snapshot_open_image(const BlockdevSnapshotSync *arg,
                                             const char *format,
                                             BlockDriverState *base,
                                             Error **errp)
{
    g_autoptr(BlockdevOptions) opts = NULL;
    json_object *obj = json_object_new_object();
    json_object *fobj = json_object_new_object();
    json_object *cache = json_object_new_object();

    json_object_object_add(fobj, "driver", json_object_new_string("file"));
    json_object_object_add(fobj, "filename",
                           json_object_new_string(arg->snapshot_file));
    json_object_object_add(cache, "direct",
                           json_object_new_boolean(base->cache_direct));
    json_object_object_add(cache, "no-flush",
                           json_object_new_boolean(base->cache_no_flush));
    json_object_object_add(obj, "driver", json_object_new_string(format));
    if (arg->snapshot_node_name) {
        json_object_object_add(obj, "node-name", json_object_new_string(
            arg->snapshot_node_name));
    }
    json_object_object_add(obj, "read-only",
                           json_object_new_boolean(base->read_only));
    json_object_object_add(obj, "cache", cache);
    if (bdrv_find_driver(format)->supports_backing) {
        json_object_object_add(obj, "backing", NULL);
    }
    json_object_object_add(obj, "file", fobj);
    if (!qapi_from_json_BlockdevOptions(obj, &opts, "snapshot", errp)) {
        json_object_put(obj);
        return NULL;
    }
    json_object_put(obj);
    return bdrv_open_blockdev(opts, errp);
}

ExternalSnapshot *external_snapshot_sync_prepare(
    const BlockdevSnapshotSync *arg, Error **errp)
{
    const char *format = arg->format ? arg->format : "qcow2";
    NewImageMode mode = arg->has_mode ? arg->mode
                                      : NEW_IMAGE_MODE_ABSOLUTE_PATHS;
    const BlockDriver *drv = bdrv_find_driver(format);
    BlockDriverState *base = snapshot_lookup(arg->device, arg->node_name,
                                             errp);
    BlockDriverState *overlay;
    ExternalSnapshot *s;

    if (!base || !snapshot_check_node(base, errp)) {
        return NULL;
    }
    if (arg->node_name && !arg->snapshot_node_name) {
        error_setg(errp, "New overlay node-name missing");
        return NULL;
    }
    if (arg->snapshot_node_name &&
        (bdrv_find_node(arg->snapshot_node_name) ||
         blk_by_name(arg->snapshot_node_name))) {
        error_setg(errp, "New overlay node-name already in use");
        return NULL;
    }
    if (mode == NEW_IMAGE_MODE_ABSOLUTE_PATHS) {
        if (!snapshot_create_image(arg->snapshot_file, format, base, errp)) {
            return NULL;
        }
        trace_external_snapshot_created(arg->snapshot_file, format);
    } else if (!drv) {
        error_setg(errp, "Unknown driver '%s'", format);
        return NULL;
    } else if (!drv->is_format) {
        /* A protocol node (file, nbd, null-co) has no backing. */
        error_setg(errp, "The overlay does not support backing images");
        return NULL;
    }
    overlay = snapshot_open_image(arg, format, base, errp);
    if (!overlay) {
        return NULL;
    }
    s = snapshot_swap(overlay, base, overlay, errp);
    if (!s) {
        bdrv_unref(overlay);    /* closes it; the image file stays */
    }
    return s;
}

void external_snapshot_commit(ExternalSnapshot *s)
{
    bdrv_append_commit(&s->append);
}

void external_snapshot_abort(ExternalSnapshot *s)
{
    bdrv_append_abort(&s->append);
}

void external_snapshot_free(ExternalSnapshot *s)
{
    if (!s) {
        return;
    }
    bdrv_append_clean(&s->append);
    /* Its users hold it now, or (aborted) nobody does and it closes. */
    bdrv_unref(s->created);
    g_free(s);
}

/* The one-action transactions. */
void qmp_blockdev_snapshot(const char *node, const char *overlay,
                           Error **errp)
{
    BlockdevSnapshot data = {
        .node = (char *)node, .overlay = (char *)overlay,
    };
    TransactionAction act = {
        .type = TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT,
        .u.blockdev_snapshot.data = &data,
    };
    TransactionActionList list = { .value = &act };

    qmp_transaction(&list, NULL, errp);
}

void qmp_blockdev_snapshot_sync(const char *device, const char *node_name,
                                const char *snapshot_file,
                                const char *snapshot_node_name,
                                const char *format, bool has_mode,
                                NewImageMode mode, Error **errp)
{
    BlockdevSnapshotSync data = {
        .device = (char *)device, .node_name = (char *)node_name,
        .snapshot_file = (char *)snapshot_file,
        .snapshot_node_name = (char *)snapshot_node_name,
        .format = (char *)format, .has_mode = has_mode, .mode = mode,
    };
    TransactionAction act = {
        .type = TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT_SYNC,
        .u.blockdev_snapshot_sync.data = &data,
    };
    TransactionActionList list = { .value = &act };

    qmp_transaction(&list, NULL, errp);
}
