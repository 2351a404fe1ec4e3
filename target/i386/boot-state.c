/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting the boot vCPU where a loader wants it, without firmware: the
 * segment, control and flag registers that a BIOS plus boot loader would
 * have left behind, for 32-bit flat protected mode (multiboot) or 64-bit
 * long mode (the Linux 64-bit boot protocol). Also programs the BSP's
 * LAPIC LINT0/LINT1 as ExtINT/NMI (virtual wire), as firmware would, so
 * PIC interrupts reach a guest that never touches the APIC.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "target/i386/cpu.h"
#include "trace.h"

#define CR0_PE  (1ULL << 0)
#define CR0_ET  (1ULL << 4)
#define CR0_PG  (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_DM_EXTINT (7u << 8)
#define APIC_DM_NMI (4u << 8)

static struct kvm_segment flat_segment(uint16_t selector, bool code,
                                       bool long_mode)
{
    return (struct kvm_segment) {
        .base = 0,
        .limit = 0xffffffff,
        .selector = selector,
        .type = code ? 0xb : 0x3,   /* exec/read accessed; read/write accessed */
        .present = 1,
        .dpl = 0,
        .db = code && long_mode ? 0 : 1,
        .s = 1,
        .l = code && long_mode,
        .g = 1,
    };
}

static void boot_set_segments(struct kvm_sregs *s, const X86BootState *b)
{
    bool lm = b->mode == X86_BOOT_LONG64;
    uint16_t cs = lm ? b->cs_selector : 0x10;
    uint16_t ds = lm ? b->ds_selector : 0x18;

    s->cs = flat_segment(cs, true, lm);
    s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(ds, false, lm);
    /* A usable 64-bit busy TSS and an LDT marker keep VM entry happy. */
    s->tr = (struct kvm_segment) {
        .limit = 0xffff, .type = 0xb, .present = 1,
    };
    s->ldt = (struct kvm_segment) {
        .limit = 0xffff, .type = 0x2, .present = 1,
    };
    if (lm) {
        s->gdt.base = b->gdt_base;
        s->gdt.limit = b->gdt_limit;
    }
}

static bool boot_set_virtual_wire(KvmVcpu *vcpu, Error **errp)
{
    struct kvm_lapic_state lapic;
    uint32_t v;

    if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0) {
        error_setg_errno(errp, errno, "cannot get LAPIC of vCPU %u",
                         vcpu->index);
        return false;
    }
    v = APIC_DM_EXTINT;
    memcpy(&lapic.regs[APIC_LVT0], &v, 4);
    v = APIC_DM_NMI;
    memcpy(&lapic.regs[APIC_LVT1], &v, 4);
    if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0) {
        error_setg_errno(errp, errno, "cannot set LAPIC of vCPU %u",
                         vcpu->index);
        return false;
    }
    return true;
}

bool x86_cpu_set_boot_state(KvmVcpu *vcpu, const X86BootState *b,
                            Error **errp)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs = {
        .rip = b->rip,
        .rsp = b->rsp,
        .rax = b->rax,
        .rbx = b->rbx,
        .rsi = b->rsi,
        .rflags = 0x2,
    };

    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        error_setg_errno(errp, errno, "cannot get sregs of vCPU %u",
                         vcpu->index);
        return false;
    }
    boot_set_segments(&sregs, b);
    if (b->mode == X86_BOOT_LONG64) {
        sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
        sregs.cr3 = b->cr3;
        sregs.cr4 = CR4_PAE;
        sregs.efer = EFER_LME | EFER_LMA;
    } else {
        sregs.cr0 = CR0_PE | CR0_ET;
        sregs.cr3 = 0;
        sregs.cr4 = 0;
        sregs.efer = 0;
    }
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0) {
        error_setg_errno(errp, errno, "cannot set sregs of vCPU %u",
                         vcpu->index);
        return false;
    }
    if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
        error_setg_errno(errp, errno, "cannot set regs of vCPU %u",
                         vcpu->index);
        return false;
    }
    trace_x86_cpu_boot_state(vcpu->index, b->mode, b->rip);
    return boot_set_virtual_wire(vcpu, errp);
}
