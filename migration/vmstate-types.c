/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The element types of vmstate fields: one table row per type giving its
 * JSON name and width, and the moves of scalar values between a device
 * struct, the stream (big-endian, fixed width) and a uint64_t that the
 * loader checks before storing.
 */
#include <string.h>
#include <glib.h>
#include "vmstate-internal.h"

static const VMStateTypeInfo vmstate_types[VMS_TYPE__MAX] = {
    [VMS_TYPE_UINT8]  = { .name = "uint8",  .width = 1 },
    [VMS_TYPE_UINT16] = { .name = "uint16", .width = 2 },
    [VMS_TYPE_UINT32] = { .name = "uint32", .width = 4 },
    [VMS_TYPE_UINT64] = { .name = "uint64", .width = 8 },
    [VMS_TYPE_INT8]   = { .name = "int8",   .width = 1, .is_signed = true },
    [VMS_TYPE_INT16]  = { .name = "int16",  .width = 2, .is_signed = true },
    [VMS_TYPE_INT32]  = { .name = "int32",  .width = 4, .is_signed = true },
    [VMS_TYPE_INT64]  = { .name = "int64",  .width = 8, .is_signed = true },
    [VMS_TYPE_BOOL]   = { .name = "bool",   .width = 1 },
    [VMS_TYPE_BUFFER] = { .name = "buffer" },
    [VMS_TYPE_STRUCT] = { .name = "struct" },
    [VMS_TYPE_UNUSED] = { .name = "unused" },
};

const VMStateTypeInfo *vmstate_type_info(VMStateType type)
{
    g_assert(type < VMS_TYPE__MAX);
    return &vmstate_types[type];
}

const char *vmstate_type_name(VMStateType type)
{
    return vmstate_type_info(type)->name;
}

uint64_t vmstate_scalar_read(VMStateType type, const void *p)
{
    switch (type) {
    case VMS_TYPE_UINT8:  return *(const uint8_t *)p;
    case VMS_TYPE_UINT16: return *(const uint16_t *)p;
    case VMS_TYPE_UINT32: return *(const uint32_t *)p;
    case VMS_TYPE_UINT64: return *(const uint64_t *)p;
    case VMS_TYPE_INT8:   return (uint64_t)(int64_t)*(const int8_t *)p;
    case VMS_TYPE_INT16:  return (uint64_t)(int64_t)*(const int16_t *)p;
    case VMS_TYPE_INT32:  return (uint64_t)(int64_t)*(const int32_t *)p;
    case VMS_TYPE_INT64:  return *(const uint64_t *)p;
    case VMS_TYPE_BOOL:   return *(const bool *)p;
    default:
        g_assert_not_reached();
    }
}

void vmstate_scalar_write(VMStateType type, void *p, uint64_t v)
{
    switch (type) {
    case VMS_TYPE_UINT8:
    case VMS_TYPE_INT8:
        *(uint8_t *)p = v;
        break;
    case VMS_TYPE_UINT16:
    case VMS_TYPE_INT16:
        *(uint16_t *)p = v;
        break;
    case VMS_TYPE_UINT32:
    case VMS_TYPE_INT32:
        *(uint32_t *)p = v;
        break;
    case VMS_TYPE_UINT64:
    case VMS_TYPE_INT64:
        *(uint64_t *)p = v;
        break;
    case VMS_TYPE_BOOL:
        *(bool *)p = v != 0;
        break;
    default:
        g_assert_not_reached();
    }
}

void vmstate_scalar_put(QEMUFile *f, VMStateType type, uint64_t v)
{
    switch (vmstate_types[type].width) {
    case 1: qemu_put_byte(f, v); break;
    case 2: qemu_put_be16(f, v); break;
    case 4: qemu_put_be32(f, v); break;
    case 8: qemu_put_be64(f, v); break;
    default: g_assert_not_reached();
    }
}

uint64_t vmstate_scalar_get(QEMUFile *f, VMStateType type)
{
    /* Wire values are zero-extended; signed types are stored back at their
     * width, so no sign extension is needed here. */
    switch (vmstate_types[type].width) {
    case 1: return qemu_get_byte(f);
    case 2: return qemu_get_be16(f);
    case 4: return qemu_get_be32(f);
    case 8: return qemu_get_be64(f);
    default: g_assert_not_reached();
    }
}

uint64_t vmstate_uint_read(const void *p, size_t size)
{
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: return *(const uint16_t *)p;
    case 4: return *(const uint32_t *)p;
    case 8: return *(const uint64_t *)p;
    default: g_assert_not_reached();
    }
}
