/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The accelerator: what runs the machine. Chosen once, from -accel or
 * -machine accel=, before the machine is built, and fixed for the life
 * of the process:
 *
 *   kvm    vCPUs under KVM: RAM registered as memory slots, the in-kernel
 *          irqchip and PIT, MSI through KVM, doorbells as ioeventfds.
 *   qtest  no vCPUs and no /dev/kvm: RAM is plain memfd memory, interrupt
 *          lines go to a software line-state model that the qtest server
 *          can intercept (irq_intercept_in), MSI messages are 4-byte
 *          writes into guest RAM. Devices are driven by a test over the
 *          qtest protocol (system/qtest.c), as with QEMU's qtest accel.
 *
 * A list "kvm:tcg" is tried in order and the first usable one wins (kvm
 * when /dev/kvm opens read-write, qtest always; tcg is not in this
 * binary and is skipped). The none machine needs no accelerator: when no
 * alternative is usable it runs with ACCEL_NONE, which query-kvm reports
 * as not enabled.
 */
#ifndef SYSTEM_ACCEL_H
#define SYSTEM_ACCEL_H

#include <stdbool.h>
#include "util/error.h"

typedef enum AccelKind {
    ACCEL_NONE,         /* not chosen yet, or none usable (none machine) */
    ACCEL_KVM,
    ACCEL_QTEST,
} AccelKind;

/* "kvm", "qtest", "none". */
const char *accel_name(AccelKind kind);

/*
 * Checks a list ("kvm", "kvm:tcg", "qtest") at parse time: every name
 * must be one QEMU knows; at least one must be in this binary.
 */
bool accel_list_check(const char *list, Error **errp);

/*
 * Picks the first usable accelerator of list (NULL: "kvm"). Fails naming
 * why each candidate is unusable, unless may_be_none: then ACCEL_NONE.
 * A kvm that is the last candidate of a machine that needs one is chosen
 * without probing /dev/kvm, so that opening it reports the real error.
 */
bool accel_select(const char *list, bool may_be_none, AccelKind *kind,
                  Error **errp);

/* NULL when /dev/kvm can be opened read-write, else why not. */
const char *accel_kvm_unusable_reason(void);

/* The accelerator of this process, set once by main(). */
void accel_set_current(AccelKind kind);
AccelKind accel_current(void);

/* Prints -accel help. */
void accel_print_help(void);

#endif
