/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PCI core (see include/hw/pci/pci.h): the base device type, its
 * configuration space with write masks, BARs mapped on the port and MMIO
 * buses as the command register and the BARs say, the capability list,
 * INTx through the bus's PIRQ lines, DMA through GuestMemory, the bus
 * itself, and each function's migration section.
 */
#include <string.h>
#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "trace.h"

static GPtrArray *pci_buses;    /* PciBus *, registration order */

bool pci_ranges_overlap(unsigned a, unsigned alen, unsigned b,
                        unsigned blen)
{
    return a < b + blen && b < a + alen;
}

static const char *pci_bar_type_name(PciBarType t)
{
    static const char *const names[] = {
        [PCI_BAR_IO] = "io", [PCI_BAR_MEM32] = "mem32",
        [PCI_BAR_MEM64] = "mem64",
    };
    return names[t];
}

char *pci_device_path(const PCIDevice *dev)
{
    return g_strdup_printf("0000:00:%02x.%x", PCI_SLOT(dev->devfn),
                           PCI_FUNC(dev->devfn));
}

/* ---- BARs: decoding ---- */

uint64_t pci_bar_address(PCIDevice *dev, unsigned bar)
{
    PciBar *b = &dev->bars[bar];
    uint32_t lo = pci_get_long(dev->config + PCI_BASE_ADDRESS_0 + 4 * bar);

    if (b->type == PCI_BAR_IO) {
        return lo & PCI_BASE_ADDRESS_IO_MASK;
    }
    if (b->type == PCI_BAR_MEM64) {
        uint32_t hi = pci_get_long(dev->config + PCI_BASE_ADDRESS_0 +
                                   4 * (bar + 1));
        return ((uint64_t)hi << 32) | (lo & PCI_BASE_ADDRESS_MEM_MASK);
    }
    return lo & PCI_BASE_ADDRESS_MEM_MASK;
}

/*
 * Where BAR bar should decode now, or PCI_BAR_UNMAPPED: its decode bit
 * is off, it was never assigned (0), or it does not fit its space. The
 * last rule keeps a BAR out of the way while it is being sized (the
 * guest wrote all-ones, so it reads as the top of the space).
 */
static uint64_t pci_bar_wanted(PCIDevice *dev, unsigned bar)
{
    PciBar *b = &dev->bars[bar];
    uint16_t cmd = pci_get_word(dev->config + PCI_COMMAND);
    uint64_t addr, last;

    if (!b->size) {
        return PCI_BAR_UNMAPPED;
    }
    if (!(cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO
                                       : PCI_COMMAND_MEMORY))) {
        return PCI_BAR_UNMAPPED;
    }
    addr = pci_bar_address(dev, bar);
    last = addr + b->size - 1;
    if (addr == 0 || last < addr) {
        return PCI_BAR_UNMAPPED;
    }
    switch (b->type) {
    case PCI_BAR_IO:
        return last > 0xffff ? PCI_BAR_UNMAPPED : addr;
    case PCI_BAR_MEM32:
        return last >= 0xffffffffULL ? PCI_BAR_UNMAPPED : addr;
    case PCI_BAR_MEM64:
        return last == UINT64_MAX ? PCI_BAR_UNMAPPED : addr;
    }
    g_assert_not_reached();
}

static IoBus *pci_bar_space(PCIDevice *dev, PciBar *b)
{
    return b->type == PCI_BAR_IO ? dev->bus->pio : dev->bus->mmio;
}

static uint64_t pci_bar_io_read(void *opaque, uint64_t offset, unsigned size)
{
    PciBar *b = opaque;
    uint64_t v;

    if (msix_bar_read(b->dev, b->index, offset, size, &v)) {
        return v;
    }
    if (b->ops && b->ops->read) {
        return b->ops->read(b->opaque, offset, size);
    }
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void pci_bar_io_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    PciBar *b = opaque;

    if (msix_bar_write(b->dev, b->index, offset, value, size)) {
        return;
    }
    if (b->ops && b->ops->write) {
        b->ops->write(b->opaque, offset, value, size);
    }
}

static const IoOps pci_bar_io_ops = {
    .read = pci_bar_io_read,
    .write = pci_bar_io_write,
};

static void pci_bar_moved(PCIDevice *dev, unsigned bar, uint64_t old_addr,
                          uint64_t new_addr)
{
    const PCIDeviceClass *pc = pci_device_class(dev);

    if (pc->bar_map) {
        pc->bar_map(dev, bar, old_addr, new_addr);
    }
}

static void pci_bar_unmap(PCIDevice *dev, unsigned bar)
{
    PciBar *b = &dev->bars[bar];
    uint64_t old = b->addr;

    if (old == PCI_BAR_UNMAPPED) {
        return;
    }
    io_bus_unregister(pci_bar_space(dev, b), old);
    b->addr = PCI_BAR_UNMAPPED;
    trace_pci_bar_unmap(qdev_type_name(&dev->parent_obj), dev->devfn, bar,
                        old);
    pci_bar_moved(dev, bar, old, PCI_BAR_UNMAPPED);
}

static void pci_bar_map(PCIDevice *dev, unsigned bar, uint64_t addr)
{
    PciBar *b = &dev->bars[bar];
    g_autoptr(Error) err = NULL;

    /* Another region there (a BAR the guest overlapped, the config
     * ports, a UART): this one stays off until the clash goes away. */
    if (!io_bus_register(pci_bar_space(dev, b), b->name, addr, b->size,
                         &pci_bar_io_ops, b, &err)) {
        trace_pci_bar_clash(qdev_type_name(&dev->parent_obj), dev->devfn,
                            bar, addr, error_get_pretty(err));
        return;
    }
    b->addr = addr;
    trace_pci_bar_map(qdev_type_name(&dev->parent_obj), dev->devfn, bar,
                      pci_bar_type_name(b->type), addr, b->size);
    pci_bar_moved(dev, bar, PCI_BAR_UNMAPPED, addr);
}

/*
 * Brings every BAR on the bus to where it should decode: first removes
 * the ones that moved or stopped decoding, then maps the ones that
 * should decode and do not (which retries a BAR that clashed with a
 * region now gone).
 */
static void pci_bus_update_mappings(PciBus *bus)
{
    for (unsigned pass = 0; pass < 2; pass++) {
        for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++) {
            PCIDevice *dev = bus->devices[fn];

            for (unsigned i = 0; dev && i < PCI_NUM_BARS; i++) {
                uint64_t want = pci_bar_wanted(dev, i);

                if (pass == 0 && dev->bars[i].addr != want) {
                    pci_bar_unmap(dev, i);
                } else if (pass == 1 && want != PCI_BAR_UNMAPPED &&
                           dev->bars[i].addr == PCI_BAR_UNMAPPED) {
                    pci_bar_map(dev, i, want);
                }
            }
        }
    }
}

static bool is_power_of_2(uint64_t v)
{
    return v && !(v & (v - 1));
}

void pci_register_bar(PCIDevice *dev, unsigned bar, PciBarType type,
                      bool prefetch, uint64_t size, const IoOps *ops,
                      void *opaque)
{
    uint8_t *reg = dev->config + PCI_BASE_ADDRESS_0 + 4 * bar;
    uint8_t *wreg = dev->wmask + PCI_BASE_ADDRESS_0 + 4 * bar;
    PciBar *b;
    uint32_t flags;
    uint64_t mask = ~(size - 1);

    /* A device model's mistakes, not the guest's or the user's. */
    g_assert(bar < PCI_NUM_BARS);
    g_assert(!dev->bars[bar].size && !dev->bars[bar].upper_half);
    g_assert(is_power_of_2(size));
    switch (type) {
    case PCI_BAR_IO:
        g_assert(size >= 4 && size <= 256 && !prefetch);
        flags = PCI_BASE_ADDRESS_SPACE_IO;
        pci_set_long(wreg, (uint32_t)mask & PCI_BASE_ADDRESS_IO_MASK);
        break;
    case PCI_BAR_MEM32:
        g_assert(size >= 16 && size <= (1ULL << 31));
        flags = prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
        pci_set_long(wreg, (uint32_t)mask & PCI_BASE_ADDRESS_MEM_MASK);
        break;
    case PCI_BAR_MEM64:
        g_assert(size >= 16 && bar + 1 < PCI_NUM_BARS &&
                 !dev->bars[bar + 1].size);
        flags = PCI_BASE_ADDRESS_MEM_TYPE_64 |
                (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
        pci_set_long(wreg, (uint32_t)mask & PCI_BASE_ADDRESS_MEM_MASK);
        pci_set_long(wreg + 4, (uint32_t)(mask >> 32));
        dev->bars[bar + 1].upper_half = true;
        break;
    default:
        g_assert_not_reached();
    }
    pci_set_long(reg, flags);
    b = &dev->bars[bar];
    *b = (PciBar) {
        .dev = dev, .index = bar, .size = size, .type = type,
        .prefetch = prefetch, .ops = ops, .opaque = opaque,
        .name = g_strdup_printf("%s.bar%u", qdev_type_name(&dev->parent_obj),
                                bar),
        .addr = PCI_BAR_UNMAPPED,
    };
}

/* ---- capabilities ---- */

uint8_t pci_find_capability(PCIDevice *dev, uint8_t cap_id)
{
    uint8_t pos;

    if (!(pci_get_word(dev->config + PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    pos = dev->config[PCI_CAPABILITY_LIST] & ~3;
    /* At most one capability per dword of the device part: a loop in
     * the list (only we write it, but migration loads it) ends here. */
    for (unsigned n = 0; pos >= PCI_CONFIG_HEADER_SIZE && n < 48; n++) {
        if (dev->config[pos + PCI_CAP_LIST_ID] == cap_id) {
            return pos;
        }
        pos = dev->config[pos + PCI_CAP_LIST_NEXT] & ~3;
    }
    return 0;
}

static uint8_t pci_find_space(PCIDevice *dev, uint8_t size)
{
    for (unsigned pos = PCI_CONFIG_HEADER_SIZE;
         pos + size <= PCI_CONFIG_SPACE_SIZE; pos += 4) {
        bool free = true;

        for (unsigned i = 0; i < size && free; i++) {
            free = !dev->used[pos + i];
        }
        if (free) {
            return pos;
        }
    }
    return 0;
}

uint8_t pci_add_capability(PCIDevice *dev, uint8_t cap_id, uint8_t offset,
                           uint8_t size, Error **errp)
{
    uint8_t *link;

    g_assert(size >= 2);
    if (!offset) {
        offset = pci_find_space(dev, size);
        if (!offset) {
            error_setg(errp, "%s: no room for a %u-byte capability 0x%02x "
                       "in configuration space",
                       qdev_type_name(&dev->parent_obj), size, cap_id);
            return 0;
        }
    }
    if (offset < PCI_CONFIG_HEADER_SIZE || (offset & 3) ||
        offset + size > PCI_CONFIG_SPACE_SIZE) {
        error_setg(errp, "%s: capability 0x%02x at 0x%02x is outside the "
                   "device part of configuration space",
                   qdev_type_name(&dev->parent_obj), cap_id, offset);
        return 0;
    }
    for (unsigned i = 0; i < size; i++) {
        if (dev->used[offset + i]) {
            error_setg(errp, "%s: capability 0x%02x at 0x%02x overlaps "
                       "another at 0x%02x", qdev_type_name(&dev->parent_obj),
                       cap_id, offset, offset + i);
            return 0;
        }
    }
    /* Append: find the last link (the header's pointer if none). */
    link = dev->config + PCI_CAPABILITY_LIST;
    while (*link) {
        link = dev->config + *link + PCI_CAP_LIST_NEXT;
    }
    *link = offset;
    memset(dev->used + offset, 1, size);
    memset(dev->config + offset, 0, size);
    memset(dev->wmask + offset, 0, size);
    dev->config[offset + PCI_CAP_LIST_ID] = cap_id;
    dev->config[offset + PCI_CAP_LIST_NEXT] = 0;
    pci_set_word(dev->config + PCI_STATUS,
                 pci_get_word(dev->config + PCI_STATUS) |
                 PCI_STATUS_CAP_LIST);
    return offset;
}

/* ---- INTx ---- */

void pci_set_interrupt_pin(PCIDevice *dev, unsigned pin)
{
    g_assert(pin >= 1 && pin <= PCI_INTX_PINS);
    dev->config[PCI_INTERRUPT_PIN] = pin;
}

/* Counted from the PIIX3's slot 1, so slot 1's INTA# is PIRQA: how
 * QEMU's i440FX board wires them and SeaBIOS's routing table says. */
unsigned pci_swizzle_map_irq(unsigned slot, unsigned pin)
{
    return (slot + PCI_INTX_PINS - 1 + pin) % PCI_INTX_PINS;
}

int pci_intx_pirq(PCIDevice *dev)
{
    unsigned pin = dev->config[PCI_INTERRUPT_PIN];

    if (!pin || pin > PCI_INTX_PINS || !dev->bus || !dev->bus->map_irq) {
        return -1;
    }
    return dev->bus->map_irq(PCI_SLOT(dev->devfn), pin - 1);
}

int pci_intx_gsi(PCIDevice *dev)
{
    int pirq = pci_intx_pirq(dev);

    if (pirq < 0 || !dev->bus->pirq_gsi) {
        return -1;
    }
    return dev->bus->pirq_gsi(dev->bus->pirq_opaque, pirq);
}

static void pci_bus_pirq_change(PciBus *bus, unsigned pirq, bool up)
{
    g_assert(up || bus->pirq_count[pirq] > 0);
    bus->pirq_count[pirq] += up ? 1 : -1;
    trace_pci_pirq(pirq, bus->pirq_count[pirq]);
    if (bus->set_pirq) {
        bus->set_pirq(bus->pirq_opaque, pirq, bus->pirq_count[pirq] > 0);
    }
}

/*
 * What reaches the bus: the device's level, unless the guest disabled
 * INTx in the command register or enabled MSI-X (a function using MSI-X
 * must not use its pin). The status bit shows the device's level either
 * way, as the spec asks.
 */
static void pci_intx_update(PCIDevice *dev)
{
    uint16_t cmd = pci_get_word(dev->config + PCI_COMMAND);
    uint16_t status = pci_get_word(dev->config + PCI_STATUS);
    bool out = dev->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE) &&
               !msix_enabled(dev);
    int pirq = pci_intx_pirq(dev);

    status = dev->intx_level ? status | PCI_STATUS_INTERRUPT
                             : status & ~PCI_STATUS_INTERRUPT;
    pci_set_word(dev->config + PCI_STATUS, status);
    if (out == dev->intx_out) {
        return;
    }
    dev->intx_out = out;
    trace_pci_intx(qdev_type_name(&dev->parent_obj), dev->devfn, out);
    if (pirq >= 0) {
        pci_bus_pirq_change(dev->bus, pirq, out);
    }
}

void pci_set_irq(PCIDevice *dev, bool level)
{
    g_assert(dev->config[PCI_INTERRUPT_PIN]);
    dev->intx_level = level;
    pci_intx_update(dev);
}

/* ---- configuration accesses ---- */

uint32_t pci_config_read(PCIDevice *dev, unsigned addr, unsigned len)
{
    const PCIDeviceClass *pc = pci_device_class(dev);
    uint32_t v = 0;

    if ((len != 1 && len != 2 && len != 4) || (addr & (len - 1)) ||
        addr + len > PCI_CONFIG_SPACE_SIZE) {
        return len >= 4 ? ~0u : (1u << (len * 8)) - 1;
    }
    if (pc->config_read) {
        pc->config_read(dev, addr, len);
    }
    for (unsigned i = 0; i < len; i++) {
        v |= (uint32_t)dev->config[addr + i] << (8 * i);
    }
    return v;
}

void pci_config_write(PCIDevice *dev, unsigned addr, uint32_t val,
                      unsigned len)
{
    const PCIDeviceClass *pc = pci_device_class(dev);

    if ((len != 1 && len != 2 && len != 4) || (addr & (len - 1)) ||
        addr + len > PCI_CONFIG_SPACE_SIZE) {
        return;
    }
    trace_pci_config_write(qdev_type_name(&dev->parent_obj), dev->devfn,
                           addr, val, len);
    for (unsigned i = 0; i < len; i++) {
        uint8_t b = val >> (8 * i);
        unsigned a = addr + i;

        dev->config[a] = (dev->config[a] & ~dev->wmask[a]) |
                         (b & dev->wmask[a]);
        dev->config[a] &= ~(b & dev->w1cmask[a]);
    }
    if (dev->msix) {
        msix_config_write(dev, addr, len);
    }
    if (pci_ranges_overlap(addr, len, PCI_COMMAND, 2) ||
        pci_ranges_overlap(addr, len, PCI_BASE_ADDRESS_0,
                           4 * PCI_NUM_BARS)) {
        pci_bus_update_mappings(dev->bus);
    }
    pci_intx_update(dev);
    if (pc->config_write) {
        pc->config_write(dev, addr, val, len);
    }
}

/* ---- DMA ---- */

static bool pci_dma_check(PCIDevice *dev, const char *what, uint64_t addr,
                          uint64_t len, Error **errp)
{
    if (!(pci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        g_autofree char *path = pci_device_path(dev);

        error_setg(errp, "PCI %s (%s): DMA %s of %" G_GUINT64_FORMAT
                   " bytes at 0x%" G_GINT64_MODIFIER "x while the guest has "
                   "not enabled bus mastering", path,
                   qdev_type_name(&dev->parent_obj), what, len, addr);
        return false;
    }
    return true;
}

bool pci_dma_read(PCIDevice *dev, uint64_t addr, void *buf, uint64_t len,
                  Error **errp)
{
    return pci_dma_check(dev, "read", addr, len, errp) &&
           guest_memory_read(dev->bus->mem, addr, buf, len, errp);
}

bool pci_dma_write(PCIDevice *dev, uint64_t addr, const void *buf,
                   uint64_t len, Error **errp)
{
    /* guest_memory_write marks the pages dirty (migration, COLO). */
    return pci_dma_check(dev, "write", addr, len, errp) &&
           guest_memory_write(dev->bus->mem, addr, buf, len, errp);
}

/* ---- reset ---- */

static void pci_device_reset(PCIDevice *dev)
{
    const PCIDeviceClass *pc = pci_device_class(dev);

    dev->intx_level = false;
    memcpy(dev->config, dev->reset_config, sizeof(dev->config));
    if (dev->msix) {
        msix_reset(dev);
    }
    pci_intx_update(dev);
    if (pc->reset) {
        pc->reset(dev);
    }
}

static void pci_qdev_reset(DeviceState *qdev)
{
    PCIDevice *dev = PCI_DEVICE(qdev);

    pci_device_reset(dev);
    pci_bus_update_mappings(dev->bus);
}

/* ---- migration ---- */

static bool pci_pre_save(void *opaque, Error **errp)
{
    PCIDevice *dev = opaque;

    memcpy(dev->migr_config, dev->config, sizeof(dev->config));
    dev->migr_intx_level = dev->intx_level;
    if (dev->msix) {
        msix_pre_save(dev);
    }
    return true;
}

/* The bytes the guest cannot change must be this function's: a stream
 * from another device, or a corrupted one, is refused byte by byte. */
static bool pci_check_loaded_config(PCIDevice *dev, Error **errp)
{
    for (unsigned a = 0; a < PCI_CONFIG_SPACE_SIZE; a++) {
        uint8_t fixed = ~(dev->wmask[a] | dev->w1cmask[a]);

        if (a == PCI_STATUS) {
            fixed &= ~PCI_STATUS_INTERRUPT;     /* follows the level */
        }
        if ((dev->migr_config[a] ^ dev->config[a]) & fixed) {
            g_autofree char *path = pci_device_path(dev);

            error_setg(errp, "PCI %s (%s): read-only config byte 0x%02x is "
                       "0x%02x in the stream but 0x%02x here", path,
                       qdev_type_name(&dev->parent_obj), a,
                       dev->migr_config[a], dev->config[a]);
            return false;
        }
    }
    return true;
}

static bool pci_check_loaded_msix(PCIDevice *dev, Error **errp)
{
    if (dev->msix) {
        return msix_post_load(dev, errp);
    }
    if (dev->migr_msix_table_size || dev->migr_msix_pba_size) {
        g_autofree char *path = pci_device_path(dev);

        error_setg(errp, "PCI %s (%s): MSI-X state in the stream for a "
                   "function without MSI-X", path,
                   qdev_type_name(&dev->parent_obj));
        return false;
    }
    return true;
}

/* Checks everything first, then applies: a refused stream leaves the
 * function as it was. */
static bool pci_post_load(void *opaque, int version_id, Error **errp)
{
    PCIDevice *dev = opaque;

    if (!pci_check_loaded_config(dev, errp) ||
        !pci_check_loaded_msix(dev, errp)) {
        return false;
    }
    memcpy(dev->config, dev->migr_config, sizeof(dev->config));
    dev->intx_level = dev->migr_intx_level;
    pci_bus_update_mappings(dev->bus);
    pci_intx_update(dev);
    if (dev->msix) {
        msix_apply_loaded(dev);
    }
    if (pci_device_class(dev)->post_load) {
        pci_device_class(dev)->post_load(dev);
    }
    return true;
}

static const VMStateDescription vmstate_pci_device = {
    .name = "pci-device",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = pci_pre_save,
    .post_load = pci_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_BUFFER(migr_config, PCIDevice),
        VMSTATE_BOOL(migr_intx_level, PCIDevice),
        /* The lengths first: a fresh destination learns them here. */
        VMSTATE_UINT32_LE(migr_msix_table_size, PCIDevice,
                          PCI_MSIX_MAX_ENTRIES * PCI_MSIX_ENTRY_SIZE),
        VMSTATE_UINT32_LE(migr_msix_pba_size, PCIDevice,
                          PCI_MSIX_MAX_ENTRIES / 8),
        VMSTATE_VBUFFER_ALLOC_UINT32(migr_msix_table, PCIDevice,
                                     migr_msix_table_size,
                                     PCI_MSIX_MAX_ENTRIES *
                                     PCI_MSIX_ENTRY_SIZE),
        VMSTATE_VBUFFER_ALLOC_UINT32(migr_msix_pba, PCIDevice,
                                     migr_msix_pba_size,
                                     PCI_MSIX_MAX_ENTRIES / 8),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription *pci_device_vmsd(void)
{
    return &vmstate_pci_device;
}

static void pci_vmstate_unregister(PCIDevice *dev)
{
    SaveVMState *sv = dev->bus->savevm;

    if (dev->vmstate_dev_registered) {
        savevm_unregister(sv, dev->vmstate_dev_id, 0);
        dev->vmstate_dev_registered = false;
    }
    if (dev->vmstate_registered) {
        savevm_unregister(sv, dev->vmstate_id, 0);
        dev->vmstate_registered = false;
    }
}

static bool pci_vmstate_register(PCIDevice *dev, Error **errp)
{
    const PCIDeviceClass *pc = pci_device_class(dev);
    SaveVMState *sv = dev->bus->savevm;

    if (!sv) {
        return true;
    }
    if (!savevm_register(sv, dev->vmstate_id, 0, &vmstate_pci_device, dev,
                         errp)) {
        return false;
    }
    dev->vmstate_registered = true;
    if (pc->vmsd) {
        if (!savevm_register(sv, dev->vmstate_dev_id, 0, pc->vmsd, dev,
                             errp)) {
            pci_vmstate_unregister(dev);
            return false;
        }
        dev->vmstate_dev_registered = true;
    }
    return true;
}

/* ---- the addr property ---- */

/* addr=SLOT[.FN], both hex as lspci prints them ("5", "0x1f.7"). */
static bool pci_parse_addr(Object *obj, const ObjectProperty *p,
                           const char *text, Error **errp)
{
    PCIDevice *dev = PCI_DEVICE(obj);
    unsigned long slot, fn = 0;
    char *end;

    if (!g_ascii_isxdigit(text[0])) {
        goto bad;
    }
    slot = strtoul(text, &end, 16);
    if (*end == '.') {
        if (!g_ascii_isxdigit(end[1])) {
            goto bad;
        }
        fn = strtoul(end + 1, &end, 16);
    }
    if (*end || slot >= PCI_SLOT_MAX || fn >= PCI_FUNC_MAX) {
        goto bad;
    }
    dev->addr_given = true;
    dev->addr_devfn = PCI_DEVFN(slot, fn);
    return true;

bad:
    /* QEMU's text, then what would have been right. */
    error_setg(errp, "Property '%s.%s' doesn't take value '%s' (expected "
               "SLOT[.FN], slot 0-1f, function 0-7, in hex)",
               obj->type->name, p->name, text);
    return false;
}

static const ObjectProperty pci_device_props[] = {
    { .name = "addr", .type = OBJ_PROP_CUSTOM, .custom_type = "pci-devfn",
      .desc = "slot and function, SLOT[.FN] (default: the first free slot)",
      .parse = pci_parse_addr },
    OBJ_PROP("multifunction", OBJ_PROP_BOOL, PCIDevice, multifunction,
             "on: function 0 of a slot with more functions"),
    { NULL },
};

/* ---- realize ---- */

static char *pci_describe(PCIDevice *dev)
{
    const char *id = dev->parent_obj.parent_obj.id;

    return id ? g_strdup_printf("%s (id '%s')", qdev_type_name(&dev->parent_obj),
                                id)
              : g_strdup(qdev_type_name(&dev->parent_obj));
}

static bool pci_slot_empty(PciBus *bus, unsigned slot)
{
    for (unsigned fn = 0; fn < PCI_FUNC_MAX; fn++) {
        if (bus->devices[PCI_DEVFN(slot, fn)]) {
            return false;
        }
    }
    return true;
}

/* The slot and function: addr= checked, or the first empty slot. */
static bool pci_choose_devfn(PCIDevice *dev, PciBus *bus, Error **errp)
{
    unsigned devfn, slot, fn;
    PCIDevice *other;

    if (!dev->addr_given) {
        for (slot = 0; slot < PCI_SLOT_MAX; slot++) {
            if (pci_slot_empty(bus, slot)) {
                dev->devfn = PCI_DEVFN(slot, 0);
                return true;
            }
        }
        error_setg(errp, "PCI: no slot available for %s on %s, all 32 in "
                   "use", qdev_type_name(&dev->parent_obj), bus->bus.name);
        return false;
    }
    devfn = dev->addr_devfn;
    slot = PCI_SLOT(devfn);
    fn = PCI_FUNC(devfn);
    other = bus->devices[devfn];
    if (other) {
        g_autofree char *what = pci_describe(other);

        error_setg(errp, "PCI: slot %u function %u not available for %s, in "
                   "use by %s", slot, fn, qdev_type_name(&dev->parent_obj),
                   what);
        return false;
    }
    if (fn) {
        other = bus->devices[PCI_DEVFN(slot, 0)];
        if (other && !other->multifunction) {
            error_setg(errp, "PCI: slot %u function 0 is a single-function "
                       "device (multifunction=off), so function %u can't be "
                       "added", slot, fn);
            return false;
        }
    } else if (!dev->multifunction) {
        for (unsigned f = 1; f < PCI_FUNC_MAX; f++) {
            if (bus->devices[PCI_DEVFN(slot, f)]) {
                error_setg(errp, "PCI: slot %u already has function %u, so "
                           "function 0 needs multifunction=on", slot, f);
                return false;
            }
        }
    }
    dev->devfn = devfn;
    return true;
}

static void pci_fill_header(PCIDevice *dev)
{
    const PCIDeviceClass *pc = pci_device_class(dev);
    uint8_t *c = dev->config;

    memset(c, 0, PCI_CONFIG_SPACE_SIZE);
    memset(dev->wmask, 0, PCI_CONFIG_SPACE_SIZE);
    memset(dev->w1cmask, 0, PCI_CONFIG_SPACE_SIZE);
    memset(dev->used, 0, PCI_CONFIG_SPACE_SIZE);
    memset(dev->used, 1, PCI_CONFIG_HEADER_SIZE);
    pci_set_word(c + PCI_VENDOR_ID, pc->vendor_id);
    pci_set_word(c + PCI_DEVICE_ID, pc->device_id);
    c[PCI_REVISION_ID] = pc->revision;
    c[PCI_CLASS_PROG] = pc->prog_if;
    pci_set_word(c + PCI_CLASS_DEVICE, pc->class_id);
    c[PCI_HEADER_TYPE] = dev->multifunction ? PCI_HEADER_TYPE_MULTI_FUNCTION
                                            : PCI_HEADER_TYPE_NORMAL;
    pci_set_word(c + PCI_SUBSYSTEM_VENDOR_ID, pc->subsystem_vendor_id);
    pci_set_word(c + PCI_SUBSYSTEM_ID, pc->subsystem_id);
    /* What the guest may change in the header. The command bits for
     * features Tandem does not model (special cycles, memory write and
     * invalidate, VGA snooping, stepping, fast back-to-back) stay 0. */
    pci_set_word(dev->wmask + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                 PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
                 PCI_COMMAND_INTX_DISABLE);
    pci_set_word(dev->w1cmask + PCI_STATUS, PCI_STATUS_W1C_MASK);
    dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    dev->wmask[PCI_LATENCY_TIMER] = 0xff;
    dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        dev->bars[i] = (PciBar) { .dev = dev, .index = i,
                                  .addr = PCI_BAR_UNMAPPED };
    }
}

static void pci_free_bars(PCIDevice *dev)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (dev->bus) {
            pci_bar_unmap(dev, i);
        }
        g_free(dev->bars[i].name);
        dev->bars[i] = (PciBar) { .addr = PCI_BAR_UNMAPPED };
    }
}

static bool pci_qdev_realize(DeviceState *qdev, BusState *b, Error **errp)
{
    PCIDevice *dev = PCI_DEVICE(qdev);
    PciBus *bus = pci_bus_of(b);
    const PCIDeviceClass *pc = pci_device_class(dev);
    g_autofree char *path = NULL;

    if (!pci_choose_devfn(dev, bus, errp)) {
        return false;
    }
    pci_fill_header(dev);
    dev->bus = bus;
    if (pc->realize && !pc->realize(dev, errp)) {
        goto fail;
    }
    memcpy(dev->reset_config, dev->config, sizeof(dev->config));
    path = pci_device_path(dev);
    dev->vmstate_id = g_strdup_printf("pci/%s", path);
    dev->vmstate_dev_id = g_strdup_printf("pci/%s/%s", path,
                                          qdev_type_name(qdev));
    if (!pci_vmstate_register(dev, errp)) {
        if (pc->exit) {
            pc->exit(dev);
        }
        goto fail;
    }
    bus->devices[dev->devfn] = dev;
    trace_pci_realize(qdev_type_name(qdev), dev->devfn);
    return true;

fail:
    if (dev->msix) {
        msix_uninit(dev);
    }
    pci_free_bars(dev);
    g_clear_pointer(&dev->vmstate_id, g_free);
    g_clear_pointer(&dev->vmstate_dev_id, g_free);
    dev->bus = NULL;
    return false;
}

static void pci_qdev_unrealize(DeviceState *qdev)
{
    PCIDevice *dev = PCI_DEVICE(qdev);
    const PCIDeviceClass *pc = pci_device_class(dev);

    if (pc->exit) {
        pc->exit(dev);
    }
    if (dev->msix) {
        msix_uninit(dev);
    }
    if (dev->intx_out) {
        dev->intx_level = false;
        pci_intx_update(dev);
    }
    pci_vmstate_unregister(dev);
    pci_free_bars(dev);
    dev->bus->devices[dev->devfn] = NULL;
    g_clear_pointer(&dev->vmstate_id, g_free);
    g_clear_pointer(&dev->vmstate_dev_id, g_free);
    g_clear_pointer(&dev->migr_msix_table, g_free);
    g_clear_pointer(&dev->migr_msix_pba, g_free);
    dev->bus = NULL;
}

/* ---- the bus ---- */

bool pci_bus_init(PciBus *bus, Error **errp)
{
    bus->bus.kind = BUS_KIND_PCI;
    if (!bus->map_irq) {
        bus->map_irq = pci_swizzle_map_irq;
    }
    if (!qdev_bus_register(&bus->bus, errp)) {
        return false;
    }
    if (!pci_buses) {
        pci_buses = g_ptr_array_new();
    }
    g_ptr_array_add(pci_buses, bus);
    bus->registered = true;
    return true;
}

void pci_bus_cleanup(PciBus *bus)
{
    if (!bus->registered) {
        return;
    }
    qdev_bus_unregister(&bus->bus);
    g_ptr_array_remove(pci_buses, bus);
    bus->registered = false;
}

void pci_bus_foreach(void (*fn)(PciBus *bus, void *opaque), void *opaque)
{
    for (guint i = 0; pci_buses && i < pci_buses->len; i++) {
        fn(g_ptr_array_index(pci_buses, i), opaque);
    }
}

PCIDevice *pci_bus_find(PciBus *bus, unsigned devfn)
{
    return devfn < G_N_ELEMENTS(bus->devices) ? bus->devices[devfn] : NULL;
}

bool pci_bus_check(PciBus *bus, Error **errp)
{
    for (unsigned slot = 0; slot < PCI_SLOT_MAX; slot++) {
        if (bus->devices[PCI_DEVFN(slot, 0)]) {
            continue;
        }
        for (unsigned fn = 1; fn < PCI_FUNC_MAX; fn++) {
            PCIDevice *dev = bus->devices[PCI_DEVFN(slot, fn)];

            if (dev) {
                g_autofree char *what = pci_describe(dev);

                error_setg(errp, "PCI: slot %u function %u (%s) has no "
                           "function 0, so no guest will find it", slot, fn,
                           what);
                return false;
            }
        }
    }
    return true;
}

void pci_bus_set_pirq_router(PciBus *bus,
                             void (*set_pirq)(void *, unsigned, bool),
                             int (*pirq_gsi)(void *, unsigned),
                             void *opaque)
{
    bus->set_pirq = set_pirq;
    bus->pirq_gsi = pirq_gsi;
    bus->pirq_opaque = opaque;
    for (unsigned i = 0; set_pirq && i < PCI_INTX_PINS; i++) {
        set_pirq(opaque, i, bus->pirq_count[i] > 0);
    }
    pci_bus_intx_routes_changed(bus);
}

void pci_bus_intx_routes_changed(PciBus *bus)
{
    for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++) {
        PCIDevice *dev = bus->devices[fn];

        if (dev && pci_device_class(dev)->intx_route_changed) {
            pci_device_class(dev)->intx_route_changed(dev);
        }
    }
}

/* ---- the base type ---- */

static const PCIDeviceClass pci_device_class_base = {
    .parent_class = {
        .type = {
            .name = TYPE_PCI_DEVICE,
            .parent = TYPE_DEVICE,
            .description = "a PCI function",
            .abstract = true,
            .instance_size = sizeof(PCIDevice),
            .props = pci_device_props,
        },
        .bus_kind = BUS_KIND_PCI,
        .realize = pci_qdev_realize,
        .unrealize = pci_qdev_unrealize,
        .reset = pci_qdev_reset,
    },
};
PCI_DEVICE_CLASS_REGISTER(pci_device_class_base)
