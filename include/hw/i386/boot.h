/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a kernel loader hands the machine: where the boot vCPU starts and in
 * which mode. Loaders fill guest memory (page tables, GDT, boot info) and
 * this struct; the machine applies it to vCPU 0 with x86_cpu_set_boot_state().
 * Application processors stay in wait-for-SIPI, as after power-on.
 */
#ifndef HW_I386_BOOT_H
#define HW_I386_BOOT_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/i386/e820.h"
#include "system/memory.h"
#include "util/error.h"

typedef enum X86BootMode {
    /* 32-bit protected mode, paging off, flat 4 GiB CS/DS (multiboot). */
    X86_BOOT_PROTECTED_FLAT32,
    /* 64-bit long mode with paging at cr3 (Linux 64-bit boot protocol). */
    X86_BOOT_LONG64,
} X86BootMode;

typedef struct X86BootState {
    X86BootMode mode;
    uint64_t rip;
    uint64_t rsp;
    uint64_t rax, rbx, rsi;
    /* LONG64 only: */
    uint64_t cr3;           /* PML4 the loader wrote to guest memory */
    uint64_t gdt_base;      /* GDT the loader wrote */
    uint16_t gdt_limit;
    uint16_t cs_selector;   /* 64-bit code descriptor in that GDT */
    uint16_t ds_selector;   /* flat data descriptor */
} X86BootState;

/* What every loader is given. */
typedef struct X86BootInput {
    GuestMemory *mem;
    const E820Table *e820;
    uint64_t ram_size;      /* total guest RAM in bytes */
    unsigned smp_cpus;
    const char *kernel_path;
    const char *initrd_path;    /* NULL if none */
    const char *cmdline;        /* never NULL; "" if none */
} X86BootInput;

/* multiboot.c: true and *boot filled if the file is a multiboot v1 image. */
bool multiboot_probe(const uint8_t *image, size_t size);
bool multiboot_load(const X86BootInput *in, const uint8_t *image, size_t size,
                    X86BootState *boot, Error **errp);

/* linux-boot.c: x86 bzImage, boot protocol 2.06+, 64-bit entry. */
bool linux_boot_probe(const uint8_t *image, size_t size);
bool linux_boot_load(const X86BootInput *in, const uint8_t *image,
                     size_t size, X86BootState *boot, Error **errp);

/* A PCI interrupt pin and the IOAPIC pin (= ISA IRQ) it is routed to. */
typedef struct MPTablePciIntx {
    uint8_t slot;           /* on PCI bus 0 */
    uint8_t pin;            /* 1-4: INTA#-INTD# */
    uint8_t irq;            /* 0-15 */
} MPTablePciIntx;
/* The most a bus can need: every pin of every slot. */
#define MPTABLE_MAX_PCI_INTX (32 * 4)

/* mptable.c: Intel MP spec 1.4 floating pointer + config table for
 * smp_cpus processors (APIC ids 0..n-1), the ISA bus, one IOAPIC (id n,
 * 0xfec00000) and identity-mapped ISA IRQs 0-15; with PCI pins (nr_pci >
 * 0) also PCI bus 0 and a level-triggered entry per pin, in place of the
 * ISA entries of the IRQs they use. Written in the BIOS area at 0xf0000
 * so the kernel's scan finds it. */
bool mptable_write(GuestMemory *mem, unsigned smp_cpus,
                   const MPTablePciIntx *pci, unsigned nr_pci, Error **errp);

#endif
