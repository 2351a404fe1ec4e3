/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP for internal snapshots: blockdev-snapshot-internal-sync (also a
 * transaction action: prepare takes the snapshot, abort deletes it) and
 * blockdev-snapshot-delete-internal-sync, with QEMU 7.2's checks in its
 * order and its error texts.
 *
 * Differences from QEMU, on purpose: Tandem has no guest clock to
 * record, so vm-clock-sec/nsec are 0 (QEMU's qemu-img records 0 too); a
 * name cut to 255 bytes is cut at a UTF-8 character boundary.
 */
#include <string.h>
#include "block/block_int.h"
#include "block/internal-snapshot.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "qapi/qapi-commands.h"
#include "trace.h"

#define SNAPSHOT_NAME_MAX 255

struct InternalSnapshot {
    BlockDriverState *bs;       /* holds a reference */
    char *id;                   /* the snapshot taken */
};

/* QEMU's bdrv_lookup_bs(device, device): a drive's root, then a node. */
static BlockDriverState *lookup(const char *device, Error **errp)
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
 * QEMU keeps at most 255 bytes of a name (its snapshot record's size)
 * and drops the rest without a word; so do we, but never inside a UTF-8
 * character, which would leave invalid text in every later reply.
 */
static char *snapshot_name(const char *name)
{
    const char *end = name + strlen(name);

    if (end - name > SNAPSHOT_NAME_MAX) {
        end = name + SNAPSHOT_NAME_MAX;
        while (end > name && (*end & 0xc0) == 0x80) {
            end--;          /* *end continues a character: cut before it */
        }
    }
    return g_strndup(name, end - name);
}

InternalSnapshot *internal_snapshot_prepare(
    const BlockdevSnapshotInternal *arg, Error **errp)
{
    BlockDriverState *bs = lookup(arg->device, errp);
    BdrvSnapshot sn = { 0 }, old;
    InternalSnapshot *st;
    gint64 now = g_get_real_time();

    if (!bs || !block_job_check_node(bs, errp)) {
        return NULL;
    }
    if (bdrv_is_read_only(bs)) {
        error_setg(errp, "Device '%s' is read only", arg->device);
        return NULL;
    }
    if (!bdrv_can_snapshot(bs)) {
        error_setg(errp, "Block format '%s' used by device '%s' does not "
                   "support internal snapshots", bdrv_get_format_name(bs),
                   arg->device);
        return NULL;
    }
    if (!arg->name[0]) {
        error_setg(errp, "Name is empty");
        return NULL;
    }
    if (bdrv_snapshot_find(bs, NULL, arg->name, &old)) {
        bdrv_snapshot_clear(&old);
        error_setg(errp, "Snapshot with name '%s' already exists on device "
                   "'%s'", arg->name, arg->device);
        return NULL;
    }
    /* The snapshot holds what the guest wrote so far. */
    if (bdrv_flush(bs, errp) < 0) {
        return NULL;
    }
    sn.name = snapshot_name(arg->name);
    sn.date_sec = now / G_USEC_PER_SEC;
    sn.date_nsec = (now % G_USEC_PER_SEC) * 1000;
    sn.icount = -1;
    if (!bdrv_snapshot_create(bs, &sn, errp)) {
        error_prepend(errp, "Failed to create snapshot '%s' on device "
                      "'%s': ", arg->name, arg->device);
        bdrv_snapshot_clear(&sn);
        return NULL;
    }
    trace_internal_snapshot_create(bs->node_name, sn.id, sn.name);
    st = g_new0(InternalSnapshot, 1);
    st->bs = bs;
    bdrv_ref(bs);
    st->id = g_steal_pointer(&sn.id);
    bdrv_snapshot_clear(&sn);
    return st;
}

void internal_snapshot_abort(InternalSnapshot *st)
{
    g_autoptr(Error) err = NULL;

    /* A failure leaves the snapshot behind; nothing is lost by that. */
    if (!bdrv_snapshot_delete(st->bs, st->id, &err)) {
        trace_internal_snapshot_abort_failed(st->bs->node_name, st->id,
                                             error_get_pretty(err));
    }
}

void internal_snapshot_free(InternalSnapshot *st)
{
    bdrv_unref(st->bs);
    g_free(st->id);
    g_free(st);
}

void qmp_blockdev_snapshot_internal_sync(const char *device,
                                         const char *name, Error **errp)
{
    BlockdevSnapshotInternal data = {
        .device = (char *)device, .name = (char *)name,
    };
    TransactionAction act = {
        .type = TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT_INTERNAL_SYNC,
        .u.blockdev_snapshot_internal_sync.data = &data,
    };
    TransactionActionList list = { .value = &act };

    qmp_transaction(&list, NULL, errp);
}

SnapshotInfo *qmp_blockdev_snapshot_delete_internal_sync(const char *device,
                                                         const char *id,
                                                         const char *name,
                                                         Error **errp)
{
    BlockDriverState *bs = lookup(device, errp);
    BdrvSnapshot sn;
    SnapshotInfo *info;

    if (!bs) {
        return NULL;
    }
    if (!id && !name) {
        error_setg(errp, "Name or id must be provided");
        return NULL;
    }
    if (!block_job_check_node(bs, errp)) {
        return NULL;
    }
    if (!bdrv_can_snapshot(bs)) {
        error_setg(errp, "Failed to get a snapshot list: Operation not "
                   "supported");
        return NULL;
    }
    if (!bdrv_snapshot_find(bs, id, name, &sn)) {
        error_setg(errp, "Snapshot with id '%s' and name '%s' does not "
                   "exist on device '%s'", id ? id : "null",
                   name ? name : "null", device);
        return NULL;
    }
    if (!bdrv_snapshot_delete(bs, sn.id, errp)) {
        bdrv_snapshot_clear(&sn);
        return NULL;
    }
    trace_internal_snapshot_delete(bs->node_name, sn.id, sn.name);
    info = bdrv_snapshot_info(&sn);
    bdrv_snapshot_clear(&sn);
    return info;
}
