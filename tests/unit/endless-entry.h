/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A live savevm entry that always has more to send: it stands in for
 * RAM in the unit tests that need a migration to stay active
 * (test-migration-bounds, test-dump), without /dev/kvm. Its stream is
 * a be32 0 at setup, 16 zero pages per iteration, a be32 0 at the end;
 * its pending figure (1 TiB) never lets the migration converge.
 */
#ifndef TESTS_UNIT_ENDLESS_ENTRY_H
#define TESTS_UNIT_ENDLESS_ENTRY_H

#include "migration/savevm.h"

#define ENDLESS_ENTRY_ID "endless"

extern const SaveVMHandlers endless_entry_ops;

#endif
