/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: irq=msix|intx, the CPU side and the PCI side of
 * device interrupts (see irq.h).  All of it runs at CPL3 at start-up,
 * through the port and MMIO services where CPL3 cannot go; what runs per
 * interrupt is the stubs in boot.S.
 */
#include "irq.h"

#define APIC_ID             0x020
#define APIC_TPR            0x080
#define APIC_SVR            0x0f0
#define APIC_LVT_LINT0      0x350
#define APIC_SVR_ENABLE     0x100
#define APIC_LVT_MASKED     0x10000

#define IOAPIC_BASE         0xfec00000ULL
#define IOAPIC_SEL          0x00
#define IOAPIC_WIN          0x10
#define IOAPIC_VER          0x01
#define IOAPIC_REDTBL       0x10        /* entry n: 0x10 + 2n (low), + 1 (high) */
#define IOAPIC_LEVEL        (1u << 15)

#define PIC1_DATA           0x21
#define PIC2_DATA           0xa1

#define PCI_CAP_MSIX        0x11
#define MSIX_CTRL           2           /* u16: table size - 1, function mask, enable */
#define MSIX_TABLE          4           /* u32: offset | BIR */
#define MSIX_CTRL_SIZE      0x7ff
#define MSIX_CTRL_MASK      0x4000
#define MSIX_CTRL_ENABLE    0x8000
#define MSIX_ENTRY_SIZE     16          /* addr lo, addr hi, data, vector control */
#define MSI_ADDR_BASE       0xfee00000u

/* PIIX3 (00:01.0) PCI interrupt routing registers, PIRQA..D */
#define PIIX3_VENDOR        0x8086
#define PIIX3_DEVICE        0x7000
#define PIIX3_PIRQRC        0x60
#define PIIX3_PIRQ_DISABLE  0x80
#define PIIX3_PIRQ_VALID    0xdef8u     /* IRQs 3-7, 9-12, 14, 15 */

/*
 * Per INTx vector, the ISR registers the CPL0 stub reads (boot.S
 * irq_intx): two devices may share a line.  Only [TG_IRQ_INTX_FIRST..]
 * is used; indexing by stub number keeps the stub short.
 */
u64 irq_isr[TG_IRQ_VECS][2];

static struct {
    bool cpu_ready;
    char names[TG_IRQ_VECS][12];        /* "" = not in use, not reported */
} irq;

static const char *const mode_names[] = {
    [TG_IRQ_NONE] = "none", [TG_IRQ_MSIX] = "msix", [TG_IRQ_INTX] = "intx",
};

/* An interrupt gate (DPL0, present) for vector vec. */
static void set_gate(unsigned vec, const void *handler)
{
    u64 a = (u64)handler;

    idt[2 * vec + 1] = a >> 32;
    idt[2 * vec] = (a & 0xffff) | (u64)SEL_KCODE64 << 16 | 0x8eULL << 40 |
                   ((a >> 16) & 0xffff) << 48;
}

/*
 * Once: gates, LAPIC on, legacy paths off, then IF.  Interrupts may
 * arrive from here on; until a device is set up nothing raises one.
 */
static void cpu_setup(void)
{
    u64 apic = TG_APIC_BASE;
    unsigned i;

    if (irq.cpu_ready) {
        return;
    }
    irq.cpu_ready = true;
    for (i = 0; i < TG_IRQ_VECS; i++) {
        set_gate(TG_IRQ_VEC_BASE + i, irq_stubs + i * TG_IRQ_STUB_SIZE);
    }
    set_gate(TG_IRQ_SPURIOUS, irq_spurious);
    outb(PIC1_DATA, 0xff);      /* 8259s: nothing, not even a spurious IRQ 7 */
    outb(PIC2_DATA, 0xff);
    mmio_wr32(apic + APIC_LVT_LINT0, mmio_rd32(apic + APIC_LVT_LINT0) | APIC_LVT_MASKED);
    mmio_wr32(apic + APIC_TPR, 0);
    mmio_wr32(apic + APIC_SVR, (mmio_rd32(apic + APIC_SVR) & ~0xffu) | APIC_SVR_ENABLE |
              TG_IRQ_SPURIOUS);
    STATUS->irq.apic_id = mmio_rd32(apic + APIC_ID) >> 24;
    STATUS->irq.mode = devcfg.irq;
    STATUS->irq.gsi[0] = STATUS->irq.gsi[1] = 0xff;
    svc(SVC_IRQ_ON, 0, 0);
    STATUS->irq.flags |= TG_IRQ_ON;
}

static void tbl_wr32(u64 a, u32 v)
{
    if (devcfg.mmio_svc) {
        mmio_wr32(a, v);
    } else {
        *(volatile u32 *)a = v;
    }
}

void irq_label(unsigned idx, const char *dev, int q)
{
    struct line l = { .len = 0 };

    if (idx >= TG_IRQ_VECS) {
        return;
    }
    ln_str(&l, dev);
    if (q < 0) {
        ln_str(&l, ".config");
    } else {
        ln_str(&l, ".q");
        ln_dec(&l, (u64)q);
    }
    if (l.len >= sizeof(irq.names[0])) {
        l.len = sizeof(irq.names[0]) - 1;
    }
    memcpy(irq.names[idx], l.buf, l.len);
    irq.names[idx][l.len] = 0;
}

bool irq_msix_enable(const struct pci_dev *d, u64 bar_addr[6], unsigned slot,
                     const char *name, unsigned *entries, struct line *err)
{
    struct line l = { .len = 0 };
    u8 cap = pci_find_cap(d, PCI_CAP_MSIX);
    u16 ctrl;
    u32 tbl, bir, size, n, e;
    u64 table;

    if (!cap) {
        ln_str(err, "irq=msix: the device has no MSI-X capability");
        return false;
    }
    cpu_setup();
    ctrl = pci_read16(d, cap + MSIX_CTRL);
    tbl = pci_read32(d, cap + MSIX_TABLE);
    bir = tbl & 7;
    size = (ctrl & MSIX_CTRL_SIZE) + 1u;
    if (bir > 5) {
        ln_str(err, "irq=msix: MSI-X table in BAR ");
        ln_dec(err, bir);
        return false;
    }
    if (!bar_addr[bir] && !pci_map_bar(d, bir, &bar_addr[bir], err)) {
        return false;
    }
    table = bar_addr[bir] + (tbl & ~7u);
    n = size < IRQ_MSIX_PER_DEV ? size : IRQ_MSIX_PER_DEV;
    /* Enabled with the function masked while the entries are written. */
    pci_write16(d, cap + MSIX_CTRL, (u16)(ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_MASK));
    for (e = 0; e < n; e++) {
        u64 a = table + (u64)e * MSIX_ENTRY_SIZE;

        tbl_wr32(a + 0, MSI_ADDR_BASE | STATUS->irq.apic_id << 12);
        tbl_wr32(a + 4, 0);
        tbl_wr32(a + 8, TG_IRQ_VEC_BASE + irq_msix_index(slot, e));  /* fixed, edge */
        tbl_wr32(a + 12, 0);                                           /* unmasked */
    }
    pci_write16(d, cap + MSIX_CTRL, (u16)((ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASK));
    *entries = n;

    ln_str(&l, "TG irq ");
    ln_str(&l, name);
    ln_str(&l, " msix table=");
    ln_dec(&l, size);
    ln_str(&l, " bar=");
    ln_dec(&l, bir);
    ln_str(&l, " apic=");
    ln_dec(&l, STATUS->irq.apic_id);
    ln_str(&l, " vectors=");
    ln_hex(&l, TG_IRQ_VEC_BASE + irq_msix_index(slot, 0));
    ln_str(&l, "-");
    ln_hex(&l, TG_IRQ_VEC_BASE + irq_msix_index(slot, n - 1));
    tg_print(&l);
    return true;
}

/*
 * The GSI of d's INTx pin.  Firmware (SeaBIOS, and Tandem's machine,
 * which does the BIOS's PCI set-up itself) writes the IRQ it routed the
 * pin to into Interrupt Line; on the pc machines ISA IRQ n is IOAPIC pin
 * n for every IRQ a PCI pin can get.  Where nothing wrote it (0 or 0xff),
 * or with pci=assign (act as if no firmware ran), follow the route
 * ourselves: the i440FX swizzle (slot s, pin p in 1..4 -> PIRQ
 * (s - 1 + p - 1) mod 4) and the PIIX3's PIRQ route register.
 */
static int intx_gsi(const struct pci_dev *d, u8 pin, u8 line, const char **src,
                    struct line *err)
{
    static const u16 piix3[] = { PIIX3_DEVICE };
    struct pci_dev isa;
    unsigned pirq;
    u8 route;

    if (line && line < 16 && !devcfg.pci_assign) {
        *src = "line";
        return line;
    }
    *src = "pirq";
    if (!pci_find(PIIX3_VENDOR, piix3, 1, &isa) || isa.bdf != (1 << 3)) {
        ln_str(err, "irq=intx: Interrupt Line is ");
        ln_hex(err, line);
        ln_str(err, " and there is no PIIX3 at 00:01.0 to route the pin");
        return -1;
    }
    pirq = ((d->bdf >> 3 & 31) + 3u + (pin - 1u)) & 3;
    route = pci_read8(&isa, PIIX3_PIRQRC + pirq);
    if ((route & PIIX3_PIRQ_DISABLE) || !(PIIX3_PIRQ_VALID & (1u << (route & 0xf)))) {
        ln_str(err, "irq=intx: PIRQ");
        ln_dec(err, pirq);
        ln_str(err, " is not routed (PIIX3 register ");
        ln_hex(err, route);
        ln_str(err, ")");
        return -1;
    }
    return route & 0xf;
}

static void ioapic_write(u32 reg, u32 v)
{
    mmio_wr32(IOAPIC_BASE + IOAPIC_SEL, reg);
    mmio_wr32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static u32 ioapic_read(u32 reg)
{
    mmio_wr32(IOAPIC_BASE + IOAPIC_SEL, reg);
    return mmio_rd32(IOAPIC_BASE + IOAPIC_WIN);
}

bool irq_intx_enable(const struct pci_dev *d, volatile u8 *isr, unsigned slot,
                     const char *name, struct line *err)
{
    struct line l = { .len = 0 };
    u8 pin = pci_read8(d, PCI_INTERRUPT_PIN), line = pci_read8(d, PCI_INTERRUPT_LINE);
    const char *src = "";
    unsigned idx, vec;
    u32 max_entry;
    int gsi;

    if (!pin || pin > 4) {
        ln_str(err, "irq=intx: the device has no INTx pin (Interrupt Pin ");
        ln_dec(err, pin);
        ln_str(err, ")");
        return false;
    }
    if (!isr) {
        ln_str(err, "irq=intx: the device has no virtio ISR capability");
        return false;
    }
    gsi = intx_gsi(d, pin, line, &src, err);
    if (gsi < 0) {
        return false;
    }
    max_entry = ioapic_read(IOAPIC_VER) >> 16 & 0xff;
    if ((u32)gsi > max_entry || gsi >= TG_IRQ_VECS - TG_IRQ_INTX_FIRST) {
        ln_str(err, "irq=intx: GSI ");
        ln_dec(err, (u64)gsi);
        ln_str(err, " is beyond the IOAPIC's entries (last ");
        ln_dec(err, max_entry);
        ln_str(err, ")");
        return false;
    }
    idx = TG_IRQ_INTX_FIRST + (unsigned)gsi;
    vec = TG_IRQ_VEC_BASE + idx;
    if (irq_isr[idx][0] && irq_isr[idx][1]) {
        ln_str(err, "irq=intx: more than two devices on GSI ");
        ln_dec(err, (u64)gsi);
        return false;
    }
    cpu_setup();
    irq_isr[idx][irq_isr[idx][0] ? 1 : 0] = (u64)isr;
    pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) & (u16)~PCI_CMD_INTX_DISABLE);
    /*
     * PCI INTx is level-triggered; active high is what the line looks
     * like at the IOAPIC on QEMU's and Tandem's pc (both assert a PCI IRQ
     * as level 1; QEMU's own ACPI tables describe them so).
     */
    ioapic_write(IOAPIC_REDTBL + 2 * (u32)gsi + 1, STATUS->irq.apic_id << 24);
    ioapic_write(IOAPIC_REDTBL + 2 * (u32)gsi, IOAPIC_LEVEL | vec);
    STATUS->irq.gsi[slot < 2 ? slot : 1] = (u8)gsi;
    l.len = 0;
    ln_str(&l, "gsi");
    ln_dec(&l, (u64)gsi);
    l.buf[l.len] = 0;
    memcpy(irq.names[idx], l.buf, l.len + 1);

    l.len = 0;
    ln_str(&l, "TG irq ");
    ln_str(&l, name);
    ln_str(&l, " intx pin=");
    ln_dec(&l, pin);
    ln_str(&l, " line=");
    ln_dec(&l, line);
    ln_str(&l, " gsi=");
    ln_dec(&l, (u64)gsi);
    ln_str(&l, " src=");
    ln_str(&l, src);
    ln_str(&l, " vector=");
    ln_hex(&l, vec);
    ln_str(&l, " apic=");
    ln_dec(&l, STATUS->irq.apic_id);
    tg_print(&l);
    return true;
}

void irq_report(void)
{
    struct line l = { .len = 0 };
    u64 total = 0;
    unsigned i;

    for (i = 0; i < TG_IRQ_VECS; i++) {
        total += STATUS->irq.count[i];
    }
    ln_str(&l, "TG irq mode=");
    ln_str(&l, mode_names[devcfg.irq < 3 ? devcfg.irq : 0]);
    ln_str(&l, " total=");
    ln_dec(&l, total);
    for (i = 0; i < TG_IRQ_VECS; i++) {
        if (irq.names[i][0]) {
            ln_str(&l, " ");
            ln_str(&l, irq.names[i]);
            ln_str(&l, "=");
            ln_dec(&l, STATUS->irq.count[i]);
        }
    }
    tg_print(&l);
}
