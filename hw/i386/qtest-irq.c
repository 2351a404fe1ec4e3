/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qtest accelerator's interrupt lines (see include/hw/i386/qtest-irq.h):
 * a level per IOAPIC pin, reported to the qtest server on every change.
 */
#include "hw/i386/qtest-irq.h"
#include "trace.h"

unsigned qtest_irq_isa_pin(unsigned irq)
{
    return irq == 0 ? 2 : irq;
}

void qtest_irq_set_isa(void *opaque, unsigned irq, bool level)
{
    QtestIrqState *s = opaque;
    unsigned pin = qtest_irq_isa_pin(irq);

    if (pin >= QTEST_IRQ_PINS) {
        trace_qtest_irq_bad_line(irq);
        return;
    }
    if (s->level[pin] == level) {
        return;
    }
    s->level[pin] = level;
    trace_qtest_irq_set(irq, pin, level);
    qtest_irq_changed(&s->src, pin, level);
}

QtestIrqState *qtest_irq_new(void)
{
    QtestIrqState *s = g_new0(QtestIrqState, 1);

    s->src = (QtestIrqSource) {
        .name = "ioapic",
        .nr_in = QTEST_IRQ_PINS,
        .in_levels = s->level,
    };
    qtest_irq_source_add(&s->src);
    return s;
}

void qtest_irq_free(QtestIrqState *s)
{
    if (s) {
        qtest_irq_source_remove(&s->src);
        g_free(s);
    }
}
