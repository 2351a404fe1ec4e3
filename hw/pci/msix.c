/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSI-X (see include/hw/pci/msix.h): the capability, the table and PBA
 * inside a BAR, delivery and masking, and the irqfd attachments kept in
 * step with the masks.
 *
 * A vector is deliverable when the capability's enable bit is set and
 * neither the function mask nor the entry's mask bit is. Every change of
 * one of those (a config write, a table write, reset, a load) ends in
 * msix_vector_changed() for the vectors concerned, which sends what is
 * pending and attaches or detaches the vector's irqfd.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include "hw/pci/msix.h"
#include "trace.h"

static PciMsixState *msix_of(PCIDevice *dev)
{
    return dev->msix;
}

bool msix_present(PCIDevice *dev)
{
    return dev->msix != NULL;
}

static uint16_t msix_control(PCIDevice *dev)
{
    return pci_get_word(dev->config + dev->msix->cap + PCI_MSIX_FLAGS);
}

bool msix_enabled(PCIDevice *dev)
{
    return dev->msix && (msix_control(dev) & PCI_MSIX_FLAGS_ENABLE);
}

static bool msix_function_masked(PCIDevice *dev)
{
    return msix_control(dev) & PCI_MSIX_FLAGS_MASKALL;
}

static uint8_t *msix_entry(PciMsixState *m, unsigned vector)
{
    return m->table + vector * PCI_MSIX_ENTRY_SIZE;
}

bool msix_is_masked(PCIDevice *dev, unsigned vector)
{
    PciMsixState *m = msix_of(dev);

    g_assert(m && vector < m->nentries);
    return msix_function_masked(dev) ||
           (pci_get_long(msix_entry(m, vector) + PCI_MSIX_ENTRY_VECTOR_CTRL) &
            PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static bool msix_deliverable(PCIDevice *dev, unsigned vector)
{
    return msix_enabled(dev) && !msix_is_masked(dev, vector);
}

bool msix_is_pending(PCIDevice *dev, unsigned vector)
{
    PciMsixState *m = msix_of(dev);

    g_assert(m && vector < m->nentries);
    return m->pba[vector / 8] & (1u << (vector % 8));
}

static void msix_set_pending(PciMsixState *m, unsigned vector, bool on)
{
    if (on) {
        m->pba[vector / 8] |= 1u << (vector % 8);
    } else {
        m->pba[vector / 8] &= ~(1u << (vector % 8));
    }
}

PciMsiMessage msix_get_message(PCIDevice *dev, unsigned vector)
{
    uint8_t *e = msix_entry(msix_of(dev), vector);

    return (PciMsiMessage) {
        .address = pci_get_long(e + PCI_MSIX_ENTRY_LOWER_ADDR) |
                   (uint64_t)pci_get_long(e + PCI_MSIX_ENTRY_UPPER_ADDR) << 32,
        .data = pci_get_long(e + PCI_MSIX_ENTRY_DATA),
    };
}

static void msix_send(PCIDevice *dev, unsigned vector)
{
    PciBus *bus = dev->bus;
    PciMsiMessage msg = msix_get_message(dev, vector);
    g_autoptr(Error) err = NULL;

    trace_msix_send(qdev_type_name(&dev->parent_obj), dev->devfn, vector,
                    msg.address, msg.data);
    if (!bus->msi_ops) {
        trace_msix_drop(qdev_type_name(&dev->parent_obj), vector,
                        "the bus has no MSI delivery");
        return;
    }
    if (!bus->msi_ops->send(bus->msi_opaque, msg, &err)) {
        trace_msix_drop(qdev_type_name(&dev->parent_obj), vector,
                        error_get_pretty(err));
    }
}

void msix_notify(PCIDevice *dev, unsigned vector)
{
    PciMsixState *m = msix_of(dev);

    if (!m || vector >= m->nentries) {
        trace_msix_bad_vector(qdev_type_name(&dev->parent_obj), vector);
        return;
    }
    if (!msix_enabled(dev)) {
        return;
    }
    if (msix_is_masked(dev, vector)) {
        msix_set_pending(m, vector, true);
        return;
    }
    msix_send(dev, vector);
}

/* ---- irqfds ---- */

/* Interrupts written to a detached irqfd become the pending bit. */
static void msix_drain_irqfd(PCIDevice *dev, unsigned vector)
{
    PciMsixState *m = msix_of(dev);
    PciMsixVector *v = &m->vectors[vector];
    struct pollfd p = { .fd = v->irqfd, .events = POLLIN };
    uint64_t count;

    if (v->irqfd < 0 || v->irqfd_attached) {
        return;
    }
    if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) &&
        read(v->irqfd, &count, sizeof(count)) == sizeof(count) && count) {
        msix_set_pending(m, vector, true);
    }
}

static void msix_irqfd_detach(PCIDevice *dev, unsigned vector)
{
    PciMsixVector *v = &msix_of(dev)->vectors[vector];
    const PciMsiOps *ops = dev->bus->msi_ops;

    if (v->irqfd_attached) {
        ops->irqfd_del(dev->bus->msi_opaque, v->gsi, v->irqfd);
        v->irqfd_attached = false;
        trace_msix_irqfd(qdev_type_name(&dev->parent_obj), vector, v->gsi,
                         false);
    }
}

static void msix_irqfd_attach(PCIDevice *dev, unsigned vector)
{
    PciMsixVector *v = &msix_of(dev)->vectors[vector];
    const PciMsiOps *ops = dev->bus->msi_ops;
    PciMsiMessage msg = msix_get_message(dev, vector);
    g_autoptr(Error) err = NULL;

    if (!ops->route_update(dev->bus->msi_opaque, v->gsi, msg, &err) ||
        !ops->irqfd_add(dev->bus->msi_opaque, v->gsi, v->irqfd, &err)) {
        /* The fd stays drained on unmask and PBA reads, so nothing is
         * lost for good; KVM refusing here is a host problem. */
        trace_msix_drop(qdev_type_name(&dev->parent_obj), vector,
                        error_get_pretty(err));
        return;
    }
    v->irqfd_attached = true;
    trace_msix_irqfd(qdev_type_name(&dev->parent_obj), vector, v->gsi, true);
}

/*
 * After anything that may have changed whether vector is deliverable or
 * its message: pending interrupts go out once it is, and its irqfd is
 * attached exactly while it is (re-attached when the message changed,
 * so the route follows the table).
 */
static void msix_vector_changed(PCIDevice *dev, unsigned vector,
                                bool message_changed)
{
    PciMsixState *m = msix_of(dev);
    PciMsixVector *v = &m->vectors[vector];

    if (!msix_deliverable(dev, vector)) {
        msix_irqfd_detach(dev, vector);
        return;
    }
    if (message_changed) {
        msix_irqfd_detach(dev, vector);
    }
    msix_drain_irqfd(dev, vector);
    if (msix_is_pending(dev, vector)) {
        msix_set_pending(m, vector, false);
        msix_send(dev, vector);
    }
    if (v->irqfd >= 0 && !v->irqfd_attached) {
        msix_irqfd_attach(dev, vector);
    }
}

static void msix_all_changed(PCIDevice *dev)
{
    for (unsigned i = 0; i < msix_of(dev)->nentries; i++) {
        msix_vector_changed(dev, i, false);
    }
}

bool msix_vector_set_irqfd(PCIDevice *dev, unsigned vector, int fd,
                           Error **errp)
{
    PciMsixState *m = msix_of(dev);
    const PciMsiOps *ops = dev->bus ? dev->bus->msi_ops : NULL;
    PciMsixVector *v;

    g_assert(m && vector < m->nentries);
    v = &m->vectors[vector];
    if (fd < 0) {
        msix_irqfd_detach(dev, vector);
        msix_drain_irqfd(dev, vector);
        if (v->gsi >= 0) {
            ops->route_del(dev->bus->msi_opaque, v->gsi);
        }
        v->irqfd = v->gsi = -1;
        return true;
    }
    if (!ops || !ops->route_add) {
        error_setg(errp, "%s: this machine has no irqfd routing for MSI-X",
                   qdev_type_name(&dev->parent_obj));
        return false;
    }
    if (v->irqfd >= 0) {
        msix_vector_set_irqfd(dev, vector, -1, NULL);
    }
    /* The route now, so that running out of GSIs is the caller's error
     * and not a guest's unmask that silently does nothing. */
    v->gsi = ops->route_add(dev->bus->msi_opaque,
                            msix_get_message(dev, vector), errp);
    if (v->gsi < 0) {
        return false;
    }
    v->irqfd = fd;
    msix_vector_changed(dev, vector, false);
    return true;
}

/* ---- the capability ---- */

void msix_config_write(PCIDevice *dev, unsigned addr, unsigned len)
{
    unsigned ctrl = dev->msix->cap + PCI_MSIX_FLAGS;

    if (addr < ctrl + 2 && ctrl < addr + len) {
        trace_msix_control(qdev_type_name(&dev->parent_obj),
                           msix_control(dev));
        msix_all_changed(dev);
    }
}

/* ---- the table and PBA in the BAR ---- */

static bool msix_access_ok(uint64_t offset, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) &&
           !(offset & (size - 1));
}

bool msix_bar_read(PCIDevice *dev, unsigned bar, uint64_t offset,
                   unsigned size, uint64_t *value)
{
    PciMsixState *m = msix_of(dev);
    const uint8_t *src;

    if (!m || bar != m->bar) {
        return false;
    }
    if (offset >= m->table_off && offset < m->table_off + m->table_size) {
        src = m->table + (offset - m->table_off);
    } else if (offset >= m->pba_off && offset < m->pba_off + m->pba_size) {
        /* Writes to detached irqfds show up here as pending. */
        for (unsigned i = 0; i < m->nentries; i++) {
            msix_drain_irqfd(dev, i);
        }
        src = m->pba + (offset - m->pba_off);
    } else {
        return false;
    }
    *value = 0;
    if (!msix_access_ok(offset, size)) {
        *value = ~0ULL >> (64 - 8 * MIN(size, 8u));
        return true;
    }
    /* Table and PBA sizes are multiples of 8, so an aligned access
     * never runs past their end. */
    for (unsigned i = 0; i < size; i++) {
        *value |= (uint64_t)src[i] << (8 * i);
    }
    return true;
}

bool msix_bar_write(PCIDevice *dev, unsigned bar, uint64_t offset,
                    uint64_t value, unsigned size)
{
    PciMsixState *m = msix_of(dev);
    unsigned vector;
    bool message_changed = false;

    if (!m || bar != m->bar) {
        return false;
    }
    if (offset >= m->pba_off && offset < m->pba_off + m->pba_size) {
        return true;    /* the PBA is read-only */
    }
    if (offset < m->table_off || offset >= m->table_off + m->table_size) {
        return false;
    }
    if (!msix_access_ok(offset, size)) {
        return true;
    }
    offset -= m->table_off;
    vector = offset / PCI_MSIX_ENTRY_SIZE;
    for (unsigned i = 0; i < size; i++) {
        unsigned field = (offset + i) % PCI_MSIX_ENTRY_SIZE;
        uint8_t *p = m->table + offset + i;
        uint8_t b = value >> (8 * i);

        if (field >= PCI_MSIX_ENTRY_VECTOR_CTRL) {
            /* Only the mask bit; the rest of the dword is reserved. */
            if (field == PCI_MSIX_ENTRY_VECTOR_CTRL) {
                *p = b & PCI_MSIX_ENTRY_CTRL_MASKBIT;
            }
            continue;
        }
        message_changed |= *p != b;
        *p = b;
    }
    trace_msix_table_write(qdev_type_name(&dev->parent_obj), vector,
                           offset % PCI_MSIX_ENTRY_SIZE, value, size);
    msix_vector_changed(dev, vector, message_changed);
    return true;
}

/* ---- set-up ---- */

static uint64_t pow2_at_least(uint64_t v)
{
    uint64_t p = 1;

    while (p < v) {
        p <<= 1;
    }
    return p;
}

static void msix_reset_table(PciMsixState *m)
{
    memset(m->table, 0, m->table_size);
    memset(m->pba, 0, m->pba_size);
    for (unsigned i = 0; i < m->nentries; i++) {
        pci_set_long(msix_entry(m, i) + PCI_MSIX_ENTRY_VECTOR_CTRL,
                     PCI_MSIX_ENTRY_CTRL_MASKBIT);
    }
}

bool msix_init(PCIDevice *dev, unsigned nentries, unsigned bar,
               uint32_t table_off, uint32_t pba_off, Error **errp)
{
    const char *type = qdev_type_name(&dev->parent_obj);
    uint32_t table_size = nentries * PCI_MSIX_ENTRY_SIZE;
    uint32_t pba_size = (nentries + 63) / 64 * 8;
    uint64_t end = MAX((uint64_t)table_off + table_size,
                       (uint64_t)pba_off + pba_size);
    PciMsixState *m;
    uint8_t cap;
    bool own_bar = false;

    g_assert(!dev->msix);
    if (nentries < 1 || nentries > PCI_MSIX_MAX_ENTRIES || bar >= PCI_NUM_BARS ||
        (table_off & 7) || (pba_off & 7) ||
        (table_off < pba_off + pba_size && pba_off < table_off + table_size)) {
        error_setg(errp, "%s: bad MSI-X layout (%u vectors, BAR %u, table "
                   "at 0x%x, PBA at 0x%x)", type, nentries, bar, table_off,
                   pba_off);
        return false;
    }
    if (!dev->bars[bar].size) {
        if (dev->bars[bar].upper_half) {
            error_setg(errp, "%s: BAR %u is the upper half of a 64-bit BAR",
                       type, bar);
            return false;
        }
        own_bar = true;
    } else if (dev->bars[bar].type == PCI_BAR_IO ||
               end > dev->bars[bar].size) {
        error_setg(errp, "%s: the MSI-X table and PBA do not fit in memory "
                   "BAR %u", type, bar);
        return false;
    }
    cap = pci_add_capability(dev, PCI_CAP_ID_MSIX, 0, PCI_MSIX_CAP_SIZE,
                             errp);
    if (!cap) {
        return false;
    }
    if (own_bar) {
        pci_register_bar(dev, bar, PCI_BAR_MEM32, false,
                         MAX(pow2_at_least(end), 4096), NULL, NULL);
    }
    pci_set_word(dev->config + cap + PCI_MSIX_FLAGS, nentries - 1);
    pci_set_long(dev->config + cap + PCI_MSIX_TABLE, table_off | bar);
    pci_set_long(dev->config + cap + PCI_MSIX_PBA, pba_off | bar);
    /* The guest may change the enable and function mask bits only. */
    dev->wmask[cap + PCI_MSIX_FLAGS + 1] =
        (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;

    m = g_new0(PciMsixState, 1);
    *m = (PciMsixState) {
        .nentries = nentries, .bar = bar, .table_off = table_off,
        .pba_off = pba_off, .cap = cap, .table_size = table_size,
        .pba_size = pba_size, .table = g_malloc0(table_size),
        .pba = g_malloc0(pba_size),
        .vectors = g_new(PciMsixVector, nentries), .bar_owned = own_bar,
    };
    for (unsigned i = 0; i < nentries; i++) {
        m->vectors[i] = (PciMsixVector) { .irqfd = -1, .gsi = -1 };
    }
    msix_reset_table(m);
    dev->msix = m;
    return true;
}

void msix_uninit(PCIDevice *dev)
{
    PciMsixState *m = msix_of(dev);

    if (!m) {
        return;
    }
    for (unsigned i = 0; i < m->nentries; i++) {
        if (m->vectors[i].irqfd >= 0) {
            msix_vector_set_irqfd(dev, i, -1, NULL);
        }
    }
    g_free(m->table);
    g_free(m->pba);
    g_free(m->vectors);
    g_free(m);
    dev->msix = NULL;
}

/* The config space (enable, function mask) was reset by the core. */
void msix_reset(PCIDevice *dev)
{
    msix_reset_table(msix_of(dev));
    msix_all_changed(dev);
}

/* ---- migration ---- */

void msix_pre_save(PCIDevice *dev)
{
    PciMsixState *m = msix_of(dev);

    for (unsigned i = 0; i < m->nentries; i++) {
        msix_drain_irqfd(dev, i);
    }
    dev->migr_msix_table = g_realloc(dev->migr_msix_table, m->table_size);
    memcpy(dev->migr_msix_table, m->table, m->table_size);
    dev->migr_msix_table_size = m->table_size;
    dev->migr_msix_pba = g_realloc(dev->migr_msix_pba, m->pba_size);
    memcpy(dev->migr_msix_pba, m->pba, m->pba_size);
    dev->migr_msix_pba_size = m->pba_size;
}

bool msix_post_load(PCIDevice *dev, Error **errp)
{
    PciMsixState *m = msix_of(dev);

    if (dev->migr_msix_table_size != m->table_size ||
        dev->migr_msix_pba_size != m->pba_size) {
        error_setg(errp, "%s: MSI-X table of %u bytes and PBA of %u in the "
                   "stream, but this function has %u and %u",
                   qdev_type_name(&dev->parent_obj),
                   dev->migr_msix_table_size, dev->migr_msix_pba_size,
                   m->table_size, m->pba_size);
        return false;
    }
    return true;
}

void msix_apply_loaded(PCIDevice *dev)
{
    PciMsixState *m = msix_of(dev);

    memcpy(m->table, dev->migr_msix_table, m->table_size);
    memcpy(m->pba, dev->migr_msix_pba, m->pba_size);
    /* Reserved bits as a guest could have written them: zero. */
    for (unsigned i = 0; i < m->nentries; i++) {
        uint8_t *ctrl = msix_entry(m, i) + PCI_MSIX_ENTRY_VECTOR_CTRL;

        pci_set_long(ctrl, pci_get_long(ctrl) & PCI_MSIX_ENTRY_CTRL_MASKBIT);
        /* Re-route every attached vector: its message may have changed. */
        msix_vector_changed(dev, i, true);
    }
    /* No pending bits past the last vector. */
    for (unsigned bit = m->nentries; bit < m->pba_size * 8; bit++) {
        msix_set_pending(m, bit, false);
    }
}
