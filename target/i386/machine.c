/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "cpu" vmstate section: every part of X86CPUState (general and
 * segment registers, control registers, XCRs, the 1 KiB local APIC page,
 * pending events, MP state, debug registers, the saved MSRs and the XSAVE
 * area) described field by field, and the hooks that move it between the
 * migration buffer and KVM (see include/target/i386/machine.h). Nothing in
 * the stream reaches KVM before post_load has checked it against this
 * host, and a put that fails half-way is undone.
 */
#include <string.h>
#include "target/i386/machine.h"
#include "trace.h"

/* Flags KVM_GET_VCPU_EVENTS can report and KVM_SET_VCPU_EVENTS accepts. */
#define X86_EVENTS_KNOWN_FLAGS                                          \
    (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
     KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |             \
     KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

_Static_assert(offsetof(X86CPUMigration, state) == 0,
               "the vmstate fields are offsets into X86CPUState");

X86CPUMigration *x86_cpu_migration_new(KvmVcpu *vcpu)
{
    X86CPUMigration *m = g_new0(X86CPUMigration, 1);

    m->vcpu = vcpu;
    m->host = x86_cpu_state_new(vcpu->kvm);
    m->state.xsave_size = m->host->xsave_size;
    m->state.xsave = g_malloc0(m->state.xsave_size);
    return m;
}

void x86_cpu_migration_free(X86CPUMigration *m)
{
    if (m) {
        g_free(m->state.xsave);
        x86_cpu_state_free(m->host);
        g_free(m);
    }
}

/* ---- pre-save / post-load ---- */

/*
 * The buffer may hold what a stream put there (another MSR list, another
 * XSAVE size, or the remains of a failed load): give it this host's
 * layout again before KVM fills it.
 */
static void x86_cpu_migration_reset_layout(X86CPUMigration *m)
{
    X86CPUState *st = &m->state;
    uint8_t *xsave = st->xsave;

    if (st->xsave_size != m->host->xsave_size || !xsave) {
        xsave = g_realloc(xsave, m->host->xsave_size);
    }
    memset(st, 0, sizeof(*st));
    st->xsave = xsave;
    st->xsave_size = m->host->xsave_size;
    memset(st->xsave, 0, st->xsave_size);
    st->nr_msrs = m->host->nr_msrs;
    for (uint32_t i = 0; i < st->nr_msrs; i++) {
        st->msrs[i].index = m->host->msrs[i].index;
    }
}

static bool x86_cpu_pre_save(void *opaque, Error **errp)
{
    X86CPUMigration *m = opaque;

    x86_cpu_migration_reset_layout(m);
    return x86_cpu_get_state(m->vcpu, &m->state, errp);
}

static bool x86_cpu_msr_supported(KvmState *kvm, uint32_t index)
{
    for (uint32_t i = 0; i < kvm->msr_list->nmsrs; i++) {
        if (kvm->msr_list->indices[i] == index) {
            return true;
        }
    }
    return false;
}

/* What the field checks cannot see: agreement with this host. */
static bool x86_cpu_validate(X86CPUMigration *m, Error **errp)
{
    const X86CPUState *st = &m->state;

    if (st->xsave_size != m->host->xsave_size) {
        error_setg(errp, "xsave size %u does not match this host's %u "
                   "(the hosts' XSAVE features differ)", st->xsave_size,
                   m->host->xsave_size);
        return false;
    }
    for (uint32_t i = 0; i < st->nr_msrs; i++) {
        if (!x86_cpu_msr_supported(m->vcpu->kvm, st->msrs[i].index)) {
            error_setg(errp, "msrs[%u]: MSR 0x%x is not supported by this "
                       "host's KVM", i, st->msrs[i].index);
            return false;
        }
    }
    if (st->events.flags & ~X86_EVENTS_KNOWN_FLAGS) {
        error_setg(errp, "vcpu_events: unknown flags 0x%x",
                   st->events.flags & ~X86_EVENTS_KNOWN_FLAGS);
        return false;
    }
    return true;
}

static bool x86_cpu_post_load(void *opaque, int version_id, Error **errp)
{
    ERRP_GUARD();
    X86CPUMigration *m = opaque;
    g_autoptr(Error) rollback_err = NULL;

    if (!x86_cpu_validate(m, errp)) {
        return false;
    }
    /* m->host keeps this host's MSR list and XSAVE size, so it can hold
     * the current state for the rollback. */
    if (!x86_cpu_get_state(m->vcpu, m->host, errp)) {
        return false;
    }
    if (x86_cpu_put_state(m->vcpu, &m->state, errp)) {
        trace_x86_cpu_post_load(m->vcpu->index, m->state.regs.rip);
        m->loaded = true;
        return true;
    }
    if (!x86_cpu_put_state(m->vcpu, m->host, &rollback_err)) {
        error_prepend(errp, "(and restoring the previous state failed: %s) ",
                      error_get_pretty(rollback_err));
    }
    return false;
}

/* ---- the vmstate table ---- */

static const VMStateDescription vmstate_x86_regs = {
    .name = "cpu/regs",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(rax, struct kvm_regs),
        VMSTATE_UINT64(rbx, struct kvm_regs),
        VMSTATE_UINT64(rcx, struct kvm_regs),
        VMSTATE_UINT64(rdx, struct kvm_regs),
        VMSTATE_UINT64(rsi, struct kvm_regs),
        VMSTATE_UINT64(rdi, struct kvm_regs),
        VMSTATE_UINT64(rsp, struct kvm_regs),
        VMSTATE_UINT64(rbp, struct kvm_regs),
        VMSTATE_UINT64(r8, struct kvm_regs),
        VMSTATE_UINT64(r9, struct kvm_regs),
        VMSTATE_UINT64(r10, struct kvm_regs),
        VMSTATE_UINT64(r11, struct kvm_regs),
        VMSTATE_UINT64(r12, struct kvm_regs),
        VMSTATE_UINT64(r13, struct kvm_regs),
        VMSTATE_UINT64(r14, struct kvm_regs),
        VMSTATE_UINT64(r15, struct kvm_regs),
        VMSTATE_UINT64(rip, struct kvm_regs),
        VMSTATE_UINT64(rflags, struct kvm_regs),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_x86_segment = {
    .name = "cpu/segment",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(base, struct kvm_segment),
        VMSTATE_UINT32(limit, struct kvm_segment),
        VMSTATE_UINT16(selector, struct kvm_segment),
        VMSTATE_UINT8(type, struct kvm_segment),
        VMSTATE_UINT8(present, struct kvm_segment),
        VMSTATE_UINT8(dpl, struct kvm_segment),
        VMSTATE_UINT8(db, struct kvm_segment),
        VMSTATE_UINT8(s, struct kvm_segment),
        VMSTATE_UINT8(l, struct kvm_segment),
        VMSTATE_UINT8(g, struct kvm_segment),
        VMSTATE_UINT8(avl, struct kvm_segment),
        VMSTATE_UINT8(unusable, struct kvm_segment),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_x86_dtable = {
    .name = "cpu/dtable",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(base, struct kvm_dtable),
        VMSTATE_UINT16(limit, struct kvm_dtable),
        VMSTATE_END_OF_LIST()
    },
};

#define X86_SEGMENT(f) \
    VMSTATE_STRUCT(f, struct kvm_sregs, vmstate_x86_segment, \
                   struct kvm_segment)

static const VMStateDescription vmstate_x86_sregs = {
    .name = "cpu/sregs",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        X86_SEGMENT(cs),
        X86_SEGMENT(ds),
        X86_SEGMENT(es),
        X86_SEGMENT(fs),
        X86_SEGMENT(gs),
        X86_SEGMENT(ss),
        X86_SEGMENT(tr),
        X86_SEGMENT(ldt),
        VMSTATE_STRUCT(gdt, struct kvm_sregs, vmstate_x86_dtable,
                       struct kvm_dtable),
        VMSTATE_STRUCT(idt, struct kvm_sregs, vmstate_x86_dtable,
                       struct kvm_dtable),
        VMSTATE_UINT64(cr0, struct kvm_sregs),
        VMSTATE_UINT64(cr2, struct kvm_sregs),
        VMSTATE_UINT64(cr3, struct kvm_sregs),
        VMSTATE_UINT64(cr4, struct kvm_sregs),
        VMSTATE_UINT64(cr8, struct kvm_sregs),
        VMSTATE_UINT64(efer, struct kvm_sregs),
        VMSTATE_UINT64(apic_base, struct kvm_sregs),
        VMSTATE_UINT64_ARRAY(interrupt_bitmap, struct kvm_sregs,
                             (KVM_NR_INTERRUPTS + 63) / 64),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_x86_xcr = {
    .name = "cpu/xcr",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(xcr, struct kvm_xcr),
        VMSTATE_UINT64(value, struct kvm_xcr),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_x86_xcrs = {
    .name = "cpu/xcrs",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(nr_xcrs, struct kvm_xcrs),
        VMSTATE_UINT32(flags, struct kvm_xcrs),
        VMSTATE_STRUCT_VARRAY_UINT32(xcrs, struct kvm_xcrs, nr_xcrs,
                                     KVM_MAX_XCRS, vmstate_x86_xcr,
                                     struct kvm_xcr),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_x86_events = {
    .name = "cpu/vcpu_events",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(exception.injected, struct kvm_vcpu_events),
        VMSTATE_UINT8(exception.nr, struct kvm_vcpu_events),
        VMSTATE_UINT8(exception.has_error_code, struct kvm_vcpu_events),
        VMSTATE_UINT8(exception.pending, struct kvm_vcpu_events),
        VMSTATE_UINT32(exception.error_code, struct kvm_vcpu_events),
        VMSTATE_UINT8(interrupt.injected, struct kvm_vcpu_events),
        VMSTATE_UINT8(interrupt.nr, struct kvm_vcpu_events),
        VMSTATE_UINT8(interrupt.soft, struct kvm_vcpu_events),
        VMSTATE_UINT8(interrupt.shadow, struct kvm_vcpu_events),
        VMSTATE_UINT8(nmi.injected, struct kvm_vcpu_events),
        VMSTATE_UINT8(nmi.pending, struct kvm_vcpu_events),
        VMSTATE_UINT8(nmi.masked, struct kvm_vcpu_events),
        VMSTATE_UINT32(sipi_vector, struct kvm_vcpu_events),
        VMSTATE_UINT32(flags, struct kvm_vcpu_events),
        VMSTATE_UINT8(smi.smm, struct kvm_vcpu_events),
        VMSTATE_UINT8(smi.pending, struct kvm_vcpu_events),
        VMSTATE_UINT8(smi.smm_inside_nmi, struct kvm_vcpu_events),
        VMSTATE_UINT8(smi.latched_init, struct kvm_vcpu_events),
        VMSTATE_UINT8(triple_fault.pending, struct kvm_vcpu_events),
        VMSTATE_UINT8(exception_has_payload, struct kvm_vcpu_events),
        VMSTATE_UINT64(exception_payload, struct kvm_vcpu_events),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_x86_debugregs = {
    .name = "cpu/debugregs",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64_ARRAY(db, struct kvm_debugregs, 4),
        VMSTATE_UINT64(dr6, struct kvm_debugregs),
        VMSTATE_UINT64(dr7, struct kvm_debugregs),
        VMSTATE_UINT64(flags, struct kvm_debugregs),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_x86_msr = {
    .name = "cpu/msr",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(index, struct kvm_msr_entry),
        VMSTATE_UINT64(data, struct kvm_msr_entry),
        VMSTATE_END_OF_LIST()
    },
};

/* Wire order follows the struct; KVM order is kvm-cpu-state.c's. */
const VMStateDescription vmstate_x86_cpu = {
    .name = "cpu",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = x86_cpu_pre_save,
    .post_load = x86_cpu_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(regs, X86CPUState, vmstate_x86_regs,
                       struct kvm_regs),
        VMSTATE_STRUCT(sregs, X86CPUState, vmstate_x86_sregs,
                       struct kvm_sregs),
        VMSTATE_STRUCT(xcrs, X86CPUState, vmstate_x86_xcrs,
                       struct kvm_xcrs),
        VMSTATE_BUFFER(lapic.regs, X86CPUState),
        VMSTATE_STRUCT(events, X86CPUState, vmstate_x86_events,
                       struct kvm_vcpu_events),
        VMSTATE_UINT32_LE(mp_state.mp_state, X86CPUState,
                          KVM_MP_STATE_SUSPENDED),
        VMSTATE_STRUCT(debugregs, X86CPUState, vmstate_x86_debugregs,
                       struct kvm_debugregs),
        VMSTATE_UINT32(nr_msrs, X86CPUState),
        VMSTATE_STRUCT_VARRAY_UINT32(msrs, X86CPUState, nr_msrs,
                                     X86_MAX_SAVED_MSRS, vmstate_x86_msr,
                                     struct kvm_msr_entry),
        VMSTATE_UINT32(xsave_size, X86CPUState),
        VMSTATE_VBUFFER_ALLOC_UINT32(xsave, X86CPUState, xsave_size,
                                     X86_XSAVE_MAX_SIZE),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- registration ---- */

bool x86_cpu_vmstate_register(SaveVMState *sv, X86CPUMigration *m,
                              Error **errp)
{
    return savevm_register(sv, vmstate_x86_cpu.name, m->vcpu->index,
                           &vmstate_x86_cpu, m, errp);
}

void x86_cpu_vmstate_unregister(SaveVMState *sv, X86CPUMigration *m)
{
    savevm_unregister(sv, vmstate_x86_cpu.name, m->vcpu->index);
}
