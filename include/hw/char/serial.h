/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A 16550A UART on the ISA bus (COM1 = 0x3f8, IRQ 4). Output goes to a
 * chardev as soon as the guest writes THR (through the chardev's hold
 * stage: include/chardev/char-hold.h); input from the chardev fills
 * a 16-byte receive FIFO.
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H

#include <stdbool.h>
#include <stdint.h>
#include "chardev/char.h"
#include "hw/core/qdev.h"
#include "hw/irq.h"
#include "migration/savevm.h"
#include "system/ioport.h"

#define SERIAL_FIFO_SIZE 16

typedef struct SerialState {
    /* registers */
    uint16_t divisor;
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    /* receive FIFO (also used as the single RBR with FIFOs off) */
    uint8_t rx_fifo[SERIAL_FIFO_SIZE];
    uint8_t rx_head, rx_count;
    bool thr_interrupt;     /* THR empty interrupt pending */
    /* wiring */
    uint16_t iobase;
    IrqLine irq;
    Chardev *chr;
    char name[16];          /* "serial0" */
    /* migration: the buffer the "serial" section is loaded into */
    struct SerialMigration *migration;
} SerialState;

SerialState *serial_isa_new(IoBus *pio, uint16_t iobase, IrqLine irq,
                            Chardev *chr, const char *name, Error **errp);
void serial_reset(SerialState *s);
void serial_free(SerialState *s);

/*
 * isa-serial (hw/char/serial-isa.c): the UART as a device of the
 * registry, as QEMU spells it: -device isa-serial,chardev=ID[,index=N]
 * [,iobase=N][,irq=N]. index picks COMn's port and IRQ (0x3f8/4,
 * 0x2f8/3, 0x3e8/4, 0x2e8/3) unless iobase/irq say otherwise; without
 * index the next free one is taken. The machine creates one per -serial
 * the same way.
 */
#define TYPE_ISA_SERIAL "isa-serial"
#define SERIAL_ISA_MAX_PORTS 4

typedef struct ISASerialState {
    DeviceState parent_obj;
    /* properties; UINT32_MAX: derived from the index */
    uint32_t index;
    uint32_t iobase;
    uint32_t irq;
    char *chardev;          /* a -chardev id, or NULL: no backend */
    /* once realized */
    SerialState *state;
    IoBus *pio;
} ISASerialState;

/* The realized isa-serial with this index, or NULL. */
SerialState *isa_serial_find(unsigned index);

/*
 * Migration: the "serial" section (instance = port index). It carries
 * every register, the receive FIFO with its head and count, and the
 * pending THR interrupt. A load goes into a copy that post_load checks
 * and only then commits, so a failed load leaves the UART as it was.
 */
extern const VMStateDescription vmstate_serial;

bool serial_vmstate_register(SerialState *s, SaveVMState *sv,
                             uint32_t instance_id, Error **errp);
void serial_vmstate_unregister(SerialState *s, SaveVMState *sv,
                               uint32_t instance_id);

#endif
