/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine type names Tandem answers to. There is one machine, the pc
 * that hw/i386/pc.c builds, whose device state and migration stream match
 * QEMU 7.2's pc-i440fx-7.2 (Debian's QEMU migrates to and from it). So
 * that is its name, and `pc` its alias, as in QEMU 7.2. Older versioned
 * names are refused: they promise a different guest ABI (device defaults,
 * CPUID, migration format) that Tandem does not build, and accepting them
 * silently would mislead a user who migrates such a guest from QEMU.
 */
#ifndef HW_I386_PC_TYPES_H
#define HW_I386_PC_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#define PC_MAX_CPUS 255     /* the -smp limit: xAPIC ids, MP table */

typedef struct PCMachineType {
    const char *name;           /* "pc-i440fx-7.2" */
    const char *alias;          /* "pc", or NULL */
    const char *desc;
    bool is_default;
} PCMachineType;

extern const PCMachineType pc_machine_types[];
extern const size_t pc_machine_types_count;

/* By name or alias; NULL for anything else. */
const PCMachineType *pc_machine_type_find(const char *name);

#endif
