/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The memory-backend-ram object and the machine's RAM resolution
 * (include/system/memory-backend.h), and memory-backend-file's class,
 * whose objects are refused for now.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "qom/object.h"
#include "system/memory-backend.h"
#include "util/keyval.h"
#include "trace.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23      /* Linux 5.14 */
#endif

/* A boolean that knows whether it was given. */
typedef struct OptBool {
    bool set, value;
} OptBool;

typedef struct HostMemoryBackend {
    Object parent;
    uint64_t size;
    bool share;
    bool prealloc;
    OptBool dump;           /* default: the machine's dump-guest-core */
    OptBool merge;
    bool in_use;            /* it is the machine's RAM */
} HostMemoryBackend;

static bool backend_parse_optbool(Object *obj, const ObjectProperty *p,
                                  const char *text, Error **errp)
{
    OptBool *b = (OptBool *)((uint8_t *)obj + p->offset);

    if (!parse_bool(text, &b->value, NULL)) {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", p->name);
        return false;
    }
    b->set = true;
    return true;
}

static bool backend_complete(Object *obj, Error **errp)
{
    HostMemoryBackend *be = (HostMemoryBackend *)obj;

    if (!be->size) {
        /* QEMU's text. */
        error_setg(errp, "can't create backend with size 0");
        return false;
    }
    if (be->size % GUEST_PAGE_SIZE) {
        error_setg(errp, "memory backend '%s': size %" G_GUINT64_FORMAT
                   " is not a multiple of 4 KiB", obj->id, be->size);
        return false;
    }
    /*
     * KSM merges private anonymous memory only; guest RAM here is a
     * shared memfd, so merge=on would be ignored: refused instead.
     */
    if (be->merge.set && be->merge.value) {
        error_setg(errp, "memory backend '%s': merge=on is not supported: "
                   "Tandem's guest RAM is a shared memfd, which KSM does not "
                   "merge", obj->id);
        return false;
    }
    trace_memory_backend_complete(obj->id, be->size);
    return true;
}

static bool backend_can_delete(Object *obj, Error **errp)
{
    HostMemoryBackend *be = (HostMemoryBackend *)obj;

    if (be->in_use) {
        /* QEMU's text for a backend that is mapped. */
        error_setg(errp, "object '%s' is in use, can not be deleted",
                   obj->id);
        return false;
    }
    return true;
}

static const ObjectProperty backend_props[] = {
    { .name = "size", .type = OBJ_PROP_UINT,
      .offset = offsetof(HostMemoryBackend, size),
      .desc = "size of the memory region in bytes", .required = true },
    OBJ_PROP("share", OBJ_PROP_BOOL, HostMemoryBackend, share,
             "accepted either way: guest RAM is always a memfd mapped "
             "shared, which the guest cannot tell from private memory"),
    OBJ_PROP("prealloc", OBJ_PROP_BOOL, HostMemoryBackend, prealloc,
             "allocate every page before the guest starts"),
    { .name = "dump", .type = OBJ_PROP_CUSTOM, .custom_type = "bool",
      .offset = offsetof(HostMemoryBackend, dump),
      .desc = "include the memory in core dumps (default: the machine's "
              "dump-guest-core)", .parse = backend_parse_optbool },
    { .name = "merge", .type = OBJ_PROP_CUSTOM, .custom_type = "bool",
      .offset = offsetof(HostMemoryBackend, merge),
      .desc = "off only: KSM does not merge Tandem's shared guest RAM",
      .parse = backend_parse_optbool },
    { NULL },
};

static const TypeInfo memory_backend_type = {
    .name = TYPE_MEMORY_BACKEND,
    .parent = "object",
    .abstract = true,
    .instance_size = sizeof(HostMemoryBackend),
    .props = backend_props,
};
TYPE_REGISTER(memory_backend_type)

static const TypeInfo memory_backend_ram_type = {
    .name = TYPE_MEMORY_BACKEND_RAM,
    .parent = TYPE_MEMORY_BACKEND,
    .description = "guest RAM (a memfd)",
    .user_creatable = true,
    .instance_size = sizeof(HostMemoryBackend),
    .complete = backend_complete,
    .can_delete = backend_can_delete,
};
TYPE_REGISTER(memory_backend_ram_type)

typedef struct BackendInfoWalk {
    bool default_dump;
    void (*fn)(const MemoryBackendInfo *info, void *opaque);
    void *opaque;
} BackendInfoWalk;

static void backend_info_one(Object *obj, void *opaque)
{
    BackendInfoWalk *walk = opaque;
    HostMemoryBackend *be = (HostMemoryBackend *)obj;
    MemoryBackendInfo info;

    if (!type_is_a(obj->type, TYPE_MEMORY_BACKEND)) {
        return;
    }
    info = (MemoryBackendInfo) {
        .id = obj->id, .size = be->size, .prealloc = be->prealloc,
        .share = be->share,
        .dump = be->dump.set ? be->dump.value : walk->default_dump,
    };
    walk->fn(&info, walk->opaque);
}

void memory_backend_foreach_info(bool default_dump,
                                 void (*fn)(const MemoryBackendInfo *info,
                                            void *opaque),
                                 void *opaque)
{
    BackendInfoWalk walk = { default_dump, fn, opaque };

    object_foreach(backend_info_one, &walk);
}

bool memory_backend_machine_ram(const char *backend_id,
                                const char *default_id, uint64_t ram_size,
                                bool ram_size_given, bool dump_guest_core,
                                MachineRamSpec *out, Error **errp)
{
    Object *obj;
    HostMemoryBackend *be;

    memset(out, 0, sizeof(*out));
    if (!backend_id) {
        /* QEMU's text: the default RAM would clash with the object. */
        if (object_find(default_id)) {
            error_setg(errp, "object name '%s' is reserved for the default "
                       "RAM backend, it can't be used for any other "
                       "purposes. Change the object's 'id' to something "
                       "else", default_id);
            return false;
        }
        g_strlcpy(out->name, default_id, sizeof(out->name));
        out->size = ram_size;
        out->dump = dump_guest_core;
        return true;
    }
    obj = object_find(backend_id);
    if (!obj || !type_is_a(obj->type, TYPE_MEMORY_BACKEND)) {
        error_setg(errp, "Memory backend '%s' not found", backend_id);
        return false;
    }
    be = (HostMemoryBackend *)obj;
    if (ram_size_given && be->size != ram_size) {
        error_setg(errp, "Size specified by -m option must match size of "
                   "explicitly specified 'memory-backend' property");
        return false;
    }
    if (be->in_use) {
        error_setg(errp, "memory backend %s can't be used multiple times.",
                   backend_id);
        return false;
    }
    /* ".high" is appended for RAM above 4 GiB. */
    if (strlen(backend_id) + strlen(".high") >= sizeof(out->name)) {
        error_setg(errp, "memory backend id '%s' is too long for guest RAM "
                   "(at most %zu characters)", backend_id,
                   sizeof(out->name) - 1 - strlen(".high"));
        return false;
    }
    g_strlcpy(out->name, backend_id, sizeof(out->name));
    out->size = be->size;
    out->dump = be->dump.set ? be->dump.value : dump_guest_core;
    out->prealloc = be->prealloc;
    be->in_use = true;
    return true;
}

bool memory_backend_apply(const MachineRamSpec *spec, RamBlock *block,
                          Error **errp)
{
    if (madvise(block->host, block->size,
                spec->dump ? MADV_DODUMP : MADV_DONTDUMP) < 0) {
        error_setg_errno(errp, errno, "cannot set core dump policy of %s",
                         block->name);
        return false;
    }
    if (spec->prealloc) {
        /* Allocates without writing the guest's (zero) contents. */
        if (madvise(block->host, block->size, MADV_POPULATE_WRITE) < 0) {
            if (errno != EINVAL) {
                error_setg_errno(errp, errno, "cannot preallocate %s",
                                 block->name);
                return false;
            }
            /* An older kernel: touch every page (they are all zero). */
            for (uint64_t off = 0; off < block->size;
                 off += GUEST_PAGE_SIZE) {
                block->host[off] = 0;
            }
        }
    }
    trace_memory_backend_apply(block->name, spec->dump, spec->prealloc);
    return true;
}

/*
 * memory-backend-file: the class exists so that introspection answers as
 * on every QEMU built for Linux (libvirt 9.0 asks qom-list-properties for
 * it unconditionally, and crashes on DeviceNotFound), but an object is
 * refused: guest RAM here is a memfd, never a file the user names.
 */
static bool backend_file_complete(Object *obj, Error **errp)
{
    error_setg(errp, "memory backend '%s': memory-backend-file is not "
               "supported yet: Tandem's guest RAM is a memfd "
               "(use memory-backend-ram)", obj->id);
    return false;
}

typedef struct HostMemoryBackendFile {
    HostMemoryBackend parent;
    char *mem_path;
} HostMemoryBackendFile;

static const ObjectProperty backend_file_props[] = {
    OBJ_PROP("mem-path", OBJ_PROP_STR, HostMemoryBackendFile, mem_path,
             "file to map as guest RAM (not supported yet)"),
    { NULL },
};

static const TypeInfo memory_backend_file_type = {
    .name = TYPE_MEMORY_BACKEND_FILE,
    .parent = TYPE_MEMORY_BACKEND,
    .description = "guest RAM from a file (not supported yet)",
    .user_creatable = true,
    .instance_size = sizeof(HostMemoryBackendFile),
    .props = backend_file_props,
    .complete = backend_file_complete,
};
TYPE_REGISTER(memory_backend_file_type)
