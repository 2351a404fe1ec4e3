/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio-net-pci driver and the wire at its -netdev dgram, for qtests
 * (see libqvirtio-net.h).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include "libqvirtio-net.h"

/* Where things sit in the window. */
#define RXQ_OFF     0x00000
#define TXQ_OFF     0x10000
#define RXBUF_OFF   0x20000
#define TXBUF_OFF   0x21000
#define QUEUE_SIZE  16

void qvnet_start(QVirtioNet *n, QTestState *s, unsigned devfn, uint64_t base,
                 const QVirtioNetMsi *msi)
{
    uint16_t rx_vector = msi ? 0 : QVP_NO_VECTOR;
    uint16_t tx_vector = msi ? 1 : QVP_NO_VECTOR;

    memset(n, 0, sizeof(*n));
    n->rx_buf = base + RXBUF_OFF;
    n->tx_buf = base + TXBUF_OFF;
    qvp_init(&n->pci, s, devfn);
    g_assert_cmphex(qvp_device_features(&n->pci) &
                    (1ULL << VIRTIO_F_VERSION_1), !=, 0);
    g_assert_true(qvp_negotiate(&n->pci, 1ULL << VIRTIO_F_VERSION_1));
    if (msi) {
        for (unsigned v = 0; v < 3; v++) {
            qvp_msix_set_entry(&n->pci, v, msi->gpa + 4 * v, msi->data + v);
        }
        qvp_msix_enable(&n->pci);
    }
    qvp_set_config_vector(&n->pci, msi ? 2 : QVP_NO_VECTOR);
    qvp_queue_setup(&n->pci, &n->rxq, 0, QUEUE_SIZE, base + RXQ_OFF,
                    rx_vector);
    qvp_queue_setup(&n->pci, &n->txq, 1, QUEUE_SIZE, base + TXQ_OFF,
                    tx_vector);
    qvp_driver_ok(&n->pci);
}

uint16_t qvnet_tx_post(QVirtioNet *n, const uint8_t *frame, size_t len)
{
    static const uint8_t hdr[QVNET_HDR_LEN];
    uint16_t used = qvq_used_idx(&n->txq);

    g_assert_cmpuint(len, <=, QVNET_FRAME_MAX);
    qtest_memwrite(n->pci.s, n->tx_buf, hdr, QVNET_HDR_LEN);
    qtest_memwrite(n->pci.s, n->tx_buf + QVNET_HDR_LEN, frame, len);
    n->tx_head = qvq_add(&n->txq, n->tx_buf, QVNET_HDR_LEN + len, false);
    qvq_kick(&n->txq);
    return used;
}

void qvnet_send(QVirtioNet *n, const uint8_t *frame, size_t len)
{
    uint16_t used = qvnet_tx_post(n, frame, len);
    uint32_t id, used_len;

    g_assert_true(qvq_wait_used(&n->txq, used + 1, qtest_timeout_ms()));
    qvq_used_elem(&n->txq, used, &id, &used_len);
    g_assert_cmpuint(id, ==, n->tx_head);
}

void qvnet_rx_post(QVirtioNet *n)
{
    n->rx_used = qvq_used_idx(&n->rxq);
    qtest_memset(n->pci.s, n->rx_buf, 0xee, QVNET_HDR_LEN + QVNET_FRAME_MAX);
    n->rx_head = qvq_add(&n->rxq, n->rx_buf, QVNET_HDR_LEN + QVNET_FRAME_MAX,
                         true);
    qvq_kick(&n->rxq);
}

ssize_t qvnet_rx_wait(QVirtioNet *n, uint8_t *frame, size_t size,
                      int timeout_ms)
{
    uint32_t id, len;

    if (!qvq_wait_used(&n->rxq, n->rx_used + 1, timeout_ms)) {
        return -1;
    }
    qvq_used_elem(&n->rxq, n->rx_used, &id, &len);
    g_assert_cmpuint(id, ==, n->rx_head);
    g_assert_cmpuint(len, >=, QVNET_HDR_LEN);
    len -= QVNET_HDR_LEN;
    g_assert_cmpuint(len, <=, size);
    qtest_memread(n->pci.s, n->rx_buf + QVNET_HDR_LEN, frame, len);
    return len;
}

/* ---- the wire ---- */

void qnet_wire_open(QNetWire *w, const char *name)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autofree char *ours = g_strdup_printf("%s-wire.sock", name);
    g_autofree char *theirs = g_strdup_printf("%s-nic.sock", name);

    w->test_path = qtest_scratch_path(ours);
    w->tandem_path = qtest_scratch_path(theirs);
    g_assert_cmpuint(strlen(w->test_path), <, sizeof(sa.sun_path));
    g_assert_cmpuint(strlen(w->tandem_path), <, sizeof(sa.sun_path));
    strcpy(sa.sun_path, w->test_path);
    w->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(w->sock, >=, 0);
    g_assert_cmpint(bind(w->sock, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    w->netdev_opts = g_strdup_printf("dgram,local.type=unix,local.path=%s,"
                                     "remote.type=unix,remote.path=%s",
                                     w->tandem_path, w->test_path);
}

void qnet_wire_close(QNetWire *w)
{
    close(w->sock);
    unlink(w->test_path);
    g_free(w->test_path);
    g_free(w->tandem_path);
    g_free(w->netdev_opts);
}

void qnet_wire_send(QNetWire *w, const uint8_t *frame, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    strcpy(sa.sun_path, w->tandem_path);
    g_assert_cmpint(sendto(w->sock, frame, len, 0, (struct sockaddr *)&sa,
                           sizeof(sa)), ==, (ssize_t)len);
}

ssize_t qnet_wire_recv(QNetWire *w, uint8_t *buf, size_t size, int timeout_ms)
{
    struct pollfd p = { .fd = w->sock, .events = POLLIN };
    int r;

    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    g_assert_cmpint(r, >=, 0);
    return r ? recv(w->sock, buf, size, 0) : -1;
}
