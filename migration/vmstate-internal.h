/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by vmstate.c and vmstate-types.c: per-type properties and
 * the conversion of scalars between memory, the wire and uint64_t.
 */
#ifndef MIGRATION_VMSTATE_INTERNAL_H
#define MIGRATION_VMSTATE_INTERNAL_H

#include "migration/vmstate.h"

typedef struct VMStateTypeInfo {
    const char *name;       /* in the JSON description */
    size_t width;           /* scalar bytes in memory and on the wire */
    bool is_signed;
} VMStateTypeInfo;

const VMStateTypeInfo *vmstate_type_info(VMStateType type);

/* Scalars as uint64_t (signed ones sign-extended in memory order). */
uint64_t vmstate_scalar_read(VMStateType type, const void *p);
void vmstate_scalar_write(VMStateType type, void *p, uint64_t v);
void vmstate_scalar_put(QEMUFile *f, VMStateType type, uint64_t v);
uint64_t vmstate_scalar_get(QEMUFile *f, VMStateType type);
/* An unsigned integer member of 1, 2 or 4 bytes (length fields). */
uint64_t vmstate_uint_read(const void *p, size_t size);

#endif
