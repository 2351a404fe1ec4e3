/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: report an unexpected exception and stop.
 *
 * Runs at CPL0 (called from fault_common in boot.S), so it talks to COM1
 * and the debug-exit port directly instead of through services.  Speed
 * does not matter here; clarity of the one-line report does.
 */
#include "guest.h"

static inline void port_outb(u16 port, u8 v)
{
    asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 port_inb(u16 port)
{
    u8 v;

    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

void tg_fault(struct tg_frame *f)
{
    struct line l = { .len = 0 };
    u64 cr2;
    size_t i;

    asm volatile("mov %%cr2, %0" : "=r"(cr2));
    STATUS->fault_vec = (u32)f->vec;
    STATUS->fault_rip = f->rip;

    ln_str(&l, "\r\nTG FAULT vec=");
    ln_dec(&l, f->vec);
    ln_str(&l, " rip=");
    ln_hex(&l, f->rip);
    ln_str(&l, " err=");
    ln_hex(&l, f->err);
    ln_str(&l, " cr2=");
    ln_hex(&l, cr2);
    ln_str(&l, " cs=");
    ln_hex(&l, f->cs);
    ln_str(&l, " rsp=");
    ln_hex(&l, f->rsp);
    ln_str(&l, " rax=");
    ln_hex(&l, f->rax);
    ln_str(&l, "\r\n");
    for (i = 0; i < l.len; i++) {
        while (!(port_inb(COM1_BASE + 5) & 0x20)) {
        }
        port_outb(COM1_BASE, (u8)l.buf[i]);
    }
    asm volatile("outl %0, %1" : : "a"((u32)TG_EXIT_FAULT), "Nd"((u16)DEBUG_EXIT_PORT));
    for (;;) {
        asm volatile("cli; hlt");
    }
}
