/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PC system control port B (I/O port 0x61): PIT channel 2 gate (bit 0),
 * speaker data enable (bit 1), the refresh toggle (bit 4) and PIT channel
 * 2's output (bit 5). Guests use it to calibrate their TSC against the
 * PIT. The in-kernel PIT of some KVMs (this host's PVM included) leaves
 * the port to userspace, so we compute OUT2 from the PIT state KVM keeps.
 */
#ifndef HW_I386_PORT61_H
#define HW_I386_PORT61_H

#include "accel/kvm.h"
#include "migration/savevm.h"
#include "system/ioport.h"

typedef struct Port61State {
    KvmState *kvm;
    uint8_t control;        /* bits 0-1 as last written */
} Port61State;

Port61State *port61_new(IoBus *pio, KvmState *kvm, Error **errp);
void port61_reset(Port61State *s);

/* Migration: the "port61" section, the control bits. (The channel 2 gate
 * they drive lives in the PIT and travels in "kvm-irqchip".) */
extern const VMStateDescription vmstate_port61;

bool port61_vmstate_register(Port61State *s, SaveVMState *sv, Error **errp);
void port61_vmstate_unregister(SaveVMState *sv);

/*
 * The 8254 OUT pin for a counter in `mode` loaded with `count` (0 means
 * 65536), `ticks` input-clock periods after the load. Exposed for tests.
 */
bool pit_channel_output(unsigned mode, uint32_t count, uint64_t ticks);

#endif
