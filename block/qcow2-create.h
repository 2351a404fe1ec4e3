/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One way of writing a new qcow2 image (block/qcow2-create.c), for every
 * caller: -drive snapshot=on's temporary overlay, a mirror's new target,
 * blockdev-snapshot-sync's new image (through a path) and blockdev-create
 * (through a node, block/create.c).
 */
#ifndef BLOCK_QCOW2_CREATE_H
#define BLOCK_QCOW2_CREATE_H

#include <stdbool.h>
#include <stdint.h>
#include "block/block_int.h"
#include "qapi/qapi-types.h"

/* What the new image is; qcow2_create_defaults() fills QEMU's defaults. */
typedef struct Qcow2CreateParams {
    uint64_t size;              /* virtual size, a multiple of 512 */
    int version;                /* 2 or 3 */
    int cluster_bits;           /* 9 .. 21 */
    int refcount_order;         /* log2 of the refcount width; 4 in v2 */
    bool lazy_refcounts;        /* v3 only */
    const char *backing_file;   /* NULL: none */
    const char *backing_fmt;    /* NULL: no backing format extension */
} Qcow2CreateParams;

/* v3, 64 KiB clusters, 16-bit refcounts, no backing file. */
void qcow2_create_defaults(Qcow2CreateParams *p, uint64_t size);

/*
 * blockdev-create's qcow2 options as parameters, refused with QEMU 7.2's
 * words where QEMU refuses them, and with a clear one where Tandem cannot
 * write what QEMU would (preallocation). *p borrows o's strings.
 */
bool qcow2_create_params_from_qapi(const BlockdevCreateOptionsQcow2 *o,
                                   Qcow2CreateParams *p, Error **errp);

/*
 * Writes the image onto the node file through a user that holds write
 * and resize on it (as QEMU's creation does, sharing everything):
 * empties the node, then writes the header and the tables. The node
 * keeps what it is; a format node is opened on it afterwards. BQL held
 * (to claim and release the node), I/O runs under it.
 */
bool qcow2_create_on_node(BlockDriverState *file, const Qcow2CreateParams *p,
                          Error **errp);

#endif
