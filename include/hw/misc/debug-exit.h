/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isa-debug-exit: a test device. A guest write of V to its port ends the
 * process with exit status (V << 1) | 1, QEMU's rule, so an exit status of
 * 1 always means "the guest asked" and tests can tell it from a crash.
 * An ordinary ISA device of the registry (include/hw/core/qdev.h):
 * -device isa-debug-exit[,iobase=N][,iosize=N].
 */
#ifndef HW_MISC_DEBUG_EXIT_H
#define HW_MISC_DEBUG_EXIT_H

#include <stdint.h>
#include "hw/core/qdev.h"
#include "system/ioport.h"

#define TYPE_ISA_DEBUG_EXIT "isa-debug-exit"

typedef struct DebugExitState {
    DeviceState parent_obj;
    /* properties */
    uint32_t iobase;
    uint32_t iosize;
    /* wiring, once realized */
    IoBus *pio;
} DebugExitState;

#define DEBUG_EXIT_DEFAULT_IOBASE 0x501
#define DEBUG_EXIT_DEFAULT_IOSIZE 0x02

#endif
