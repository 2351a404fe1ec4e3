/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block graph: node names, opening a node and its children from QAPI
 * options, references, and the list of all nodes. Graph changes run on the
 * main loop with the BQL held (block/block.h, "Threads").
 *
 * A node is named by the user (node-name, QEMU's rules: a letter first,
 * then letters, digits, '-', '_' and '.', at most 31 characters) or gets a
 * generated "#blockNNN" name, which a user cannot pick (it starts with '#').
 * Children hold a reference to their node; so do BlockBackends and the
 * monitor (blockdev-add). The last reference closes the node.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "block/activation.h"
#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/permission.h"
#include "util/main-loop.h"
#include "trace.h"

/* All nodes, in creation order. Main loop only. */
static GList *all_nodes;
static uint64_t auto_name_counter;

/* Options a child inherits from its parent when it does not set them. */
typedef struct BdrvInherit {
    bool read_only;
    bool direct;
    bool no_flush;
    bool inactive;      /* block/activation.h */
} BdrvInherit;

static const BlockDriver *const drivers[] = {
    &bdrv_file, &bdrv_nbd, &bdrv_null_co, &bdrv_raw, &bdrv_qcow2,
};

const BlockDriver *bdrv_find_driver(const char *format)
{
    for (size_t i = 0; i < G_N_ELEMENTS(drivers); i++) {
        if (!strcmp(drivers[i]->format_name, format)) {
            return drivers[i];
        }
    }
    return NULL;
}

char *bdrv_describe(const BlockDriverState *bs)
{
    if (bs->filename && *bs->filename) {
        return g_strdup_printf("node '%s' (file '%s')", bs->node_name,
                               bs->filename);
    }
    return g_strdup_printf("node '%s'", bs->node_name);
}

static bool node_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 31 || !g_ascii_isalpha(name[0])) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isalnum(name[i]) && !strchr("-_.", name[i])) {
            return false;
        }
    }
    return true;
}

BlockDriverState *bdrv_find_node(const char *node_name)
{
    for (GList *l = all_nodes; l; l = l->next) {
        BlockDriverState *bs = l->data;

        if (!strcmp(bs->node_name, node_name)) {
            return bs;
        }
    }
    return NULL;
}

BlockDriverState *bdrv_find_node_on_file(const char *path)
{
    g_autofree char *want = realpath(path, NULL);

    if (!want) {
        return NULL;        /* does not exist yet: nobody has it open */
    }
    for (GList *l = all_nodes; l; l = l->next) {
        BlockDriverState *bs = l->data;
        const char *f = bdrv_get_filename(bs);
        g_autofree char *have = *f ? realpath(f, NULL) : NULL;

        if (have && !strcmp(have, want)) {
            return bs;
        }
    }
    return NULL;
}

BlockDriverState *bdrv_next_node(BlockDriverState *bs)
{
    GList *l = bs ? g_list_find(all_nodes, bs) : NULL;

    if (!bs) {
        return all_nodes ? all_nodes->data : NULL;
    }
    return l && l->next ? l->next->data : NULL;
}

const char *bdrv_get_node_name(const BlockDriverState *bs)
{
    return bs->node_name;
}

const char *bdrv_get_format_name(const BlockDriverState *bs)
{
    return bs->drv->format_name;
}

const char *bdrv_get_filename(const BlockDriverState *bs)
{
    return bs->filename ? bs->filename : "";
}

BlockDriverState *bdrv_file_bs(const BlockDriverState *bs)
{
    return bs->file ? bs->file->bs : NULL;
}

BlockDriverState *bdrv_backing_bs(const BlockDriverState *bs)
{
    return bs->backing ? bs->backing->bs : NULL;
}

bool bdrv_is_read_only(const BlockDriverState *bs)
{
    return bs->read_only;
}

int bdrv_refcount(const BlockDriverState *bs)
{
    return bs->refcnt;
}

void bdrv_ref(BlockDriverState *bs)
{
    bs->refcnt++;
}

static void bdrv_detach_child(BdrvChild *child)
{
    if (!child) {
        return;
    }
    if (child->bs->refcnt > 1) {
        /*
         * It lives on (a named node): give up what the parent held. The
         * parent is off the node list already, so it no longer counts.
         */
        bdrv_drop_perms(child->bs);
    }
    bdrv_unref(child->bs);
    g_free(child->name);
    g_free(child);
}

void bdrv_unref(BlockDriverState *bs)
{
    if (!bs) {
        return;
    }
    g_assert(bs->refcnt > 0);
    if (--bs->refcnt > 0) {
        return;
    }
    trace_bdrv_close(bs->node_name);
    g_assert(!bs->in_flight);
    if (bs->drv->close) {
        bs->drv->close(bs);
    }
    all_nodes = g_list_remove(all_nodes, bs);
    bdrv_detach_child(bs->backing);
    bdrv_detach_child(bs->file);
    block_acct_destroy(&bs->stats);
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs->node_name);
    g_free(bs);
}

/*
 * Attaches child as parent's "file" or "backing". A writable parent
 * writes its file child, exclusively (a format owns its file's bytes); a
 * backing child is only read.
 */
static bool bdrv_attach_child(BlockDriverState *parent,
                              BlockDriverState *child, const char *name,
                              Error **errp)
{
    bool writes = !parent->read_only && strcmp(name, "backing");
    BdrvChild *c;

    if (writes && child->read_only) {
        g_autofree char *d = bdrv_describe(child);
        error_setg(errp, "%s is read-only and cannot be the '%s' child of "
                   "writable node '%s'", d, name, parent->node_name);
        return false;
    }
    /* An active parent would write (or trust) what the peer owns. */
    if (!parent->inactive && child->inactive) {
        g_autofree char *d = bdrv_describe(child);
        error_setg(errp, "%s is inactive and cannot be the '%s' child of "
                   "active node '%s'", d, name, parent->node_name);
        return false;
    }
    if (writes && bdrv_has_writer(child)) {
        g_autofree char *d = bdrv_describe(child);
        error_setg(errp, "%s already has a writer; node '%s' cannot write "
                   "it too", d, parent->node_name);
        return false;
    }
    c = g_new0(BdrvChild, 1);
    c->name = g_strdup(name);
    c->bs = child;
    c->parent = parent;
    bdrv_ref(child);
    if (!strcmp(name, "backing")) {
        parent->backing = c;
    } else {
        parent->file = c;
    }
    trace_bdrv_attach_child(parent->node_name, name, child->node_name);
    /*
     * The child's other users in this process must allow what the parent
     * takes, and so must other processes (image locking).
     */
    if (!bdrv_check_perms(child, errp) || !bdrv_refresh_perms(child, errp)) {
        /* Unlinked first, so that the detach's refresh leaves it out. */
        if (c == parent->backing) {
            parent->backing = NULL;
        } else {
            parent->file = NULL;
        }
        bdrv_detach_child(c);
        return false;
    }
    return true;
}

bool bdrv_set_backing(BlockDriverState *bs, BlockDriverState *backing,
                      Error **errp)
{
    g_assert(!bs->backing);
    return bdrv_attach_child(bs, backing, "backing", errp);
}

void bdrv_clear_backing(BlockDriverState *bs)
{
    BdrvChild *c = bs->backing;

    /* Unlinked first, so that the detach's refresh leaves it out. */
    bs->backing = NULL;
    bdrv_detach_child(c);
}

void bdrv_child_set_bs(BdrvChild *c, BlockDriverState *to)
{
    BlockDriverState *from = c->bs;

    bdrv_ref(to);
    c->bs = to;
    trace_bdrv_attach_child(c->parent->node_name, c->name, to->node_name);
    bdrv_unref(from);
}

bool bdrv_make_read_only(BlockDriverState *bs, Error **errp)
{
    BlockDriverState *file = bdrv_file_bs(bs);

    if (bs->read_only) {
        return true;
    }
    if (bdrv_has_writer(bs)) {
        g_autofree char *d = bdrv_describe(bs);

        error_setg(errp, "%s still has a writer", d);
        return false;
    }
    if (bdrv_flush(bs, errp) < 0) {
        return false;
    }
    bs->read_only = true;
    /* A writable format wrote its file; a read-only one only reads it. */
    /* As QEMU's reopen, which the file child follows: once nobody
     * writes it, it is read-only too (its fd may stay writable). */
    if (file && !bdrv_has_writer(file)) {
        file->read_only = true;
    }
    trace_bdrv_make_read_only(bs->node_name);
    bdrv_drop_perms(bs);
    return true;
}

/* Undoes the flags bdrv_make_writable() set, then its permissions. */
static void bdrv_undo_writable(BlockDriverState *bs, bool file_was_ro)
{
    BlockDriverState *file = bdrv_file_bs(bs);

    bs->read_only = true;
    if (file) {
        file->read_only = file_was_ro;
    }
    bdrv_drop_perms(bs);
}

bool bdrv_make_writable(BlockDriverState *bs, Error **errp)
{
    BlockDriverState *file = bdrv_file_bs(bs);
    bool file_was_ro = file && file->read_only;

    if (!bs->read_only) {
        return true;
    }
    if (bs->inactive) {
        g_autofree char *d = bdrv_describe(bs);

        error_setg(errp, "%s is inactive (its image is handed over to a "
                   "migration peer): it cannot be made writable", d);
        return false;
    }
    if (bs->force_share) {
        /* force-share=on is for read-only nodes only; QEMU's words. */
        error_setg(errp, "Cannot change the option 'force-share'");
        return false;
    }
    if (!bs->drv->is_format && !bs->drv->make_writable) {
        g_autofree char *d = bdrv_describe(bs);

        error_setg(errp, "%s was opened read-only and driver '%s' cannot "
                   "make it writable", d, bs->drv->format_name);
        return false;
    }
    if (file && bdrv_has_writer(file)) {
        g_autofree char *d = bdrv_describe(file);

        error_setg(errp, "%s already has a writer; node '%s' cannot write "
                   "it too", d, bs->node_name);
        return false;
    }
    /* Nothing may run on the old file descriptor while it is swapped. */
    bdrv_drain_all();
    if (file_was_ro) {
        if (!bdrv_make_writable(file, errp)) {
            return false;
        }
    }
    if (!bs->drv->is_format && !bs->drv->make_writable(bs, errp)) {
        return false;
    }
    bs->read_only = false;
    /* The write lock on the image: another process may hold it. */
    if (!bdrv_refresh_perms(bs, errp)) {
        bdrv_undo_writable(bs, file_was_ro);
        return false;
    }
    /* A format checks (and updates) its header once it may write it. */
    if (bs->drv->is_format && bs->drv->make_writable &&
        !bs->drv->make_writable(bs, errp)) {
        bdrv_undo_writable(bs, file_was_ro);
        return false;
    }
    trace_bdrv_make_writable(bs->node_name);
    return true;
}

static BlockDriverState *bdrv_open_inherit(const BlockdevOptions *opts,
                                           const BdrvInherit *inherit,
                                           Error **errp);

/* Opens (or looks up) a child from its reference and attaches it. */
static bool bdrv_open_child_ref(BlockDriverState *parent,
                                const BlockdevRef *ref, const char *name,
                                const BdrvInherit *inherit, Error **errp)
{
    BlockDriverState *child;
    bool ok;

    if (ref->type == QTYPE_QSTRING) {
        child = bdrv_find_node(ref->u.reference);
        if (!child) {
            error_setg(errp, "Cannot find device='' nor node-name='%s'",
                       ref->u.reference);
            return false;
        }
        bdrv_ref(child);
    } else {
        BdrvInherit ci = *inherit;

        if (!strcmp(name, "backing")) {
            ci.read_only = true;
        }
        child = bdrv_open_inherit(ref->u.definition, &ci, errp);
        if (!child) {
            return false;
        }
    }
    ok = bdrv_attach_child(parent, child, name, errp);
    bdrv_unref(child);
    return ok;
}

static const BlockdevRef *format_file_ref(const BlockdevOptions *opts)
{
    switch (opts->driver) {
    case BLOCKDEV_DRIVER_RAW:
        return opts->u.raw.file;
    case BLOCKDEV_DRIVER_QCOW2:
        return opts->u.qcow2.file;
    default:
        return NULL;
    }
}

static char *auto_node_name(void)
{
    /* Like QEMU: a counter and two random digits, so nobody relies on it. */
    return g_strdup_printf("#block%" G_GUINT64_FORMAT "%02u",
                           ++auto_name_counter,
                           (unsigned)g_random_int_range(0, 100));
}

static bool bdrv_check_new_name(const char *name, Error **errp)
{
    if (!node_name_valid(name)) {
        error_setg(errp, "Invalid node-name: '%s'", name);
        return false;
    }
    if (bdrv_find_node(name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        return false;
    }
    if (blk_by_name(name)) {
        error_setg(errp, "node-name=%s is conflicting with a device id",
                   name);
        return false;
    }
    return true;
}

static BlockDriverState *bdrv_open_inherit(const BlockdevOptions *opts,
                                           const BdrvInherit *inherit,
                                           Error **errp)
{
    ERRP_GUARD();
    const BlockDriver *drv = bdrv_find_driver(BlockdevDriver_str(opts->driver));
    BlockDriverState *bs;
    BdrvInherit mine;

    if (!drv) {
        error_setg(errp, "Unknown driver '%s'",
                   BlockdevDriver_str(opts->driver));
        return NULL;
    }
    if (opts->node_name && !bdrv_check_new_name(opts->node_name, errp)) {
        return NULL;
    }
    if (opts->has_detect_zeroes &&
        opts->detect_zeroes != BLOCKDEV_DETECT_ZEROES_OPTIONS_OFF) {
        error_setg(errp, "detect-zeroes=%s is not supported",
                   BlockdevDetectZeroesOptions_str(opts->detect_zeroes));
        return NULL;
    }

    mine.read_only = opts->has_read_only ? opts->read_only
                                         : inherit->read_only;
    mine.direct = opts->cache && opts->cache->has_direct
                  ? opts->cache->direct : inherit->direct;
    mine.no_flush = opts->cache && opts->cache->has_no_flush
                    ? opts->cache->no_flush : inherit->no_flush;
    mine.inactive = opts->has_active ? !opts->active : inherit->inactive;
    if (opts->has_force_share && opts->force_share && !mine.read_only) {
        error_setg(errp, "force-share=on can only be used with "
                   "read-only images");
        return NULL;
    }

    bs = g_new0(BlockDriverState, 1);
    bs->drv = drv;
    bs->refcnt = 1;
    bs->read_only = mine.read_only;
    bs->force_share = opts->has_force_share && opts->force_share;
    bs->discard_unmap = opts->has_discard &&
                        opts->discard == BLOCKDEV_DISCARD_OPTIONS_UNMAP;
    bs->cache_direct = mine.direct;
    bs->cache_no_flush = mine.no_flush;
    bs->inactive = mine.inactive;
    bs->request_alignment = 1;
    bs->node_name = opts->node_name ? g_strdup(opts->node_name)
                                    : auto_node_name();
    bs->auto_named = !opts->node_name;
    bs->opaque = g_malloc0(drv->instance_size ? drv->instance_size : 1);
    block_acct_init(&bs->stats);
    /* Listed from the start, so children and errors can find the name. */
    all_nodes = g_list_append(all_nodes, bs);

    if (drv->is_format) {
        if (!bdrv_open_child_ref(bs, format_file_ref(opts), "file", &mine,
                                 errp)) {
            goto fail;
        }
        bs->filename = g_strdup(bdrv_get_filename(bs->file->bs));
    }
    if (!drv->open(bs, opts, errp)) {
        goto fail;
    }
    if (drv->supports_backing) {
        const BlockdevRefOrNull *b = opts->u.qcow2.backing;

        if (!b) {
            if (drv->open_default_backing &&
                !drv->open_default_backing(bs, errp)) {
                goto fail_opened;
            }
        } else if (b->type != QTYPE_QNULL) {
            BlockdevRef ref = { .type = b->type };

            if (b->type == QTYPE_QSTRING) {
                ref.u.reference = b->u.reference;
            } else {
                ref.u.definition = b->u.definition;
            }
            if (!bdrv_open_child_ref(bs, &ref, "backing", &mine, errp)) {
                goto fail_opened;
            }
        }
    }
    trace_bdrv_open(bs->node_name, drv->format_name, bdrv_get_filename(bs),
                    bs->read_only);
    return bs;

fail_opened:
    if (drv->close) {
        drv->close(bs);
    }
fail:
    if (!strstr(error_get_pretty(*errp), "node '")) {
        g_autofree char *d = bdrv_describe(bs);
        error_prepend(errp, "%s: ", d);
    }
    /* Close without calling close() twice: drop the driver hook. */
    {
        static const BlockDriver closed = { .format_name = "closed" };
        bs->drv = &closed;
    }
    bdrv_unref(bs);
    return NULL;
}

BlockDriverState *bdrv_open_blockdev(const BlockdevOptions *opts,
                                     Error **errp)
{
    BdrvInherit none = { .inactive = bdrv_get_open_inactive() };

    return bdrv_open_inherit(opts, &none, errp);
}

/* "QFI\xfb" at offset 0: qcow2; anything else is raw. */
static const char *probe_format(BlockDriverState *file)
{
    unsigned char magic[4];

    if (bdrv_pread(file, 0, sizeof(magic), magic, NULL) == 0 &&
        !memcmp(magic, "QFI\xfb", 4)) {
        return "qcow2";
    }
    return "raw";
}

bool bdrv_open_backing_file(BlockDriverState *bs, const char *filename,
                            const char *fmt, Error **errp)
{
    ERRP_GUARD();
    g_autofree char *path = NULL;
    BlockdevOptions file_opts = { .driver = BLOCKDEV_DRIVER_FILE };
    BlockdevOptions fmt_opts = { 0 };
    BlockdevRef file_ref = { .type = QTYPE_QSTRING };
    BdrvInherit inherit = { .read_only = true, .direct = bs->cache_direct,
                            .no_flush = bs->cache_no_flush,
                            .inactive = bs->inactive };
    BlockDriverState *file, *backing;
    bool ok;

    if (g_path_is_absolute(filename) || !bs->filename) {
        path = g_strdup(filename);
    } else {
        g_autofree char *dir = g_path_get_dirname(bs->filename);
        path = g_build_filename(dir, filename, NULL);
    }
    file_opts.u.file.filename = path;
    file = bdrv_open_inherit(&file_opts, &inherit, errp);
    if (!file) {
        error_prepend(errp, "Could not open backing file: ");
        return false;
    }
    if (!fmt) {
        fmt = probe_format(file);
    }
    if (!BlockdevDriver_parse(fmt, &fmt_opts.driver) ||
        !bdrv_find_driver(fmt) || !bdrv_find_driver(fmt)->is_format) {
        error_setg(errp, "Unknown backing file format '%s' for '%s'", fmt,
                   path);
        bdrv_unref(file);
        return false;
    }
    file_ref.u.reference = (char *)file->node_name;
    if (fmt_opts.driver == BLOCKDEV_DRIVER_RAW) {
        fmt_opts.u.raw.file = &file_ref;
    } else {
        fmt_opts.u.qcow2.file = &file_ref;
    }
    backing = bdrv_open_inherit(&fmt_opts, &inherit, errp);
    bdrv_unref(file);
    if (!backing) {
        error_prepend(errp, "Could not open backing file: ");
        return false;
    }
    ok = bdrv_attach_child(bs, backing, "backing", errp);
    bdrv_unref(backing);
    return ok;
}

void bdrv_drain_all(void)
{
    for (;;) {
        bool busy = false;

        for (GList *l = all_nodes; l; l = l->next) {
            BlockDriverState *bs = l->data;

            busy |= g_atomic_int_get(&bs->in_flight) > 0;
        }
        if (!busy) {
            return;
        }
        main_loop_wait(true);
    }
}
