/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The permission model (block/permission.h): what each parent of a node
 * holds and shares, cumulated per node and handed to the driver.
 */
#include <string.h>
#include <glib.h>
#include "block/block_int.h"
#include "block/permission.h"
#include "trace.h"

/* Indexed by bit number; QEMU's spelling in "Failed to get ... lock". */
static const char *const perm_names[BLK_PERM_BITS] = {
    [0] = "consistent read",
    [1] = "write",
    [2] = "write unchanged",
    [3] = "resize",
    [4] = "graph modification",
};

const char *bdrv_perm_name(unsigned bit)
{
    return bit < BLK_PERM_BITS ? perm_names[bit] : "unknown";
}

/*
 * What an overlay wants from its backing file, after its own users, as
 * QEMU's: to read it if they read, and to see it unchanged only if they
 * do not accept changes (share write). An overlay nobody uses claims
 * nothing of it, so its image may be held elsewhere meanwhile.
 */
static void backing_perm(BlockDriverState *parent, uint64_t *perm,
                         uint64_t *shared)
{
    uint64_t pp, ps;

    bdrv_get_cumulative_perm(parent, &pp, &ps);
    *perm = pp & BLK_PERM_CONSISTENT_READ;
    *shared = BLK_PERM_ALL;
    if (!(ps & BLK_PERM_WRITE)) {
        *shared &= ~(uint64_t)(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
}

/* What parent, through its child role name, wants from its child. */
static void child_perm(BlockDriverState *parent, const char *name,
                       uint64_t *perm, uint64_t *shared)
{
    if (parent->inactive) {
        *perm = 0;
        *shared = BLK_PERM_ALL;
        return;
    }
    if (!strcmp(name, "file") && parent->drv->passes_perms) {
        bdrv_get_cumulative_perm(parent, perm, shared);
    } else if (!strcmp(name, "backing")) {
        backing_perm(parent, perm, shared);
    } else if (!strcmp(name, "file") && !parent->read_only) {
        /* A format owns its file's bytes and its length. */
        *perm = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_RESIZE;
        *shared = BLK_PERM_ALL & ~(uint64_t)(BLK_PERM_WRITE |
                                             BLK_PERM_RESIZE);
    } else {
        /* Read-only metadata must not change under us. */
        *perm = BLK_PERM_CONSISTENT_READ;
        *shared = BLK_PERM_ALL & ~(uint64_t)(BLK_PERM_WRITE |
                                             BLK_PERM_RESIZE);
    }
    if (parent->force_share) {
        *shared = BLK_PERM_ALL;
    }
}

void bdrv_get_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                              uint64_t *shared)
{
    *perm = 0;
    *shared = BLK_PERM_ALL;
    if (bs->inactive) {
        return;
    }
    blk_cumulate_perms(bs, perm, shared);
    for (BlockDriverState *p = bdrv_next_node(NULL); p;
         p = bdrv_next_node(p)) {
        BdrvChild *children[] = { p->file, p->backing };

        for (size_t i = 0; i < G_N_ELEMENTS(children); i++) {
            uint64_t cp, cs;

            if (!children[i] || children[i]->bs != bs) {
                continue;
            }
            child_perm(p, children[i]->name, &cp, &cs);
            *perm |= cp;
            *shared &= cs;
        }
    }
    if (bs->read_only) {
        *perm &= ~(uint64_t)(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
    if (bs->force_share) {
        *shared = BLK_PERM_ALL;
    }
}

bool bdrv_refresh_perms(BlockDriverState *bs, Error **errp)
{
    BdrvChild *children[] = { bs->file, bs->backing };
    uint64_t perm, shared;

    bdrv_get_cumulative_perm(bs, &perm, &shared);
    trace_bdrv_refresh_perms(bs->node_name, perm, shared);
    if (bs->drv->set_perm && !bs->drv->set_perm(bs, perm, shared, errp)) {
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(children); i++) {
        if (children[i] && !bdrv_refresh_perms(children[i]->bs, errp)) {
            return false;
        }
    }
    return true;
}

void bdrv_drop_perms(BlockDriverState *bs)
{
    Error *err = NULL;

    /* Nothing is gained, so nothing is checked (block/file-lock.c). */
    if (!bdrv_refresh_perms(bs, &err)) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
}
