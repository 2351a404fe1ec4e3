/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * drive-mirror and blockdev-mirror: QEMU's arguments turned into a
 * mirror job (block/mirror.c). drive-mirror opens its target from a file
 * name or an nbd:// URI, creating the image first with
 * mode=absolute-paths: qcow2 (backed by the source's backing file for
 * sync=top, by the source itself for sync=none) or raw (sync=full only).
 * blockdev-mirror takes an existing node (blockdev-add), such as an nbd
 * node on another host's export.
 */
#include <string.h>
#include "block/block_int.h"
#include "block/blockdev.h"
#include "block/blockjob.h"
#include "block/mirror.h"
#include "block/nbd-uri.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "file-create.h"

/* The root node a device name (-drive id) or a node-name stands for. */
static BlockDriverState *mirror_find_source(const char *device,
                                            Error **errp)
{
    BlockBackend *blk = blk_by_name(device);
    BlockDriverState *bs = blk ? blk_bs(blk) : bdrv_find_node(device);

    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device, device);
    }
    return bs;
}

/*
 * mode=absolute-paths: the new target image, as sync= wants it, made as
 * blockdev-create makes one (block/file-create.h, qcow2_format_overlay):
 * an existing file is emptied in place under QEMU's creation locks, so
 * an image another process writes or holds the size of is refused
 * whole ('Failed to get "resize" lock', as QEMU 7.2) instead of being
 * emptied or replaced under it.
 */
static bool mirror_create_target(const DriveMirror *arg, const char *format,
                                 BlockDriverState *source, bool *is_zero,
                                 Error **errp)
{
    BlockDriverState *backing = NULL;
    int64_t size = bdrv_getlength(source);

    if (size < 0) {
        g_autofree char *d = bdrv_describe(source);

        error_setg_errno(errp, (int)-size, "%s: cannot get its size", d);
        return false;
    }
    if (arg->sync == MIRROR_SYNC_MODE_TOP) {
        backing = bdrv_backing_bs(source);
    } else if (arg->sync == MIRROR_SYNC_MODE_NONE) {
        backing = source;
    }
    *is_zero = !backing;
    if (!strcmp(format, "raw")) {
        if (backing) {
            error_setg(errp, "Format 'raw' has no backing file for "
                       "sync=%s: use sync=full or format qcow2",
                       MirrorSyncMode_str(arg->sync));
            return false;
        }
        return file_create(arg->target, (uint64_t)size, PREALLOC_MODE_OFF,
                           errp);
    }
    if (strcmp(format, "qcow2")) {
        error_setg(errp, "drive-mirror cannot create a '%s' image: use "
                   "mode=existing", format);
        return false;
    }
    if (backing && !*bdrv_get_filename(backing)) {
        g_autofree char *d = bdrv_describe(backing);

        error_setg(errp, "%s has no file name to record as the target's "
                   "backing file", d);
        return false;
    }
    /* Our own nodes on the file were refused by the caller. */
    return qcow2_format_overlay(arg->target, (uint64_t)size,
                                backing ? bdrv_get_filename(backing) : NULL,
                                backing ? bdrv_get_format_name(backing)
                                        : NULL, NULL, errp);
}

/* Opens the target image of drive-mirror (created already if need be). */
static BlockDriverState *mirror_open_target(const DriveMirror *arg,
                                            const char *format,
                                            Error **errp)
{
    g_autoptr(BlockdevOptions) opts = NULL;
    json_object *fobj, *obj;

    if (nbd_uri_is_nbd(arg->target)) {
        fobj = nbd_uri_to_json(arg->target, errp);
        if (!fobj) {
            return NULL;
        }
    } else {
        fobj = json_object_new_object();
        json_object_object_add(fobj, "driver",
                               json_object_new_string("file"));
        json_object_object_add(fobj, "filename",
                               json_object_new_string(arg->target));
    }
    if (!format && !(format = blockdev_probe_format(fobj, errp))) {
        json_object_put(fobj);
        return NULL;
    }
    obj = json_object_new_object();
    json_object_object_add(obj, "driver", json_object_new_string(format));
    if (arg->node_name) {
        json_object_object_add(obj, "node-name",
                               json_object_new_string(arg->node_name));
    }
    json_object_object_add(obj, "file", fobj);
    if (!qapi_from_json_BlockdevOptions(obj, &opts, "target", errp)) {
        json_object_put(obj);
        return NULL;
    }
    json_object_put(obj);
    return bdrv_open_blockdev(opts, errp);
}

void qmp_drive_mirror(DriveMirror *arg, Error **errp)
{
    ERRP_GUARD();
    NewImageMode mode = arg->has_mode ? arg->mode
                                      : NEW_IMAGE_MODE_ABSOLUTE_PATHS;
    BlockDriverState *source = mirror_find_source(arg->device, errp);
    BlockDriverState *target;
    const char *format = arg->format;
    bool is_zero = false;
    MirrorParams p = { 0 };

    if (!source) {
        return;
    }
    if (!block_job_check_node(source, errp)) {
        return;
    }
    if (arg->node_name && bdrv_find_node(arg->node_name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'",
                   arg->node_name);
        return;
    }
    if (!nbd_uri_is_nbd(arg->target) && bdrv_find_node_on_file(arg->target)) {
        error_setg(errp, "drive-mirror: target '%s' is in use by node '%s'",
                   arg->target, bdrv_find_node_on_file(arg->target)->node_name);
        return;
    }
    if (!format && mode != NEW_IMAGE_MODE_EXISTING) {
        format = bdrv_get_format_name(source);
    }
    if (mode == NEW_IMAGE_MODE_ABSOLUTE_PATHS &&
        !nbd_uri_is_nbd(arg->target) &&
        !mirror_create_target(arg, format, source, &is_zero, errp)) {
        error_prepend(errp, "drive-mirror: ");
        return;
    }
    target = mirror_open_target(arg, format, errp);
    if (!target) {
        return;
    }
    p.job_id = arg->job_id ? arg->job_id : arg->device;
    p.source = source;
    p.target = target;
    p.sync = arg->sync;
    p.speed = arg->has_speed ? arg->speed : 0;
    p.granularity = arg->has_granularity ? arg->granularity : 0;
    p.buf_size = arg->has_buf_size ? arg->buf_size : 0;
    p.on_source_error = arg->has_on_source_error ? arg->on_source_error
                                                 : BLOCKDEV_ON_ERROR_REPORT;
    p.on_target_error = arg->has_on_target_error ? arg->on_target_error
                                                 : BLOCKDEV_ON_ERROR_REPORT;
    p.unmap = arg->has_unmap ? arg->unmap : true;
    p.target_is_zero = is_zero;
    p.auto_finalize = arg->has_auto_finalize ? arg->auto_finalize : true;
    p.auto_dismiss = arg->has_auto_dismiss ? arg->auto_dismiss : true;
    p.write_blocking = arg->has_copy_mode &&
                       arg->copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING;
    mirror_start(&p, errp);
    /* The job holds its own reference; on failure this closes it. */
    bdrv_unref(target);
}

void qmp_blockdev_mirror(const char *job_id, const char *device,
                         const char *target, MirrorSyncMode sync,
                         bool has_speed, int64_t speed,
                         bool has_granularity, uint32_t granularity,
                         bool has_buf_size, int64_t buf_size,
                         bool has_on_source_error,
                         BlockdevOnError on_source_error,
                         bool has_on_target_error,
                         BlockdevOnError on_target_error,
                         bool has_copy_mode, MirrorCopyMode copy_mode,
                         bool has_auto_finalize, bool auto_finalize,
                         bool has_auto_dismiss, bool auto_dismiss,
                         Error **errp)
{
    BlockDriverState *source = mirror_find_source(device, errp);
    BlockDriverState *tbs;
    MirrorParams p = { 0 };

    if (!source) {
        return;
    }
    tbs = bdrv_find_node(target);
    if (!tbs) {
        error_setg(errp, "Cannot find node-name='%s'", target);
        return;
    }
    p.job_id = job_id ? job_id : device;
    p.source = source;
    p.target = tbs;
    p.sync = sync;
    p.speed = has_speed ? speed : 0;
    p.granularity = has_granularity ? granularity : 0;
    p.buf_size = has_buf_size ? buf_size : 0;
    p.on_source_error = has_on_source_error ? on_source_error
                                            : BLOCKDEV_ON_ERROR_REPORT;
    p.on_target_error = has_on_target_error ? on_target_error
                                            : BLOCKDEV_ON_ERROR_REPORT;
    p.unmap = true;
    p.auto_finalize = has_auto_finalize ? auto_finalize : true;
    p.auto_dismiss = has_auto_dismiss ? auto_dismiss : true;
    p.write_blocking = has_copy_mode &&
                       copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING;
    mirror_start(&p, errp);
}
