/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the unit tests that run a guest share (they need Tandem's
 * libraries; tests/common has the GLib-only helpers): the little guests,
 * hand-assembled 32-bit code that runs in flat protected mode from
 * TEST_GUEST_CODE_GPA with no firmware, and the steps that build a VM
 * around one (KVM with its irqchip, the code in RAM registered with KVM,
 * a vCPU at the entry point) and run it. Every step that fails ends the
 * test program with g_error() and the reason: there is nothing to test
 * without the guest.
 *
 * The guests:
 *   counter  endless loop: increments the dword at TEST_GUEST_COUNTER_GPA
 *            and ECX, spins ESI (>= 1) times after each store, and every
 *            256 iterations writes ECX to TEST_GUEST_PORT (4 bytes).
 *   writer   reads a table at TEST_GUEST_TABLE_GPA (count, value, delay,
 *            then count addresses), stores value at each address and
 *            spins delay (>= 1) times after each, then does an OUT to
 *            TEST_GUEST_PORT ("round done") and starts over. It only reads
 *            the code and the table, so it dirties exactly the pages the
 *            table names.
 */
#ifndef TESTS_UNIT_UNIT_HELPERS_H
#define TESTS_UNIT_UNIT_HELPERS_H

#include <glib.h>
#include "accel/kvm.h"
#include "system/memory.h"

#define TEST_GUEST_CODE_GPA     0x1000ULL
#define TEST_GUEST_TABLE_GPA    0x2000ULL   /* writer: count, value, delay */
#define TEST_GUEST_TABLE_MAX    3000        /* writer: ends below 0x5000 */
#define TEST_GUEST_COUNTER_GPA  0x3000ULL   /* counter */
#define TEST_GUEST_PORT         0xf4

typedef struct TestGuestProgram {
    const uint8_t *code;
    size_t size;
} TestGuestProgram;

extern const TestGuestProgram test_guest_counter;
extern const TestGuestProgram test_guest_writer;

/* Opens KVM (dirty_ring_size 0: the dirty bitmap) with its irqchip. */
void test_vm_kvm_init(KvmState *kvm, uint32_t dirty_ring_size);
/* Writes prog at TEST_GUEST_CODE_GPA into mem (RAM already added) and
 * registers mem with KVM. */
void test_vm_load(KvmState *kvm, GuestMemory *mem,
                  const TestGuestProgram *prog);
/* vCPU 0, alone, with CPUID, at the entry point in flat 32-bit mode. */
void test_vm_vcpu_create(KvmState *kvm, KvmVcpu *vcpu);
/*
 * KVM_RUN on this thread until the guest's OUT to TEST_GUEST_PORT. A full
 * dirty ring is harvested here, as a vCPU thread would, and counted in
 * *ring_full_exits (when not NULL); any other exit is an error.
 */
void test_vm_run_until_port(KvmVcpu *vcpu, unsigned *ring_full_exits);

/* Sleeps with the BQL released, so vCPU threads can handle exits. */
void test_sleep_unlocked(gulong us);

#endif
