/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Saving and loading device state by its description (vmstate.h), and the
 * JSON description of it for the stream trailer. The loader validates
 * everything the stream decides (versions, counts, lengths, booleans,
 * bounded values, subsection names) before it touches device memory, so a
 * hostile or corrupt stream ends in an Error naming the description and
 * the field, never in an out-of-bounds write.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <glib.h>
#include <json-c/json.h>
#include "vmstate-internal.h"
#include "trace.h"

/* Subsections a loader tracks per description (seen-twice check). */
#define VMSTATE_MAX_SUBSECTIONS 64

/* ---- description ---- */

static void vmstate_describe_into(const VMStateDescription *vmsd,
                                  struct json_object *obj);

static struct json_object *vmstate_describe_field(const VMStateField *fd)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(fd->name));
    json_object_object_add(o, "type",
                           json_object_new_string(vmstate_type_name(fd->type)));
    json_object_object_add(o, "size", json_object_new_int64(fd->size));
    switch (fd->count) {
    case VMS_COUNT_ONE:
        break;
    case VMS_COUNT_FIXED:
        json_object_object_add(o, "count", json_object_new_int64(fd->num));
        break;
    case VMS_COUNT_FIELD:
        json_object_object_add(o, "count_field",
                               json_object_new_string(fd->count_name));
        break;
    }
    if (fd->count == VMS_COUNT_FIELD || (fd->flags & VMS_F_MAX)) {
        json_object_object_add(o, "max", json_object_new_uint64(fd->max));
    }
    if (fd->type == VMS_TYPE_STRUCT) {
        struct json_object *sub = json_object_new_object();

        vmstate_describe_into(fd->vmsd, sub);
        json_object_object_add(o, "struct", sub);
    }
    return o;
}

static void vmstate_describe_into(const VMStateDescription *vmsd,
                                  struct json_object *obj)
{
    struct json_object *fields = json_object_new_array();

    json_object_object_add(obj, "name", json_object_new_string(vmsd->name));
    json_object_object_add(obj, "version",
                           json_object_new_int(vmsd->version_id));
    /* The saver always writes the current version: all fields. */
    for (const VMStateField *fd = vmsd->fields; fd && fd->name; fd++) {
        json_object_array_add(fields, vmstate_describe_field(fd));
    }
    json_object_object_add(obj, "fields", fields);
    if (vmsd->subsections && vmsd->subsections[0]) {
        struct json_object *subs = json_object_new_array();

        for (int i = 0; vmsd->subsections[i]; i++) {
            struct json_object *sub = json_object_new_object();

            vmstate_describe_into(vmsd->subsections[i], sub);
            json_object_array_add(subs, sub);
        }
        json_object_object_add(obj, "subsections", subs);
    }
}

struct json_object *vmstate_describe(const VMStateDescription *vmsd)
{
    struct json_object *obj = json_object_new_object();

    vmstate_describe_into(vmsd, obj);
    return obj;
}

/* ---- save ---- */

static uint64_t vmstate_field_count(const VMStateField *fd, void *opaque)
{
    switch (fd->count) {
    case VMS_COUNT_ONE:
        return 1;
    case VMS_COUNT_FIXED:
        return fd->num;
    case VMS_COUNT_FIELD:
        return vmstate_uint_read((uint8_t *)opaque + fd->count_offset,
                                 fd->count_size);
    }
    g_assert_not_reached();
}

static bool vmstate_save_subs(QEMUFile *f, const VMStateDescription *vmsd,
                              void *opaque, struct json_object *desc,
                              bool every_subsection, Error **errp);

static bool vmstate_save_field(QEMUFile *f, const VMStateDescription *vmsd,
                               const VMStateField *fd, void *opaque,
                               bool every_subsection, Error **errp)
{
    ERRP_GUARD();
    static const uint8_t zeros[256];
    uint8_t *base = (uint8_t *)opaque + fd->offset;
    uint64_t n = vmstate_field_count(fd, opaque);

    /* Never put on the wire what the loader would reject. */
    if (fd->count == VMS_COUNT_FIELD && n > fd->max) {
        error_setg(errp, "vmstate '%s' field '%s': value %" PRIu64
                   " exceeds %" PRIu64, vmsd->name, fd->count_name, n,
                   fd->max);
        return false;
    }
    if (fd->flags & VMS_F_POINTER) {
        base = *(uint8_t **)base;
        if (!base && n) {
            error_setg(errp, "vmstate '%s' field '%s': no buffer for %"
                       PRIu64 " elements", vmsd->name, fd->name, n);
            return false;
        }
    }
    switch (fd->type) {
    case VMS_TYPE_UNUSED:
        for (size_t left = fd->size; left; ) {
            size_t k = MIN(left, sizeof(zeros));

            qemu_put_buffer(f, zeros, k);
            left -= k;
        }
        return true;
    case VMS_TYPE_BUFFER:
        qemu_put_buffer(f, base, n * fd->size);
        return true;
    case VMS_TYPE_STRUCT:
        for (uint64_t i = 0; i < n; i++) {
            if (!vmstate_save_subs(f, fd->vmsd, base + i * fd->size, NULL,
                                   every_subsection, errp)) {
                error_prepend(errp, "vmstate '%s' field '%s[%" PRIu64
                              "]': ", vmsd->name, fd->name, i);
                return false;
            }
        }
        return true;
    default:
        for (uint64_t i = 0; i < n; i++) {
            vmstate_scalar_put(f, fd->type,
                               vmstate_scalar_read(fd->type,
                                                   base + i * fd->size));
        }
        return true;
    }
}

static bool vmstate_subsection_needed(const VMStateDescription *sub,
                                      void *opaque, bool every_subsection)
{
    return every_subsection || !sub->needed || sub->needed(opaque);
}

static bool vmstate_save_subs(QEMUFile *f, const VMStateDescription *vmsd,
                              void *opaque, struct json_object *desc,
                              bool every_subsection, Error **errp)
{
    const VMStateDescription *const *subs = vmsd->subsections;
    unsigned nsub = 0;

    trace_vmstate_save(vmsd->name, vmsd->version_id);
    if (vmsd->pre_save && !vmsd->pre_save(opaque, errp)) {
        error_prepend(errp, "vmstate '%s': ", vmsd->name);
        return false;
    }
    for (const VMStateField *fd = vmsd->fields; fd && fd->name; fd++) {
        if (!vmstate_save_field(f, vmsd, fd, opaque, every_subsection,
                                errp)) {
            return false;
        }
    }
    for (int i = 0; subs && subs[i]; i++) {
        nsub += vmstate_subsection_needed(subs[i], opaque, every_subsection);
    }
    g_assert(nsub <= VMSTATE_MAX_SUBSECTIONS);
    qemu_put_byte(f, nsub);
    for (int i = 0; subs && subs[i]; i++) {
        if (!vmstate_subsection_needed(subs[i], opaque, every_subsection)) {
            continue;
        }
        trace_vmstate_subsection_save(vmsd->name, subs[i]->name);
        qemu_put_counted_string(f, subs[i]->name);
        qemu_put_be32(f, subs[i]->version_id);
        if (!vmstate_save_subs(f, subs[i], opaque, NULL, every_subsection,
                               errp)) {
            return false;
        }
    }
    if (desc) {
        vmstate_describe_into(vmsd, desc);
    }
    return true;
}

bool vmstate_save(QEMUFile *f, const VMStateDescription *vmsd, void *opaque,
                  struct json_object *desc, Error **errp)
{
    return vmstate_save_subs(f, vmsd, opaque, desc, false, errp);
}

bool vmstate_save_all(QEMUFile *f, const VMStateDescription *vmsd,
                      void *opaque, struct json_object *desc, Error **errp)
{
    return vmstate_save_subs(f, vmsd, opaque, desc, true, errp);
}

/* ---- load ---- */

/* Turns the stream's sticky error into one naming the field. */
static bool vmstate_check_file(QEMUFile *f, const VMStateDescription *vmsd,
                               const char *what, Error **errp)
{
    int ret = qemu_file_get_error(f, NULL);

    if (!ret) {
        return true;
    }
    if (ret == -ENODATA) {
        error_setg(errp, "vmstate '%s' %s: truncated", vmsd->name, what);
    } else {
        error_setg(errp, "vmstate '%s' %s: %s", vmsd->name, what,
                   qemu_file_error_message(f));
    }
    return false;
}

static bool vmstate_load_scalars(QEMUFile *f, const VMStateDescription *vmsd,
                                 const VMStateField *fd, uint8_t *base,
                                 uint64_t n, Error **errp)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = vmstate_scalar_get(f, fd->type);

        if (qemu_file_get_error(f, NULL)) {
            return true;        /* reported by the caller, with the field */
        }
        if (fd->type == VMS_TYPE_BOOL && v > 1) {
            error_setg(errp, "vmstate '%s' field '%s': value %" PRIu64
                       " is not a boolean", vmsd->name, fd->name, v);
            return false;
        }
        if ((fd->flags & VMS_F_MAX) && v > fd->max) {
            error_setg(errp, "vmstate '%s' field '%s': value %" PRIu64
                       " exceeds %" PRIu64, vmsd->name, fd->name, v, fd->max);
            return false;
        }
        vmstate_scalar_write(fd->type, base + i * fd->size, v);
    }
    return true;
}

static bool vmstate_load_field(QEMUFile *f, const VMStateDescription *vmsd,
                               const VMStateField *fd, void *opaque,
                               Error **errp)
{
    ERRP_GUARD();
    uint8_t *base = (uint8_t *)opaque + fd->offset;
    uint64_t n = vmstate_field_count(fd, opaque);
    g_autofree char *what = g_strdup_printf("field '%s'", fd->name);

    /* The length member was loaded (from the stream) before this field. */
    if (fd->count == VMS_COUNT_FIELD && n > fd->max) {
        error_setg(errp, "vmstate '%s' field '%s': value %" PRIu64
                   " exceeds %" PRIu64, vmsd->name, fd->count_name, n,
                   fd->max);
        return false;
    }
    if (fd->flags & VMS_F_POINTER) {
        uint8_t **p = (uint8_t **)base;

        if (n) {
            *p = g_realloc(*p, n * fd->size);
        } else {
            g_clear_pointer(p, g_free);
        }
        base = *p;
    }
    switch (fd->type) {
    case VMS_TYPE_UNUSED:
        qemu_file_skip(f, fd->size);
        break;
    case VMS_TYPE_BUFFER:
        qemu_get_buffer(f, base, n * fd->size);
        break;
    case VMS_TYPE_STRUCT:
        for (uint64_t i = 0; i < n; i++) {
            if (!vmstate_load(f, fd->vmsd, base + i * fd->size,
                              fd->vmsd->version_id, errp)) {
                error_prepend(errp, "vmstate '%s' field '%s[%" PRIu64
                              "]': ", vmsd->name, fd->name, i);
                return false;
            }
        }
        break;
    default:
        if (!vmstate_load_scalars(f, vmsd, fd, base, n, errp)) {
            return false;
        }
        break;
    }
    return vmstate_check_file(f, vmsd, what, errp);
}

static const VMStateDescription *
vmstate_find_subsection(const VMStateDescription *vmsd, const char *name,
                        int *index)
{
    for (int i = 0; vmsd->subsections && vmsd->subsections[i]; i++) {
        if (!strcmp(vmsd->subsections[i]->name, name)) {
            *index = i;
            return vmsd->subsections[i];
        }
    }
    return NULL;
}

static bool vmstate_load_subsections(QEMUFile *f,
                                     const VMStateDescription *vmsd,
                                     void *opaque, Error **errp)
{
    uint64_t seen = 0;
    unsigned nsub = qemu_get_byte(f);

    if (!vmstate_check_file(f, vmsd, "subsection count", errp)) {
        return false;
    }
    for (unsigned i = 0; i < nsub; i++) {
        char name[256];
        const VMStateDescription *sub;
        uint32_t version;
        int index = 0;

        qemu_get_counted_string(f, name);
        version = qemu_get_be32(f);
        if (!vmstate_check_file(f, vmsd, "subsection header", errp)) {
            return false;
        }
        sub = vmstate_find_subsection(vmsd, name, &index);
        if (!sub) {
            error_setg(errp, "vmstate '%s': unknown subsection '%s'",
                       vmsd->name, name);
            return false;
        }
        if (seen & (1ull << index)) {
            error_setg(errp, "vmstate '%s': subsection '%s' sent twice",
                       vmsd->name, name);
            return false;
        }
        seen |= 1ull << index;
        trace_vmstate_subsection_load(vmsd->name, name, version);
        if (version > INT32_MAX) {
            error_setg(errp, "vmstate '%s': version %" PRIu32 " is newer "
                       "than supported %d", sub->name, version,
                       sub->version_id);
            return false;
        }
        if (!vmstate_load(f, sub, opaque, version, errp)) {
            return false;
        }
    }
    return true;
}

bool vmstate_load(QEMUFile *f, const VMStateDescription *vmsd, void *opaque,
                  int version_id, Error **errp)
{
    trace_vmstate_load(vmsd->name, version_id);
    if (version_id > vmsd->version_id) {
        error_setg(errp, "vmstate '%s': version %d is newer than supported "
                   "%d", vmsd->name, version_id, vmsd->version_id);
        return false;
    }
    if (version_id < vmsd->minimum_version_id) {
        error_setg(errp, "vmstate '%s': version %d is older than minimum %d",
                   vmsd->name, version_id, vmsd->minimum_version_id);
        return false;
    }
    if (vmsd->pre_load && !vmsd->pre_load(opaque, errp)) {
        error_prepend(errp, "vmstate '%s': ", vmsd->name);
        return false;
    }
    for (const VMStateField *fd = vmsd->fields; fd && fd->name; fd++) {
        if (fd->version_id > version_id) {
            continue;       /* added after the version we are loading */
        }
        if (!vmstate_load_field(f, vmsd, fd, opaque, errp)) {
            return false;
        }
    }
    if (!vmstate_load_subsections(f, vmsd, opaque, errp)) {
        return false;
    }
    if (vmsd->post_load && !vmsd->post_load(opaque, version_id, errp)) {
        error_prepend(errp, "vmstate '%s': ", vmsd->name);
        return false;
    }
    return true;
}
