/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NBD export objects: a name (what clients ask for) and an id (what QMP
 * names), a BlockBackend on the exported node, and the lifetime drawn in
 * include/nbd/nbd.h. The registry keeps every export until it is deleted,
 * shutting-down ones included, so query-block-exports shows them.
 */
#include <string.h>
#include "nbd-internal.h"
#include "block/activation.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/permission.h"
#include "qapi/qapi-events.h"
#include "util/main-loop.h"
#include "trace.h"

static GList *exports;          /* main loop only, creation order */

NbdExport *nbd_export_find_id(const char *id)
{
    for (GList *l = exports; l; l = l->next) {
        NbdExport *exp = l->data;

        if (!strcmp(exp->id, id)) {
            return exp;
        }
    }
    return NULL;
}

NbdExport *nbd_export_find(const char *name)
{
    for (GList *l = exports; l; l = l->next) {
        NbdExport *exp = l->data;

        if (!exp->shutting_down && !strcmp(exp->name, name)) {
            return exp;
        }
    }
    return NULL;
}

NbdExport *nbd_export_next(NbdExport *exp)
{
    GList *l;

    if (!exp) {
        return exports ? exports->data : NULL;
    }
    l = g_list_find(exports, exp);
    return l && l->next ? l->next->data : NULL;
}

/* A node by node name, or the root of a drive by its name. */
static BlockDriverState *nbd_lookup_bs(const char *name, Error **errp)
{
    BlockDriverState *bs = bdrv_find_node(name);
    BlockBackend *blk;

    if (bs) {
        return bs;
    }
    blk = blk_by_name(name);
    if (blk) {
        return blk_bs(blk);
    }
    error_setg(errp, "Cannot find device='%s' nor node-name='%s'", name,
               name);
    return NULL;
}

NbdExport *nbd_export_create(const BlockExportOptions *opts, Error **errp)
{
    const BlockExportOptionsNbd *nbd = &opts->u.nbd;
    const char *name = nbd->name ? nbd->name : opts->node_name;
    g_autofree char *user = NULL;
    BlockDriverState *bs;
    NbdExport *exp;
    BlockBackend *blk;
    bool allow_inactive;

    if (!nbd_server_is_running()) {
        error_setg(errp, "NBD server not running");
        return NULL;
    }
    if (nbd_export_find_id(opts->id)) {
        error_setg(errp, "Block export id '%s' is already in use", opts->id);
        return NULL;
    }
    if (opts->has_fixed_iothread && opts->fixed_iothread) {
        error_setg(errp, "Exports run on the main loop: fixed-iothread is "
                   "not supported");
        return NULL;
    }
    if (opts->iothread) {
        error_setg(errp, "Exports run on the main loop: iothread is not "
                   "supported");
        return NULL;
    }
    if (nbd->bitmaps) {
        error_setg(errp, "Exporting dirty bitmaps is not supported");
        return NULL;
    }
    if (nbd->has_allocation_depth && nbd->allocation_depth) {
        error_setg(errp, "The qemu:allocation-depth metadata context is not "
                   "supported");
        return NULL;
    }
    if (strlen(name) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "export name '%.32s...' too long", name);
        return NULL;
    }
    if (nbd->description && strlen(nbd->description) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "description '%.32s...' too long",
                   nbd->description);
        return NULL;
    }
    if (nbd_export_find(name)) {
        error_setg(errp, "NBD server already has export named '%s'", name);
        return NULL;
    }
    bs = nbd_lookup_bs(opts->node_name, errp);
    if (!bs) {
        return NULL;
    }
    /*
     * As QEMU's: an export activates its node (the destination of a
     * migration without shared storage exports its disk, opened under
     * -incoming, for the source's mirror), and keeps it active, unless
     * allow-inactive.
     */
    if (opts->has_writable && opts->writable && bdrv_is_read_only(bs)) {
        error_setg(errp, "Cannot export read-only node as writable");
        return NULL;
    }
    allow_inactive = opts->has_allow_inactive && opts->allow_inactive;
    if (!allow_inactive && !bdrv_activate(bs, errp)) {
        return NULL;
    }
    /*
     * Claimed now (a -drive claims next to nothing before): as QEMU's
     * exports, share writing with the node's other users, not resizing
     * (the clients were told a size).
     */
    blk = blk_new_perm(NULL, bs, BLK_PERM_CONSISTENT_READ |
                       (opts->has_writable && opts->writable ?
                        BLK_PERM_WRITE : 0),
                       BLK_PERM_ALL & ~(uint64_t)BLK_PERM_RESIZE, errp);
    if (!blk) {
        return NULL;
    }
    user = g_strdup_printf("NBD export '%s'", opts->id);
    blk_set_user(blk, user);
    blk_set_keep_active(blk, !allow_inactive);
    blk_set_enable_write_cache(blk, !(opts->has_writethrough &&
                                      opts->writethrough));
    exp = g_new0(NbdExport, 1);
    exp->id = g_strdup(opts->id);
    exp->name = g_strdup(name);
    exp->description = g_strdup(nbd->description);
    exp->node_name = g_strdup(bdrv_get_node_name(bs));
    exp->blk = blk;
    exp->writable = opts->has_writable && opts->writable;
    exports = g_list_append(exports, exp);
    trace_nbd_export_create(exp->id, exp->name, exp->node_name,
                            exp->writable);
    return exp;
}

/*
 * Deleted from a bottom half: the last client may close from deep inside
 * its own I/O handler, and blk_unref() drains by spinning the loop.
 */
static void nbd_export_delete_bh(void *opaque)
{
    NbdExport *exp = opaque;

    trace_nbd_export_delete(exp->id);
    exports = g_list_remove(exports, exp);
    blk_unref(exp->blk);
    qapi_event_send_block_export_deleted(exp->id);
    g_free(exp->id);
    g_free(exp->name);
    g_free(exp->description);
    g_free(exp->node_name);
    g_free(exp);
}

static void nbd_export_maybe_delete(NbdExport *exp)
{
    if (exp->shutting_down && exp->clients == 0 && !exp->delete_scheduled) {
        exp->delete_scheduled = true;
        main_loop_schedule_bh(nbd_export_delete_bh, exp);
    }
}

void nbd_export_client_open(NbdExport *exp)
{
    exp->clients++;
}

void nbd_export_client_close(NbdExport *exp)
{
    g_assert(exp->clients > 0);
    exp->clients--;
    nbd_export_maybe_delete(exp);
}

bool nbd_export_remove(NbdExport *exp, BlockExportRemoveMode mode,
                       Error **errp)
{
    if (exp->shutting_down) {
        /* Asked again: a hard request still disconnects the clients. */
        if (mode == BLOCK_EXPORT_REMOVE_MODE_HARD) {
            nbd_server_close_export_clients(exp);
        }
        return true;
    }
    if (mode == BLOCK_EXPORT_REMOVE_MODE_SAFE && exp->clients > 0) {
        error_setg(errp, "export '%s' still in use (use mode 'hard' to "
                   "disconnect its %d client%s)", exp->id, exp->clients,
                   exp->clients == 1 ? "" : "s");
        return false;
    }
    trace_nbd_export_remove(exp->id, mode, exp->clients);
    exp->shutting_down = true;
    if (exp->clients == 0) {
        nbd_export_maybe_delete(exp);
    } else {
        /* Each close drops a client; the last one deletes the export. */
        nbd_server_close_export_clients(exp);
    }
    return true;
}

void nbd_export_remove_all(void)
{
    GList *copy = g_list_copy(exports);

    for (GList *l = copy; l; l = l->next) {
        nbd_export_remove(l->data, BLOCK_EXPORT_REMOVE_MODE_HARD, NULL);
    }
    g_list_free(copy);
}

BlockExportInfo *nbd_export_info(const NbdExport *exp)
{
    BlockExportInfo *info = g_new0(BlockExportInfo, 1);

    info->id = g_strdup(exp->id);
    info->type = BLOCK_EXPORT_TYPE_NBD;
    /* The node it serves now (a snapshot or a mirror's pivot moves it). */
    info->node_name = g_strdup(bdrv_get_node_name(blk_bs(exp->blk)));
    info->shutting_down = exp->shutting_down;
    return info;
}
