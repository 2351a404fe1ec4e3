/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The interrupt lines of the pc under the qtest accelerator, where there
 * is no in-kernel irqchip and no vCPU to interrupt: a line-state model
 * of the IOAPIC's 24 input pins. ISA IRQ n drives pin n, except IRQ 0
 * which is wired to pin 2 as on every PC (the MP table's override);
 * PCI INTx reaches the pins through the PIIX3's PIRQ routing like any
 * ISA IRQ. The model only records levels: nothing is delivered. It
 * registers as the qtest interrupt source "ioapic", so that after
 * `irq_intercept_in ioapic` every level change is sent to the test as
 * "IRQ raise N" / "IRQ lower N" (N the pin), as QEMU's qtest does.
 */
#ifndef HW_I386_QTEST_IRQ_H
#define HW_I386_QTEST_IRQ_H

#include <stdbool.h>
#include "system/qtest.h"

#define QTEST_IRQ_PINS 24

typedef struct QtestIrqState {
    QtestIrqSource src;             /* "ioapic", registered with qtest */
    bool level[QTEST_IRQ_PINS];
} QtestIrqState;

QtestIrqState *qtest_irq_new(void);
void qtest_irq_free(QtestIrqState *s);
/* An ISA IRQ line (0-15) changes level (IsaBus.set_irq). */
void qtest_irq_set_isa(void *opaque, unsigned irq, bool level);
/* The IOAPIC pin an ISA IRQ drives. */
unsigned qtest_irq_isa_pin(unsigned irq);

#endif
