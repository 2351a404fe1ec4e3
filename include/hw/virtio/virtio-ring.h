/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the guest sees of virtio 1.x, independent of the transport: the
 * device status bits (spec 2.1), the feature bits the core knows (spec 6),
 * and the split virtqueue's layout in guest memory (spec 2.7). Everything
 * in guest memory is little-endian. Written from the specification; the
 * structs are the wire layout and are only ever read or written through
 * the accessors in hw/virtio/virtqueue.c, never dereferenced in place by
 * device models.
 *
 * Split ring, queue size N (a power of two, at most 32768):
 *
 *   descriptor table   16 * N bytes, 16-byte aligned
 *       le64 addr; le32 len; le16 flags; le16 next
 *   available ring     6 + 2 * N bytes, 2-byte aligned (driver writes)
 *       le16 flags; le16 idx; le16 ring[N]; le16 used_event
 *   used ring          6 + 8 * N bytes, 4-byte aligned (device writes)
 *       le16 flags; le16 idx; { le32 id; le32 len } ring[N];
 *       le16 avail_event
 *
 * used_event and avail_event exist only with VIRTIO_F_EVENT_IDX; the
 * sizes above include them either way (a driver lays the rings out so).
 */
#ifndef HW_VIRTIO_VIRTIO_RING_H
#define HW_VIRTIO_VIRTIO_RING_H

#include <stdbool.h>
#include <stdint.h>

/* Device status (spec 2.1). 0x10 and 0x20 are reserved. */
#define VIRTIO_STATUS_ACKNOWLEDGE   0x01
#define VIRTIO_STATUS_DRIVER        0x02
#define VIRTIO_STATUS_DRIVER_OK     0x04
#define VIRTIO_STATUS_FEATURES_OK   0x08
#define VIRTIO_STATUS_NEEDS_RESET   0x40
#define VIRTIO_STATUS_FAILED        0x80
#define VIRTIO_STATUS_KNOWN         0xcf

/* Feature bits of the core (spec 6); device types own bits 0..23. */
#define VIRTIO_F_INDIRECT_DESC      28
#define VIRTIO_F_EVENT_IDX          29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33
#define VIRTIO_F_RING_PACKED        34
#define VIRTIO_BIT(n)               (UINT64_C(1) << (n))

/* Largest queue size of a split ring (spec 2.7). */
#define VIRTQ_SIZE_MAX              32768

/* Descriptor flags. */
#define VIRTQ_DESC_F_NEXT           1
#define VIRTQ_DESC_F_WRITE          2
#define VIRTQ_DESC_F_INDIRECT       4

/* avail.flags: the driver asks for no interrupts (without EVENT_IDX). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT  1
/* used.flags: the device asks for no notifications (without EVENT_IDX). */
#define VIRTQ_USED_F_NO_NOTIFY      1

/* MSI-X "no vector" (spec 4.1.4.3), kept by the core for the transport. */
#define VIRTIO_NO_VECTOR            0xffff

typedef struct VirtqDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} __attribute__((packed)) VirtqDesc;

typedef struct VirtqUsedElem {
    uint32_t id;
    uint32_t len;
} __attribute__((packed)) VirtqUsedElem;

#define VIRTQ_DESC_SIZE             16
#define VIRTQ_DESC_ALIGN            16
#define VIRTQ_AVAIL_ALIGN           2
#define VIRTQ_USED_ALIGN            4
/* Byte offsets inside the rings. */
#define VIRTQ_AVAIL_FLAGS           0
#define VIRTQ_AVAIL_IDX             2
#define VIRTQ_AVAIL_RING(i)         (4 + 2 * (uint64_t)(i))
#define VIRTQ_USED_FLAGS            0
#define VIRTQ_USED_IDX              2
#define VIRTQ_USED_RING(i)          (4 + 8 * (uint64_t)(i))

static inline uint64_t virtq_desc_table_size(unsigned num)
{
    return (uint64_t)VIRTQ_DESC_SIZE * num;
}

static inline uint64_t virtq_avail_size(unsigned num)
{
    return 6 + 2 * (uint64_t)num;
}

static inline uint64_t virtq_used_size(unsigned num)
{
    return 6 + 8 * (uint64_t)num;
}

/* Where used_event sits in the available ring, avail_event in the used. */
static inline uint64_t virtq_used_event_off(unsigned num)
{
    return VIRTQ_AVAIL_RING(num);
}

static inline uint64_t virtq_avail_event_off(unsigned num)
{
    return VIRTQ_USED_RING(num);
}

/*
 * Spec 2.7.7.2 / 2.7.10: with EVENT_IDX, whoever moved an index from old
 * to new_idx notifies when event_idx lies in [old, new_idx): the other
 * side asked to hear once the index passes event_idx. All arithmetic is
 * modulo 2^16, so it survives the index wrapping.
 */
static inline bool virtq_need_event(uint16_t event_idx, uint16_t new_idx,
                                    uint16_t old)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

#endif
