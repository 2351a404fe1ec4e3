/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A 16550A UART on the ISA bus (COM1 = 0x3f8, IRQ 4). Output goes to a
 * chardev as soon as the guest writes THR; input from the chardev fills
 * a 16-byte receive FIFO.
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H

#include <stdbool.h>
#include <stdint.h>
#include "chardev/char.h"
#include "hw/irq.h"
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
} SerialState;

SerialState *serial_isa_new(IoBus *pio, uint16_t iobase, IrqLine irq,
                            Chardev *chr, const char *name, Error **errp);
void serial_reset(SerialState *s);
void serial_free(SerialState *s);

#endif
