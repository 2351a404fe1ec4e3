/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The machine type names; see include/hw/i386/pc-types.h. */
#include <string.h>
#include "hw/i386/pc-types.h"

const PCMachineType pc_machine_types[] = {
    { .name = "pc-i440fx-7.2", .alias = "pc",
      .desc = "Standard PC (i440FX + PIIX, 1996)", .is_default = true },
};
const size_t pc_machine_types_count = sizeof(pc_machine_types) /
                                      sizeof(pc_machine_types[0]);

const PCMachineType *pc_machine_type_find(const char *name)
{
    for (size_t i = 0; i < pc_machine_types_count; i++) {
        const PCMachineType *t = &pc_machine_types[i];

        if (!strcmp(name, t->name) || (t->alias && !strcmp(name, t->alias))) {
            return t;
        }
    }
    return NULL;
}
