/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Putting an overlay on top of a node (block/overlay.h): the two-step
 * swap an external snapshot makes, prepared (and undoable) first, then
 * committed. The graph primitives are block.c's; the accounting of who
 * writes what moves with each user, so the permission model and the
 * image locks follow (block/permission.h).
 */
#include <string.h>
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/overlay.h"
#include "block/permission.h"
#include "trace.h"

/* The links of parent nodes to bs ("file" or "backing"), in node order. */
static GSList *parent_links(const BlockDriverState *bs)
{
    GSList *links = NULL;

    for (BlockDriverState *p = bdrv_next_node(NULL); p;
         p = bdrv_next_node(p)) {
        BdrvChild *children[] = { p->file, p->backing };

        for (size_t i = 0; i < G_N_ELEMENTS(children); i++) {
            if (children[i] && children[i]->bs == bs) {
                links = g_slist_prepend(links, children[i]);
            }
        }
    }
    return g_slist_reverse(links);
}

bool bdrv_has_users(const BlockDriverState *bs)
{
    GSList *blks = blk_list_on(bs);
    GSList *links = parent_links(bs);
    bool used = blks || links;

    g_slist_free(blks);
    g_slist_free(links);
    return used;
}

BlockDriverState *bdrv_backing_parent(const BlockDriverState *bs)
{
    for (BlockDriverState *p = bdrv_next_node(NULL); p;
         p = bdrv_next_node(p)) {
        if (p->backing && p->backing->bs == bs) {
            return p;
        }
    }
    return NULL;
}

/* Whether node is root or below it. */
static bool bdrv_is_below(const BlockDriverState *root,
                          const BlockDriverState *node)
{
    if (root == node) {
        return true;
    }
    return (root->file && bdrv_is_below(root->file->bs, node)) ||
           (root->backing && bdrv_is_below(root->backing->bs, node));
}

/* Whether any of the users in a writes through its link. */
static bool users_write(const BdrvAppend *a)
{
    for (GSList *l = a->backends; l; l = l->next) {
        if (blk_is_writable(l->data)) {
            return true;
        }
    }
    for (GSList *l = a->children; l; l = l->next) {
        BdrvChild *c = l->data;

        if (!c->parent->read_only && strcmp(c->name, "backing")) {
            return true;
        }
    }
    return false;
}

/* The swap's checks, before anything changes. */
static bool bdrv_append_check(const BdrvAppend *a, Error **errp)
{
    for (GSList *l = a->children; l; l = l->next) {
        BdrvChild *c = l->data;

        if (bdrv_is_below(a->overlay, c->parent)) {
            error_setg(errp, "Making '%s' a %s child of '%s' would create "
                       "a cycle", a->overlay->node_name, c->name,
                       c->parent->node_name);
            return false;
        }
    }
    if (a->overlay->read_only && users_write(a)) {
        error_setg(errp, "Block node is read-only");
        return false;
    }
    /* Its users would write (or trust) an image another process owns. */
    if (a->overlay->inactive && !a->base->inactive &&
        (a->backends || a->children)) {
        g_autofree char *d = bdrv_describe(a->overlay);

        error_setg(errp, "%s is inactive and cannot take the place of "
                   "active node '%s'", d, a->base->node_name);
        return false;
    }
    return true;
}

static void bdrv_append_drain(const BdrvAppend *a)
{
    for (GSList *l = a->backends; l; l = l->next) {
        blk_drain(l->data);
    }
    bdrv_drain_all();
}

/* Every moved user onto to (the overlay, or back to the base). */
static void bdrv_append_move(const BdrvAppend *a, BlockDriverState *to)
{
    for (GSList *l = a->backends; l; l = l->next) {
        blk_set_root(l->data, to);
    }
    for (GSList *l = a->children; l; l = l->next) {
        bdrv_child_set_bs(l->data, to);
    }
}

bool bdrv_append_prepare(BdrvAppend *a, BlockDriverState *overlay,
                         BlockDriverState *base, Error **errp)
{
    memset(a, 0, sizeof(*a));
    if (overlay == base) {
        error_setg(errp, "Making '%s' a backing child of '%s' would "
                   "create a cycle", base->node_name, overlay->node_name);
        return false;
    }
    a->overlay = overlay;
    a->base = base;
    bdrv_ref(overlay);
    bdrv_ref(base);
    /* Taken before the backing link exists, which stays where it is. */
    a->backends = blk_list_on(base);
    a->children = parent_links(base);
    if (!bdrv_append_check(a, errp) ||
        !bdrv_set_backing(overlay, base, errp)) {
        bdrv_append_clean(a);
        return false;
    }
    bdrv_append_drain(a);
    bdrv_append_move(a, overlay);
    trace_bdrv_append_prepare(overlay->node_name, base->node_name,
                              g_slist_length(a->backends),
                              g_slist_length(a->children));
    /*
     * The overlay now answers for its new users. The base keeps its
     * locks until commit makes it read-only, so an abort has nothing to
     * take back from another process.
     */
    if (!bdrv_check_perms(overlay, errp) ||
        !bdrv_refresh_perms(overlay, errp)) {
        bdrv_append_abort(a);
        bdrv_append_clean(a);
        return false;
    }
    return true;
}

void bdrv_append_commit(BdrvAppend *a)
{
    Error *err = NULL;

    trace_bdrv_append_commit(a->overlay->node_name, a->base->node_name);
    if (!bdrv_make_read_only(a->base, &err)) {
        /* The snapshot stands: the base is only written no more. */
        warn_report("%s", error_get_pretty(err));
        error_free(err);
        bdrv_drop_perms(a->base);
    }
}

void bdrv_append_abort(BdrvAppend *a)
{
    trace_bdrv_append_abort(a->overlay->node_name, a->base->node_name);
    bdrv_append_drain(a);
    bdrv_append_move(a, a->base);
    bdrv_clear_backing(a->overlay);
    bdrv_drop_perms(a->overlay);
    /* A protocol node's own lock may have gone with its users. */
    bdrv_drop_perms(a->base);
}

void bdrv_append_clean(BdrvAppend *a)
{
    g_slist_free(a->backends);
    g_slist_free(a->children);
    bdrv_unref(a->overlay);
    bdrv_unref(a->base);
    memset(a, 0, sizeof(*a));
}
