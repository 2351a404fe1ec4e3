/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The type registry and user-creatable objects (see include/qom/object.h).
 * Property values arrive either as JSON (QMP) or as strings (command
 * line); both go through one typed setter so the rules are the same.
 */
#include <inttypes.h>
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

const ObjectProperty *object_find_prop(const TypeInfo *type,
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

void object_foreach_prop(const TypeInfo *type,
                         void (*fn)(const ObjectProperty *p, void *opaque),
                         void *opaque)
{
    for (const TypeInfo *t = type; t; t = t->parent ? type_find(t->parent)
                                                    : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            fn(p, opaque);
        }
    }
}

static const char *const prop_type_names[] = {
    [OBJ_PROP_STR] = "string",
    [OBJ_PROP_BOOL] = "bool",
    [OBJ_PROP_INT] = "int",
    [OBJ_PROP_UINT] = "uint64",
    [OBJ_PROP_UINT32] = "uint32",
};

const char *object_prop_type_name(const ObjectProperty *p)
{
    return p->type == OBJ_PROP_CUSTOM ? p->custom_type
                                      : prop_type_names[p->type];
}

/* From the command line: text, by the property's type. */
static bool object_parse_uint(const Object *obj, const ObjectProperty *p,
                              const char *text, uint64_t *u, Error **errp)
{
    ERRP_GUARD();

    if (p->type == OBJ_PROP_UINT) {
        if (!parse_size(text, 1, u, errp)) {
            error_prepend(errp, "Parameter '%s': ", p->name);
            return false;
        }
        return true;
    }
    if (!parse_uint(text, u, NULL)) {
        error_setg(errp, "Parameter '%s' expects an integer", p->name);
        return false;
    }
    return true;
}

/*
 * The one setter: the value must have the property's type. Defaults
 * (check_range false) are the table's own and may be sentinels.
 */
static bool object_set_prop_json(Object *obj, const ObjectProperty *p,
                                 json_object *jv, bool check_range,
                                 Error **errp)
{
    void *field = (uint8_t *)obj + p->offset;
    uint64_t u;

    switch (p->type) {
    case OBJ_PROP_STR:
        if (!json_object_is_type(jv, json_type_string)) {
            goto wrong_type;
        }
        g_free(*(char **)field);
        *(char **)field = g_strdup(json_object_get_string(jv));
        return true;
    case OBJ_PROP_CUSTOM:
        /* A custom boolean (one that must know whether it was given)
         * takes JSON true/false as "on"/"off". */
        if (json_object_is_type(jv, json_type_boolean) &&
            p->custom_type && !strcmp(p->custom_type, "bool")) {
            return p->parse(obj, p, json_object_get_boolean(jv) ? "on" : "off",
                            errp);
        }
        if (!json_object_is_type(jv, json_type_string)) {
            goto wrong_type;
        }
        return p->parse(obj, p, json_object_get_string(jv), errp);
    case OBJ_PROP_BOOL:
        if (!json_object_is_type(jv, json_type_boolean)) {
            goto wrong_type;
        }
        *(bool *)field = json_object_get_boolean(jv);
        return true;
    case OBJ_PROP_INT:
        if (!json_object_is_type(jv, json_type_int)) {
            goto wrong_type;
        }
        *(int64_t *)field = json_object_get_int64(jv);
        return true;
    case OBJ_PROP_UINT:
    case OBJ_PROP_UINT32:
        if (!json_object_is_type(jv, json_type_int) ||
            (json_object_get_int64(jv) < 0 &&
             json_object_get_uint64(jv) <= (uint64_t)INT64_MAX)) {
            goto wrong_type;
        }
        u = json_object_get_uint64(jv);
        if (p->type == OBJ_PROP_UINT32 && u > UINT32_MAX) {
            error_setg(errp, "Parameter '%s' expects uint32_t", p->name);
            return false;
        }
        if (check_range && p->has_range && (u < p->min || u > p->max)) {
            /* QEMU's text for a value outside a property's range. */
            error_setg(errp, "Property %s.%s doesn't take value %" PRIu64
                       " (minimum: %" PRIu64 ", maximum: %" PRIu64 ")",
                       obj->type->name, p->name, u, p->min, p->max);
            return false;
        }
        if (p->type == OBJ_PROP_UINT32) {
            *(uint32_t *)field = u;
        } else {
            *(uint64_t *)field = u;
        }
        return true;
    }
    g_assert_not_reached();

wrong_type:
    error_setg(errp, "Invalid parameter type for '%s', expected: %s", p->name,
               object_prop_type_name(p));
    return false;
}

/* From the command line (or HMP): text, by the property's type, as the
 * JSON value it would have been given as. */
static json_object *object_prop_json_from_text(const Object *obj,
                                               const ObjectProperty *p,
                                               const char *text, Error **errp)
{
    uint64_t u;
    bool b;

    switch (p->type) {
    case OBJ_PROP_STR:
    case OBJ_PROP_CUSTOM:
        return json_object_new_string(text);
    case OBJ_PROP_BOOL:
        if (!parse_bool(text, &b, NULL)) {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'", p->name);
            return NULL;
        }
        return json_object_new_boolean(b);
    case OBJ_PROP_INT:
        if (!parse_uint(text[0] == '-' ? text + 1 : text, &u, NULL) ||
            u > (uint64_t)INT64_MAX) {
            error_setg(errp, "Parameter '%s' expects an integer", p->name);
            return NULL;
        }
        return json_object_new_int64(text[0] == '-' ? -(int64_t)u
                                                    : (int64_t)u);
    case OBJ_PROP_UINT:
    case OBJ_PROP_UINT32:
        if (!object_parse_uint(obj, p, text, &u, errp)) {
            return NULL;
        }
        return json_object_new_uint64(u);
    }
    g_assert_not_reached();
}

/* jv, or else text parsed by the property's type. */
static bool object_set_prop(Object *obj, const ObjectProperty *p,
                            json_object *jv, const char *text,
                            bool check_range, Error **errp)
{
    json_object *parsed = NULL;
    bool ok;

    if (!jv) {
        parsed = object_prop_json_from_text(obj, p, text, errp);
        if (!parsed) {
            return false;
        }
    }
    ok = object_set_prop_json(obj, p, jv ? jv : parsed, check_range, errp);
    json_object_put(parsed);
    return ok;
}

static bool object_set_defaults(Object *obj, Error **errp)
{
    for (const TypeInfo *t = obj->type; t; t = t->parent ? type_find(t->parent)
                                                         : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            if (p->default_value &&
                !object_set_prop(obj, p, NULL, p->default_value, false,
                                 errp)) {
                return false;
            }
        }
    }
    return true;
}

void object_free(Object *obj)
{
    if (!obj) {
        return;
    }
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

bool object_id_valid(const char *id)
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

Object *object_new_instance(const TypeInfo *type, Error **errp)
{
    Object *obj;

    g_assert(type->instance_size >= sizeof(Object));
    obj = g_malloc0(type->instance_size);
    obj->type = type;
    if (!object_set_defaults(obj, errp)) {
        object_free(obj);
        return NULL;
    }
    return obj;
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
    obj = object_new_instance(type, errp);
    if (obj) {
        obj->id = g_strdup(id);
    }
    return obj;
}

static bool object_skipped(const char *key, const char *const *skip)
{
    for (; skip && *skip; skip++) {
        if (!strcmp(key, *skip)) {
            return true;
        }
    }
    return false;
}

static bool object_check_required(Object *obj, GHashTable *given,
                                  Error **errp)
{
    for (const TypeInfo *t = obj->type; t; t = t->parent ? type_find(t->parent)
                                                         : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            if (p->required && !g_hash_table_contains(given, p->name)) {
                error_setg(errp, "Parameter '%s' is missing", p->name);
                return false;
            }
        }
    }
    return true;
}

/* One given value: from JSON (jv) or text. */
static bool object_set_given(Object *obj, const char *key, json_object *jv,
                             const char *text, GHashTable *given,
                             Error **errp)
{
    const ObjectProperty *p = object_find_prop(obj->type, key);

    if (!p) {
        error_setg(errp, "Property '%s.%s' not found", obj->type->name, key);
        return false;
    }
    if (!object_set_prop(obj, p, jv, text, true, errp)) {
        return false;
    }
    g_hash_table_add(given, (gpointer)p->name);
    return true;
}

bool object_set_prop_str(Object *obj, const char *name, const char *value,
                         Error **errp)
{
    g_autoptr(GHashTable) given = g_hash_table_new(g_str_hash, g_str_equal);

    return object_set_given(obj, name, NULL, value, given, errp);
}

bool object_set_props_json(Object *obj, json_object *props,
                           const char *const *skip, Error **errp)
{
    g_autoptr(GHashTable) given = g_hash_table_new(g_str_hash, g_str_equal);

    if (props) {
        json_object_object_foreach(props, key, val) {
            if (!object_skipped(key, skip) &&
                !object_set_given(obj, key, val, NULL, given, errp)) {
                return false;
            }
        }
    }
    return object_check_required(obj, given, errp);
}

bool object_set_props_keyval(Object *obj, const KeyvalList *kv,
                             const char *const *skip, Error **errp)
{
    g_autoptr(GHashTable) given = g_hash_table_new(g_str_hash, g_str_equal);

    for (size_t i = 0; i < keyval_count(kv); i++) {
        const char *key = keyval_key_at(kv, i);

        if (!object_skipped(key, skip) &&
            !object_set_given(obj, key, NULL, keyval_value_at(kv, i), given,
                              errp)) {
            return false;
        }
    }
    return object_check_required(obj, given, errp);
}

/* Completes and registers; frees on failure. */
static Object *object_finish(Object *obj, Error **errp)
{
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
    Object *obj = object_begin(type_name, id, errp);

    if (!obj) {
        return NULL;
    }
    if (!object_set_props_json(obj, props, NULL, errp)) {
        object_free(obj);
        return NULL;
    }
    return object_finish(obj, errp);
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
    static const char *const skip[] = { "qom-type", "id", NULL };
    g_autoptr(KeyvalList) kv = NULL;
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
    if (!object_set_props_keyval(obj, kv, skip, errp)) {
        object_free(obj);
        return NULL;
    }
    return object_finish(obj, errp);
}

bool object_cmdline_is_late(const char *optarg)
{
    g_autofree char *name = object_cmdline_type(optarg);

    for (const TypeInfo *t = name ? type_find(name) : NULL; t;
         t = t->parent ? type_find(t->parent) : NULL) {
        if (t->late) {
            return true;
        }
    }
    return false;
}

char *object_cmdline_type(const char *optarg)
{
    g_autoptr(KeyvalList) kv = NULL;
    json_object *root, *jtype;
    char *type = NULL;

    if (optarg[0] != '{') {
        kv = keyval_parse(optarg, "qom-type", NULL);
        return kv && keyval_get(kv, "qom-type") ?
               g_strdup(keyval_get(kv, "qom-type")) : NULL;
    }
    root = json_tokener_parse(optarg);
    if (root && json_object_object_get_ex(root, "qom-type", &jtype) &&
        json_object_is_type(jtype, json_type_string)) {
        type = g_strdup(json_object_get_string(jtype));
    }
    json_object_put(root);
    return type;
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

bool object_set_prop_live(Object *obj, const char *name, json_object *value,
                          Error **errp)
{
    const ObjectProperty *p = object_find_prop(obj->type, name);

    if (!p) {
        error_setg(errp, "Property '%s.%s' not found", obj->type->name, name);
        return false;
    }
    if (!p->set_live) {
        error_setg(errp, "Property '%s.%s' can't be set after creation",
                   obj->type->name, name);
        return false;
    }
    trace_object_set_live(obj->id, name);
    return p->set_live(obj, p, value, errp);
}

bool object_set_prop_live_text(Object *obj, const char *name,
                               const char *text, Error **errp)
{
    const ObjectProperty *p = object_find_prop(obj->type, name);
    json_object *value;
    bool ok;

    if (!p) {
        error_setg(errp, "Property '%s.%s' not found", obj->type->name, name);
        return false;
    }
    value = object_prop_json_from_text(obj, p, text, errp);
    if (!value) {
        return false;
    }
    ok = object_set_prop_live(obj, name, value, errp);
    json_object_put(value);
    return ok;
}

void object_delete_all(void)
{
    while (objects && objects->len) {
        object_free(g_ptr_array_steal_index(objects, objects->len - 1));
    }
}

void object_foreach(void (*fn)(Object *obj, void *opaque), void *opaque)
{
    for (guint i = 0; objects && i < objects->len; i++) {
        fn(g_ptr_array_index(objects, i), opaque);
    }
}

/* A default as JSON, by the property's type; NULL when it has none. */
json_object *object_prop_default_json(const ObjectProperty *p)
{
    const char *text = p->default_value;
    uint64_t u;
    bool b;

    switch (p->type) {
    case OBJ_PROP_STR:
    case OBJ_PROP_CUSTOM:
        return text ? json_object_new_string(text) : NULL;
    case OBJ_PROP_BOOL:
        if (text && !parse_bool(text, &b, NULL)) {
            return NULL;
        }
        return json_object_new_boolean(text ? b : false);
    case OBJ_PROP_INT:
        if (!text) {
            return json_object_new_int64(0);
        }
        if (!parse_uint(text[0] == '-' ? text + 1 : text, &u, NULL) ||
            u > (uint64_t)INT64_MAX) {
            return NULL;
        }
        return json_object_new_int64(text[0] == '-' ? -(int64_t)u
                                                    : (int64_t)u);
    case OBJ_PROP_UINT:
    case OBJ_PROP_UINT32:
        if (!text) {
            return json_object_new_uint64(0);
        }
        if (!(p->type == OBJ_PROP_UINT ? parse_size(text, 1, &u, NULL)
                                       : parse_uint(text, &u, NULL))) {
            return NULL;
        }
        return json_object_new_uint64(u);
    }
    g_assert_not_reached();
}

json_object *object_get_prop_json(const Object *obj, const ObjectProperty *p,
                                  Error **errp)
{
    const void *field = (const uint8_t *)obj + p->offset;
    const char *str;

    switch (p->type) {
    case OBJ_PROP_STR:
        str = *(char *const *)field;
        return json_object_new_string(str ? str : "");
    case OBJ_PROP_BOOL:
        return json_object_new_boolean(*(const bool *)field);
    case OBJ_PROP_INT:
        return json_object_new_int64(*(const int64_t *)field);
    case OBJ_PROP_UINT:
        return json_object_new_uint64(*(const uint64_t *)field);
    case OBJ_PROP_UINT32:
        return json_object_new_uint64(*(const uint32_t *)field);
    case OBJ_PROP_CUSTOM:
        /* Parsed into fields of the type's own layout: no generic
         * reader (yet). */
        break;
    }
    error_setg(errp, "Property '%s.%s' cannot be read", obj->type->name,
               p->name);
    return NULL;
}

void object_print_help(const TypeInfo *type)
{
    printf("%s options:\n", type->name);
    for (const TypeInfo *t = type; t; t = t->parent ? type_find(t->parent)
                                                    : NULL) {
        for (const ObjectProperty *p = t->props; p && p->name; p++) {
            printf("  %s=<%s>%s - %s\n", p->name, object_prop_type_name(p),
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
