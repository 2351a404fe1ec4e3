/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isa-serial: the bus glue that makes the 16550A UART of serial.c an ISA
 * device of the registry (see the header). Realize resolves index, port
 * and IRQ, finds the chardev by id and builds the UART on the ISA bus;
 * the UART itself knows nothing of the registry.
 */
#include <string.h>
#include "hw/char/serial.h"
#include "hw/core/isa-bus.h"

/* The PC's COM1-COM4. */
static const struct {
    uint16_t iobase;
    uint8_t irq;
} isa_serial_ports[SERIAL_ISA_MAX_PORTS] = {
    { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

#define ISA_SERIAL(dev) ((ISASerialState *)(dev))

static bool isa_serial_is(const DeviceState *dev)
{
    return !strcmp(qdev_type_name(dev), TYPE_ISA_SERIAL);
}

typedef struct IsaSerialFind {
    unsigned index;
    ISASerialState *found;
} IsaSerialFind;

static void isa_serial_find_one(DeviceState *dev, void *opaque)
{
    IsaSerialFind *f = opaque;

    if (!f->found && dev->bus && isa_serial_is(dev) &&
        ISA_SERIAL(dev)->index == f->index) {
        f->found = ISA_SERIAL(dev);
    }
}

static ISASerialState *isa_serial_find_dev(unsigned index)
{
    IsaSerialFind f = { .index = index };

    qdev_foreach(isa_serial_find_one, &f);
    return f.found;
}

SerialState *isa_serial_find(unsigned index)
{
    ISASerialState *s = isa_serial_find_dev(index);

    return s ? s->state : NULL;
}

static bool isa_serial_pick_index(ISASerialState *s, Error **errp)
{
    if (s->index != UINT32_MAX) {
        if (isa_serial_find_dev(s->index)) {
            error_setg(errp, "isa-serial index %u is already in use",
                       s->index);
            return false;
        }
        return true;
    }
    for (unsigned i = 0; i < SERIAL_ISA_MAX_PORTS; i++) {
        if (!isa_serial_find_dev(i)) {
            s->index = i;
            return true;
        }
    }
    /* QEMU's text. */
    error_setg(errp, "Max. supported number of ISA serial ports is %d.",
               SERIAL_ISA_MAX_PORTS);
    return false;
}

/* ---- properties ---- */

static const ObjectProperty isa_serial_props[] = {
    OBJ_PROP_RANGE("index", OBJ_PROP_UINT32, ISASerialState, index,
                   "COM port number, or the next free one",
                   0, SERIAL_ISA_MAX_PORTS - 1, "0xffffffff"),
    OBJ_PROP_RANGE("iobase", OBJ_PROP_UINT32, ISASerialState, iobase,
                   "first of 8 I/O ports, or COMn's from index",
                   0, 0xfff8, "0xffffffff"),
    OBJ_PROP_RANGE("irq", OBJ_PROP_UINT32, ISASerialState, irq,
                   "ISA interrupt, or COMn's from index",
                   0, ISA_NUM_IRQS - 1, "0xffffffff"),
    OBJ_PROP("chardev", OBJ_PROP_STR, ISASerialState, chardev,
             "ID of a chardev to use as a backend"),
    { NULL },
};

/* ---- registration ---- */

static bool isa_serial_realize(DeviceState *dev, BusState *bus, Error **errp)
{
    ISASerialState *s = ISA_SERIAL(dev);
    IsaBus *isa = isa_bus_of(bus);
    Chardev *chr = NULL;
    char name[16];

    if (!isa_serial_pick_index(s, errp)) {
        return false;
    }
    if (s->iobase == UINT32_MAX) {
        s->iobase = isa_serial_ports[s->index].iobase;
    }
    if (s->irq == UINT32_MAX) {
        s->irq = isa_serial_ports[s->index].irq;
    }
    if (s->chardev) {
        chr = chardev_find(s->chardev);
        if (!chr) {
            /* QEMU's text. */
            error_setg(errp, "Property '%s.chardev' can't find value '%s'",
                       TYPE_ISA_SERIAL, s->chardev);
            return false;
        }
    }
    g_snprintf(name, sizeof(name), "serial%u", s->index);
    s->state = serial_isa_new(isa->pio, s->iobase, isa_bus_irq(isa, s->irq),
                              chr, name, errp);
    if (!s->state) {
        return false;
    }
    s->pio = isa->pio;
    return true;
}

static void isa_serial_unrealize(DeviceState *dev)
{
    ISASerialState *s = ISA_SERIAL(dev);

    io_bus_unregister(s->pio, s->iobase);
    serial_free(s->state);
    s->state = NULL;
    s->pio = NULL;
}

static void isa_serial_reset(DeviceState *dev)
{
    serial_reset(ISA_SERIAL(dev)->state);
}

static const DeviceClass isa_serial_class = {
    .type = {
        .name = TYPE_ISA_SERIAL,
        .parent = TYPE_DEVICE,
        .description = "16550A UART",
        .instance_size = sizeof(ISASerialState),
        .props = isa_serial_props,
    },
    .category = DEVICE_CATEGORY_INPUT,
    .bus_kind = BUS_KIND_ISA,
    .realize = isa_serial_realize,
    .unrealize = isa_serial_unrealize,
    .reset = isa_serial_reset,
};
DEVICE_CLASS_REGISTER(isa_serial_class)
