/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what a guest driver (or a migration source) can
 * throw at the virtio core: arbitrary ring contents under the split
 * virtqueue's pop/push path, and arbitrary virtio device sections under
 * its vmstate load followed by the same path. Every input is hostile;
 * the device must end up working or in NEEDS_RESET, never crash, hang,
 * leak or touch memory outside guest RAM (ASan, UBSan and LeakSanitizer
 * watch; guest RAM is two adjacent memfd blocks, 64 KiB each, so
 * buffers straddle a block boundary and run off the end).
 *
 * Input:
 *   byte 0      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 7: the rest
 *               after the header is a device section (vmstate), not RAM
 *   byte 1      queue size: 1 << (byte % 9)
 *   bytes 2-4   desc, avail, used ring at byte * 512 (in and past RAM)
 *   byte 5      ring misalignment: avail + (b & 3), used + (b >> 2 & 7)
 *   bytes 6-37  device steps, one byte each (see fuzz_step)
 *   the rest    guest RAM from address 0 (or the device section)
 *
 * Seeds are written by the binary itself (FUZZ_VIRTIO_SEEDS=DIR): a
 * simple chain, an indirect chain, and a device section with buffers in
 * flight, so they always match the current format.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "hw/virtio/virtio.h"
#include "migration/qemu-file.h"

#define RAM_BLOCK   0x10000ULL
#define HEADER      38
#define STEPS       32
#define HELD_MAX    8
#define QUEUES      2

typedef struct Fuzz {
    GuestMemory mem;
    VirtIODevice vdev;
    VirtQueueElement *held[HELD_MAX];
    unsigned nheld;
    unsigned interrupts;
} Fuzz;

static Fuzz *fz;

static void fuzz_notify(void *opaque, uint16_t vector)
{
    ((Fuzz *)opaque)->interrupts++;
}

static const VirtioTransport fuzz_transport = { .notify = fuzz_notify };

static void fuzz_init(void)
{
    fz = g_new0(Fuzz, 1);
    guest_memory_add_ram(&fz->mem, "ram.lo", 0, RAM_BLOCK, &error_abort);
    guest_memory_add_ram(&fz->mem, "ram.hi", RAM_BLOCK, RAM_BLOCK,
                         &error_abort);
    virtio_init(&fz->vdev, "virtio-fuzz", 0x7e, NULL, &fz->mem,
                VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 0);
    for (unsigned i = 0; i < QUEUES; i++) {
        virtio_add_queue(&fz->vdev, 256, NULL);
    }
    virtio_set_transport(&fz->vdev, &fuzz_transport, fz);
}

/* The driver's start-up with the header's features and rings. */
static void fuzz_driver_start(const uint8_t *h)
{
    VirtIODevice *vdev = &fz->vdev;
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

    if (h[0] & 1) {
        features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    }
    if (h[0] & 2) {
        features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    }
    virtio_set_status(vdev, 0, &error_abort);
    virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE |
                      VIRTIO_STATUS_DRIVER, &error_abort);
    virtio_set_driver_features(vdev, 0, features, &error_abort);
    virtio_set_driver_features(vdev, 1, features >> 32, &error_abort);
    virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                      VIRTIO_STATUS_FEATURES_OK, &error_abort);
    for (unsigned i = 0; i < QUEUES; i++) {
        VirtQueue *vq = virtio_queue(vdev, i);
        /* Queue 1 shares the rings one page on: a second view. */
        uint64_t off = i * 0x1000;

        virtio_queue_set_num(vq, 1u << (h[1] % 9), &error_abort);
        virtio_queue_set_rings(vq, h[2] * 512ULL + off,
                               h[3] * 512ULL + (h[5] & 3) + off,
                               h[4] * 512ULL + ((h[5] >> 2) & 7) + off,
                               &error_abort);
        vq->vector = i;
        virtio_queue_enable(vq);
    }
    virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK,
                      NULL);
}

static void fuzz_complete(VirtQueue *vq, VirtQueueElement *elem,
                          uint32_t len)
{
    static const uint8_t reply[64] = { 0x5a };
    uint8_t buf[64];

    virtqueue_elem_from_guest(elem, len % 7, buf, sizeof(buf));
    virtqueue_elem_to_guest(vq, elem, len % 13, reply, len % sizeof(reply));
    virtqueue_push(vq, elem, len);
    virtio_notify(&fz->vdev, vq);
    g_free(elem);
}

/*
 * What must hold of any element pop hands out, whatever the rings said:
 * a head inside the queue, every buffer inside guest RAM and its iovec
 * pointing at that RAM, totals that add up and fit used.len. A breach
 * aborts, so a logic bug is found even when no sanitizer sees it.
 */
static void fuzz_check_element(VirtQueue *vq, const VirtQueueElement *elem)
{
    uint64_t out = 0, in = 0;

    g_assert(elem->head < vq->num);
    g_assert(vq->inflight_count <= vq->num);
    for (unsigned i = 0; i < elem->out_num + elem->in_num; i++) {
        bool is_in = i >= elem->out_num;
        const struct iovec *sg = is_in ? &elem->in_sg[i - elem->out_num]
                                       : &elem->out_sg[i];
        uint64_t addr = is_in ? elem->in_addr[i - elem->out_num]
                              : elem->out_addr[i];

        g_assert(sg->iov_len);
        g_assert(guest_memory_host_ptr(&fz->mem, addr, sg->iov_len) ==
                 sg->iov_base);
        *(is_in ? &in : &out) += sg->iov_len;
    }
    g_assert(out == elem->out_len && in == elem->in_len);
    g_assert(out <= UINT32_MAX && in <= UINT32_MAX);
}

/*
 * One device step: low two bits pick the action, the high six its
 * argument. 0: pop (held if there is room, else completed at once),
 * 1: complete the oldest held, 2: complete the newest held, 3: switch
 * notifications (and look at the queue), on the queue bit 7 names.
 */
static void fuzz_step(uint8_t op)
{
    VirtQueue *vq = virtio_queue(&fz->vdev, op >> 7);
    uint32_t len = (op >> 2) * 97;
    VirtQueueElement *elem;

    switch (op & 3) {
    case 0:
        elem = virtqueue_pop(vq);
        if (!elem) {
            return;
        }
        fuzz_check_element(vq, elem);
        if (fz->nheld < HELD_MAX && vq->index == 0) {
            fz->held[fz->nheld++] = elem;
        } else {
            fuzz_complete(vq, elem, len);
        }
        return;
    case 1:
        if (fz->nheld) {
            elem = fz->held[0];
            memmove(fz->held, fz->held + 1, --fz->nheld * sizeof(elem));
            fuzz_complete(virtio_queue(&fz->vdev, 0), elem, len);
        }
        return;
    case 2:
        if (fz->nheld) {
            elem = fz->held[--fz->nheld];
            fuzz_complete(virtio_queue(&fz->vdev, 0), elem, len);
        }
        return;
    default:
        virtqueue_set_notification(vq, op & 4);
        virtqueue_empty(vq);
        return;
    }
}

static void fuzz_run_steps(const uint8_t *steps)
{
    for (unsigned i = 0; i < STEPS; i++) {
        fuzz_step(steps[i]);
    }
    /* Whatever the device still holds: completed, or dropped when the
     * queue broke meanwhile (push ignores it then). */
    while (fz->nheld) {
        fuzz_complete(virtio_queue(&fz->vdev, 0), fz->held[--fz->nheld], 1);
    }
}

static void fuzz_load_ram(const uint8_t *data, size_t size)
{
    for (unsigned b = 0; b < fz->mem.nr_blocks; b++) {
        memset(fz->mem.blocks[b].host, 0, fz->mem.blocks[b].size);
    }
    if (size) {
        guest_memory_write(&fz->mem, 0, data, MIN(size, 2 * RAM_BLOCK),
                           &error_abort);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t header[HEADER] = { 0 };

    if (!fz) {
        fuzz_init();
    }
    memcpy(header, data, MIN(size, HEADER));
    data += MIN(size, HEADER);
    size -= MIN(size, HEADER);
    if (header[0] & 0x80) {
        /* A device section from a hostile source, over a started
         * device whose RAM is all zeros. */
        g_autoptr(QEMUFile) f = qemu_file_new_mem_input(data, size, 0);

        fuzz_load_ram(NULL, 0);
        fuzz_driver_start(header);
        if (!vmstate_load(f, &vmstate_virtio_device, &fz->vdev, 1, NULL)) {
            virtio_reset(&fz->vdev);
            return 0;
        }
    } else {
        fuzz_load_ram(data, size);
        fuzz_driver_start(header);
    }
    fuzz_run_steps(header + 6);
    virtio_reset(&fz->vdev);
    return 0;
}

/* ---- seeds ---- */

static void put_desc(uint8_t *ram, uint64_t at, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    VirtqDesc d = {
        .addr = GUINT64_TO_LE(addr), .len = GUINT32_TO_LE(len),
        .flags = GUINT16_TO_LE(flags), .next = GUINT16_TO_LE(next),
    };

    memcpy(ram + at, &d, sizeof(d));
}

static void write_seed(const char *dir, const char *name, const uint8_t *buf,
                       size_t len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) err = NULL;

    if (!g_file_set_contents(path, (const char *)buf, len, &err)) {
        fprintf(stderr, "fuzz-virtio: %s\n", err->message);
        exit(1);
    }
}

/*
 * Header + 16 KiB of RAM: queue size 8, desc at 0, avail at 0x200, used
 * at 0x400; steps pop, pop, complete newest, complete oldest, notify.
 */
static size_t seed_ring(uint8_t *in, bool indirect)
{
    uint8_t *ram = in + HEADER;
    uint16_t avail[3] = { 0, GUINT16_TO_LE(2), 0 };
    uint16_t ring1 = GUINT16_TO_LE(1);

    memset(in, 0, HEADER + 0x4000);
    in[0] = 1 | (indirect ? 2 : 0);
    in[1] = 3;
    in[2] = 0;
    in[3] = 1;
    in[4] = 2;
    in[6] = 0;
    in[7] = 0;
    in[8] = 2 | (5 << 2);
    in[9] = 1 | (9 << 2);
    in[10] = 3 | 4;
    if (indirect) {
        put_desc(ram, 0, 0x3000, 32, VIRTQ_DESC_F_INDIRECT, 0);
        put_desc(ram, 0x3000, 0x2000, 16, VIRTQ_DESC_F_NEXT, 1);
        put_desc(ram, 0x3010, 0x2800, 256, VIRTQ_DESC_F_WRITE, 0);
    } else {
        put_desc(ram, 0, 0x2000, 16, VIRTQ_DESC_F_NEXT, 2);
        put_desc(ram, 32, 0x2800, 256, VIRTQ_DESC_F_WRITE, 0);
    }
    put_desc(ram, 16, 0x2100, 64, VIRTQ_DESC_F_WRITE, 0);
    memcpy(ram + 0x200, avail, sizeof(avail));
    memcpy(ram + 0x206, &ring1, 2);
    return HEADER + 0x4000;
}

static void write_seeds(const char *dir)
{
    g_autofree uint8_t *in = g_malloc(HEADER + 0x4000);
    g_autoptr(QEMUFile) f = qemu_file_new_mem_output();
    const uint8_t *sec;
    size_t len, seclen;
    g_autofree uint8_t *vm = NULL;

    len = seed_ring(in, false);
    write_seed(dir, "seed-chain", in, len);
    len = seed_ring(in, true);
    write_seed(dir, "seed-indirect", in, len);

    /* The same rings with two buffers popped and held, saved. */
    fuzz_init();
    seed_ring(in, false);
    fuzz_load_ram(in + HEADER, 0x4000);
    fuzz_driver_start(in);
    fz->held[0] = virtqueue_pop(virtio_queue(&fz->vdev, 0));
    fz->held[1] = virtqueue_pop(virtio_queue(&fz->vdev, 0));
    if (!fz->held[0] || !fz->held[1] ||
        !vmstate_save(f, &vmstate_virtio_device, &fz->vdev, NULL,
                      &error_abort)) {
        fprintf(stderr, "fuzz-virtio: the section seed did not pop\n");
        exit(1);
    }
    sec = qemu_file_mem_output_data(f, &seclen);
    vm = g_malloc(HEADER + seclen);
    memcpy(vm, in, HEADER);
    vm[0] |= 0x80;
    memcpy(vm + HEADER, sec, seclen);
    write_seed(dir, "seed-section", vm, HEADER + seclen);
    g_free(fz->held[0]);
    g_free(fz->held[1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_VIRTIO_SEEDS");

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}
