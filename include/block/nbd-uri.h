/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nbd driver's file names, as QEMU spells them: the URIs -drive file=
 * takes and query-named-block-nodes shows.
 *
 *   nbd://HOST[:PORT][/EXPORT]          TCP (nbd+tcp:// too), port 10809
 *   nbd+unix:///[EXPORT]?socket=PATH    a Unix socket
 *   nbd:HOST:PORT[:exportname=EXPORT]   QEMU's older pseudo-URI
 *   nbd:unix:PATH[:exportname=EXPORT]
 *
 * nbds:// and nbds+unix:// (TLS) are recognised and refused. Always built,
 * with or without libnbd: a URI parses either way, and opening the node
 * is what says the library is missing.
 */
#ifndef BLOCK_NBD_URI_H
#define BLOCK_NBD_URI_H

#include <stdbool.h>
#include <json-c/json.h>
#include "util/error.h"
#include "qapi/qapi-types.h"

#define NBD_DEFAULT_PORT "10809"

/* Whether a -drive file= value is an NBD URI (starts with "nbd"+':'...). */
bool nbd_uri_is_nbd(const char *file);
/*
 * The nbd node's options for uri, as JSON ({"driver":"nbd","server":
 * {...},"export":"..."}), or NULL with errp set naming what is wrong.
 */
json_object *nbd_uri_to_json(const char *uri, Error **errp);
/* The pseudo file name of a node: nbd://H:P/E or nbd+unix:///E?socket=S. */
char *nbd_uri_format(const SocketAddress *server, const char *export);

#endif
