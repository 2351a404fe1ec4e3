/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The x86 boot tables written into guest RAM before the first vCPU runs,
 * checked without /dev/kvm: the MP table (hw/i386/mptable.c: checksums,
 * one entry per CPU, the bus, the IOAPIC and the ISA wiring, and its CPU
 * limits) and the Linux 64-bit boot protocol loader (hw/i386/linux-boot.c)
 * on a synthetic bzImage: where the kernel, command line, initrd and zero
 * page land, the boot vCPU's state, and each refusal of a bad image.
 * Digests of the bytes written pin the exact output, so a restructuring
 * of either writer that changes a byte fails here.
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "hw/i386/boot.h"
#include "hw/i386/e820.h"
#include "system/memory.h"

#define RAM_SIZE        (64 * 1024 * 1024ULL)
#define MPTABLE_BASE    0xf0000ULL
#define ZERO_PAGE       0x7000ULL
#define CMDLINE_GPA     0x20000ULL
#define KERNEL_GPA      0x1000000ULL
#define SETUP_SECTS     4
#define KERNEL_BYTES    (64 * 1024)

typedef struct Guest {
    GuestMemory mem;
    E820Table e820;
} Guest;

static void guest_init(Guest *g)
{
    memset(g, 0, sizeof(*g));
    g_assert_nonnull(guest_memory_add_ram(&g->mem, "pc.ram", 0, RAM_SIZE,
                                          &error_abort));
    e820_add(&g->e820, 0, 0x9fc00, E820_RAM);
    e820_add(&g->e820, 0x9fc00, 0x400, E820_RESERVED);
    e820_add(&g->e820, 0xf0000, 0x10000, E820_RESERVED);
    e820_add(&g->e820, 0x100000, RAM_SIZE - 0x100000, E820_RAM);
}

static uint8_t *guest_bytes(Guest *g, uint64_t gpa, size_t len)
{
    uint8_t *buf = g_malloc(len);

    g_assert_true(guest_memory_read(&g->mem, gpa, buf, len, &error_abort));
    return buf;
}

static char *guest_sha256(Guest *g, uint64_t gpa, size_t len)
{
    g_autofree uint8_t *buf = guest_bytes(g, gpa, len);

    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, buf, len);
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++) {
        s += p[i];
    }
    return s;
}

static uint16_t le16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* ---- MP table ---- */

static void check_mptable(unsigned cpus, const char *sha256)
{
    Guest g;
    g_autofree uint8_t *mpf = NULL;
    g_autofree uint8_t *table = NULL;
    g_autofree char *digest = NULL;
    uint16_t len, count;

    guest_init(&g);
    g_assert_true(mptable_write(&g.mem, cpus, NULL, 0, &error_abort));
    mpf = guest_bytes(&g, MPTABLE_BASE, 16);
    g_assert_cmpmem(mpf, 4, "_MP_", 4);
    g_assert_cmpuint(sum8(mpf, 16), ==, 0);
    g_assert_cmphex(le32(mpf + 4), ==, MPTABLE_BASE + 16);
    g_assert_cmpuint(mpf[9], ==, 4);                /* spec 1.4 */
    table = guest_bytes(&g, MPTABLE_BASE + 16, 44);
    len = le16(table + 4);
    count = le16(table + 34);
    g_free(table);
    table = guest_bytes(&g, MPTABLE_BASE + 16, len);
    g_assert_cmpmem(table, 4, "PCMP", 4);
    g_assert_cmpuint(sum8(table, len), ==, 0);
    g_assert_cmphex(le32(table + 36), ==, 0xfee00000);
    /* cpus processors, the ISA bus, the IOAPIC, 16 I/O interrupts
     * (ExtINT and 15 IRQs: not IRQ2) and 2 local ones. */
    g_assert_cmpuint(count, ==, cpus + 2 + 16 + 2);
    g_assert_cmpuint(len, ==, 44 + cpus * 20 + 8 + 8 + 18 * 8);
    for (unsigned i = 0; i < cpus; i++) {
        const uint8_t *e = table + 44 + i * 20;

        g_assert_cmpuint(e[0], ==, 0);
        g_assert_cmpuint(e[1], ==, i);
        g_assert_cmpuint(e[3], ==, i ? 1 : 3);      /* EN, BSP on cpu 0 */
    }
    /* The IOAPIC takes the id after the last CPU. */
    g_assert_cmpuint(table[44 + cpus * 20 + 8], ==, 2);
    g_assert_cmpuint(table[44 + cpus * 20 + 8 + 1], ==, cpus);
    digest = guest_sha256(&g, MPTABLE_BASE, 16 + len);
    g_test_message("%u CPUs: %s", cpus, digest);
    g_assert_cmpstr(digest, ==, sha256);
    guest_memory_free(&g.mem);
}

static void test_mptable(void)
{
    check_mptable(1, "3bafbe33e74226f1b2993fad54cae0e0"
                     "9b9df0aa5c5b045cae4ec1f7de716f2c");
    check_mptable(2, "5b693080508b8c0c910bcee7f4bb5bc8"
                     "eea4cc1ddcedb3cb6b1de3560a3c0af8");
    check_mptable(254, "be701479950837d59fbed5beea9f5989"
                       "83d101e539462ae0d7e308100391f74d");
}

static void test_mptable_limits(void)
{
    Guest g;
    Error *err = NULL;

    guest_init(&g);
    g_assert_false(mptable_write(&g.mem, 0, NULL, 0, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "mptable: 0 CPUs cannot be described (supported: "
                    "1-254)");
    g_clear_pointer(&err, error_free);
    g_assert_false(mptable_write(&g.mem, 255, NULL, 0, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "mptable: 255 CPUs cannot be described (supported: "
                    "1-254)");
    error_free(err);
    guest_memory_free(&g.mem);
}

/* PCI pins: PCI bus 0 after the ISA bus, one level-triggered entry per
 * pin, and no ISA entry left for the IRQs the pins use. */
static void test_mptable_pci(void)
{
    static const MPTablePciIntx pci[] = {
        { .slot = 2, .pin = 1, .irq = 10 },
        { .slot = 2, .pin = 2, .irq = 11 },
        { .slot = 5, .pin = 1, .irq = 10 },
    };
    static const MPTablePciIntx bad[] = {
        { .slot = 2, .pin = 0, .irq = 10 },
        { .slot = 2, .pin = 5, .irq = 10 },
        { .slot = 32, .pin = 1, .irq = 10 },
        { .slot = 2, .pin = 1, .irq = 16 },
        { .slot = 2, .pin = 1, .irq = 2 },
    };
    const unsigned cpus = 2;
    unsigned ioints = 0, pci_seen = 0;
    g_autofree uint8_t *table = NULL;
    const uint8_t *e;
    uint16_t len, count;
    Error *err = NULL;
    Guest g;

    guest_init(&g);
    g_assert_true(mptable_write(&g.mem, cpus, pci, G_N_ELEMENTS(pci),
                                &error_abort));
    table = guest_bytes(&g, MPTABLE_BASE + 16, 44);
    len = le16(table + 4);
    count = le16(table + 34);
    g_free(table);
    table = guest_bytes(&g, MPTABLE_BASE + 16, len);
    g_assert_cmpuint(sum8(table, len), ==, 0);
    /* CPUs, 2 buses, the IOAPIC, ExtINT + 13 ISA IRQs (not 2, 10, 11),
     * 3 PCI pins, 2 local. */
    g_assert_cmpuint(count, ==, cpus + 3 + 14 + 3 + 2);
    g_assert_cmpuint(len, ==, 44 + cpus * 20 + 2 * 8 + 8 + (14 + 3 + 2) * 8);
    e = table + 44 + cpus * 20;
    g_assert_cmpuint(e[0], ==, 1);
    g_assert_cmpmem(e + 2, 6, "ISA   ", 6);
    e += 8;
    g_assert_cmpuint(e[0], ==, 1);
    g_assert_cmpuint(e[1], ==, 1);
    g_assert_cmpmem(e + 2, 6, "PCI   ", 6);
    e += 16;                                /* past the IOAPIC */
    for (; e < table + len && e[0] == 3; e += 8, ioints++) {
        if (e[4] == 0) {                    /* ISA */
            g_assert_cmpuint(e[5], !=, 10);
            g_assert_cmpuint(e[5], !=, 11);
            g_assert_cmpuint(le16(e + 2), ==, 0);
            continue;
        }
        g_assert_cmpuint(e[4], ==, 1);
        g_assert_cmpuint(e[1], ==, 0);      /* INT */
        g_assert_cmphex(le16(e + 2), ==, 0x0d);  /* level, active high */
        g_assert_cmphex(e[5], ==, pci[pci_seen].slot << 2 |
                                  (pci[pci_seen].pin - 1));
        g_assert_cmpuint(e[6], ==, cpus);   /* the IOAPIC */
        g_assert_cmpuint(e[7], ==, pci[pci_seen].irq);
        pci_seen++;
    }
    g_assert_cmpuint(ioints, ==, 14 + 3);
    g_assert_cmpuint(pci_seen, ==, 3);

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(mptable_write(&g.mem, cpus, &bad[i], 1, &err));
        g_assert_nonnull(strstr(error_get_pretty(err), "cannot be described"));
        g_clear_pointer(&err, error_free);
    }
    guest_memory_free(&g.mem);
}

/* ---- Linux boot protocol ---- */

/* A bzImage as far as the loader looks: a setup header (protocol 2.15,
 * relocatable, 64-bit entry) and a protected-mode part of known bytes. */
static uint8_t *make_bzimage(size_t *size)
{
    size_t setup = (SETUP_SECTS + 1) * 512;
    uint8_t *img = g_malloc0(setup + KERNEL_BYTES);

    img[0x1f1] = SETUP_SECTS;
    *(uint32_t *)(img + 0x1f4) = KERNEL_BYTES / 16;    /* syssize */
    *(uint16_t *)(img + 0x1fe) = 0xaa55;
    img[0x200] = 0xeb;
    img[0x201] = 0x6a;                  /* header ends at 0x26c */
    memcpy(img + 0x202, "HdrS", 4);
    *(uint16_t *)(img + 0x206) = 0x020f;
    img[0x211] = 0x01;                  /* LOADED_HIGH */
    *(uint32_t *)(img + 0x22c) = 0x7fffffff;           /* initrd_addr_max */
    *(uint32_t *)(img + 0x230) = 0x200000;             /* kernel_alignment */
    img[0x234] = 1;                     /* relocatable */
    *(uint16_t *)(img + 0x236) = 0x1;   /* XLF_KERNEL_64 */
    *(uint32_t *)(img + 0x238) = 2047;  /* cmdline_size */
    *(uint64_t *)(img + 0x258) = 0x1000000;            /* pref_address */
    *(uint32_t *)(img + 0x260) = 0x400000;             /* init_size */
    for (size_t i = 0; i < KERNEL_BYTES; i++) {
        img[setup + i] = (uint8_t)(i * 31 + 5);
    }
    *size = setup + KERNEL_BYTES;
    return img;
}

static bool load(Guest *g, const uint8_t *img, size_t size,
                 const char *cmdline, const char *initrd, X86BootState *boot,
                 Error **errp)
{
    X86BootInput in = {
        .mem = &g->mem,
        .e820 = &g->e820,
        .ram_size = RAM_SIZE,
        .smp_cpus = 1,
        .kernel_path = "bzImage",
        .initrd_path = initrd,
        .cmdline = cmdline,
    };

    return linux_boot_load(&in, img, size, boot, errp);
}

static void test_linux_load(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-x86-boot-XXXXXX", NULL);
    g_autofree char *initrd = g_build_filename(dir, "initrd", NULL);
    g_autofree uint8_t *rd = g_malloc(10000);
    g_autofree uint8_t *img = NULL;
    g_autofree uint8_t *zp = NULL;
    g_autofree uint8_t *back = NULL;
    g_autofree char *digest = NULL;
    X86BootState boot;
    uint32_t rd_addr;
    size_t size;
    Guest g;

    for (size_t i = 0; i < 10000; i++) {
        rd[i] = (uint8_t)(i ^ 0x5a);
    }
    g_assert_true(g_file_set_contents(initrd, (char *)rd, 10000, NULL));
    img = make_bzimage(&size);
    guest_init(&g);
    g_assert_true(load(&g, img, size, "console=ttyS0 quiet", initrd, &boot,
                       &error_abort));

    /* The vCPU enters in long mode at the 64-bit entry point. */
    g_assert_cmpint(boot.mode, ==, X86_BOOT_LONG64);
    g_assert_cmphex(boot.rip, ==, KERNEL_GPA + 0x200);
    g_assert_cmphex(boot.rsi, ==, ZERO_PAGE);
    g_assert_cmphex(boot.rsp, ==, 0x7000);
    g_assert_cmphex(boot.cr3, ==, 0x9000);
    g_assert_cmphex(boot.gdt_base, ==, 0x8000);
    g_assert_cmpuint(boot.gdt_limit, ==, 31);
    g_assert_cmphex(boot.cs_selector, ==, 0x10);
    g_assert_cmphex(boot.ds_selector, ==, 0x18);

    /* The protected-mode part at 16 MiB, the command line at 0x20000. */
    back = guest_bytes(&g, KERNEL_GPA, KERNEL_BYTES);
    g_assert_cmpmem(back, KERNEL_BYTES, img + (SETUP_SECTS + 1) * 512,
                    KERNEL_BYTES);
    g_free(back);
    back = guest_bytes(&g, CMDLINE_GPA, 20);
    g_assert_cmpmem(back, 20, "console=ttyS0 quiet", 20);

    /* The zero page: the header as the loader leaves it, the E820 map. */
    zp = guest_bytes(&g, ZERO_PAGE, 4096);
    g_assert_cmpmem(zp + 0x202, 4, "HdrS", 4);
    g_assert_cmphex(zp[0x210], ==, 0xff);           /* type_of_loader */
    g_assert_cmphex(zp[0x211], ==, 0x81);           /* LOADED_HIGH|HEAP */
    g_assert_cmphex(le32(zp + 0x228), ==, CMDLINE_GPA);
    g_assert_cmphex(le32(zp + 0x214), ==, KERNEL_GPA);  /* code32_start */
    g_assert_cmpuint(zp[0x1e8], ==, 4);             /* e820_entries */
    g_assert_cmphex(le32(zp + 0x2d0 + 3 * 20), ==, 0x100000);
    /* The initrd, page aligned at the top of RAM. */
    rd_addr = le32(zp + 0x218);
    g_assert_cmpuint(le32(zp + 0x21c), ==, 10000);
    g_assert_cmphex(rd_addr % 4096, ==, 0);
    g_assert_cmpuint(rd_addr + 10000, <=, RAM_SIZE);
    g_assert_cmpuint(rd_addr + 10000 + 4096, >, RAM_SIZE);
    g_free(back);
    back = guest_bytes(&g, rd_addr, 10000);
    g_assert_cmpmem(back, 10000, rd, 10000);

    /* Everything below 0x30000: zero page, GDT, page tables, cmdline. */
    digest = guest_sha256(&g, 0, 0x30000);
    g_test_message("low memory: %s", digest);
    g_assert_cmpstr(digest, ==, "c36b03f3b8d152f395b2bb83e9856490"
                    "a4c138444e58908cf3f976dbdd69c276");
    guest_memory_free(&g.mem);
    unlink(initrd);
    rmdir(dir);
}

/* The load fails with an error that starts with want. */
static void expect_refused(uint8_t *img, size_t size, const char *cmdline,
                           const char *initrd, const char *want)
{
    X86BootState boot;
    Error *err = NULL;
    Guest g;

    guest_init(&g);
    g_assert_false(load(&g, img, size, cmdline, initrd, &boot, &err));
    g_assert_nonnull(err);
    if (!g_str_has_prefix(error_get_pretty(err), want)) {
        g_assert_cmpstr(error_get_pretty(err), ==, want);
    }
    error_free(err);
    guest_memory_free(&g.mem);
}

static void test_linux_refusals(void)
{
    size_t size;
    g_autofree uint8_t *good = make_bzimage(&size);
    g_autofree uint8_t *img = g_memdup2(good, size);
    g_autofree char *long_cmdline = g_strnfill(2048, 'x');

    expect_refused(img, 0x300, "", NULL,
                   "linux: image truncated: 768 bytes, but the real-mode "
                   "setup alone is 2560 bytes");
    img[0x202] = 'X';
    expect_refused(img, size, "", NULL,
                   "linux: bzImage is not a bzImage (no \"HdrS\" at 0x202)");
    memcpy(img, good, size);
    *(uint16_t *)(img + 0x206) = 0x0204;
    expect_refused(img, size, "", NULL,
                   "linux: boot protocol 2.04 is too old (need 2.06)");
    memcpy(img, good, size);
    *(uint16_t *)(img + 0x236) = 0;
    expect_refused(img, size, "", NULL,
                   "linux: kernel has no 64-bit entry point (XLF_KERNEL_64 "
                   "clear in xloadflags 0x0); 32-bit kernels are not "
                   "supported");
    memcpy(img, good, size);
    *(uint32_t *)(img + 0x1f4) = KERNEL_BYTES;          /* syssize * 16 */
    expect_refused(img, size, "", NULL,
                   "linux: image truncated: protected-mode kernel has 65536 "
                   "bytes, header says 1048576");
    memcpy(img, good, size);
    *(uint32_t *)(img + 0x260) = 0x8000000;             /* 128 MiB */
    expect_refused(img, size, "", NULL,
                   "linux: kernel needs RAM at 0x1000000-0x8ffffff (128 MiB "
                   "incl. decompression space), guest has 64 MiB");
    expect_refused(good, size, long_cmdline, NULL,
                   "linux: command line is 2048 bytes, the kernel accepts "
                   "at most 2047");
    expect_refused(good, size, "", "/nonexistent/initrd",
                   "could not load initrd '/nonexistent/initrd': No such "
                   "file or directory");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86-boot/mptable", test_mptable);
    g_test_add_func("/x86-boot/mptable-limits", test_mptable_limits);
    g_test_add_func("/x86-boot/mptable-pci", test_mptable_pci);
    g_test_add_func("/x86-boot/linux/load", test_linux_load);
    g_test_add_func("/x86-boot/linux/refusals", test_linux_refusals);
    return g_test_run();
}
