/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel MultiProcessor Specification 1.4 tables. Without ACPI this is how
 * an x86 kernel learns how many CPUs there are (their local APIC ids),
 * where the IOAPIC lives and how ISA interrupts are wired to it. We write
 * an MP floating pointer structure and a base configuration table into
 * the BIOS ROM area at 0xf0000, one of the three places the spec (§4) says
 * an OS must scan. The machine describes: processors with APIC ids
 * 0..n-1 (cpu 0 is the BSP), one ISA bus, one IOAPIC (id n, 0xfec00000)
 * and the classic PC wiring of ISA IRQs to IOAPIC pins, in virtual wire
 * mode (the 8259 reaches the BSP through LINT0 as ExtINT). When PCI
 * functions have interrupt pins, PCI bus 0 (MP bus id 1: an OS maps the
 * first PCI bus entry to PCI bus 0 whatever its id, so the ISA bus keeps
 * id 0) and one entry per pin: source IRQ (slot << 2) | (pin - 1), to
 * the IOAPIC pin of the IRQ the PIIX3 routes it to, level-triggered
 * (shared, as the ELCR says) and active-high (KVM's lines are logical
 * levels). Those IRQs lose their ISA entries: they are PCI's now.
 */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hw/i386/boot.h"
#include "system/memory.h"
#include "util/error.h"

/* Where the tables go: the floating pointer first (16-byte aligned, as
 * required), the configuration table right after it. */
#define MPTABLE_BASE        0xf0000ULL
#define MPTABLE_AREA_SIZE   0x2000ULL   /* what we allow ourselves to use */

#define MP_SPEC_REV         4           /* MP spec 1.4 */
#define LAPIC_ADDR          0xfee00000u
#define IOAPIC_ADDR         0xfec00000u
#define LAPIC_VERSION       0x14        /* integrated xAPIC */
#define IOAPIC_VERSION      0x11        /* 82093AA-compatible, 24 pins */
#define ISA_BUS_ID          0
#define PCI_BUS_ID          1
#define ISA_IRQS            16

/*
 * The IOAPIC takes the id after the last CPU, so ids 0..n stay distinct in
 * the 8-bit id space of the table. xAPIC id 0xff is the broadcast id, so
 * at most 254 CPUs (ids 0..253) plus the IOAPIC (id 254). (An x86-64
 * kernel does not reprogram IOAPIC ids from this table, so the 4-bit ID
 * register of 82093AA-style IOAPICs is no obstacle.)
 */
#define MPTABLE_MAX_CPUS    254

/* ---- Structures (MP spec 1.4, chapter 4) ----------------------------- */

typedef struct __attribute__((packed)) MPFloatingPointer {
    char     signature[4];          /* "_MP_" */
    uint32_t config_table;          /* physical address of the "PCMP" table */
    uint8_t  length;                /* in 16-byte paragraphs: 1 */
    uint8_t  spec_rev;              /* 4 = version 1.4 */
    uint8_t  checksum;              /* all 16 bytes sum to 0 */
    uint8_t  feature1;              /* 0: a configuration table is present */
    uint8_t  feature2;              /* bit 7 IMCRP: 0 = virtual wire mode */
    uint8_t  feature3_5[3];
} MPFloatingPointer;
_Static_assert(sizeof(MPFloatingPointer) == 16, "MP floating pointer");
_Static_assert(offsetof(MPFloatingPointer, config_table) == 4, "phys ptr");
_Static_assert(offsetof(MPFloatingPointer, checksum) == 10, "checksum");
_Static_assert(offsetof(MPFloatingPointer, feature2) == 12, "feature2");

typedef struct __attribute__((packed)) MPConfigHeader {
    char     signature[4];          /* "PCMP" */
    uint16_t base_table_length;     /* header + all base entries */
    uint8_t  spec_rev;
    uint8_t  checksum;              /* base table sums to 0 */
    char     oem_id[8];
    char     product_id[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t lapic_addr;
    uint16_t ext_table_length;
    uint8_t  ext_table_checksum;
    uint8_t  reserved;
} MPConfigHeader;
_Static_assert(sizeof(MPConfigHeader) == 44, "MP config header");
_Static_assert(offsetof(MPConfigHeader, checksum) == 7, "checksum");
_Static_assert(offsetof(MPConfigHeader, oem_id) == 8, "oem_id");
_Static_assert(offsetof(MPConfigHeader, product_id) == 16, "product_id");
_Static_assert(offsetof(MPConfigHeader, entry_count) == 34, "entry_count");
_Static_assert(offsetof(MPConfigHeader, lapic_addr) == 36, "lapic_addr");
_Static_assert(offsetof(MPConfigHeader, ext_table_length) == 40, "ext len");

enum {
    MP_ENTRY_PROCESSOR = 0,
    MP_ENTRY_BUS = 1,
    MP_ENTRY_IOAPIC = 2,
    MP_ENTRY_IOINTR = 3,
    MP_ENTRY_LINTR = 4,
};

typedef struct __attribute__((packed)) MPProcessorEntry {
    uint8_t  type;                  /* 0 */
    uint8_t  lapic_id;
    uint8_t  lapic_version;
    uint8_t  cpu_flags;
    uint32_t cpu_signature;         /* stepping/model/family as CPUID.1:EAX */
    uint32_t feature_flags;         /* CPUID.1:EDX */
    uint32_t reserved[2];
} MPProcessorEntry;
_Static_assert(sizeof(MPProcessorEntry) == 20, "MP processor entry");
_Static_assert(offsetof(MPProcessorEntry, cpu_signature) == 4, "cpu sig");

#define MP_CPU_EN   (1u << 0)
#define MP_CPU_BP   (1u << 1)

typedef struct __attribute__((packed)) MPBusEntry {
    uint8_t  type;                  /* 1 */
    uint8_t  bus_id;
    char     bus_type[6];           /* blank padded, e.g. "ISA   " */
} MPBusEntry;
_Static_assert(sizeof(MPBusEntry) == 8, "MP bus entry");

typedef struct __attribute__((packed)) MPIOAPICEntry {
    uint8_t  type;                  /* 2 */
    uint8_t  ioapic_id;
    uint8_t  ioapic_version;
    uint8_t  flags;                 /* bit 0: enabled */
    uint32_t addr;
} MPIOAPICEntry;
_Static_assert(sizeof(MPIOAPICEntry) == 8, "MP IOAPIC entry");

/* Shared by I/O (type 3) and local (type 4) interrupt assignment entries. */
typedef struct __attribute__((packed)) MPIntrEntry {
    uint8_t  type;
    uint8_t  intr_type;
    uint16_t flags;                 /* polarity bits 0-1, trigger bits 2-3 */
    uint8_t  src_bus_id;
    uint8_t  src_bus_irq;
    uint8_t  dst_apic_id;           /* 0xff in a type 4 entry: all LAPICs */
    uint8_t  dst_pin;               /* IOAPIC INTIN# or LINTIN# */
} MPIntrEntry;
_Static_assert(sizeof(MPIntrEntry) == 8, "MP interrupt entry");
_Static_assert(offsetof(MPIntrEntry, dst_pin) == 7, "dst pin");

enum {
    MP_INT = 0,                     /* vectored, from the APIC RTE */
    MP_NMI = 1,
    MP_SMI = 2,
    MP_EXTINT = 3,                  /* vector supplied by the 8259 */
};

/* Polarity/trigger "conforms to the bus": ISA is active high, edge. */
#define MP_IRQ_CONFORMS 0
/* Active high (bits 1-0 = 01), level-triggered (bits 3-2 = 11). */
#define MP_IRQ_PCI      0x0d

#define MP_ALL_LAPICS 0xff

/*
 * Reported processor identity: family 6 (every modern Intel/AMD-as-Intel
 * guest CPU model), and the feature bits that matter to an MP-table
 * parser: FPU, APIC. The OS takes the real values from CPUID anyway.
 */
#define MP_CPU_SIGNATURE    0x00000600u
#define MP_CPU_FEATURES     ((1u << 0) | (1u << 9))

static uint8_t checksum8(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return (uint8_t)-sum;
}

/* Blank-padded copy, as the spec wants for ids and bus type strings. */
static void set_padded(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);

    memset(dst, ' ', len);
    memcpy(dst, src, n < len ? n : len);
}

/* Appends entries to the configuration table being built. */
typedef struct MPWriter {
    uint8_t *p;                     /* where the next entry goes */
    uint16_t count;                 /* entries so far */
} MPWriter;

static void mp_add(MPWriter *w, const void *entry, size_t size)
{
    memcpy(w->p, entry, size);
    w->p += size;
    w->count++;
}

static void add_intr_flags(MPWriter *w, uint8_t entry_type,
                           uint8_t intr_type, uint16_t flags, uint8_t bus,
                           uint8_t src_irq, uint8_t dst_id, uint8_t dst_pin)
{
    MPIntrEntry e = {
        .type = entry_type,
        .intr_type = intr_type,
        .flags = flags,
        .src_bus_id = bus,
        .src_bus_irq = src_irq,
        .dst_apic_id = dst_id,
        .dst_pin = dst_pin,
    };

    mp_add(w, &e, sizeof(e));
}

/* An ISA interrupt whose polarity and trigger conform to the bus. */
static void add_intr(MPWriter *w, uint8_t entry_type, uint8_t intr_type,
                     uint8_t src_irq, uint8_t dst_id, uint8_t dst_pin)
{
    add_intr_flags(w, entry_type, intr_type, MP_IRQ_CONFORMS, ISA_BUS_ID,
                   src_irq, dst_id, dst_pin);
}

/* Processors: APIC id i; cpu 0 is the bootstrap processor. */
static void mp_add_processors(MPWriter *w, unsigned smp_cpus)
{
    for (unsigned i = 0; i < smp_cpus; i++) {
        MPProcessorEntry e = {
            .type = MP_ENTRY_PROCESSOR,
            .lapic_id = (uint8_t)i,
            .lapic_version = LAPIC_VERSION,
            .cpu_flags = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0),
            .cpu_signature = MP_CPU_SIGNATURE,
            .feature_flags = MP_CPU_FEATURES,
        };

        mp_add(w, &e, sizeof(e));
    }
}

/* The ISA bus (and PCI bus 0), then the IOAPIC. Buses come before the
 * interrupt entries that name them (§4.3). */
static void mp_add_bus_and_ioapic(MPWriter *w, uint8_t ioapic_id, bool pci)
{
    MPBusEntry bus = { .type = MP_ENTRY_BUS, .bus_id = ISA_BUS_ID };
    MPBusEntry pci_bus = { .type = MP_ENTRY_BUS, .bus_id = PCI_BUS_ID };
    MPIOAPICEntry ioapic = {
        .type = MP_ENTRY_IOAPIC,
        .ioapic_id = ioapic_id,
        .ioapic_version = IOAPIC_VERSION,
        .flags = 1,                 /* enabled */
        .addr = IOAPIC_ADDR,
    };

    set_padded(bus.bus_type, sizeof(bus.bus_type), "ISA");
    mp_add(w, &bus, sizeof(bus));
    if (pci) {
        set_padded(pci_bus.bus_type, sizeof(pci_bus.bus_type), "PCI");
        mp_add(w, &pci_bus, sizeof(pci_bus));
    }
    mp_add(w, &ioapic, sizeof(ioapic));
}

/*
 * ISA IRQ routing, the convention of every PC chipset since the 82093AA:
 * the 8259's INTR output goes to IOAPIC pin 0 (ExtINT), the PIT (IRQ0) is
 * wired to pin 2, where IRQ2 would be had it not been the cascade, and
 * every other ISA IRQ n to pin n. IRQ2 itself has no entry: it is the 8259
 * cascade and never a device interrupt.
 */
static void mp_add_isa_routing(MPWriter *w, uint8_t ioapic_id,
                               uint16_t pci_irqs)
{
    add_intr(w, MP_ENTRY_IOINTR, MP_EXTINT, 0, ioapic_id, 0);
    for (uint8_t irq = 0; irq < ISA_IRQS; irq++) {
        if (irq == 2 || (pci_irqs & (1u << irq))) {
            continue;
        }
        add_intr(w, MP_ENTRY_IOINTR, MP_INT, irq, ioapic_id,
                 irq == 0 ? 2 : irq);
    }
}

/* PCI pins, each to the IOAPIC pin of its IRQ. */
static void mp_add_pci_routing(MPWriter *w, uint8_t ioapic_id,
                               const MPTablePciIntx *pci, unsigned nr_pci)
{
    for (unsigned i = 0; i < nr_pci; i++) {
        add_intr_flags(w, MP_ENTRY_IOINTR, MP_INT, MP_IRQ_PCI, PCI_BUS_ID,
                       (uint8_t)(pci[i].slot << 2 | (pci[i].pin - 1)),
                       ioapic_id, pci[i].irq);
    }
}

static bool mp_check_pci(const MPTablePciIntx *pci, unsigned nr_pci,
                         uint16_t *irqs, Error **errp)
{
    *irqs = 0;
    if (nr_pci > MPTABLE_MAX_PCI_INTX) {
        error_setg(errp, "mptable: %u PCI interrupt pins (at most %u)",
                   nr_pci, MPTABLE_MAX_PCI_INTX);
        return false;
    }
    for (unsigned i = 0; i < nr_pci; i++) {
        if (pci[i].slot >= 32 || pci[i].pin < 1 || pci[i].pin > 4 ||
            pci[i].irq >= ISA_IRQS || pci[i].irq == 2) {
            error_setg(errp, "mptable: PCI slot %u pin %u to IRQ %u cannot "
                       "be described", pci[i].slot, pci[i].pin, pci[i].irq);
            return false;
        }
        *irqs |= 1u << pci[i].irq;
    }
    return true;
}

/* Virtual wire mode: 8259 output on every LAPIC's LINT0 as ExtINT, NMI on
 * LINT1 (what the BIOS programs, and what the spec's default
 * configurations describe). */
static void mp_add_local_interrupts(MPWriter *w)
{
    add_intr(w, MP_ENTRY_LINTR, MP_EXTINT, 0, MP_ALL_LAPICS, 0);
    add_intr(w, MP_ENTRY_LINTR, MP_NMI, 0, MP_ALL_LAPICS, 1);
}

/* The "PCMP" header, once the entries behind it are in place. */
static void mp_fill_config_header(MPConfigHeader *hdr, size_t table_len,
                                  uint16_t count)
{
    memcpy(hdr->signature, "PCMP", 4);
    hdr->base_table_length = (uint16_t)table_len;
    hdr->spec_rev = MP_SPEC_REV;
    set_padded(hdr->oem_id, sizeof(hdr->oem_id), "TANDEM");
    set_padded(hdr->product_id, sizeof(hdr->product_id), "TANDEM");
    hdr->entry_count = count;
    hdr->lapic_addr = LAPIC_ADDR;
    /* No extended entries: length and checksum stay 0. */
    hdr->checksum = checksum8((const uint8_t *)hdr, table_len);
}

/* The "_MP_" floating pointer, pointing at the table right after it. */
static void mp_fill_floating_pointer(MPFloatingPointer *mpf)
{
    memcpy(mpf->signature, "_MP_", 4);
    mpf->config_table = (uint32_t)(MPTABLE_BASE + sizeof(*mpf));
    mpf->length = 1;
    mpf->spec_rev = MP_SPEC_REV;
    mpf->feature1 = 0;              /* config table present, no default */
    mpf->feature2 = 0;              /* no IMCR: virtual wire mode */
    mpf->checksum = checksum8((const uint8_t *)mpf, sizeof(*mpf));
}

bool mptable_write(GuestMemory *mem, unsigned smp_cpus,
                   const MPTablePciIntx *pci, unsigned nr_pci, Error **errp)
{
    ERRP_GUARD();
    g_autofree uint8_t *buf = NULL;
    MPFloatingPointer *mpf;
    MPConfigHeader *hdr;
    MPWriter w;
    uint8_t ioapic_id;
    uint16_t pci_irqs;
    size_t table_len, total;

    if (smp_cpus < 1 || smp_cpus > MPTABLE_MAX_CPUS) {
        error_setg(errp, "mptable: %u CPUs cannot be described "
                   "(supported: 1-%u)", smp_cpus, MPTABLE_MAX_CPUS);
        return false;
    }
    if (!mp_check_pci(pci, nr_pci, &pci_irqs, errp)) {
        return false;
    }
    ioapic_id = (uint8_t)smp_cpus;

    /* ISA IRQs: 16, less IRQ2, less the PCI ones; + ExtINT + 2 local. */
    table_len = sizeof(MPConfigHeader) +
                smp_cpus * sizeof(MPProcessorEntry) +
                (nr_pci ? 2 : 1) * sizeof(MPBusEntry) + sizeof(MPIOAPICEntry) +
                (ISA_IRQS + 2 - __builtin_popcount(pci_irqs) + nr_pci) *
                sizeof(MPIntrEntry);
    total = sizeof(MPFloatingPointer) + table_len;
    _Static_assert(sizeof(MPFloatingPointer) + sizeof(MPConfigHeader) +
                   MPTABLE_MAX_CPUS * sizeof(MPProcessorEntry) +
                   2 * sizeof(MPBusEntry) + sizeof(MPIOAPICEntry) +
                   (ISA_IRQS + 2 + MPTABLE_MAX_PCI_INTX) *
                   sizeof(MPIntrEntry) <= MPTABLE_AREA_SIZE,
                   "MP table fits its area");
    buf = g_malloc0(total);

    mpf = (MPFloatingPointer *)buf;
    hdr = (MPConfigHeader *)(buf + sizeof(*mpf));
    w = (MPWriter) { .p = (uint8_t *)(hdr + 1) };

    mp_add_processors(&w, smp_cpus);
    mp_add_bus_and_ioapic(&w, ioapic_id, nr_pci > 0);
    mp_add_isa_routing(&w, ioapic_id, pci_irqs);
    mp_add_pci_routing(&w, ioapic_id, pci, nr_pci);
    mp_add_local_interrupts(&w);
    /* We reserved 1 ExtINT + the ISA IRQs not PCI's + the PCI pins, plus
     * 2 local ones. */
    g_assert((size_t)(w.p - (uint8_t *)hdr) == table_len);
    mp_fill_config_header(hdr, table_len, w.count);
    mp_fill_floating_pointer(mpf);

    if (!guest_memory_write(mem, MPTABLE_BASE, buf, total, errp)) {
        error_prepend(errp, "mptable: ");
        return false;
    }
    return true;
}
