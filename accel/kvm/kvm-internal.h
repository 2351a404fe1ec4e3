/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the files of accel/kvm only. */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H

#include "accel/kvm.h"

/* (Re)registers one block as its KVM slot with the given flags. */
bool kvm_set_slot(KvmState *s, RamBlock *b, uint32_t flags, Error **errp);

#endif
