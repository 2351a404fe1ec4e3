/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pretend virtio driver over virtio-pci (no KVM): on the PCI test
 * machine (pci-test-machine.h) it finds a virtio function's vendor
 * capabilities by walking config space as a guest does, programs its
 * BARs, turns on memory decode and bus mastering, optionally MSI-X with
 * one message per vector (data TVP_MSI_DATA(v)), and then does the
 * driver's start-up through the common configuration in BAR MMIO. The
 * rings are laid out and played with virtio-test-driver's TestDriverQueue
 * helpers, in the machine's guest RAM (rings at TV_RING_GPA(q)).
 */
#ifndef TESTS_UNIT_VIRTIO_PCI_TEST_DRIVER_H
#define TESTS_UNIT_VIRTIO_PCI_TEST_DRIVER_H

#include "pci-test-machine.h"
#include "virtio-test-driver.h"
#include "hw/virtio/virtio-pci.h"

#define TVP_BAR_GPA         0xe0000000ULL   /* BAR4 */
#define TVP_MSIX_GPA        0xe1000000ULL   /* BAR1 */
#define TVP_MSI_ADDR        0xfee00000ULL
#define TVP_MSI_DATA(v)     (0x40u + (v))
#define TVP_MAX_QUEUES      8

typedef struct TestVpci {
    TestPciMachine *m;
    PCIDevice *dev;
    unsigned devfn;
    /* Found in the vendor capabilities: offsets in BAR4. */
    uint8_t cap[8];             /* by cfg_type (1-5); 0: not found */
    uint32_t common, isr, device, notify;
    uint32_t notify_mult;
} TestVpci;

/* Finds the capabilities, maps the BARs, enables memory and mastering. */
void tvp_init(TestVpci *t, TestPciMachine *m, PCIDevice *dev);
/* MSI-X on, every vector unmasked with its own message. */
void tvp_msix_enable(TestVpci *t);

/* Common configuration and the other regions, as MMIO. */
uint64_t tvp_common_read(TestVpci *t, unsigned off, unsigned size);
void tvp_common_write(TestVpci *t, unsigned off, uint64_t v, unsigned size);
uint64_t tvp_device_read(TestVpci *t, unsigned off, unsigned size);
uint8_t tvp_isr_read(TestVpci *t);
uint8_t tvp_status(TestVpci *t);
void tvp_set_status(TestVpci *t, uint8_t status);
uint64_t tvp_device_features(TestVpci *t);

/*
 * The driver's start-up (spec 3.1.1) over the transport: reset,
 * ACKNOWLEDGE, DRIVER, features, FEATURES_OK (false if the device left
 * it clear: the caller checks), then nq queues of size num at
 * TV_RING_GPA(i) with MSI-X vector i (config vector nq) when
 * with_vectors, enabled, DRIVER_OK.
 */
bool tvp_start(TestVpci *t, uint64_t features, unsigned nq, uint16_t num,
               bool with_vectors, TestDriverQueue *q);
/* The notify write for queue q (the ioeventfd's address). */
void tvp_kick(TestVpci *t, unsigned q);
/* MSI messages sent so far with data TVP_MSI_DATA(vector). */
unsigned tvp_msi_count(TestVpci *t, unsigned vector);

#endif
