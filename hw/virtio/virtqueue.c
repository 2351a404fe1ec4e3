/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The split virtqueue (virtio 1.x, spec 2.7): popping descriptor chains
 * into elements mapped to host memory, pushing used elements back,
 * notification suppression in both directions (flags and EVENT_IDX), and
 * the queue's migration state. The rings live in guest RAM that the
 * driver may change under us at any time: each ring word is loaded once
 * into a local, every index and address is checked before use, and the
 * walk of a chain is bounded by the queue size whatever the descriptors
 * say. A driver error breaks the queue through virtio_error(); see
 * include/hw/virtio/virtqueue.h for the rules and the dirty rule.
 */
#include <inttypes.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "virtio-internal.h"
#include "trace.h"

/* ---- ring access ---- */

/*
 * Ring words are read with one load each (never re-read after a check)
 * and written with one store; the callers add the ordering they need.
 * The ring bases are aligned (checked when mapped), so the words are.
 */
static uint16_t ring_load16(const uint8_t *p)
{
    return GUINT16_FROM_LE(__atomic_load_n((const uint16_t *)p,
                                           __ATOMIC_RELAXED));
}

static uint16_t avail_idx_acquire(VirtQueue *vq)
{
    /* Pairs with the driver's barrier between ring[] and idx. */
    return GUINT16_FROM_LE(__atomic_load_n(
        (const uint16_t *)(vq->avail_host + VIRTQ_AVAIL_IDX),
        __ATOMIC_ACQUIRE));
}

/* Every device write into the used ring comes through here. */
static void used_store16(VirtQueue *vq, uint64_t off, uint16_t v)
{
    __atomic_store_n((uint16_t *)(vq->used_host + off), GUINT16_TO_LE(v),
                     __ATOMIC_RELEASE);
    guest_memory_mark_dirty(vq->vdev->mem, vq->used_addr + off, 2);
}

static void used_store_elem(VirtQueue *vq, unsigned slot, uint32_t id,
                            uint32_t len)
{
    uint64_t off = VIRTQ_USED_RING(slot);
    uint32_t *p = (uint32_t *)(vq->used_host + off);

    __atomic_store_n(&p[0], GUINT32_TO_LE(id), __ATOMIC_RELAXED);
    __atomic_store_n(&p[1], GUINT32_TO_LE(len), __ATOMIC_RELAXED);
    guest_memory_mark_dirty(vq->vdev->mem, vq->used_addr + off,
                            sizeof(VirtqUsedElem));
}

/*
 * One descriptor, copied out of the table before anything looks at it.
 * Indirect tables need not be aligned, so this is a byte copy; the
 * signal fence keeps the compiler from reading the table again later.
 */
static void desc_load(const uint8_t *table, unsigned i, VirtqDesc *d)
{
    VirtqDesc raw;

    memcpy(&raw, table + (uint64_t)i * VIRTQ_DESC_SIZE, sizeof(raw));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    d->addr = GUINT64_FROM_LE(raw.addr);
    d->len = GUINT32_FROM_LE(raw.len);
    d->flags = GUINT16_FROM_LE(raw.flags);
    d->next = GUINT16_FROM_LE(raw.next);
}

/* ---- set-up and reset (called by virtio.c) ---- */

void virtqueue_init(VirtQueue *vq, VirtIODevice *vdev, unsigned index,
                    uint16_t num_max, VirtQueueHandler handle)
{
    g_assert(num_max && num_max <= VIRTQ_SIZE_MAX &&
             !(num_max & (num_max - 1)));
    memset(vq, 0, sizeof(*vq));
    vq->vdev = vdev;
    vq->index = index;
    vq->num_max = num_max;
    vq->handle = handle;
    vq->inflight_seq = g_new0(uint64_t, num_max);
    vq->redeliver = g_new0(uint16_t, num_max);
    virtqueue_reset(vq);
}

void virtqueue_cleanup(VirtQueue *vq)
{
    g_free(vq->inflight_seq);
    g_free(vq->redeliver);
    g_free(vq->inflight_wire);
    g_free(vq->scratch_sg);
    g_free(vq->scratch_addr);
    memset(vq, 0, sizeof(*vq));
}

void virtqueue_reset(VirtQueue *vq)
{
    vq->num = vq->num_max;
    vq->enabled = false;
    vq->desc_addr = vq->avail_addr = vq->used_addr = 0;
    vq->desc_host = vq->avail_host = vq->used_host = NULL;
    vq->vector = VIRTIO_NO_VECTOR;
    vq->last_avail_idx = vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->broken = false;
    vq->notification = true;
    if (vq->inflight_seq) {
        memset(vq->inflight_seq, 0, vq->num_max * sizeof(uint64_t));
    }
    vq->next_seq = 0;
    vq->inflight_count = 0;
    vq->redeliver_pos = vq->redeliver_count = 0;
    vq->pending_used = 0;
    vq->epoch++;
}

/* Host view of one ring, or an error naming it. */
static uint8_t *map_ring(VirtQueue *vq, const char *what, uint64_t gpa,
                         uint64_t size, uint64_t align, Error **errp)
{
    uint8_t *p;

    if (gpa % align) {
        error_setg(errp, "%s ring at 0x%" PRIx64 " is not %" PRIu64
                   "-byte aligned", what, gpa, align);
        return NULL;
    }
    p = guest_memory_host_ptr(vq->vdev->mem, gpa, size);
    if (!p) {
        error_setg(errp, "%s ring 0x%" PRIx64 "+0x%" PRIx64 " is not inside "
                   "one RAM block", what, gpa, size);
    }
    return p;
}

bool virtqueue_map_rings(VirtQueue *vq, Error **errp)
{
    uint8_t *desc, *avail, *used;

    if (!vq->num || vq->num > vq->num_max || (vq->num & (vq->num - 1))) {
        error_setg(errp, "queue size %u is not a power of two up to %u",
                   vq->num, vq->num_max);
        return false;
    }
    desc = map_ring(vq, "descriptor", vq->desc_addr,
                    virtq_desc_table_size(vq->num), VIRTQ_DESC_ALIGN, errp);
    if (!desc) {
        return false;
    }
    avail = map_ring(vq, "available", vq->avail_addr,
                     virtq_avail_size(vq->num), VIRTQ_AVAIL_ALIGN, errp);
    if (!avail) {
        return false;
    }
    used = map_ring(vq, "used", vq->used_addr, virtq_used_size(vq->num),
                    VIRTQ_USED_ALIGN, errp);
    if (!used) {
        return false;
    }
    vq->desc_host = desc;
    vq->avail_host = avail;
    vq->used_host = used;
    return true;
}

bool virtqueue_ready(VirtQueue *vq)
{
    uint8_t status = vq->vdev->status;

    return vq->enabled && !vq->broken && vq->desc_host &&
           (status & VIRTIO_STATUS_DRIVER_OK) &&
           !(status & VIRTIO_STATUS_FAILED) && virtio_dma_enabled(vq->vdev);
}

/* ---- pop ---- */

/* Chain walk state: segments collect in vq's scratch arrays. */
typedef struct ChainWalk {
    VirtQueue *vq;
    unsigned nseg;
    unsigned out_num;       /* segments before the first writable one */
    bool writing;           /* a writable descriptor was seen */
    uint64_t out_len;
    uint64_t in_len;
} ChainWalk;

static void scratch_grow(VirtQueue *vq, unsigned need)
{
    if (need <= vq->scratch_cap) {
        return;
    }
    vq->scratch_cap = MAX(need, MAX(16u, vq->scratch_cap * 2));
    vq->scratch_sg = g_renew(struct iovec, vq->scratch_sg, vq->scratch_cap);
    vq->scratch_addr = g_renew(uint64_t, vq->scratch_addr, vq->scratch_cap);
}

/*
 * Adds descriptor d's buffer, split at RAM block boundaries. Refuses a
 * readable buffer after a writable one, a buffer not wholly in RAM (or
 * wrapping past 2^64), and totals beyond 32 bits.
 */
static bool chain_add(ChainWalk *w, unsigned i, const VirtqDesc *d)
{
    VirtQueue *vq = w->vq;
    GuestMemory *mem = vq->vdev->mem;
    bool write = d->flags & VIRTQ_DESC_F_WRITE;
    uint64_t addr = d->addr, left = d->len;

    if (write) {
        w->writing = true;
        w->in_len += d->len;
    } else if (w->writing) {
        virtio_error(vq->vdev, vq, "descriptor %u is device-readable after "
                     "a device-writable one", i);
        return false;
    } else {
        w->out_len += d->len;
    }
    if (w->in_len > UINT32_MAX || w->out_len > UINT32_MAX) {
        virtio_error(vq->vdev, vq, "descriptor %u: the chain's %s buffers "
                     "add up to more than 4 GiB", i,
                     write ? "writable" : "readable");
        return false;
    }
    if (!d->len) {
        return true;
    }
    if (!guest_memory_check_range(mem, addr, left, NULL)) {
        virtio_error(vq->vdev, vq, "descriptor %u: buffer 0x%" PRIx64 "+0x%"
                     PRIx32 " is not RAM", i, d->addr, d->len);
        return false;
    }
    while (left) {
        RamBlock *b = guest_memory_find(mem, addr);
        uint64_t off = addr - b->gpa;
        uint64_t chunk = MIN(left, b->size - off);

        scratch_grow(vq, w->nseg + 1);
        vq->scratch_sg[w->nseg].iov_base = b->host + off;
        vq->scratch_sg[w->nseg].iov_len = chunk;
        vq->scratch_addr[w->nseg] = addr;
        w->nseg++;
        if (!write) {
            w->out_num = w->nseg;
        }
        addr += chunk;
        left -= chunk;
    }
    return true;
}

/*
 * Switches the walk to the indirect table descriptor i points at. Spec
 * 2.7.5.3: the feature must be negotiated, the table is a nonzero
 * multiple of 16 bytes, and an indirect descriptor has no NEXT and is
 * never inside an indirect table.
 */
static const uint8_t *chain_indirect(VirtQueue *vq, unsigned i,
                                     const VirtqDesc *d, bool in_indirect,
                                     unsigned *table_num)
{
    const uint8_t *table;

    if (!virtio_has_feature(vq->vdev, VIRTIO_F_INDIRECT_DESC)) {
        virtio_error(vq->vdev, vq, "descriptor %u is indirect but "
                     "VIRTIO_F_INDIRECT_DESC was not negotiated", i);
        return NULL;
    }
    if (in_indirect) {
        virtio_error(vq->vdev, vq, "indirect descriptor %u inside an "
                     "indirect table", i);
        return NULL;
    }
    if (d->flags & VIRTQ_DESC_F_NEXT) {
        virtio_error(vq->vdev, vq, "descriptor %u has both INDIRECT and "
                     "NEXT", i);
        return NULL;
    }
    if (!d->len || d->len % VIRTQ_DESC_SIZE) {
        virtio_error(vq->vdev, vq, "descriptor %u: indirect table of %" PRIu32
                     " bytes is not a nonzero multiple of 16", i, d->len);
        return NULL;
    }
    table = guest_memory_host_ptr(vq->vdev->mem, d->addr, d->len);
    if (!table) {
        virtio_error(vq->vdev, vq, "descriptor %u: indirect table 0x%" PRIx64
                     "+0x%" PRIx32 " is not inside one RAM block", i,
                     d->addr, d->len);
        return NULL;
    }
    *table_num = d->len / VIRTQ_DESC_SIZE;
    return table;
}

static VirtQueueElement *element_new(VirtQueue *vq, uint16_t head,
                                     const ChainWalk *w)
{
    size_t n = w->nseg;
    VirtQueueElement *elem = g_malloc0(sizeof(*elem) +
                                       n * (sizeof(struct iovec) +
                                            sizeof(uint64_t)));
    struct iovec *sg = (struct iovec *)(elem + 1);
    uint64_t *addr = (uint64_t *)(sg + n);

    if (n) {
        memcpy(sg, vq->scratch_sg, n * sizeof(*sg));
        memcpy(addr, vq->scratch_addr, n * sizeof(*addr));
    }
    elem->head = head;
    elem->epoch = vq->epoch;
    elem->out_num = w->out_num;
    elem->in_num = n - w->out_num;
    elem->out_len = w->out_len;
    elem->in_len = w->in_len;
    elem->out_sg = sg;
    elem->in_sg = sg + w->out_num;
    elem->out_addr = addr;
    elem->in_addr = addr + w->out_num;
    return elem;
}

/*
 * Walks the chain from head. At most num + 1 descriptors are visited,
 * direct and indirect together (the one that points at an indirect
 * table is the "+ 1"): a longer walk can only be a loop, or a chain
 * longer than the spec allows (2.7.5.3.1, "longer than the Queue Size").
 */
static VirtQueueElement *chain_map(VirtQueue *vq, uint16_t head)
{
    ChainWalk w = { .vq = vq };
    const uint8_t *table = vq->desc_host;
    unsigned table_num = vq->num;
    unsigned budget = vq->num + 1;
    bool in_indirect = false;
    unsigned i = head;

    for (;;) {
        VirtqDesc d;

        if (!budget--) {
            virtio_error(vq->vdev, vq, "descriptor chain from head %u is "
                         "longer than the queue size %u (a loop?)", head,
                         vq->num);
            return NULL;
        }
        desc_load(table, i, &d);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            table = chain_indirect(vq, i, &d, in_indirect, &table_num);
            if (!table) {
                return NULL;
            }
            in_indirect = true;
            i = 0;
            continue;
        }
        if (!chain_add(&w, i, &d)) {
            return NULL;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
            break;
        }
        if (d.next >= table_num) {
            virtio_error(vq->vdev, vq, "descriptor %u: next %u is past the "
                         "end of the %s table (%u entries)", i, d.next,
                         in_indirect ? "indirect" : "descriptor", table_num);
            return NULL;
        }
        i = d.next;
    }
    return element_new(vq, head, &w);
}

static void avail_event_store(VirtQueue *vq, uint16_t v)
{
    used_store16(vq, virtq_avail_event_off(vq->num), v);
}

VirtQueueElement *virtqueue_pop(VirtQueue *vq)
{
    VirtQueueElement *elem;
    uint16_t avail_idx, pending, head;

    if (!virtqueue_ready(vq)) {
        return NULL;
    }
    /* After a load: the source's in-flight buffers, in pop order. */
    if (vq->redeliver_pos < vq->redeliver_count) {
        head = vq->redeliver[vq->redeliver_pos++];
        elem = chain_map(vq, head);
        if (elem) {
            elem->redelivered = true;
            trace_virtqueue_redeliver(vq->vdev->name, vq->index, head);
        }
        return elem;
    }
    avail_idx = avail_idx_acquire(vq);
    pending = avail_idx - vq->last_avail_idx;
    if (pending > vq->num) {
        virtio_error(vq->vdev, vq, "available index moved from %u to %u, "
                     "more than the queue size %u", vq->last_avail_idx,
                     avail_idx, vq->num);
        return NULL;
    }
    if (!pending) {
        return NULL;
    }
    head = ring_load16(vq->avail_host +
                       VIRTQ_AVAIL_RING(vq->last_avail_idx & (vq->num - 1)));
    if (head >= vq->num) {
        virtio_error(vq->vdev, vq, "available entry %u names descriptor %u "
                     "of %u", vq->last_avail_idx, head, vq->num);
        return NULL;
    }
    if (vq->inflight_seq[head]) {
        virtio_error(vq->vdev, vq, "available entry %u names descriptor %u, "
                     "which the device still holds", vq->last_avail_idx,
                     head);
        return NULL;
    }
    elem = chain_map(vq, head);
    if (!elem) {
        return NULL;
    }
    vq->last_avail_idx++;
    vq->inflight_seq[head] = ++vq->next_seq;
    vq->inflight_count++;
    if (vq->notification && virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX)) {
        /* Kick me when you publish the entry after this one. */
        avail_event_store(vq, vq->last_avail_idx);
    }
    trace_virtqueue_pop(vq->vdev->name, vq->index, head, elem->out_num,
                        elem->out_len, elem->in_num, elem->in_len);
    return elem;
}

bool virtqueue_empty(VirtQueue *vq)
{
    if (!virtqueue_ready(vq)) {
        return true;
    }
    if (vq->redeliver_pos < vq->redeliver_count) {
        return false;
    }
    return avail_idx_acquire(vq) == vq->last_avail_idx;
}

/*
 * A redelivered element stays in flight (the source popped it) and goes
 * back to the front of the redelivery list; a fresh one must carry the
 * newest sequence number, which makes "the last popped" exact even after
 * earlier unpops, and refuses every element once a newer one was pushed
 * (its available entry is behind one consumed for good).
 */
bool virtqueue_unpop(VirtQueue *vq, const VirtQueueElement *elem)
{
    const char *why = NULL;

    if (vq->broken || elem->epoch != vq->epoch || elem->head >= vq->num ||
        !vq->inflight_seq[elem->head]) {
        why = "not in flight";
    } else if (elem->redelivered) {
        if (!vq->redeliver_pos ||
            vq->redeliver[vq->redeliver_pos - 1] != elem->head) {
            why = "not the last redelivered element";
        }
    } else if (vq->inflight_seq[elem->head] != vq->next_seq) {
        why = "not the last popped element";
    }
    if (why) {
        trace_virtqueue_unpop_refused(vq->vdev->name, vq->index, elem->head,
                                      why);
        return false;
    }
    if (elem->redelivered) {
        vq->redeliver_pos--;
    } else {
        vq->inflight_seq[elem->head] = 0;
        vq->inflight_count--;
        vq->next_seq--;
        vq->last_avail_idx--;
        if (vq->notification &&
            virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX)) {
            avail_event_store(vq, vq->last_avail_idx);
        }
    }
    trace_virtqueue_unpop(vq->vdev->name, vq->index, elem->head);
    return true;
}

/* ---- the device's data ---- */

/*
 * Copies len bytes between buf and the segments sg[0..n), starting offset
 * bytes into them; returns the bytes copied (short when they end). With
 * mem (a write into the guest), each piece written is marked dirty at
 * its guest address.
 */
static size_t sg_copy(const struct iovec *sg, const uint64_t *addr,
                      unsigned n, size_t offset, uint8_t *buf, size_t len,
                      GuestMemory *mem)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        uint8_t *seg = sg[i].iov_base;
        size_t chunk;

        if (offset >= sg[i].iov_len) {
            offset -= sg[i].iov_len;
            continue;
        }
        chunk = MIN(sg[i].iov_len - offset, len - done);
        if (mem) {
            memcpy(seg + offset, buf + done, chunk);
            guest_memory_mark_dirty(mem, addr[i] + offset, chunk);
        } else {
            memcpy(buf + done, seg + offset, chunk);
        }
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t virtqueue_elem_to_guest(VirtQueue *vq, const VirtQueueElement *elem,
                               size_t offset, const void *buf, size_t len)
{
    return sg_copy(elem->in_sg, elem->in_addr, elem->in_num, offset,
                   (uint8_t *)buf, len, vq->vdev->mem);
}

size_t virtqueue_elem_from_guest(const VirtQueueElement *elem, size_t offset,
                                 void *buf, size_t len)
{
    return sg_copy(elem->out_sg, elem->out_addr, elem->out_num, offset, buf,
                   len, NULL);
}

void virtqueue_elem_mark_dirty(VirtQueue *vq, const VirtQueueElement *elem,
                               uint64_t len)
{
    for (unsigned i = 0; i < elem->in_num && len; i++) {
        uint64_t n = MIN(len, elem->in_sg[i].iov_len);

        guest_memory_mark_dirty(vq->vdev->mem, elem->in_addr[i], n);
        len -= n;
    }
}

/* ---- push ---- */

/* An element this queue handed out, in this epoch, and still in flight. */
static bool element_is_ours(VirtQueue *vq, const VirtQueueElement *elem)
{
    if (vq->broken || !vq->used_host) {
        trace_virtqueue_push_dropped(vq->vdev->name, vq->index, elem->head,
                                     "the queue is broken or disabled");
        return false;
    }
    if (elem->epoch != vq->epoch) {
        trace_virtqueue_push_dropped(vq->vdev->name, vq->index, elem->head,
                                     "popped before a reset or a load");
        return false;
    }
    if (elem->head >= vq->num || !vq->inflight_seq[elem->head]) {
        trace_virtqueue_push_dropped(vq->vdev->name, vq->index, elem->head,
                                     "not in flight");
        return false;
    }
    return true;
}

void virtqueue_fill(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len)
{
    unsigned slot;

    if (!element_is_ours(vq, elem)) {
        return;
    }
    if (len > elem->in_len) {
        /* A device model bug; the driver must never see len > buffers. */
        trace_virtqueue_push_len_clamped(vq->vdev->name, vq->index, len,
                                         elem->in_len);
        len = elem->in_len;
    }
    virtqueue_elem_mark_dirty(vq, elem, len);
    slot = (uint16_t)(vq->used_idx + vq->pending_used) & (vq->num - 1);
    used_store_elem(vq, slot, elem->head, len);
    vq->inflight_seq[elem->head] = 0;
    vq->inflight_count--;
    vq->pending_used++;
    trace_virtqueue_fill(vq->vdev->name, vq->index, elem->head, len);
}

void virtqueue_flush(VirtQueue *vq)
{
    uint16_t new_idx;

    if (!vq->pending_used || !vq->used_host) {
        return;
    }
    /* The release store orders the used entries before the index. */
    new_idx = vq->used_idx + vq->pending_used;
    used_store16(vq, VIRTQ_USED_IDX, new_idx);
    vq->used_idx = new_idx;
    vq->pending_used = 0;
    trace_virtqueue_flush(vq->vdev->name, vq->index, new_idx);
}

void virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len)
{
    virtqueue_fill(vq, elem, len);
    virtqueue_flush(vq);
}

/* ---- notification suppression ---- */

void virtqueue_set_notification(VirtQueue *vq, bool enable)
{
    vq->notification = enable;
    if (!vq->used_host || vq->broken) {
        return;
    }
    if (virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX)) {
        if (enable) {
            avail_event_store(vq, avail_idx_acquire(vq));
        }
    } else {
        used_store16(vq, VIRTQ_USED_FLAGS,
                     enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
    }
    /* The driver must see the request before we look at the ring again. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtqueue_should_notify(VirtQueue *vq)
{
    uint16_t old, new_idx, event;
    bool valid;

    if (!vq->avail_host) {
        return false;
    }
    /* used.idx must be visible before we read the driver's wishes. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!virtio_has_feature(vq->vdev, VIRTIO_F_EVENT_IDX)) {
        return !(ring_load16(vq->avail_host + VIRTQ_AVAIL_FLAGS) &
                 VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    old = vq->signalled_used;
    valid = vq->signalled_used_valid;
    new_idx = vq->used_idx;
    vq->signalled_used = new_idx;
    vq->signalled_used_valid = true;
    event = ring_load16(vq->avail_host + virtq_used_event_off(vq->num));
    return !valid || virtq_need_event(event, new_idx, old);
}

/* ---- migration ---- */

static int compare_seq(const void *a, const void *b, void *opaque)
{
    const uint64_t *seq = opaque;
    uint64_t sa = seq[*(const uint16_t *)a], sb = seq[*(const uint16_t *)b];

    return sa < sb ? -1 : sa > sb;
}

/* The in-flight heads, be16 each, in pop order. */
static bool virtqueue_pre_save(void *opaque, Error **errp)
{
    VirtQueue *vq = opaque;
    g_autofree uint16_t *heads = g_new(uint16_t, MAX(vq->num_max, 1));
    unsigned n = 0;

    if (vq->pending_used) {
        error_setg(errp, "queue %u has %u used entries not flushed",
                   vq->index, vq->pending_used);
        return false;
    }
    for (unsigned h = 0; h < vq->num_max; h++) {
        if (vq->inflight_seq[h]) {
            heads[n++] = h;
        }
    }
    g_qsort_with_data(heads, n, sizeof(*heads), compare_seq,
                      vq->inflight_seq);
    vq->inflight_wire_len = n * 2;
    vq->inflight_wire = g_realloc(vq->inflight_wire, MAX(n * 2, 1));
    for (unsigned i = 0; i < n; i++) {
        vq->inflight_wire[2 * i] = heads[i] >> 8;
        vq->inflight_wire[2 * i + 1] = heads[i];
    }
    return true;
}

/*
 * The loaded in-flight list must describe exactly the entries popped and
 * not used: distinct heads inside the queue, as many as last_avail_idx
 * is ahead of used_idx. They become the queue's in-flight set and are
 * handed out again by virtqueue_pop(), in the source's pop order.
 */
static bool virtqueue_load_inflight(VirtQueue *vq, Error **errp)
{
    unsigned n = vq->inflight_wire_len / 2;
    uint16_t expect = vq->last_avail_idx - vq->used_idx;

    if (vq->inflight_wire_len % 2) {
        error_setg(errp, "queue %u: in-flight list of %u bytes is not a "
                   "list of 16-bit heads", vq->index, vq->inflight_wire_len);
        return false;
    }
    if (n != expect) {
        error_setg(errp, "queue %u: %u buffers in flight, but last_avail_idx "
                   "%u and used_idx %u say %u", vq->index, n,
                   vq->last_avail_idx, vq->used_idx, expect);
        return false;
    }
    if (n && !vq->enabled) {
        error_setg(errp, "queue %u: %u buffers in flight on a disabled queue",
                   vq->index, n);
        return false;
    }
    memset(vq->inflight_seq, 0, vq->num_max * sizeof(uint64_t));
    for (unsigned i = 0; i < n; i++) {
        uint16_t head = vq->inflight_wire[2 * i] << 8 |
                        vq->inflight_wire[2 * i + 1];

        if (head >= vq->num) {
            error_setg(errp, "queue %u: in-flight head %u is past the queue "
                       "size %u", vq->index, head, vq->num);
            return false;
        }
        if (vq->inflight_seq[head]) {
            error_setg(errp, "queue %u: in-flight head %u appears twice",
                       vq->index, head);
            return false;
        }
        vq->inflight_seq[head] = i + 1;
        vq->redeliver[i] = head;
    }
    vq->next_seq = n;
    vq->inflight_count = n;
    vq->redeliver_pos = 0;
    vq->redeliver_count = n;
    return true;
}

static bool virtqueue_post_load(void *opaque, int version_id, Error **errp)
{
    ERRP_GUARD();
    VirtQueue *vq = opaque;

    if (!vq->num_max) {
        error_setg(errp, "queue %u does not exist on this device", vq->index);
        return false;
    }
    /* Whatever happens below, elements from before the load are stale. */
    vq->epoch++;
    vq->pending_used = 0;
    vq->desc_host = vq->avail_host = vq->used_host = NULL;
    if (!vq->num || vq->num > vq->num_max || (vq->num & (vq->num - 1))) {
        error_setg(errp, "queue %u: size %u is not a power of two up to %u",
                   vq->index, vq->num, vq->num_max);
        return false;
    }
    /* A broken queue may be broken because its rings were bad: it is
     * never used again before a reset, so it needs no views. */
    if (vq->enabled && !vq->broken && !virtqueue_map_rings(vq, errp)) {
        error_prepend(errp, "queue %u: ", vq->index);
        return false;
    }
    if (!virtqueue_load_inflight(vq, errp)) {
        return false;
    }
    g_clear_pointer(&vq->inflight_wire, g_free);
    vq->inflight_wire_len = 0;
    trace_virtqueue_post_load(vq->vdev->name, vq->index, vq->last_avail_idx,
                              vq->used_idx, vq->redeliver_count);
    return true;
}

const VMStateDescription vmstate_virtqueue = {
    .name = "virtqueue",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtqueue_pre_save,
    .post_load = virtqueue_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16_LE(num, VirtQueue, VIRTQ_SIZE_MAX),
        VMSTATE_BOOL(enabled, VirtQueue),
        VMSTATE_UINT64(desc_addr, VirtQueue),
        VMSTATE_UINT64(avail_addr, VirtQueue),
        VMSTATE_UINT64(used_addr, VirtQueue),
        VMSTATE_UINT16(vector, VirtQueue),
        VMSTATE_UINT16(last_avail_idx, VirtQueue),
        VMSTATE_UINT16(used_idx, VirtQueue),
        VMSTATE_UINT16(signalled_used, VirtQueue),
        VMSTATE_BOOL(signalled_used_valid, VirtQueue),
        VMSTATE_BOOL(broken, VirtQueue),
        VMSTATE_BOOL(notification, VirtQueue),
        VMSTATE_UINT32(inflight_wire_len, VirtQueue),
        VMSTATE_VBUFFER_ALLOC_UINT32(inflight_wire, VirtQueue,
                                     inflight_wire_len, 2 * VIRTQ_SIZE_MAX),
        VMSTATE_END_OF_LIST()
    },
};
