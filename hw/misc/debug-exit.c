/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isa-debug-exit (see the header). The write only posts a request: the
 * main loop pauses the vCPUs, flushes chardevs and exits, so output the
 * guest produced before the write is never lost.
 */
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

DebugExitState *debug_exit_new(IoBus *pio, uint16_t iobase, uint16_t iosize,
                               Error **errp)
{
    DebugExitState *d = g_new0(DebugExitState, 1);

    d->iobase = iobase;
    d->iosize = iosize;
    if (!iosize) {
        error_setg(errp, "isa-debug-exit: iosize must not be 0");
        g_free(d);
        return NULL;
    }
    if (!io_bus_register(pio, "isa-debug-exit", iobase, iosize,
                         &debug_exit_ops, d, errp)) {
        g_free(d);
        return NULL;
    }
    return d;
}
