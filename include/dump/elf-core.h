/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ELF core file dump-guest-memory writes, as bytes: which guest RAM
 * it covers (one range per PT_LOAD) and everything that precedes that
 * RAM in the file. Pure functions, no I/O: dump.c writes the result and
 * then the RAM, range after range.
 *
 * Layout (ELF gABI; little-endian, as the x86-64 psABI wants):
 *
 *   offset 0          Elf64_Ehdr   ET_CORE, EM_X86_64, ELFCLASS64,
 *                                  e_phoff 64, no section headers
 *   64                Elf64_Phdr[] PT_NOTE, then one PT_LOAD per range
 *                                  in guest-physical order
 *   64 + 56 * phnum   the notes    (each: namesz, descsz, type, name,
 *                                  descriptor; name and descriptor
 *                                  padded to 4 bytes)
 *   after the notes   range 0's bytes, range 1's bytes, ... back to
 *                     back, so range i starts where i - 1 ended
 *
 * PT_NOTE: p_vaddr = p_paddr = 0, p_filesz = p_memsz = the notes' size.
 * PT_LOAD: p_paddr = the range's guest-physical start, p_vaddr = the
 * same (what QEMU 7.2 writes when paging is off: gdb then reads guest
 * memory by its physical address), p_filesz = p_memsz = its size. Both:
 * p_flags 0 and p_align 0, as QEMU writes them.
 */
#ifndef DUMP_ELF_CORE_H
#define DUMP_ELF_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "system/memory.h"

/* Guest-physical [gpa, gpa + size): one PT_LOAD. */
typedef struct DumpRange {
    uint64_t gpa;
    uint64_t size;
} DumpRange;

/*
 * The RAM of mem in guest-physical order, blocks that touch merged into
 * one range; with filter, clipped to [begin, begin + length), which may
 * run past the end of RAM (and past 2^64: it then ends there). An array
 * of DumpRange, empty when nothing is left.
 */
GArray *dump_ranges_collect(const GuestMemory *mem, bool filter,
                            uint64_t begin, uint64_t length);
/* The bytes the ranges cover. */
uint64_t dump_ranges_total(const GArray *ranges);

/* Appends one note to notes (see the layout above). */
void elf_note_append(GByteArray *notes, const char *name, uint32_t type,
                     const void *desc, size_t desc_size);

/*
 * The ELF header, the program headers and the notes for a file whose
 * memory is ranges (at least one), to be followed by that memory.
 */
GByteArray *elf_core_header(const GArray *ranges, const GByteArray *notes);

#endif
