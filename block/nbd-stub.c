/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nbd driver when Tandem was built without libnbd (meson option
 * nbd=disabled, or libnbd-dev missing): the options still parse, opening
 * the node fails with a clear error.
 */
#include "block/block_int.h"

static bool nbd_stub_open(BlockDriverState *bs, const BlockdevOptions *opts,
                          Error **errp)
{
    error_setg(errp, "driver 'nbd' is not available: Tandem was built "
               "without libnbd (install libnbd-dev and reconfigure)");
    return false;
}

const BlockDriver bdrv_nbd = {
    .format_name = "nbd",
    .open = nbd_stub_open,
};
