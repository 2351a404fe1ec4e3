/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isa-debug-exit: a test device. A guest write of V to its port ends the
 * process with exit status (V << 1) | 1, QEMU's rule, so an exit status of
 * 1 always means "the guest asked" and tests can tell it from a crash.
 */
#ifndef HW_MISC_DEBUG_EXIT_H
#define HW_MISC_DEBUG_EXIT_H

#include <stdint.h>
#include "system/ioport.h"

typedef struct DebugExitState {
    uint16_t iobase;
    uint16_t iosize;
} DebugExitState;

#define DEBUG_EXIT_DEFAULT_IOBASE 0x501
#define DEBUG_EXIT_DEFAULT_IOSIZE 0x02

DebugExitState *debug_exit_new(IoBus *pio, uint16_t iobase, uint16_t iosize,
                               Error **errp);

#endif
