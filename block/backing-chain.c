/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Walking a backing chain (include/block/backing-chain.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "block/backing-chain.h"
#include "block/block_int.h"

bool bdrv_chain_contains(BlockDriverState *top, const BlockDriverState *bs)
{
    for (BlockDriverState *n = top; n; n = bdrv_backing_bs(n)) {
        if (n == bs) {
            return true;
        }
    }
    return false;
}

/* name as a path: relative ones from the directory of the image at dir_of. */
static char *resolve(const char *name, const BlockDriverState *dir_of)
{
    g_autofree char *path = NULL;
    g_autofree char *dir = NULL;
    char *real;

    if (g_path_is_absolute(name) || !dir_of->filename) {
        path = g_strdup(name);
    } else {
        dir = g_path_get_dirname(dir_of->filename);
        path = g_build_filename(dir, name, NULL);
    }
    real = realpath(path, NULL);
    return real ? real : g_steal_pointer(&path);
}

BlockDriverState *bdrv_find_backing_image(BlockDriverState *top,
                                          const char *filename)
{
    for (BlockDriverState *p = top; bdrv_backing_bs(p);
         p = bdrv_backing_bs(p)) {
        BlockDriverState *b = bdrv_backing_bs(p);
        const char *header = p->drv->backing_filename
                             ? p->drv->backing_filename(p) : NULL;
        g_autofree char *want = NULL;
        g_autofree char *have = NULL;

        if (!strcmp(filename, bdrv_get_filename(b)) ||
            (header && !strcmp(filename, header))) {
            return b;
        }
        if (!*bdrv_get_filename(b)) {
            continue;
        }
        want = resolve(filename, p);
        have = resolve(bdrv_get_filename(b), p);
        if (!strcmp(want, have)) {
            return b;
        }
    }
    return NULL;
}

BlockDriverState *bdrv_overlay_of(BlockDriverState *top,
                                  const BlockDriverState *base)
{
    for (BlockDriverState *n = top; n; n = bdrv_backing_bs(n)) {
        if (bdrv_backing_bs(n) == base) {
            return n;
        }
    }
    return NULL;
}

int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            uint64_t offset, uint64_t bytes, uint64_t *pnum)
{
    uint64_t n = bytes;

    for (BlockDriverState *bs = top; bs && bs != base;
         bs = bdrv_backing_bs(bs)) {
        int64_t len = bdrv_getlength(bs);
        uint64_t here = 0;
        int st;

        if (len < 0) {
            return (int)len;
        }
        if (offset >= (uint64_t)len) {
            /* The overlays above read zeroes from this node here. */
            *pnum = n;
            return 1;
        }
        st = bdrv_block_status(bs, offset, MIN(n, (uint64_t)len - offset),
                               &here, NULL, NULL);
        if (st < 0) {
            return st;
        }
        if (here == 0) {
            return -EIO;
        }
        if (st & BDRV_BLOCK_ALLOCATED) {
            *pnum = here;
            return 1;
        }
        /* Unallocated here for `here` bytes: the nodes below decide. */
        n = here;
    }
    *pnum = n;
    return 0;
}
