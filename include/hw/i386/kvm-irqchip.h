/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * State of the in-kernel interrupt controllers and timer: both 8259 PICs,
 * the IOAPIC and the PIT. Saved once at creation (their power-on state,
 * restored on reset) and, later, by migration and COLO.
 */
#ifndef HW_I386_KVM_IRQCHIP_H
#define HW_I386_KVM_IRQCHIP_H

#include <linux/kvm.h>
#include "accel/kvm.h"
#include "migration/savevm.h"

typedef struct KvmIrqchipState {
    struct kvm_irqchip pic_master;
    struct kvm_irqchip pic_slave;
    struct kvm_irqchip ioapic;
    struct kvm_pit_state2 pit;
} KvmIrqchipState;

bool kvm_irqchip_get_state(KvmState *kvm, KvmIrqchipState *st, Error **errp);
bool kvm_irqchip_put_state(KvmState *kvm, const KvmIrqchipState *st,
                           Error **errp);

/*
 * Migration: the "kvm-irqchip" section. The machine owns one of these
 * (kvm set, state the buffer): pre_save fetches the chips into state,
 * post_load puts state back; a put KVM refuses half-way is rolled back to
 * what the chips held before, so a failed load leaves them unchanged.
 */
typedef struct KvmIrqchipMigration {
    KvmIrqchipState state;      /* first: the fields are offsets into it */
    KvmState *kvm;
} KvmIrqchipMigration;

extern const VMStateDescription vmstate_kvm_irqchip;

bool kvm_irqchip_vmstate_register(SaveVMState *sv, KvmIrqchipMigration *m,
                                  Error **errp);
void kvm_irqchip_vmstate_unregister(SaveVMState *sv);

#endif
