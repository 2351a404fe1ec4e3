/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry's insides, shared by savevm.c (registration, saving) and
 * loadvm.c (loading).
 */
#ifndef MIGRATION_SAVEVM_INTERNAL_H
#define MIGRATION_SAVEVM_INTERNAL_H

#include <glib.h>
#include "migration/savevm.h"

typedef struct SaveVMEntry {
    char *idstr;
    uint32_t instance_id;
    uint32_t section_id;        /* source side; the loader maps the peer's */
    int version_id;
    const VMStateDescription *vmsd;     /* device state, or */
    const SaveVMHandlers *ops;          /* a live entry */
    void *opaque;
    bool done;                  /* live: last save_iterate said done */
} SaveVMEntry;

typedef struct LoadVMCommandHandler {
    LoadVMCommandFn fn;
    void *opaque;
} LoadVMCommandHandler;

struct SaveVMState {
    GPtrArray *entries;         /* SaveVMEntry, in registration order */
    uint32_t next_section_id;
    LoadVMCommandHandler cmd_handlers[SAVEVM_CMD__MAX];
    bool expect_channel_end;
    LoadVMChecksumPolicy checksum_policy;
    /* Postcopy recovery (loadvm_set_recover): asked for a new stream
     * when the one being read breaks. */
    LoadVMRecoverFn *recover_fn;
    void *recover_opaque;
    /* Postcopy: device sections held back (loadvm_defer_devices_*). */
    QEMUFile *deferred;
    /* What savevm_state_complete_devices() sent last (json_object array). */
    struct json_object *devices_desc;
};

SaveVMEntry *savevm_find(SaveVMState *s, const char *idstr,
                         uint32_t instance_id);

#endif
