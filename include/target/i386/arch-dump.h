/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vCPU's registers as a guest memory dump carries them: the two note
 * descriptors dump-guest-memory writes per vCPU (dump/dump.c puts them
 * in the ELF notes; include/dump/elf-core.h has the file layout).
 *
 * NT_PRSTATUS, owner "CORE": Linux's struct elf_prstatus for x86-64
 * (include/uapi/linux/elfcore.h with the x86-64 elf_gregset_t, i.e.
 * glibc's <sys/procfs.h> on an x86-64 host), 336 bytes. gdb and crash
 * take a vCPU's general registers from it; pr_pid is the vCPU index + 1
 * so that gdb shows one thread per vCPU, numbered from 1 (0 is no
 * thread to gdb). Signal, time and parent fields are 0; orig_rax is -1
 * (no system call in progress); pr_fpvalid 0 (no FPU note follows).
 *
 * Owner "QEMU", type 0: QEMU's x86 CPU-state note, version 1, 440
 * bytes, which crash and QEMU's elf2dmp read for what NT_PRSTATUS
 * lacks (control registers, descriptor tables, segment bases):
 *
 *   0    u32 version (1)      4    u32 size (440)
 *   8    u64 rax rbx rcx rdx rsi rdi rsp rbp r8 ... r15 rip rflags
 *   152  segments cs ds es fs gs ss ldt tr gdt idt, 24 bytes each:
 *          u32 selector, u32 limit, u32 flags, u32 pad, u64 base
 *        flags: the segment descriptor's attribute bits in their
 *        places in its high dword (type << 8, S << 12, DPL << 13,
 *        P << 15, AVL << 20, L << 21, D/B << 22, G << 23; P clear
 *        for a segment KVM calls unusable); gdt and idt have only
 *        base and limit
 *   392  u64 cr[5]: cr[n] is CRn (cr[1] is 0)
 *   432  u64 kernel_gs_base (MSR 0xc0000102)
 */
#ifndef TARGET_I386_ARCH_DUMP_H
#define TARGET_I386_ARCH_DUMP_H

#include <stdint.h>
#include "target/i386/cpu.h"

/* struct elf_prstatus, x86-64. */
typedef struct X86ElfPrstatus {
    int32_t si_signo, si_code, si_errno;    /* pr_info */
    int16_t cursig;
    uint16_t pad0;
    uint64_t sigpend, sighold;
    int32_t pid, ppid, pgrp, sid;
    int64_t utime[2], stime[2], cutime[2], cstime[2];  /* sec, usec */
    /* user_regs_struct, in its order: */
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
    uint64_t fs_base, gs_base, ds, es, fs, gs;
    int32_t fpvalid;
    int32_t pad1;
} X86ElfPrstatus;

typedef struct X86DumpSegment {
    uint32_t selector, limit, flags, pad;
    uint64_t base;
} X86DumpSegment;

/* QEMU's CPU-state note, version 1. */
typedef struct X86DumpCpuState {
    uint32_t version, size;
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
    X86DumpSegment cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt;
    uint64_t cr[5];
    uint64_t kernel_gs_base;
} X86DumpCpuState;

#define X86_DUMP_CPU_STATE_VERSION 1

/* Fill the two descriptors from a vCPU's state (x86_cpu_get_state). */
void x86_dump_prstatus(const X86CPUState *st, unsigned index,
                       X86ElfPrstatus *out);
void x86_dump_cpu_state(const X86CPUState *st, X86DumpCpuState *out);

/* Whether the vCPU translates addresses through page tables (CR0.PG). */
bool x86_dump_paging_enabled(const X86CPUState *st);

#endif
