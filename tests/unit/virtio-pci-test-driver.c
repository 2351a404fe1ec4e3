/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pretend virtio driver over virtio-pci: see virtio-pci-test-driver.h.
 */
#include <string.h>
#include "virtio-pci-test-driver.h"

static uint32_t tvp_cfg(TestVpci *t, unsigned reg, unsigned len)
{
    return tpci_cfg_read(t->m, t->devfn, reg, len);
}

void tvp_init(TestVpci *t, TestPciMachine *m, PCIDevice *dev)
{
    unsigned cap, guard = 0;

    memset(t, 0, sizeof(*t));
    t->m = m;
    t->dev = dev;
    t->devfn = dev->devfn;
    g_assert_cmphex(tvp_cfg(t, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, !=, 0);
    for (cap = tvp_cfg(t, PCI_CAPABILITY_LIST, 1) & ~3u; cap;
         cap = tvp_cfg(t, cap + PCI_CAP_LIST_NEXT, 1) & ~3u) {
        unsigned type;

        g_assert_cmpuint(++guard, <, 48);
        if (tvp_cfg(t, cap, 1) != PCI_CAP_ID_VNDR) {
            continue;
        }
        type = tvp_cfg(t, cap + VIRTIO_PCI_CAP_CFG_TYPE, 1);
        g_assert_cmpuint(type, >=, 1);
        g_assert_cmpuint(type, <=, 5);
        if (type > 5 || t->cap[type]) {
            continue;       /* the first of each type is the one to use */
        }
        t->cap[type] = cap;
        if (type == VIRTIO_PCI_CAP_PCI_CFG) {
            continue;
        }
        g_assert_cmpuint(tvp_cfg(t, cap + VIRTIO_PCI_CAP_BAR, 1), ==,
                         VIRTIO_PCI_BAR);
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            t->common = tvp_cfg(t, cap + VIRTIO_PCI_CAP_OFFSET, 4);
            break;
        case VIRTIO_PCI_CAP_ISR_CFG:
            t->isr = tvp_cfg(t, cap + VIRTIO_PCI_CAP_OFFSET, 4);
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            t->device = tvp_cfg(t, cap + VIRTIO_PCI_CAP_OFFSET, 4);
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            t->notify = tvp_cfg(t, cap + VIRTIO_PCI_CAP_OFFSET, 4);
            t->notify_mult = tvp_cfg(t, cap + VIRTIO_PCI_CAP_NOTIFY_MULT, 4);
            break;
        }
    }
    for (unsigned i = 1; i <= 5; i++) {
        g_assert_cmpuint(t->cap[i], !=, 0);
    }
    tpci_cfg_write(m, t->devfn, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR,
                   (uint32_t)TVP_BAR_GPA, 4);
    tpci_cfg_write(m, t->devfn, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR + 4,
                   TVP_BAR_GPA >> 32, 4);
    if (msix_present(dev)) {
        tpci_cfg_write(m, t->devfn,
                       PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR,
                       (uint32_t)TVP_MSIX_GPA, 4);
    }
    tpci_cfg_write(m, t->devfn, PCI_COMMAND,
                   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    g_assert_true(tpci_mmio_mapped(m, TVP_BAR_GPA));
}

void tvp_msix_enable(TestVpci *t)
{
    unsigned cap = t->dev->msix->cap;
    unsigned n = (tvp_cfg(t, cap + PCI_MSIX_FLAGS, 2) &
                  PCI_MSIX_FLAGS_QSIZE) + 1;

    for (unsigned v = 0; v < n; v++) {
        uint64_t e = TVP_MSIX_GPA + v * PCI_MSIX_ENTRY_SIZE;

        tpci_mmio_write(t->m, e + PCI_MSIX_ENTRY_LOWER_ADDR, TVP_MSI_ADDR, 4);
        tpci_mmio_write(t->m, e + PCI_MSIX_ENTRY_UPPER_ADDR, 0, 4);
        tpci_mmio_write(t->m, e + PCI_MSIX_ENTRY_DATA, TVP_MSI_DATA(v), 4);
        tpci_mmio_write(t->m, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
    }
    tpci_cfg_write(t->m, t->devfn, cap + PCI_MSIX_FLAGS,
                   PCI_MSIX_FLAGS_ENABLE, 2);
    g_assert_true(msix_enabled(t->dev));
}

uint64_t tvp_common_read(TestVpci *t, unsigned off, unsigned size)
{
    return tpci_mmio_read(t->m, TVP_BAR_GPA + t->common + off, size);
}

void tvp_common_write(TestVpci *t, unsigned off, uint64_t v, unsigned size)
{
    tpci_mmio_write(t->m, TVP_BAR_GPA + t->common + off, v, size);
}

uint64_t tvp_device_read(TestVpci *t, unsigned off, unsigned size)
{
    return tpci_mmio_read(t->m, TVP_BAR_GPA + t->device + off, size);
}

uint8_t tvp_isr_read(TestVpci *t)
{
    return tpci_mmio_read(t->m, TVP_BAR_GPA + t->isr, 1);
}

uint8_t tvp_status(TestVpci *t)
{
    return tvp_common_read(t, VIRTIO_PCI_COMMON_STATUS, 1);
}

void tvp_set_status(TestVpci *t, uint8_t status)
{
    tvp_common_write(t, VIRTIO_PCI_COMMON_STATUS, status, 1);
}

uint64_t tvp_device_features(TestVpci *t)
{
    uint64_t f;

    tvp_common_write(t, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    f = tvp_common_read(t, VIRTIO_PCI_COMMON_DF, 4);
    tvp_common_write(t, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    return f | tvp_common_read(t, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

bool tvp_start(TestVpci *t, uint64_t features, unsigned nq, uint16_t num,
               bool with_vectors, TestDriverQueue *q)
{
    const uint8_t ad = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    GuestMemory *mem = &t->m->mem;

    g_assert_cmpuint(nq, <=, TVP_MAX_QUEUES);
    tvp_set_status(t, 0);
    g_assert_cmphex(tvp_status(t), ==, 0);
    tvp_set_status(t, VIRTIO_STATUS_ACKNOWLEDGE);
    tvp_set_status(t, ad);
    tvp_common_write(t, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    tvp_common_write(t, VIRTIO_PCI_COMMON_GF, (uint32_t)features, 4);
    tvp_common_write(t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    tvp_common_write(t, VIRTIO_PCI_COMMON_GF, features >> 32, 4);
    tvp_set_status(t, ad | VIRTIO_STATUS_FEATURES_OK);
    if (!(tvp_status(t) & VIRTIO_STATUS_FEATURES_OK)) {
        return false;
    }
    tvp_common_write(t, VIRTIO_PCI_COMMON_MSIX,
                     with_vectors ? nq : VIRTIO_NO_VECTOR, 2);
    for (unsigned i = 0; i < nq; i++) {
        TestDriverQueue *dq = &q[i];

        memset(dq, 0, sizeof(*dq));
        dq->mem = mem;
        dq->vq = virtio_queue(((VirtIOPCIProxy *)t->dev)->vdev, i);
        dq->num = num;
        dq->desc = TV_RING_GPA(i);
        dq->avail = dq->desc + 0x1000;
        dq->used = dq->desc + 0x2000;
        g_assert_true(guest_memory_fill(mem, dq->desc, 0, 0x3000,
                                        &error_abort));
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_SELECT, i, 2);
        g_assert_cmpuint(tvp_common_read(t, VIRTIO_PCI_COMMON_Q_SIZE, 2),
                         >=, num);
        g_assert_cmpuint(tvp_common_read(t, VIRTIO_PCI_COMMON_Q_NOFF, 2),
                         ==, i);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_SIZE, num, 2);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_MSIX,
                         with_vectors ? i : VIRTIO_NO_VECTOR, 2);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)dq->desc, 4);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_DESCHI, dq->desc >> 32, 4);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)dq->avail,
                         4);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_AVAILHI, dq->avail >> 32, 4);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)dq->used, 4);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_USEDHI, dq->used >> 32, 4);
        tvp_common_write(t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
        g_assert_cmpuint(tvp_common_read(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2),
                         ==, 1);
    }
    tvp_set_status(t, ad | VIRTIO_STATUS_FEATURES_OK |
                   VIRTIO_STATUS_DRIVER_OK);
    g_assert_cmphex(tvp_status(t), ==, ad | VIRTIO_STATUS_FEATURES_OK |
                    VIRTIO_STATUS_DRIVER_OK);
    return true;
}

void tvp_kick(TestVpci *t, unsigned q)
{
    tpci_mmio_write(t->m, TVP_BAR_GPA + t->notify + q * t->notify_mult, q, 2);
}

unsigned tvp_msi_count(TestVpci *t, unsigned vector)
{
    unsigned n = 0;

    for (guint i = 0; i < t->m->msi_sent->len; i++) {
        PciMsiMessage *msg = &g_array_index(t->m->msi_sent, PciMsiMessage, i);

        if (msg->address == TVP_MSI_ADDR && msg->data == TVP_MSI_DATA(vector)) {
            n++;
        }
    }
    return n;
}
