/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: everything that must run at CPL0 or in real mode.
 *
 * On the PVM host, CPL0 and real-mode code is emulated (~3 us per
 * instruction), so this file does the bare minimum: multiboot entry,
 * GDT, 2 MiB identity paging of 4 GiB, long mode, per-CPU TSS, IDT, and
 * then iretq to CPL3 where all real work happens.  The #UD handler doubles
 * as the service entry point (see layout.h for the ABI); every other
 * exception goes to tg_fault() in fault.c.  With irq=, device interrupts
 * come to the tiny counting stubs below (irq_stubs), whose gates CPL3
 * installs (dev/irq.c).  The AP trampoline is also
 * here; CPL3 code copies it to TG_TRAMP_ADDR before sending SIPIs.
 */
#include "layout.h"

#define CR0_PE      (1 << 0)
#define CR0_NW      (1 << 29)
#define CR0_CD      (1 << 30)
#define CR0_PG      (1 << 31)
#define CR4_PAE     (1 << 5)
#define MSR_EFER    0xc0000080
#define EFER_LME    (1 << 8)
#define PTE_P       0x01
#define PTE_W       0x02
#define PTE_U       0x04
#define PTE_PS      0x80

/* ------------------------------------------------------------------ */
    .section .multiboot, "a"
    .balign 4
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

/* ------------------------------------------------------------------ */
    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    /* Paging off, interrupts off, EAX = magic, EBX = info; GDT unknown. */
    cli
    mov %eax, mb_magic
    mov %ebx, mb_info
    lgdt gdt_ptr
    ljmp $SEL_CODE32, $1f
1:  mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss

    /*
     * 2048 2 MiB pages cover 0..4 GiB (RAM, status page, LAPIC).  U/S is
     * set at every level so CPL3 can touch everything.  The page tables
     * are in .bss, zeroed by the loader, so the high dwords stay 0.
     */
    mov $pt_pd, %edi
    mov $(PTE_P | PTE_W | PTE_U | PTE_PS), %eax
    mov $2048, %ecx
2:  mov %eax, (%edi)
    add $8, %edi
    add $0x200000, %eax
    loop 2b
    movl $(pt_pd + 0x0000 + PTE_P + PTE_W + PTE_U), pt_pdpt + 0
    movl $(pt_pd + 0x1000 + PTE_P + PTE_W + PTE_U), pt_pdpt + 8
    movl $(pt_pd + 0x2000 + PTE_P + PTE_W + PTE_U), pt_pdpt + 16
    movl $(pt_pd + 0x3000 + PTE_P + PTE_W + PTE_U), pt_pdpt + 24
    movl $(pt_pdpt + PTE_P + PTE_W + PTE_U), pt_pml4
    xor %esi, %esi                      /* CPU index 0 = BSP */

    /* Common BSP/AP path: ESI = CPU index, flat 32-bit segments. */
common32:
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $pt_pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    and $~(CR0_CD | CR0_NW), %eax       /* APs come out of INIT with caches off */
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    ljmp $SEL_KCODE64, $long64

    /* APs arrive here from the trampoline in 32-bit protected mode. */
ap_entry32:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $1, %esi
    lock xadd %esi, ap_next_index
    cmp $TG_MAX_CPUS, %esi
    jb common32
3:  cli                                 /* more CPUs than we track: park */
    hlt
    jmp 3b

    .code64
long64:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov %esi, %esi

    /* CPL0 stack = top of kstacks[cpu] */
    lea 1(%rsi), %rax
    shl $TG_KSTACK_SHIFT, %rax
    lea kstacks(%rax), %rsp

    /* TSS for this CPU: RSP0, no I/O bitmap; then its GDT descriptor. */
    mov %rsi, %rbx
    shl $7, %rbx
    add $tss_area, %rbx
    mov %rsp, 4(%rbx)
    movw $104, 102(%rbx)
    mov %ebx, %eax
    and $0xffffff, %eax
    shl $16, %rax                       /* base[23:0] -> bits 16..39 */
    mov %ebx, %ecx
    and $0xff000000, %ecx
    shl $32, %rcx                       /* base[31:24] -> bits 56..63 */
    or %rcx, %rax
    movabs $0x0000890000000067, %rcx    /* present, 64-bit TSS, limit 103 */
    or %rcx, %rax
    mov %esi, %ecx
    shl $4, %ecx
    mov %rax, gdt + GDT_TSS0(%rcx)
    lea GDT_TSS0(%rcx), %eax
    ltr %ax

    /* The BSP fills the IDT once: 32 interrupt gates, stubs 16 bytes apart. */
    test %esi, %esi
    jnz 5f
    mov $idt, %edi
    mov $isr_stubs, %edx
    movabs $((SEL_KCODE64 << 16) | (0x8e00 << 32)), %r9
    mov $32, %ecx
4:  mov %edx, %eax
    and $0xffff, %eax
    mov %edx, %r8d
    and $0xffff0000, %r8d
    shl $32, %r8
    or %r8, %rax
    or %r9, %rax
    mov %rax, (%rdi)
    add $16, %edi
    add $16, %edx
    loop 4b
5:  lidt idt_ptr

    /* iretq to CPL3: bsp_main(cpu) or ap_main(cpu) on ustacks[cpu]. */
    lea 1(%rsi), %rax
    shl $TG_USTACK_SHIFT, %rax
    add $(ustacks - 8), %rax            /* as if called: rsp+8 16-aligned */
    push $SEL_UDATA
    push %rax
    push $0x2                           /* RFLAGS: IF=0 (irq= sets it by service), IOPL=0 */
    push $SEL_UCODE64
    mov $bsp_main, %eax
    mov $ap_main, %ecx
    test %esi, %esi
    cmovnz %ecx, %eax
    push %rax
    mov %esi, %edi
    iretq

/* ------------------------------------------------------------------ */
/* Exception stubs: one per vector, 16 bytes apart (the IDT loop relies
 * on it).  Vectors without a CPU error code push a 0 to keep one frame
 * layout.  Vector 6 (#UD) is the service entry. */
    .macro stub vec
    .balign 16
    .if \vec == 6
    jmp svc_entry
    .elseif (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    push $\vec
    jmp fault_common
    .else
    push $0
    push $\vec
    jmp fault_common
    .endif
    .endm

    .balign 16
isr_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    stub \v
    .endr

/* ------------------------------------------------------------------ */
/* Device interrupts (irq=): one stub per vector TG_IRQ_VEC_BASE + idx,
 * TG_IRQ_STUB_SIZE bytes apart (dev/irq.c writes their gates).  Each
 * counts itself in the status page; an INTx one also reads the ISR of
 * every virtio device on its line, which acknowledges the interrupt and
 * lowers the level-triggered line before the EOI (or the IOAPIC would
 * deliver it again at once).  Seven instructions for MSI-X, ~15 for
 * INTx: every one costs ~3 us on PVM.  Only rax and rdx are used, and
 * saved: the interrupted CPL3 code expects every register back. */
    .macro irqstub idx
    .balign TG_IRQ_STUB_SIZE
    push %rax
    incq TG_STATUS_ADDR + TG_IRQ_COUNT_OFF + 8 * \idx
    .if \idx < TG_IRQ_INTX_FIRST
    jmp irq_eoi
    .else
    mov $\idx, %eax
    jmp irq_intx
    .endif
    .endm

    .balign TG_IRQ_STUB_SIZE
    .globl irq_stubs, irq_spurious
irq_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    irqstub \v
    .endr

irq_intx:                               /* rax = stub index */
    push %rdx
    shl $4, %eax                        /* irq_isr[idx]: two u64 ISR addresses */
    mov irq_isr(%rax), %rdx
    test %rdx, %rdx
    jz 1f
    movzbl (%rdx), %edx                 /* the read acknowledges */
    mov irq_isr + 8(%rax), %rdx
    test %rdx, %rdx
    jz 1f
    movzbl (%rdx), %edx
1:  pop %rdx
irq_eoi:
    xor %eax, %eax
    movabs %eax, TG_APIC_BASE + TG_APIC_EOI
    pop %rax
    iretq

irq_spurious:                           /* no EOI for the spurious vector */
    iretq

fault_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi                      /* struct tg_frame * */
    and $-16, %rsp
    call tg_fault                       /* never returns */
6:  cli
    hlt
    jmp 6b

/* ------------------------------------------------------------------ */
/* Service entry (#UD).  Frame: rip, cs, rflags, rsp, ss. Kept short:
 * every instruction here costs ~3 us on PVM. */
svc_entry:
    mov (%rsp), %rcx
    cmpw $0x0b0f, (%rcx)                /* really a ud2? */
    jne 7f
    cmp $SVC_COUNT, %rax
    jae 7f
    addq $2, (%rsp)
    jmp *svc_table(, %rax, 8)
7:  push $0                             /* genuine #UD: report it */
    push $6
    jmp fault_common

svc_write:
    test %rsi, %rsi
    jz 9f
8:  mov $(COM1_BASE + 5), %edx
1:  in %dx, %al                         /* wait for THR empty (LSR bit 5) */
    test $0x20, %al
    jz 1b
    mov $COM1_BASE, %edx
    mov (%rdi), %al
    out %al, %dx
    inc %rdi
    dec %rsi
    jnz 8b
9:  xor %eax, %eax
    iretq

svc_outb:
    mov %edi, %edx
    mov %esi, %eax
    out %al, %dx
    iretq
svc_outw:
    mov %edi, %edx
    mov %esi, %eax
    out %ax, %dx
    iretq
svc_outl:
    mov %edi, %edx
    mov %esi, %eax
    out %eax, %dx
    iretq
svc_inb:
    mov %edi, %edx
    xor %eax, %eax
    in %dx, %al
    iretq
svc_inw:
    mov %edi, %edx
    xor %eax, %eax
    in %dx, %ax
    iretq
svc_inl:
    mov %edi, %edx
    in %dx, %eax
    iretq
svc_mmio_rd32:
    mov (%rdi), %eax
    iretq
svc_mmio_wr32:
    mov %esi, (%rdi)
    iretq
svc_flush_tlb:
    mov %cr3, %rax
    mov %rax, %cr3
    iretq
svc_mmio_rd8:
    movzbl (%rdi), %eax
    iretq
svc_mmio_rd16:
    movzwl (%rdi), %eax
    iretq
svc_mmio_wr8:
    mov %sil, (%rdi)
    iretq
svc_mmio_wr16:
    mov %si, (%rdi)
    iretq
svc_irq_on:
    lidt idt_ptr                        /* CPL3 wrote gates: no stale copy */
    orl $0x200, 16(%rsp)                /* IF in the iret frame (CPL3 cannot sti here) */
    iretq
svc_exit:
    mov $DEBUG_EXIT_PORT, %edx
    mov %edi, %eax
    out %eax, %dx                       /* ignored without isa-debug-exit */
svc_halt:
    cli
1:  hlt
    jmp 1b

/* ------------------------------------------------------------------ */
/* AP trampoline, copied to TG_TRAMP_ADDR; the SIPI starts it at
 * CS=TG_SIPI_VECTOR<<8, IP=0, so data is addressed relative to its start. */
    .code16
    .globl tramp_start, tramp_end
tramp_start:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lgdtl tramp_gdtr - tramp_start
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $SEL_CODE32, $ap_entry32
    .balign 4
tramp_gdtr:
    .word gdt_end - gdt - 1
    .long gdt
tramp_end:

/* ------------------------------------------------------------------ */
    .section .rodata
    .balign 8
svc_table:
    .quad svc_write, svc_outb, svc_outw, svc_outl, svc_inb, svc_inw
    .quad svc_inl, svc_mmio_rd32, svc_mmio_wr32, svc_halt, svc_exit
    .quad svc_flush_tlb, svc_mmio_rd8, svc_mmio_rd16, svc_mmio_wr8, svc_mmio_wr16
    .quad svc_irq_on

    .section .data
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff            /* 0x08 code32, DPL0 */
    .quad 0x00cf93000000ffff            /* 0x10 data, DPL0 */
    .quad 0x00af9b000000ffff            /* 0x18 code64, DPL0 */
    .quad 0x00cff3000000ffff            /* 0x20 data, DPL3 */
    .quad 0x00affb000000ffff            /* 0x28 code64, DPL3 */
    .fill 2 * TG_MAX_CPUS, 8, 0         /* 0x30 TSS descriptors */
gdt_end:
    .balign 4
    .word 0
gdt_ptr:                                /* 32-bit form, used before long mode */
    .word gdt_end - gdt - 1
    .long gdt
    .balign 8
    .word 0, 0, 0
idt_ptr:
    .word TG_IDT_GATES * 16 - 1           /* gates past 31 not present until irq= */
    .quad idt
    .globl mb_magic, mb_info, ap_next_index
mb_magic:       .long 0
mb_info:        .long 0
ap_next_index:  .long 1

    .section .bss
    .balign 4096
    .globl pt_pdpt, pt_pd               /* CPL3 marks MMIO pages uncached */
    .globl idt                          /* CPL3 adds the irq= gates */
pt_pml4:    .skip 4096
pt_pdpt:    .skip 4096
pt_pd:      .skip 4 * 4096
kstacks:    .skip TG_MAX_CPUS << TG_KSTACK_SHIFT
ustacks:    .skip TG_MAX_CPUS << TG_USTACK_SHIFT
idt:        .skip TG_IDT_GATES * 16
tss_area:   .skip TG_MAX_CPUS * 128

    .section .note.GNU-stack, "", @progbits
