/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qtest virtio-pci driver: see libqvirtio-pci.h. Layouts and
 * register offsets come from the virtio 1.x spec through the kernel's
 * UAPI headers.
 */
#include <stddef.h>
#include <string.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include "libqvirtio-pci.h"

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc
#define COMMON(field) offsetof(struct virtio_pci_common_cfg, field)

uint32_t qpci_cfg_read(QTestState *s, unsigned devfn, unsigned reg,
                       unsigned len)
{
    qtest_outl(s, CFG_ADDR, 0x80000000u | devfn << 8 | (reg & ~3u));
    switch (len) {
    case 1: return qtest_inb(s, CFG_DATA + (reg & 3));
    case 2: return qtest_inw(s, CFG_DATA + (reg & 2));
    default: return qtest_inl(s, CFG_DATA);
    }
}

void qpci_cfg_write(QTestState *s, unsigned devfn, unsigned reg,
                    uint32_t val, unsigned len)
{
    qtest_outl(s, CFG_ADDR, 0x80000000u | devfn << 8 | (reg & ~3u));
    switch (len) {
    case 1: qtest_outb(s, CFG_DATA + (reg & 3), val); break;
    case 2: qtest_outw(s, CFG_DATA + (reg & 2), val); break;
    default: qtest_outl(s, CFG_DATA, val); break;
    }
}

/* Where BAR bar decodes now (memory BARs; 64-bit ones with the next). */
static uint64_t qpci_bar_addr(QTestState *s, unsigned devfn, unsigned bar)
{
    unsigned reg = PCI_BASE_ADDRESS_0 + 4 * bar;
    uint32_t lo = qpci_cfg_read(s, devfn, reg, 4);
    uint64_t addr = lo & PCI_BASE_ADDRESS_MEM_MASK;

    g_assert_false(lo & PCI_BASE_ADDRESS_SPACE_IO);
    if ((lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
        PCI_BASE_ADDRESS_MEM_TYPE_64) {
        addr |= (uint64_t)qpci_cfg_read(s, devfn, reg + 4, 4) << 32;
    }
    return addr;
}

void qvp_init(QVirtioPci *d, QTestState *s, unsigned devfn)
{
    unsigned found = 0, guard = 0;
    int bar = -1;
    uint32_t off[6] = { 0 };

    memset(d, 0, sizeof(*d));
    d->s = s;
    d->devfn = devfn;
    g_assert_cmphex(qpci_cfg_read(s, devfn, PCI_STATUS, 2) &
                    PCI_STATUS_CAP_LIST, !=, 0);
    for (unsigned cap = qpci_cfg_read(s, devfn, PCI_CAPABILITY_LIST, 1) & ~3u;
         cap; cap = qpci_cfg_read(s, devfn, cap + PCI_CAP_LIST_NEXT, 1) & ~3u) {
        unsigned id = qpci_cfg_read(s, devfn, cap, 1), type;

        g_assert_cmpuint(++guard, <, 48);
        if (id == PCI_CAP_ID_MSIX) {
            d->msix_cap = cap;
            continue;
        }
        if (id != PCI_CAP_ID_VNDR) {
            continue;
        }
        type = qpci_cfg_read(s, devfn, cap +
                             offsetof(struct virtio_pci_cap, cfg_type), 1);
        if (type < VIRTIO_PCI_CAP_COMMON_CFG ||
            type > VIRTIO_PCI_CAP_DEVICE_CFG || (found & (1u << type))) {
            continue;   /* the PCI cfg window, or not the first of a type */
        }
        found |= 1u << type;
        bar = qpci_cfg_read(s, devfn, cap +
                            offsetof(struct virtio_pci_cap, bar), 1);
        off[type] = qpci_cfg_read(s, devfn, cap +
                                  offsetof(struct virtio_pci_cap, offset), 4);
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            d->notify_mult = qpci_cfg_read(s, devfn, cap +
                offsetof(struct virtio_pci_notify_cap,
                         notify_off_multiplier), 4);
        }
    }
    g_assert_cmphex(found, ==, 0x1e);   /* common, notify, isr, device */
    qpci_cfg_write(s, devfn, PCI_COMMAND, qpci_cfg_read(s, devfn,
                   PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
                   2);
    d->bar = qpci_bar_addr(s, devfn, bar);
    g_assert_cmphex(d->bar, !=, 0);
    d->common = d->bar + off[VIRTIO_PCI_CAP_COMMON_CFG];
    d->notify = d->bar + off[VIRTIO_PCI_CAP_NOTIFY_CFG];
    d->isr = d->bar + off[VIRTIO_PCI_CAP_ISR_CFG];
    d->device = d->bar + off[VIRTIO_PCI_CAP_DEVICE_CFG];
    if (d->msix_cap) {
        uint32_t t = qpci_cfg_read(s, devfn, d->msix_cap + PCI_MSIX_TABLE, 4);

        d->msix_table = qpci_bar_addr(s, devfn, t & PCI_MSIX_TABLE_BIR) +
                        (t & PCI_MSIX_TABLE_OFFSET);
    }
}

uint8_t qvp_status(QVirtioPci *d)
{
    return qtest_readb(d->s, d->common + COMMON(device_status));
}

static void qvp_set_status(QVirtioPci *d, uint8_t status)
{
    qtest_writeb(d->s, d->common + COMMON(device_status), status);
}

uint64_t qvp_device_features(QVirtioPci *d)
{
    uint64_t f;

    qtest_writel(d->s, d->common + COMMON(device_feature_select), 0);
    f = qtest_readl(d->s, d->common + COMMON(device_feature));
    qtest_writel(d->s, d->common + COMMON(device_feature_select), 1);
    return f | (uint64_t)qtest_readl(d->s, d->common +
                                     COMMON(device_feature)) << 32;
}

bool qvp_negotiate(QVirtioPci *d, uint64_t features)
{
    const uint8_t ad = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    qvp_set_status(d, 0);
    g_assert_cmphex(qvp_status(d), ==, 0);
    qvp_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    qvp_set_status(d, ad);
    qtest_writel(d->s, d->common + COMMON(guest_feature_select), 0);
    qtest_writel(d->s, d->common + COMMON(guest_feature), (uint32_t)features);
    qtest_writel(d->s, d->common + COMMON(guest_feature_select), 1);
    qtest_writel(d->s, d->common + COMMON(guest_feature), features >> 32);
    qvp_set_status(d, ad | VIRTIO_CONFIG_S_FEATURES_OK);
    return qvp_status(d) & VIRTIO_CONFIG_S_FEATURES_OK;
}

void qvp_set_config_vector(QVirtioPci *d, uint16_t vector)
{
    qtest_writew(d->s, d->common + COMMON(msix_config), vector);
    g_assert_cmphex(qtest_readw(d->s, d->common + COMMON(msix_config)), ==,
                    vector);
}

void qvp_queue_setup(QVirtioPci *d, QVirtQueue *q, unsigned index,
                     uint16_t num, uint64_t gpa, uint16_t vector)
{
    QTestState *s = d->s;

    memset(q, 0, sizeof(*q));
    q->d = d;
    q->index = index;
    q->num = num;
    q->desc = gpa;
    q->avail = gpa + 0x1000;
    q->used = gpa + 0x2000;
    qtest_memset(s, gpa, 0, 0x3000);
    qtest_writew(s, d->common + COMMON(queue_select), index);
    g_assert_cmpuint(qtest_readw(s, d->common + COMMON(queue_size)), >=, num);
    qtest_writew(s, d->common + COMMON(queue_size), num);
    qtest_writew(s, d->common + COMMON(queue_msix_vector), vector);
    g_assert_cmphex(qtest_readw(s, d->common + COMMON(queue_msix_vector)), ==,
                    vector);
    qtest_writel(s, d->common + COMMON(queue_desc_lo), (uint32_t)q->desc);
    qtest_writel(s, d->common + COMMON(queue_desc_hi), q->desc >> 32);
    qtest_writel(s, d->common + COMMON(queue_avail_lo), (uint32_t)q->avail);
    qtest_writel(s, d->common + COMMON(queue_avail_hi), q->avail >> 32);
    qtest_writel(s, d->common + COMMON(queue_used_lo), (uint32_t)q->used);
    qtest_writel(s, d->common + COMMON(queue_used_hi), q->used >> 32);
    qtest_writew(s, d->common + COMMON(queue_enable), 1);
    g_assert_cmpuint(qtest_readw(s, d->common + COMMON(queue_enable)), ==, 1);
}

void qvp_driver_ok(QVirtioPci *d)
{
    uint8_t st = qvp_status(d) | VIRTIO_CONFIG_S_DRIVER_OK;

    qvp_set_status(d, st);
    g_assert_cmphex(qvp_status(d), ==, st);
}

uint8_t qvp_isr(QVirtioPci *d)
{
    return qtest_readb(d->s, d->isr);
}

void qvp_msix_set_entry(QVirtioPci *d, unsigned vector, uint64_t addr,
                        uint32_t data)
{
    uint64_t e = d->msix_table + vector * PCI_MSIX_ENTRY_SIZE;

    g_assert_cmpuint(d->msix_cap, !=, 0);
    qtest_writel(d->s, e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr);
    qtest_writel(d->s, e + PCI_MSIX_ENTRY_UPPER_ADDR, addr >> 32);
    qtest_writel(d->s, e + PCI_MSIX_ENTRY_DATA, data);
    qtest_writel(d->s, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
}

void qvp_msix_enable(QVirtioPci *d)
{
    unsigned reg = d->msix_cap + PCI_MSIX_FLAGS;

    qpci_cfg_write(d->s, d->devfn, reg, (qpci_cfg_read(d->s, d->devfn, reg,
                   2) & ~PCI_MSIX_FLAGS_MASKALL) | PCI_MSIX_FLAGS_ENABLE, 2);
}

uint8_t qvp_config_generation(QVirtioPci *d)
{
    return qtest_readb(d->s, d->common + COMMON(config_generation));
}

uint8_t qvp_config_readb(QVirtioPci *d, unsigned off)
{
    return qtest_readb(d->s, d->device + off);
}

uint16_t qvp_config_readw(QVirtioPci *d, unsigned off)
{
    return qtest_readw(d->s, d->device + off);
}

uint32_t qvp_config_readl(QVirtioPci *d, unsigned off)
{
    return qtest_readl(d->s, d->device + off);
}

uint64_t qvp_config_readq(QVirtioPci *d, unsigned off)
{
    uint8_t gen;
    uint64_t v;
    unsigned guard = 0;

    do {
        g_assert_cmpuint(++guard, <, 100);
        gen = qvp_config_generation(d);
        v = qtest_readl(d->s, d->device + off) |
            (uint64_t)qtest_readl(d->s, d->device + off + 4) << 32;
    } while (gen != qvp_config_generation(d));
    return v;
}

uint16_t qvq_add_chain(QVirtQueue *q, const QVirtBuf *bufs, unsigned n)
{
    QTestState *s = q->d->s;
    uint16_t head = q->next_desc;

    g_assert_cmpuint(n, >=, 1);
    g_assert_cmpuint(n, <=, q->num);
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = q->next_desc;
        uint64_t d = q->desc + idx * sizeof(struct vring_desc);
        uint16_t flags = bufs[i].device_writes ? VRING_DESC_F_WRITE : 0;

        q->next_desc = (q->next_desc + 1) % q->num;
        if (i + 1 < n) {
            flags |= VRING_DESC_F_NEXT;
        }
        qtest_writeq(s, d + offsetof(struct vring_desc, addr), bufs[i].gpa);
        qtest_writel(s, d + offsetof(struct vring_desc, len), bufs[i].len);
        qtest_writew(s, d + offsetof(struct vring_desc, flags), flags);
        qtest_writew(s, d + offsetof(struct vring_desc, next),
                     i + 1 < n ? q->next_desc : 0);
    }
    /* The ring entry, then the index that publishes it. */
    qtest_writew(s, q->avail + offsetof(struct vring_avail, ring) +
                 2 * (q->avail_idx % q->num), head);
    qtest_writew(s, q->avail + offsetof(struct vring_avail, idx),
                 ++q->avail_idx);
    return head;
}

uint16_t qvq_add_indirect(QVirtQueue *q, uint64_t table,
                          const QVirtBuf *bufs, unsigned n)
{
    QTestState *s = q->d->s;
    uint16_t head = q->next_desc;
    uint64_t d = q->desc + head * sizeof(struct vring_desc);

    g_assert_cmpuint(n, >=, 1);
    for (unsigned i = 0; i < n; i++) {
        uint64_t t = table + i * sizeof(struct vring_desc);
        uint16_t flags = bufs[i].device_writes ? VRING_DESC_F_WRITE : 0;

        if (i + 1 < n) {
            flags |= VRING_DESC_F_NEXT;
        }
        qtest_writeq(s, t + offsetof(struct vring_desc, addr), bufs[i].gpa);
        qtest_writel(s, t + offsetof(struct vring_desc, len), bufs[i].len);
        qtest_writew(s, t + offsetof(struct vring_desc, flags), flags);
        qtest_writew(s, t + offsetof(struct vring_desc, next),
                     i + 1 < n ? i + 1 : 0);
    }
    q->next_desc = (q->next_desc + 1) % q->num;
    qtest_writeq(s, d + offsetof(struct vring_desc, addr), table);
    qtest_writel(s, d + offsetof(struct vring_desc, len),
                 n * sizeof(struct vring_desc));
    qtest_writew(s, d + offsetof(struct vring_desc, flags),
                 VRING_DESC_F_INDIRECT);
    qtest_writew(s, d + offsetof(struct vring_desc, next), 0);
    qtest_writew(s, q->avail + offsetof(struct vring_avail, ring) +
                 2 * (q->avail_idx % q->num), head);
    qtest_writew(s, q->avail + offsetof(struct vring_avail, idx),
                 ++q->avail_idx);
    return head;
}

uint16_t qvq_add(QVirtQueue *q, uint64_t gpa, uint32_t len,
                 bool device_writes)
{
    QVirtBuf b = { gpa, len, device_writes };

    return qvq_add_chain(q, &b, 1);
}

void qvq_kick(QVirtQueue *q)
{
    uint16_t off;

    qtest_writew(q->d->s, q->d->common + COMMON(queue_select), q->index);
    off = qtest_readw(q->d->s, q->d->common + COMMON(queue_notify_off));
    qtest_writew(q->d->s, q->d->notify + off * q->d->notify_mult, q->index);
}

uint16_t qvq_used_idx(QVirtQueue *q)
{
    return qtest_readw(q->d->s, q->used + offsetof(struct vring_used, idx));
}

bool qvq_wait_used(QVirtQueue *q, uint16_t idx, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (qvq_used_idx(q) != idx) {
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(2000);
    }
    return true;
}

void qvq_used_elem(QVirtQueue *q, uint16_t slot, uint32_t *id,
                   uint32_t *len)
{
    uint64_t e = q->used + offsetof(struct vring_used, ring) +
                 (slot % q->num) * sizeof(struct vring_used_elem);

    *id = qtest_readl(q->d->s, e + offsetof(struct vring_used_elem, id));
    *len = qtest_readl(q->d->s, e + offsetof(struct vring_used_elem, len));
}
