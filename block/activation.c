/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Activating and inactivating nodes (block/activation.h): the walk over
 * the graph (children before parents to activate, parents before
 * children to inactivate, since a parent's flush writes into its
 * children), and the QMP command blockdev-set-active.
 */
#include <errno.h>
#include <glib.h>
#include "block/activation.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/permission.h"
#include "qapi/qapi-commands.h"
#include "trace.h"

/* Nodes opened from now on start inactive. Main loop, BQL. */
static bool open_inactive;

void bdrv_set_open_inactive(bool inactive)
{
    open_inactive = inactive;
}

bool bdrv_get_open_inactive(void)
{
    return open_inactive;
}

bool bdrv_is_active(const BlockDriverState *bs)
{
    return !bs->inactive;
}

static BlockDriverState *child_bs(const BdrvChild *c)
{
    return c ? c->bs : NULL;
}

/* Whether some node (an active one, if active_only) has bs as a child. */
static bool has_parent(const BlockDriverState *bs, bool active_only)
{
    for (BlockDriverState *p = bdrv_next_node(NULL); p;
         p = bdrv_next_node(p)) {
        if (active_only && p->inactive) {
            continue;
        }
        if (child_bs(p->file) == bs || child_bs(p->backing) == bs) {
            return true;
        }
    }
    return false;
}

bool bdrv_activate(BlockDriverState *bs, Error **errp)
{
    BlockDriverState *children[] = { child_bs(bs->file),
                                     child_bs(bs->backing) };

    for (size_t i = 0; i < G_N_ELEMENTS(children); i++) {
        if (children[i] && !bdrv_activate(children[i], errp)) {
            return false;
        }
    }
    if (!bs->inactive) {
        return true;
    }
    bdrv_drain_all();
    /*
     * Take the image back from the peer (its locks, block/file-lock.h)
     * before reading it again: the peer must have let go of it.
     */
    bs->inactive = false;
    /* Its users' claims count from now on, in this process too. */
    if (!bdrv_check_perms(bs, errp) || !bdrv_refresh_perms(bs, errp) ||
        (bs->drv->activate && !bs->drv->activate(bs, errp))) {
        g_autofree char *d = bdrv_describe(bs);
        error_prepend(errp, "%s: could not activate: ", d);
        bs->inactive = true;
        bdrv_drop_perms(bs);
        return false;
    }
    bs->inactive = false;       /* a driver's activate() may toggle it */
    trace_bdrv_activate(bs->node_name);
    return true;
}

bool bdrv_inactivate(BlockDriverState *bs, Error **errp)
{
    BlockDriverState *children[] = { child_bs(bs->file),
                                     child_bs(bs->backing) };

    if (bs->inactive) {
        return true;
    }
    if (has_parent(bs, true)) {
        g_autofree char *d = bdrv_describe(bs);
        error_setg(errp, "%s has an active parent node: inactivate the "
                   "parent instead", d);
        return false;
    }
    if (blk_keeping_active(bs)) {
        g_autofree char *d = bdrv_describe(bs);
        error_setg(errp, "%s cannot be inactivated: %s needs it active "
                   "(remove it, or export with allow-inactive)", d,
                   blk_keeping_active(bs));
        return false;
    }
    bdrv_drain_all();
    /* The last writes reach the image before the peer may read it. */
    if (bdrv_flush(bs, errp) < 0) {
        error_prepend(errp, "could not inactivate: ");
        return false;
    }
    if (bs->drv->inactivate) {
        bs->drv->inactivate(bs);
    }
    bs->inactive = true;
    /* The peer may take the image now: let go of our locks. */
    bdrv_drop_perms(bs);
    trace_bdrv_inactivate(bs->node_name);
    for (size_t i = 0; i < G_N_ELEMENTS(children); i++) {
        if (children[i] && !has_parent(children[i], true) &&
            !bdrv_inactivate(children[i], errp)) {
            return false;
        }
    }
    return true;
}

/*
 * Parents first: a node goes when no active parent uses it any more,
 * until none is left. Each round inactivates at least one node. A
 * mirror's target is not the guest's and stays (blk_outlives_handover).
 */
bool bdrv_inactivate_all(Error **errp)
{
    bool progress = true;

    while (progress) {
        progress = false;
        for (BlockDriverState *bs = bdrv_next_node(NULL); bs;
             bs = bdrv_next_node(bs)) {
            if (bs->inactive || has_parent(bs, true) ||
                blk_outlives_handover(bs)) {
                continue;
            }
            if (!bdrv_inactivate(bs, errp)) {
                return false;
            }
            progress = true;
        }
    }
    return true;
}

bool bdrv_activate_all(Error **errp)
{
    open_inactive = false;
    for (BlockDriverState *bs = bdrv_next_node(NULL); bs;
         bs = bdrv_next_node(bs)) {
        if (!bdrv_activate(bs, errp)) {
            return false;
        }
    }
    return true;
}

void qmp_blockdev_set_active(const char *node_name, bool active,
                             Error **errp)
{
    BlockDriverState *bs;

    if (!node_name) {
        if (active) {
            bdrv_activate_all(errp);
        } else {
            bdrv_inactivate_all(errp);
        }
        return;
    }
    bs = bdrv_find_node(node_name);
    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'",
                   node_name);
        return;
    }
    if (active) {
        bdrv_activate(bs, errp);
    } else {
        bdrv_inactivate(bs, errp);
    }
}
