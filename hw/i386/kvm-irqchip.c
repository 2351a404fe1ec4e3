/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Get and put the in-kernel PICs, IOAPIC and PIT (see the header). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "hw/i386/kvm-irqchip.h"

static bool kvm_irqchip_io(KvmState *kvm, struct kvm_irqchip *chip,
                           unsigned chip_id, bool put, Error **errp)
{
    static const char *const names[] = { "master PIC", "slave PIC", "IOAPIC" };

    chip->chip_id = chip_id;
    if (ioctl(kvm->vm_fd, put ? KVM_SET_IRQCHIP : KVM_GET_IRQCHIP, chip) < 0) {
        error_setg_errno(errp, errno, "cannot %s the %s state",
                         put ? "set" : "get", names[chip_id]);
        return false;
    }
    return true;
}

bool kvm_irqchip_get_state(KvmState *kvm, KvmIrqchipState *st, Error **errp)
{
    memset(st, 0, sizeof(*st));
    if (!kvm_irqchip_io(kvm, &st->pic_master, KVM_IRQCHIP_PIC_MASTER, false,
                        errp) ||
        !kvm_irqchip_io(kvm, &st->pic_slave, KVM_IRQCHIP_PIC_SLAVE, false,
                        errp) ||
        !kvm_irqchip_io(kvm, &st->ioapic, KVM_IRQCHIP_IOAPIC, false, errp)) {
        return false;
    }
    if (ioctl(kvm->vm_fd, KVM_GET_PIT2, &st->pit) < 0) {
        error_setg_errno(errp, errno, "cannot get the PIT state");
        return false;
    }
    return true;
}

bool kvm_irqchip_put_state(KvmState *kvm, const KvmIrqchipState *cst,
                           Error **errp)
{
    KvmIrqchipState st = *cst;     /* the ioctls want writable buffers */

    if (!kvm_irqchip_io(kvm, &st.pic_master, KVM_IRQCHIP_PIC_MASTER, true,
                        errp) ||
        !kvm_irqchip_io(kvm, &st.pic_slave, KVM_IRQCHIP_PIC_SLAVE, true,
                        errp) ||
        !kvm_irqchip_io(kvm, &st.ioapic, KVM_IRQCHIP_IOAPIC, true, errp)) {
        return false;
    }
    if (ioctl(kvm->vm_fd, KVM_SET_PIT2, &st.pit) < 0) {
        error_setg_errno(errp, errno, "cannot set the PIT state");
        return false;
    }
    return true;
}
