/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: device interrupts for irq=msix|intx.  The drivers
 * still poll their rings; with irq= the devices are also asked to
 * interrupt, and what arrives is counted, so MSI-X and INTx delivery are
 * tested end to end.
 *
 * The CPU side (once, on the first device): the LAPIC software-enabled
 * with spurious vector TG_IRQ_SPURIOUS, its LINT0 and the 8259s masked
 * (the BIOS may have left the PIT's IRQ 0 on ExtINT), the gates of
 * irq_stubs written into the IDT from CPL3 (it is a user page like the
 * page tables), then service SVC_IRQ_ON, which sets IF in the iret frame:
 * CPL3 cannot sti on the PVM host, where IOPL is not honoured.
 *
 * Vector numbers (see layout.h): device slot s (virtio-net 0, virtio-blk
 * 1) uses MSI-X table entry e -> vector 0x40 + 8s + e (entry 0 is the
 * config interrupt, entry 1 + q queue q); an INTx line on GSI g is vector
 * 0x50 + g, shared by every device on that line.
 */
#ifndef TG_DEV_IRQ_H
#define TG_DEV_IRQ_H

#include "pci.h"

#define IRQ_MSIX_PER_DEV        8   /* table entries used per device */
#define IRQ_SLOT_NET            0
#define IRQ_SLOT_BLK            1

/* Index into STATUS->irq.count[] of device slot's MSI-X entry e. */
static inline unsigned irq_msix_index(unsigned slot, unsigned entry)
{
    return slot * IRQ_MSIX_PER_DEV + entry;
}

/*
 * MSI-X on: programs entries 0..min(table, 8)-1 of d's table to the
 * BSP's LAPIC, vectors as above, and sets the enable bit.  bar_addr[6]
 * holds the addresses of BARs the caller mapped already (0: not mapped),
 * so the table's BAR is not placed twice.  *entries is how many entries
 * were programmed.  Prints one line; false with a message in err.
 */
bool irq_msix_enable(const struct pci_dev *d, u64 bar_addr[6], unsigned slot,
                     const char *name, unsigned *entries, struct line *err);
/*
 * INTx on: finds d's GSI (Interrupt Line, or with no firmware the PIIX3's
 * PIRQ route), points the IOAPIC's redirection entry at the BSP
 * (level-triggered, active high) and has the stub of that vector read the
 * byte at isr (the virtio ISR register, whose read lowers the line).
 * Prints one line; false with a message in err.
 */
bool irq_intx_enable(const struct pci_dev *d, volatile u8 *isr, unsigned slot,
                     const char *name, struct line *err);
/* Names vector index idx in the report: "<dev>.config" (q < 0) or "<dev>.q<q>". */
void irq_label(unsigned idx, const char *dev, int q);
/* "TG irq mode=... total=N name=count ...": one line (not a workload line). */
void irq_report(void);

#endif
