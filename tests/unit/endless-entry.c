/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The never-converging savevm entry (endless-entry.h). */
#include "endless-entry.h"
#include "migration/qemu-file.h"

static bool endless_setup(QEMUFile *f, void *opaque, Error **errp)
{
    qemu_put_be32(f, 0);
    return true;
}

static bool endless_iterate(QEMUFile *f, void *opaque, bool *done,
                            Error **errp)
{
    static uint8_t page[4096];

    for (int i = 0; i < 16; i++) {
        qemu_put_buffer(f, page, sizeof(page));
    }
    *done = false;
    return true;
}

static bool endless_complete(QEMUFile *f, void *opaque, Error **errp)
{
    qemu_put_be32(f, 0);
    return true;
}

static uint64_t endless_pending(void *opaque)
{
    return 1ull << 40;      /* never converges */
}

const SaveVMHandlers endless_entry_ops = {
    .save_setup = endless_setup,
    .save_iterate = endless_iterate,
    .save_complete = endless_complete,
    .save_pending = endless_pending,
};
