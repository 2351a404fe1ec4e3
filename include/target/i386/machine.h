/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration of x86 vCPUs: the "cpu" vmstate section (one per vCPU, instance
 * id = vCPU index) carries the whole X86CPUState. Each vCPU gets an
 * X86CPUMigration, owned by the machine (PCMachine.cpu_migration[]), that
 * holds the buffer the section is saved from and loaded into: pre_save
 * fetches the paused vCPU's state into it with x86_cpu_get_state(), and
 * post_load validates what was loaded against this host (XSAVE size, MSRs
 * KVM supports, event flags) before x86_cpu_put_state() touches the vCPU.
 * A put that KVM refuses half-way is rolled back to the state the vCPU had
 * before the load, so a failed "cpu" section leaves the vCPU as it was.
 * The caller pauses the vCPUs around saving and loading.
 */
#ifndef TARGET_I386_MACHINE_H
#define TARGET_I386_MACHINE_H

#include "migration/savevm.h"
#include "target/i386/cpu.h"

/*
 * Upper bound on the XSAVE size a stream may announce, so that a hostile
 * one cannot make us allocate much; the loaded size must in addition equal
 * this host's (KVM_CAP_XSAVE2, 4096 minimum; about 11 KiB with AMX).
 */
#define X86_XSAVE_MAX_SIZE  (64u * 1024)

typedef struct X86CPUMigration {
    X86CPUState state;      /* first: the "cpu" fields are X86CPUState's */
    KvmVcpu *vcpu;
    /* This host's layout (MSR list, XSAVE size) and, during a load, the
     * vCPU's previous state for the rollback. */
    X86CPUState *host;
    /* A load succeeded: the vCPU holds a migrated guest's state (so a
     * destination started without -kernel has something to run,
     * hw/i386/pc.c). */
    bool loaded;
} X86CPUMigration;

extern const VMStateDescription vmstate_x86_cpu;

X86CPUMigration *x86_cpu_migration_new(KvmVcpu *vcpu);
void x86_cpu_migration_free(X86CPUMigration *m);

/* Registers the "cpu" section of m->vcpu (instance = vCPU index). */
bool x86_cpu_vmstate_register(SaveVMState *sv, X86CPUMigration *m,
                              Error **errp);
void x86_cpu_vmstate_unregister(SaveVMState *sv, X86CPUMigration *m);

#endif
