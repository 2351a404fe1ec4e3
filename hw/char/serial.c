/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 16550A UART. Transmission is instantaneous (the chardev takes the byte
 * at THR write), so THR and the shift register are always empty again by
 * the time the guest reads LSR; that is what a guest polling LSR.THRE
 * expects, and costs one exit per byte. Bytes go out with the ordinary
 * front-end write; the port attaches as a guest-output front end, so the
 * chardev layer may keep them back on their way (its hold stage, see
 * include/chardev/char-hold.h); to the guest they are sent either way.
 * Loopback (MCR bit 4) routes output to input and modem outputs to modem
 * inputs, because Linux's 8250 driver probes the port that way. Migration ("serial" section)
 * carries every register and the receive FIFO; see the header.
 */
#include <string.h>
#include "hw/char/serial.h"
#include "trace.h"

enum {
    UART_RBR_THR = 0,   /* DLL when LCR.DLAB */
    UART_IER = 1,       /* DLM when LCR.DLAB */
    UART_IIR_FCR = 2,
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_MSR = 6,
    UART_SCR = 7,
};

#define IER_RDI     0x01    /* received data available */
#define IER_THRI    0x02    /* THR empty */
#define IER_RLSI    0x04    /* receiver line status */
#define IER_MSI     0x08    /* modem status */

#define IIR_NO_INT  0x01
#define IIR_MSI     0x00
#define IIR_THRI    0x02
#define IIR_RDI     0x04
#define IIR_RLSI    0x06
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE  0x01
#define FCR_CLR_RX  0x02
#define FCR_CLR_TX  0x04

#define LCR_DLAB    0x80

#define MCR_DTR     0x01
#define MCR_RTS     0x02
#define MCR_OUT1    0x04
#define MCR_OUT2    0x08
#define MCR_LOOP    0x10

#define LSR_DR      0x01
#define LSR_OE      0x02
#define LSR_THRE    0x20
#define LSR_TEMT    0x40

#define MSR_DCTS    0x01
#define MSR_DDSR    0x02
#define MSR_TERI    0x04
#define MSR_DDCD    0x08
#define MSR_CTS     0x10
#define MSR_DSR     0x20
#define MSR_RI      0x40
#define MSR_DCD     0x80
#define MSR_DELTAS  0x0f

static uint8_t serial_rx_capacity(const SerialState *s)
{
    return (s->fcr & FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

/* The highest-priority pending interrupt, as IIR reports it. */
static uint8_t serial_pending_iir(const SerialState *s)
{
    if ((s->ier & IER_RLSI) && (s->lsr & LSR_OE)) {
        return IIR_RLSI;
    }
    if ((s->ier & IER_RDI) && s->rx_count) {
        return IIR_RDI;
    }
    if ((s->ier & IER_THRI) && s->thr_interrupt) {
        return IIR_THRI;
    }
    if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS)) {
        return IIR_MSI;
    }
    return IIR_NO_INT;
}

static void serial_update_irq(SerialState *s)
{
    irq_set_level(&s->irq, serial_pending_iir(s) != IIR_NO_INT);
}

static void serial_rx_push(SerialState *s, uint8_t byte)
{
    if (s->rx_count >= serial_rx_capacity(s)) {
        s->lsr |= LSR_OE;
        return;
    }
    s->rx_fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
    s->rx_count++;
    s->lsr |= LSR_DR;
}

static uint8_t serial_rx_pop(SerialState *s)
{
    uint8_t byte = 0;

    if (s->rx_count) {
        byte = s->rx_fifo[s->rx_head];
        s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
        s->rx_count--;
    }
    if (!s->rx_count) {
        s->lsr &= ~LSR_DR;
    }
    return byte;
}

/* Modem inputs: wired to our outputs in loopback, "cable attached" else. */
static uint8_t serial_modem_inputs(const SerialState *s)
{
    uint8_t m = 0;

    if (!(s->mcr & MCR_LOOP)) {
        return MSR_DCD | MSR_DSR | MSR_CTS;
    }
    if (s->mcr & MCR_DTR) {
        m |= MSR_DSR;
    }
    if (s->mcr & MCR_RTS) {
        m |= MSR_CTS;
    }
    if (s->mcr & MCR_OUT1) {
        m |= MSR_RI;
    }
    if (s->mcr & MCR_OUT2) {
        m |= MSR_DCD;
    }
    return m;
}

static void serial_update_msr(SerialState *s)
{
    uint8_t now = serial_modem_inputs(s);
    uint8_t before = s->msr & ~MSR_DELTAS;
    uint8_t delta = 0;

    if ((now ^ before) & MSR_CTS) {
        delta |= MSR_DCTS;
    }
    if ((now ^ before) & MSR_DSR) {
        delta |= MSR_DDSR;
    }
    if ((now ^ before) & MSR_DCD) {
        delta |= MSR_DDCD;
    }
    if ((before & MSR_RI) && !(now & MSR_RI)) {
        delta |= MSR_TERI;
    }
    s->msr = now | (s->msr & MSR_DELTAS) | delta;
}

static void serial_transmit(SerialState *s, uint8_t byte)
{
    if (s->mcr & MCR_LOOP) {
        serial_rx_push(s, byte);
    } else if (s->chr) {
        chardev_frontend_write(s->chr, s, &byte, 1);
    }
    s->thr_interrupt = true;
    s->lsr |= LSR_THRE | LSR_TEMT;
}

static void serial_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    SerialState *s = opaque;
    uint8_t v = value;
    bool had_room = s->rx_count < serial_rx_capacity(s);

    trace_serial_write(s->name, (unsigned)offset, v);
    switch (offset) {
    case UART_RBR_THR:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0xff00) | v;
        } else {
            serial_transmit(s, v);
        }
        break;
    case UART_IER:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0x00ff) | (v << 8);
        } else {
            /* Enabling THRI with THR empty raises it at once. */
            if ((v & IER_THRI) && !(s->ier & IER_THRI) &&
                (s->lsr & LSR_THRE)) {
                s->thr_interrupt = true;
            }
            s->ier = v & 0x0f;
        }
        break;
    case UART_IIR_FCR:
        if (v & FCR_CLR_RX) {
            s->rx_head = s->rx_count = 0;
            s->lsr &= ~LSR_DR;
        }
        s->fcr = v & 0xc9;  /* enable, DMA mode, trigger level */
        if (!(s->fcr & FCR_ENABLE)) {
            s->rx_head = s->rx_count = 0;
            s->lsr &= ~LSR_DR;
        }
        break;
    case UART_LCR:
        s->lcr = v;
        break;
    case UART_MCR:
        s->mcr = v & 0x1f;
        serial_update_msr(s);
        break;
    case UART_LSR:
        break;  /* read-only on a 16550 */
    case UART_MSR:
        break;
    case UART_SCR:
        s->scr = v;
        break;
    }
    serial_update_irq(s);
    if (!had_room && s->rx_count < serial_rx_capacity(s) && s->chr) {
        chardev_accept_input(s->chr);
    }
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
    SerialState *s = opaque;
    uint8_t v = 0;
    bool had_room = s->rx_count < serial_rx_capacity(s);

    switch (offset) {
    case UART_RBR_THR:
        v = (s->lcr & LCR_DLAB) ? (s->divisor & 0xff) : serial_rx_pop(s);
        break;
    case UART_IER:
        v = (s->lcr & LCR_DLAB) ? (s->divisor >> 8) : s->ier;
        break;
    case UART_IIR_FCR:
        v = serial_pending_iir(s);
        /* Reading IIR acknowledges a THR-empty interrupt. */
        if (v == IIR_THRI) {
            s->thr_interrupt = false;
        }
        if (s->fcr & FCR_ENABLE) {
            v |= IIR_FIFO_ON;
        }
        break;
    case UART_LCR:
        v = s->lcr;
        break;
    case UART_MCR:
        v = s->mcr;
        break;
    case UART_LSR:
        v = s->lsr;
        s->lsr &= ~LSR_OE;
        break;
    case UART_MSR:
        serial_update_msr(s);
        v = s->msr;
        s->msr &= ~MSR_DELTAS;
        break;
    case UART_SCR:
        v = s->scr;
        break;
    }
    trace_serial_read(s->name, (unsigned)offset, v);
    serial_update_irq(s);
    if (!had_room && s->rx_count < serial_rx_capacity(s) && s->chr) {
        chardev_accept_input(s->chr);
    }
    return v;
}

static const IoOps serial_io_ops = {
    .read = serial_read,
    .write = serial_write,
};

static size_t serial_can_receive(void *opaque)
{
    SerialState *s = opaque;

    if (s->mcr & MCR_LOOP) {
        return 0;   /* the line is disconnected in loopback */
    }
    return serial_rx_capacity(s) - s->rx_count;
}

static void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
    SerialState *s = opaque;

    for (size_t i = 0; i < len; i++) {
        serial_rx_push(s, buf[i]);
    }
    serial_update_irq(s);
}

void serial_reset(SerialState *s)
{
    s->divisor = 12;        /* 9600 baud */
    s->ier = 0;
    s->lcr = 0x03;          /* 8N1 */
    s->mcr = MCR_OUT2;
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
    s->scr = 0;
    s->fcr = 0;
    s->rx_head = s->rx_count = 0;
    s->thr_interrupt = false;
    serial_update_irq(s);
}

/* ---- pre-save / post-load ---- */

/* What the section loads into: a SerialState whose registers are checked
 * before post_load copies them to the device. */
typedef struct SerialMigration {
    SerialState regs;       /* first: the fields are offsets into it */
    SerialState *dev;
} SerialMigration;

_Static_assert(offsetof(SerialMigration, regs) == 0,
               "the vmstate fields are offsets into SerialState");

/* The guest-visible state; never the wiring (iobase, irq, chr, name). */
static void serial_copy_regs(SerialState *dst, const SerialState *src)
{
    dst->divisor = src->divisor;
    dst->ier = src->ier;
    dst->lcr = src->lcr;
    dst->mcr = src->mcr;
    dst->lsr = src->lsr;
    dst->msr = src->msr;
    dst->scr = src->scr;
    dst->fcr = src->fcr;
    memcpy(dst->rx_fifo, src->rx_fifo, sizeof(dst->rx_fifo));
    dst->rx_head = src->rx_head;
    dst->rx_count = src->rx_count;
    dst->thr_interrupt = src->thr_interrupt;
}

static bool serial_pre_save(void *opaque, Error **errp)
{
    SerialMigration *m = opaque;

    serial_copy_regs(&m->regs, m->dev);
    return true;
}

/* Invariants the register operations keep, which the rest relies on. */
static bool serial_validate(const SerialState *r, Error **errp)
{
    if (r->ier & ~0x0f) {
        error_setg(errp, "ier 0x%02x has reserved bits set", r->ier);
        return false;
    }
    if (r->mcr & ~0x1f) {
        error_setg(errp, "mcr 0x%02x has reserved bits set", r->mcr);
        return false;
    }
    if (r->fcr & ~0xc9) {
        error_setg(errp, "fcr 0x%02x has bits a write never keeps", r->fcr);
        return false;
    }
    if (r->rx_count > serial_rx_capacity(r)) {
        error_setg(errp, "rx_count %u exceeds the receive capacity %u "
                   "(FIFO %s)", r->rx_count, serial_rx_capacity(r),
                   (r->fcr & FCR_ENABLE) ? "on" : "off");
        return false;
    }
    if (!!(r->lsr & LSR_DR) != !!r->rx_count) {
        error_setg(errp, "lsr 0x%02x: data-ready disagrees with rx_count %u",
                   r->lsr, r->rx_count);
        return false;
    }
    return true;
}

static bool serial_post_load(void *opaque, int version_id, Error **errp)
{
    SerialMigration *m = opaque;
    SerialState *s = m->dev;

    if (!serial_validate(&m->regs, errp)) {
        return false;
    }
    serial_copy_regs(s, &m->regs);
    trace_serial_post_load(s->name, s->rx_count);
    serial_update_irq(s);
    if (s->chr && s->rx_count < serial_rx_capacity(s)) {
        chardev_accept_input(s->chr);
    }
    return true;
}

/* ---- the vmstate table ---- */

const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = serial_pre_save,
    .post_load = serial_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divisor, SerialState),
        VMSTATE_UINT8(ier, SerialState),
        VMSTATE_UINT8(lcr, SerialState),
        VMSTATE_UINT8(mcr, SerialState),
        VMSTATE_UINT8(lsr, SerialState),
        VMSTATE_UINT8(msr, SerialState),
        VMSTATE_UINT8(scr, SerialState),
        VMSTATE_UINT8(fcr, SerialState),
        VMSTATE_BUFFER(rx_fifo, SerialState),
        VMSTATE_UINT8_LE(rx_head, SerialState, SERIAL_FIFO_SIZE - 1),
        VMSTATE_UINT8_LE(rx_count, SerialState, SERIAL_FIFO_SIZE),
        VMSTATE_BOOL(thr_interrupt, SerialState),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- registration ---- */

SerialState *serial_isa_new(IoBus *pio, uint16_t iobase, IrqLine irq,
                            Chardev *chr, const char *name, Error **errp)
{
    SerialState *s = g_new0(SerialState, 1);
    ChardevFrontend fe = {
        .can_receive = serial_can_receive,
        .receive = serial_receive,
        .opaque = s,
        .guest_output = true,
        .name = s->name,
    };

    s->iobase = iobase;
    s->irq = irq;
    g_strlcpy(s->name, name, sizeof(s->name));
    serial_reset(s);
    if (!io_bus_register(pio, s->name, iobase, 8, &serial_io_ops, s, errp)) {
        g_free(s);
        return NULL;
    }
    if (chr && !chardev_attach_frontend(chr, &fe, errp)) {
        io_bus_unregister(pio, iobase);
        g_free(s);
        return NULL;
    }
    s->chr = chr;
    s->migration = g_new0(SerialMigration, 1);
    s->migration->dev = s;
    return s;
}

bool serial_vmstate_register(SerialState *s, SaveVMState *sv,
                             uint32_t instance_id, Error **errp)
{
    return savevm_register(sv, vmstate_serial.name, instance_id,
                           &vmstate_serial, s->migration, errp);
}

void serial_vmstate_unregister(SerialState *s, SaveVMState *sv,
                               uint32_t instance_id)
{
    savevm_unregister(sv, vmstate_serial.name, instance_id);
}

void serial_free(SerialState *s)
{
    if (s->chr) {
        chardev_detach_frontend(s->chr);
    }
    g_free(s->migration);
    g_free(s);
}
