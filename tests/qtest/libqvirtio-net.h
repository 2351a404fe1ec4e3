/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio-net-pci as a qtest's guest drives it, and the wire at the
 * other end of its -netdev dgram, for qtests under -accel qtest.
 *
 * QVirtioNet is the driver half: it negotiates VIRTIO_F_VERSION_1 only
 * (so the header is the 12-byte virtio_net_hdr_v1, no offloads, no
 * mergeable buffers), lays out one RX and one TX queue and one buffer of
 * each in a window of guest RAM, and sends or receives one frame at a
 * time. QNetWire is the outside world: a unix datagram socket the test
 * holds, named as the remote end of the NIC's -netdev dgram, so frames
 * the guest sends arrive there and frames the test sends arrive at the
 * guest.
 */
#ifndef TESTS_QTEST_LIBQVIRTIO_NET_H
#define TESTS_QTEST_LIBQVIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "libqtest.h"
#include "libqvirtio-pci.h"

#define QVNET_HDR_LEN       12          /* struct virtio_net_hdr_v1 */
#define QVNET_WINDOW        0x30000     /* guest RAM a QVirtioNet uses */
#define QVNET_FRAME_MAX     2048

/* MSI-X messages for the queues (vector 0 RX, 1 TX, 2 config): vector v
 * writes data + v at gpa + 4 v. */
typedef struct QVirtioNetMsi {
    uint64_t gpa;
    uint32_t data;
} QVirtioNetMsi;

typedef struct QVirtioNet {
    QVirtioPci pci;
    QVirtQueue rxq, txq;
    uint64_t rx_buf, tx_buf;
    uint16_t rx_used;           /* used.idx when the RX buffer was posted */
    uint16_t rx_head;
    uint16_t tx_head;           /* the last frame posted */
} QVirtioNet;

/* Drives the NIC at devfn, its rings and buffers in [base, base +
 * QVNET_WINDOW). msi NULL: interrupts through INTx. */
void qvnet_start(QVirtioNet *n, QTestState *s, unsigned devfn, uint64_t base,
                 const QVirtioNetMsi *msi);
/* Posts one frame (a zero header in front) and kicks, without waiting:
 * returns used.idx as it was, for qvq_wait_used(used + 1). */
uint16_t qvnet_tx_post(QVirtioNet *n, const uint8_t *frame, size_t len);
/* qvnet_tx_post, then waits until the device has used the buffer. */
void qvnet_send(QVirtioNet *n, const uint8_t *frame, size_t len);
/* Posts the RX buffer (filled with 0xee first). */
void qvnet_rx_post(QVirtioNet *n);
/* Waits for the posted buffer to be used; the frame (without the
 * header) into frame. -1 if nothing arrived within timeout_ms. */
ssize_t qvnet_rx_wait(QVirtioNet *n, uint8_t *frame, size_t size,
                      int timeout_ms);

typedef struct QNetWire {
    int sock;
    char *test_path;            /* ours: Tandem sends here */
    char *tandem_path;          /* Tandem's: we send there */
    char *netdev_opts;          /* "dgram,local...,remote..." without id */
} QNetWire;

/* A wire with fresh scratch paths; name tells several apart in logs. */
void qnet_wire_open(QNetWire *w, const char *name);
void qnet_wire_close(QNetWire *w);
void qnet_wire_send(QNetWire *w, const uint8_t *frame, size_t len);
/* One datagram; -1 if none within timeout_ms. */
ssize_t qnet_wire_recv(QNetWire *w, uint8_t *buf, size_t size,
                       int timeout_ms);

#endif
