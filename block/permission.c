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
    if (!(ps & BLK_PERM_WRITE) && !parent->chain_rewrites) {
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

static void perm_user_clear(gpointer p)
{
    g_free(((BdrvPermUser *)p)->desc);
}

/* Every user of bs: its BlockBackends, then the nodes it is a child of. */
static GArray *perm_users(BlockDriverState *bs)
{
    GArray *users = g_array_new(FALSE, TRUE, sizeof(BdrvPermUser));

    g_array_set_clear_func(users, perm_user_clear);
    blk_list_perm_users(bs, users);
    for (BlockDriverState *p = bdrv_next_node(NULL); p;
         p = bdrv_next_node(p)) {
        BdrvChild *children[] = { p->file, p->backing };

        for (size_t i = 0; i < G_N_ELEMENTS(children); i++) {
            BdrvPermUser u = { 0 };

            if (!children[i] || children[i]->bs != bs) {
                continue;
            }
            child_perm(p, children[i]->name, &u.perm, &u.shared);
            u.desc = g_strdup_printf("node '%s'", p->node_name);
            u.role = children[i]->name;
            g_array_append_val(users, u);
        }
    }
    return users;
}

void bdrv_get_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                              uint64_t *shared)
{
    g_autoptr(GArray) users = NULL;

    *perm = 0;
    *shared = BLK_PERM_ALL;
    if (bs->inactive) {
        return;
    }
    users = perm_users(bs);
    for (guint i = 0; i < users->len; i++) {
        const BdrvPermUser *u = &g_array_index(users, BdrvPermUser, i);

        *perm |= u->perm;
        *shared &= u->shared;
    }
    if (bs->read_only) {
        *perm &= ~(uint64_t)(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
    if (bs->force_share) {
        *shared = BLK_PERM_ALL;
    }
}

bool bdrv_has_writer(BlockDriverState *bs)
{
    g_autoptr(GArray) users = perm_users(bs);

    for (guint i = 0; i < users->len; i++) {
        if (g_array_index(users, BdrvPermUser, i).perm & BLK_PERM_WRITE) {
            return true;
        }
    }
    return false;
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

GSList *bdrv_chain_rewrite_hold(BlockDriverState *top,
                                BlockDriverState *base)
{
    GSList *held = NULL;

    for (BlockDriverState *n = top; n && n != base; n = bdrv_backing_bs(n)) {
        bdrv_ref(n);
        n->chain_rewrites++;
        held = g_slist_prepend(held, n);
    }
    return held;
}

void bdrv_chain_rewrite_release(GSList *held)
{
    for (GSList *l = held; l; l = l->next) {
        BlockDriverState *n = l->data;

        g_assert(n->chain_rewrites > 0);
        n->chain_rewrites--;
        if (n->backing) {
            bdrv_drop_perms(n->backing->bs);
        }
        bdrv_unref(n);
    }
    g_slist_free(held);
}

/* "write, resize": the names of the bits of mask, as QEMU lists them. */
static char *perm_list(uint64_t mask)
{
    GString *s = g_string_new(NULL);

    for (unsigned bit = 0; bit < BLK_PERM_BITS; bit++) {
        if (mask & (1ULL << bit)) {
            g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                                   perm_names[bit]);
        }
    }
    return g_string_free(s, FALSE);
}

/*
 * The refusal when a holds bits that b does not share. Two writers keep
 * the words users know from share-rw; anything else reads as QEMU's.
 */
static void perm_conflict(BlockDriverState *bs, const BdrvPermUser *a,
                          const BdrvPermUser *b, uint64_t bits, Error **errp)
{
    g_autofree char *names = NULL;

    if ((bits & BLK_PERM_WRITE) && (b->perm & BLK_PERM_WRITE)) {
        g_autofree char *d = bdrv_describe(bs);

        error_setg(errp, "%s already has a writer; two users may write it "
                   "only if both set share-rw=on", d);
        return;
    }
    names = perm_list(bits);
    error_setg(errp, "Permission conflict on node '%s': permissions '%s' "
               "are both required by %s (uses node '%s' as '%s' child) and "
               "unshared by %s (uses node '%s' as '%s' child).",
               bs->node_name, names, a->desc, bs->node_name, a->role,
               b->desc, bs->node_name, b->role);
}

bool bdrv_check_perms(BlockDriverState *bs, Error **errp)
{
    BdrvChild *children[] = { bs->file, bs->backing };
    g_autoptr(GArray) users = NULL;

    /* An inactive node's users hold nothing of it (block/activation.h). */
    if (!bs->inactive) {
        users = perm_users(bs);
        for (guint i = 0; i < users->len; i++) {
            const BdrvPermUser *a = &g_array_index(users, BdrvPermUser, i);

            for (guint j = 0; j < users->len; j++) {
                const BdrvPermUser *b = &g_array_index(users, BdrvPermUser,
                                                       j);
                uint64_t bits = a->perm & ~b->shared;

                if (i != j && bits) {
                    trace_bdrv_check_perms_conflict(bs->node_name, a->desc,
                                                    bits, b->desc);
                    perm_conflict(bs, a, b, bits, errp);
                    return false;
                }
            }
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(children); i++) {
        if (children[i] && !bdrv_check_perms(children[i]->bs, errp)) {
            return false;
        }
    }
    return true;
}
