/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isa-debug-exit (see the header). The write only posts a request: the
 * main loop pauses the vCPUs, flushes chardevs and exits, so output the
 * guest produced before the write is never lost.
 */
#include "hw/core/isa-bus.h"
#include "hw/misc/debug-exit.h"
#include "system/cpus.h"
#include "system/runstate.h"
#include "trace.h"

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    int status = (int)((value << 1) | 1);

    trace_debug_exit_write(value, status & 0xff);
    system_debug_exit_request(status & 0xff);
}

static const IoOps debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
};

/* ---- properties ---- */

/* Once the properties are set, before any bus exists: so -device
 * reports a bad range while the command line is parsed. */
static bool debug_exit_complete(Object *obj, Error **errp)
{
    DebugExitState *d = (DebugExitState *)obj;

    if (!d->iosize) {
        error_setg(errp, "iosize must not be 0");
        return false;
    }
    if (d->iobase > 0xffff || d->iosize > 0x10000 ||
        d->iobase + d->iosize > 0x10000) {
        error_setg(errp, "iobase 0x%x + iosize 0x%x is outside the I/O port "
                   "space", d->iobase, d->iosize);
        return false;
    }
    return true;
}

static const ObjectProperty debug_exit_props[] = {
    { .name = "iobase", .type = OBJ_PROP_UINT32,
      .offset = offsetof(DebugExitState, iobase),
      .desc = "the first I/O port", .default_value = G_STRINGIFY(DEBUG_EXIT_DEFAULT_IOBASE) },
    { .name = "iosize", .type = OBJ_PROP_UINT32,
      .offset = offsetof(DebugExitState, iosize),
      .desc = "how many I/O ports, from iobase",
      .default_value = G_STRINGIFY(DEBUG_EXIT_DEFAULT_IOSIZE) },
    { NULL },
};

/* ---- registration ---- */

static bool debug_exit_realize(DeviceState *dev, BusState *bus, Error **errp)
{
    DebugExitState *d = (DebugExitState *)dev;
    IsaBus *isa = isa_bus_of(bus);

    if (!io_bus_register(isa->pio, TYPE_ISA_DEBUG_EXIT, d->iobase, d->iosize,
                         &debug_exit_ops, d, errp)) {
        return false;
    }
    d->pio = isa->pio;
    return true;
}

static void debug_exit_unrealize(DeviceState *dev)
{
    DebugExitState *d = (DebugExitState *)dev;

    io_bus_unregister(d->pio, d->iobase);
    d->pio = NULL;
}

static const DeviceClass debug_exit_class = {
    .type = {
        .name = TYPE_ISA_DEBUG_EXIT,
        .parent = TYPE_DEVICE,
        .description = "exit with status (value << 1) | 1 on a port write",
        .instance_size = sizeof(DebugExitState),
        .props = debug_exit_props,
        .complete = debug_exit_complete,
    },
    .category = DEVICE_CATEGORY_MISC,
    .bus_kind = BUS_KIND_ISA,
    .realize = debug_exit_realize,
    .unrealize = debug_exit_unrealize,
};
DEVICE_CLASS_REGISTER(debug_exit_class)
