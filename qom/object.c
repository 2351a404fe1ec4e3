/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The type registry and user-creatable objects (see include/qom/object.h).
 * Property values arrive either as JSON (QMP) or as strings (command
 * line); both go through one typed setter so the rules are the same.
 */
#include <stdio.h>
#include <string.h>
#include "qom/object.h"
#include "trace.h"

static GHashTable *types;       /* name -> const TypeInfo * */
static GPtrArray *objects;      /* user-created, in creation order */

void type_register(const TypeInfo *info)
{
    if (!types) {
        types = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_assert(!g_hash_table_contains(types, info->name));
    g_hash_table_insert(types, (gpointer)info->name, (gpointer)info);
}

const TypeInfo *type_find(const char *name)
{
    return types ? g_hash_table_lookup(types, name) : NULL;
}

bool type_is_a(const TypeInfo *type, const char *ancestor)
{
    for (const TypeInfo *t = type; t; t = t->parent ? type_find(t->parent)
                                                    : NULL) {
        if (!strcmp(t->name, ancestor)) {
            return true;
        }
    }
    return false;
}

static gint type_compare(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const TypeInfo *const *)a)->name,
                  (*(const TypeInfo *const *)b)->name);
}

void type_foreach(void (*fn)(const TypeInfo *t, void *opaque), void *opaque)
{
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;

    if (!types) {
        return;
    }
    g_hash_table_iter_init(&it, types);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        g_ptr_array_add(sorted, value);
    }
    g_ptr_array_sort(sorted, type_compare);
    for (guint i = 0; i < sorted->len; i++) {
        fn(g_ptr_array_index(sorted, i), opaque);
    }
}

/* A property of the type or of an ancestor. */
static const ObjectProperty *object_find_prop(const TypeInfo *type,
                                              const char *name)
{
    for (const TypeInfo *t = type; t; t = t->parent ? type_find(t->parent)
                                                    : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            if (!strcmp(p->name, name)) {
                return p;
            }
        }
    }
    return NULL;
}

static const char *const prop_type_names[] = {
    [OBJ_PROP_STR] = "string",
    [OBJ_PROP_BOOL] = "bool",
    [OBJ_PROP_INT] = "int",
    [OBJ_PROP_UINT] = "uint64",
    [OBJ_PROP_UINT32] = "uint32",
};

/*
 * The one setter. From JSON: the value must have the property's type.
 * From the command line: text, parsed by the property's type.
 */
static bool object_set_prop(Object *obj, const ObjectProperty *p,
                            json_object *jv, const char *text, Error **errp)
{
    ERRP_GUARD();
    void *field = (uint8_t *)obj + p->offset;
    uint64_t u;

    switch (p->type) {
    case OBJ_PROP_STR:
        if (jv && !json_object_is_type(jv, json_type_string)) {
            goto wrong_type;
        }
        g_free(*(char **)field);
        *(char **)field = g_strdup(jv ? json_object_get_string(jv) : text);
        return true;
    case OBJ_PROP_BOOL:
        if (jv) {
            if (!json_object_is_type(jv, json_type_boolean)) {
                goto wrong_type;
            }
            *(bool *)field = json_object_get_boolean(jv);
            return true;
        }
        return parse_bool(text, (bool *)field, errp);
    case OBJ_PROP_INT:
        if (jv) {
            if (!json_object_is_type(jv, json_type_int)) {
                goto wrong_type;
            }
            *(int64_t *)field = json_object_get_int64(jv);
            return true;
        }
        if (!parse_uint(text[0] == '-' ? text + 1 : text, &u, NULL) ||
            u > (uint64_t)INT64_MAX) {
            error_setg(errp, "Parameter '%s' expects an integer", p->name);
            return false;
        }
        *(int64_t *)field = text[0] == '-' ? -(int64_t)u : (int64_t)u;
        return true;
    case OBJ_PROP_UINT:
    case OBJ_PROP_UINT32:
        if (jv) {
            if (!json_object_is_type(jv, json_type_int) ||
                (json_object_get_int64(jv) < 0 &&
                 json_object_get_uint64(jv) <= (uint64_t)INT64_MAX)) {
                goto wrong_type;
            }
            u = json_object_get_uint64(jv);
        } else if (!parse_size(text, 1, &u, errp)) {
            error_prepend(errp, "Parameter '%s': ", p->name);
            return false;
        }
        if (p->type == OBJ_PROP_UINT32) {
            if (u > UINT32_MAX) {
                error_setg(errp, "Parameter '%s' must be at most %u", p->name,
                           UINT32_MAX);
                return false;
            }
            *(uint32_t *)field = u;
        } else {
            *(uint64_t *)field = u;
        }
        return true;
    }
    g_assert_not_reached();

wrong_type:
    error_setg(errp, "Invalid parameter type for '%s', expected: %s", p->name,
               prop_type_names[p->type]);
    return false;
}

static bool object_set_defaults(Object *obj, Error **errp)
{
    for (const TypeInfo *t = obj->type; t; t = t->parent ? type_find(t->parent)
                                                         : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            if (p->default_value &&
                !object_set_prop(obj, p, NULL, p->default_value, errp)) {
                return false;
            }
        }
    }
    return true;
}

static void object_free(Object *obj)
{
    if (obj->type->finalize) {
        obj->type->finalize(obj);
    }
    for (const TypeInfo *t = obj->type; t; t = t->parent ? type_find(t->parent)
                                                         : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            if (p->type == OBJ_PROP_STR) {
                g_free(*(char **)((uint8_t *)obj + p->offset));
            }
        }
    }
    g_free(obj->id);
    g_free(obj);
}

static bool object_id_valid(const char *id)
{
    /* QEMU's rule: a letter first, then letters, digits, '-', '.', '_'. */
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

/* Allocates a checked, user-creatable instance with defaults set. */
static Object *object_begin(const char *type_name, const char *id,
                            Error **errp)
{
    const TypeInfo *type = type_find(type_name);
    Object *obj;

    if (!type) {
        error_setg(errp, "invalid object type: %s", type_name);
        return NULL;
    }
    if (!type->user_creatable || type->abstract) {
        error_setg(errp, "object type '%s' isn't supported by object-add",
                   type_name);
        return NULL;
    }
    if (!object_id_valid(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (object_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return NULL;
    }
    g_assert(type->instance_size >= sizeof(Object));
    obj = g_malloc0(type->instance_size);
    obj->type = type;
    obj->id = g_strdup(id);
    if (!object_set_defaults(obj, errp)) {
        object_free(obj);
        return NULL;
    }
    return obj;
}

/* Checks required properties, completes, registers; frees on failure. */
static Object *object_finish(Object *obj, GHashTable *given, Error **errp)
{
    for (const TypeInfo *t = obj->type; t; t = t->parent ? type_find(t->parent)
                                                         : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            if (p->required && !g_hash_table_contains(given, p->name)) {
                error_setg(errp, "Parameter '%s' is missing", p->name);
                object_free(obj);
                return NULL;
            }
        }
    }
    if (obj->type->complete && !obj->type->complete(obj, errp)) {
        object_free(obj);
        return NULL;
    }
    if (!objects) {
        objects = g_ptr_array_new();
    }
    g_ptr_array_add(objects, obj);
    trace_object_create(obj->type->name, obj->id);
    return obj;
}

Object *object_create_json(const char *type_name, const char *id,
                           json_object *props, Error **errp)
{
    g_autoptr(GHashTable) given = g_hash_table_new(g_str_hash, g_str_equal);
    Object *obj = object_begin(type_name, id, errp);

    if (!obj) {
        return NULL;
    }
    if (props) {
        json_object_object_foreach(props, key, val) {
            const ObjectProperty *p = object_find_prop(obj->type, key);
            if (!p) {
                error_setg(errp, "Property '%s.%s' not found", type_name, key);
                object_free(obj);
                return NULL;
            }
            if (!object_set_prop(obj, p, val, NULL, errp)) {
                object_free(obj);
                return NULL;
            }
            g_hash_table_add(given, (gpointer)p->name);
        }
    }
    return object_finish(obj, given, errp);
}

/* The JSON spelling of -object: {"qom-type": T, "id": I, props...}. */
static Object *object_create_cmdline_json(const char *optarg, Error **errp)
{
    json_object *root = json_tokener_parse(optarg);
    json_object *jtype, *jid;
    Object *obj = NULL;

    if (!root || !json_object_is_type(root, json_type_object)) {
        error_setg(errp, "-object: invalid JSON object");
        json_object_put(root);
        return NULL;
    }
    if (!json_object_object_get_ex(root, "qom-type", &jtype) ||
        !json_object_is_type(jtype, json_type_string) ||
        !json_object_object_get_ex(root, "id", &jid) ||
        !json_object_is_type(jid, json_type_string)) {
        error_setg(errp, "-object: 'qom-type' and 'id' must be strings");
    } else {
        g_autofree char *type = g_strdup(json_object_get_string(jtype));
        g_autofree char *id = g_strdup(json_object_get_string(jid));
        json_object_object_del(root, "qom-type");
        json_object_object_del(root, "id");
        obj = object_create_json(type, id, root, errp);
    }
    json_object_put(root);
    return obj;
}

Object *object_create_cmdline(const char *optarg, Error **errp)
{
    g_autoptr(KeyvalList) kv = NULL;
    g_autoptr(GHashTable) given = g_hash_table_new(g_str_hash, g_str_equal);
    const char *type_name, *id;
    Object *obj;

    if (optarg[0] == '{') {
        return object_create_cmdline_json(optarg, errp);
    }
    kv = keyval_parse(optarg, "qom-type", errp);
    if (!kv) {
        return NULL;
    }
    type_name = keyval_get(kv, "qom-type");
    id = keyval_get(kv, "id");
    if (!type_name) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    obj = object_begin(type_name, id, errp);
    if (!obj) {
        return NULL;
    }
    for (size_t i = 0; i < keyval_count(kv); i++) {
        const char *key = keyval_key_at(kv, i);
        const ObjectProperty *p;

        if (!strcmp(key, "qom-type") || !strcmp(key, "id")) {
            continue;
        }
        p = object_find_prop(obj->type, key);
        if (!p) {
            error_setg(errp, "Property '%s.%s' not found", type_name, key);
            object_free(obj);
            return NULL;
        }
        if (!object_set_prop(obj, p, NULL, keyval_value_at(kv, i), errp)) {
            object_free(obj);
            return NULL;
        }
        g_hash_table_add(given, (gpointer)p->name);
    }
    return object_finish(obj, given, errp);
}

Object *object_find(const char *id)
{
    for (guint i = 0; objects && i < objects->len; i++) {
        Object *obj = g_ptr_array_index(objects, i);
        if (!strcmp(obj->id, id)) {
            return obj;
        }
    }
    return NULL;
}

bool object_delete(const char *id, Error **errp)
{
    Object *obj = object_find(id);

    if (!obj) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    if (obj->type->can_delete && !obj->type->can_delete(obj, errp)) {
        return false;
    }
    g_ptr_array_remove(objects, obj);
    trace_object_delete(obj->type->name, id);
    object_free(obj);
    return true;
}

void object_delete_all(void)
{
    while (objects && objects->len) {
        object_free(g_ptr_array_steal_index(objects, objects->len - 1));
    }
}

void object_print_help(const TypeInfo *type)
{
    printf("%s options:\n", type->name);
    for (const TypeInfo *t = type; t; t = t->parent ? type_find(t->parent)
                                                    : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            printf("  %s=<%s>%s - %s\n", p->name, prop_type_names[p->type],
                   p->required ? " (required)" : "", p->desc);
        }
    }
}

/* The root types every other type derives from. */
static const TypeInfo object_type_info = {
    .name = "object",
    .abstract = true,
    .instance_size = sizeof(Object),
};
TYPE_REGISTER(object_type_info)
