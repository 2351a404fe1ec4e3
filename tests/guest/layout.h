/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: fixed addresses, selectors and the service ABI.
 *
 * Shared by boot.S and the C files, so only preprocessor constants live
 * here.  Everything documented in README.md is defined in this file; keep
 * the two in sync (verify_dirty.py hard-codes the status page offsets too).
 */
#ifndef TG_LAYOUT_H
#define TG_LAYOUT_H

#define TG_LOAD_ADDR        0x00100000  /* multiboot load address (1 MiB) */
#define TG_STATUS_ADDR      0x00200000  /* status page (2 MiB) */
#define TG_WSS_BASE         0x01000000  /* dirty/touch working set (16 MiB) */
#define TG_HEAP_BASE        0x00400000  /* tg_alloc(): rings, buffers, TCP, RESP, disk (4 MiB) */
#define TG_HEAP_END         TG_WSS_BASE /* ...up to 16 MiB (where working sets start) */
#define TG_TRAMP_ADDR       0x00008000  /* AP real-mode trampoline */
#define TG_SIPI_VECTOR      (TG_TRAMP_ADDR >> 12)
#define TG_MAX_CPUS         8

#define TG_KSTACK_SHIFT     12          /* 4 KiB CPL0 stack per CPU */
#define TG_USTACK_SHIFT     14          /* 16 KiB CPL3 stack per CPU */

/* GDT selectors; TSS descriptors (16 bytes each) follow, one per CPU. */
#define SEL_CODE32          0x08
#define SEL_DATA            0x10
#define SEL_KCODE64         0x18
#define SEL_UDATA           0x23        /* 0x20 | RPL 3 */
#define SEL_UCODE64         0x2b        /* 0x28 | RPL 3 */
#define GDT_TSS0            0x30

/* Multiboot v1 */
#define MB_HEADER_MAGIC     0x1BADB002
#define MB_HEADER_FLAGS     0x00000003  /* page-align modules, want mem info */
#define MB_BOOT_MAGIC       0x2BADB002

/*
 * Service ABI: CPL3 executes "ud2" with the service number in rax and
 * arguments in rdi, rsi.  The #UD handler runs the service at CPL0 and
 * returns to the instruction after the ud2 with the result in rax.  It may
 * clobber rax, rcx, rdx, rsi, rdi, r8-r11 and flags (the SysV caller-saved
 * set), which lets the emulated handler skip all register saving.
 */
#define SVC_WRITE           0   /* rdi=buf, rsi=len: bytes to COM1 */
#define SVC_OUTB            1   /* rdi=port, rsi=value */
#define SVC_OUTW            2
#define SVC_OUTL            3
#define SVC_INB             4   /* rdi=port -> rax */
#define SVC_INW             5
#define SVC_INL             6
#define SVC_MMIO_RD32       7   /* rdi=address -> rax */
#define SVC_MMIO_WR32       8   /* rdi=address, rsi=value */
#define SVC_HALT            9   /* cli; hlt forever */
#define SVC_EXIT            10  /* rdi=code: outl(0xf4, code), then halt */
#define SVC_FLUSH_TLB       11  /* reload CR3 after CPL3 edited a page table */
#define SVC_MMIO_RD8        12  /* rdi=address -> rax (zero-extended) */
#define SVC_MMIO_RD16       13
#define SVC_MMIO_WR8        14  /* rdi=address, rsi=value */
#define SVC_MMIO_WR16       15
#define SVC_IRQ_ON          16  /* reload the IDT, return to CPL3 with IF set */
#define SVC_COUNT           17

/*
 * Device interrupts (irq=, dev/irq.c).  The IDT has 256 gates; boot.S
 * fills the 32 exception gates, CPL3 fills the ones below (only with
 * irq=), every other gate stays not-present so a stray vector faults
 * loudly.  Vectors TG_IRQ_VEC_BASE + i, i < TG_IRQ_VECS: 0..15 are MSI-X
 * (8 per device: config, then one per queue), 16..31 are INTx (16 + GSI).
 * The CPL0 stub of vector i adds 1 to the u64 at TG_STATUS_ADDR +
 * TG_IRQ_COUNT_OFF + 8 * i (the status page's irq block).
 */
#define TG_IDT_GATES        256
#define TG_IRQ_VEC_BASE     0x40
#define TG_IRQ_VECS         32
#define TG_IRQ_INTX_FIRST   16      /* index of the first INTx vector (GSI 0) */
#define TG_IRQ_SPURIOUS     0xff    /* LAPIC spurious vector: its stub only returns */
#define TG_IRQ_STUB_SIZE    32      /* bytes between two stubs (irq_stubs in boot.S) */
#define TG_IRQ_COUNT_OFF    0x740
#define TG_APIC_BASE        0xfee00000
#define TG_APIC_EOI         0xb0

#define COM1_BASE           0x3f8
#define DEBUG_EXIT_PORT     0xf4
#define TG_EXIT_CONFIG      2   /* bad command line / wss too large */
#define TG_EXIT_FAULT       3   /* unexpected exception */

#endif
