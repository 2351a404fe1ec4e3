/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmclock (see the header). The state is the kvmclock value in
 * nanoseconds as KVM_GET_CLOCK reads it with the vCPUs paused, and the
 * flags KVM reported with it (KVM_CLOCK_TSC_STABLE and friends; they say
 * how the value was obtained and are kept for analysis, KVM_SET_CLOCK is
 * given the value only). post_load sets the clock with KVM_SET_CLOCK.
 */
#include "hw/i386/kvmclock.h"
#include "trace.h"

struct KvmClockState {
    uint64_t clock;         /* ns, KVM_GET_CLOCK at save */
    uint32_t flags;         /* KVM_CLOCK_* as reported with it */
    KvmState *kvm;
};

/* ---- pre-save / post-load ---- */

static bool kvmclock_pre_save(void *opaque, Error **errp)
{
    KvmClockState *s = opaque;
    struct kvm_clock_data data;

    if (!kvm_get_clock(s->kvm, &data, errp)) {
        return false;
    }
    s->clock = data.clock;
    s->flags = data.flags;
    trace_kvmclock_save(s->clock, s->flags);
    return true;
}

static bool kvmclock_post_load(void *opaque, int version_id, Error **errp)
{
    KvmClockState *s = opaque;
    struct kvm_clock_data data = { .clock = s->clock };

    trace_kvmclock_load(s->clock, s->flags);
    return kvm_set_clock(s->kvm, &data, errp);
}

/* ---- the vmstate table ---- */

const VMStateDescription vmstate_kvmclock = {
    .name = "kvmclock",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = kvmclock_pre_save,
    .post_load = kvmclock_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(clock, KvmClockState),
        VMSTATE_UINT32(flags, KvmClockState),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- registration ---- */

KvmClockState *kvmclock_new(KvmState *kvm)
{
    KvmClockState *s = g_new0(KvmClockState, 1);

    s->kvm = kvm;
    return s;
}

void kvmclock_free(KvmClockState *s)
{
    g_free(s);
}

bool kvmclock_vmstate_register(SaveVMState *sv, KvmClockState *s,
                               Error **errp)
{
    return savevm_register(sv, vmstate_kvmclock.name, 0, &vmstate_kvmclock,
                           s, errp);
}

void kvmclock_vmstate_unregister(SaveVMState *sv)
{
    savevm_unregister(sv, vmstate_kvmclock.name, 0);
}
