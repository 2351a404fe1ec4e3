/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aio=native when Tandem was built without libaio. */
#include "aio-engine.h"

static void *laio_stub_init(Error **errp)
{
    error_setg(errp, "aio=native is not available: Tandem was built "
               "without libaio");
    return NULL;
}

const AioEngineOps aio_engine_linux_aio = {
    .name = "native",
    .init = laio_stub_init,
};
