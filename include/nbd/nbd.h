/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The built-in NBD server and its exports (nbd/). One server at a time
 * listens on one address (nbd-server-start); exports (block-export-add
 * type nbd, or nbd-server-add) put a block node behind a name; clients
 * negotiate a name in the fixed newstyle handshake and then read and
 * write it. Everything runs on the main loop with the BQL: sockets are
 * nonblocking with GSource watches, block I/O goes through the block
 * layer's asynchronous requests (blk_aio_*), so a slow or hostile client
 * never stalls the loop or the other clients.
 *
 * Export lifetime:
 *
 *   created --(remove: safe with no client, or hard)--> shutting down
 *      |                                                    |
 *      | clients hold references                            | last client
 *      v                                                    v closes
 *   (clients open it by name)                   deleted: BLOCK_EXPORT_DELETED
 *
 * A shutting-down export is invisible to new clients but still listed by
 * query-block-exports; hard removal disconnects its clients (requests in
 * flight complete first).
 */
#ifndef NBD_NBD_H
#define NBD_NBD_H

#include <stdbool.h>
#include <stdint.h>
#include "qapi/qapi-types.h"
#include "util/error.h"

typedef struct NbdExport NbdExport;

/* ---- the server (nbd/server.c) ---- */

/* A client must finish its handshake within this (0: no limit). */
#define NBD_DEFAULT_HANDSHAKE_MAX_SECONDS 10

/*
 * Listens on addr (inet or unix); max_connections 0 is no limit; a client
 * still negotiating after handshake_max_seconds (0: no limit) is dropped.
 * Fails when a server runs or the address cannot be listened on.
 */
bool nbd_server_start(const SocketAddress *addr, uint32_t max_connections,
                      uint32_t handshake_max_seconds, Error **errp);
/* Removes every export (hard) and closes the listener and clients. */
void nbd_server_stop(void);
bool nbd_server_is_running(void);
/* The address listened on (port 0 resolved), for tests; NULL if none. */
SocketAddress *nbd_server_local_address(Error **errp);
/* Clients connected now (handshaking or transmitting). */
unsigned nbd_server_client_count(void);

/* ---- exports (nbd/export.c) ---- */

/* Creates an export from block-export-add's options (type nbd). */
NbdExport *nbd_export_create(const BlockExportOptions *opts, Error **errp);
/*
 * Starts removal: safe refuses while a client is connected ("export 'ID'
 * still in use"); hard disconnects the clients. The export is deleted
 * (and BLOCK_EXPORT_DELETED sent) when its last client is gone.
 */
bool nbd_export_remove(NbdExport *exp, BlockExportRemoveMode mode,
                       Error **errp);
/* By id (any export) and by name (only those open to new clients). */
NbdExport *nbd_export_find_id(const char *id);
NbdExport *nbd_export_find(const char *name);
/* Hard-removes every export (nbd-server-stop). */
void nbd_export_remove_all(void);
/* Iterates over every export in creation order; NULL starts. */
NbdExport *nbd_export_next(NbdExport *exp);
BlockExportInfo *nbd_export_info(const NbdExport *exp);

#endif
