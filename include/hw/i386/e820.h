/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine's physical memory map as the firmware would report it with
 * INT 15h/E820. Built once by the pc machine; the multiboot loader turns it
 * into a multiboot memory map, the Linux loader copies it into boot_params.
 */
#ifndef HW_I386_E820_H
#define HW_I386_E820_H

#include <stdint.h>

enum {
    E820_RAM = 1,
    E820_RESERVED = 2,
    E820_ACPI = 3,
    E820_NVS = 4,
    E820_UNUSABLE = 5,
};

#define E820_MAX_ENTRIES 16

typedef struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} E820Entry;

typedef struct E820Table {
    E820Entry entries[E820_MAX_ENTRIES];
    unsigned count;
} E820Table;

/* Appends an entry; entries must be added in address order. */
void e820_add(E820Table *t, uint64_t addr, uint64_t size, uint32_t type);

#endif
