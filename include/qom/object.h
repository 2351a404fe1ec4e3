/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small object model for what users create by name: -object and
 * object-add/object-del (iothreads now; netfilters and colo-compare
 * later). A type is a static TypeInfo with a parent, an instance size, a
 * table of typed properties stored at offsets in the instance, and hooks.
 * Creating an object = allocate, set defaults, set the given properties
 * (each checked against its type), then complete(); a failure anywhere
 * destroys it and nothing is registered. Objects are found by id.
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
    OBJ_PROP_UINT32,    /* uint32_t */
} ObjectPropType;

typedef struct ObjectProperty {
    const char *name;
    ObjectPropType type;
    size_t offset;          /* of the field in the instance */
    const char *desc;
    bool required;
    const char *default_value;  /* as on the command line; NULL: zero */
} ObjectProperty;

#define OBJ_PROP(n, t, inst, field, d) \
    { .name = (n), .type = (t), .offset = offsetof(inst, field), .desc = (d) }

struct TypeInfo {
    const char *name;
    const char *parent;         /* NULL only for "object" */
    const char *description;
    bool abstract;
    bool user_creatable;        /* -object / object-add may create it */
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
bool object_delete(const char *id, Error **errp);
Object *object_find(const char *id);
/* Frees every user-created object (at exit). */
void object_delete_all(void);

/* Prints the properties of a type (-object TYPE,help). */
void object_print_help(const TypeInfo *type);

#endif
