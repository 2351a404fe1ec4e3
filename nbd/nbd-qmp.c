/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP commands of qapi/block-export.json: nbd-server-start/-stop,
 * the deprecated nbd-server-add/-remove (the COLO recipe's spelling,
 * mapped onto block-export-add/-del as QEMU does: the export's id is its
 * name), block-export-add/-del and query-block-exports.
 */
#include "nbd/nbd.h"
#include "block/block.h"
#include "qapi/qapi-commands.h"
#include "util/sockets.h"

void qmp_nbd_server_start(NbdServerOptionsLegacy *arg, Error **errp)
{
    g_autoptr(SocketAddress) addr = NULL;

    if (arg->tls_creds || arg->tls_authz) {
        error_setg(errp, "TLS is not supported by this NBD server "
                   "(tls-creds/tls-authz)");
        return;
    }
    if (nbd_server_is_running()) {
        error_setg(errp, "NBD server already running");
        return;
    }
    addr = socket_address_from_legacy(arg->addr);
    if (!socket_address_check(addr, errp)) {
        return;
    }
    nbd_server_start(addr, arg->has_max_connections ?
                     arg->max_connections : 0,
                     arg->has_handshake_max_seconds ?
                     arg->handshake_max_seconds :
                     NBD_DEFAULT_HANDSHAKE_MAX_SECONDS, errp);
}

void qmp_nbd_server_stop(Error **errp)
{
    if (!nbd_server_is_running()) {
        error_setg(errp, "NBD server not running");
        return;
    }
    nbd_server_stop();
}

void qmp_nbd_server_add(NbdServerAddOptions *arg, Error **errp)
{
    BlockExportOptions opts = {
        .type = BLOCK_EXPORT_TYPE_NBD,
        .id = arg->name ? arg->name : arg->device,
        .node_name = arg->device,
        .has_writable = arg->has_writable,
        .writable = arg->writable,
        .u.nbd = {
            .name = arg->name ? arg->name : arg->device,
            .description = arg->description,
        },
    };

    if (arg->bitmap) {
        error_setg(errp, "Exporting dirty bitmaps is not supported");
        return;
    }
    nbd_export_create(&opts, errp);
}

void qmp_nbd_server_remove(const char *name, bool has_mode,
                           BlockExportRemoveMode mode, Error **errp)
{
    NbdExport *exp;

    if (!nbd_server_is_running()) {
        error_setg(errp, "NBD server not running");
        return;
    }
    exp = nbd_export_find(name);
    if (!exp) {
        error_setg(errp, "Export '%s' is not found", name);
        return;
    }
    nbd_export_remove(exp, has_mode ? mode : BLOCK_EXPORT_REMOVE_MODE_SAFE,
                      errp);
}

void qmp_block_export_add(BlockExportOptions *arg, Error **errp)
{
    nbd_export_create(arg, errp);
}

void qmp_block_export_del(const char *id, bool has_mode,
                          BlockExportRemoveMode mode, Error **errp)
{
    NbdExport *exp = nbd_export_find_id(id);

    if (!exp) {
        error_setg(errp, "Export '%s' is not found", id);
        return;
    }
    nbd_export_remove(exp, has_mode ? mode : BLOCK_EXPORT_REMOVE_MODE_SAFE,
                      errp);
}

BlockExportInfoList *qmp_query_block_exports(Error **errp)
{
    BlockExportInfoList *head = NULL, **tail = &head;

    for (NbdExport *exp = nbd_export_next(NULL); exp;
         exp = nbd_export_next(exp)) {
        BlockExportInfoList *e = g_new0(BlockExportInfoList, 1);

        e->value = nbd_export_info(exp);
        *tail = e;
        tail = &e->next;
    }
    return head;
}
