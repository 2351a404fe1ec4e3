/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio 1.x driver over PCI for qtests under -accel qtest: the test
 * is the guest. It reaches the device only as a guest would, through
 * config mechanism #1 (ports 0xCF8/0xCFC), MMIO into the BARs the
 * machine assigned at reset, and guest RAM, all over the qtest protocol:
 * it walks the capability list for the virtio vendor capabilities,
 * negotiates features through the common configuration, lays out split
 * virtqueues in guest RAM, and posts and completes buffers.
 *
 * tests/unit/virtio-pci-test-driver.c plays the same role in-process, on
 * a bare machine, with direct pointers into the device (its PCIDevice,
 * MSI-X state and VirtQueues) and the test machine's recorder for MSI; a
 * qtest client can only speak the wire protocol, so the two share the
 * spec (linux/virtio_pci.h, linux/virtio_ring.h), not code.
 */
#ifndef TESTS_QTEST_LIBQVIRTIO_PCI_H
#define TESTS_QTEST_LIBQVIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "libqtest.h"

#define QVP_NO_VECTOR 0xffff

typedef struct QVirtioPci {
    QTestState *s;
    unsigned devfn;
    uint64_t bar;               /* the BAR the virtio capabilities name */
    uint64_t common, isr, device, notify;   /* absolute addresses */
    uint32_t notify_mult;
    unsigned msix_cap;          /* 0: none */
    uint64_t msix_table;        /* absolute address of entry 0 */
} QVirtioPci;

typedef struct QVirtQueue {
    QVirtioPci *d;
    unsigned index;
    uint16_t num;
    uint64_t desc, avail, used;
    uint16_t avail_idx;         /* next index the driver publishes */
    uint16_t next_desc;         /* descriptors are used round robin */
} QVirtQueue;

/* Config space, as a guest reads it (len 1, 2 or 4). */
uint32_t qpci_cfg_read(QTestState *s, unsigned devfn, unsigned reg,
                       unsigned len);
void qpci_cfg_write(QTestState *s, unsigned devfn, unsigned reg,
                    uint32_t val, unsigned len);

/* Finds the virtio capabilities of devfn and its BARs (as assigned),
 * and turns on memory decode and bus mastering. */
void qvp_init(QVirtioPci *d, QTestState *s, unsigned devfn);

uint8_t qvp_status(QVirtioPci *d);
uint64_t qvp_device_features(QVirtioPci *d);
/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; false if the
 * device did not keep FEATURES_OK. */
bool qvp_negotiate(QVirtioPci *d, uint64_t features);
/* Queue index: num entries laid out at gpa (3 pages), vector for its
 * interrupts (QVP_NO_VECTOR: INTx), enabled. */
void qvp_queue_setup(QVirtioPci *d, QVirtQueue *q, unsigned index,
                     uint16_t num, uint64_t gpa, uint16_t vector);
void qvp_set_config_vector(QVirtioPci *d, uint16_t vector);
void qvp_driver_ok(QVirtioPci *d);
/* Reads (and so clears) the ISR, lowering INTx. */
uint8_t qvp_isr(QVirtioPci *d);

/* MSI-X: the entry's message, unmasked; and the enable bit. */
void qvp_msix_set_entry(QVirtioPci *d, unsigned vector, uint64_t addr,
                        uint32_t data);
void qvp_msix_enable(QVirtioPci *d);

/* The device-specific configuration, as a guest reads it: 64-bit
 * fields as two 32-bit reads, retried until config_generation holds
 * still (virtio 1.x 4.1.4.3.1). */
uint8_t qvp_config_readb(QVirtioPci *d, unsigned off);
uint16_t qvp_config_readw(QVirtioPci *d, unsigned off);
uint32_t qvp_config_readl(QVirtioPci *d, unsigned off);
uint64_t qvp_config_readq(QVirtioPci *d, unsigned off);
uint8_t qvp_config_generation(QVirtioPci *d);

/* One buffer in one descriptor; returns its head. */
uint16_t qvq_add(QVirtQueue *q, uint64_t gpa, uint32_t len,
                 bool device_writes);

/* One buffer of a chain: the device reads it, or writes it. */
typedef struct QVirtBuf {
    uint64_t gpa;
    uint32_t len;
    bool device_writes;
} QVirtBuf;

/* A chain of n descriptors (NEXT-linked, taken round robin), published
 * in the available ring; returns its head. */
uint16_t qvq_add_chain(QVirtQueue *q, const QVirtBuf *bufs, unsigned n);
/* The same chain as an indirect table written at table (16 bytes a
 * descriptor), named by one ring descriptor (VIRTIO_F_INDIRECT_DESC). */
uint16_t qvq_add_indirect(QVirtQueue *q, uint64_t table,
                          const QVirtBuf *bufs, unsigned n);
void qvq_kick(QVirtQueue *q);
uint16_t qvq_used_idx(QVirtQueue *q);
/* Polls until used.idx reaches idx; false on timeout. */
bool qvq_wait_used(QVirtQueue *q, uint16_t idx, int timeout_ms);
void qvq_used_elem(QVirtQueue *q, uint16_t slot, uint32_t *id,
                   uint32_t *len);

#endif
