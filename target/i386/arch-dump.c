/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vCPU's registers in the two note layouts of a guest memory dump
 * (include/target/i386/arch-dump.h documents both).
 */
#include <stddef.h>
#include <string.h>
#include "target/i386/arch-dump.h"

/* The layouts readers expect, byte for byte. */
G_STATIC_ASSERT(sizeof(X86ElfPrstatus) == 336);
G_STATIC_ASSERT(offsetof(X86ElfPrstatus, pid) == 32);
G_STATIC_ASSERT(offsetof(X86ElfPrstatus, r15) == 112);
G_STATIC_ASSERT(offsetof(X86ElfPrstatus, fpvalid) == 328);
G_STATIC_ASSERT(sizeof(X86DumpSegment) == 24);
G_STATIC_ASSERT(offsetof(X86DumpCpuState, cs) == 152);
G_STATIC_ASSERT(offsetof(X86DumpCpuState, cr) == 392);
G_STATIC_ASSERT(sizeof(X86DumpCpuState) == 440);

#define X86_CR0_PG (1ULL << 31)

void x86_dump_prstatus(const X86CPUState *st, unsigned index,
                       X86ElfPrstatus *out)
{
    const struct kvm_regs *r = &st->regs;
    const struct kvm_sregs *s = &st->sregs;

    memset(out, 0, sizeof(*out));
    out->pid = index + 1;
    out->r15 = r->r15;
    out->r14 = r->r14;
    out->r13 = r->r13;
    out->r12 = r->r12;
    out->rbp = r->rbp;
    out->rbx = r->rbx;
    out->r11 = r->r11;
    out->r10 = r->r10;
    out->r9 = r->r9;
    out->r8 = r->r8;
    out->rax = r->rax;
    out->rcx = r->rcx;
    out->rdx = r->rdx;
    out->rsi = r->rsi;
    out->rdi = r->rdi;
    out->orig_rax = UINT64_MAX;
    out->rip = r->rip;
    out->cs = s->cs.selector;
    out->eflags = r->rflags;
    out->rsp = r->rsp;
    out->ss = s->ss.selector;
    out->fs_base = s->fs.base;
    out->gs_base = s->gs.base;
    out->ds = s->ds.selector;
    out->es = s->es.selector;
    out->fs = s->fs.selector;
    out->gs = s->gs.selector;
}

/* An unusable segment (VMX's name for one loaded with a null selector)
 * is not present, whatever its other attribute bits say. */
static X86DumpSegment segment(const struct kvm_segment *k)
{
    uint32_t present = k->present && !k->unusable;

    return (X86DumpSegment) {
        .selector = k->selector,
        .limit = k->limit,
        .flags = (uint32_t)k->type << 8 | (uint32_t)k->s << 12 |
                 (uint32_t)k->dpl << 13 | present << 15 |
                 (uint32_t)k->avl << 20 | (uint32_t)k->l << 21 |
                 (uint32_t)k->db << 22 | (uint32_t)k->g << 23,
        .base = k->base,
    };
}

static X86DumpSegment table(const struct kvm_dtable *t)
{
    return (X86DumpSegment) { .limit = t->limit, .base = t->base };
}

static uint64_t msr_value(const X86CPUState *st, uint32_t index)
{
    for (uint32_t i = 0; i < st->nr_msrs; i++) {
        if (st->msrs[i].index == index) {
            return st->msrs[i].data;
        }
    }
    return 0;   /* not saved: KVM does not have it */
}

void x86_dump_cpu_state(const X86CPUState *st, X86DumpCpuState *out)
{
    const struct kvm_regs *r = &st->regs;
    const struct kvm_sregs *s = &st->sregs;

    memset(out, 0, sizeof(*out));
    out->version = X86_DUMP_CPU_STATE_VERSION;
    out->size = sizeof(*out);
    out->rax = r->rax;
    out->rbx = r->rbx;
    out->rcx = r->rcx;
    out->rdx = r->rdx;
    out->rsi = r->rsi;
    out->rdi = r->rdi;
    out->rsp = r->rsp;
    out->rbp = r->rbp;
    out->r8 = r->r8;
    out->r9 = r->r9;
    out->r10 = r->r10;
    out->r11 = r->r11;
    out->r12 = r->r12;
    out->r13 = r->r13;
    out->r14 = r->r14;
    out->r15 = r->r15;
    out->rip = r->rip;
    out->rflags = r->rflags;
    out->cs = segment(&s->cs);
    out->ds = segment(&s->ds);
    out->es = segment(&s->es);
    out->fs = segment(&s->fs);
    out->gs = segment(&s->gs);
    out->ss = segment(&s->ss);
    out->ldt = segment(&s->ldt);
    out->tr = segment(&s->tr);
    out->gdt = table(&s->gdt);
    out->idt = table(&s->idt);
    out->cr[0] = s->cr0;
    out->cr[2] = s->cr2;
    out->cr[3] = s->cr3;
    out->cr[4] = s->cr4;
    out->kernel_gs_base = msr_value(st, MSR_KERNEL_GS_BASE);
}

bool x86_dump_paging_enabled(const X86CPUState *st)
{
    return st->sregs.cr0 & X86_CR0_PG;
}
