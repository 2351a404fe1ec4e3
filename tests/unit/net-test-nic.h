/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A pretend NIC for netdev tests (tests/unit/test-net-*.c): a
 * NetClientState of kind NIC that records every frame it receives and
 * takes only as many as its room allows, so a test can play a guest
 * with or without RX buffers. Plus the main-loop spinning and the frame
 * builders the netdev tests share.
 */
#ifndef TESTS_UNIT_NET_TEST_NIC_H
#define TESTS_UNIT_NET_TEST_NIC_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "net/net.h"

typedef struct TestNic {
    NetClientState *nc;
    int room;               /* frames it takes now; -1 unlimited */
    GPtrArray *got;         /* GBytes, in arrival order */
} TestNic;

/* A NIC joined to the netdev id (which must exist and be free). */
TestNic *test_nic_new(const char *name, const char *netdev_id);
void test_nic_free(TestNic *n);
/* Sends one frame from the NIC; returns net_send's result. */
ssize_t test_nic_send(TestNic *n, const void *frame, size_t len);

/* Spins the main loop until pred(opaque) or ms pass; returns pred's last
 * value. */
bool test_net_spin_until(bool (*pred)(void *opaque), void *opaque, int ms);
/* Spins for ms. */
void test_net_spin(int ms);

/* Index of the first received frame with this ethertype at offset off
 * (0 for plain frames, the vnet header length otherwise) after index
 * from, or -1. */
int test_nic_find(TestNic *n, guint from, size_t off, uint16_t ethertype);

/* An ARP request (42 bytes) from mac/ip asking for target_ip. */
size_t test_arp_request(uint8_t *buf, const uint8_t mac[6], uint32_t ip,
                        uint32_t target_ip);

/* Runs a shell command; fails the test if it fails. */
void test_sh(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/*
 * NULL when this process can create network namespaces and taps (root,
 * /dev/net/tun, `ip netns`), else why not: netns cases skip with it.
 */
const char *test_netns_unusable_reason(void);

/* NULL when -netdev user works (Tandem built with libslirp), else why
 * not: slirp cases skip with it. */
const char *test_slirp_unusable_reason(void);

#endif
