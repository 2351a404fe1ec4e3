/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmclock as a device: the VM-wide clock that KVM's paravirtual clock
 * (MSR_KVM_SYSTEM_TIME_NEW) is based on. Migration carries its value in
 * the "kvmclock" section so that the guest's clock continues from where
 * it stopped instead of jumping by the hosts' uptime difference.
 */
#ifndef HW_I386_KVMCLOCK_H
#define HW_I386_KVMCLOCK_H

#include "accel/kvm.h"
#include "migration/savevm.h"

typedef struct KvmClockState KvmClockState;

extern const VMStateDescription vmstate_kvmclock;

KvmClockState *kvmclock_new(KvmState *kvm);
void kvmclock_free(KvmClockState *s);

bool kvmclock_vmstate_register(SaveVMState *sv, KvmClockState *s,
                               Error **errp);
void kvmclock_vmstate_unregister(SaveVMState *sv);

#endif
