/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An interrupt line from a device to the interrupt controller. The device
 * sets its level; only changes reach the handler (for the pc machine,
 * KVM_IRQ_LINE on the in-kernel PIC/IOAPIC).
 */
#ifndef HW_IRQ_H
#define HW_IRQ_H

#include <stdbool.h>

typedef struct IrqLine {
    void (*handler)(void *opaque, unsigned n, bool level);
    void *opaque;
    unsigned n;
    bool level;
} IrqLine;

static inline void irq_set_level(IrqLine *irq, bool level)
{
    if (irq->handler && irq->level != level) {
        irq->level = level;
        irq->handler(irq->opaque, irq->n, level);
    }
}

#endif
