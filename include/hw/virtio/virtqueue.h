/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A split virtqueue (virtio 1.x, spec 2.7) as a device model uses it: pop
 * a descriptor chain as an element whose buffers are mapped to host
 * memory, read the driver's data from its out buffers, write into its in
 * buffers, push it back with the number of bytes written, and decide
 * whether the driver wants an interrupt (virtio_notify in virtio.h).
 *
 * The guest owns the rings and may rewrite them at any moment, so every
 * ring field is read once into a local copy, and every index, address,
 * length and chain is checked before use. What a driver gets wrong (see
 * docs/devel/virtio.md, "Hostile rings") puts the device in NEEDS_RESET
 * through virtio_error(): the queue is marked broken, pop returns NULL and
 * push does nothing until the device is reset. No ring content can make
 * pop loop for longer than the queue size or touch memory outside RAM.
 *
 * The dirty rule (ARCHITECTURE.md section 3). Every byte the device writes
 * into guest RAM is marked dirty for migration and COLO:
 *   - the core's own writes (used ring entries, used.idx, used.flags,
 *     avail_event) go through guest_memory_mark_dirty() here;
 *   - the device's data reaches the in buffers either through
 *     virtqueue_elem_to_guest(), which marks what it copies, or directly
 *     through elem->in_sg (readv from a tap, say); then the len given to
 *     virtqueue_push()/virtqueue_fill() must cover every byte written,
 *     counted from the start of the in buffers, and push marks exactly
 *     those bytes. A device that writes into an element it then does not
 *     push calls virtqueue_elem_mark_dirty() itself.
 *
 * Threads: a queue belongs to one thread at a time (the main loop under
 * the BQL, or a device's own thread while it owns the queue).
 */
#ifndef HW_VIRTIO_VIRTQUEUE_H
#define HW_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "hw/virtio/virtio-ring.h"
#include "migration/vmstate.h"

typedef struct VirtIODevice VirtIODevice;
typedef struct VirtQueue VirtQueue;

/* Called when the driver notifies (kicks) the queue. */
typedef void (*VirtQueueHandler)(VirtIODevice *vdev, VirtQueue *vq);

/*
 * One popped descriptor chain. The driver's buffers come first (out_sg,
 * readable), then the device's (in_sg, writable); a chain that has them
 * the other way round is refused. Each iovec points into guest RAM, and
 * *_addr[i] is its guest-physical start. A buffer that spans two RAM
 * blocks is two iovecs. Zero-length descriptors produce no iovec.
 * out_len and in_len are at most UINT32_MAX (used.len is 32-bit).
 * Allocated as one block by virtqueue_pop(); g_free() it.
 */
typedef struct VirtQueueElement {
    uint16_t head;          /* first descriptor: the id pushed back */
    uint32_t epoch;         /* queue epoch at pop (see VirtQueue.epoch) */
    bool redelivered;       /* in flight at migration, handed out again */
    unsigned out_num;
    unsigned in_num;
    uint64_t out_len;
    uint64_t in_len;
    struct iovec *out_sg;
    struct iovec *in_sg;
    uint64_t *out_addr;
    uint64_t *in_addr;
} VirtQueueElement;

struct VirtQueue {
    VirtIODevice *vdev;
    unsigned index;
    uint16_t num_max;           /* the device's limit; 0: no such queue */
    VirtQueueHandler handle;

    /* Set by the driver through the transport; migrated. */
    uint16_t num;               /* queue size: a power of two <= num_max */
    bool enabled;
    uint64_t desc_addr;
    uint64_t avail_addr;
    uint64_t used_addr;
    uint16_t vector;            /* MSI-X vector or VIRTIO_NO_VECTOR */

    /* The device's side of the ring; migrated. */
    uint16_t last_avail_idx;    /* next available entry to pop */
    uint16_t used_idx;          /* used.idx as last published */
    uint16_t signalled_used;    /* used.idx at the last interrupt */
    bool signalled_used_valid;  /* false: next notify interrupts */
    bool broken;                /* a driver error was seen: stopped */
    bool notification;          /* the device wants kicks */

    /* Host views of the rings, set when the queue is enabled or loaded. */
    uint8_t *desc_host;
    uint8_t *avail_host;
    uint8_t *used_host;

    /*
     * In-flight heads: popped and not yet pushed. inflight_seq[head] is
     * the pop's sequence number (0: not in flight), so that the heads
     * migrate in pop order. After a load, redeliver[] lists the heads
     * that virtqueue_pop() hands out again before any new entry.
     */
    uint64_t *inflight_seq;
    uint64_t next_seq;
    unsigned inflight_count;
    uint16_t *redeliver;
    unsigned redeliver_pos;
    unsigned redeliver_count;
    uint16_t pending_used;      /* filled, not yet flushed */
    /* Bumped by reset and load: elements of an older epoch are stale. */
    uint32_t epoch;

    /* Migration: in-flight heads, be16 each, in pop order. */
    uint32_t inflight_wire_len;
    uint8_t *inflight_wire;

    /* Scratch for pop: segments in chain order, grown as needed. */
    struct iovec *scratch_sg;
    uint64_t *scratch_addr;
    unsigned scratch_cap;
};

/*
 * Pops the next available chain, or NULL when there is none, the queue
 * is not ready (disabled, DRIVER_OK not set) or broken. A bad chain
 * breaks the queue (virtio_error) and returns NULL.
 */
VirtQueueElement *virtqueue_pop(VirtQueue *vq);

/*
 * Gives elem back to the driver as used with len bytes written into its
 * in buffers (marked dirty here: see the dirty rule above), and frees
 * nothing: the caller g_free()s elem. fill/flush do the same in a batch:
 * fill writes used entries after the published used.idx, flush publishes
 * them all at once. A stale element (from before a reset or a load) or
 * one not in flight is ignored with a trace.
 */
void virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len);
void virtqueue_fill(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len);
void virtqueue_flush(VirtQueue *vq);

/*
 * Gives back, unused, the element popped last, as if it had not been
 * popped (a device that needs several buffers for one packet and finds
 * too few, like virtio-net's mergeable receive buffers). Several go back
 * in the reverse order of their pops. False, with a trace, for any other
 * element. Whatever was written into it must already be marked dirty
 * (virtqueue_elem_mark_dirty). The caller still g_free()s elem.
 */
bool virtqueue_unpop(VirtQueue *vq, const VirtQueueElement *elem);

/* Copies into elem's in buffers from offset, marking the bytes dirty.
 * Returns the bytes copied (short when the buffers end). */
size_t virtqueue_elem_to_guest(VirtQueue *vq, const VirtQueueElement *elem,
                               size_t offset, const void *buf, size_t len);
/* Copies out of elem's out buffers from offset; returns bytes copied. */
size_t virtqueue_elem_from_guest(const VirtQueueElement *elem, size_t offset,
                                 void *buf, size_t len);
/* Marks the first len bytes of elem's in buffers dirty. */
void virtqueue_elem_mark_dirty(VirtQueue *vq, const VirtQueueElement *elem,
                               uint64_t len);

/*
 * Asks the driver for notifications (enable) or to skip them: the
 * used.flags NO_NOTIFY bit, or with EVENT_IDX avail_event set to the
 * driver's current avail.idx (disable then does nothing). After enabling,
 * check virtqueue_empty() again: the driver may have added buffers
 * before it saw the request.
 */
void virtqueue_set_notification(VirtQueue *vq, bool enable);
/* True when there is nothing to pop (or the queue is not usable). */
bool virtqueue_empty(VirtQueue *vq);
/* True when the queue is enabled, not broken and the driver is ready. */
bool virtqueue_ready(VirtQueue *vq);

extern const VMStateDescription vmstate_virtqueue;

#endif
