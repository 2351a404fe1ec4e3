/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: virtio 1.x modern PCI transport and split virtqueues
 * (see virtio-pci.h for the start-up order).  PCI config space is read
 * once here, through the port services; the rest is MMIO and RAM.
 */
#include "virtio-pci.h"

/* virtio PCI capability (cap id 0x09) */
#define PCI_CAP_VENDOR          0x09
#define VCAP_CFG_TYPE           3
#define VCAP_BAR                4
#define VCAP_OFFSET             8
#define VCAP_NOTIFY_MULT        16
enum { VCAP_COMMON = 1, VCAP_NOTIFY = 2, VCAP_ISR = 3, VCAP_DEVICE = 4 };

/* common configuration structure */
#define VC_DEV_FEAT_SEL         0x00
#define VC_DEV_FEAT             0x04
#define VC_DRV_FEAT_SEL         0x08
#define VC_DRV_FEAT             0x0c
#define VC_MSIX_CONFIG          0x10
#define VC_NUM_QUEUES           0x12
#define VC_STATUS               0x14
#define VC_Q_SELECT             0x16
#define VC_Q_SIZE               0x18
#define VC_Q_MSIX               0x1a
#define VC_Q_ENABLE             0x1c
#define VC_Q_NOTIFY_OFF         0x1e
#define VC_Q_DESC               0x20
#define VC_Q_DRIVER             0x28
#define VC_Q_DEVICE             0x30

#define VS_ACKNOWLEDGE          1
#define VS_DRIVER               2
#define VS_DRIVER_OK            4
#define VS_FEATURES_OK          8
#define VS_NEEDS_RESET          64
#define VS_FAILED               128

#define VIRTIO_NO_VECTOR        0xffff
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY  1

/* One capability of each type: the first the device lists, as the spec asks. */
static bool find_caps(struct vpci *v, struct line *err)
{
    const struct pci_dev *d = &v->pci;
    u8 ptr;
    int guard;

    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        ln_str(err, "device has no capability list (legacy-only virtio?)");
        return false;
    }
    ptr = pci_read8(d, PCI_CAP_PTR) & 0xfc;
    for (guard = 0; ptr >= 0x40 && guard < 48; guard++) {
        u32 w0 = pci_read32(d, ptr);
        u8 type = (u8)(w0 >> 24), bar = pci_read8(d, ptr + VCAP_BAR);
        u32 off = pci_read32(d, ptr + VCAP_OFFSET);
        volatile u8 *p;

        if ((w0 & 0xff) != PCI_CAP_VENDOR ||
            (type != VCAP_COMMON && type != VCAP_NOTIFY && type != VCAP_DEVICE &&
             (type != VCAP_ISR || devcfg.irq != TG_IRQ_INTX)) ||   /* only INTx reads it */
            (type == VCAP_COMMON && v->common) ||
            (type == VCAP_NOTIFY && v->notify_base) ||
            (type == VCAP_ISR && v->isr) ||
            (type == VCAP_DEVICE && v->device)) {
            ptr = (u8)(w0 >> 8) & 0xfc;
            continue;
        }
        if (bar > 5) {
            ln_str(err, "virtio capability names BAR ");
            ln_dec(err, bar);
            return false;
        }
        if (!v->bar_addr[bar] && !pci_map_bar(d, bar, &v->bar_addr[bar], err)) {
            return false;
        }
        p = (volatile u8 *)(v->bar_addr[bar] + off);
        if (type == VCAP_COMMON) {
            v->common = p;
        } else if (type == VCAP_NOTIFY) {
            v->notify_base = p;
            v->notify_mult = pci_read32(d, ptr + VCAP_NOTIFY_MULT);
        } else if (type == VCAP_ISR) {
            v->isr = p;
        } else {
            v->device = p;
        }
        ptr = (u8)(w0 >> 8) & 0xfc;
    }
    if (!v->common || !v->notify_base || !v->device) {
        ln_str(err, "virtio-pci modern capabilities missing (common/notify/device)");
        return false;
    }
    return true;
}

bool vpci_find(u16 type, u16 transitional_id, const char *name, struct vpci *v,
               struct line *err)
{
    const u16 ids[] = { (u16)(0x1040 + type), transitional_id };

    memset(v, 0, sizeof(*v));
    v->name = name;
    v->irq_slot = type == VIRTIO_ID_NET ? IRQ_SLOT_NET : IRQ_SLOT_BLK;
    v->label = type == VIRTIO_ID_NET ? "net" : "blk";
    if (!pci_find(VIRTIO_VENDOR, ids, 2, &v->pci)) {
        ln_str(err, "no ");
        ln_str(err, name);
        ln_str(err, " PCI device on bus 0");
        return false;
    }
    if (v->pci.device == transitional_id && pci_read16(&v->pci, PCI_SUBSYSTEM_ID) != type) {
        ln_str(err, "virtio device id ");
        ln_hex(err, transitional_id);
        ln_str(err, " is not a ");
        ln_str(err, name);
        ln_str(err, " device");
        return false;
    }
    return find_caps(v, err);
}

static void set_status(struct vpci *v, u8 bits)
{
    vp_wr8(v->common, VC_STATUS, (u8)(vp_rd8(v->common, VC_STATUS) | bits));
}

bool vpci_negotiate(struct vpci *v, u64 wanted, struct line *err)
{
    u64 offered;
    u32 i;

    vp_wr8(v->common, VC_STATUS, 0);
    for (i = 0; vp_rd8(v->common, VC_STATUS) && i < 1000000; i++) {
        cpu_relax();
    }
    set_status(v, VS_ACKNOWLEDGE);
    set_status(v, VS_DRIVER);
    vp_wr32(v->common, VC_DEV_FEAT_SEL, 0);
    offered = vp_rd32(v->common, VC_DEV_FEAT);
    vp_wr32(v->common, VC_DEV_FEAT_SEL, 1);
    offered |= (u64)vp_rd32(v->common, VC_DEV_FEAT) << 32;
    if (!(offered & (1ULL << VIRTIO_F_VERSION_1))) {
        vpci_fail(v);
        ln_str(err, "device does not offer VIRTIO_F_VERSION_1");
        return false;
    }
    v->features = (offered & wanted) | 1ULL << VIRTIO_F_VERSION_1;
    vp_wr32(v->common, VC_DRV_FEAT_SEL, 0);
    vp_wr32(v->common, VC_DRV_FEAT, (u32)v->features);
    vp_wr32(v->common, VC_DRV_FEAT_SEL, 1);
    vp_wr32(v->common, VC_DRV_FEAT, (u32)(v->features >> 32));
    set_status(v, VS_FEATURES_OK);
    if (!(vp_rd8(v->common, VC_STATUS) & VS_FEATURES_OK)) {
        vpci_fail(v);
        ln_str(err, "device refused our features");
        return false;
    }
    return true;
}

u16 vpci_num_queues(struct vpci *v)
{
    return vp_rd16(v->common, VC_NUM_QUEUES);
}

bool vpci_irq_setup(struct vpci *v, struct line *err)
{
    unsigned cfg = irq_msix_index(v->irq_slot, 0);

    switch (devcfg.irq) {
    case TG_IRQ_MSIX:
        if (!irq_msix_enable(&v->pci, v->bar_addr, v->irq_slot, v->name,
                             &v->msix_entries, err)) {
            vpci_fail(v);
            return false;
        }
        vp_wr16(v->common, VC_MSIX_CONFIG, 0);
        if (vp_rd16(v->common, VC_MSIX_CONFIG) != 0) {
            vpci_fail(v);
            ln_str(err, "device refused MSI-X entry 0 for configuration changes");
            return false;
        }
        irq_label(cfg, v->label, -1);
        return true;
    case TG_IRQ_INTX:
        if (!irq_intx_enable(&v->pci, v->isr, v->irq_slot, v->name, err)) {
            vpci_fail(v);
            return false;
        }
        return true;
    default:
        return true;
    }
}

bool vring_setup(struct vpci *v, struct vring *q, u16 index, u16 max, struct line *err)
{
    u16 dev_max, vector = VIRTIO_NO_VECTOR;
    size_t avail_sz, used_sz;

    memset(q, 0, sizeof(*q));
    vp_wr16(v->common, VC_Q_SELECT, index);
    dev_max = vp_rd16(v->common, VC_Q_SIZE);
    if (!dev_max) {
        ln_str(err, "virtqueue ");
        ln_dec(err, index);
        ln_str(err, " does not exist");
        return false;
    }
    /* Split rings need a power of two; take the largest one that fits. */
    q->size = max;
    while (q->size > dev_max) {
        q->size >>= 1;
    }
    q->index = index;
    avail_sz = 6 + 2u * q->size;
    used_sz = 6 + 8u * q->size;
    q->desc = tg_alloc(16u * q->size, 4096);
    q->avail = tg_alloc(avail_sz, 4096);
    q->used = tg_alloc(used_sz, 4096);
    if (!q->desc || !q->avail || !q->used) {
        ln_str(err, "out of ring memory");
        return false;
    }
    memset((void *)q->desc, 0, 16u * q->size);
    memset((void *)q->avail, 0, avail_sz);
    memset((void *)q->used, 0, used_sz);
    /* We poll; with irq= the device interrupts as well, to be counted. */
    q->avail->flags = devcfg.irq ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
    if (devcfg.irq == TG_IRQ_MSIX) {
        if (1u + index >= v->msix_entries) {
            ln_str(err, "MSI-X: no table entry for virtqueue ");
            ln_dec(err, index);
            ln_str(err, " (entries ");
            ln_dec(err, v->msix_entries);
            ln_str(err, ")");
            return false;
        }
        vector = (u16)(1 + index);
    }
    vp_wr16(v->common, VC_Q_SIZE, q->size);
    vp_wr16(v->common, VC_Q_MSIX, vector);
    if (vector != VIRTIO_NO_VECTOR) {
        if (vp_rd16(v->common, VC_Q_MSIX) != vector) {
            ln_str(err, "device refused MSI-X entry ");
            ln_dec(err, vector);
            ln_str(err, " for virtqueue ");
            ln_dec(err, index);
            return false;
        }
        irq_label(irq_msix_index(v->irq_slot, vector), v->label, index);
    }
    vp_wr64(v->common, VC_Q_DESC, (u64)q->desc);
    vp_wr64(v->common, VC_Q_DRIVER, (u64)q->avail);
    vp_wr64(v->common, VC_Q_DEVICE, (u64)q->used);
    q->notify = v->notify_base + (u32)vp_rd16(v->common, VC_Q_NOTIFY_OFF) * v->notify_mult;
    vp_wr16(v->common, VC_Q_ENABLE, 1);
    return true;
}

void vpci_driver_ok(struct vpci *v)
{
    set_status(v, VS_DRIVER_OK);
}

void vpci_fail(struct vpci *v)
{
    set_status(v, VS_FAILED);
}

bool vpci_needs_reset(struct vpci *v)
{
    return vp_rd8(v->common, VC_STATUS) & VS_NEEDS_RESET;
}

void vring_push(struct vring *q, u16 head)
{
    q->avail->ring[q->avail_idx % q->size] = head;
    barrier();              /* the entry before the index (x86 keeps store order) */
    q->avail->idx = ++q->avail_idx;
    q->kick = true;
}

void vring_notify(struct vring *q)
{
    if (!q->kick) {
        return;
    }
    q->kick = false;
    mfence();               /* avail idx visible before we read used flags */
    if (!(q->used->flags & VRING_USED_F_NO_NOTIFY)) {
        vp_wr16(q->notify, 0, q->index);
    }
}

bool vring_pop(struct vring *q, u32 *id, u32 *len)
{
    u16 slot;

    if (q->used_seen == q->used->idx) {
        return false;
    }
    barrier();              /* read the entry after seeing the index */
    slot = q->used_seen % q->size;
    *id = q->used->ring[slot].id;
    *len = q->used->ring[slot].len;
    q->used_seen++;
    return true;
}

void ln_bdf(struct line *l, const struct pci_dev *d)
{
    ln_str(l, "00:");                   /* pci_find() scans bus 0 only */
    ln_dec(l, (d->bdf >> 3 & 31) / 10); /* slot as two decimal digits */
    ln_dec(l, (d->bdf >> 3 & 31) % 10);
    ln_str(l, ".");
    ln_dec(l, d->bdf & 7);
}
