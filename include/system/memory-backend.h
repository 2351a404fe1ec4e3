/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memory-backend-ram: guest RAM named by the user (-object
 * memory-backend-ram,id=pc.ram,size=N). Given to the machine with
 * -machine memory-backend=ID, it becomes the machine's RAM: its size is
 * the RAM size (it must agree with -m, if given), its id names the RAM
 * blocks (so libvirt's "pc.ram" keeps the migration stream's block
 * names), and its dump and prealloc properties apply to them. The
 * backing is always Tandem's own (a memfd, include/system/memory.h).
 */
#ifndef SYSTEM_MEMORY_BACKEND_H
#define SYSTEM_MEMORY_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include "system/memory.h"
#include "util/error.h"

#define TYPE_MEMORY_BACKEND "memory-backend"
#define TYPE_MEMORY_BACKEND_RAM "memory-backend-ram"
#define TYPE_MEMORY_BACKEND_FILE "memory-backend-file"

/* What the machine's RAM is to be. */
typedef struct MachineRamSpec {
    char name[24];          /* block name: the backend's id, or default */
    uint64_t size;
    bool dump;              /* in core dumps (MADV_DODUMP/DONTDUMP) */
    bool prealloc;          /* every page allocated before the guest runs */
} MachineRamSpec;

/*
 * Resolves -machine memory-backend=backend_id (NULL: none) against -m
 * (ram_size; ram_size_given: -m was on the command line), with QEMU's
 * errors. Without a backend, no object may take default_id. On success
 * the backend (if any) is marked in use: object-del refuses it.
 */
bool memory_backend_machine_ram(const char *backend_id,
                                const char *default_id, uint64_t ram_size,
                                bool ram_size_given, bool dump_guest_core,
                                MachineRamSpec *out, Error **errp);

/*
 * query-memdev's view of each backend object, in creation order. dump is
 * what applies: the backend's own, or default_dump (the machine's
 * dump-guest-core). The machine's RAM without a backend is the
 * machine's to describe.
 */
typedef struct MemoryBackendInfo {
    const char *id;
    uint64_t size;
    bool dump, prealloc, share;
} MemoryBackendInfo;
void memory_backend_foreach_info(bool default_dump,
                                 void (*fn)(const MemoryBackendInfo *info,
                                            void *opaque),
                                 void *opaque);

/* Applies a spec's dump and prealloc to one block of RAM. */
bool memory_backend_apply(const MachineRamSpec *spec, RamBlock *block,
                          Error **errp);

#endif
