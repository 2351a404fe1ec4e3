/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small object model for what users create by name: -object and
 * object-add/object-del (iothreads now; netfilters and colo-compare
 * later). A type is a static TypeInfo with a parent, an instance size, a
 * table of typed properties stored at offsets in the instance, and hooks.
 * Creating an object = allocate, set defaults, set the given properties
 * (each checked against its type), then complete(); a failure anywhere
 * destroys it and nothing is registered. Objects are found by id.
 * Devices (include/hw/core/qdev.h) are types of this model too: they use
 * the same property tables and setters, but live in the device registry
 * with their own ids, as in QEMU.
 *
 * All of this runs under the BQL.
 */
#ifndef QOM_OBJECT_H
#define QOM_OBJECT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/error.h"
#include "util/keyval.h"

typedef struct Object Object;
typedef struct TypeInfo TypeInfo;

typedef enum ObjectPropType {
    OBJ_PROP_STR,       /* char *, g_free'd */
    OBJ_PROP_BOOL,      /* bool */
    OBJ_PROP_INT,       /* int64_t */
    OBJ_PROP_UINT,      /* uint64_t; accepts sizes with suffixes on the CLI */
    OBJ_PROP_UINT32,    /* uint32_t; a plain number (0x hex) on the CLI */
    OBJ_PROP_CUSTOM,    /* parsed from text by the property's parse hook */
} ObjectPropType;

typedef struct ObjectProperty ObjectProperty;
struct ObjectProperty {
    const char *name;
    ObjectPropType type;
    size_t offset;          /* of the field in the instance */
    const char *desc;
    bool required;
    /* As on the command line; NULL: zero. A default is the table's own
     * value and is not range-checked, so "not given" can be a sentinel
     * outside the range (QEMU's -1 for "derive it"). */
    const char *default_value;
    /* Unsigned types: values a user gives must lie in [min, max]. */
    bool has_range;
    uint64_t min, max;
    /* OBJ_PROP_CUSTOM: the name help shows ("pci-devfn") and the parser
     * (from JSON only a string is accepted, and parsed the same way). A
     * bus address such as addr=SLOT.FN is one of these. */
    const char *custom_type;
    bool (*parse)(Object *obj, const ObjectProperty *p, const char *text,
                  Error **errp);
    /* qom-set on a created object: only properties with this hook change
     * after complete(), and the hook checks and applies the value. */
    bool (*set_live)(Object *obj, const ObjectProperty *p, json_object *value,
                     Error **errp);
};

#define OBJ_PROP(n, t, inst, field, d) \
    { .name = (n), .type = (t), .offset = offsetof(inst, field), .desc = (d) }
/* An unsigned property limited to [lo, hi], with a default. */
#define OBJ_PROP_RANGE(n, t, inst, field, d, lo, hi, def) \
    { .name = (n), .type = (t), .offset = offsetof(inst, field), \
      .desc = (d), .has_range = true, .min = (lo), .max = (hi), \
      .default_value = (def) }

struct TypeInfo {
    const char *name;
    const char *parent;         /* NULL only for "object" */
    const char *description;
    bool abstract;
    bool user_creatable;        /* -object / object-add may create it */
    /* -object creates it (and its subtypes) after the chardevs and
     * netdevs, which it uses (QEMU's delayed objects: colo-compare,
     * the netfilters) */
    bool late;
    size_t instance_size;       /* >= sizeof(Object) */
    const ObjectProperty *props;    /* NULL-name terminated, may be NULL */
    /* After all properties are set; fail to refuse the object. */
    bool (*complete)(Object *obj, Error **errp);
    /* Refuse object-del (e.g. still in use); NULL: always deletable. */
    bool (*can_delete)(Object *obj, Error **errp);
    void (*finalize)(Object *obj);
};

struct Object {
    const TypeInfo *type;
    char *id;
};

/* Types register themselves from constructors (see TYPE_REGISTER). */
void type_register(const TypeInfo *info);
#define TYPE_REGISTER(info) \
    __attribute__((constructor)) static void G_PASTE(type_register_, \
                                                      __LINE__)(void) \
    { type_register(&(info)); }

const TypeInfo *type_find(const char *name);
/* True if type is `ancestor` or derives from it. */
bool type_is_a(const TypeInfo *type, const char *ancestor);
/* Calls fn for every type, sorted by name. */
void type_foreach(void (*fn)(const TypeInfo *t, void *opaque), void *opaque);

/* object-add: props is a JSON object of property values (may be NULL). */
Object *object_create_json(const char *type, const char *id,
                           json_object *props, Error **errp);
/* -object TYPE,id=ID,prop=value,... or its JSON form '{"qom-type":...}'. */
Object *object_create_cmdline(const char *optarg, Error **errp);
/* True when optarg's type or an ancestor is late (TypeInfo.late); false
 * for anything it cannot parse (object_create_cmdline() reports that). */
bool object_cmdline_is_late(const char *optarg);
bool object_delete(const char *id, Error **errp);
/* The qom-type of an -object argument (either spelling), or NULL when it
 * has none or does not parse (creating it then says why). */
char *object_cmdline_type(const char *optarg);
/* qom-set: a property of a created object (see ObjectProperty set_live). */
bool object_set_prop_live(Object *obj, const char *name, json_object *value,
                          Error **errp);
/* The same from text (HMP's qom-set without -j), parsed by the
 * property's type as the command line parses it. */
bool object_set_prop_live_text(Object *obj, const char *name,
                               const char *text, Error **errp);
Object *object_find(const char *id);
/* Frees every user-created object (at exit). */
void object_delete_all(void);

/* Calls fn for every user-created object, in creation order. */
void object_foreach(void (*fn)(Object *obj, void *opaque), void *opaque);

/* Introspection (qom-get, device-list-properties): a property's value
 * or its default as JSON. The default is NULL when the property has
 * none (a string without default_value); a missing numeric or boolean
 * default is 0 / false, which is what the instance starts with. Custom
 * properties have no reader: object_get_prop_json() fails for them. */
json_object *object_prop_default_json(const ObjectProperty *p);
json_object *object_get_prop_json(const Object *obj, const ObjectProperty *p,
                                  Error **errp);

/* Prints the properties of a type (-object TYPE,help). */
void object_print_help(const TypeInfo *type);

/*
 * The pieces object creation is made of, for the device registry, which
 * creates devices the same way but keeps them apart from -object's.
 */
/* Allocates an instance of type with its defaults set (no id, not
 * registered anywhere); free it with object_free(). */
Object *object_new_instance(const TypeInfo *type, Error **errp);
void object_free(Object *obj);
/* A property of the type or of an ancestor, or NULL. */
const ObjectProperty *object_find_prop(const TypeInfo *type,
                                       const char *name);
/* "uint32", "bool", "string", or the custom type's name. */
const char *object_prop_type_name(const ObjectProperty *p);
/* Calls fn for every property, the type's own first, then its parents'. */
void object_foreach_prop(const TypeInfo *type,
                         void (*fn)(const ObjectProperty *p, void *opaque),
                         void *opaque);
/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
bool object_id_valid(const char *id);
/*
 * Sets every property given (key=value text, or a JSON object whose
 * values must have the properties' types), except the keys in the
 * NULL-terminated `skip` (e.g. "driver", "id"), then checks that every
 * required property was given. "Property 'TYPE.KEY' not found" for a key
 * the type does not have.
 */
/* One property from text, as the command line would give it. */
bool object_set_prop_str(Object *obj, const char *name, const char *value,
                         Error **errp);
bool object_set_props_keyval(Object *obj, const KeyvalList *kv,
                             const char *const *skip, Error **errp);
bool object_set_props_json(Object *obj, json_object *props,
                           const char *const *skip, Error **errp);

#endif
