/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Multiboot v1 loader (the Multiboot Specification 0.6.96): finds the
 * header in the first 8 KiB, loads an ELF32 image by its program headers
 * or an a.out-kludge image by the header's addresses, then builds the
 * multiboot information structure (memory sizes, command line, memory
 * map, modules from -initrd, boot loader name) in the page after the
 * image, and starts the boot vCPU in flat 32-bit protected mode with
 * EAX = 0x2BADB002 and EBX = the information structure.
 *
 * The image is hostile input: every offset and size is checked against
 * the file and against guest RAM before anything is copied.
 */
#include <elf.h>
#include <string.h>
#include "hw/core/loader.h"
#include "hw/i386/boot.h"
#include "trace.h"

#define MB_HEADER_MAGIC     0x1badb002u
#define MB_BOOT_MAGIC       0x2badb002u
#define MB_SEARCH_LIMIT     8192

#define MB_HFLAG_ALIGN_MODS (1u << 0)
#define MB_HFLAG_MEMINFO    (1u << 1)
#define MB_HFLAG_VIDEO      (1u << 2)
#define MB_HFLAG_AOUT_KLUDGE (1u << 16)
/* Bits 0-15 the loader must understand or refuse. */
#define MB_HFLAG_REQUIRED_MASK 0x0000ffffu
#define MB_HFLAG_KNOWN (MB_HFLAG_ALIGN_MODS | MB_HFLAG_MEMINFO | MB_HFLAG_VIDEO)

#define MBI_FLAG_MEM        (1u << 0)
#define MBI_FLAG_CMDLINE    (1u << 2)
#define MBI_FLAG_MODS       (1u << 3)
#define MBI_FLAG_MMAP       (1u << 6)
#define MBI_FLAG_LOADER_NAME (1u << 9)

/* The header as it sits in the image. */
typedef struct __attribute__((packed)) MultibootHeader {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
} MultibootHeader;

/*
 * The information structure we build (fields up to boot_loader_name).
 * All 32-bit fields, so naturally packed; the assert guards the layout.
 */
typedef struct MultibootInfo {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;      /* KiB below 640K / above 1M */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
} MultibootInfo;
_Static_assert(sizeof(MultibootInfo) == 68, "multiboot info layout");

typedef struct __attribute__((packed)) MultibootMmapEntry {
    uint32_t size;                      /* of the rest: 20 */
    uint64_t addr, len;
    uint32_t type;
} MultibootMmapEntry;

typedef struct MultibootModule {
    uint32_t mod_start, mod_end, string, reserved;
} MultibootModule;
_Static_assert(sizeof(MultibootModule) == 16, "multiboot module layout");

static const MultibootHeader *multiboot_find_header(const uint8_t *image,
                                                    size_t size,
                                                    size_t *offset)
{
    size_t limit = MIN(size, (size_t)MB_SEARCH_LIMIT);

    for (size_t off = 0; off + sizeof(MultibootHeader) <= limit; off += 4) {
        const MultibootHeader *h = (const void *)(image + off);
        if (h->magic == MB_HEADER_MAGIC &&
            (uint32_t)(h->magic + h->flags + h->checksum) == 0) {
            *offset = off;
            return h;
        }
    }
    return NULL;
}

bool multiboot_probe(const uint8_t *image, size_t size)
{
    size_t off;

    return multiboot_find_header(image, size, &off) != NULL;
}

/* [addr, addr + len) must be RAM below 4 GiB, where 32-bit code reaches. */
static bool multiboot_check_dest(const X86BootInput *in, uint64_t addr,
                                 uint64_t len, const char *what,
                                 Error **errp)
{
    if (addr + len > 0x100000000ULL || addr + len < addr ||
        !guest_memory_host_ptr(in->mem, addr, len ? len : 1)) {
        error_setg(errp, "multiboot: %s at 0x%" G_GINT64_MODIFIER "x+0x%"
                   G_GINT64_MODIFIER "x is outside guest RAM (%"
                   G_GUINT64_FORMAT " MiB)", what, addr, len,
                   in->ram_size >> 20);
        return false;
    }
    return true;
}

/* Loads PT_LOAD segments; returns the highest guest address used. */
static bool multiboot_load_elf(const X86BootInput *in, const uint8_t *image,
                               size_t size, uint64_t *entry, uint64_t *end,
                               Error **errp)
{
    const Elf32_Ehdr *eh = (const void *)image;

    if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
        error_setg(errp, "multiboot: not an ELF file and no address fields "
                   "in the header (flag 16)");
        return false;
    }
    if (eh->e_ident[EI_CLASS] != ELFCLASS32) {
        error_setg(errp, "multiboot: 64-bit ELF is not multiboot; link a "
                   "32-bit ELF (objcopy -O elf32-i386) or set flag 16");
        return false;
    }
    if (eh->e_machine != EM_386 || eh->e_phentsize != sizeof(Elf32_Phdr) ||
        eh->e_phoff >= size ||
        (size - eh->e_phoff) / sizeof(Elf32_Phdr) < eh->e_phnum) {
        error_setg(errp, "multiboot: malformed ELF header (machine %u, %u "
                   "program headers at 0x%x)", eh->e_machine, eh->e_phnum,
                   eh->e_phoff);
        return false;
    }
    *end = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf32_Phdr *ph = (const void *)(image + eh->e_phoff +
                                              i * sizeof(Elf32_Phdr));
        if (ph->p_type != PT_LOAD || !ph->p_memsz) {
            continue;
        }
        if (ph->p_filesz > ph->p_memsz || ph->p_offset > size ||
            ph->p_filesz > size - ph->p_offset) {
            error_setg(errp, "multiboot: ELF segment %u exceeds the file", i);
            return false;
        }
        if (!multiboot_check_dest(in, ph->p_paddr, ph->p_memsz, "segment",
                                  errp) ||
            !guest_memory_write(in->mem, ph->p_paddr, image + ph->p_offset,
                                ph->p_filesz, errp) ||
            !guest_memory_fill(in->mem, ph->p_paddr + ph->p_filesz, 0,
                               ph->p_memsz - ph->p_filesz, errp)) {
            return false;
        }
        trace_multiboot_segment(ph->p_paddr, ph->p_filesz, ph->p_memsz);
        *end = MAX(*end, (uint64_t)ph->p_paddr + ph->p_memsz);
    }
    if (!*end) {
        error_setg(errp, "multiboot: ELF has nothing to load");
        return false;
    }
    *entry = eh->e_entry;
    return true;
}

/* The a.out kludge: the header says where the file goes. */
static bool multiboot_load_kludge(const X86BootInput *in,
                                  const MultibootHeader *h, size_t h_off,
                                  const uint8_t *image, size_t size,
                                  uint64_t *entry, uint64_t *end,
                                  Error **errp)
{
    uint64_t file_start, load_len, mem_end;

    if (h->load_addr > h->header_addr ||
        h->header_addr - h->load_addr > h_off) {
        error_setg(errp, "multiboot: header addresses are inconsistent");
        return false;
    }
    file_start = h_off - (h->header_addr - h->load_addr);
    load_len = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr
                                : size - file_start;
    if (h->load_end_addr && h->load_end_addr < h->load_addr) {
        error_setg(errp, "multiboot: load_end_addr below load_addr");
        return false;
    }
    if (load_len > size - file_start) {
        error_setg(errp, "multiboot: image is shorter than its header says");
        return false;
    }
    mem_end = h->bss_end_addr ? h->bss_end_addr : h->load_addr + load_len;
    if (mem_end < h->load_addr + load_len) {
        error_setg(errp, "multiboot: bss_end_addr below the loaded image");
        return false;
    }
    if (!multiboot_check_dest(in, h->load_addr, mem_end - h->load_addr,
                              "image", errp) ||
        !guest_memory_write(in->mem, h->load_addr, image + file_start,
                            load_len, errp) ||
        !guest_memory_fill(in->mem, h->load_addr + load_len, 0,
                           mem_end - h->load_addr - load_len, errp)) {
        return false;
    }
    *entry = h->entry_addr;
    *end = mem_end;
    return true;
}

/* A bump allocator for boot information above the image. */
typedef struct MbiAlloc {
    uint64_t next;
} MbiAlloc;

static uint64_t mbi_alloc(MbiAlloc *a, uint64_t size, uint64_t align)
{
    uint64_t addr = (a->next + align - 1) & ~(align - 1);

    a->next = addr + size;
    return addr;
}

static bool mbi_put(const X86BootInput *in, MbiAlloc *a, const void *data,
                    uint64_t size, uint64_t align, uint32_t *addr_out,
                    Error **errp)
{
    uint64_t addr = mbi_alloc(a, size, align);

    if (!multiboot_check_dest(in, addr, size, "boot information", errp)) {
        return false;
    }
    *addr_out = addr;
    return guest_memory_write(in->mem, addr, data, size, errp);
}

/* -initrd "file1 args,file2" -> modules, each page aligned. */
static bool multiboot_load_modules(const X86BootInput *in, MbiAlloc *a,
                                   MultibootInfo *mbi, Error **errp)
{
    g_auto(GStrv) specs = NULL;
    g_autofree MultibootModule *mods = NULL;
    guint n;

    if (!in->initrd_path || !*in->initrd_path) {
        return true;
    }
    specs = g_strsplit(in->initrd_path, ",", -1);
    n = g_strv_length(specs);
    mods = g_new0(MultibootModule, n);
    for (guint i = 0; i < n; i++) {
        const LoaderImageSpec spec = {
            .what = "multiboot module",
            .max_size = in->ram_size,
        };
        g_autofree uint8_t *data = NULL;
        g_auto(GStrv) words = g_strsplit(specs[i], " ", 2);
        size_t len;

        if (!loader_read_image(words[0], &spec, &data, &len, errp)) {
            return false;
        }
        if (!mbi_put(in, a, data, len, GUEST_PAGE_SIZE, &mods[i].mod_start,
                     errp) ||
            !mbi_put(in, a, specs[i], strlen(specs[i]) + 1, 1,
                     &mods[i].string, errp)) {
            return false;
        }
        mods[i].mod_end = mods[i].mod_start + len;
    }
    mbi->flags |= MBI_FLAG_MODS;
    mbi->mods_count = n;
    return mbi_put(in, a, mods, n * sizeof(*mods), 4, &mbi->mods_addr, errp);
}

static bool multiboot_write_info(const X86BootInput *in, uint64_t image_end,
                                 uint32_t *mbi_addr, Error **errp)
{
    MultibootInfo mbi = { .flags = MBI_FLAG_MEM | MBI_FLAG_CMDLINE |
                                   MBI_FLAG_MMAP | MBI_FLAG_LOADER_NAME };
    MbiAlloc a = { .next = image_end };
    static const char loader_name[] = "Tandem";
    MultibootMmapEntry mmap[E820_MAX_ENTRIES];
    uint64_t upper_end = 0x100000;

    /* mem_upper: KiB of RAM from 1 MiB up to the first hole. */
    for (unsigned i = 0; i < in->e820->count; i++) {
        const E820Entry *e = &in->e820->entries[i];
        mmap[i] = (MultibootMmapEntry) {
            .size = sizeof(MultibootMmapEntry) - 4,
            .addr = e->addr, .len = e->size, .type = e->type,
        };
        if (e->type == E820_RAM && e->addr <= upper_end &&
            e->addr + e->size > upper_end) {
            upper_end = e->addr + e->size;
        }
    }
    mbi.mem_lower = 639;
    mbi.mem_upper = MIN((upper_end - 0x100000) >> 10, 0xffffffffULL);

    if (!mbi_put(in, &a, in->cmdline, strlen(in->cmdline) + 1, 1,
                 &mbi.cmdline, errp) ||
        !mbi_put(in, &a, loader_name, sizeof(loader_name), 1,
                 &mbi.boot_loader_name, errp) ||
        !mbi_put(in, &a, mmap, in->e820->count * sizeof(mmap[0]), 4,
                 &mbi.mmap_addr, errp) ||
        !multiboot_load_modules(in, &a, &mbi, errp)) {
        return false;
    }
    mbi.mmap_length = in->e820->count * sizeof(mmap[0]);
    return mbi_put(in, &a, &mbi, sizeof(mbi), 8, mbi_addr, errp);
}

bool multiboot_load(const X86BootInput *in, const uint8_t *image, size_t size,
                    X86BootState *boot, Error **errp)
{
    size_t h_off;
    const MultibootHeader *h = multiboot_find_header(image, size, &h_off);
    uint64_t entry, end;
    uint32_t mbi_addr;
    uint32_t unknown;

    if (!h) {
        error_setg(errp, "multiboot: no multiboot header");
        return false;
    }
    unknown = h->flags & MB_HFLAG_REQUIRED_MASK & ~MB_HFLAG_KNOWN;
    if (unknown) {
        error_setg(errp, "multiboot: image requires unsupported features "
                   "(flags 0x%x)", unknown);
        return false;
    }
    if (h->flags & MB_HFLAG_AOUT_KLUDGE) {
        if (h_off + sizeof(*h) > size) {
            error_setg(errp, "multiboot: header truncated");
            return false;
        }
        if (!multiboot_load_kludge(in, h, h_off, image, size, &entry, &end,
                                   errp)) {
            return false;
        }
    } else if (!multiboot_load_elf(in, image, size, &entry, &end, errp)) {
        return false;
    }
    if (!multiboot_write_info(in, (end + GUEST_PAGE_SIZE - 1) &
                                  ~(GUEST_PAGE_SIZE - 1), &mbi_addr, errp)) {
        return false;
    }
    *boot = (X86BootState) {
        .mode = X86_BOOT_PROTECTED_FLAT32,
        .rip = entry,
        .rax = MB_BOOT_MAGIC,
        .rbx = mbi_addr,
    };
    trace_multiboot_load(entry, end, mbi_addr);
    return true;
}
