/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what a guest driver can throw at virtio-blk
 * (hw/block/virtio-blk.c): arbitrary request chains (headers of any type
 * and sector, data of any shape and direction, discard and write-zeroes
 * segments, GET_ID buffers), on one or two queues, with kicks, drains
 * (completions run), resets and restarts in any order. The disk is a
 * null-co node of 1 MiB, so requests run for real through the block
 * layer's worker threads. The device must answer or end up in
 * NEEDS_RESET; ASan, UBSan and LeakSanitizer watch, and each run realizes
 * and unrealizes its own device, so a request the device loses shows.
 *
 * Input:
 *   byte 0      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 DISCARD and
 *               WRITE_ZEROES, bit 3 FLUSH, bit 4 two queues, bit 5
 *               logical_block_size 4096, bit 6 werror=ignore
 *   byte 1      queue size: 1 << (byte % 7) (at most 64)
 *   bytes 2-17  steps, one byte each (see fuzz_step)
 *   the rest    guest RAM from address 0 (128 KiB): queue q's rings at
 *               q * 0x3000 (descriptors, then avail at +0x1000, used at
 *               +0x2000)
 *
 * Seeds are written by the binary itself (FUZZ_VIRTIO_BLK_SEEDS=DIR).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "block/blockdev.h"
#include "hw/block/virtio-blk.h"
#include "util/main-loop.h"
#include "fuzz-virtio-driver.h"

#define RAM_SIZE    0x20000ULL
#define HEADER      18
#define STEPS       16
#define NODE        "fz-disk"

typedef struct FuzzBlk {
    GuestMemory mem;
    VirtIOBlock s;
    unsigned interrupts;
} FuzzBlk;

static void fuzz_notify(void *opaque, uint16_t vector)
{
    ((FuzzBlk *)opaque)->interrupts++;
}

static const VirtioTransport fuzz_transport = { .notify = fuzz_notify };

static void fuzz_driver_start(FuzzBlk *f, const uint8_t *h)
{
    VirtIODevice *vdev = &f->s.vdev;
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                        VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                        VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE);

    if (h[0] & 1) {
        features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    }
    if (h[0] & 2) {
        features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    }
    if (h[0] & 4) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    }
    if (h[0] & 8) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
    }
    if (h[0] & 16) {
        features |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    }
    fuzz_virtio_start(vdev, features, h[1]);
}

/* One step: bits 0-2 the action, bits 3-7 its argument. */
static void fuzz_step(FuzzBlk *f, const uint8_t *h, uint8_t b)
{
    VirtIODevice *vdev = &f->s.vdev;
    uint8_t cfg[VIRTIO_BLK_CFG_LEN];

    switch (b & 7) {
    case 0:
    case 1:
        virtio_queue_notify(vdev, b & 1);
        break;
    case 2:
        blk_drain(f->s.blk);
        break;
    case 3:
        main_loop_wait(false);
        break;
    case 4:
        virtio_config_read(vdev, 0, cfg, sizeof(cfg), NULL);
        break;
    case 5:
        virtio_set_status(vdev, 0, NULL);       /* reset: drains */
        break;
    case 6:
        fuzz_driver_start(f, h);
        break;
    default:
        virtio_queue_notify(vdev, b >> 3);      /* any index */
        break;
    }
}

static void fuzz_one(const uint8_t *data, size_t size)
{
    FuzzBlk *f = g_new0(FuzzBlk, 1);
    const uint8_t *h = data;

    guest_memory_add_ram(&f->mem, "ram", 0, RAM_SIZE, &error_abort);
    guest_memory_write(&f->mem, 0, data + HEADER,
                       MIN(size - HEADER, RAM_SIZE), &error_abort);
    f->s.drive_id = g_strdup(NODE);
    f->s.num_queues = h[0] & 16 ? 2 : 1;
    f->s.queue_size = 64;
    f->s.werror = h[0] & 64 ? BLOCKDEV_ON_ERROR_IGNORE
                            : BLOCKDEV_ON_ERROR_AUTO;
    f->s.rerror = BLOCKDEV_ON_ERROR_AUTO;
    f->s.discard = true;
    f->s.write_zeroes = true;
    f->s.logical_block_size = h[0] & 32 ? 4096 : 512;
    f->s.max_discard_sectors = 0x3fffff;
    f->s.max_write_zeroes_sectors = 0x3fffff;
    f->s.serial = g_strdup("fuzz-serial-0123456789");
    g_assert(virtio_blk_realize(&f->s, &f->mem, "fz-blk", &error_abort));
    virtio_set_transport(&f->s.vdev, &fuzz_transport, f);
    fuzz_driver_start(f, h);
    for (unsigned i = 0; i < STEPS; i++) {
        fuzz_step(f, h, h[2 + i]);
    }
    virtio_blk_unrealize(&f->s);
    /* The bottom halves of requests a drain already answered. */
    main_loop_wait(false);
    g_free(f->s.drive_id);
    g_free(f->s.serial);
    guest_memory_free(&f->mem);
    g_free(f);
}

/* ---- seeds ---- */

/* A request of type at sector in slot (3 descriptors from 3 * slot). */
static void seed_req(uint8_t *ram, unsigned slot, uint32_t type,
                     uint64_t sector, uint32_t len, bool data_in)
{
    uint8_t hdr[16] = { 0 };
    uint32_t t = GUINT32_TO_LE(type);
    uint64_t s = GUINT64_TO_LE(sector);
    uint64_t hdr_gpa = 0x9000 + slot * 32, data = 0xa000 + slot * 0x1000;

    memcpy(hdr, &t, 4);
    memcpy(hdr + 8, &s, 8);
    seed_put(ram, hdr_gpa, hdr, sizeof(hdr));
    seed_desc(ram, 0, slot * 3, hdr_gpa, 16, VIRTQ_DESC_F_NEXT,
              slot * 3 + 1);
    seed_desc(ram, 0, slot * 3 + 1, data, len,
              VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0),
              slot * 3 + 2);
    seed_desc(ram, 0, slot * 3 + 2, 0x9800 + slot, 1, VIRTQ_DESC_F_WRITE, 0);
}

static void write_seeds(const char *dir)
{
    g_autofree uint8_t *in = g_malloc0(HEADER + 0x11000);
    uint8_t *ram = in + HEADER;
    static const uint8_t steps[] = { 0, 2, 3, 4, 0, 5, 6, 0, 2 };
    uint8_t seg[16] = { 8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0 };
    uint16_t heads[6] = { 0, 3, 6, 9, 12, 15 };
    g_autofree char *path = g_build_filename(dir, "seed-blk", NULL);

    in[0] = 1 | 2 | 4 | 8;
    in[1] = 4;
    memcpy(in + 2, steps, sizeof(steps));
    seed_req(ram, 0, VIRTIO_BLK_T_OUT, 0, 4096, false);
    seed_req(ram, 1, VIRTIO_BLK_T_IN, 8, 4096, true);
    seed_req(ram, 2, VIRTIO_BLK_T_FLUSH, 0, 0, false);
    seed_req(ram, 3, VIRTIO_BLK_T_GET_ID, 0, 20, true);
    seed_req(ram, 4, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
    seed_put(ram, 0xa000 + 4 * 0x1000, seg, sizeof(seg));
    seed_req(ram, 5, VIRTIO_BLK_T_IN, 4096, 4096, true);   /* past the end */
    seed_avail(ram, 0, 6, heads);
    if (!g_file_set_contents(path, (const char *)in, HEADER + 0x11000,
                             NULL)) {
        fprintf(stderr, "fuzz-virtio-blk: cannot write %s\n", path);
        exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_VIRTIO_BLK_SEEDS");

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    main_loop_init();
    bql_lock();
    if (!blockdev_add_cmdline("driver=null-co,node-name=" NODE
                              ",size=1048576,read-zeroes=on", &error_abort)) {
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER) {
        return 0;
    }
    fuzz_one(data, size);
    return 0;
}
