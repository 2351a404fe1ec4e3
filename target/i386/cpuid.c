/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPUID for each vCPU: what KVM supports on this host ("-cpu host"-like),
 * with the per-CPU topology fields filled in and the hypervisor bit set.
 * We pass through the host model on purpose: the guest is our own or a
 * stock kernel that probes features, and migration/COLO peers run on
 * identical hosts (a named CPU model is future work).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "target/i386/cpu.h"

#define CPUID_1_ECX_HYPERVISOR  (1u << 31)
#define CPUID_1_ECX_X2APIC      (1u << 21)

static void x86_cpuid_fix_entry(struct kvm_cpuid_entry2 *e, unsigned index,
                                unsigned nr_cpus)
{
    switch (e->function) {
    case 1:
        /* EBX[31:24] initial APIC id, [23:16] logical processors. */
        e->ebx = (e->ebx & 0x0000ffff) | (index << 24) |
                 ((nr_cpus > 1 ? nr_cpus : 1) << 16);
        e->ecx |= CPUID_1_ECX_HYPERVISOR;
        if (nr_cpus > 1) {
            e->edx |= 1u << 28;   /* HTT: the count in EBX is valid */
        }
        break;
    case 4: {
        /*
         * One package of nr_cpus single-thread cores: EAX[31:26] is cores
         * per package - 1, EAX[25:14] the threads sharing this cache - 1
         * (private L1/L2, shared L3).
         */
        unsigned level = (e->eax >> 5) & 7;
        e->eax &= 0x3fff;
        e->eax |= (nr_cpus - 1) << 26;
        if (level >= 3) {
            e->eax |= (nr_cpus - 1) << 14;
        }
        break;
    }
    case 0xb:
    case 0x1f:
        /* Extended topology: x2APIC id in EDX; one thread per core. */
        e->edx = index;
        if (e->index == 0) {
            e->eax = 0;
            e->ebx = 1;
            e->ecx = (1u << 8) | 0;     /* level 0 type SMT */
        } else if (e->index == 1) {
            e->eax = 32 - __builtin_clz(nr_cpus > 1 ? nr_cpus - 1 : 1);
            e->ebx = nr_cpus;
            e->ecx = (2u << 8) | 1;     /* level 1 type core */
        } else {
            e->eax = e->ebx = 0;
            e->ecx = e->index;
        }
        break;
    default:
        break;
    }
}

bool x86_cpu_setup_cpuid(KvmVcpu *vcpu, unsigned nr_cpus, Error **errp)
{
    const struct kvm_cpuid2 *sup = vcpu->kvm->supported_cpuid;
    size_t bytes = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
    g_autofree struct kvm_cpuid2 *c = g_memdup2(sup, bytes);

    for (uint32_t i = 0; i < c->nent; i++) {
        x86_cpuid_fix_entry(&c->entries[i], vcpu->index, nr_cpus);
    }
    if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
        error_setg_errno(errp, errno, "cannot set CPUID of vCPU %u",
                         vcpu->index);
        return false;
    }
    return true;
}
