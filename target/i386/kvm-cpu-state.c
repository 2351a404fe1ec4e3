/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Getting and putting the whole x86 vCPU state through KVM. The put order
 * matters: segment registers and EFER before MSRs, the APIC base (in
 * sregs) before the LAPIC registers, TSC before TSC_DEADLINE, MP state
 * after the registers, and pending events last so that nothing after them
 * clears an injected exception.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include "target/i386/cpu.h"
#include "trace.h"

static const uint32_t x86_wanted_msrs[] = {
    MSR_IA32_TSC, MSR_IA32_TSC_ADJUST,
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    MSR_IA32_MISC_ENABLE, MSR_IA32_CR_PAT,
    MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK, MSR_KERNEL_GS_BASE,
    MSR_TSC_AUX,
    MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_ASYNC_PF_EN,
    MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN,
    /* after TSC, so the deadline is interpreted against the right clock */
    MSR_IA32_TSC_DEADLINE,
};

static bool x86_msr_supported(KvmState *kvm, uint32_t index)
{
    for (uint32_t i = 0; i < kvm->msr_list->nmsrs; i++) {
        if (kvm->msr_list->indices[i] == index) {
            return true;
        }
    }
    return false;
}

X86CPUState *x86_cpu_state_new(KvmState *kvm)
{
    X86CPUState *st = g_new0(X86CPUState, 1);
    int xsave2 = kvm_check_extension(kvm, KVM_CAP_XSAVE2);

    st->xsave_size = MAX((int)sizeof(struct kvm_xsave), xsave2);
    st->xsave = g_malloc0(st->xsave_size);
    for (size_t i = 0; i < G_N_ELEMENTS(x86_wanted_msrs); i++) {
        if (x86_msr_supported(kvm, x86_wanted_msrs[i])) {
            g_assert(st->nr_msrs < X86_MAX_SAVED_MSRS);
            st->msrs[st->nr_msrs++].index = x86_wanted_msrs[i];
        }
    }
    return st;
}

void x86_cpu_state_free(X86CPUState *st)
{
    if (st) {
        g_free(st->xsave);
        g_free(st);
    }
}

/* One ioctl of the get/put tables below. */
typedef struct X86StatePart {
    const char *name;
    unsigned long get_req, put_req;
    size_t offset;          /* of the struct in X86CPUState */
} X86StatePart;

#define PART(n, g, p, field) \
    { .name = n, .get_req = g, .put_req = p, \
      .offset = offsetof(X86CPUState, field) }

/* In put order. XSAVE, MSRs are handled apart: variable size. */
static const X86StatePart x86_parts_before_msrs[] = {
    PART("regs", KVM_GET_REGS, KVM_SET_REGS, regs),
    PART("xcrs", KVM_GET_XCRS, KVM_SET_XCRS, xcrs),
    PART("sregs", KVM_GET_SREGS, KVM_SET_SREGS, sregs),
};

static const X86StatePart x86_parts_after_msrs[] = {
    PART("mp_state", KVM_GET_MP_STATE, KVM_SET_MP_STATE, mp_state),
    PART("lapic", KVM_GET_LAPIC, KVM_SET_LAPIC, lapic),
    PART("debugregs", KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, debugregs),
    PART("vcpu_events", KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, events),
};

static bool x86_parts_io(KvmVcpu *vcpu, X86CPUState *st, bool put,
                         const X86StatePart *parts, size_t n, Error **errp)
{
    for (size_t i = 0; i < n; i++) {
        void *p = (uint8_t *)st + parts[i].offset;
        unsigned long req = put ? parts[i].put_req : parts[i].get_req;

        if (ioctl(vcpu->fd, req, p) < 0) {
            error_setg_errno(errp, errno, "cannot %s %s of vCPU %u",
                             put ? "set" : "get", parts[i].name, vcpu->index);
            return false;
        }
    }
    return true;
}

/* struct kvm_msrs followed by its entries, as KVM wants them. */
typedef struct X86MsrBuf {
    struct kvm_msrs hdr;
    struct kvm_msr_entry entries[X86_MAX_SAVED_MSRS];
} X86MsrBuf;

static bool x86_msrs_io(KvmVcpu *vcpu, X86CPUState *st, bool put,
                        Error **errp)
{
    X86MsrBuf buf = { .hdr.nmsrs = st->nr_msrs };
    int r;

    memcpy(buf.entries, st->msrs, st->nr_msrs * sizeof(buf.entries[0]));
    r = ioctl(vcpu->fd, put ? KVM_SET_MSRS : KVM_GET_MSRS, &buf);
    if (r < 0) {
        error_setg_errno(errp, errno, "cannot %s MSRs of vCPU %u",
                         put ? "set" : "get", vcpu->index);
        return false;
    }
    /* KVM stops at the first MSR it refuses and returns how many it did. */
    if ((uint32_t)r != st->nr_msrs) {
        error_setg(errp, "vCPU %u: KVM refused MSR 0x%x (%s)", vcpu->index,
                   st->msrs[r].index, put ? "set" : "get");
        return false;
    }
    if (!put) {
        memcpy(st->msrs, buf.entries, st->nr_msrs * sizeof(buf.entries[0]));
    }
    return true;
}

static bool x86_xsave_io(KvmVcpu *vcpu, X86CPUState *st, bool put,
                         Error **errp)
{
    unsigned long req;

    if (put) {
        req = KVM_SET_XSAVE;
    } else {
        req = st->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2
                                                          : KVM_GET_XSAVE;
    }
    if (ioctl(vcpu->fd, req, st->xsave) < 0) {
        error_setg_errno(errp, errno, "cannot %s XSAVE state of vCPU %u",
                         put ? "set" : "get", vcpu->index);
        return false;
    }
    return true;
}

bool x86_cpu_get_state(KvmVcpu *vcpu, X86CPUState *st, Error **errp)
{
    if (!x86_parts_io(vcpu, st, false, x86_parts_before_msrs,
                      G_N_ELEMENTS(x86_parts_before_msrs), errp) ||
        !x86_xsave_io(vcpu, st, false, errp) ||
        !x86_msrs_io(vcpu, st, false, errp) ||
        !x86_parts_io(vcpu, st, false, x86_parts_after_msrs,
                      G_N_ELEMENTS(x86_parts_after_msrs), errp)) {
        return false;
    }
    trace_x86_cpu_get_state(vcpu->index, st->regs.rip);
    return true;
}

bool x86_cpu_put_state(KvmVcpu *vcpu, const X86CPUState *cst, Error **errp)
{
    /* The ioctls take non-const pointers; events needs its valid flags. */
    X86CPUState *st = (X86CPUState *)cst;
    struct kvm_vcpu_events saved_events = st->events;
    bool ok;

    st->events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
                        KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    ok = x86_parts_io(vcpu, st, true, x86_parts_before_msrs,
                      G_N_ELEMENTS(x86_parts_before_msrs), errp) &&
         x86_xsave_io(vcpu, st, true, errp) &&
         x86_msrs_io(vcpu, st, true, errp) &&
         x86_parts_io(vcpu, st, true, x86_parts_after_msrs,
                      G_N_ELEMENTS(x86_parts_after_msrs), errp);
    st->events = saved_events;
    if (ok) {
        trace_x86_cpu_put_state(vcpu->index, st->regs.rip);
    }
    return ok;
}

void x86_cpu_dump_state(KvmVcpu *vcpu)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
        ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
        fprintf(stderr, "vCPU %u: registers unavailable\n", vcpu->index);
        return;
    }
    fprintf(stderr,
            "vCPU %u:\n"
            "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
            "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
            "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
            "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
            "RIP=%016llx RFL=%08llx CPL=%d\n"
            "CS =%04x %016llx  SS =%04x %016llx\n"
            "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%016llx\n",
            vcpu->index, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp,
            r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
            r.rip, r.rflags, s.cs.dpl, s.cs.selector, s.cs.base,
            s.ss.selector, s.ss.base, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}
