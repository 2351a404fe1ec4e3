/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what a guest driver and a peer can throw at
 * virtio-net (hw/net/virtio-net.c): arbitrary transmit chains and
 * headers, control commands (class, command, MAC tables, VLAN ids of any
 * length), receive buffers of any shape, frames of any size from the
 * backend, with and without a vnet header, in any order with link
 * changes, announce, backpressure and resets. The device must end up
 * working or in NEEDS_RESET; ASan, UBSan and LeakSanitizer watch, and
 * each run realizes and unrealizes its own device, so a leak in either
 * shows.
 *
 * Input:
 *   byte 0      bit 0 backend has a vnet header, bit 1 MRG_RXBUF,
 *               bit 2 EVENT_IDX, bit 3 INDIRECT_DESC, bit 4 the
 *               control-queue features, bit 5 the backend takes nothing
 *               at first (backpressure)
 *   byte 1      queue size: 1 << (byte % 7) (at most 64)
 *   bytes 2-25  steps, one byte each (see fuzz_step)
 *   the rest    guest RAM from address 0 (128 KiB): queue q's rings at
 *               q * 0x3000 (descriptors, then avail at +0x1000, used at
 *               +0x2000); frames the backend sends come from 0x10000
 *
 * Seeds are written by the binary itself (FUZZ_VIRTIO_NET_SEEDS=DIR).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "hw/net/virtio-net.h"
#include "system/runstate.h"
#include "fuzz-virtio-driver.h"

#define RAM_SIZE    0x20000ULL
#define HEADER      26
#define STEPS       24
#define FRAME_GPA   0x10000ULL

typedef struct FuzzNet {
    GuestMemory mem;
    VirtIONet n;
    NetClientState *be;
    bool be_vnet;
    int be_room;                /* -1: any */
    unsigned frames_out;
    unsigned interrupts;
} FuzzNet;

static ssize_t fuzz_be_receive(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    FuzzNet *f = nc->opaque;
    size_t len = 0;

    if (f->be_room == 0) {
        return 0;
    }
    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    f->frames_out++;
    return len;
}

static bool fuzz_be_has_vnet_hdr(NetClientState *nc)
{
    return ((FuzzNet *)nc->opaque)->be_vnet;
}

static const NetClientInfo fuzz_be_info = {
    .kind = NET_CLIENT_KIND_TAP,
    .receive_iov = fuzz_be_receive,
    .has_vnet_hdr = fuzz_be_has_vnet_hdr,
};

static void fuzz_notify(void *opaque, uint16_t vector)
{
    ((FuzzNet *)opaque)->interrupts++;
}

static const VirtioTransport fuzz_transport = { .notify = fuzz_notify };

static void fuzz_driver_start(FuzzNet *f, const uint8_t *h)
{
    VirtIODevice *vdev = &f->n.vdev;
    uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                        VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                        VIRTIO_BIT(VIRTIO_NET_F_STATUS);

    if (h[0] & 1) {
        features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
    }
    if (h[0] & 2) {
        features |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    }
    if (h[0] & 4) {
        features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    }
    if (h[0] & 8) {
        features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
    }
    if (h[0] & 16) {
        features |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
                    VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) |
                    VIRTIO_BIT(VIRTIO_NET_F_CTRL_VLAN) |
                    VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE);
    }
    fuzz_virtio_start(vdev, features, h[1]);
}

/* One step: bits 0-2 the action, bits 3-7 its argument. */
static void fuzz_step(FuzzNet *f, const uint8_t *h, uint8_t b)
{
    unsigned arg = b >> 3;

    switch (b & 7) {
    case 0:
        virtio_queue_notify(&f->n.vdev, VIRTIO_NET_TXQ);
        break;
    case 1:
        virtio_queue_notify(&f->n.vdev, VIRTIO_NET_CTRLQ);
        break;
    case 2:
        virtio_queue_notify(&f->n.vdev, VIRTIO_NET_RXQ);
        break;
    case 3: {
        /* A frame from the backend: arg picks its length. */
        size_t len = (size_t)arg * arg * 97 % (RAM_SIZE - FRAME_GPA);
        g_autofree uint8_t *buf = g_malloc(len + 1);

        guest_memory_read(&f->mem, FRAME_GPA, buf, len, NULL);
        net_send_iov(f->be, &(struct iovec){ buf, len }, 1, NULL);
        break;
    }
    case 4:
        f->be_room = -1;
        net_client_flush_queue(f->be);
        break;
    case 5:
        net_client_set_link(f->be, arg & 1);
        break;
    case 6:
        virtio_net_announce(&f->n);
        break;
    case 7:
        if (arg & 1) {
            fuzz_driver_start(f, h);
        } else {
            f->be_room = arg & 2 ? 0 : -1;
        }
        break;
    }
}

static void fuzz_one(const uint8_t *data, size_t size)
{
    FuzzNet *f = g_new0(FuzzNet, 1);
    const uint8_t *h = data;

    f->be_vnet = h[0] & 1;
    f->be_room = h[0] & 32 ? 0 : -1;
    guest_memory_add_ram(&f->mem, "ram", 0, RAM_SIZE, &error_abort);
    guest_memory_write(&f->mem, 0, data + HEADER,
                       MIN(size - HEADER, RAM_SIZE), &error_abort);
    f->be = net_client_new(&fuzz_be_info, NULL, "tap", "fz0", f,
                           &error_abort);
    f->n.netdev_id = g_strdup("fz0");
    f->n.mrg_rxbuf = true;
    g_assert(virtio_net_realize(&f->n, &f->mem, "fz-nic", &error_abort));
    virtio_set_transport(&f->n.vdev, &fuzz_transport, f);
    fuzz_driver_start(f, h);
    for (unsigned i = 0; i < STEPS; i++) {
        fuzz_step(f, h, h[2 + i]);
    }
    virtio_net_unrealize(&f->n);
    net_client_free(f->be);
    g_free(f->n.netdev_id);
    guest_memory_free(&f->mem);
    g_free(f);
}

/* ---- seeds ---- */

static void seed_write(const char *dir, const char *name, const uint8_t *in)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    if (!g_file_set_contents(path, (const char *)in, HEADER + 0x11000,
                             NULL)) {
        fprintf(stderr, "fuzz-virtio-net: cannot write %s\n", path);
        exit(1);
    }
}

/*
 * seed-net: a transmit, two receive buffers, a MAC table and a frame
 * from the backend. seed-net-filter: the same after the guest turned
 * promiscuous mode off, so the backend's frames (to a MAC the table
 * lacks, and with arg 7 to the listed one) go through the receive
 * filter rather than straight in.
 */
static void write_seeds(const char *dir)
{
    static const uint8_t steps[] = { 0, 1, 3 | 10 << 3, 2, 4, 5, 5 | 8, 6,
                                     0 };
    static const uint8_t filter_steps[] = { 1, 2, 3 | 10 << 3, 3 | 7 << 3,
                                            4, 2, 3 | 10 << 3 };
    static const uint8_t mac_table[] = {
        VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
        1, 0, 0, 0, 0x52, 0x54, 0, 1, 2, 3, 0, 0, 0, 0,
    };
    static const uint8_t promisc_off[] = {
        VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 0,
    };
    static const uint8_t frame[64] = {
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 9, 9, 9, 8, 0,
    };
    uint16_t heads[2] = { 0, 2 };

    for (int filter = 0; filter < 2; filter++) {
        g_autofree uint8_t *in = g_malloc0(HEADER + 0x11000);
        uint8_t *ram = in + HEADER;

        in[0] = 1 | 2 | 16;
        in[1] = 4;
        if (filter) {
            memcpy(in + 2, filter_steps, sizeof(filter_steps));
        } else {
            memcpy(in + 2, steps, sizeof(steps));
        }
        /* TX: a header and a frame. */
        seed_desc(ram, VIRTIO_NET_TXQ, 0, 0x9000, 12, VIRTQ_DESC_F_NEXT, 1);
        seed_desc(ram, VIRTIO_NET_TXQ, 1, 0x9100, 64, 0, 0);
        seed_put(ram, 0x9100, frame, sizeof(frame));
        seed_avail(ram, VIRTIO_NET_TXQ, 1, heads);
        /* RX: two buffers. */
        seed_desc(ram, VIRTIO_NET_RXQ, 0, 0xa000, 512, VIRTQ_DESC_F_WRITE,
                  0);
        seed_desc(ram, VIRTIO_NET_RXQ, 2, 0xa400, 512, VIRTQ_DESC_F_WRITE,
                  0);
        seed_avail(ram, VIRTIO_NET_RXQ, 2, heads);
        /* Control: a MAC table (after promiscuous off), each with its
         * ack byte. */
        seed_desc(ram, VIRTIO_NET_CTRLQ, 0, 0xb000, sizeof(mac_table),
                  VIRTQ_DESC_F_NEXT, 1);
        seed_desc(ram, VIRTIO_NET_CTRLQ, 1, 0xb100, 1, VIRTQ_DESC_F_WRITE,
                  0);
        seed_put(ram, 0xb000, mac_table, sizeof(mac_table));
        /* The backend's frame: to the NIC's own MAC, or (filter) to one
         * nobody listed. */
        seed_put(ram, FRAME_GPA, frame, sizeof(frame));
        if (!filter) {
            seed_avail(ram, VIRTIO_NET_CTRLQ, 1, heads);
            seed_write(dir, "seed-net", in);
            continue;
        }
        seed_desc(ram, VIRTIO_NET_CTRLQ, 2, 0xb200, sizeof(promisc_off),
                  VIRTQ_DESC_F_NEXT, 3);
        seed_desc(ram, VIRTIO_NET_CTRLQ, 3, 0xb300, 1, VIRTQ_DESC_F_WRITE,
                  0);
        seed_put(ram, 0xb200, promisc_off, sizeof(promisc_off));
        {
            uint16_t ctrl_heads[2] = { 2, 0 };

            seed_avail(ram, VIRTIO_NET_CTRLQ, 2, ctrl_heads);
        }
        ram[FRAME_GPA + 3] = 0x99;
        seed_write(dir, "seed-net-filter", in);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_VIRTIO_NET_SEEDS");

    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    /* A running VM: a stopped one takes no frames and no chains. */
    runstate_set(RUN_STATE_RUNNING);
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
