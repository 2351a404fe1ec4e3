/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPUID for each vCPU: the -cpu model (target/i386/cpu-models.c) built
 * against what this KVM supports, with the per-CPU topology fields
 * filled in. Without -cpu the vCPUs get "host": everything KVM supports
 * (docs/compat.md says why Tandem's default is not QEMU's qemu64).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>
#include "target/i386/cpu.h"
#include "target/i386/cpu-models.h"
#include "trace.h"

#define CPUID_1_ECX_X2APIC      (1u << 21)

static void x86_cpuid_fix_entry(struct kvm_cpuid_entry2 *e, unsigned index,
                                unsigned nr_cpus)
{
    switch (e->function) {
    case 1:
        /* EBX[31:24] initial APIC id, [23:16] logical processors. */
        e->ebx = (e->ebx & 0x0000ffff) | (index << 24) |
                 ((nr_cpus > 1 ? nr_cpus : 1) << 16);
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

/*
 * What KVM can give a guest: KVM_GET_SUPPORTED_CPUID, plus the TSC
 * deadline timer, which KVM's in-kernel APIC emulates but reports only
 * as a capability (KVM_CAP_TSC_DEADLINE_TIMER), as its API says.
 */
static struct kvm_cpuid2 *x86_cpuid_host_view(int kvm_fd,
                                              const struct kvm_cpuid2 *sup)
{
    size_t bytes = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
    struct kvm_cpuid2 *c = g_memdup2(sup, bytes);

    if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
        for (uint32_t i = 0; i < c->nent; i++) {
            if (c->entries[i].function == 1) {
                c->entries[i].ecx |= x86_feature_find("tsc-deadline")->mask;
            }
        }
    }
    return c;
}

const struct kvm_cpuid2 *x86_host_cpuid(void)
{
    static struct kvm_cpuid2 *cached;
    static bool tried;
    int fd;

    if (tried) {
        return cached;
    }
    tried = true;
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    for (uint32_t n = 64; n <= 4096 && !cached; n *= 2) {
        g_autofree struct kvm_cpuid2 *c =
            g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));

        c->nent = n;
        if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            cached = x86_cpuid_host_view(fd, c);
        } else if (errno != E2BIG) {
            break;
        }
    }
    close(fd);
    return cached;
}

/*
 * The model's CPUID for this VM, built once for all its vCPUs (so a
 * missing feature is warned about once); a new VM (a unit test's next
 * machine) builds it again.
 */
static const struct kvm_cpuid2 *x86_cpu_model_cpuid(KvmState *kvm,
                                                    Error **errp)
{
    static struct kvm_cpuid2 *built;
    static const struct kvm_cpuid2 *built_for;
    g_autofree struct kvm_cpuid2 *host = NULL;
    X86FeatureSet final, filtered;

    if (built && built_for == kvm->supported_cpuid) {
        return built;
    }
    g_free(built);
    built = NULL;
    host = x86_cpuid_host_view(kvm->kvm_fd, kvm->supported_cpuid);
    built = x86_cpu_build_cpuid(x86_cpu_current_config(), host, final, errp);
    if (!built) {
        return NULL;
    }
    built_for = kvm->supported_cpuid;
    x86_cpu_filtered_features(x86_cpu_current_config(), host, filtered);
    x86_cpu_set_current_features(final, filtered);
    trace_x86_cpu_model_cpuid(x86_cpu_current_config()->model->name,
                              built->nent);
    return built;
}

bool x86_cpu_setup_cpuid(KvmVcpu *vcpu, unsigned nr_cpus, Error **errp)
{
    const struct kvm_cpuid2 *model = x86_cpu_model_cpuid(vcpu->kvm, errp);
    g_autofree struct kvm_cpuid2 *c = NULL;

    if (!model) {
        return false;
    }
    c = g_memdup2(model, sizeof(*model) +
                         model->nent * sizeof(model->entries[0]));
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
