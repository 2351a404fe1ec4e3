/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: the virtio 1.x modern PCI transport and split
 * virtqueues, shared by every virtio driver (net/virtio-net.c,
 * disk/virtio-blk.c).  Polled: the device is told not to interrupt, unless
 * irq=msix|intx asks it to (the rings are polled all the same; the
 * interrupts are only counted, see irq.h).
 *
 * A driver's start-up, in the order the spec asks (virtio 1.x 3.1.1):
 *
 *   vpci_find()          PCI scan, capabilities, BAR mapping
 *   vpci_negotiate()     reset, ACKNOWLEDGE, DRIVER, features (VERSION_1
 *                        required), FEATURES_OK
 *   vpci_irq_setup()     with irq=: MSI-X table and config vector, or INTx
 *   vring_setup() ...    one per queue
 *   vpci_driver_ok()
 *
 * After that everything is MMIO and ring memory touched from CPL3 (or,
 * with mmio=svc, register accesses through the CPL0 services).  Ring
 * memory comes from tg_alloc(); guest-physical equals virtual (identity
 * map), so pointers go into descriptors as they are.
 */
#ifndef TG_DEV_VIRTIO_PCI_H
#define TG_DEV_VIRTIO_PCI_H

#include "pci.h"
#include "irq.h"

#define VIRTIO_VENDOR           0x1af4
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_ID_NET           1
#define VIRTIO_ID_BLOCK         2

#define VRING_DESC_F_NEXT       1
#define VRING_DESC_F_WRITE      2

struct vring_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

struct vring_avail {
    u16 flags;
    u16 idx;
    u16 ring[];
};

struct vring_used_elem {
    u32 id;
    u32 len;
};

struct vring_used {
    u16 flags;
    u16 idx;
    struct vring_used_elem ring[];
};

/* One virtio-pci device. */
struct vpci {
    struct pci_dev pci;
    volatile u8 *common;
    volatile u8 *device;        /* device-specific configuration */
    volatile u8 *notify_base;
    volatile u8 *isr;           /* ISR status (read by the INTx stub) */
    u32 notify_mult;
    u64 features;               /* negotiated */
    u64 bar_addr[6];            /* BARs mapped so far (0: not) */
    const char *name;           /* "virtio-net" */
    const char *label;          /* "net": in the irq report */
    unsigned irq_slot;          /* IRQ_SLOT_*: which MSI-X vectors */
    unsigned msix_entries;      /* table entries programmed (irq=msix) */
};

/* One split virtqueue; indices run free (mod 2^16), slots are idx % size. */
struct vring {
    u16 size;
    u16 index;                  /* queue number on the device */
    u16 avail_idx;              /* next avail slot we fill */
    u16 used_seen;              /* next used slot we read */
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
    volatile u8 *notify;        /* this queue's 16-bit notify register */
    bool kick;                  /* avail idx moved since the last notify */
};

/*
 * Register access: straight from CPL3, or with mmio=svc through the CPL0
 * services (a fallback for a host where CPL3 MMIO does not reach the VMM;
 * each access then costs a service round trip).
 */
#define VP_MMIO_RD(width, svcnr)                                            \
    static inline u##width vp_rd##width(volatile u8 *b, u32 off)            \
    {                                                                       \
        if (devcfg.mmio_svc) {                                              \
            return (u##width)svc(svcnr, (u64)(b + off), 0);                 \
        }                                                                   \
        return *(volatile u##width *)(b + off);                             \
    }
#define VP_MMIO_WR(width, svcnr)                                            \
    static inline void vp_wr##width(volatile u8 *b, u32 off, u##width v)    \
    {                                                                       \
        if (devcfg.mmio_svc) {                                              \
            svc(svcnr, (u64)(b + off), v);                                  \
        } else {                                                            \
            *(volatile u##width *)(b + off) = v;                            \
        }                                                                   \
    }
VP_MMIO_RD(8, SVC_MMIO_RD8)
VP_MMIO_RD(16, SVC_MMIO_RD16)
VP_MMIO_RD(32, SVC_MMIO_RD32)
VP_MMIO_WR(8, SVC_MMIO_WR8)
VP_MMIO_WR(16, SVC_MMIO_WR16)
VP_MMIO_WR(32, SVC_MMIO_WR32)
static inline void vp_wr64(volatile u8 *b, u32 off, u64 v)
{
    vp_wr32(b, off, (u32)v);    /* two halves: the spec allows it */
    vp_wr32(b, off + 4, (u32)(v >> 32));
}
static inline u64 vp_rd64(volatile u8 *b, u32 off)
{
    return vp_rd32(b, off) | (u64)vp_rd32(b, off + 4) << 32;
}
static inline void mfence(void) { asm volatile("mfence" ::: "memory"); }

/*
 * First device of this virtio type on bus 0: the modern id 0x1040+type or
 * the transitional one (subsystem id = type); finds its capabilities and
 * maps their BARs.  name ("virtio-blk") is for the error message.  False with a message appended to err.
 */
bool vpci_find(u16 type, u16 transitional_id, const char *name, struct vpci *v,
               struct line *err);
/*
 * Resets the device and offers it `wanted` & what it offers, plus
 * VERSION_1 (which it must offer); the result is in v->features.
 */
bool vpci_negotiate(struct vpci *v, u64 wanted, struct line *err);
u16 vpci_num_queues(struct vpci *v);
/*
 * irq=msix: MSI-X on and the config interrupt on table entry 0; irq=intx:
 * the pin routed (irq.h).  Nothing without irq=.  After vpci_negotiate()
 * (its reset clears the vectors), before the queues.
 */
bool vpci_irq_setup(struct vpci *v, struct line *err);
/*
 * Allocates and enables queue `index` with up to `max` entries (a power of
 * two): descriptors zeroed, avail flags NO_INTERRUPT (without irq=) or 0,
 * and with irq=msix MSI-X table entry 1 + index.  The driver fills the
 * descriptors before it uses them.
 */
bool vring_setup(struct vpci *v, struct vring *q, u16 index, u16 max, struct line *err);
void vpci_driver_ok(struct vpci *v);
void vpci_fail(struct vpci *v);         /* sets FAILED after a start-up error */
bool vpci_needs_reset(struct vpci *v);  /* the device saw something it refuses */

/* Publishes descriptor chain `head` in the avail ring (no notify yet). */
void vring_push(struct vring *q, u16 head);
/* Notifies the device if vring_push() ran since the last call and it wants it. */
void vring_notify(struct vring *q);
/* Next used element, or false if the device has returned nothing new. */
bool vring_pop(struct vring *q, u32 *id, u32 *len);

/* "00:02.0" */
void ln_bdf(struct line *l, const struct pci_dev *d);

#endif
