/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI: the bus, and the base every PCI device model builds on (virtio-pci
 * and its devices, the test device, the host and ISA bridges). Written
 * from the PCI Local Bus Specification 3.0; register names are in
 * hw/pci/pci-regs.h, MSI-X in hw/pci/msix.h, the config mechanism #1 host
 * in hw/pci/pci-host.h.
 *
 * A PCI device type derives from TYPE_PCI_DEVICE and registers a static
 * PCIDeviceClass (whose first member is its DeviceClass) with
 * PCI_DEVICE_CLASS_REGISTER. The core owns what every function has:
 *
 *   - 256 bytes of configuration space with a type 0 header filled from
 *     the class (IDs, class code), and per byte a write mask (bits the
 *     guest may change) and a write-1-to-clear mask (status errors);
 *   - six BARs: pci_register_bar() in the class's realize declares type
 *     and size; sizing (write all-ones, read back) falls out of the write
 *     mask. The core maps a BAR's region on the port or MMIO bus exactly
 *     when its decode bit in the command register is set and the address
 *     is usable, and moves or removes it when the guest changes either;
 *   - the capability list (pci_add_capability), for MSI-X and the virtio
 *     vendor capabilities;
 *   - INTx: pci_set_interrupt_pin() in realize, then pci_set_irq(); the
 *     bus swizzles (slot, pin) to one of its four PIRQ lines and ORs the
 *     devices sharing one; the command register's INTx disable and an
 *     enabled MSI-X keep the line low;
 *   - DMA: pci_dma_read/write, through GuestMemory so that every byte a
 *     device writes is marked dirty (ARCHITECTURE.md section 3), and only
 *     while the guest allows bus mastering;
 *   - migration: each function is one section ("pci/0000:00:SS.F") with
 *     its configuration space and MSI-X state, checked against the
 *     destination's read-only bytes; a class vmsd is a second section
 *     after it ("pci/0000:00:SS.F/TYPE"), loaded once the config is in.
 *
 * A device's life on the bus:
 *
 *   -device T[,addr=SLOT[.FN]][,multifunction=on]   properties checked
 *        |
 *   realize: slot/function chosen and checked, header filled,
 *        |   PCIDeviceClass.realize (BARs, capabilities, pin, MSI-X),
 *        |   migration sections registered
 *   guest programs BARs and the command register -> regions (un)mapped
 *        |
 *   unrealize: PCIDeviceClass.exit, regions unmapped, sections dropped
 *
 * Everything here runs under the BQL.
 */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/core/qdev.h"
#include "hw/pci/pci-regs.h"
#include "migration/savevm.h"
#include "system/ioport.h"
#include "system/memory.h"

#define TYPE_PCI_DEVICE "pci-device"

#define PCI_SLOT_MAX    32
#define PCI_FUNC_MAX    8
#define PCI_DEVFN(slot, fn) ((((slot) & 0x1f) << 3) | ((fn) & 0x07))
#define PCI_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn) ((devfn) & 0x07)

typedef struct PCIDevice PCIDevice;
typedef struct PciBus PciBus;
typedef struct PciMsixState PciMsixState;
typedef struct PciMsiOps PciMsiOps;

/* ---- BARs ---- */

typedef enum PciBarType {
    PCI_BAR_IO,             /* I/O space, at most 256 bytes */
    PCI_BAR_MEM32,          /* memory below 4 GiB */
    PCI_BAR_MEM64,          /* memory anywhere; takes this BAR and the next */
} PciBarType;

/* PciBar.addr of a BAR that does not decode. */
#define PCI_BAR_UNMAPPED UINT64_MAX

typedef struct PciBar {
    PCIDevice *dev;
    unsigned index;
    uint64_t size;          /* 0: not implemented (or a MEM64's upper half) */
    bool upper_half;        /* the high dword of the BAR before it */
    PciBarType type;
    bool prefetch;
    const IoOps *ops;       /* offsets are relative to the BAR */
    void *opaque;
    char *name;             /* "TYPE.barN", the region's name */
    uint64_t addr;          /* where it decodes now, or PCI_BAR_UNMAPPED */
} PciBar;

/* ---- the device class ---- */

typedef struct PCIDeviceClass {
    DeviceClass parent_class;   /* first: a PCI TypeInfo is its class */
    /* The header's identity. */
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t subsystem_vendor_id;   /* 0: none */
    uint16_t subsystem_id;
    uint8_t revision;
    uint8_t prog_if;
    uint16_t class_id;              /* base class << 8 | sub-class */
    /* Builds the function: BARs, capabilities, interrupt pin, MSI-X.
     * The header is filled and the devfn known; on failure the core
     * undoes what it did and calls nothing else. */
    bool (*realize)(PCIDevice *dev, Error **errp);
    /* Undoes realize (MSI-X, the core, go after it). */
    void (*exit)(PCIDevice *dev);
    /* After the core's reset of the configuration space. */
    void (*reset)(PCIDevice *dev);
    /* After a guest's configuration write was applied (capabilities,
     * device registers): addr and len as the guest wrote them. */
    void (*config_write)(PCIDevice *dev, unsigned addr, uint32_t val,
                         unsigned len);
    /* Before a guest's configuration read of len bytes at addr, for
     * bytes the device computes on demand (virtio's PCI configuration
     * access window); optional. */
    void (*config_read)(PCIDevice *dev, unsigned addr, unsigned len);
    /* The GSI the function's pin reaches may have changed (the guest
     * re-routed a PIRQ, reset, migration): for a device that delivers
     * INTx through an irqfd on pci_intx_gsi(). */
    void (*intx_route_changed)(PCIDevice *dev);
    /* A BAR moved (either address may be PCI_BAR_UNMAPPED): for what
     * lives beside the region, such as ioeventfds on a notify area. */
    void (*bar_map)(PCIDevice *dev, unsigned bar, uint64_t old_addr,
                    uint64_t new_addr);
    /* After the core loaded and applied the function's config space
     * (derived state such as a router's outputs). */
    void (*post_load)(PCIDevice *dev);
    /* The device's own state, a second migration section. */
    const VMStateDescription *vmsd;
} PCIDeviceClass;

struct PCIDevice {
    DeviceState parent_obj;
    /* Properties. */
    bool addr_given;        /* addr= was given ... */
    uint8_t addr_devfn;     /* ... as this devfn */
    bool multifunction;
    /* Set at realize. */
    PciBus *bus;
    uint8_t devfn;
    char *vmstate_id;       /* "pci/0000:00:SS.F" */
    bool vmstate_registered;
    bool vmstate_dev_registered;
    /*
     * Configuration space and, per byte, the bits a guest write changes
     * (wmask) and the bits a guest clears by writing 1 (w1cmask). A
     * device model sets up both in realize (pci_set_* below and the
     * masks directly) and reads config[] freely; it never changes them
     * behind the guest's back except through the helpers here.
     */
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE];
    /* Bytes owned by the header or a capability (overlap check). */
    uint8_t used[PCI_CONFIG_SPACE_SIZE];
    /* The power-on contents, restored by reset. */
    uint8_t reset_config[PCI_CONFIG_SPACE_SIZE];
    PciBar bars[PCI_NUM_BARS];
    bool intx_level;        /* what the device drives on its pin */
    bool intx_out;          /* what reaches the bus (after disables) */
    PciMsixState *msix;     /* NULL without MSI-X (hw/pci/msix.h) */
    /* Migration shadows: loaded here, checked against this function,
     * then applied, so a bad stream leaves the function as it was. */
    uint8_t migr_config[PCI_CONFIG_SPACE_SIZE];
    bool migr_intx_level;
    uint8_t *migr_msix_table;
    uint32_t migr_msix_table_size;
    uint8_t *migr_msix_pba;
    uint32_t migr_msix_pba_size;
    char *vmstate_dev_id;   /* "pci/0000:00:SS.F/TYPE" with a class vmsd */
};

#define PCI_DEVICE(obj) ((PCIDevice *)(obj))

static inline const PCIDeviceClass *pci_device_class(const PCIDevice *d)
{
    return (const PCIDeviceClass *)d->parent_obj.dc;
}

/* PCI device types register this way; the DeviceClass part needs only
 * type (parent TYPE_PCI_DEVICE or a PCI type), category and flags. */
#define PCI_DEVICE_CLASS_REGISTER(pdc) DEVICE_CLASS_REGISTER((pdc).parent_class)

/* ---- the bus ---- */

/*
 * MMIO writes that the accelerator turns into eventfd signals without
 * an exit to the VMM (KVM_IOEVENTFD on the pc machine): a write of len
 * bytes at addr, any value, signals fd. For a device's doorbells (the
 * virtio-pci notify area), re-made when its BAR moves
 * (PCIDeviceClass.bar_map). Optional: without it the writes reach the
 * BAR's ops as usual.
 */
typedef struct PciIoeventfdOps {
    bool (*assign)(void *opaque, uint64_t addr, unsigned len, int fd,
                   Error **errp);
    void (*deassign)(void *opaque, uint64_t addr, unsigned len, int fd);
} PciIoeventfdOps;

/*
 * A PCI bus (bus number 0: Tandem has no bridges). The host that owns it
 * (hw/pci/pci-host.h) fills in the spaces and hooks; pci_bus_init then
 * registers it with the device registry.
 */
struct PciBus {
    BusState bus;           /* first; name "pci.0", kind BUS_KIND_PCI */
    IoBus *pio;             /* I/O BARs decode here */
    IoBus *mmio;            /* memory BARs decode here */
    GuestMemory *mem;       /* DMA target */
    SaveVMState *savevm;    /* where functions register; NULL: nowhere */
    PCIDevice *devices[PCI_SLOT_MAX * PCI_FUNC_MAX];    /* by devfn */
    /* INTx: (slot, pin 0-3) -> PIRQ 0-3 (the board's swizzle). */
    unsigned (*map_irq)(unsigned slot, unsigned pin);
    /* Where a PIRQ goes (the ISA bridge's router); NULL: nowhere yet. */
    void (*set_pirq)(void *opaque, unsigned pirq, bool level);
    /* The GSI a PIRQ reaches now, or -1. */
    int (*pirq_gsi)(void *opaque, unsigned pirq);
    void *pirq_opaque;
    unsigned pirq_count[PCI_INTX_PINS];     /* devices asserting each */
    /* MSI delivery (KVM's, or a test's): hw/pci/msix.h. */
    const PciMsiOps *msi_ops;
    void *msi_opaque;
    /* Doorbell writes as eventfds (KVM's, a test's, or NULL). */
    const PciIoeventfdOps *ioeventfd_ops;
    void *ioeventfd_opaque;
    bool registered;
};

static inline PciBus *pci_bus_of(BusState *bus)
{
    g_assert(bus->kind == BUS_KIND_PCI);
    return (PciBus *)bus;
}

/* Registers bus (name and spaces set) with the device registry. */
bool pci_bus_init(PciBus *bus, Error **errp);
/* Unrealizes its devices (newest first) and unregisters it. */
void pci_bus_cleanup(PciBus *bus);
/* Calls fn for every PCI bus, in registration order. */
void pci_bus_foreach(void (*fn)(PciBus *bus, void *opaque), void *opaque);
/*
 * After the machine's devices are realized: every slot with a function
 * other than 0 must have a function 0 (the guest never finds the others
 * without it).
 */
bool pci_bus_check(PciBus *bus, Error **errp);
/* The function at devfn, or NULL. */
PCIDevice *pci_bus_find(PciBus *bus, unsigned devfn);
/* Installs the PIRQ router (the ISA bridge) and tells it the lines'
 * current levels; NULLs remove it. */
void pci_bus_set_pirq_router(PciBus *bus,
                             void (*set_pirq)(void *, unsigned, bool),
                             int (*pirq_gsi)(void *, unsigned),
                             void *opaque);
/* The router changed where PIRQs go: every function hears it
 * (PCIDeviceClass.intx_route_changed). */
void pci_bus_intx_routes_changed(PciBus *bus);
/* i440FX/PIIX wiring: PIRQ (slot - 1 + pin) mod 4, pin 0 = INTA#. */
unsigned pci_swizzle_map_irq(unsigned slot, unsigned pin);

/* ---- configuration space ---- */

/* A configuration access of len 1, 2 or 4 at addr (aligned to len), as
 * the guest makes it: masks, status clearing, BAR moves, hooks. */
uint32_t pci_config_read(PCIDevice *dev, unsigned addr, unsigned len);
void pci_config_write(PCIDevice *dev, unsigned addr, uint32_t val,
                      unsigned len);

/* Little-endian accessors into a config (or mask) array. */
static inline uint8_t pci_get_byte(const uint8_t *p) { return p[0]; }
static inline uint16_t pci_get_word(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t pci_get_long(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline void pci_set_byte(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void pci_set_word(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}
static inline void pci_set_long(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

/*
 * Declares BAR bar (0-5) in realize. size: a power of two, at least 4
 * (I/O, at most 256) or 16 (memory). MEM64 takes bar and bar + 1. ops
 * get offsets relative to the BAR's base; MSI-X's table and PBA inside
 * the BAR (msix_init) are answered before ops are called.
 */
void pci_register_bar(PCIDevice *dev, unsigned bar, PciBarType type,
                      bool prefetch, uint64_t size, const IoOps *ops,
                      void *opaque);
/* The BAR's guest-programmed address (whether or not it decodes). */
uint64_t pci_bar_address(PCIDevice *dev, unsigned bar);

/*
 * Adds a capability of size bytes with the given id at offset (0: the
 * first free dword-aligned place after the header), linked at the end
 * of the list. Returns its offset, or 0 with errp set when it does not
 * fit or overlaps another. Its bytes are read-only for the guest until
 * the device opens them in wmask.
 */
uint8_t pci_add_capability(PCIDevice *dev, uint8_t cap_id, uint8_t offset,
                           uint8_t size, Error **errp);
/* Offset of the first capability with id cap_id, or 0. Walks the list
 * as a guest would (bounded: a loop cannot hang it). */
uint8_t pci_find_capability(PCIDevice *dev, uint8_t cap_id);

/* INTx: pin 1-4 (INTA#-INTD#), set in realize. */
void pci_set_interrupt_pin(PCIDevice *dev, unsigned pin);
/* Drives the function's INTx pin (level-triggered). */
void pci_set_irq(PCIDevice *dev, bool level);
/* The PIRQ (0-3) the function's pin reaches, or -1 without a pin. */
int pci_intx_pirq(PCIDevice *dev);
/*
 * The interrupt controller input (GSI; on the pc machine the ISA IRQ,
 * which KVM routes to the PIC and IOAPIC pins of that number) the pin
 * reaches now, or -1 (no pin, no router, routing off). A device that
 * raises INTx through a KVM irqfd (with a resample fd, since INTx is
 * level-triggered) attaches it here and moves it when
 * PCIDeviceClass.intx_route_changed says so. pci_set_irq() needs none
 * of this.
 */
int pci_intx_gsi(PCIDevice *dev);

/* ---- DMA ---- */

/* Whether config-space bytes [a, a+alen) and [b, b+blen) meet: which
 * registers a config write touched. */
bool pci_ranges_overlap(unsigned a, unsigned alen, unsigned b,
                        unsigned blen);

/* Guest memory access for the device; fails with a clear error when the
 * guest has not enabled bus mastering or the range is not all RAM.
 * Writes mark the pages dirty. */
bool pci_dma_read(PCIDevice *dev, uint64_t addr, void *buf, uint64_t len,
                  Error **errp);
bool pci_dma_write(PCIDevice *dev, uint64_t addr, const void *buf,
                   uint64_t len, Error **errp);

/* ---- migration ---- */

/* The "pci-device" section of a function (for tests that save and load
 * one function alone). */
const VMStateDescription *pci_device_vmsd(void);

/* ---- naming ---- */

/* "0000:00:05.0" */
char *pci_device_path(const PCIDevice *dev);

#endif
