/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ISA bus as devices see it: the port I/O space they register in and
 * the 16 ISA interrupt lines. The machine owns it and registers it with
 * the device registry (include/hw/core/qdev.h) as "isa.0"; an ISA
 * device's realize gets it as its BusState.
 */
#ifndef HW_CORE_ISA_BUS_H
#define HW_CORE_ISA_BUS_H

#include "hw/core/qdev.h"
#include "hw/irq.h"
#include "system/ioport.h"

#define ISA_NUM_IRQS 16

typedef struct IsaBus {
    BusState bus;           /* first; kind BUS_KIND_ISA */
    IoBus *pio;
    /* Raises or lowers ISA interrupt n (0-15) at the interrupt
     * controller. */
    void (*set_irq)(void *opaque, unsigned n, bool level);
    void *irq_opaque;
} IsaBus;

static inline IsaBus *isa_bus_of(BusState *bus)
{
    g_assert(bus->kind == BUS_KIND_ISA);
    return (IsaBus *)bus;
}

/* The line a device on bus drives for ISA interrupt n. */
static inline IrqLine isa_bus_irq(IsaBus *bus, unsigned n)
{
    g_assert(n < ISA_NUM_IRQS);
    return (IrqLine) { .handler = bus->set_irq, .opaque = bus->irq_opaque,
                       .n = n };
}

#endif
