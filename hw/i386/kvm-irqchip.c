/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Get and put the in-kernel PICs, IOAPIC and PIT (see the header), and
 * their migration section "kvm-irqchip": both PICs, the IOAPIC and the
 * PIT (struct kvm_pit_state2) field by field.
 */
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

/* ---- migration: pre-save / post-load ---- */

_Static_assert(offsetof(KvmIrqchipMigration, state) == 0,
               "the vmstate fields are offsets into KvmIrqchipState");

static bool kvm_irqchip_pre_save(void *opaque, Error **errp)
{
    KvmIrqchipMigration *m = opaque;

    return kvm_irqchip_get_state(m->kvm, &m->state, errp);
}

static bool kvm_irqchip_post_load(void *opaque, int version_id, Error **errp)
{
    ERRP_GUARD();
    KvmIrqchipMigration *m = opaque;
    KvmIrqchipState before;
    g_autoptr(Error) rollback_err = NULL;

    if (!kvm_irqchip_get_state(m->kvm, &before, errp)) {
        return false;
    }
    if (kvm_irqchip_put_state(m->kvm, &m->state, errp)) {
        return true;
    }
    if (!kvm_irqchip_put_state(m->kvm, &before, &rollback_err)) {
        error_prepend(errp, "(and restoring the previous state failed: %s) ",
                      error_get_pretty(rollback_err));
    }
    return false;
}

/* ---- migration: the vmstate table ---- */

static const VMStateDescription vmstate_kvm_pic = {
    .name = "kvm-irqchip/pic",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(last_irr, struct kvm_pic_state),
        VMSTATE_UINT8(irr, struct kvm_pic_state),
        VMSTATE_UINT8(imr, struct kvm_pic_state),
        VMSTATE_UINT8(isr, struct kvm_pic_state),
        VMSTATE_UINT8(priority_add, struct kvm_pic_state),
        VMSTATE_UINT8(irq_base, struct kvm_pic_state),
        VMSTATE_UINT8(read_reg_select, struct kvm_pic_state),
        VMSTATE_UINT8(poll, struct kvm_pic_state),
        VMSTATE_UINT8(special_mask, struct kvm_pic_state),
        VMSTATE_UINT8(init_state, struct kvm_pic_state),
        VMSTATE_UINT8(auto_eoi, struct kvm_pic_state),
        VMSTATE_UINT8(rotate_on_auto_eoi, struct kvm_pic_state),
        VMSTATE_UINT8(special_fully_nested_mode, struct kvm_pic_state),
        VMSTATE_UINT8(init4, struct kvm_pic_state),
        VMSTATE_UINT8(elcr, struct kvm_pic_state),
        VMSTATE_UINT8(elcr_mask, struct kvm_pic_state),
        VMSTATE_END_OF_LIST()
    },
};

/* The redirection table entry is an anonymous union; its raw 64 bits are
 * the register as the guest wrote it. */
typedef __typeof__(((struct kvm_ioapic_state *)0)->redirtbl[0])
    KvmIoapicRedirEntry;

static const VMStateDescription vmstate_kvm_ioapic_redir = {
    .name = "kvm-irqchip/ioapic-redir",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(bits, KvmIoapicRedirEntry),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_kvm_ioapic = {
    .name = "kvm-irqchip/ioapic",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(base_address, struct kvm_ioapic_state),
        VMSTATE_UINT32(ioregsel, struct kvm_ioapic_state),
        VMSTATE_UINT32(id, struct kvm_ioapic_state),
        VMSTATE_UINT32(irr, struct kvm_ioapic_state),
        VMSTATE_STRUCT_ARRAY(redirtbl, struct kvm_ioapic_state,
                             KVM_IOAPIC_NUM_PINS, vmstate_kvm_ioapic_redir,
                             KvmIoapicRedirEntry),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_kvm_pit_channel = {
    .name = "kvm-irqchip/pit-channel",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(count, struct kvm_pit_channel_state),
        VMSTATE_UINT16(latched_count, struct kvm_pit_channel_state),
        VMSTATE_UINT8(count_latched, struct kvm_pit_channel_state),
        VMSTATE_UINT8(status_latched, struct kvm_pit_channel_state),
        VMSTATE_UINT8(status, struct kvm_pit_channel_state),
        VMSTATE_UINT8(read_state, struct kvm_pit_channel_state),
        VMSTATE_UINT8(write_state, struct kvm_pit_channel_state),
        VMSTATE_UINT8(write_latch, struct kvm_pit_channel_state),
        VMSTATE_UINT8(rw_mode, struct kvm_pit_channel_state),
        VMSTATE_UINT8(mode, struct kvm_pit_channel_state),
        VMSTATE_UINT8(bcd, struct kvm_pit_channel_state),
        VMSTATE_UINT8(gate, struct kvm_pit_channel_state),
        VMSTATE_INT64(count_load_time, struct kvm_pit_channel_state),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_kvm_pit = {
    .name = "kvm-irqchip/pit",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(channels, struct kvm_pit_state2, 3,
                             vmstate_kvm_pit_channel,
                             struct kvm_pit_channel_state),
        VMSTATE_UINT32(flags, struct kvm_pit_state2),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_kvm_irqchip = {
    .name = "kvm-irqchip",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = kvm_irqchip_pre_save,
    .post_load = kvm_irqchip_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(pic_master.chip.pic, KvmIrqchipState,
                       vmstate_kvm_pic, struct kvm_pic_state),
        VMSTATE_STRUCT(pic_slave.chip.pic, KvmIrqchipState,
                       vmstate_kvm_pic, struct kvm_pic_state),
        VMSTATE_STRUCT(ioapic.chip.ioapic, KvmIrqchipState,
                       vmstate_kvm_ioapic, struct kvm_ioapic_state),
        VMSTATE_STRUCT(pit, KvmIrqchipState, vmstate_kvm_pit,
                       struct kvm_pit_state2),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- migration: registration ---- */

bool kvm_irqchip_vmstate_register(SaveVMState *sv, KvmIrqchipMigration *m,
                                  Error **errp)
{
    return savevm_register(sv, vmstate_kvm_irqchip.name, 0,
                           &vmstate_kvm_irqchip, m, errp);
}

void kvm_irqchip_vmstate_unregister(SaveVMState *sv)
{
    savevm_unregister(sv, vmstate_kvm_irqchip.name, 0);
}
