/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x86 vCPU state as KVM holds it, fetched and restored as one unit:
 * general and segment registers, FPU/SSE/AVX (XSAVE), XCRs, the MSRs a
 * live guest needs, the local APIC, pending events, MP state and debug
 * registers. Migration and COLO move exactly this; reset restores the
 * state a vCPU had when it was created (its power-on state).
 */
#ifndef TARGET_I386_CPU_H
#define TARGET_I386_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include "accel/kvm.h"
#include "hw/i386/boot.h"
#include "util/error.h"

/* MSRs we save, in the order we restore them (TSC before TSC_DEADLINE). */
#define MSR_IA32_TSC                0x00000010
#define MSR_IA32_APICBASE           0x0000001b
#define MSR_IA32_TSC_ADJUST         0x0000003b
#define MSR_IA32_SYSENTER_CS        0x00000174
#define MSR_IA32_SYSENTER_ESP       0x00000175
#define MSR_IA32_SYSENTER_EIP       0x00000176
#define MSR_IA32_MISC_ENABLE        0x000001a0
#define MSR_IA32_CR_PAT             0x00000277
#define MSR_IA32_TSC_DEADLINE       0x000006e0
#define MSR_EFER                    0xc0000080
#define MSR_STAR                    0xc0000081
#define MSR_LSTAR                   0xc0000082
#define MSR_CSTAR                   0xc0000083
#define MSR_FMASK                   0xc0000084
#define MSR_KERNEL_GS_BASE          0xc0000102
#define MSR_TSC_AUX                 0xc0000103
#define MSR_KVM_WALL_CLOCK_NEW      0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW     0x4b564d01
#define MSR_KVM_ASYNC_PF_EN         0x4b564d02
#define MSR_KVM_STEAL_TIME          0x4b564d03
#define MSR_KVM_PV_EOI_EN           0x4b564d04

#define X86_MAX_SAVED_MSRS 32

typedef struct X86CPUState {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    struct kvm_debugregs debugregs;
    uint32_t nr_msrs;
    struct kvm_msr_entry msrs[X86_MAX_SAVED_MSRS];
    uint32_t xsave_size;        /* bytes in xsave */
    uint8_t *xsave;             /* struct kvm_xsave, possibly larger */
} X86CPUState;

X86CPUState *x86_cpu_state_new(KvmState *kvm);
void x86_cpu_state_free(X86CPUState *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X86CPUState, x86_cpu_state_free)

/* The vCPU must not be running (paused or never started). */
bool x86_cpu_get_state(KvmVcpu *vcpu, X86CPUState *st, Error **errp);
bool x86_cpu_put_state(KvmVcpu *vcpu, const X86CPUState *st, Error **errp);

/* Installs CPUID for vCPU index out of nr_cpus (APIC id = index), from
 * the -cpu model (include/target/i386/cpu-models.h). */
bool x86_cpu_setup_cpuid(KvmVcpu *vcpu, unsigned nr_cpus, Error **errp);

/* What /dev/kvm can give a guest (KVM_GET_SUPPORTED_CPUID and the TSC
 * deadline timer), read once; NULL without /dev/kvm. For the QMP CPU
 * model queries, which may run before (or without) a VM. */
const struct kvm_cpuid2 *x86_host_cpuid(void);

/* Puts the boot vCPU in the mode and at the entry point a loader chose. */
bool x86_cpu_set_boot_state(KvmVcpu *vcpu, const X86BootState *boot,
                            Error **errp);

/* Prints registers to stderr, for internal errors. */
void x86_cpu_dump_state(KvmVcpu *vcpu);

#endif
