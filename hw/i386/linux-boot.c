/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Direct boot of an x86 Linux bzImage through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol", and
 * zero-page.rst). There is no firmware and no real-mode setup code: we do
 * what the setup code would have done ourselves. The protected-mode part
 * of the image is copied to its load address, a struct boot_params ("zero
 * page") is built from the image's setup header plus the command line, the
 * initrd and the machine's E820 map, and the boot vCPU is started in long
 * mode at the kernel's 64-bit entry point (load address + 0x200) with %rsi
 * pointing at the zero page, a GDT holding __BOOT_CS/__BOOT_DS and identity
 * page tables covering the first 4 GiB. (The MP table, mptable.c, is
 * written by the machine for every kind of kernel, not here.)
 *
 * Fixed low-memory layout (all below the 640 KiB EBDA and the 0xf0000 BIOS
 * area, which holds the MP table):
 *
 *   0x06000 - 0x06fff  boot stack (grows down from 0x7000)
 *   0x07000 - 0x07fff  zero page (struct boot_params)
 *   0x08000 - 0x0801f  GDT
 *   0x09000 - 0x0efff  PML4, PDPT, 4 page directories of 2 MiB pages
 *   0x20000 - 0x2ffff  kernel command line
 *   0x1000000          protected-mode kernel (see choose_load_addr())
 *   top of low RAM     initrd, page aligned, below initrd_addr_max
 */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hw/core/loader.h"
#include "hw/i386/boot.h"
#include "hw/i386/e820.h"
#include "system/memory.h"
#include "util/error.h"

/* ---- Layout ---------------------------------------------------------- */

#define LB_STACK_TOP        0x7000ULL
#define LB_ZERO_PAGE        0x7000ULL
#define LB_GDT              0x8000ULL
#define LB_PGTABLE          0x9000ULL   /* PML4; PDPT and PDs follow */
#define LB_PGTABLE_PAGES    6           /* PML4 + PDPT + 4 PDs */
#define LB_CMDLINE          0x20000ULL
#define LB_CMDLINE_MAX      0x10000ULL  /* bytes reserved, incl. NUL */

/* Loaded at 16 MiB when relocatable: the kernel's own default
 * (CONFIG_PHYSICAL_START) on distribution kernels, clear of the ISA DMA
 * zone, and a multiple of every kernel_alignment seen in practice (2 MiB). */
#define LB_KERNEL_RELOC_ADDR 0x1000000ULL
#define LB_KERNEL_LEGACY_ADDR 0x100000ULL

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

/* ---- Setup header and zero page (boot.rst, zero-page.rst) ------------ */

#define SETUP_HEADER_OFFSET 0x1f1
#define HDRS_MAGIC          0x53726448u     /* "HdrS" little endian */
#define BOOT_FLAG_MAGIC     0xaa55

/* loadflags */
#define LOADED_HIGH         (1u << 0)
#define KEEP_SEGMENTS       (1u << 6)
#define CAN_USE_HEAP        (1u << 7)

/* xloadflags (protocol 2.12+) */
#define XLF_KERNEL_64       (1u << 0)

#define BOOT_PROTO(maj, min) (((maj) << 8) | (min))

typedef struct __attribute__((packed)) SetupHeader {
    uint8_t  setup_sects;
    uint16_t root_flags;
    uint32_t syssize;
    uint16_t ram_size;
    uint16_t vid_mode;
    uint16_t root_dev;
    uint16_t boot_flag;
    uint16_t jump;
    uint32_t header;
    uint16_t version;
    uint32_t realmode_swtch;
    uint16_t start_sys_seg;
    uint16_t kernel_version;
    uint8_t  type_of_loader;
    uint8_t  loadflags;
    uint16_t setup_move_size;
    uint32_t code32_start;
    uint32_t ramdisk_image;
    uint32_t ramdisk_size;
    uint32_t bootsect_kludge;
    uint16_t heap_end_ptr;
    uint8_t  ext_loader_ver;
    uint8_t  ext_loader_type;
    uint32_t cmd_line_ptr;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    uint8_t  relocatable_kernel;
    uint8_t  min_alignment;
    uint16_t xloadflags;
    uint32_t cmdline_size;
    uint32_t hardware_subarch;
    uint64_t hardware_subarch_data;
    uint32_t payload_offset;
    uint32_t payload_length;
    uint64_t setup_data;
    uint64_t pref_address;
    uint32_t init_size;
    uint32_t handover_offset;
    uint32_t kernel_info_offset;
} SetupHeader;

/* Offsets in boot.rst are relative to the start of the image, i.e. the
 * header itself starts at 0x1f1. */
#define HDR_OFF(field) (SETUP_HEADER_OFFSET + offsetof(SetupHeader, field))
_Static_assert(HDR_OFF(setup_sects) == 0x1f1, "setup_sects");
_Static_assert(HDR_OFF(vid_mode) == 0x1fa, "vid_mode");
_Static_assert(HDR_OFF(boot_flag) == 0x1fe, "boot_flag");
_Static_assert(HDR_OFF(jump) == 0x200, "jump");
_Static_assert(HDR_OFF(header) == 0x202, "header");
_Static_assert(HDR_OFF(version) == 0x206, "version");
_Static_assert(HDR_OFF(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(HDR_OFF(loadflags) == 0x211, "loadflags");
_Static_assert(HDR_OFF(ramdisk_image) == 0x218, "ramdisk_image");
_Static_assert(HDR_OFF(ramdisk_size) == 0x21c, "ramdisk_size");
_Static_assert(HDR_OFF(heap_end_ptr) == 0x224, "heap_end_ptr");
_Static_assert(HDR_OFF(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(HDR_OFF(initrd_addr_max) == 0x22c, "initrd_addr_max");
_Static_assert(HDR_OFF(kernel_alignment) == 0x230, "kernel_alignment");
_Static_assert(HDR_OFF(relocatable_kernel) == 0x234, "relocatable_kernel");
_Static_assert(HDR_OFF(xloadflags) == 0x236, "xloadflags");
_Static_assert(HDR_OFF(cmdline_size) == 0x238, "cmdline_size");
_Static_assert(HDR_OFF(setup_data) == 0x250, "setup_data");
_Static_assert(HDR_OFF(pref_address) == 0x258, "pref_address");
_Static_assert(HDR_OFF(init_size) == 0x260, "init_size");
_Static_assert(HDR_OFF(kernel_info_offset) == 0x268, "kernel_info_offset");
_Static_assert(sizeof(SetupHeader) == 0x26c - 0x1f1, "setup header size");

typedef struct __attribute__((packed)) BootE820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} BootE820Entry;
_Static_assert(sizeof(BootE820Entry) == 20, "boot_e820_entry");

#define BOOT_E820_MAX 128

/* struct boot_params; only the fields a 64-bit loader fills are named. */
typedef struct __attribute__((packed)) BootParams {
    uint8_t  screen_info[0x40];             /* 0x000 */
    uint8_t  apm_bios_info[0x14];           /* 0x040 */
    uint8_t  _pad2[4];                      /* 0x054 */
    uint64_t tboot_addr;                    /* 0x058 */
    uint8_t  ist_info[0x10];                /* 0x060 */
    uint64_t acpi_rsdp_addr;                /* 0x070 */
    uint8_t  _pad3[8];                      /* 0x078 */
    uint8_t  hd0_info[16];                  /* 0x080 */
    uint8_t  hd1_info[16];                  /* 0x090 */
    uint8_t  sys_desc_table[0x10];          /* 0x0a0 */
    uint8_t  olpc_ofw_header[0x10];         /* 0x0b0 */
    uint32_t ext_ramdisk_image;             /* 0x0c0 */
    uint32_t ext_ramdisk_size;              /* 0x0c4 */
    uint32_t ext_cmd_line_ptr;              /* 0x0c8 */
    uint8_t  _pad4[112];                    /* 0x0cc */
    uint32_t cc_blob_address;               /* 0x13c */
    uint8_t  edid_info[0x80];               /* 0x140 */
    uint8_t  efi_info[0x20];                /* 0x1c0 */
    uint32_t alt_mem_k;                     /* 0x1e0 */
    uint32_t scratch;                       /* 0x1e4 */
    uint8_t  e820_entries;                  /* 0x1e8 */
    uint8_t  eddbuf_entries;                /* 0x1e9 */
    uint8_t  edd_mbr_sig_buf_entries;       /* 0x1ea */
    uint8_t  kbd_status;                    /* 0x1eb */
    uint8_t  secure_boot;                   /* 0x1ec */
    uint8_t  _pad5[2];                      /* 0x1ed */
    uint8_t  sentinel;                      /* 0x1ef */
    uint8_t  _pad6[1];                      /* 0x1f0 */
    SetupHeader hdr;                        /* 0x1f1 */
    uint8_t  _pad7[0x290 - 0x1f1 - sizeof(SetupHeader)];
    uint32_t edd_mbr_sig_buffer[16];        /* 0x290 */
    BootE820Entry e820_table[BOOT_E820_MAX]; /* 0x2d0 */
    uint8_t  _pad8[48];                     /* 0xcd0 */
    uint8_t  eddbuf[6 * 82];                /* 0xd00 */
    uint8_t  _pad9[276];                    /* 0xeec */
} BootParams;

_Static_assert(offsetof(BootParams, acpi_rsdp_addr) == 0x070, "acpi_rsdp");
_Static_assert(offsetof(BootParams, ext_ramdisk_image) == 0x0c0, "ext_rd");
_Static_assert(offsetof(BootParams, ext_cmd_line_ptr) == 0x0c8, "ext_cmd");
_Static_assert(offsetof(BootParams, alt_mem_k) == 0x1e0, "alt_mem_k");
_Static_assert(offsetof(BootParams, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(BootParams, sentinel) == 0x1ef, "sentinel");
_Static_assert(offsetof(BootParams, hdr) == 0x1f1, "hdr");
_Static_assert(offsetof(BootParams, edd_mbr_sig_buffer) == 0x290, "edd_mbr");
_Static_assert(offsetof(BootParams, e820_table) == 0x2d0, "e820_table");
_Static_assert(offsetof(BootParams, eddbuf) == 0xd00, "eddbuf");
_Static_assert(sizeof(BootParams) == 4096, "boot_params is one page");

/* ---- 64-bit entry state ---------------------------------------------- */

/* Selectors the 64-bit boot protocol requires (boot.rst). */
#define BOOT_CS 0x10
#define BOOT_DS 0x18

/*
 * Descriptors with the accessed bit already set, so the CPU never needs to
 * write back into the GDT page:
 *   code: base 0, limit 0xfffff, G, L (64-bit), P, DPL0, type 0xb (x/r/a)
 *   data: base 0, limit 0xfffff, G, D/B, P, DPL0, type 0x3 (r/w/a)
 */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_DATA   0x00cf93000000ffffULL

/* Page table entry bits. */
#define PTE_P   (1ULL << 0)
#define PTE_RW  (1ULL << 1)
#define PTE_PS  (1ULL << 7)

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
           ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

bool linux_boot_probe(const uint8_t *image, size_t size)
{
    /*
     * Any image carrying the "HdrS" signature is claimed, including ones
     * whose protocol is too old for us: that way linux_boot_load() gets
     * to say "boot protocol 2.04 is too old" instead of the machine
     * reporting an unknown kernel format.
     */
    if (!image || size < HDR_OFF(version) + 2) {
        return false;
    }
    return rd32(image + HDR_OFF(header)) == HDRS_MAGIC;
}

/* True if [addr, addr + len) lies inside one E820 RAM entry. */
static bool e820_range_is_ram(const E820Table *t, uint64_t addr, uint64_t len)
{
    if (len == 0 || addr + len < addr) {
        return false;
    }
    for (unsigned i = 0; i < t->count && i < E820_MAX_ENTRIES; i++) {
        const E820Entry *e = &t->entries[i];
        if (e->type == E820_RAM && addr >= e->addr &&
            addr + len <= e->addr + e->size) {
            return true;
        }
    }
    return false;
}

/*
 * Where the protected-mode kernel goes.
 *
 * A relocatable kernel (protocol 2.05+) may go at any multiple of
 * kernel_alignment; we use 16 MiB whenever the alignment divides it, which
 * is also pref_address on x86-64 distribution kernels, so the decompressor
 * normally does not have to move itself. A non-relocatable kernel must run
 * where it was linked: pref_address (protocol 2.10+), else the classic
 * bzImage address of 1 MiB.
 */
static uint64_t choose_load_addr(const SetupHeader *h)
{
    if (h->version >= BOOT_PROTO(2, 5) && h->relocatable_kernel) {
        uint32_t align = h->kernel_alignment;
        if (align != 0 && (align & (align - 1)) == 0 &&
            LB_KERNEL_RELOC_ADDR % align == 0) {
            return LB_KERNEL_RELOC_ADDR;
        }
        if (h->version >= BOOT_PROTO(2, 10) && h->pref_address >= MiB) {
            return h->pref_address;
        }
        return LB_KERNEL_RELOC_ADDR;
    }
    if (h->version >= BOOT_PROTO(2, 10) && h->pref_address >= MiB) {
        return h->pref_address;
    }
    return LB_KERNEL_LEGACY_ADDR;
}

/*
 * Highest page-aligned address for an initrd of `size` bytes that lies in
 * RAM, ends at or below `limit` and starts at or above `floor`; 0 if none.
 */
static uint64_t place_initrd(const E820Table *t, uint64_t size,
                             uint64_t floor, uint64_t limit)
{
    uint64_t best = 0;

    for (unsigned i = 0; i < t->count && i < E820_MAX_ENTRIES; i++) {
        const E820Entry *e = &t->entries[i];
        uint64_t end = e->addr + e->size;
        uint64_t start;

        if (e->type != E820_RAM || e->size == 0) {
            continue;
        }
        if (end > limit) {
            end = limit;
        }
        if (end < size) {
            continue;
        }
        start = (end - size) & ~(GUEST_PAGE_SIZE - 1);
        if (start < e->addr || start < floor) {
            continue;
        }
        if (start > best) {
            best = start;
        }
    }
    return best;
}

/* GDT and identity page tables for the 64-bit entry. */
static bool write_long_mode_tables(GuestMemory *mem, X86BootState *boot,
                                   Error **errp)
{
    ERRP_GUARD();
    uint64_t gdt[4] = { 0, 0, GDT_CODE64, GDT_DATA };
    g_autofree uint64_t *pt = g_new0(uint64_t, LB_PGTABLE_PAGES * 512);
    uint64_t pml4 = LB_PGTABLE;
    uint64_t pdpt = pml4 + GUEST_PAGE_SIZE;
    uint64_t pd = pdpt + GUEST_PAGE_SIZE;

    _Static_assert(sizeof(gdt) / 8 - 1 == BOOT_DS / 8, "GDT ends at BOOT_DS");

    /*
     * 2 MiB pages rather than 1 GiB ones: they are what every x86-64 CPU
     * (and every shadow-paging hypervisor) supports. The boot protocol
     * only asks for the kernel, zero page and command line to be mapped;
     * the whole first 4 GiB is cheap (4 pages of PDs) and covers all of
     * them wherever they land below 4 GiB.
     */
    pt[0] = pdpt | PTE_P | PTE_RW;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t *pdpt_page = pt + 512;
        uint64_t *pd_page = pt + (2 + i) * 512;

        pdpt_page[i] = (pd + i * GUEST_PAGE_SIZE) | PTE_P | PTE_RW;
        for (unsigned j = 0; j < 512; j++) {
            uint64_t phys = (uint64_t)i * GiB + (uint64_t)j * 2 * MiB;
            pd_page[j] = phys | PTE_P | PTE_RW | PTE_PS;
        }
    }

    if (!guest_memory_write(mem, LB_GDT, gdt, sizeof(gdt), errp) ||
        !guest_memory_write(mem, LB_PGTABLE, pt,
                            LB_PGTABLE_PAGES * GUEST_PAGE_SIZE, errp)) {
        error_prepend(errp, "linux: writing boot page tables: ");
        return false;
    }

    boot->mode = X86_BOOT_LONG64;
    boot->cr3 = pml4;
    boot->gdt_base = LB_GDT;
    boot->gdt_limit = sizeof(gdt) - 1;
    boot->cs_selector = BOOT_CS;
    boot->ds_selector = BOOT_DS;
    return true;
}

/* What the phases of linux_boot_load() find out and hand on. */
typedef struct LinuxLoad {
    const X86BootInput *in;
    const uint8_t *image;
    size_t size;
    BootParams *bp;             /* the zero page being built */
    size_t setup_size;          /* real-mode part of the image: skipped */
    size_t kernel_size;         /* protected-mode part: loaded */
    uint64_t load_addr;         /* where the protected-mode part runs */
    uint64_t kernel_end;        /* end of its span incl. init_size */
    uint64_t initrd_addr;       /* 0: no initrd */
    size_t initrd_size;
} LinuxLoad;

/* We enter at the 64-bit entry point, so the kernel must have one. */
static bool linux_check_64bit_entry(const SetupHeader *h, Error **errp)
{
    if (h->version >= BOOT_PROTO(2, 12)) {
        if (!(h->xloadflags & XLF_KERNEL_64)) {
            error_setg(errp, "linux: kernel has no 64-bit entry point "
                       "(XLF_KERNEL_64 clear in xloadflags 0x%x); "
                       "32-bit kernels are not supported", h->xloadflags);
            return false;
        }
    } else if (!(h->loadflags & LOADED_HIGH)) {
        error_setg(errp, "linux: kernel is not a bzImage "
                   "(LOADED_HIGH clear in loadflags 0x%x)", h->loadflags);
        return false;
    }
    return true;
}

/*
 * Checks the image's setup header and copies it into the zero page; finds
 * where the real-mode setup ends and the protected-mode kernel begins.
 */
static bool linux_read_setup_header(LinuxLoad *l, Error **errp)
{
    const X86BootInput *in = l->in;
    const uint8_t *image = l->image;
    size_t size = l->size;
    SetupHeader *h = &l->bp->hdr;
    size_t hdr_end;

    if (!linux_boot_probe(image, size)) {
        error_setg(errp, "linux: %s is not a bzImage (no \"HdrS\" at 0x202)",
                   in->kernel_path ? in->kernel_path : "kernel");
        return false;
    }
    if (rd16(image + HDR_OFF(version)) < BOOT_PROTO(2, 6)) {
        uint16_t v = rd16(image + HDR_OFF(version));
        error_setg(errp, "linux: boot protocol %u.%02u is too old "
                   "(need 2.06)", v >> 8, v & 0xff);
        return false;
    }

    /*
     * The header ends at 0x202 + the byte at 0x201 (the operand of the
     * short jump at 0x200). Copy that much into the zero page, but never
     * more than the fields we know: newer fields are the kernel's business
     * and the rest of the zero page must stay zeroed.
     */
    hdr_end = 0x202 + (size_t)image[0x201];
    if (hdr_end > size) {
        error_setg(errp, "linux: image truncated: setup header ends at "
                   "0x%zx but the file has only %zu bytes", hdr_end, size);
        return false;
    }
    if (hdr_end > SETUP_HEADER_OFFSET + sizeof(SetupHeader)) {
        hdr_end = SETUP_HEADER_OFFSET + sizeof(SetupHeader);
    }
    if (hdr_end < HDR_OFF(cmdline_size) + 4) {
        error_setg(errp, "linux: setup header is too short (ends at 0x%zx) "
                   "for boot protocol 2.06", hdr_end);
        return false;
    }
    memcpy(h, image + SETUP_HEADER_OFFSET, hdr_end - SETUP_HEADER_OFFSET);

    /* setup_sects == 0 means 4, for compatibility with ancient images. */
    l->setup_size = ((size_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
    if (l->setup_size >= size) {
        error_setg(errp, "linux: image truncated: %zu bytes, but the "
                   "real-mode setup alone is %zu bytes", size, l->setup_size);
        return false;
    }
    l->kernel_size = size - l->setup_size;
    if ((uint64_t)h->syssize * 16 > l->kernel_size) {
        error_setg(errp, "linux: image truncated: protected-mode kernel "
                   "has %zu bytes, header says %llu", l->kernel_size,
                   (unsigned long long)h->syssize * 16);
        return false;
    }

    return linux_check_64bit_entry(h, errp);
}

/* Places the protected-mode kernel and copies it into guest RAM. */
static bool linux_load_kernel(LinuxLoad *l, Error **errp)
{
    ERRP_GUARD();
    const SetupHeader *h = &l->bp->hdr;
    uint64_t load_addr = choose_load_addr(h);
    uint64_t kernel_span = l->kernel_size;

    if (h->version >= BOOT_PROTO(2, 10) && h->init_size > kernel_span) {
        /* The decompressor works in place and needs init_size bytes. */
        kernel_span = h->init_size;
    }
    kernel_span = (kernel_span + GUEST_PAGE_SIZE - 1) &
                  ~(GUEST_PAGE_SIZE - 1);
    /*
     * Our page tables map only the first 4 GiB and code32_start is 32 bits
     * wide; a page-aligned start is the least the decompressor assumes.
     */
    if (load_addr % GUEST_PAGE_SIZE != 0 || load_addr >= 4 * GiB ||
        kernel_span > 4 * GiB - load_addr) {
        error_setg(errp, "linux: kernel must run at 0x%llx and needs "
                   "%llu MiB there; only page-aligned placements below "
                   "4 GiB are supported", (unsigned long long)load_addr,
                   (unsigned long long)(kernel_span >> 20));
        return false;
    }
    l->load_addr = load_addr;
    l->kernel_end = load_addr + kernel_span;
    if (!e820_range_is_ram(l->in->e820, load_addr, kernel_span)) {
        error_setg(errp, "linux: kernel needs RAM at 0x%llx-0x%llx "
                   "(%llu MiB incl. decompression space), guest has "
                   "%llu MiB", (unsigned long long)load_addr,
                   (unsigned long long)l->kernel_end - 1,
                   (unsigned long long)(kernel_span >> 20),
                   (unsigned long long)(l->in->ram_size >> 20));
        return false;
    }
    if (!guest_memory_write(l->in->mem, load_addr, l->image + l->setup_size,
                            l->kernel_size, errp)) {
        error_prepend(errp, "linux: loading kernel: ");
        return false;
    }
    return true;
}

/* Writes the command line where the zero page will point. */
static bool linux_write_cmdline(LinuxLoad *l, Error **errp)
{
    ERRP_GUARD();
    const X86BootInput *in = l->in;
    size_t cmdline_len = strlen(in->cmdline);
    /* cmdline_size excludes the terminating NUL (boot.rst). */
    uint32_t cmdline_max = l->bp->hdr.cmdline_size;

    if (cmdline_max > LB_CMDLINE_MAX - 1) {
        cmdline_max = LB_CMDLINE_MAX - 1;
    }
    if (cmdline_len > cmdline_max) {
        error_setg(errp, "linux: command line is %zu bytes, the kernel "
                   "accepts at most %u", cmdline_len, cmdline_max);
        return false;
    }
    if (!guest_memory_write(in->mem, LB_CMDLINE, in->cmdline,
                            cmdline_len + 1, errp)) {
        error_prepend(errp, "linux: writing command line: ");
        return false;
    }
    return true;
}

/* Reads the initrd, if any, and loads it as high as the kernel allows. */
static bool linux_load_initrd(LinuxLoad *l, Error **errp)
{
    ERRP_GUARD();
    const X86BootInput *in = l->in;
    const SetupHeader *h = &l->bp->hdr;
    const LoaderImageSpec spec = {
        .what = "initrd",
        .max_size = in->ram_size,
    };
    g_autofree uint8_t *initrd = NULL;
    uint64_t limit;

    if (!in->initrd_path) {
        return true;
    }
    if (!loader_read_image(in->initrd_path, &spec, &initrd, &l->initrd_size,
                           errp)) {
        return false;
    }
    /*
     * initrd_addr_max is the highest address the initrd may occupy
     * (inclusive). Keep to 32 bits: ramdisk_image has no high half
     * unless we also used ext_ramdisk_image, which we do not need.
     */
    limit = (uint64_t)h->initrd_addr_max + 1;
    if (limit > 4 * GiB) {
        limit = 4 * GiB;
    }
    l->initrd_addr = l->initrd_size ?
                     place_initrd(in->e820, l->initrd_size, l->kernel_end,
                                  limit) : 0;
    if (l->initrd_size && !l->initrd_addr) {
        error_setg(errp, "linux: initrd '%s' (%llu bytes) does not fit "
                   "in RAM between the kernel (ends 0x%llx) and "
                   "initrd_addr_max 0x%x", in->initrd_path,
                   (unsigned long long)l->initrd_size,
                   (unsigned long long)l->kernel_end, h->initrd_addr_max);
        return false;
    }
    if (l->initrd_size &&
        !guest_memory_write(in->mem, l->initrd_addr, initrd, l->initrd_size,
                            errp)) {
        error_prepend(errp, "linux: loading initrd '%s': ", in->initrd_path);
        return false;
    }
    return true;
}

/*
 * Fills in what a boot loader owns in the setup header, the E820 map and
 * the memory size, and writes the zero page.
 */
static bool linux_write_zero_page(LinuxLoad *l, Error **errp)
{
    ERRP_GUARD();
    const X86BootInput *in = l->in;
    const E820Table *e820 = in->e820;
    BootParams *bp = l->bp;
    SetupHeader *h = &bp->hdr;
    uint64_t ext_k;

    h->type_of_loader = 0xff;           /* undefined/unregistered loader */
    h->loadflags = (h->loadflags & ~KEEP_SEGMENTS) | LOADED_HIGH |
                   CAN_USE_HEAP;
    /* Only the (unused) real-mode setup code reads the heap; point its end
     * just below where that code would have put the command line. */
    h->heap_end_ptr = 0xfe00 - 0x200;
    h->vid_mode = 0xffff;               /* "normal": no video mode switch */
    h->cmd_line_ptr = (uint32_t)LB_CMDLINE;
    h->ramdisk_image = (uint32_t)l->initrd_addr;
    h->ramdisk_size = (uint32_t)l->initrd_size;
    if (h->version >= BOOT_PROTO(2, 9)) {
        h->setup_data = 0;              /* no setup_data chain */
    }
    /* Where the protected-mode code really is, as a 32-bit-protocol
     * loader would record it; the 64-bit entry itself does not read it. */
    h->code32_start = (uint32_t)l->load_addr;

    for (unsigned i = 0; i < e820->count && i < E820_MAX_ENTRIES &&
                         i < BOOT_E820_MAX; i++) {
        bp->e820_table[i].addr = e820->entries[i].addr;
        bp->e820_table[i].size = e820->entries[i].size;
        bp->e820_table[i].type = e820->entries[i].type;
        bp->e820_entries = (uint8_t)(i + 1);
    }
    if (bp->e820_entries == 0) {
        error_setg(errp, "linux: the machine provided no E820 memory map");
        return false;
    }
    /* Extended memory above 1 MiB in KiB, for kernels that look (ours
     * always has E820, so this is informational). */
    ext_k = in->ram_size > MiB ? (in->ram_size - MiB) >> 10 : 0;
    bp->alt_mem_k = ext_k > UINT32_MAX ? UINT32_MAX : (uint32_t)ext_k;

    if (!guest_memory_write(in->mem, LB_ZERO_PAGE, bp, sizeof(*bp), errp)) {
        error_prepend(errp, "linux: writing boot_params: ");
        return false;
    }
    return true;
}

bool linux_boot_load(const X86BootInput *in, const uint8_t *image,
                     size_t size, X86BootState *boot, Error **errp)
{
    g_autofree BootParams *bp = g_new0(BootParams, 1);
    LinuxLoad l = { .in = in, .image = image, .size = size, .bp = bp };

    if (!linux_read_setup_header(&l, errp) ||
        !linux_load_kernel(&l, errp) ||
        !linux_write_cmdline(&l, errp) ||
        !linux_load_initrd(&l, errp) ||
        !linux_write_zero_page(&l, errp)) {
        return false;
    }

    /* The boot vCPU: long mode at the 64-bit entry, %rsi at the zero page. */
    memset(boot, 0, sizeof(*boot));
    if (!write_long_mode_tables(in->mem, boot, errp)) {
        return false;
    }
    boot->rip = l.load_addr + 0x200;    /* 64-bit entry point */
    boot->rsi = LB_ZERO_PAGE;
    boot->rsp = LB_STACK_TOP;
    return true;
}
