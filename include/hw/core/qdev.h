/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device registry: what -device, device_add/device_del, -device help
 * and the machine's own devices go through. A device type is a QOM type
 * (include/qom/object.h) deriving from "device", described by a static
 * DeviceClass whose first member is its TypeInfo (registered with
 * DEVICE_CLASS_REGISTER): its properties are the type's property table,
 * parsed here from keyval (-device, HMP) or JSON (QMP). A device plugs
 * into a bus of one kind (ISA, or PCI: include/hw/pci/pci.h); the
 * machine creates and registers the buses, and the registry finds a
 * device's bus by kind (or by name, bus=).
 *
 * A device's life:
 *
 *   qdev_new / qdev_create_*       properties set and checked (TypeInfo
 *        |                         .complete), in the registry, id taken
 *        v
 *   qdev_realize(dev, bus)         DeviceClass.realize wires it to the
 *        |                         bus (ports, IRQ, backends)
 *        v
 *   qdev_unrealize / bus gone      DeviceClass.unrealize, then freed
 *
 * -device creates devices while the command line is parsed, so a bad
 * property is reported before anything starts; the machine realizes them
 * once its buses exist (qdev_realize_pending). device_add creates and
 * realizes at once, and only for types that are hotpluggable; no type is
 * yet, so it answers "Device 'X' does not support hotplugging".
 *
 * All of this runs under the BQL.
 */
#ifndef HW_CORE_QDEV_H
#define HW_CORE_QDEV_H

#include <stdbool.h>
#include <stddef.h>
#include "qom/object.h"
#include "util/error.h"
#include "util/keyval.h"

#define TYPE_DEVICE "device"

typedef struct DeviceState DeviceState;
typedef struct BusState BusState;

/* What a device plugs into; -device help prints the name ("bus ISA"). */
typedef enum BusKind {
    BUS_KIND_NONE,          /* abstract types only */
    BUS_KIND_ISA,
    BUS_KIND_PCI,
    BUS_KIND__MAX,
} BusKind;

/* -device help groups types by these, in this order, as QEMU does. */
typedef enum DeviceCategory {
    DEVICE_CATEGORY_UNCATEGORIZED,  /* the default: printed last */
    DEVICE_CATEGORY_BRIDGE,
    DEVICE_CATEGORY_STORAGE,
    DEVICE_CATEGORY_NETWORK,
    DEVICE_CATEGORY_INPUT,
    DEVICE_CATEGORY_DISPLAY,
    DEVICE_CATEGORY_MISC,
    DEVICE_CATEGORY__MAX,
} DeviceCategory;

typedef struct DeviceClass {
    TypeInfo type;          /* first: a device's TypeInfo is its class */
    DeviceCategory category;
    BusKind bus_kind;
    /* device_add/device_del may create and remove it at run time. */
    bool hotpluggable;
    /* Only the machine creates it (not -device or device_add). */
    bool no_user;
    /* Wires the device to bus; on failure nothing of it stays wired. */
    bool (*realize)(DeviceState *dev, BusState *bus, Error **errp);
    /* Undoes realize: ports, IRQs and backends released. */
    void (*unrealize)(DeviceState *dev);
    /* Back to the power-on state (system_reset). */
    void (*reset)(DeviceState *dev);
} DeviceClass;

struct DeviceState {
    Object parent_obj;      /* .id: the user's id= or NULL */
    const DeviceClass *dc;
    char *bus_name;         /* bus= as given, or NULL */
    BusState *bus;          /* non-NULL once realized */
    bool listed;            /* in the registry (holds its id) */
};

struct BusState {
    const char *name;       /* "isa.0", unique */
    BusKind kind;
    bool hotpluggable;      /* devices may come and go at run time */
};

#define DEVICE(obj) ((DeviceState *)(obj))

/* Device types register this way (not with TYPE_REGISTER): the registry
 * then knows the DeviceClass around each device TypeInfo. */
void device_class_register(const DeviceClass *dc);
#define DEVICE_CLASS_REGISTER(dc) \
    __attribute__((constructor)) static void G_PASTE(device_class_register_, \
                                                      __LINE__)(void) \
    { device_class_register(&(dc)); }

/* The class of a device type, or NULL if the type is not a device. */
const DeviceClass *device_class_of(const TypeInfo *type);
const char *bus_kind_name(BusKind kind);
const char *qdev_type_name(const DeviceState *dev);

/* Buses: the machine registers them before realizing devices. */
bool qdev_bus_register(BusState *bus, Error **errp);
/* Unrealizes and frees the devices on bus (newest first), then forgets
 * the bus. */
void qdev_bus_unregister(BusState *bus);
BusState *qdev_find_bus(const char *name);

/*
 * Creating. qdev_new: a device with its defaults, not yet in the
 * registry (the machine sets properties with qdev_set_prop, then
 * qdev_realize). The qdev_create_* forms parse "driver", "id", "bus" and
 * the properties, run the type's checks and put the device in the
 * registry unrealized.
 */
DeviceState *qdev_new(const char *type, Error **errp);
bool qdev_set_prop(DeviceState *dev, const char *name, const char *value,
                   Error **errp);
/* -device DRIVER[,prop=value...] or its JSON form '{"driver":...}'. */
DeviceState *qdev_create_cmdline(const char *optarg, Error **errp);
DeviceState *qdev_create_keyval(const KeyvalList *kv, Error **errp);
DeviceState *qdev_create_json(json_object *args, Error **errp);

/* bus NULL: the bus= given at creation, else the first of the device's
 * kind. Adds dev to the registry if qdev_new made it. On failure dev is
 * deleted. */
bool qdev_realize(DeviceState *dev, BusState *bus, Error **errp);
/* Realizes every device created but not yet realized, in creation order;
 * stops at the first failure. */
bool qdev_realize_pending(Error **errp);
/* Unrealizes (if realized) and frees dev. */
void qdev_delete(DeviceState *dev);
/* Every device, realized or not (at exit, and between tests). */
void qdev_delete_all(void);

DeviceState *qdev_find_id(const char *id);
/* Calls fn for every device in creation order. */
void qdev_foreach(void (*fn)(DeviceState *dev, void *opaque), void *opaque);
/* Its QOM path, as qom-list shows it: /machine/peripheral/ID, or
 * /machine/peripheral-anon/device[N] for the Nth device without an id
 * in creation order. */
char *qdev_canonical_path(DeviceState *dev);
/* Resets every realized device, in creation order. */
void qdev_reset_all(void);

/* device_add / device_del (QMP and HMP), under the BQL. */
DeviceState *qdev_device_add_json(json_object *args, Error **errp);
DeviceState *qdev_device_add_keyval(const KeyvalList *kv, Error **errp);
bool qdev_device_del(const char *id, Error **errp);

/*
 * Help texts. "-device help": the device types by category, "name
 * \"isa-debug-exit\", bus ISA, desc \"...\"" lines. "-device TYPE,help":
 * its properties with types, descriptions and defaults; NULL and errp set
 * for a type that is not a device.
 */
char *qdev_help_types(void);
char *qdev_help_props(const char *type, Error **errp);
/*
 * For -device ARG and HMP device_add ARG: when ARG asks for help ("help",
 * "?", "TYPE,help") *text is set to the help, else NULL. Fails only for
 * help asked about a type that is not a device.
 */
bool qdev_help_requested(const char *optarg, char **text, Error **errp);

#endif
