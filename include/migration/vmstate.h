/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device state descriptions. A device declares its migratable state as a
 * table of fields next to its state struct; vmstate_save() writes the
 * fields in table order (big-endian, no per-field tags), then the
 * subsections that are needed; vmstate_load() reads them back and treats
 * the stream as hostile: versions, array counts, buffer lengths, bounded
 * values, booleans and subsection names are all checked, and every error
 * names the description and the field:
 *
 *     vmstate 'serial' field 'rx_count': value 40 exceeds 16
 *     vmstate 'cpu' field 'xsave': truncated
 *
 * Fields are built with macros that check the C type of the member at
 * compile time: VMSTATE_UINT32(x, S) does not compile unless S.x is a
 * uint32_t. Body of one description on the wire:
 *
 *     field values in table order (fields newer than the version skipped)
 *     u8   number of subsections that follow
 *     per subsection: counted-string name, be32 version, body (recursive)
 *
 * See docs/devel/migration-stream.md for a worked example.
 */
#ifndef MIGRATION_VMSTATE_H
#define MIGRATION_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "migration/qemu-file.h"
#include "util/error.h"

struct json_object;
typedef struct VMStateDescription VMStateDescription;

/* Element types. Their wire width and JSON name are in vmstate-types.c. */
typedef enum VMStateType {
    VMS_TYPE_UINT8,
    VMS_TYPE_UINT16,
    VMS_TYPE_UINT32,
    VMS_TYPE_UINT64,
    VMS_TYPE_INT8,
    VMS_TYPE_INT16,
    VMS_TYPE_INT32,
    VMS_TYPE_INT64,
    VMS_TYPE_BOOL,
    VMS_TYPE_BUFFER,    /* raw bytes, element size 1 */
    VMS_TYPE_STRUCT,    /* a nested description */
    VMS_TYPE_UNUSED,    /* .size zero bytes on save, skipped on load */
    VMS_TYPE__MAX,
} VMStateType;

/* How many elements a field has. */
typedef enum VMStateCount {
    VMS_COUNT_ONE,
    VMS_COUNT_FIXED,    /* .num */
    VMS_COUNT_FIELD,    /* the value of another (earlier) unsigned field,
                           at most .max */
} VMStateCount;

enum {
    VMS_F_POINTER = 1 << 0, /* member points to the elements (g_malloc'd);
                               load reallocates it to the loaded count */
    VMS_F_MAX     = 1 << 1, /* scalar: load rejects values above .max */
};

typedef struct VMStateField {
    const char *name;           /* NULL ends the table */
    VMStateType type;
    VMStateCount count;
    unsigned flags;
    size_t offset;
    size_t size;                /* bytes per element */
    uint32_t num;               /* VMS_COUNT_FIXED */
    uint64_t max;               /* VMS_COUNT_FIELD bound; VMS_F_MAX bound */
    const char *count_name;     /* VMS_COUNT_FIELD: the length member */
    size_t count_offset;
    size_t count_size;          /* 1, 2 or 4 */
    const VMStateDescription *vmsd;     /* VMS_TYPE_STRUCT */
    int version_id;             /* first version carrying this field */
} VMStateField;

struct VMStateDescription {
    const char *name;
    int version_id;
    int minimum_version_id;
    /* Subsections only: whether to send it (absent = always). Ignored by
     * vmstate_save_all() (COLO, strict switchover). */
    bool (*needed)(void *opaque);
    bool (*pre_save)(void *opaque, Error **errp);
    bool (*pre_load)(void *opaque, Error **errp);
    /* Checks invariants the field checks cannot see, then fixes up. */
    bool (*post_load)(void *opaque, int version_id, Error **errp);
    const VMStateField *fields;
    const VMStateDescription *const *subsections;   /* NULL-terminated */
};

/*
 * Writes opaque's state. If desc is a JSON object, the description of
 * what is written (see docs/devel/migration-stream.md) is added to it.
 * Fails only when pre_save fails or a pointer buffer is missing; stream
 * errors stay in f.
 */
bool vmstate_save(QEMUFile *f, const VMStateDescription *vmsd, void *opaque,
                  struct json_object *desc, Error **errp);
/* Reads state saved at version_id into opaque. */
bool vmstate_load(QEMUFile *f, const VMStateDescription *vmsd, void *opaque,
                  int version_id, Error **errp);
/* The description alone (a new JSON object), as vmstate_save adds it. */
struct json_object *vmstate_describe(const VMStateDescription *vmsd);

/*
 * vmstate_save(), but every subsection goes out whatever its needed()
 * says, so that loading overwrites all of the state (a COLO checkpoint
 * loads on top of a running secondary; a strict switchover may be
 * retried on top of an earlier attempt).
 */
bool vmstate_save_all(QEMUFile *f, const VMStateDescription *vmsd,
                      void *opaque, struct json_object *desc, Error **errp);

/* The JSON name of a type ("uint32", "buffer", ...). */
const char *vmstate_type_name(VMStateType type);

/* ---- field macros ---- */

/* A compile-time check usable inside an initializer: 0, or an error. */
#define VMSTATE_CHECK(cond)                                             \
    (0 * sizeof(struct { _Static_assert(cond, "vmstate: " #cond);     \
                         int vmstate_check_; }))
#define VMSTATE_MEMBER(S, f)        (((S *)0)->f)
#define VMSTATE_IS(S, f, T)                                             \
    __builtin_types_compatible_p(__typeof__(VMSTATE_MEMBER(S, f)), T)
#define VMSTATE_ELEM_IS(S, f, T)                                        \
    __builtin_types_compatible_p(__typeof__(VMSTATE_MEMBER(S, f)[0]), T)
/* An array, not a pointer. */
#define VMSTATE_IS_ARRAY(S, f)                                          \
    (!__builtin_types_compatible_p(__typeof__(VMSTATE_MEMBER(S, f)),    \
                                   __typeof__(&VMSTATE_MEMBER(S, f)[0])))

/* Kernel headers spell 64-bit types "long long", <stdint.h> "long". */
#define VMSTATE_OK_UINT8(S, f)   VMSTATE_IS(S, f, uint8_t)
#define VMSTATE_OK_UINT16(S, f)  VMSTATE_IS(S, f, uint16_t)
#define VMSTATE_OK_UINT32(S, f)  VMSTATE_IS(S, f, uint32_t)
#define VMSTATE_OK_UINT64(S, f)  (VMSTATE_IS(S, f, uint64_t) ||        \
                                  VMSTATE_IS(S, f, unsigned long long))
#define VMSTATE_OK_INT8(S, f)    VMSTATE_IS(S, f, int8_t)
#define VMSTATE_OK_INT16(S, f)   VMSTATE_IS(S, f, int16_t)
#define VMSTATE_OK_INT32(S, f)   VMSTATE_IS(S, f, int32_t)
#define VMSTATE_OK_INT64(S, f)   (VMSTATE_IS(S, f, int64_t) ||         \
                                  VMSTATE_IS(S, f, long long))
#define VMSTATE_OK_BOOL(S, f)    VMSTATE_IS(S, f, bool)
#define VMSTATE_CTYPE_UINT8      uint8_t
#define VMSTATE_CTYPE_UINT16     uint16_t
#define VMSTATE_CTYPE_UINT32     uint32_t
#define VMSTATE_CTYPE_UINT64     uint64_t
#define VMSTATE_CTYPE_INT8       int8_t
#define VMSTATE_CTYPE_INT16      int16_t
#define VMSTATE_CTYPE_INT32      int32_t
#define VMSTATE_CTYPE_INT64      int64_t
#define VMSTATE_CTYPE_BOOL       bool

#define VMSTATE_SCALAR_V(f, S, T, v) {                                  \
    .name = #f,                                                         \
    .type = VMS_TYPE_##T,                                               \
    .count = VMS_COUNT_ONE,                                             \
    .offset = offsetof(S, f) + VMSTATE_CHECK(VMSTATE_OK_##T(S, f)),     \
    .size = sizeof(VMSTATE_CTYPE_##T),                                  \
    .version_id = (v),                                                  \
}

/* A fixed array: the member must be exactly T[n]. */
#define VMSTATE_ARRAY_V(f, S, T, n, v) {                                \
    .name = #f,                                                         \
    .type = VMS_TYPE_##T,                                               \
    .count = VMS_COUNT_FIXED,                                           \
    .num = (n),                                                         \
    .offset = offsetof(S, f) +                                          \
        VMSTATE_CHECK(VMSTATE_IS_ARRAY(S, f) &&                         \
                      sizeof(VMSTATE_MEMBER(S, f)) ==                   \
                      (n) * sizeof(VMSTATE_CTYPE_##T) &&                \
                      VMSTATE_OK_##T(S, f[0])),                         \
    .size = sizeof(VMSTATE_CTYPE_##T),                                  \
    .version_id = (v),                                                  \
}

/* An unsigned scalar whose loaded value must not exceed max. */
#define VMSTATE_SCALAR_LE_V(f, S, T, max_, v) {                         \
    .name = #f,                                                         \
    .type = VMS_TYPE_##T,                                               \
    .count = VMS_COUNT_ONE,                                             \
    .flags = VMS_F_MAX,                                                 \
    .max = (max_),                                                      \
    .offset = offsetof(S, f) + VMSTATE_CHECK(VMSTATE_OK_##T(S, f)),     \
    .size = sizeof(VMSTATE_CTYPE_##T),                                  \
    .version_id = (v),                                                  \
}

#define VMSTATE_UINT8_V(f, S, v)    VMSTATE_SCALAR_V(f, S, UINT8, v)
#define VMSTATE_UINT16_V(f, S, v)   VMSTATE_SCALAR_V(f, S, UINT16, v)
#define VMSTATE_UINT32_V(f, S, v)   VMSTATE_SCALAR_V(f, S, UINT32, v)
#define VMSTATE_UINT64_V(f, S, v)   VMSTATE_SCALAR_V(f, S, UINT64, v)
#define VMSTATE_INT8_V(f, S, v)     VMSTATE_SCALAR_V(f, S, INT8, v)
#define VMSTATE_INT16_V(f, S, v)    VMSTATE_SCALAR_V(f, S, INT16, v)
#define VMSTATE_INT32_V(f, S, v)    VMSTATE_SCALAR_V(f, S, INT32, v)
#define VMSTATE_INT64_V(f, S, v)    VMSTATE_SCALAR_V(f, S, INT64, v)
#define VMSTATE_BOOL_V(f, S, v)     VMSTATE_SCALAR_V(f, S, BOOL, v)
#define VMSTATE_UINT8(f, S)         VMSTATE_UINT8_V(f, S, 0)
#define VMSTATE_UINT16(f, S)        VMSTATE_UINT16_V(f, S, 0)
#define VMSTATE_UINT32(f, S)        VMSTATE_UINT32_V(f, S, 0)
#define VMSTATE_UINT64(f, S)        VMSTATE_UINT64_V(f, S, 0)
#define VMSTATE_INT8(f, S)          VMSTATE_INT8_V(f, S, 0)
#define VMSTATE_INT16(f, S)         VMSTATE_INT16_V(f, S, 0)
#define VMSTATE_INT32(f, S)         VMSTATE_INT32_V(f, S, 0)
#define VMSTATE_INT64(f, S)         VMSTATE_INT64_V(f, S, 0)
#define VMSTATE_BOOL(f, S)          VMSTATE_BOOL_V(f, S, 0)

#define VMSTATE_UINT8_LE(f, S, max)  VMSTATE_SCALAR_LE_V(f, S, UINT8, max, 0)
#define VMSTATE_UINT16_LE(f, S, max) VMSTATE_SCALAR_LE_V(f, S, UINT16, max, 0)
#define VMSTATE_UINT32_LE(f, S, max) VMSTATE_SCALAR_LE_V(f, S, UINT32, max, 0)
#define VMSTATE_UINT64_LE(f, S, max) VMSTATE_SCALAR_LE_V(f, S, UINT64, max, 0)

#define VMSTATE_UINT8_ARRAY(f, S, n)    VMSTATE_ARRAY_V(f, S, UINT8, n, 0)
#define VMSTATE_UINT16_ARRAY(f, S, n)   VMSTATE_ARRAY_V(f, S, UINT16, n, 0)
#define VMSTATE_UINT32_ARRAY(f, S, n)   VMSTATE_ARRAY_V(f, S, UINT32, n, 0)
#define VMSTATE_UINT64_ARRAY(f, S, n)   VMSTATE_ARRAY_V(f, S, UINT64, n, 0)
#define VMSTATE_INT32_ARRAY(f, S, n)    VMSTATE_ARRAY_V(f, S, INT32, n, 0)
#define VMSTATE_INT64_ARRAY(f, S, n)    VMSTATE_ARRAY_V(f, S, INT64, n, 0)
#define VMSTATE_BOOL_ARRAY(f, S, n)     VMSTATE_ARRAY_V(f, S, BOOL, n, 0)
#define VMSTATE_UINT8_ARRAY_V(f, S, n, v)  VMSTATE_ARRAY_V(f, S, UINT8, n, v)
#define VMSTATE_UINT32_ARRAY_V(f, S, n, v) VMSTATE_ARRAY_V(f, S, UINT32, n, v)
#define VMSTATE_UINT64_ARRAY_V(f, S, n, v) VMSTATE_ARRAY_V(f, S, UINT64, n, v)

/* A whole array of bytes (uint8_t, char: any 1-byte element). */
#define VMSTATE_BUFFER_V(f, S, v) {                                     \
    .name = #f,                                                         \
    .type = VMS_TYPE_BUFFER,                                            \
    .count = VMS_COUNT_FIXED,                                           \
    .num = sizeof(VMSTATE_MEMBER(S, f)),                                \
    .offset = offsetof(S, f) +                                          \
        VMSTATE_CHECK(VMSTATE_IS_ARRAY(S, f) &&                         \
                      sizeof(VMSTATE_MEMBER(S, f)[0]) == 1),            \
    .size = 1,                                                          \
    .version_id = (v),                                                  \
}
#define VMSTATE_BUFFER(f, S)        VMSTATE_BUFFER_V(f, S, 0)

/* Length member of a variable field: an unsigned integer in S. */
#define VMSTATE_COUNT_OF(S, len, T)                                     \
    .count = VMS_COUNT_FIELD,                                           \
    .count_name = #len,                                                 \
    .count_offset = offsetof(S, len) + VMSTATE_CHECK(VMSTATE_IS(S, len, T)), \
    .count_size = sizeof(T)

/* Bytes f[0 .. S.len) of an inline byte array; len <= max <= sizeof(f). */
#define VMSTATE_VBUFFER_UINT32(f, S, len, max_) {                       \
    .name = #f,                                                         \
    .type = VMS_TYPE_BUFFER,                                            \
    VMSTATE_COUNT_OF(S, len, uint32_t),                                 \
    .max = (max_),                                                      \
    .offset = offsetof(S, f) +                                          \
        VMSTATE_CHECK(VMSTATE_IS_ARRAY(S, f) &&                         \
                      sizeof(VMSTATE_MEMBER(S, f)[0]) == 1 &&           \
                      (max_) <= sizeof(VMSTATE_MEMBER(S, f))),          \
    .size = 1,                                                          \
}

/* S.len bytes at the g_malloc'd pointer f; load reallocates f to the
 * loaded length (at most max), e.g. X86CPUState.xsave/xsave_size. */
#define VMSTATE_VBUFFER_ALLOC_UINT32(f, S, len, max_) {                 \
    .name = #f,                                                         \
    .type = VMS_TYPE_BUFFER,                                            \
    VMSTATE_COUNT_OF(S, len, uint32_t),                                 \
    .flags = VMS_F_POINTER,                                             \
    .max = (max_),                                                      \
    .offset = offsetof(S, f) +                                          \
        VMSTATE_CHECK(VMSTATE_IS(S, f, uint8_t *)),                     \
    .size = 1,                                                          \
}

/* A nested struct of type T described by vmsd. It is saved at its
 * description's current version: evolve it with subsections. */
#define VMSTATE_STRUCT_V(f, S, v, vmsd_, T) {                           \
    .name = #f,                                                         \
    .type = VMS_TYPE_STRUCT,                                            \
    .count = VMS_COUNT_ONE,                                             \
    .vmsd = &(vmsd_),                                                   \
    .offset = offsetof(S, f) + VMSTATE_CHECK(VMSTATE_IS(S, f, T)),      \
    .size = sizeof(T),                                                  \
    .version_id = (v),                                                  \
}
#define VMSTATE_STRUCT(f, S, vmsd, T)   VMSTATE_STRUCT_V(f, S, 0, vmsd, T)

#define VMSTATE_STRUCT_ARRAY_V(f, S, n, v, vmsd_, T) {                  \
    .name = #f,                                                         \
    .type = VMS_TYPE_STRUCT,                                            \
    .count = VMS_COUNT_FIXED,                                           \
    .num = (n),                                                         \
    .vmsd = &(vmsd_),                                                   \
    .offset = offsetof(S, f) + VMSTATE_CHECK(VMSTATE_IS(S, f, T[n])),   \
    .size = sizeof(T),                                                  \
    .version_id = (v),                                                  \
}
#define VMSTATE_STRUCT_ARRAY(f, S, n, vmsd, T)                          \
    VMSTATE_STRUCT_ARRAY_V(f, S, n, 0, vmsd, T)

/* Elements f[0 .. S.len) of an inline array of T; len <= max <= its
 * capacity (e.g. X86CPUState.msrs/nr_msrs). */
#define VMSTATE_STRUCT_VARRAY_UINT32(f, S, len, max_, vmsd_, T) {       \
    .name = #f,                                                         \
    .type = VMS_TYPE_STRUCT,                                            \
    VMSTATE_COUNT_OF(S, len, uint32_t),                                 \
    .max = (max_),                                                      \
    .vmsd = &(vmsd_),                                                   \
    .offset = offsetof(S, f) +                                          \
        VMSTATE_CHECK(VMSTATE_IS_ARRAY(S, f) && VMSTATE_ELEM_IS(S, f, T) && \
                      (max_) * sizeof(T) <= sizeof(VMSTATE_MEMBER(S, f))), \
    .size = sizeof(T),                                                  \
}

/* n reserved bytes: zeros on save, ignored on load (fields removed from,
 * or padding kept in, the wire format). */
#define VMSTATE_UNUSED_V(v, n) {                                        \
    .name = "unused",                                                   \
    .type = VMS_TYPE_UNUSED,                                            \
    .count = VMS_COUNT_ONE,                                             \
    .size = (n),                                                        \
    .version_id = (v),                                                  \
}
#define VMSTATE_UNUSED(n)           VMSTATE_UNUSED_V(0, n)

#define VMSTATE_END_OF_LIST()       { .name = NULL }

#endif
