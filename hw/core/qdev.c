/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device registry (see include/hw/core/qdev.h): device types on top
 * of the QOM type registry, the machine's buses, and every device in
 * creation order. Devices keep their own id namespace, apart from
 * -object's, as QEMU's /machine/peripheral is apart from /objects.
 * Creating parses and checks properties only; realizing is what touches
 * the machine (ports, IRQs, chardevs), so the command line can be checked
 * before KVM is opened.
 */
#include <string.h>
#include "hw/core/qdev.h"
#include "trace.h"

static GHashTable *device_classes;  /* const TypeInfo * -> DeviceClass */
static GPtrArray *qdev_devices;     /* DeviceState *, creation order */
static GPtrArray *qdev_buses;       /* BusState *, registration order */

static const char *const bus_kind_names[] = {
    [BUS_KIND_NONE] = "none",
    [BUS_KIND_ISA] = "ISA",
    [BUS_KIND_PCI] = "PCI",
};

const char *bus_kind_name(BusKind kind)
{
    g_assert(kind < BUS_KIND__MAX);
    return bus_kind_names[kind];
}

void device_class_register(const DeviceClass *dc)
{
    if (!device_classes) {
        device_classes = g_hash_table_new(NULL, NULL);
    }
    g_hash_table_insert(device_classes, (gpointer)&dc->type, (gpointer)dc);
    type_register(&dc->type);
}

const DeviceClass *device_class_of(const TypeInfo *type)
{
    const DeviceClass *dc;

    if (!type || !type_is_a(type, TYPE_DEVICE)) {
        return NULL;
    }
    dc = g_hash_table_lookup(device_classes, type);
    /* A type deriving from "device" registered with TYPE_REGISTER has
     * no DeviceClass: a programming error, caught on first use. */
    g_assert(dc);
    return dc;
}

const char *qdev_type_name(const DeviceState *dev)
{
    return dev->parent_obj.type->name;
}

static const DeviceClass *device_class_parent(const DeviceClass *dc)
{
    return dc->type.parent ? device_class_of(type_find(dc->type.parent))
                           : NULL;
}

/* Hooks are inherited: the nearest class that has one. */
#define DEVICE_HOOK(dc, hook) ({                                    \
    const DeviceClass *c_ = (dc);                                   \
    while (c_ && !c_->hook) {                                       \
        c_ = device_class_parent(c_);                               \
    }                                                               \
    c_ ? c_->hook : NULL;                                           \
})

/* ---- buses ---- */

BusState *qdev_find_bus(const char *name)
{
    for (guint i = 0; qdev_buses && i < qdev_buses->len; i++) {
        BusState *bus = g_ptr_array_index(qdev_buses, i);
        if (!strcmp(bus->name, name)) {
            return bus;
        }
    }
    return NULL;
}

static BusState *qdev_find_bus_kind(BusKind kind)
{
    for (guint i = 0; qdev_buses && i < qdev_buses->len; i++) {
        BusState *bus = g_ptr_array_index(qdev_buses, i);
        if (bus->kind == kind) {
            return bus;
        }
    }
    return NULL;
}

bool qdev_bus_register(BusState *bus, Error **errp)
{
    if (qdev_find_bus(bus->name)) {
        error_setg(errp, "Bus '%s' already exists", bus->name);
        return false;
    }
    if (!qdev_buses) {
        qdev_buses = g_ptr_array_new();
    }
    g_ptr_array_add(qdev_buses, bus);
    trace_qdev_bus_register(bus->name, bus_kind_name(bus->kind));
    return true;
}

void qdev_bus_unregister(BusState *bus)
{
    for (guint i = qdev_devices ? qdev_devices->len : 0; i-- > 0;) {
        DeviceState *dev = g_ptr_array_index(qdev_devices, i);
        if (dev->bus == bus) {
            qdev_delete(dev);
        }
    }
    if (qdev_buses && g_ptr_array_remove(qdev_buses, bus)) {
        trace_qdev_bus_unregister(bus->name);
    }
}

/* ---- creating ---- */

static const DeviceClass *qdev_lookup_class(const char *driver,
                                            Error **errp)
{
    const DeviceClass *dc = device_class_of(type_find(driver));

    if (!dc) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return NULL;
    }
    /* QEMU's texts for these two. */
    if (dc->type.abstract) {
        error_setg(errp, "Parameter 'driver' expects a non-abstract device "
                   "type");
        return NULL;
    }
    if (dc->no_user) {
        error_setg(errp, "Parameter 'driver' expects a pluggable device "
                   "type");
        return NULL;
    }
    return dc;
}

DeviceState *qdev_new(const char *type, Error **errp)
{
    const DeviceClass *dc = device_class_of(type_find(type));
    DeviceState *dev;

    if (!dc || dc->type.abstract) {
        error_setg(errp, "'%s' is not a valid device model name", type);
        return NULL;
    }
    g_assert(dc->type.instance_size >= sizeof(DeviceState));
    dev = DEVICE(object_new_instance(&dc->type, errp));
    if (dev) {
        dev->dc = dc;
    }
    return dev;
}

bool qdev_set_prop(DeviceState *dev, const char *name, const char *value,
                   Error **errp)
{
    g_assert(!dev->bus);
    return object_set_prop_str(&dev->parent_obj, name, value, errp);
}

static bool qdev_check_id(const char *id, Error **errp)
{
    if (!object_id_valid(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (qdev_find_id(id)) {
        error_setg(errp, "Duplicate ID '%s' for device", id);
        return false;
    }
    return true;
}

/* Into the registry: from here on the device holds its id. */
static bool qdev_list(DeviceState *dev, Error **errp)
{
    if (dev->listed) {
        return true;
    }
    if (dev->parent_obj.id && !qdev_check_id(dev->parent_obj.id, errp)) {
        return false;
    }
    if (!qdev_devices) {
        qdev_devices = g_ptr_array_new();
    }
    g_ptr_array_add(qdev_devices, dev);
    dev->listed = true;
    trace_qdev_create(qdev_type_name(dev), dev->parent_obj.id ?: "");
    return true;
}

/* The part of creation shared by the keyval and JSON forms: the type's
 * checks once every property is set, then into the registry. */
static DeviceState *qdev_finish_create(DeviceState *dev, Error **errp)
{
    const TypeInfo *t = dev->parent_obj.type;

    if ((t->complete && !t->complete(&dev->parent_obj, errp)) ||
        !qdev_list(dev, errp)) {
        qdev_delete(dev);
        return NULL;
    }
    return dev;
}

/* The first part of creation shared by the keyval and JSON forms: the
 * driver, id and bus keys, before the properties are set. */
static DeviceState *qdev_start_create(const char *driver, const char *id,
                                      const char *bus, Error **errp)
{
    DeviceState *dev;

    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return NULL;
    }
    if (!qdev_lookup_class(driver, errp) ||
        (id && !qdev_check_id(id, errp))) {
        return NULL;
    }
    dev = qdev_new(driver, errp);
    if (!dev) {
        return NULL;
    }
    dev->parent_obj.id = g_strdup(id);
    dev->bus_name = g_strdup(bus);
    return dev;
}

static const char *const qdev_reserved_keys[] = { "driver", "id", "bus",
                                                  NULL };

DeviceState *qdev_create_keyval(const KeyvalList *kv, Error **errp)
{
    const char *driver = keyval_get(kv, "driver");
    const char *id = keyval_get(kv, "id");
    const char *bus = keyval_get(kv, "bus");
    DeviceState *dev;

    dev = qdev_start_create(driver, id, bus, errp);
    if (!dev) {
        return NULL;
    }
    if (!object_set_props_keyval(&dev->parent_obj, kv, qdev_reserved_keys,
                                 errp)) {
        qdev_delete(dev);
        return NULL;
    }
    return qdev_finish_create(dev, errp);
}

/* A reserved member of device_add's arguments: absent or a string. */
static bool qdev_json_str(json_object *args, const char *key,
                          const char **out, Error **errp)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(args, key, &v)) {
        return true;
    }
    if (!json_object_is_type(v, json_type_string)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: string",
                   key);
        return false;
    }
    *out = json_object_get_string(v);
    return true;
}

DeviceState *qdev_create_json(json_object *args, Error **errp)
{
    const char *driver, *id, *bus;
    DeviceState *dev;

    if (!args || !json_object_is_type(args, json_type_object)) {
        error_setg(errp, "Invalid parameter type, expected: object");
        return NULL;
    }
    if (!qdev_json_str(args, "driver", &driver, errp) ||
        !qdev_json_str(args, "id", &id, errp) ||
        !qdev_json_str(args, "bus", &bus, errp)) {
        return NULL;
    }
    dev = qdev_start_create(driver, id, bus, errp);
    if (!dev) {
        return NULL;
    }
    if (!object_set_props_json(&dev->parent_obj, args, qdev_reserved_keys,
                               errp)) {
        qdev_delete(dev);
        return NULL;
    }
    return qdev_finish_create(dev, errp);
}

DeviceState *qdev_create_cmdline(const char *optarg, Error **errp)
{
    g_autoptr(KeyvalList) kv = NULL;

    if (optarg[0] == '{') {
        json_object *args = json_tokener_parse(optarg);
        DeviceState *dev = NULL;

        if (!args || !json_object_is_type(args, json_type_object)) {
            error_setg(errp, "-device: invalid JSON object");
        } else {
            dev = qdev_create_json(args, errp);
        }
        json_object_put(args);
        return dev;
    }
    kv = keyval_parse(optarg, "driver", errp);
    return kv ? qdev_create_keyval(kv, errp) : NULL;
}

/* ---- realizing ---- */

static BusState *qdev_choose_bus(DeviceState *dev, Error **errp)
{
    BusState *bus;

    if (dev->bus_name) {
        bus = qdev_find_bus(dev->bus_name);
        if (!bus) {
            error_setg(errp, "Bus '%s' not found", dev->bus_name);
            return NULL;
        }
        return bus;
    }
    bus = qdev_find_bus_kind(dev->dc->bus_kind);
    if (!bus) {
        error_setg(errp, "No '%s' bus found for device '%s'",
                   bus_kind_name(dev->dc->bus_kind), qdev_type_name(dev));
    }
    return bus;
}

bool qdev_realize(DeviceState *dev, BusState *bus, Error **errp)
{
    bool (*realize)(DeviceState *, BusState *, Error **);

    g_assert(!dev->bus);
    if (!bus && !(bus = qdev_choose_bus(dev, errp))) {
        goto fail;
    }
    if (bus->kind != dev->dc->bus_kind) {
        error_setg(errp, "Device '%s' can't go on %s bus",
                   qdev_type_name(dev), bus_kind_name(bus->kind));
        goto fail;
    }
    if (!qdev_list(dev, errp)) {
        goto fail;
    }
    realize = DEVICE_HOOK(dev->dc, realize);
    if (realize && !realize(dev, bus, errp)) {
        goto fail;
    }
    dev->bus = bus;
    trace_qdev_realize(qdev_type_name(dev), dev->parent_obj.id ?: "",
                       bus->name);
    return true;

fail:
    qdev_delete(dev);
    return false;
}

bool qdev_realize_pending(Error **errp)
{
    ERRP_GUARD();

    /* Realizing may add devices; walk by index over the live array. */
    for (guint i = 0; qdev_devices && i < qdev_devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(qdev_devices, i);
        g_autofree char *what = NULL;

        if (dev->bus) {
            continue;
        }
        what = dev->parent_obj.id
            ? g_strdup_printf("%s (id '%s')", qdev_type_name(dev),
                              dev->parent_obj.id)
            : g_strdup(qdev_type_name(dev));
        if (!qdev_realize(dev, NULL, errp)) {
            error_prepend(errp, "-device %s: ", what);
            return false;
        }
    }
    return true;
}

/* ---- deleting ---- */

void qdev_delete(DeviceState *dev)
{
    if (dev->bus) {
        void (*unrealize)(DeviceState *) = DEVICE_HOOK(dev->dc, unrealize);

        trace_qdev_unrealize(qdev_type_name(dev), dev->parent_obj.id ?: "");
        if (unrealize) {
            unrealize(dev);
        }
        dev->bus = NULL;
    }
    if (dev->listed) {
        g_ptr_array_remove(qdev_devices, dev);
        dev->listed = false;
    }
    g_free(dev->bus_name);
    object_free(&dev->parent_obj);
}

void qdev_delete_all(void)
{
    while (qdev_devices && qdev_devices->len) {
        qdev_delete(g_ptr_array_index(qdev_devices, qdev_devices->len - 1));
    }
}

/* ---- lookups ---- */

DeviceState *qdev_find_id(const char *id)
{
    for (guint i = 0; qdev_devices && i < qdev_devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(qdev_devices, i);
        if (dev->parent_obj.id && !strcmp(dev->parent_obj.id, id)) {
            return dev;
        }
    }
    return NULL;
}

void qdev_foreach(void (*fn)(DeviceState *dev, void *opaque), void *opaque)
{
    for (guint i = 0; qdev_devices && i < qdev_devices->len; i++) {
        fn(g_ptr_array_index(qdev_devices, i), opaque);
    }
}

char *qdev_canonical_path(DeviceState *dev)
{
    unsigned anon = 0;

    if (dev->parent_obj.id) {
        return g_strdup_printf("/machine/peripheral/%s", dev->parent_obj.id);
    }
    for (guint i = 0; qdev_devices && i < qdev_devices->len; i++) {
        DeviceState *d = g_ptr_array_index(qdev_devices, i);

        if (d == dev) {
            return g_strdup_printf("/machine/peripheral-anon/device[%u]",
                                   anon);
        }
        anon += !d->parent_obj.id;
    }
    g_assert_not_reached();     /* dev is not in the registry */
}

void qdev_reset_all(void)
{
    for (guint i = 0; qdev_devices && i < qdev_devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(qdev_devices, i);
        void (*reset)(DeviceState *) = DEVICE_HOOK(dev->dc, reset);

        if (dev->bus && reset) {
            reset(dev);
        }
    }
}

/* ---- hotplug: device_add / device_del ---- */

/* QEMU's texts: the device type, then the bus, must allow hotplug. */
static bool qdev_check_hotplug(DeviceState *dev, BusState *bus,
                               Error **errp)
{
    if (!dev->dc->hotpluggable) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   qdev_type_name(dev));
        return false;
    }
    if (bus && !bus->hotpluggable) {
        error_setg(errp, "Bus '%s' does not support hotplugging", bus->name);
        return false;
    }
    return true;
}

static DeviceState *qdev_hotplug(DeviceState *dev, Error **errp)
{
    BusState *bus;

    if (!dev) {
        return NULL;
    }
    if (!qdev_check_hotplug(dev, NULL, errp) ||
        !(bus = qdev_choose_bus(dev, errp)) ||
        !qdev_check_hotplug(dev, bus, errp)) {
        qdev_delete(dev);
        return NULL;
    }
    return qdev_realize(dev, bus, errp) ? dev : NULL;
}

DeviceState *qdev_device_add_json(json_object *args, Error **errp)
{
    return qdev_hotplug(qdev_create_json(args, errp), errp);
}

DeviceState *qdev_device_add_keyval(const KeyvalList *kv, Error **errp)
{
    return qdev_hotplug(qdev_create_keyval(kv, errp), errp);
}

bool qdev_device_del(const char *id, Error **errp)
{
    DeviceState *dev = qdev_find_id(id);

    if (!dev) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
                  id);
        return false;
    }
    if (!qdev_check_hotplug(dev, dev->bus, errp)) {
        return false;
    }
    /* Removal is immediate: no device yet needs the guest's consent. */
    qdev_delete(dev);
    return true;
}

/* ---- the root type ---- */

static const DeviceClass device_class = {
    .type = {
        .name = TYPE_DEVICE,
        .parent = "object",
        .description = "a device of the machine",
        .abstract = true,
        .instance_size = sizeof(DeviceState),
    },
};
DEVICE_CLASS_REGISTER(device_class)
