/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal snapshots, format-independent (block/internal-snapshot.h):
 * finding a snapshot by id and name as QEMU matches them, and the
 * SnapshotInfo that query-block and the QMP commands report.
 */
#include <errno.h>
#include <string.h>
#include "block/block_int.h"
#include "block/internal-snapshot.h"

void bdrv_snapshot_clear(BdrvSnapshot *sn)
{
    g_free(sn->id);
    g_free(sn->name);
    memset(sn, 0, sizeof(*sn));
}

void bdrv_snapshot_list_free(BdrvSnapshot *list, int n)
{
    for (int i = 0; i < n; i++) {
        bdrv_snapshot_clear(&list[i]);
    }
    g_free(list);
}

bool bdrv_can_snapshot(BlockDriverState *bs)
{
    return bs->drv->snapshot_list && bs->drv->snapshot_create &&
           bs->drv->snapshot_delete;
}

int bdrv_snapshot_list(BlockDriverState *bs, BdrvSnapshot **list)
{
    *list = NULL;
    if (!bdrv_can_snapshot(bs)) {
        return -ENOTSUP;
    }
    return bs->drv->snapshot_list(bs, list);
}

bool bdrv_snapshot_find(BlockDriverState *bs, const char *id,
                        const char *name, BdrvSnapshot *out)
{
    BdrvSnapshot *list;
    int n = bdrv_snapshot_list(bs, &list);
    bool found = false;

    for (int i = 0; i < n && !found; i++) {
        if ((!id || !strcmp(list[i].id, id)) &&
            (!name || !strcmp(list[i].name, name))) {
            *out = list[i];
            memset(&list[i], 0, sizeof(list[i]));   /* now out's */
            found = true;
        }
    }
    bdrv_snapshot_list_free(list, MAX(n, 0));
    return found;
}

/* Whether the image may change now; what names the change. */
static bool check_changeable(BlockDriverState *bs, const char *what,
                             Error **errp)
{
    if (!bdrv_can_snapshot(bs)) {
        error_setg(errp, "Block format '%s' does not support internal "
                   "snapshots", bdrv_get_format_name(bs));
        return false;
    }
    if (bs->inactive) {
        g_autofree char *d = bdrv_describe(bs);

        error_setg(errp, "%s is inactive (its image is handed over to a "
                   "migration peer): cannot %s a snapshot", d, what);
        return false;
    }
    return true;
}

bool bdrv_snapshot_create(BlockDriverState *bs, BdrvSnapshot *sn,
                          Error **errp)
{
    if (!check_changeable(bs, "take", errp)) {
        return false;
    }
    if (bs->read_only) {
        g_autofree char *d = bdrv_describe(bs);

        error_setg(errp, "%s is read-only", d);
        return false;
    }
    return bs->drv->snapshot_create(bs, sn, errp);
}

bool bdrv_snapshot_delete(BlockDriverState *bs, const char *id,
                          Error **errp)
{
    /* Read-only is the driver's to refuse, with QEMU's text. */
    return check_changeable(bs, "delete", errp) &&
           bs->drv->snapshot_delete(bs, id, errp);
}

SnapshotInfo *bdrv_snapshot_info(const BdrvSnapshot *sn)
{
    SnapshotInfo *info = g_new0(SnapshotInfo, 1);

    info->id = g_strdup(sn->id);
    info->name = g_strdup(sn->name);
    info->vm_state_size = sn->vm_state_size;
    info->date_sec = sn->date_sec;
    info->date_nsec = sn->date_nsec;
    info->vm_clock_sec = sn->vm_clock_nsec / 1000000000;
    info->vm_clock_nsec = sn->vm_clock_nsec % 1000000000;
    if (sn->icount >= 0) {
        info->has_icount = true;
        info->icount = sn->icount;
    }
    return info;
}

SnapshotInfoList *bdrv_snapshot_info_list(BlockDriverState *bs)
{
    BdrvSnapshot *list;
    int n = bdrv_snapshot_list(bs, &list);
    SnapshotInfoList *head = NULL;

    /* Built from the back so that the list keeps the table's order. */
    for (int i = n - 1; i >= 0; i--) {
        SnapshotInfoList *e = g_new0(SnapshotInfoList, 1);

        e->value = bdrv_snapshot_info(&list[i]);
        e->next = head;
        head = e;
    }
    bdrv_snapshot_list_free(list, MAX(n, 0));
    return head;
}
