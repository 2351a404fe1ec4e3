/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ranges of guest RAM a dump covers and the ELF core header that
 * describes them (include/dump/elf-core.h has the file layout).
 */
#include <elf.h>
#include <string.h>
#include "dump/elf-core.h"

static gint range_cmp(gconstpointer a, gconstpointer b)
{
    const DumpRange *x = a, *y = b;

    return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

GArray *dump_ranges_collect(const GuestMemory *mem, bool filter,
                            uint64_t begin, uint64_t length)
{
    GArray *ranges = g_array_new(FALSE, FALSE, sizeof(DumpRange));
    /* The filter's end, saturated: QEMU takes length -1 as "to the end". */
    uint64_t end = length > UINT64_MAX - begin ? UINT64_MAX : begin + length;
    g_autoptr(GArray) blocks = g_array_new(FALSE, FALSE, sizeof(DumpRange));

    for (unsigned i = 0; i < mem->nr_blocks; i++) {
        DumpRange r = { mem->blocks[i].gpa, mem->blocks[i].size };

        g_array_append_val(blocks, r);
    }
    g_array_sort(blocks, range_cmp);
    for (guint i = 0; i < blocks->len; i++) {
        DumpRange r = g_array_index(blocks, DumpRange, i);
        uint64_t lo = r.gpa, hi = r.gpa + r.size;

        if (filter) {
            lo = MAX(lo, begin);
            hi = MIN(hi, end);
            if (lo >= hi) {
                continue;
            }
        }
        /* A block that starts where the last range ends extends it. */
        if (ranges->len) {
            DumpRange *last = &g_array_index(ranges, DumpRange,
                                             ranges->len - 1);
            if (last->gpa + last->size == lo) {
                last->size += hi - lo;
                continue;
            }
        }
        g_array_append_val(ranges, ((DumpRange){ lo, hi - lo }));
    }
    return ranges;
}

uint64_t dump_ranges_total(const GArray *ranges)
{
    uint64_t total = 0;

    for (guint i = 0; i < ranges->len; i++) {
        total += g_array_index(ranges, DumpRange, i).size;
    }
    return total;
}

static void append_padded(GByteArray *out, const void *data, size_t len)
{
    static const uint8_t zeros[4];

    g_byte_array_append(out, data, len);
    g_byte_array_append(out, zeros, (4 - len % 4) % 4);
}

void elf_note_append(GByteArray *notes, const char *name, uint32_t type,
                     const void *desc, size_t desc_size)
{
    /* namesz counts the name's NUL; the padding is not counted. */
    Elf64_Nhdr nhdr = {
        .n_namesz = strlen(name) + 1,
        .n_descsz = desc_size,
        .n_type = type,
    };

    g_byte_array_append(notes, (const uint8_t *)&nhdr, sizeof(nhdr));
    append_padded(notes, name, nhdr.n_namesz);
    append_padded(notes, desc, desc_size);
}

GByteArray *elf_core_header(const GArray *ranges, const GByteArray *notes)
{
    unsigned phnum = 1 + ranges->len;
    uint64_t notes_off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
    uint64_t data_off = notes_off + notes->len;
    GByteArray *out = g_byte_array_sized_new(data_off);
    Elf64_Ehdr ehdr = {
        .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
                     ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV },
        .e_type = ET_CORE,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = phnum,
        .e_shstrndx = SHN_UNDEF,
    };
    Elf64_Phdr note = {
        .p_type = PT_NOTE,
        .p_offset = notes_off,
        .p_filesz = notes->len,
        .p_memsz = notes->len,
    };

    /* The pc has two RAM blocks; PN_XNUM program headers would need
     * the section-header escape, which nothing here comes near. */
    g_assert(ranges->len >= 1 && phnum < PN_XNUM);
    g_byte_array_append(out, (const uint8_t *)&ehdr, sizeof(ehdr));
    g_byte_array_append(out, (const uint8_t *)&note, sizeof(note));
    for (guint i = 0; i < ranges->len; i++) {
        const DumpRange *r = &g_array_index(ranges, DumpRange, i);
        Elf64_Phdr load = {
            .p_type = PT_LOAD,
            .p_offset = data_off,
            .p_vaddr = r->gpa,
            .p_paddr = r->gpa,
            .p_filesz = r->size,
            .p_memsz = r->size,
        };

        g_byte_array_append(out, (const uint8_t *)&load, sizeof(load));
        data_off += r->size;
    }
    g_byte_array_append(out, notes->data, notes->len);
    return out;
}
