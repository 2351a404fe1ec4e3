/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net-pci on the PCI test machine (no KVM), the guest played
 * through config space and BAR MMIO (virtio-pci-test-driver), a fake
 * netdev on the other side that records frames: the PCI face, feature
 * negotiation, TX with and without a vnet header and with backpressure,
 * RX into mergeable buffers (dirty-marked), RX without buffers, the
 * control queue's filters, link state, announce, MSI-X and INTx,
 * reset, migration with buffers in flight, and hostile guests.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "hw/net/virtio-net.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "system/runstate.h"
#include "qmp-test-client.h"
#include "virtio-pci-test-driver.h"

#define NUM         64
#define DEVFN       PCI_DEVFN(3, 0)
#define BUF_GPA     0x40000ULL          /* buffers: 4 KiB per descriptor */
#define CTRL_GPA    0xc0000ULL
#define MAC         "52:54:00:12:34:56"

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t mcast_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define BASE_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | \
                       VIRTIO_BIT(VIRTIO_NET_F_MAC) | \
                       VIRTIO_BIT(VIRTIO_NET_F_STATUS) | \
                       VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
                       VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | \
                       VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | \
                       VIRTIO_BIT(VIRTIO_NET_F_CTRL_VLAN) | \
                       VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | \
                       VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE))

/* ---- the fake netdev ---- */

typedef struct FakeNetdev {
    NetClientState *nc;
    bool vnet_hdr;
    int room;                   /* frames it takes now; -1: any */
    GPtrArray *got;             /* GBytes, as received */
    int hdr_len;                /* what the NIC asked for */
    NetOffloads offloads;
    unsigned offload_calls;
    unsigned sent_calls;
} FakeNetdev;

static ssize_t fake_receive(NetClientState *nc, const struct iovec *iov,
                            int iovcnt)
{
    FakeNetdev *be = nc->opaque;
    GByteArray *b;

    if (be->room == 0) {
        return 0;
    }
    b = g_byte_array_new();
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(b, iov[i].iov_base, iov[i].iov_len);
    }
    if (be->room > 0) {
        be->room--;
    }
    g_ptr_array_add(be->got, g_byte_array_free_to_bytes(b));
    return g_bytes_get_size(g_ptr_array_index(be->got, be->got->len - 1));
}

static bool fake_has_vnet_hdr(NetClientState *nc)
{
    return ((FakeNetdev *)nc->opaque)->vnet_hdr;
}

static bool fake_set_vnet_hdr_len(NetClientState *nc, int len)
{
    ((FakeNetdev *)nc->opaque)->hdr_len = len;
    return true;
}

static void fake_set_offload(NetClientState *nc, const NetOffloads *o)
{
    FakeNetdev *be = nc->opaque;

    be->offloads = *o;
    be->offload_calls++;
}

static const NetClientInfo fake_info = {
    .kind = NET_CLIENT_KIND_TAP,
    .receive_iov = fake_receive,
    .has_vnet_hdr = fake_has_vnet_hdr,
    .set_vnet_hdr_len = fake_set_vnet_hdr_len,
    .set_offload = fake_set_offload,
};

static void fake_sent(NetClientState *nc, ssize_t ret)
{
    ((FakeNetdev *)nc->opaque)->sent_calls++;
}

/* ---- the fixture ---- */

typedef struct Fix {
    TestPciMachine *m;
    FakeNetdev be;
    PCIDevice *dev;
    VirtIONet *n;
    TestVpci t;
    TestDriverQueue q[3];
    unsigned next_desc[3];
} Fix;

static void fix_plug(Fix *f, bool vnet_hdr, const char *extra)
{
    g_autofree char *props = g_strdup_printf("netdev=n0,mac=" MAC
                                             ",addr=3%s%s", extra ? "," : "",
                                             extra ? extra : "");

    memset(f, 0, sizeof(*f));
    f->m = tpci_new();
    f->be.vnet_hdr = vnet_hdr;
    f->be.room = -1;
    f->be.got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    f->be.nc = net_client_new(&fake_info, NULL, "tap", "n0", &f->be,
                              &error_abort);
    f->dev = tpci_add(f->m, TYPE_VIRTIO_NET_PCI, props);
    f->n = (VirtIONet *)((VirtIOPCIProxy *)f->dev)->vdev;
    tvp_init(&f->t, f->m, f->dev);
}

/* Plugged and started: MSI-X on (when the device has it), vectors 0-2
 * for the queues and 3 for the configuration. */
static void fix_start(Fix *f, bool vnet_hdr, const char *extra,
                      uint64_t features)
{
    bool msix;

    fix_plug(f, vnet_hdr, extra);
    msix = msix_present(f->dev);
    if (msix) {
        tvp_msix_enable(&f->t);
    }
    g_assert_true(tvp_start(&f->t, features, 3, NUM, msix, f->q));
}

static void fix_free(Fix *f)
{
    tpci_free(f->m);
    net_client_free(f->be.nc);
    g_ptr_array_free(f->be.got, TRUE);
}

static unsigned next_desc(Fix *f, unsigned q)
{
    return f->next_desc[q]++ % NUM;
}

static uint64_t desc_gpa(unsigned q, unsigned d)
{
    return BUF_GPA + ((uint64_t)q * NUM + d) * 0x1000;
}

static void gwrite(Fix *f, uint64_t gpa, const void *buf, size_t len)
{
    g_assert_true(guest_memory_write(&f->m->mem, gpa, buf, len,
                                     &error_abort));
}

static void gread(Fix *f, uint64_t gpa, void *buf, size_t len)
{
    g_assert_true(guest_memory_read(&f->m->mem, gpa, buf, len,
                                    &error_abort));
}

/* An Ethernet frame of len bytes to dst, payload bytes counting from
 * seed. */
static GByteArray *frame_new(const uint8_t *dst, size_t len, uint8_t seed)
{
    GByteArray *b = g_byte_array_sized_new(len);

    g_byte_array_set_size(b, len);
    memcpy(b->data, dst, 6);
    memcpy(b->data + 6, other_mac, 6);
    b->data[12] = 0x08;
    b->data[13] = 0x00;
    for (size_t i = 14; i < len; i++) {
        b->data[i] = seed + i;
    }
    return b;
}

/* The guest transmits frame with a header (flags, gso) in one chain. */
static unsigned guest_tx_hdr(Fix *f, const GByteArray *frame,
                             const VirtioNetHdr *hdr)
{
    TestDriverQueue *q = &f->q[VIRTIO_NET_TXQ];
    unsigned d = next_desc(f, VIRTIO_NET_TXQ), d2 = next_desc(f,
                                                             VIRTIO_NET_TXQ);
    uint64_t gpa = desc_gpa(VIRTIO_NET_TXQ, d);

    /* Header and frame in two descriptors, as Linux often sends them. */
    gwrite(f, gpa, hdr, VIRTIO_NET_HDR_LEN);
    gwrite(f, desc_gpa(VIRTIO_NET_TXQ, d2), frame->data, frame->len);
    tdq_desc(q, d, gpa, VIRTIO_NET_HDR_LEN, VIRTQ_DESC_F_NEXT, d2);
    tdq_desc(q, d2, desc_gpa(VIRTIO_NET_TXQ, d2), frame->len, 0, 0);
    tdq_avail_add(q, d);
    tvp_kick(&f->t, VIRTIO_NET_TXQ);
    return d;
}

static unsigned guest_tx(Fix *f, const GByteArray *frame)
{
    VirtioNetHdr hdr = { 0 };

    return guest_tx_hdr(f, frame, &hdr);
}

/* The guest posts one receive buffer of len bytes; returns its gpa. */
static uint64_t guest_rx_buf(Fix *f, uint32_t len, bool kick)
{
    TestDriverQueue *q = &f->q[VIRTIO_NET_RXQ];
    unsigned d = next_desc(f, VIRTIO_NET_RXQ);
    uint64_t gpa = desc_gpa(VIRTIO_NET_RXQ, d);

    g_assert_true(guest_memory_fill(&f->m->mem, gpa, 0xee, len,
                                    &error_abort));
    tdq_desc(q, d, gpa, len, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, d);
    if (kick) {
        tvp_kick(&f->t, VIRTIO_NET_RXQ);
    }
    return gpa;
}

/* Posts a control command and kicks; returns used.idx before it. */
static uint16_t guest_ctrl_post(Fix *f, uint8_t cls, uint8_t cmd,
                                const void *data, size_t len)
{
    TestDriverQueue *q = &f->q[VIRTIO_NET_CTRLQ];
    unsigned d = next_desc(f, VIRTIO_NET_CTRLQ);
    unsigned d2 = next_desc(f, VIRTIO_NET_CTRLQ);
    uint8_t head[2] = { cls, cmd }, ack = 0xee;
    uint16_t used = tdq_used_idx(q);

    gwrite(f, CTRL_GPA, head, 2);
    if (len) {
        gwrite(f, CTRL_GPA + 2, data, len);
    }
    gwrite(f, CTRL_GPA + 0x800, &ack, 1);
    tdq_desc(q, d, CTRL_GPA, 2 + len, VIRTQ_DESC_F_NEXT, d2);
    tdq_desc(q, d2, CTRL_GPA + 0x800, 1, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, d);
    tvp_kick(&f->t, VIRTIO_NET_CTRLQ);
    return used;
}

/* The ack byte of the last control command (0xee: none written). */
static uint8_t guest_ctrl_ack(Fix *f)
{
    uint8_t ack;

    gread(f, CTRL_GPA + 0x800, &ack, 1);
    return ack;
}

/* A control command; returns the ack byte (0xee: none written). */
static uint8_t guest_ctrl(Fix *f, uint8_t cls, uint8_t cmd,
                          const void *data, size_t len)
{
    uint16_t used = guest_ctrl_post(f, cls, cmd, data, len);

    g_assert_cmpuint(tdq_used_idx(&f->q[VIRTIO_NET_CTRLQ]), ==,
                     (uint16_t)(used + 1));
    return guest_ctrl_ack(f);
}

static uint8_t ctrl_rx_mode(Fix *f, uint8_t cmd, bool on)
{
    uint8_t v = on;

    return guest_ctrl(f, VIRTIO_NET_CTRL_RX, cmd, &v, 1);
}

/* The backend sends frame (with a zero header in front if it has one). */
static ssize_t backend_send(Fix *f, const GByteArray *frame)
{
    uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 };
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = VIRTIO_NET_HDR_LEN },
        { .iov_base = frame->data, .iov_len = frame->len },
    };

    return f->be.vnet_hdr ? net_send_iov(f->be.nc, iov, 2, fake_sent)
                          : net_send_iov(f->be.nc, iov + 1, 1, fake_sent);
}

static uint16_t cfg_status(Fix *f)
{
    return tvp_device_read(&f->t, VIRTIO_NET_CFG_STATUS, 2);
}

/* ---- tests ---- */

/* IDs, BARs and every capability, found as a guest finds them. */
static void test_pci_face(void)
{
    Fix f;
    uint32_t bar;
    uint8_t mac[6];

    fix_plug(&f, false, NULL);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_DEVICE_ID, 2), ==, 0x1041);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_REVISION_ID, 1), ==, 1);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_CLASS_DEVICE, 2), ==,
                    0x0200);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_SUBSYSTEM_VENDOR_ID, 2),
                    ==, 0x1af4);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_INTERRUPT_PIN, 1), ==, 1);
    bar = tpci_cfg_read(f.m, DEVFN, PCI_BASE_ADDRESS_0 + 16, 4);
    g_assert_cmphex(bar & 0xf, ==, PCI_BASE_ADDRESS_MEM_TYPE_64 |
                    PCI_BASE_ADDRESS_MEM_PREFETCH);
    g_assert_cmpuint(f.t.notify_mult, ==, 4);
    g_assert_cmpuint(pci_find_capability(f.dev, PCI_CAP_ID_MSIX), !=, 0);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_NUMQ, 2), ==,
                     3);
    for (unsigned i = 0; i < 6; i++) {
        mac[i] = tvp_device_read(&f.t, VIRTIO_NET_CFG_MAC + i, 1);
    }
    g_assert_cmpmem(mac, 6, our_mac, 6);
    g_assert_cmphex(cfg_status(&f), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(tvp_device_read(&f.t, VIRTIO_NET_CFG_MAX_VQ_PAIRS, 2),
                     ==, 1);
    fix_free(&f);
}

/* The PCI configuration access window reads and writes BAR4. */
static void test_pci_cfg_window(void)
{
    Fix f;
    unsigned cap;

    fix_plug(&f, false, NULL);
    cap = f.t.cap[VIRTIO_PCI_CAP_PCI_CFG];
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_BAR, 1);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_OFFSET,
                   f.t.common + VIRTIO_PCI_COMMON_NUMQ, 4);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_LENGTH, 2, 4);
    g_assert_cmpuint(tpci_cfg_read(f.m, DEVFN, cap + VIRTIO_PCI_CAP_CFG_DATA,
                                   4), ==, 3);
    /* A write through it: the status byte. */
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_OFFSET,
                   f.t.common + VIRTIO_PCI_COMMON_STATUS, 4);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_LENGTH, 1, 4);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_CFG_DATA,
                   VIRTIO_STATUS_ACKNOWLEDGE, 4);
    g_assert_cmphex(tvp_status(&f.t), ==, VIRTIO_STATUS_ACKNOWLEDGE);
    /* A window on another BAR, or of length 3, does nothing. */
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_LENGTH, 3, 4);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_CFG_DATA, 0, 4);
    g_assert_cmphex(tvp_status(&f.t), ==, VIRTIO_STATUS_ACKNOWLEDGE);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_LENGTH, 1, 4);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_BAR, 1, 1);
    tpci_cfg_write(f.m, DEVFN, cap + VIRTIO_PCI_CAP_CFG_DATA, 0, 4);
    g_assert_cmphex(tvp_status(&f.t), ==, VIRTIO_STATUS_ACKNOWLEDGE);
    g_assert_cmpuint(tpci_cfg_read(f.m, DEVFN, cap + VIRTIO_PCI_CAP_CFG_DATA,
                                   4), ==, 0);
    fix_free(&f);
}

/* Offloads are offered only with a backend header; their dependencies
 * are checked at FEATURES_OK. */
static void test_features(void)
{
    const uint64_t offloads = VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                              VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
                              VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                              VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
    Fix f;
    uint64_t feat;

    fix_plug(&f, false, NULL);
    feat = tvp_device_features(&f.t);
    g_assert_cmphex(feat & BASE_FEATURES, ==, BASE_FEATURES);
    g_assert_cmphex(feat & VIRTIO_BIT(VIRTIO_F_EVENT_IDX), !=, 0);
    g_assert_cmphex(feat & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), !=, 0);
    g_assert_cmphex(feat & offloads, ==, 0);
    g_assert_cmphex(feat & VIRTIO_BIT(VIRTIO_NET_F_MQ), ==, 0);
    g_assert_cmpint(f.be.hdr_len, ==, 0);
    fix_free(&f);

    fix_plug(&f, true, NULL);
    feat = tvp_device_features(&f.t);
    g_assert_cmphex(feat & offloads, ==, offloads);
    g_assert_cmpint(f.be.hdr_len, ==, VIRTIO_NET_HDR_LEN);
    /* GUEST_TSO4 without GUEST_CSUM: FEATURES_OK does not stick. */
    g_assert_false(tvp_start(&f.t, BASE_FEATURES |
                             VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4), 3, NUM,
                             false, f.q));
    /* With it, the backend is told. */
    g_assert_true(tvp_start(&f.t, BASE_FEATURES | offloads, 3, NUM, false,
                            f.q));
    g_assert_cmpuint(f.be.offload_calls, ==, 1);
    g_assert_true(f.be.offloads.csum);
    g_assert_true(f.be.offloads.tso4);
    g_assert_false(f.be.offloads.tso6);
    fix_free(&f);

    g_autofree char *err = NULL;
    f.m = tpci_new();
    err = tpci_add_error(f.m, TYPE_VIRTIO_NET_PCI, "mac=01:00:00:00:00:01");
    g_assert_nonnull(strstr(err, "multicast"));
    g_free(err);
    err = tpci_add_error(f.m, TYPE_VIRTIO_NET_PCI, "mac=52:54:00:12:34");
    g_assert_nonnull(strstr(err, "mac"));
    g_free(err);
    err = tpci_add_error(f.m, TYPE_VIRTIO_NET_PCI, "netdev=nope");
    g_assert_nonnull(strstr(err, "can't find value 'nope'"));
    g_free(err);
    err = tpci_add_error(f.m, TYPE_VIRTIO_NET_PCI, "mq=on");
    g_assert_nonnull(strstr(err, "mq=on"));
    tpci_free(f.m);
}

/* TX: the frame reaches the backend, the header stripped (no vnet
 * header) or passed through; the chain is used; vector 1 fires. */
static void test_tx(gconstpointer data)
{
    bool vnet = GPOINTER_TO_INT(data);
    g_autoptr(GByteArray) frame = frame_new(other_mac, 1000, 7);
    VirtioNetHdr hdr = { .flags = vnet ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0,
                         .csum_start = GUINT16_TO_LE(34),
                         .csum_offset = GUINT16_TO_LE(16) };
    Fix f;
    GBytes *got;
    size_t len;
    const uint8_t *p;
    uint32_t id, ulen;
    unsigned head;

    fix_start(&f, vnet, NULL, BASE_FEATURES |
              (vnet ? VIRTIO_BIT(VIRTIO_NET_F_CSUM) : 0));
    head = guest_tx_hdr(&f, frame, &hdr);
    g_assert_cmpuint(f.be.got->len, ==, 1);
    got = g_ptr_array_index(f.be.got, 0);
    p = g_bytes_get_data(got, &len);
    if (vnet) {
        g_assert_cmpuint(len, ==, VIRTIO_NET_HDR_LEN + frame->len);
        g_assert_cmpmem(p, VIRTIO_NET_HDR_LEN, &hdr, VIRTIO_NET_HDR_LEN);
        p += VIRTIO_NET_HDR_LEN;
        len -= VIRTIO_NET_HDR_LEN;
    }
    g_assert_cmpmem(p, len, frame->data, frame->len);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_TXQ]), ==, 1);
    tdq_used_elem(&f.q[VIRTIO_NET_TXQ], 0, &id, &ulen);
    g_assert_cmpuint(id, ==, head);
    g_assert_cmpuint(ulen, ==, 0);
    g_assert_cmpuint(tvp_msi_count(&f.t, VIRTIO_NET_TXQ), ==, 1);
    fix_free(&f);
}

/* TX backpressure: a backend that takes nothing holds the chain; the
 * sent callback completes it and the next one goes. */
static void test_tx_backpressure(void)
{
    g_autoptr(GByteArray) a = frame_new(other_mac, 100, 1);
    g_autoptr(GByteArray) b = frame_new(other_mac, 200, 2);
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    f.be.room = 0;
    guest_tx(&f, a);
    guest_tx(&f, b);
    g_assert_cmpuint(f.be.got->len, ==, 0);
    g_assert_cmpuint(net_client_queued(f.be.nc), ==, 1);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_TXQ]), ==, 0);
    f.be.room = -1;
    net_client_flush_queue(f.be.nc);
    g_assert_cmpuint(f.be.got->len, ==, 2);
    g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(f.be.got, 1)), ==,
                     200);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_TXQ]), ==, 2);
    fix_free(&f);
}

/* RX: a 3000-byte frame into 1600-byte buffers takes two, num_buffers
 * says so, and every byte written is in the dirty bitmap. */
static void test_rx_mergeable(gconstpointer data)
{
    bool vnet = GPOINTER_TO_INT(data);
    g_autoptr(GByteArray) frame = frame_new(our_mac, 3000, 3);
    g_autofree uint8_t *got = g_malloc(3000 + VIRTIO_NET_HDR_LEN);
    uint64_t gpa[3];
    VirtioNetHdr hdr;
    uint32_t id, len0, len1;
    bool dirty;
    Fix f;

    fix_start(&f, vnet, NULL, BASE_FEATURES);
    for (unsigned i = 0; i < 3; i++) {
        gpa[i] = guest_rx_buf(&f, 1600, false);
    }
    tv_take_dirty_mem(&f.m->mem, 0, NULL);
    g_assert_cmpint(backend_send(&f, frame), ==,
                    frame->len + (vnet ? VIRTIO_NET_HDR_LEN : 0));
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_RXQ]), ==, 2);
    tdq_used_elem(&f.q[VIRTIO_NET_RXQ], 0, &id, &len0);
    tdq_used_elem(&f.q[VIRTIO_NET_RXQ], 1, &id, &len1);
    g_assert_cmpuint(len0, ==, 1600);
    g_assert_cmpuint(len1, ==, 3000 + VIRTIO_NET_HDR_LEN - 1600);
    gread(&f, gpa[0], got, 1600);
    gread(&f, gpa[1], got + 1600, len1);
    memcpy(&hdr, got, sizeof(hdr));
    g_assert_cmpuint(GUINT16_FROM_LE(hdr.num_buffers), ==, 2);
    g_assert_cmpuint(hdr.flags, ==, 0);
    g_assert_cmpuint(hdr.gso_type, ==, VIRTIO_NET_HDR_GSO_NONE);
    g_assert_cmpmem(got + VIRTIO_NET_HDR_LEN, 3000, frame->data, 3000);
    /* The dirty rule: both buffers' pages (one each) and the used ring. */
    g_assert_cmpuint(tv_take_dirty_mem(&f.m->mem, gpa[0], &dirty), >=, 3);
    g_assert_true(dirty);
    tv_take_dirty_mem(&f.m->mem, 0, NULL);
    g_assert_cmpint(backend_send(&f, frame), ==, 0);   /* one buffer left */
    tv_take_dirty_mem(&f.m->mem, gpa[1], &dirty);
    g_assert_false(dirty);
    g_assert_cmpuint(tvp_msi_count(&f.t, VIRTIO_NET_RXQ), ==, 1);
    fix_free(&f);
}

/* Every page an RX write touches is dirty: a buffer whose header ends
 * one page and whose frame starts the next marks both, and no other. */
static void test_rx_dirty(void)
{
    g_autoptr(GByteArray) frame = frame_new(our_mac, 1400, 9);
    const uint64_t page = 0x90000;
    TestDriverQueue *q;
    bool dirty;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    q = &f.q[VIRTIO_NET_RXQ];
    tdq_desc(q, 0, page - VIRTIO_NET_HDR_LEN, 2048, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
    tv_take_dirty_mem(&f.m->mem, 0, NULL);
    backend_send(&f, frame);
    g_assert_cmpuint(tdq_used_idx(q), ==, 1);
    tv_take_dirty_mem(&f.m->mem, page - 0x1000, &dirty);
    g_assert_true(dirty);
    backend_send(&f, frame);            /* no buffer: nothing written */
    tv_take_dirty_mem(&f.m->mem, page - 0x1000, &dirty);
    g_assert_false(dirty);
    fix_free(&f);

    fix_start(&f, false, NULL, BASE_FEATURES);
    q = &f.q[VIRTIO_NET_RXQ];
    tdq_desc(q, 0, page - VIRTIO_NET_HDR_LEN, 2048, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
    tv_take_dirty_mem(&f.m->mem, 0, NULL);
    backend_send(&f, frame);
    tv_take_dirty_mem(&f.m->mem, page, &dirty);
    g_assert_true(dirty);
    fix_free(&f);
}

/* Without MRG_RXBUF one buffer must hold the frame: a too-small one
 * drops it (and stays available); a big one takes it. */
static void test_rx_no_merge(void)
{
    g_autoptr(GByteArray) frame = frame_new(our_mac, 1400, 5);
    Fix f;

    fix_start(&f, false, NULL,
              BASE_FEATURES & ~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
    guest_rx_buf(&f, 1000, false);
    g_assert_cmpint(backend_send(&f, frame), ==, 1400);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_RXQ]), ==, 0);
    g_assert_cmpuint(f.n->rx_dropped, ==, 1);
    fix_free(&f);
}

/* RX with no buffers: the frame waits in the network core; posting
 * buffers and kicking flushes it, and the backend hears it went. */
static void test_rx_no_buffers(void)
{
    g_autoptr(GByteArray) frame = frame_new(our_mac, 600, 4);
    g_autofree uint8_t *got = g_malloc(600);
    uint64_t gpa;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    g_assert_cmpint(backend_send(&f, frame), ==, 0);
    g_assert_cmpuint(net_client_queued(f.n->nic), ==, 1);
    /* Out of buffers: the driver is asked to kick when it posts one. */
    g_assert_false(tdq_used_flags(&f.q[VIRTIO_NET_RXQ]) &
                   VIRTQ_USED_F_NO_NOTIFY);
    gpa = guest_rx_buf(&f, 2048, false);
    g_assert_cmpuint(net_client_queued(f.n->nic), ==, 1);   /* no kick */
    tvp_kick(&f.t, VIRTIO_NET_RXQ);
    g_assert_cmpuint(net_client_queued(f.n->nic), ==, 0);
    g_assert_cmpuint(f.be.sent_calls, ==, 1);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_RXQ]), ==, 1);
    gread(&f, gpa + VIRTIO_NET_HDR_LEN, got, 600);
    g_assert_cmpmem(got, 600, frame->data, 600);
    /*
     * A frame found buffers: no kick per posted buffer from now on (each
     * would be a VM exit), until the queue runs dry again.
     */
    g_assert_true(tdq_used_flags(&f.q[VIRTIO_NET_RXQ]) &
                  VIRTQ_USED_F_NO_NOTIFY);
    guest_rx_buf(&f, 2048, false);
    g_assert_cmpint(backend_send(&f, frame), ==, (gssize)frame->len);
    g_assert_true(tdq_used_flags(&f.q[VIRTIO_NET_RXQ]) &
                  VIRTQ_USED_F_NO_NOTIFY);
    g_assert_cmpint(backend_send(&f, frame), ==, 0);
    g_assert_false(tdq_used_flags(&f.q[VIRTIO_NET_RXQ]) &
                   VIRTQ_USED_F_NO_NOTIFY);
    guest_rx_buf(&f, 2048, false);
    tvp_kick(&f.t, VIRTIO_NET_RXQ);
    g_assert_cmpuint(net_client_queued(f.n->nic), ==, 0);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_RXQ]), ==, 3);
    g_assert_true(tdq_used_flags(&f.q[VIRTIO_NET_RXQ]) &
                  VIRTQ_USED_F_NO_NOTIFY);
    fix_free(&f);
}

/* How many of these frames the guest receives now. */
static unsigned rx_count(Fix *f, const uint8_t *dst, int vlan)
{
    g_autoptr(GByteArray) frame = frame_new(dst, 100, 0);
    uint16_t before = tdq_used_idx(&f->q[VIRTIO_NET_RXQ]);

    if (vlan >= 0) {
        const uint8_t tag[4] = { 0x81, 0x00, vlan >> 8, vlan & 0xff };

        g_byte_array_set_size(frame, frame->len + 4);
        memmove(frame->data + 16, frame->data + 12, frame->len - 16);
        memcpy(frame->data + 12, tag, 4);
    }
    guest_rx_buf(f, 2048, false);
    backend_send(f, frame);
    return (uint16_t)(tdq_used_idx(&f->q[VIRTIO_NET_RXQ]) - before);
}

/* Filters through the control queue: promisc, MAC table, allmulti,
 * alluni, MAC_ADDR_SET, VLAN, and refusals. */
/* A control command kicked while the VM is stopped is left alone (its
 * ack and the used ring are guest RAM) and answered when the VM runs. */
static void test_ctrl_while_stopped(void)
{
    uint8_t off = 0;
    uint16_t used;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    runstate_set(RUN_STATE_PAUSED);
    used = guest_ctrl_post(&f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
                           &off, 1);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_CTRLQ]), ==, used);
    g_assert_cmphex(guest_ctrl_ack(&f), ==, 0xee);
    runstate_set(RUN_STATE_RUNNING);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_CTRLQ]), ==,
                     (uint16_t)(used + 1));
    g_assert_cmphex(guest_ctrl_ack(&f), ==, VIRTIO_NET_OK);
    /* It took effect: promiscuous mode is off. */
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 0);
    fix_free(&f);
}

static void test_filters(void)
{
    uint8_t table[4 + 6 + 4 + 6];
    uint16_t vid = GUINT16_TO_LE(5);
    NetRxFilter view;
    uint32_t le;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    /* After reset everything passes (promiscuous), untagged. */
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 1);
    g_assert_cmpuint(ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_PROMISC, false), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 0);
    g_assert_cmpuint(rx_count(&f, our_mac, -1), ==, 1);
    g_assert_cmpuint(rx_count(&f, bcast_mac, -1), ==, 1);
    g_assert_cmpuint(rx_count(&f, mcast_mac, -1), ==, 0);
    /* The MAC table: other_mac unicast, mcast_mac multicast. */
    le = GUINT32_TO_LE(1);
    memcpy(table, &le, 4);
    memcpy(table + 4, other_mac, 6);
    memcpy(table + 10, &le, 4);
    memcpy(table + 14, mcast_mac, 6);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_MAC,
                                VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
                                sizeof(table)), ==, VIRTIO_NET_OK);
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 1);
    g_assert_cmpuint(rx_count(&f, mcast_mac, -1), ==, 1);
    /* query-rx-filter's view of it. */
    f.n->nic->info->get_rx_filter(f.n->nic, &view);
    g_assert_null(f.be.nc->info->get_rx_filter);
    g_assert_false(view.promisc);
    g_assert_true(view.vlan_filtering);
    g_assert_cmpuint(view.uni_count, ==, 1);
    g_assert_cmpmem(view.uni_table, 6, other_mac, 6);
    g_assert_cmpuint(view.multi_count, ==, 1);
    g_assert_cmpmem(view.multi_table, 6, mcast_mac, 6);
    g_assert_cmpmem(view.mac, 6, our_mac, 6);
    /* A table whose count runs past the data is refused, unchanged. */
    le = GUINT32_TO_LE(1000);
    memcpy(table, &le, 4);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_MAC,
                                VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
                                sizeof(table)), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 1);
    /* Empty tables, then allmulti and alluni. */
    memset(table, 0, 8);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_MAC,
                                VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 8), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 0);
    g_assert_cmpuint(rx_count(&f, mcast_mac, -1), ==, 0);
    ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_ALLMULTI, true);
    g_assert_cmpuint(rx_count(&f, mcast_mac, -1), ==, 1);
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 0);
    ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_ALLUNI, true);
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 1);
    ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_ALLUNI, false);
    /* MAC_ADDR_SET moves the device's own address. */
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_MAC,
                                VIRTIO_NET_CTRL_MAC_ADDR_SET, other_mac, 6),
                     ==, VIRTIO_NET_OK);
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 1);
    g_assert_cmpuint(rx_count(&f, our_mac, -1), ==, 0);
    g_assert_cmpuint(tvp_device_read(&f.t, VIRTIO_NET_CFG_MAC + 3, 1), ==,
                     0xaa);
    /* VLAN: tagged frames pass only for VLANs added. */
    g_assert_cmpuint(rx_count(&f, other_mac, 5), ==, 0);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_VLAN,
                                VIRTIO_NET_CTRL_VLAN_ADD, &vid, 2), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(rx_count(&f, other_mac, 5), ==, 1);
    g_assert_cmpuint(rx_count(&f, other_mac, 6), ==, 0);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_VLAN,
                                VIRTIO_NET_CTRL_VLAN_DEL, &vid, 2), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(rx_count(&f, other_mac, 5), ==, 0);
    vid = GUINT16_TO_LE(4096);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_VLAN,
                                VIRTIO_NET_CTRL_VLAN_ADD, &vid, 2), ==,
                     VIRTIO_NET_ERR);
    /* Unknown classes and commands, wrong lengths. */
    g_assert_cmpuint(guest_ctrl(&f, 9, 0, NULL, 0), ==, VIRTIO_NET_ERR);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_RX, 7, "\1", 1), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_RX,
                                VIRTIO_NET_CTRL_RX_PROMISC, "\1\1", 2), ==,
                     VIRTIO_NET_ERR);
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    fix_free(&f);
}

/* set_link on the netdev: LINK_UP follows with a config interrupt. */
static void test_link(void)
{
    g_autoptr(GByteArray) frame = frame_new(other_mac, 100, 0);
    uint8_t gen;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    gen = tvp_common_read(&f.t, VIRTIO_PCI_COMMON_CFGGEN, 1);
    net_client_set_link(f.be.nc, false);
    g_assert_cmphex(cfg_status(&f) & VIRTIO_NET_S_LINK_UP, ==, 0);
    g_assert_cmpuint(tvp_msi_count(&f.t, 3), ==, 1);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_CFGGEN, 1), !=,
                     gen);
    /* Down: transmitted frames go nowhere (but the chain is used). */
    guest_tx(&f, frame);
    g_assert_cmpuint(f.be.got->len, ==, 0);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_TXQ]), ==, 1);
    net_client_set_link(f.be.nc, true);
    g_assert_cmphex(cfg_status(&f) & VIRTIO_NET_S_LINK_UP, !=, 0);
    g_assert_cmpuint(tvp_msi_count(&f.t, 3), ==, 2);
    fix_free(&f);
}

/* announce: a RARP from our MAC, and with GUEST_ANNOUNCE the ANNOUNCE
 * bit until the guest acknowledges. */
static void test_announce(void)
{
    const uint8_t *p;
    size_t len;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    virtio_net_announce(f.n);
    g_assert_cmpuint(f.be.got->len, ==, 1);
    p = g_bytes_get_data(g_ptr_array_index(f.be.got, 0), &len);
    g_assert_cmpuint(len, ==, 60);
    g_assert_cmpmem(p, 6, bcast_mac, 6);
    g_assert_cmpmem(p + 6, 6, our_mac, 6);
    g_assert_cmphex(p[12] << 8 | p[13], ==, 0x8035);
    g_assert_cmpmem(p + 22, 6, our_mac, 6);
    g_assert_cmphex(cfg_status(&f), ==,
                    VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    g_assert_cmpuint(tvp_msi_count(&f.t, 3), ==, 1);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_ANNOUNCE,
                                VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0), ==,
                     VIRTIO_NET_OK);
    g_assert_cmphex(cfg_status(&f), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_true(virtio_net_announce_nic(f.n->nic));
    g_assert_false(virtio_net_announce_nic(f.be.nc));
    /* announce-self reaches it through the net core's hook, and info
     * network names its model and MAC as QEMU does. */
    g_assert_nonnull(f.n->nic->info->announce);
    f.n->nic->info->announce(f.n->nic);
    g_assert_cmpuint(f.be.got->len, ==, 3);
    g_assert_true(g_str_has_prefix(f.n->nic->info_str,
                                   "model=virtio-net-pci,macaddr="));
    fix_free(&f);

    /* With a vnet header backend the RARP carries one. */
    fix_start(&f, true, NULL, BASE_FEATURES &
              ~VIRTIO_BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));
    virtio_net_announce(f.n);
    g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(f.be.got, 0)), ==,
                     VIRTIO_NET_HDR_LEN + 60);
    g_assert_cmphex(cfg_status(&f), ==, VIRTIO_NET_S_LINK_UP);
    fix_free(&f);
}

/* Without MSI-X: INTx follows the ISR; reading the ISR lowers it. */
static void test_intx(void)
{
    g_autoptr(GByteArray) frame = frame_new(other_mac, 100, 0);
    Fix f;

    fix_start(&f, false, "vectors=0", BASE_FEATURES);
    g_assert_false(msix_present(f.dev));
    g_assert_false(f.dev->intx_level);
    guest_tx(&f, frame);
    g_assert_true(f.dev->intx_level);
    g_assert_cmphex(tvp_isr_read(&f.t), ==, 1);
    g_assert_false(f.dev->intx_level);
    g_assert_cmphex(tvp_isr_read(&f.t), ==, 0);
    net_client_set_link(f.be.nc, false);
    g_assert_true(f.dev->intx_level);
    g_assert_cmphex(tvp_isr_read(&f.t), ==, 2);
    g_assert_false(f.dev->intx_level);
    /* Vectors cannot be set without MSI-X. */
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_MSIX, 0, 2);
    g_assert_cmphex(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_MSIX, 2), ==,
                    VIRTIO_NO_VECTOR);
    fix_free(&f);
}

/* MSI-X on with a queue on NO_VECTOR: no interrupt, no INTx. */
static void test_msix_no_vector(void)
{
    g_autoptr(GByteArray) frame = frame_new(other_mac, 100, 0);
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, VIRTIO_NET_TXQ, 2);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_NO_VECTOR, 2);
    f.m->msi_sent->len = 0;
    guest_tx(&f, frame);
    g_assert_cmpuint(f.m->msi_sent->len, ==, 0);
    g_assert_false(f.dev->intx_level);
    /* A vector past the table reads back NO_VECTOR. */
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_MSIX, 4, 2);
    g_assert_cmphex(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_MSIX, 2), ==,
                    VIRTIO_NO_VECTOR);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_MSIX, 3, 2);
    g_assert_cmphex(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_MSIX, 2), ==,
                    3);
    fix_free(&f);
}

/* Status 0 resets: queues off, filters and MAC back, frames waiting
 * for the guest dropped. */
static void test_reset(void)
{
    g_autoptr(GByteArray) frame = frame_new(other_mac, 100, 0);
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_PROMISC, false);
    guest_ctrl(&f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
               other_mac, 6);
    backend_send(&f, frame);
    g_assert_cmpuint(net_client_queued(f.n->nic), ==, 1);
    tvp_set_status(&f.t, 0);
    g_assert_cmphex(tvp_status(&f.t), ==, 0);
    g_assert_cmpuint(net_client_queued(f.n->nic), ==, 0);
    g_assert_true(f.n->promisc);
    g_assert_cmpmem(f.n->mac, 6, our_mac, 6);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==,
                     0);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_DESCLO, 4), ==,
                     0);
    /* Not started: a frame is dropped, not queued. */
    g_assert_cmpint(backend_send(&f, frame), ==, 100);
    g_assert_cmpuint(net_client_queued(f.n->nic), ==, 0);
    /* And it starts again. */
    f.next_desc[0] = f.next_desc[1] = f.next_desc[2] = 0;
    g_assert_true(tvp_start(&f.t, BASE_FEATURES, 3, NUM, true, f.q));
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 1);
    fix_free(&f);
}

/* Hostile register writes: refused per spec, never a crash. */
static void test_hostile_registers(void)
{
    Fix f;

    fix_plug(&f, false, NULL);
    /* queue_select past the queues: size 0, writes ignored. */
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 99, 2);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==,
                     0);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000, 4);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_ENABLE, 2), ==,
                     0);
    /* Odd sizes and misaligned accesses are ignored. */
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 4);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 2),
                     ==, 99);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 1),
                     ==, 0);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_STATUS, 0x01010101, 4);
    g_assert_cmphex(tvp_status(&f.t), ==, 0);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 3, 2);  /* not 2^n */
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==,
                     VIRTIO_NET_QUEUE_SIZE);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 1024, 2);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==,
                     VIRTIO_NET_QUEUE_SIZE);
    /* 8-byte ring address writes are not the spec's: ignored. */
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_DESCLO, 0x5000, 8);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_DESCLO, 4), ==,
                     0);
    /* Read-only fields stay. */
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_NUMQ, 7, 2);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_NUMQ, 2), ==, 3);
    /* Notify at an odd offset, past the queues, before the driver. */
    tpci_mmio_write(f.m, TVP_BAR_GPA + f.t.notify + 2, 0, 2);
    tpci_mmio_write(f.m, TVP_BAR_GPA + f.t.notify + 4 * 40, 40, 2);
    tvp_kick(&f.t, 1);
    /* Device config out of range: all ones, writes ignored. */
    g_assert_cmphex(tvp_device_read(&f.t, 200, 4), ==, 0xffffffff);
    tpci_mmio_write(f.m, TVP_BAR_GPA + f.t.device, 0x11, 1);
    g_assert_cmphex(tvp_device_read(&f.t, 0, 1), ==, our_mac[0]);
    /* Writes anywhere in the BAR, every size. */
    for (uint64_t off = 0; off < VIRTIO_PCI_BAR_SIZE; off += 0x1f3) {
        tpci_mmio_write(f.m, TVP_BAR_GPA + off, 0xffffffffffffffffULL, 8);
        tpci_mmio_write(f.m, TVP_BAR_GPA + off, 0xffff, 2);
        tpci_mmio_read(f.m, TVP_BAR_GPA + off, 4);
    }
    fix_free(&f);
}

/*
 * A guest writing at random: BAR4 (every region, every size, any value)
 * and the function's config space, with the driver started between
 * rounds and frames flowing both ways. Nothing may crash or hang, and a
 * reset always brings the device back to a working start.
 */
static void test_hostile_random(void)
{
    g_autoptr(GByteArray) frame = frame_new(our_mac, 200, 0);
    GRand *rand = g_rand_new_with_seed(0x7e57);
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    for (unsigned round = 0; round < 40; round++) {
        for (unsigned i = 0; i < 500; i++) {
            unsigned size = sizes[g_rand_int_range(rand, 0, 4)];
            uint64_t off = g_rand_int_range(rand, 0, VIRTIO_PCI_BAR_SIZE);
            uint64_t v = (uint64_t)g_rand_int(rand) << 32 | g_rand_int(rand);

            /* Small values are the interesting ones for selects. */
            if (g_rand_boolean(rand)) {
                v &= 0xff;
            }
            off &= ~(uint64_t)(size - 1);
            if (g_rand_int_range(rand, 0, 4)) {
                tpci_mmio_write(f.m, TVP_BAR_GPA + off, v, size);
            } else {
                tpci_mmio_read(f.m, TVP_BAR_GPA + off, size);
            }
            if (g_rand_int_range(rand, 0, 50) == 0) {
                /* Config space past the header: capabilities, window. */
                unsigned reg = g_rand_int_range(rand, 0x40, 0x100) & ~3u;

                tpci_cfg_write(f.m, DEVFN, reg, v, 4);
                tpci_cfg_read(f.m, DEVFN, reg, 4);
            }
        }
        backend_send(&f, frame);
        guest_tx(&f, frame);
        /* The BARs and decode may have gone: put them back, restart. */
        tvp_init(&f.t, f.m, f.dev);
        tvp_msix_enable(&f.t);
        memset(f.next_desc, 0, sizeof(f.next_desc));
        g_assert_true(tvp_start(&f.t, BASE_FEATURES, 3, NUM, true, f.q));
        g_assert_cmpuint(rx_count(&f, our_mac, -1), ==, 1);
    }
    g_rand_free(rand);
    fix_free(&f);
}

/* Enabling a queue whose rings are outside RAM: NEEDS_RESET. */
static void test_hostile_rings(void)
{
    g_autoptr(GByteArray) frame = frame_new(other_mac, 100, 0);
    TestDriverQueue *q;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    tvp_set_status(&f.t, 0);
    tvp_set_status(&f.t, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_DESCLO, 0, 4);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_DESCHI, 0x10, 4);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, !=, 0);
    fix_free(&f);

    /* A transmit chain shorter than the header. */
    fix_start(&f, false, NULL, BASE_FEATURES);
    q = &f.q[VIRTIO_NET_TXQ];
    tdq_desc(q, 0, desc_gpa(1, 0), 4, 0, 0);
    tdq_avail_add(q, 0);
    tvp_kick(&f.t, VIRTIO_NET_TXQ);
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, !=, 0);
    g_assert_cmpuint(f.be.got->len, ==, 0);
    g_assert_cmpuint(tvp_msi_count(&f.t, 3), ==, 1);
    fix_free(&f);

    /* A control command without a status byte. */
    fix_start(&f, false, NULL, BASE_FEATURES);
    q = &f.q[VIRTIO_NET_CTRLQ];
    tdq_desc(q, 0, CTRL_GPA, 2, 0, 0);
    tdq_avail_add(q, 0);
    tvp_kick(&f.t, VIRTIO_NET_CTRLQ);
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, !=, 0);
    fix_free(&f);

    /* A receive buffer smaller than the header. */
    fix_start(&f, false, NULL, BASE_FEATURES);
    q = &f.q[VIRTIO_NET_RXQ];
    tdq_desc(q, 0, desc_gpa(0, 0), 8, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
    frame->data[0] = our_mac[0];
    backend_send(&f, frame);
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, !=, 0);
    fix_free(&f);

    /* A receive chain pointing past RAM. */
    fix_start(&f, false, NULL, BASE_FEATURES);
    q = &f.q[VIRTIO_NET_RXQ];
    tdq_desc(q, 0, TPCI_RAM_SIZE - 16, 4096, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, 0);
    backend_send(&f, frame);
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, !=, 0);
    g_assert_cmpuint(tdq_used_idx(q), ==, 0);
    fix_free(&f);
}

/* ---- doorbells as eventfds ---- */

typedef struct FakeIoeventfds {
    GHashTable *fds;            /* addr -> fd, assigned now */
    unsigned assigns;
    unsigned deassigns;
} FakeIoeventfds;

static bool fake_ioeventfd_assign(void *opaque, uint64_t addr, unsigned len,
                                  int fd, Error **errp)
{
    FakeIoeventfds *io = opaque;

    g_assert_cmpuint(len, ==, 2);
    g_assert_false(g_hash_table_contains(io->fds, &addr));
    g_hash_table_insert(io->fds, g_memdup2(&addr, sizeof(addr)),
                        GINT_TO_POINTER(fd));
    io->assigns++;
    return true;
}

static void fake_ioeventfd_deassign(void *opaque, uint64_t addr,
                                    unsigned len, int fd)
{
    FakeIoeventfds *io = opaque;

    g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(io->fds, &addr)), ==,
                    fd);
    g_hash_table_remove(io->fds, &addr);
    io->deassigns++;
}

static const PciIoeventfdOps fake_ioeventfd_ops = {
    .assign = fake_ioeventfd_assign,
    .deassign = fake_ioeventfd_deassign,
};

/* What KVM does on a guest's 16-bit notify write. */
static void fake_ioeventfd_kick(FakeIoeventfds *io, uint64_t addr)
{
    uint64_t one = 1;
    int fd = GPOINTER_TO_INT(g_hash_table_lookup(io->fds, &addr));

    g_assert_cmpint(fd, >, 0);
    g_assert_cmpint(write(fd, &one, sizeof(one)), ==, sizeof(one));
}

/* Polls of the main context that found something ready. */
static int ready_polls;

static gint count_ready_polls(GPollFD *fds, guint nfds, gint timeout)
{
    gint n = g_poll(fds, nfds, timeout);

    ready_polls += n > 0;
    return n;
}

/* Runs the main context until an iteration dispatches nothing. */
static void run_main_context(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/*
 * With ioeventfd ops on the bus, each queue's doorbell is an eventfd at
 * BAR4 + 0x3000 + 4q, moved with the BAR and dropped at unplug; a
 * signal on it, read on the main loop, kicks the queue.
 */
static void test_ioeventfd(void)
{
    g_autoptr(GByteArray) frame = frame_new(other_mac, 100, 0);
    FakeIoeventfds io = {
        .fds = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                     NULL),
    };
    const uint64_t moved = TVP_BAR_GPA + 0x100000;
    uint64_t doorbell = TVP_BAR_GPA + VIRTIO_PCI_NOTIFY_OFF +
                        VIRTIO_NET_TXQ * 4;
    TestDriverQueue *q;
    Fix f;

    memset(&f, 0, sizeof(f));
    f.m = tpci_new();
    tpci_bus(f.m)->ioeventfd_ops = &fake_ioeventfd_ops;
    tpci_bus(f.m)->ioeventfd_opaque = &io;
    f.be.room = -1;
    f.be.got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    f.be.nc = net_client_new(&fake_info, NULL, "tap", "n0", &f.be,
                             &error_abort);
    f.dev = tpci_add(f.m, TYPE_VIRTIO_NET_PCI, "netdev=n0,addr=3");
    f.n = (VirtIONet *)((VirtIOPCIProxy *)f.dev)->vdev;
    g_assert_cmpuint(io.assigns, ==, 0);        /* BAR4 not mapped yet */
    tvp_init(&f.t, f.m, f.dev);
    g_assert_cmpuint(io.assigns, ==, 3);
    g_assert_true(g_hash_table_contains(io.fds, &doorbell));
    tvp_msix_enable(&f.t);
    g_assert_true(tvp_start(&f.t, BASE_FEATURES, 3, NUM, true, f.q));

    /* The guest's TX chain, announced through the eventfd. */
    q = &f.q[VIRTIO_NET_TXQ];
    gwrite(&f, desc_gpa(1, 0), (uint8_t[VIRTIO_NET_HDR_LEN]){ 0 },
           VIRTIO_NET_HDR_LEN);
    gwrite(&f, desc_gpa(1, 0) + VIRTIO_NET_HDR_LEN, frame->data, frame->len);
    tdq_desc(q, 0, desc_gpa(1, 0), VIRTIO_NET_HDR_LEN + frame->len, 0, 0);
    tdq_avail_add(q, 0);
    run_main_context();
    g_main_context_set_poll_func(NULL, count_ready_polls);
    ready_polls = 0;
    fake_ioeventfd_kick(&io, doorbell);
    g_assert_cmpuint(f.be.got->len, ==, 0);
    run_main_context();
    g_assert_cmpuint(f.be.got->len, ==, 1);
    g_assert_cmpuint(tdq_used_idx(q), ==, 1);
    /* One wake-up for the kick, none of the loop's own after it
     * (main_loop_attach_leaf: no re-entry guard on a doorbell). */
    g_assert_cmpint(ready_polls, ==, 1);
    g_main_context_set_poll_func(NULL, NULL);

    /* A kick still in its eventfd when the guest stopped and its state
     * is saved (the main loop has not polled): the save takes it, so
     * the used ring is final in what is captured, not changed after. */
    tdq_desc(q, 1, desc_gpa(1, 0), VIRTIO_NET_HDR_LEN + frame->len, 0, 0);
    tdq_avail_add(q, 1);
    fake_ioeventfd_kick(&io, doorbell);
    g_bytes_unref(tpci_save_devices(f.m));
    g_assert_cmpuint(f.be.got->len, ==, 2);
    g_assert_cmpuint(tdq_used_idx(q), ==, 2);
    run_main_context();
    g_assert_cmpuint(f.be.got->len, ==, 2);

    /* The BAR moves: so do the doorbells. */
    tpci_cfg_write(f.m, DEVFN, PCI_BASE_ADDRESS_0 + 16, (uint32_t)moved, 4);
    g_assert_cmpuint(io.deassigns, ==, 3);
    g_assert_cmpuint(io.assigns, ==, 6);
    g_assert_false(g_hash_table_contains(io.fds, &doorbell));
    doorbell += moved - TVP_BAR_GPA;
    g_assert_true(g_hash_table_contains(io.fds, &doorbell));

    /* Memory decode off: none left; unplug closes them. */
    tpci_cfg_write(f.m, DEVFN, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
    g_assert_cmpuint(g_hash_table_size(io.fds), ==, 0);
    tpci_cfg_write(f.m, DEVFN, PCI_COMMAND,
                   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    g_assert_cmpuint(g_hash_table_size(io.fds), ==, 3);
    fix_free(&f);
    g_assert_cmpuint(g_hash_table_size(io.fds), ==, 0);
    g_hash_table_destroy(io.fds);
}

/* ---- migration ---- */

static GBytes *save_devices(Fix *f)
{
    return tpci_save_devices(f->m);
}

static bool load_devices(Fix *f, GBytes *b, Error **errp)
{
    return tpci_load_devices(f->m, b, errp);
}

/*
 * Saved with a TX chain held by backpressure and an RX buffer posted,
 * filters set; the device then changes, and the load brings everything
 * back: the held chain is sent again, RX lands in the posted buffer.
 */
static void test_migration(void)
{
    g_autoptr(GByteArray) tx = frame_new(other_mac, 300, 1);
    g_autoptr(GByteArray) rx = frame_new(our_mac, 500, 2);
    g_autoptr(GBytes) saved = NULL;
    g_autofree uint8_t *got = g_malloc(500);
    uint64_t gpa;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_PROMISC, false);
    guest_ctrl(&f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
               our_mac, 6);
    f.be.room = 0;
    guest_tx(&f, tx);
    g_assert_nonnull(f.n->tx_waiting);
    gpa = guest_rx_buf(&f, 2048, true);
    saved = save_devices(&f);

    /* The guest goes on (promiscuous now); the frame still waits. */
    ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_PROMISC, true);
    g_assert_true(f.n->promisc);

    /* Loaded over the running device, as a COLO secondary does. */
    g_assert_true(load_devices(&f, saved, &error_abort));
    g_assert_cmphex(tvp_status(&f.t), ==, VIRTIO_STATUS_ACKNOWLEDGE |
                    VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                    VIRTIO_STATUS_DRIVER_OK);
    g_assert_false(f.n->promisc);
    g_assert_null(f.n->tx_waiting);     /* stale: from before the load */
    g_assert_true(msix_enabled(f.dev));
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_TXQ]), ==, 0);
    /* The backend takes the old frame; its sent callback lets the
     * chain, in flight at the save, go again: the network sees it
     * twice, which it tolerates. */
    f.be.room = -1;
    net_client_flush_queue(f.be.nc);
    g_assert_cmpuint(f.be.got->len, ==, 2);
    g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(f.be.got, 1)), ==,
                     300);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_TXQ]), ==, 1);
    /* The posted RX buffer takes a frame; filters are back. */
    g_assert_cmpuint(rx_count(&f, other_mac, -1), ==, 0);
    backend_send(&f, rx);
    gread(&f, gpa + VIRTIO_NET_HDR_LEN, got, 500);
    g_assert_cmpmem(got, 500, rx->data, 500);
    fix_free(&f);
}

/*
 * Migration to a fresh destination machine: the device state and the
 * guest RAM move, the destination's device starts at power-on state and
 * comes out of the load running, with its BARs, MSI-X and queues; the
 * chain the source held for its backend goes out from the destination.
 */
static void test_migration_destination(void)
{
    g_autoptr(GByteArray) tx = frame_new(other_mac, 300, 1);
    g_autoptr(GByteArray) rx = frame_new(our_mac, 500, 2);
    g_autoptr(GBytes) saved = NULL;
    g_autofree uint8_t *ram = g_malloc(TPCI_RAM_SIZE);
    g_autofree uint8_t *got = g_malloc(500);
    TestDriverQueue q[3];
    uint64_t gpa;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_PROMISC, false);
    f.be.room = 0;
    guest_tx(&f, tx);
    gpa = guest_rx_buf(&f, 2048, true);
    saved = save_devices(&f);
    gread(&f, 0, ram, TPCI_RAM_SIZE);
    memcpy(q, f.q, sizeof(q));
    fix_free(&f);

    fix_plug(&f, false, NULL);
    g_assert_cmphex(tvp_status(&f.t), ==, 0);
    gwrite(&f, 0, ram, TPCI_RAM_SIZE);
    g_assert_true(load_devices(&f, saved, &error_abort));
    memcpy(f.q, q, sizeof(q));
    for (unsigned i = 0; i < 3; i++) {
        f.q[i].mem = &f.m->mem;
        f.q[i].vq = virtio_queue(&f.n->vdev, i);
    }
    g_assert_cmphex(tvp_status(&f.t), ==, VIRTIO_STATUS_ACKNOWLEDGE |
                    VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                    VIRTIO_STATUS_DRIVER_OK);
    g_assert_true(msix_enabled(f.dev));
    g_assert_true(tpci_mmio_mapped(f.m, TVP_BAR_GPA));
    g_assert_false(f.n->promisc);
    tvp_kick(&f.t, VIRTIO_NET_TXQ);
    g_assert_cmpuint(f.be.got->len, ==, 1);
    g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(f.be.got, 0)), ==,
                     300);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_TXQ]), ==, 1);
    g_assert_cmpuint(tvp_msi_count(&f.t, VIRTIO_NET_TXQ), ==, 1);
    backend_send(&f, rx);
    g_assert_cmpuint(tdq_used_idx(&f.q[VIRTIO_NET_RXQ]), ==, 1);
    gread(&f, gpa + VIRTIO_NET_HDR_LEN, got, 500);
    g_assert_cmpmem(got, 500, rx->data, 500);
    fix_free(&f);
}

/* A section whose MAC table counts are bad is refused. */
static void test_migration_hostile(void)
{
    g_autoptr(GBytes) saved = NULL;
    Error *err = NULL;
    Fix f;

    fix_start(&f, false, NULL, BASE_FEATURES);
    f.n->mac_uni_count = 40;
    f.n->mac_multi_count = 40;
    saved = save_devices(&f);
    g_assert_false(load_devices(&f, saved, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "MAC table"));
    error_free(err);
    fix_free(&f);
}

/* The event's name and path, or NULL when the client got nothing. */
static json_object *next_rx_filter_event(Client *c)
{
    json_object *ev = recv_json(c);

    g_assert_cmpstr(json_object_get_string(member(ev, "event")), ==,
                    "NIC_RX_FILTER_CHANGED");
    return member(ev, "data");
}

static json_object *query_rx_filter(Client *c, const char *name)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"query-rx-filter\", \"arguments\": "
        "{\"name\": \"%s\"}}", name);
    json_object *list = member(expect_return(c, cmd, NULL), "return");

    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    return json_object_array_get_idx(list, 0);
}

/* query-rx-filter shows what the guest set; NIC_RX_FILTER_CHANGED comes
 * once per change until a query re-arms it, so a guest rewriting its
 * filter in a loop cannot flood the monitor. */
static void test_rx_filter_qmp(void)
{
    uint8_t table[4 + 4 + 6];
    uint16_t vid = GUINT16_TO_LE(5);
    uint32_t le;
    json_object *data, *info, *list;
    Client *c;
    Fix f;

    fix_start(&f, false, "id=nic0", BASE_FEATURES);
    c = client_new();
    negotiate(c, false);

    g_assert_cmpuint(ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_PROMISC, false), ==,
                     VIRTIO_NET_OK);
    data = next_rx_filter_event(c);
    g_assert_cmpstr(json_object_get_string(member(data, "name")), ==, "nic0");
    g_assert_cmpstr(json_object_get_string(member(data, "path")), ==,
                    "/machine/peripheral/nic0");
    /* No query yet: further changes stay quiet. */
    g_assert_cmpuint(ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_ALLMULTI, true), ==,
                     VIRTIO_NET_OK);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_VLAN,
                                VIRTIO_NET_CTRL_VLAN_ADD, &vid, 2), ==,
                     VIRTIO_NET_OK);
    /* Two empty tables, then one multicast address. */
    le = GUINT32_TO_LE(0);
    memcpy(table, &le, 4);
    le = GUINT32_TO_LE(1);
    memcpy(table + 4, &le, 4);
    memcpy(table + 8, mcast_mac, 6);
    g_assert_cmpuint(guest_ctrl(&f, VIRTIO_NET_CTRL_MAC,
                                VIRTIO_NET_CTRL_MAC_TABLE_SET, table,
                                sizeof(table)), ==, VIRTIO_NET_OK);
    expect_silence(c, 100);

    info = query_rx_filter(c, "nic0");
    g_assert_cmpstr(json_object_get_string(member(info, "name")), ==, "nic0");
    g_assert_false(json_object_get_boolean(member(info, "promiscuous")));
    g_assert_cmpstr(json_object_get_string(member(info, "multicast")), ==,
                    "all");
    g_assert_cmpstr(json_object_get_string(member(info, "unicast")), ==,
                    "normal");
    g_assert_cmpstr(json_object_get_string(member(info, "vlan")), ==,
                    "normal");
    g_assert_true(json_object_get_boolean(member(info,
                                                 "broadcast-allowed")));
    g_assert_cmpstr(json_object_get_string(member(info, "main-mac")), ==,
                    MAC);
    list = member(info, "vlan-table");
    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    g_assert_cmpint(json_object_get_int(json_object_array_get_idx(list, 0)),
                    ==, 5);
    g_assert_cmpuint(json_object_array_length(member(info, "unicast-table")),
                     ==, 0);
    list = member(info, "multicast-table");
    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    g_assert_cmpstr(json_object_get_string(json_object_array_get_idx(list, 0)),
                    ==, "01:00:5e:00:00:01");

    /* The query re-armed the event. */
    g_assert_cmpuint(ctrl_rx_mode(&f, VIRTIO_NET_CTRL_RX_ALLMULTI, false), ==,
                     VIRTIO_NET_OK);
    data = next_rx_filter_event(c);
    g_assert_cmpstr(json_object_get_string(member(data, "name")), ==, "nic0");

    /* Without a name: every NIC with a filter (not the backend). */
    list = member(expect_return(c, "{\"execute\": \"query-rx-filter\"}",
                                NULL), "return");
    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    expect_error(c, "{\"execute\": \"query-rx-filter\", \"arguments\": "
                 "{\"name\": \"n0\"}}", "GenericError",
                 "net client(n0) isn't a NIC", NULL);
    expect_error(c, "{\"execute\": \"query-rx-filter\", \"arguments\": "
                 "{\"name\": \"nope\"}}", "GenericError",
                 "invalid net client name: nope", NULL);
    client_free(c);
    fix_free(&f);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    /* A running VM: virtio-net touches no guest RAM while it is stopped
     * (tests/qtest/test-qtest-accel.c checks that on the real binary). */
    runstate_set(RUN_STATE_RUNNING);
    g_test_add_func("/virtio-net/pci-face", test_pci_face);
    g_test_add_func("/virtio-net/pci-cfg-window", test_pci_cfg_window);
    g_test_add_func("/virtio-net/features", test_features);
    g_test_add_data_func("/virtio-net/tx/plain", GINT_TO_POINTER(0), test_tx);
    g_test_add_data_func("/virtio-net/tx/vnet-hdr", GINT_TO_POINTER(1),
                         test_tx);
    g_test_add_func("/virtio-net/tx/backpressure", test_tx_backpressure);
    g_test_add_data_func("/virtio-net/rx/mergeable/plain",
                         GINT_TO_POINTER(0), test_rx_mergeable);
    g_test_add_data_func("/virtio-net/rx/mergeable/vnet-hdr",
                         GINT_TO_POINTER(1), test_rx_mergeable);
    g_test_add_func("/virtio-net/rx/dirty", test_rx_dirty);
    g_test_add_func("/virtio-net/rx/no-merge", test_rx_no_merge);
    g_test_add_func("/virtio-net/rx/no-buffers", test_rx_no_buffers);
    g_test_add_func("/virtio-net/filters", test_filters);
    g_test_add_func("/virtio-net/ctrl-while-stopped", test_ctrl_while_stopped);
    g_test_add_func("/virtio-net/rx-filter-qmp", test_rx_filter_qmp);
    g_test_add_func("/virtio-net/link", test_link);
    g_test_add_func("/virtio-net/announce", test_announce);
    g_test_add_func("/virtio-net/intx", test_intx);
    g_test_add_func("/virtio-net/msix-no-vector", test_msix_no_vector);
    g_test_add_func("/virtio-net/reset", test_reset);
    g_test_add_func("/virtio-net/hostile/registers", test_hostile_registers);
    g_test_add_func("/virtio-net/hostile/rings", test_hostile_rings);
    g_test_add_func("/virtio-net/hostile/random", test_hostile_random);
    g_test_add_func("/virtio-net/ioeventfd", test_ioeventfd);
    g_test_add_func("/virtio-net/migration", test_migration);
    g_test_add_func("/virtio-net/migration-destination",
                    test_migration_destination);
    g_test_add_func("/virtio-net/migration-hostile", test_migration_hostile);
    return qmp_test_run();
}
