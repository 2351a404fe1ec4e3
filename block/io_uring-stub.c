/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aio=io_uring when Tandem was built without liburing. */
#include "aio-engine.h"

static void *uring_stub_init(Error **errp)
{
    error_setg(errp, "aio=io_uring is not available: Tandem was built "
               "without liburing");
    return NULL;
}

const AioEngineOps aio_engine_io_uring = {
    .name = "io_uring",
    .init = uring_stub_init,
};
