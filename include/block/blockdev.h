/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The user's side of the block layer: -blockdev and -drive (and HMP
 * drive_add/drive_del) on top of block/block.h; the QMP commands are the
 * generated qmp_* prototypes.
 */
#ifndef BLOCK_BLOCKDEV_H
#define BLOCK_BLOCKDEV_H

#include <json-c/json.h>
#include "block/block-backend.h"

/*
 * Node options from -blockdev's syntax: JSON ("{...}") or dotted keys
 * ("driver=qcow2,node-name=d0,file.driver=file,file.filename=/x").
 */
BlockdevOptions *blockdev_options_parse(const char *str, Error **errp);
/* -blockdev: opens the node; the monitor owns it (blockdev-del frees). */
bool blockdev_add_cmdline(const char *str, Error **errp);
/*
 * -drive / drive_add: QEMU's legacy spelling (if=none,id=,file=,format=,
 * cache=,aio=,readonly=,snapshot=,node-name=,discard=). Returns the new
 * named BlockBackend.
 */
BlockBackend *drive_new(const char *str, Error **errp);
/* The same with the default of snapshot= given (on under -snapshot). */
BlockBackend *drive_new_cmdline(const char *str, bool snapshot_default,
                                Error **errp);
/* drive_del: drops the drive (the node goes with its last reference). */
bool drive_del(const char *id, Error **errp);
/*
 * The format of the image a protocol node's options (JSON, not consumed)
 * open: "qcow2" by its magic, else "raw" (-drive without format=,
 * drive-mirror mode=existing without format).
 */
const char *blockdev_probe_format(json_object *fobj, Error **errp);

#endif
