/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port 0x61 (see the header). OUT2 is derived from KVM_GET_PIT2: the
 * kernel records when channel 2 was loaded (count_load_time, in
 * CLOCK_MONOTONIC nanoseconds) and its count and mode; the 8254 data
 * sheet's output waveforms turn elapsed input ticks into the pin level.
 * Writing bit 0 changes the channel 2 gate through KVM_SET_PIT2.
 * Migration carries the control bits ("port61" section).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include "hw/i386/port61.h"
#include "trace.h"

#define PIT_FREQ_HZ         1193182ULL
#define PORT61_GATE2        0x01
#define PORT61_SPEAKER      0x02
#define PORT61_REFRESH      0x10
#define PORT61_OUT2         0x20
/* DRAM refresh requests toggle bit 4 every 15.085 us on a PC/AT. */
#define REFRESH_PERIOD_NS   15085

bool pit_channel_output(unsigned mode, uint32_t count, uint64_t ticks)
{
    uint64_t n = count ? count : 0x10000;

    switch (mode) {
    case 0:     /* interrupt on terminal count: low until it is reached */
    case 1:     /* hardware one-shot: low while counting */
        return ticks >= n;
    case 2:     /* rate generator: low for one tick per period */
    case 6:
        return ticks % n != n - 1;
    case 3:     /* square wave: high for the first half of each period */
    case 7:
        return ticks % n < (n + 1) / 2;
    case 4:     /* software strobe: low for one tick at terminal count */
    case 5:
        return ticks != n;
    default:
        return true;
    }
}

static int64_t port61_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool port61_get_pit(Port61State *s, struct kvm_pit_state2 *pit)
{
    memset(pit, 0, sizeof(*pit));
    return ioctl(s->kvm->vm_fd, KVM_GET_PIT2, pit) == 0;
}

static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
    Port61State *s = opaque;
    struct kvm_pit_state2 pit;
    int64_t now = port61_now_ns();
    uint8_t v = s->control & (PORT61_GATE2 | PORT61_SPEAKER);

    if ((now / REFRESH_PERIOD_NS) & 1) {
        v |= PORT61_REFRESH;
    }
    if (port61_get_pit(s, &pit)) {
        struct kvm_pit_channel_state *ch = &pit.channels[2];
        int64_t elapsed = MAX(now - ch->count_load_time, 0);
        uint64_t ticks = (uint64_t)elapsed * PIT_FREQ_HZ / 1000000000ULL;

        if (ch->gate && pit_channel_output(ch->mode, ch->count, ticks)) {
            v |= PORT61_OUT2;
        }
    }
    trace_port61_read(v);
    return v;
}

static void port61_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    Port61State *s = opaque;
    struct kvm_pit_state2 pit;
    bool gate = value & PORT61_GATE2;

    trace_port61_write((uint8_t)value);
    s->control = value & (PORT61_GATE2 | PORT61_SPEAKER);
    if (!port61_get_pit(s, &pit) || pit.channels[2].gate == gate) {
        return;
    }
    pit.channels[2].gate = gate;
    if (ioctl(s->kvm->vm_fd, KVM_SET_PIT2, &pit) < 0) {
        trace_port61_set_gate_failed(errno);
    }
}

static const IoOps port61_ops = {
    .read = port61_read,
    .write = port61_write,
};

void port61_reset(Port61State *s)
{
    s->control = 0;
}

/* ---- the vmstate table ---- */

/* One field, bounded: a load either sets valid control bits or fails
 * before touching them. Nothing to recompute afterwards: the bits are read
 * back as they are, and the PIT gate they set is the PIT's own state. */
const VMStateDescription vmstate_port61 = {
    .name = "port61",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_LE(control, Port61State,
                         PORT61_GATE2 | PORT61_SPEAKER),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- registration ---- */

Port61State *port61_new(IoBus *pio, KvmState *kvm, Error **errp)
{
    Port61State *s = g_new0(Port61State, 1);

    s->kvm = kvm;
    if (!io_bus_register(pio, "port61", 0x61, 1, &port61_ops, s, errp)) {
        g_free(s);
        return NULL;
    }
    return s;
}

bool port61_vmstate_register(Port61State *s, SaveVMState *sv, Error **errp)
{
    return savevm_register(sv, vmstate_port61.name, 0, &vmstate_port61, s,
                           errp);
}

void port61_vmstate_unregister(SaveVMState *sv)
{
    savevm_unregister(sv, vmstate_port61.name, 0);
}
